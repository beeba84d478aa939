/* Pull an image whose manifest digest is already known (resolved through trust data, the
 * registry, or given): manifest and index by digest, then config and layers into the store. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "wharf/client.h"

void wharf_pull_result_free(struct wharf_pull_result *r)
{
	free(r->media_type);
	free(r->config.media_type);
	for (size_t i = 0; i < r->n_layers; i++)
		free(r->layers[i].media_type);
	free(r->layers);
	memset(r, 0, sizeof(*r));
}

static bool platform_matches(const json_t *p, const struct wharf_pull_opts *o)
{
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	const char *variant = json_string_value(json_object_get(p, "variant"));
	if (!os || !arch || strcmp(os, o->os) != 0 || strcmp(arch, o->arch) != 0)
		return false;
	return !o->variant || (variant && !strcmp(variant, o->variant));
}

/* The entry of an index for the wanted platform: its digest and size. */
static int pick_platform(const struct wharf_buf *index, const struct wharf_digest *index_digest,
			 const struct wharf_pull_opts *o, struct wharf_digest *d, uint64_t *size,
			 struct wharf_error *err)
{
	json_t *doc = json_loadb(index->data, index->len, 0, NULL);
	size_t i;
	json_t *e;
	int r = wharf_error_set(err, WHARF_ENOTFOUND, "index %s has no manifest for the platform %s/%s%s%s",
				index_digest->str, o->os, o->arch, o->variant ? "/" : "", o->variant ? o->variant : "");
	json_array_foreach(json_object_get(doc, "manifests"), i, e) {
		json_t *sz = json_object_get(e, "size");
		const char *dg = json_string_value(json_object_get(e, "digest"));
		const char *mt = json_string_value(json_object_get(e, "mediaType"));
		if (!platform_matches(json_object_get(e, "platform"), o) || !dg || !json_is_integer(sz) ||
		    json_integer_value(sz) < 0 || wharf_oci_manifest_kind(mt) != WHARF_MANIFEST_IMAGE)
			continue;
		r = wharf_digest_parse(d, dg, err);
		*size = (uint64_t)json_integer_value(sz);
		break;
	}
	json_decref(doc);
	return r;
}

/* Fetch and parse manifest d (length pinned, or UINT64_MAX). */
static int fetch_manifest(const struct wharf_pull_opts *o, const struct wharf_digest *d, uint64_t len,
			  struct wharf_buf *body, struct wharf_manifest **m, struct wharf_error *err)
{
	_cleanup_free_ char *ct = NULL;
	int r = wharf_registry_get_manifest_verified(o->registry, o->repository, d, len, body, &ct, err);
	if (r < 0)
		return r;
	/* Registries add parameters (charset) to Content-Type; the body's mediaType decides then. */
	bool usable_ct = ct && wharf_oci_manifest_kind(ct) != WHARF_MANIFEST_NONE;
	r = wharf_manifest_parse(m, usable_ct ? ct : NULL, body->data, body->len, err);
	return r < 0 ? wharf_error_prefix(err, "manifest %s of %s", d->str, o->repository) : 0;
}

static void copy_desc(struct wharf_descriptor *dst, const struct wharf_descriptor *src)
{
	*dst = *src;
	dst->media_type = wharf_xstrdup(src->media_type ? src->media_type : "");
}

static int fetch_blobs(struct wharf_content_store *cs, const struct wharf_pull_opts *o,
		       struct wharf_pull_result *res, struct wharf_error *err)
{
	for (size_t i = 0; i <= res->n_layers; i++) {
		const struct wharf_descriptor *dd = i == 0 ? &res->config : &res->layers[i - 1];
		if (dd->kind == WHARF_REF_FOREIGN) /* non-distributable: not on this registry */
			continue;
		bool fetched = false;
		int r = wharf_content_store_fetch(cs, o->registry, o->repository, &dd->digest, dd->size, o->progress,
						  o->progress_ctx, &fetched, err);
		if (r < 0)
			return r;
		if (fetched)
			res->bytes_fetched += dd->size;
	}
	return 0;
}

int wharf_pull_image(struct wharf_content_store *cs, const struct wharf_pull_opts *o, struct wharf_pull_result *out,
		     struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	struct wharf_buf top, image;
	wharf_buf_init(&top);
	wharf_buf_init(&image);
	struct wharf_manifest *m = NULL, *im = NULL;
	int r = fetch_manifest(o, &o->digest, o->length, &top, &m, err);
	struct wharf_digest md = o->digest;
	uint64_t msize = top.len;
	if (r == 0 && m->kind == WHARF_MANIFEST_INDEX) {
		r = pick_platform(&top, &o->digest, o, &md, &msize, err);
		if (r == 0)
			r = fetch_manifest(o, &md, msize, &image, &im, err);
		if (r == 0 && im->kind != WHARF_MANIFEST_IMAGE)
			r = wharf_error_set(err, WHARF_EINVAL, "index %s: entry %s is not an image manifest",
					    o->digest.str, md.str);
	}
	const struct wharf_manifest *img = im ? im : m;
	const struct wharf_buf *img_bytes = im ? &image : &top;
	if (r == 0 && (img->n_refs == 0 || img->refs[0].kind != WHARF_REF_BLOB))
		r = wharf_error_set(err, WHARF_EINVAL, "manifest %s has no config blob", md.str);
	if (r == 0) {
		out->manifest = md;
		out->manifest_size = msize;
		out->media_type = wharf_xstrdup(img->media_type);
		copy_desc(&out->config, &img->refs[0]);
		out->layers = wharf_xcalloc(img->n_refs, sizeof(*out->layers));
		for (size_t i = 1; i < img->n_refs; i++)
			copy_desc(&out->layers[out->n_layers++], &img->refs[i]);
		r = fetch_blobs(cs, o, out, err);
	}
	/* Manifests last: a stored manifest always has its blobs. */
	if (r == 0)
		r = wharf_content_store_put(cs, &md, img_bytes->data, img_bytes->len, err);
	if (r == 0 && im)
		r = wharf_content_store_put(cs, &o->digest, top.data, top.len, err);
	if (r == 0 && o->ref_name)
		r = wharf_content_store_tag(cs, o->ref_name, img->media_type, &md, msize, err);
	wharf_manifest_free(m);
	wharf_manifest_free(im);
	wharf_buf_free(&top);
	wharf_buf_free(&image);
	if (r < 0)
		wharf_pull_result_free(out);
	return r;
}
