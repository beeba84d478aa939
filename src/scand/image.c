/* Scan one pushed image from the blob store: manifest, config, then every layer from the
 * per-layer cache or streamed once through the walker; then the image merge. */
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"
#include "wharf/digest.h"
#include "wharf/json.h"
#include "wharf/oci.h"
#include "wharf/scan.h"

#define MANIFEST_MAX (4u << 20)
#define CONFIG_MAX (8u << 20)

/* Read a small blob (manifest, config) whole, at most limit bytes. */
static int read_blob(struct wharf_scand *q, const char *digest, size_t limit, char **out, size_t *len,
		     struct wharf_error *err)
{
	struct wharf_digest d;
	if (wharf_digest_parse(&d, digest, err) < 0)
		return -WHARF_EINVAL;
	return wharf_store_blob_read(q->store, &d, limit, out, len, err);
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, struct wharf_error *err)
{
	int fd = *(int *)ctx;
	ssize_t n = read(fd, buf, len);
	if (n < 0)
		return wharf_error_sys(err, "read layer");
	return n;
}

static bool is_image_config(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.config.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.container.image.v1+json"));
}

/* The layers of r from the manifest and config: digests, sizes, diff IDs, history. */
static int fill_layers(const struct wharf_manifest *m, json_t *config, struct wharf_scan_result *r,
		       struct wharf_error *err)
{
	size_t n = m->n_refs - 1;
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != n)
		return wharf_error_set(err, WHARF_EINVAL, "image config %s: rootfs.diff_ids has %zu entries for %zu layers",
				       m->refs[0].digest.str, json_array_size(diff_ids), n);
	r->nlayers = n;
	r->layers = wharf_xcalloc(n ? n : 1, sizeof(*r->layers));
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(diff_ids, i));
		struct wharf_digest d;
		if (!id || wharf_digest_parse(&d, id, err) < 0)
			return wharf_error_set(err, WHARF_EINVAL, "image config %s: diff_ids[%zu] is not a digest",
					       m->refs[0].digest.str, i);
		r->layers[i].digest = wharf_xstrdup(m->refs[i + 1].digest.str);
		r->layers[i].diffid = wharf_xstrdup(id);
		r->layers[i].media_type = m->refs[i + 1].media_type ? wharf_xstrdup(m->refs[i + 1].media_type) : NULL;
		r->layers[i].size = m->refs[i + 1].size;
	}
	size_t li = 0, i;
	json_t *h;
	json_array_foreach(json_object_get(config, "history"), i, h) {
		if (json_is_true(json_object_get(h, "empty_layer")))
			continue;
		const char *cb = json_string_value(json_object_get(h, "created_by"));
		if (li < n && cb)
			r->layers[li].created_by = wharf_xstrdup(cb);
		li++;
	}
	return 0;
}

/* One layer's analysis: from the cache, else streamed from the store (and cached). */
static int analyse_layer(struct wharf_scand *q, const struct wharf_layer_info *li, int index,
			 struct wharf_layer_analysis *an, struct wharf_error *err)
{
	struct wharf_error e = {0};
	if (wharf_scan_cache_load(q->cache_dir, li->digest, an, &e) == 0) {
		if (an->diffid && !strcmp(an->diffid, li->diffid))
			return 0;
		wharf_layer_analysis_free(an);
		memset(an, 0, sizeof(*an));
	}
	struct wharf_digest d;
	int fd = -1;
	uint64_t size;
	wharf_digest_parse(&d, li->digest, NULL);
	int r = wharf_store_blob_open(q->store, &d, &fd, &size, err);
	if (r < 0)
		return wharf_error_prefix(err, "layer %d", index);
	struct wharf_scan_limits lim;
	wharf_scan_limits_default(&lim);
	struct wharf_layer_input in = {
		.index = index, .digest = li->digest, .diffid = li->diffid, .size = size, .read = fd_read, .ctx = &fd,
	};
	r = wharf_scan_layer(&in, &lim, an, err);
	close(fd);
	if (r == 0 && wharf_scan_cache_store(q->cache_dir, an, &e) < 0)
		wharf_log(WHARF_LOG_WARN, "scan cache: %s", e.message);
	return r;
}

static int scan_layers(struct wharf_scand *q, struct wharf_scan_result *r, struct wharf_error *err)
{
	struct wharf_layer_analysis *an = wharf_xcalloc(r->nlayers ? r->nlayers : 1, sizeof(*an));
	int rc = 0;
	for (size_t i = 0; i < r->nlayers && rc == 0; i++)
		rc = analyse_layer(q, &r->layers[i], (int)i, &an[i], err);
	for (size_t i = 0; i < r->nlayers && rc == 0; i++)
		for (size_t k = 0; k < an[i].warnings.n; k++)
			wharf_log(WHARF_LOG_WARN, "layer %s: %s", r->layers[i].digest, an[i].warnings.v[k]);
	if (rc == 0)
		rc = wharf_scan_merge(an, r->nlayers, r, err);
	for (size_t i = 0; i < r->nlayers; i++)
		wharf_layer_analysis_free(&an[i]);
	free(an);
	return rc;
}

static int parse_config(struct wharf_scand *q, const struct wharf_manifest *m, json_t **config,
			struct wharf_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_blob(q, m->refs[0].digest.str, CONFIG_MAX, &text, &len, err);
	if (r == 0 && wharf_json_parse(config, text, len, CONFIG_MAX, err) < 0)
		r = wharf_error_prefix(err, "image config %s", m->refs[0].digest.str);
	return r;
}

int scand_scan_image(struct wharf_scand *q, const char *digest, const char *repo, struct wharf_scan_result *r,
		     struct wharf_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int rc = read_blob(q, digest, MANIFEST_MAX, &text, &len, err);
	if (rc < 0)
		return wharf_error_prefix(err, "manifest %s", digest);
	struct wharf_manifest *m = NULL;
	if (wharf_manifest_parse(&m, NULL, text, len, err) < 0)
		return wharf_error_prefix(err, "manifest %s", digest);
	json_t *config = NULL;
	if (m->kind != WHARF_MANIFEST_IMAGE || m->n_refs < 1)
		rc = wharf_error_set(err, WHARF_EUNSUPPORTED, "manifest %s is not an image manifest", digest);
	else if (!is_image_config(m->refs[0].media_type))
		rc = wharf_error_set(err, WHARF_EUNSUPPORTED, "manifest %s is an artifact (config %s), not an image",
				     digest, m->refs[0].media_type ? m->refs[0].media_type : "(none)");
	if (rc == 0)
		rc = parse_config(q, m, &config, err);
	if (rc == 0) {
		r->artifact = wharf_xasprintf("%s@%s", repo, digest);
		r->manifest_digest = wharf_xstrdup(digest);
		r->config_digest = wharf_xstrdup(m->refs[0].digest.str);
		r->created = wharf_now();
		rc = fill_layers(m, config, r, err);
	}
	if (rc == 0)
		rc = scan_layers(q, r, err);
	if (rc == 0)
		wharf_scan_config_secrets(config, r);
	json_decref(config);
	wharf_manifest_free(m);
	return rc;
}
