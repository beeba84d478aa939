#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

struct manifest_req {
	struct wharf_registry *reg;
	char name[WHARF_REPO_NAME_MAX + 1];
	char ref[WHARF_DIGEST_MAX + WHARF_TAG_MAX];
	char *content_type; /* NULL when absent or generic */
	struct wharf_buf body;
	bool too_big;
};

static void manifest_req_free(void *p)
{
	struct manifest_req *m = p;
	wharf_buf_free(&m->body);
	free(m->content_type);
	free(m);
}

/* "type/subtype; params" -> "type/subtype"; generic JSON types count as no type at all. */
static char *request_media_type(struct wharf_http_request *req)
{
	const char *ct = wharf_http_header(req, "Content-Type");
	if (!ct)
		return NULL;
	size_t len = strcspn(ct, "; ");
	char *t = wharf_xstrndup(ct, len);
	if (len == 0 || !strcasecmp(t, "application/json") || !strcasecmp(t, "application/octet-stream")) {
		free(t);
		return NULL;
	}
	return t;
}

/* Check a reference from a manifest URL: a tag or a digest. Answers and returns false if bad. */
static bool check_reference(struct wharf_http_request *req, const char *ref, struct wharf_digest *d, bool *is_digest)
{
	struct wharf_error err;
	*is_digest = wharf_oci_ref_is_digest(ref);
	if (*is_digest) {
		if (wharf_digest_parse(d, ref, &err) < 0) {
			reg_error(req, 400, "DIGEST_INVALID", "%s", err.message);
			return false;
		}
		return true;
	}
	if (wharf_oci_check_tag(ref, &err) < 0) {
		reg_error(req, 400, "TAG_INVALID", "%s", err.message);
		return false;
	}
	return true;
}

static int on_manifest_body(struct wharf_http_request *req, const char *data, size_t len)
{
	struct manifest_req *m = wharf_http_state(req);
	if (m->body.len + len > WHARF_MANIFEST_MAX) {
		m->too_big = true;
		return -WHARF_ETOOBIG;
	}
	wharf_buf_append(&m->body, data, len);
	return 0;
}

static void respond_manifest_created(struct wharf_http_request *req, const struct manifest_req *m,
				     const struct wharf_digest *d, const struct wharf_manifest *man)
{
	struct wharf_http_response *r = wharf_http_response_buffer(201, "", 0);
	wharf_http_response_headerf(r, "Location", "/v2/%s/manifests/%s", m->name, d->str);
	wharf_http_response_header(r, "Docker-Content-Digest", d->str);
	if (man->has_subject)
		wharf_http_response_header(r, "OCI-Subject", man->subject.str);
	wharf_http_respond(req, r);
}

static int store_manifest(struct manifest_req *m, const struct wharf_digest *d, const struct wharf_manifest *man,
			  const char *tag, struct wharf_error *err)
{
	reg_lock_digest(m->reg, d->str);
	int r = wharf_store_put(m->reg->store, d, m->body.data ? m->body.data : "", m->body.len, err);
	if (r == 0)
		r = wharf_meta_manifest_put(m->reg->meta, m->name, d->str, m->body.len, man, tag, err);
	reg_unlock_digest(m->reg, d->str);
	return r;
}

static void on_manifest_done(struct wharf_http_request *req)
{
	struct manifest_req *m = wharf_http_state(req);
	struct wharf_error err;
	if (m->too_big) {
		reg_error(req, 413, "MANIFEST_INVALID", "manifest is over the limit of %u bytes", WHARF_MANIFEST_MAX);
		return;
	}
	struct wharf_digest want, got;
	bool by_digest = wharf_oci_ref_is_digest(m->ref);
	if (by_digest)
		wharf_digest_parse(&want, m->ref, NULL); /* checked when the request began */
	wharf_digest_buffer(by_digest ? want.alg : WHARF_SHA256, m->body.data ? m->body.data : "", m->body.len, &got);
	if (by_digest && !wharf_digest_equal(&got, &want)) {
		reg_error(req, 400, "DIGEST_INVALID", "manifest body has digest %s, not %s as the URL says",
			  got.str, want.str);
		return;
	}
	struct wharf_manifest *man = NULL;
	if (wharf_manifest_parse(&man, m->content_type, m->body.data ? m->body.data : "", m->body.len, &err) < 0) {
		reg_error(req, 400, "MANIFEST_INVALID", "%s", err.message);
		return;
	}
	int r = store_manifest(m, &got, man, by_digest ? NULL : m->ref, &err);
	if (r == -WHARF_ENOTFOUND)
		reg_error(req, 400, "MANIFEST_BLOB_UNKNOWN", "%s", err.message);
	else if (r == -WHARF_EINVAL)
		reg_error(req, 400, "MANIFEST_INVALID", "%s", err.message);
	else if (r < 0)
		reg_error_from(req, &err, "MANIFEST_UNKNOWN");
	else {
		reg_scan_enqueue(m->reg, m->name, got.str, man);
		reg_audit(m->reg, req, "push",
			  json_pack("{s:s,s:s*,s:s,s:s,s:I}", "repository", m->name, "tag", by_digest ? NULL : m->ref,
				    "digest", got.str, "media_type", man->media_type, "size", (json_int_t)m->body.len));
		respond_manifest_created(req, m, &got, man);
	}
	wharf_manifest_free(man);
}

