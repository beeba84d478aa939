#include <stdio.h>
#include <string.h>

#include "internal.h"

static void add_link(struct wharf_http_response *r, const char *path, uint64_t n, const char *last)
{
	_cleanup_free_ char *esc = wharf_url_escape(last);
	wharf_http_response_headerf(r, "Link", "<%s?n=%llu&last=%s>; rel=\"next\"", path, (unsigned long long)n, esc);
}

static void respond_list(struct wharf_http_request *req, struct wharf_buf *b, const char *link_path,
			 uint64_t n, bool more, const struct wharf_strv *items)
{
	size_t len = b->len;
	struct wharf_http_response *r = wharf_http_response_owned(200, wharf_buf_steal(b), len);
	wharf_http_response_header(r, "Content-Type", "application/json");
	if (more && items->n)
		add_link(r, link_path, n, items->v[items->n - 1]);
	wharf_http_respond(req, r);
}

static void json_string_array(struct wharf_buf *b, const struct wharf_strv *items)
{
	wharf_buf_puts(b, "[");
	for (size_t i = 0; i < items->n; i++) {
		if (i)
			wharf_buf_puts(b, ",");
		wharf_buf_json_string(b, items->v[i]);
	}
	wharf_buf_puts(b, "]");
}

void reg_tags_list(struct wharf_registry *reg, struct wharf_http_request *req, const char *name)
{
	uint64_t n;
	bool has_n, more = false;
	const char *last;
	if (!reg_pagination(req, &n, &has_n, &last))
		return;
	struct wharf_strv tags = {0};
	struct wharf_error err;
	/* n=0 asks for an empty page; the repository must still exist. */
	int r = wharf_meta_tags(reg->meta, name, last, has_n && n == 0 ? 1 : n, &tags, &more, &err);
	if (r < 0) {
		reg_error_from(req, &err, "NAME_UNKNOWN");
		return;
	}
	if (has_n && n == 0) {
		wharf_strv_free(&tags);
		more = false;
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"name\":");
	wharf_buf_json_string(&b, name);
	wharf_buf_puts(&b, ",\"tags\":");
	json_string_array(&b, &tags);
	wharf_buf_puts(&b, "}\n");
	_cleanup_free_ char *path = wharf_xasprintf("/v2/%s/tags/list", name);
	respond_list(req, &b, path, n, more, &tags);
	wharf_strv_free(&tags);
}

/* With access control on, a caller sees only the repositories it may pull. */
static void reg_catalog_filter(struct wharf_registry *reg, struct wharf_http_request *req, struct wharf_strv *repos)
{
	if (!wharf_auth_enabled(reg->auth))
		return;
	const char *authz = wharf_http_header(req, "Authorization");
	size_t kept = 0;
	for (size_t i = 0; i < repos->n; i++) {
		if (wharf_auth_can_see(reg->auth, authz, repos->v[i]))
			repos->v[kept++] = repos->v[i];
		else
			free(repos->v[i]);
	}
	repos->n = kept;
}

void reg_catalog(struct wharf_registry *reg, struct wharf_http_request *req)
{
	uint64_t n;
	bool has_n, more = false;
	const char *last;
	if (!reg_pagination(req, &n, &has_n, &last))
		return;
	struct wharf_strv repos = {0};
	struct wharf_error err;
	if (!(has_n && n == 0) && wharf_meta_catalog(reg->meta, last, n ? n : 1000, &repos, &more, &err) < 0) {
		reg_error_from(req, &err, "NAME_UNKNOWN");
		return;
	}
	reg_catalog_filter(reg, req, &repos);
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"repositories\":");
	json_string_array(&b, &repos);
	wharf_buf_puts(&b, "}\n");
	respond_list(req, &b, "/v2/_catalog", n ? n : 1000, more, &repos);
	wharf_strv_free(&repos);
}

void reg_referrers(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		   const char *digest_str)
{
	struct wharf_digest d;
	struct wharf_error err;
	if (wharf_digest_parse(&d, digest_str, &err) < 0) {
		reg_error(req, 400, "DIGEST_INVALID", "%s", err.message);
		return;
	}
	const char *artifact_type = wharf_http_query(req, "artifactType");
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_INDEX "\",\"manifests\":[");
	if (wharf_meta_referrers(reg->meta, name, d.str, artifact_type, &b, &err) < 0) {
		wharf_buf_free(&b);
		reg_error_from(req, &err, "NAME_UNKNOWN");
		return;
	}
	wharf_buf_puts(&b, "]}\n");
	size_t len = b.len;
	struct wharf_http_response *r = wharf_http_response_owned(200, wharf_buf_steal(&b), len);
	wharf_http_response_header(r, "Content-Type", WHARF_MT_OCI_INDEX);
	if (artifact_type)
		wharf_http_response_header(r, "OCI-Filters-Applied", "artifactType");
	wharf_http_respond(req, r);
}
