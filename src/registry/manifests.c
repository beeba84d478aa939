#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "wharf/http.h"
#include "wharf/vulndb.h"

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

/* ---- the second authorization pass of a manifest read (docs/auth-extensions.md) ----
 * The auth stage runs before the manifest is known, so the policy's scan and signature
 * conditions (and the plugins' X-Wharf-Scan-Max-Severity / X-Wharf-Signed) cannot be answered
 * there. Once the digest is resolved, and only when a plugin or a rule needs image attributes,
 * the plugins and the policy are asked again with them. */

/* The highest severity of the image's stored scan result, NULL when it has none (unscanned,
 * queued, or failed: "not scanned" is never "clean"). An image's result is per digest; an
 * index has none of its own (its images are checked when the client pulls them by digest). */
static const char *image_scan_max_severity(struct wharf_registry *reg, const struct wharf_meta_manifest *mm)
{
	if (!reg->scand || wharf_oci_manifest_kind(mm->media_type) != WHARF_MANIFEST_IMAGE)
		return NULL;
	struct wharf_scand_job job = {0};
	struct wharf_error err;
	const char *max = NULL;
	if (wharf_scand_get(reg->scand, mm->digest, false, &job, &err) < 0)
		wharf_log(WHARF_LOG_ERROR, "policy: scan result of %s: %s", mm->digest, err.message);
	else if (job.has_result) {
		max = "NONE";
		for (int sev = WHARF_SEV_UNKNOWN; sev <= WHARF_SEV_CRITICAL; sev++)
			if (job.counts[sev])
				max = wharf_severity_name(sev);
	}
	wharf_scand_job_free(&job);
	return max;
}

/* Is tag signed as this manifest in the repository's trust data (the require-signed check)?
 * 1 yes, 0 no, -1 unknown (a pull by digest names no tag; a lookup error). */
static int image_signed_status(struct wharf_registry *reg, const char *name, const char *tag,
			       const struct wharf_meta_manifest *mm)
{
	if (!tag || !reg->trust || !wharf_str_has_prefix(mm->digest, "sha256:"))
		return tag && reg->trust ? 0 : -1;
	struct wharf_error err;
	int r = wharf_trust_check_signed(reg->trust, name, tag, mm->digest + 7, mm->size, &err);
	if (r == -WHARF_ENOTFOUND)
		return 0;
	if (r < 0)
		wharf_log(WHARF_LOG_ERROR, "policy: signature of %s:%s: %s", name, tag, err.message);
	return r == 0 ? 1 : -1;
}

/* False (answered 403 DENIED with the plugin's or rule's reason) when the second pass denies. */
static bool image_policy_allowed(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
				 const char *tag, const struct wharf_meta_manifest *mm)
{
	unsigned needs = wharf_auth_image_needs(reg->auth);
	if (!needs) /* the fast path: nothing asks about the image */
		return true;
	struct wharf_image_attrs img = {
		.digest = mm->digest,
		.scan_max_severity = needs & WHARF_IMAGE_NEEDS_SCAN ? image_scan_max_severity(reg, mm) : NULL,
		.signed_status = needs & WHARF_IMAGE_NEEDS_SIGNED ? image_signed_status(reg, name, tag, mm) : -1,
	};
	struct wharf_access access = {
		.repository = name,
		.action = WHARF_ACTION_PULL,
		.authorization = wharf_http_header(req, "Authorization"),
		.host = wharf_http_header(req, "Host"),
		.tls = wharf_http_is_tls(req),
		.method = wharf_http_method(req),
		.uri = wharf_http_path(req),
		.tag = tag,
		.manifest_read = true,
	};
	struct wharf_auth_decision d;
	wharf_auth_decide_image(reg->auth, &access, &img, &d);
	if (d.allowed)
		return true;
	wharf_http_log_field(req, "auth", d.reason);
	reg_error(req, 403, "DENIED", "%s", d.reason);
	return false;
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
	if (!image_policy_allowed(reg, req, name, is_digest ? NULL : ref, &mm))
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
	wharf_http_respond(req, wharf_http_response_buffer(202, "", 0));
}