void reg_manifest_put(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		      const char *ref)
{
	struct wharf_digest d;
	bool is_digest;
	if (!check_reference(req, ref, &d, &is_digest))
		return;
	uint64_t clen;
	if (wharf_http_content_length(req, &clen) && clen > WHARF_MANIFEST_MAX) {
		reg_error(req, 413, "MANIFEST_INVALID", "manifest of %llu bytes is over the limit of %u bytes",
			  (unsigned long long)clen, WHARF_MANIFEST_MAX);
		return;
	}
	struct manifest_req *m = wharf_xcalloc(1, sizeof(*m));
	m->reg = reg;
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->ref, sizeof(m->ref), "%s", ref);
	m->content_type = request_media_type(req);
	wharf_buf_init(&m->body);
	wharf_http_set_state(req, m, manifest_req_free);
	wharf_http_expect_body(req, on_manifest_body, on_manifest_done, NULL);
}

/* Does the Accept header allow media type mt? No header, or a wildcard, allows everything. */
static bool accepts(struct wharf_http_request *req, const char *mt)
{
	_cleanup_free_ char *accept = wharf_http_header_joined(req, "Accept");
	if (!accept)
		return true;
	bool any_listed = false;
	for (char *save = NULL, *tok = strtok_r(accept, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		size_t len = strcspn(tok, "; ");
		if (len == 0)
			continue;
		any_listed = true;
		if ((len == 3 && !memcmp(tok, "*/*", 3)) || (len == strlen(mt) && !strncasecmp(tok, mt, len)) ||
		    (len == 13 && !memcmp(tok, "application/*", 13)))
			return true;
	}
	return !any_listed;
}

/* The require-signed policy: a tag is served only as the manifest its trust data signed. */
static bool tag_signed(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		       const char *tag, const struct wharf_meta_manifest *mm)
{
	struct wharf_error err;
	if (!wharf_str_has_prefix(mm->digest, "sha256:")) {
		reg_error(req, 403, "DENIED", "tag %s of %s points to a %s manifest; signed tags need sha256 digests",
			  tag, name, mm->digest);
		return false;
	}
	int r = wharf_trust_check_signed(reg->trust, name, tag, mm->digest + 7, mm->size, &err);
	if (r == -WHARF_ENOTFOUND)
		reg_error(req, 403, "DENIED", "%s (pull by digest still works)", err.message);
	else if (r < 0)
		reg_error_from(req, &err, "MANIFEST_UNKNOWN");
	return r == 0;
}

void reg_manifest_get(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		      const char *ref)
{
	struct wharf_digest d;
	bool is_digest;
	struct wharf_error err;
	if (!check_reference(req, ref, &d, &is_digest))
		return;
	struct wharf_meta_manifest mm;
	if (wharf_meta_manifest_get(reg->meta, name, is_digest ? d.str : ref, &mm, &err) < 0) {
		reg_error_from(req, &err, "MANIFEST_UNKNOWN");
		return;
	}
	if (!is_digest && wharf_config_requires_signed(&reg->cfg, name) && !tag_signed(reg, req, name, ref, &mm))
		return;
	if (!reg_scan_pull_allowed(reg, req, name, &mm))
		return;
	if (!reg_image_policy_allowed(reg, req, name, is_digest ? NULL : ref, &mm))
		return;
	if (!accepts(req, mm.media_type)) {
		reg_error(req, 404, "MANIFEST_UNKNOWN", "manifest %s of %s is a %s, which the Accept header does not list",
			  ref, name, mm.media_type);
		return;
	}
	struct wharf_http_response *r;
	const char *inm = wharf_http_header(req, "If-None-Match");
	if (inm && strstr(inm, mm.digest)) {
		r = wharf_http_response_buffer(304, "", 0);
	} else {
		struct wharf_digest md;
		int fd;
		uint64_t size;
		wharf_digest_parse(&md, mm.digest, NULL);
		if (wharf_store_blob_open(reg->store, &md, &fd, &size, &err) < 0) {
			wharf_log(WHARF_LOG_ERROR, "manifest %s is recorded but unreadable: %s", mm.digest, err.message);
			reg_error(req, 404, "MANIFEST_UNKNOWN", "manifest %s is not available", mm.digest);
			return;
		}
		r = wharf_http_response_fd(200, fd, 0, size);
		wharf_http_response_header(r, "Content-Type", mm.media_type);
	}
	wharf_http_response_header(r, "Docker-Content-Digest", mm.digest);
	wharf_http_response_headerf(r, "ETag", "\"%s\"", mm.digest);
	wharf_http_respond(req, r);
}

void reg_manifest_delete(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			 const char *ref)
{
	struct wharf_digest d;
	bool is_digest;
	struct wharf_error err;
	if (!reg->cfg.delete_enabled) {
		reg_error(req, 405, "UNSUPPORTED", "deletes are disabled on this registry (delete_enabled: false)");
		return;
	}
	if (!check_reference(req, ref, &d, &is_digest))
		return;
	int r = is_digest ? wharf_meta_manifest_delete(reg->meta, name, d.str, &err)
			  : wharf_meta_tag_delete(reg->meta, name, ref, &err);
	if (r < 0) {
		reg_error_from(req, &err, "MANIFEST_UNKNOWN");
		return;
	}
	reg_audit(reg, req, "delete",
		  json_pack("{s:s,s:s,s:s*,s:s*}", "object", is_digest ? "manifest" : "tag", "repository", name, "digest",
			    is_digest ? d.str : NULL, "tag", is_digest ? NULL : ref));
	wharf_http_respond(req, wharf_http_response_buffer(202, "", 0));
}
