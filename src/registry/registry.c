#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wharf/oci.h"
#include "internal.h"

void reg_audit(struct wharf_registry *reg, struct wharf_http_request *req, const char *type, json_t *fields)
{
	if (!wharf_auth_audit_enabled(reg->auth)) {
		json_decref(fields);
		return;
	}
	char remote[64];
	wharf_http_remote(req, remote, sizeof(remote));
	wharf_auth_audit_event(reg->auth, type, wharf_http_subject(req), remote, fields);
}

/* The trust service's hook for signatures published (wharf_trust_set_audit). */
static void trust_audit(void *ctx, struct wharf_http_request *req, const char *type, json_t *fields)
{
	reg_audit(ctx, req, type, fields);
}

int wharf_registry_open(struct wharf_registry **out, const struct wharf_config *cfg,
			struct wharf_metrics *metrics, struct wharf_error *err)
{
	struct wharf_registry *reg = wharf_xcalloc(1, sizeof(*reg));
	reg->cfg = *cfg;
	reg->cfg.listen_host = wharf_xstrdup(cfg->listen_host);
	reg->cfg.data_dir = wharf_xstrdup(cfg->data_dir);
	reg->cfg.log_level = wharf_xstrdup(cfg->log_level);
	reg->cfg.require_signed = (struct wharf_strv){0};
	reg->cfg.auth = (struct wharf_auth_config){0}; /* the auth stage keeps its own copy */
	for (size_t i = 0; i < cfg->require_signed.n; i++)
		wharf_strv_push(&reg->cfg.require_signed, cfg->require_signed.v[i]);
	reg->cfg.vulndb_path = cfg->vulndb_path ? wharf_xstrdup(cfg->vulndb_path) : NULL;
	reg->cfg.scan_policy = cfg->scan_policy ? wharf_xstrdup(cfg->scan_policy) : NULL;
	reg->cfg.scan_block_severity = cfg->scan_block_severity ? wharf_xstrdup(cfg->scan_block_severity) : NULL;
	wharf_scan_policy_init(&reg->scan_policy);
	reg->metrics = metrics;
	for (size_t i = 0; i < DIGEST_LOCKS; i++)
		pthread_mutex_init(&reg->digest_locks[i], NULL);
	pthread_mutex_init(&reg->uploads_lock, NULL);
	pthread_mutex_init(&reg->gc_lock, NULL);
	pthread_mutex_init(&reg->stop_lock, NULL);
	pthread_cond_init(&reg->stop_cond, NULL);
	int r = wharf_mkdir_p(cfg->data_dir, 0755, err);
	if (r == 0 && cfg->auth.enabled)
		r = wharf_auth_open(&reg->auth, &cfg->auth, cfg->data_dir, err);
	else if (r == 0)
		reg->auth = wharf_auth_allow_all();
	if (r == 0)
		r = wharf_store_open(&reg->store, cfg->data_dir, err);
	if (r == 0) {
		_cleanup_free_ char *db = wharf_xasprintf("%s/wharf.db", cfg->data_dir);
		r = wharf_meta_open(&reg->meta, db, err);
	}
	if (r == 0)
		r = wharf_trust_open(&reg->trust, reg->meta, cfg->data_dir, err);
	if (r == 0)
		wharf_trust_set_store(reg->trust, reg->store);
	if (r == 0 && wharf_auth_audit_enabled(reg->auth))
		wharf_trust_set_audit(reg->trust, trust_audit, reg);
	if (r == 0)
		r = reg_scan_open(reg, err);
	if (r < 0) {
		wharf_registry_close(reg);
		return r;
	}
	*out = reg;
	return 0;
}

void wharf_registry_close(struct wharf_registry *reg)
{
	if (!reg)
		return;
	if (reg->gc_thread_started) {
		pthread_mutex_lock(&reg->stop_lock);
		reg->stopping = true;
		pthread_cond_broadcast(&reg->stop_cond);
		pthread_mutex_unlock(&reg->stop_lock);
		pthread_join(reg->gc_thread, NULL);
	}
	for (size_t i = 0; i < UPLOAD_BUCKETS; i++) {
		while (reg->uploads[i]) {
			struct upload_state *u = reg->uploads[i];
			reg->uploads[i] = u->next;
			wharf_hasher_free(u->hasher);
			free(u);
		}
	}
	wharf_scand_close(reg->scand);
	wharf_scan_policy_free(&reg->scan_policy);
	wharf_trust_close(reg->trust);
	wharf_meta_close(reg->meta);
	wharf_store_close(reg->store);
	wharf_auth_free(reg->auth);
	wharf_config_free(&reg->cfg);
	free(reg);
}

static size_t digest_slot(const char *digest)
{
	size_t h = 5381;
	for (const char *p = digest; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h % DIGEST_LOCKS;
}

void reg_lock_digest(struct wharf_registry *reg, const char *digest)
{
	pthread_mutex_lock(&reg->digest_locks[digest_slot(digest)]);
}

void reg_unlock_digest(struct wharf_registry *reg, const char *digest)
{
	pthread_mutex_unlock(&reg->digest_locks[digest_slot(digest)]);
}

static const char *route_label(enum route_kind k)
{
	switch (k) {
	case ROUTE_BASE: return "base";
	case ROUTE_CATALOG: return "catalog";
	case ROUTE_MANIFEST: return "manifest";
	case ROUTE_BLOB: return "blob";
	case ROUTE_UPLOAD_START:
	case ROUTE_UPLOAD: return "upload";
	case ROUTE_TAGS: return "tags";
	case ROUTE_REFERRERS: return "referrers";
	default: return "other";
	}
}

static bool method_is(struct wharf_http_request *req, const char *m)
{
	return strcmp(wharf_http_method(req), m) == 0;
}

static enum wharf_action route_action(const struct route *rt, struct wharf_http_request *req)
{
	if (rt->kind == ROUTE_CATALOG)
		return WHARF_ACTION_CATALOG;
	if (method_is(req, "DELETE") && (rt->kind == ROUTE_MANIFEST || rt->kind == ROUTE_BLOB))
		return WHARF_ACTION_DELETE;
	if (method_is(req, "GET") || method_is(req, "HEAD"))
		return rt->kind == ROUTE_UPLOAD ? WHARF_ACTION_PUSH : WHARF_ACTION_PULL;
	return WHARF_ACTION_PUSH;
}

/* The tag of /v2/<name>/manifests/<tag>, for tag rules of the policy file; NULL for digests. */
static const char *manifest_tag(struct wharf_http_request *req)
{
	const char *m = strstr(wharf_http_path(req), "/manifests/");
	if (!m || strchr(m + 11, '/') || strchr(m + 11, ':') || !m[11])
		return NULL;
	return m + 11;
}

/* A manifest GET/HEAD: the plugins and policy see it again once it resolves (reg_manifest_get). */
static bool is_manifest_read(struct wharf_http_request *req)
{
	if (!method_is(req, "GET") && !method_is(req, "HEAD"))
		return false;
	struct route rt;
	reg_route_parse(wharf_http_path(req), &rt);
	return rt.kind == ROUTE_MANIFEST;
}

/* The single authentication/authorization stage. */
static bool authorize(struct wharf_registry *reg, struct wharf_http_request *req, const char *repo,
		      enum wharf_action action)
{
	char remote[64];
	wharf_http_remote(req, remote, sizeof(remote));
	struct wharf_access access = {
		.remote = remote,
		.repository = repo,
		.action = action,
		.authorization = wharf_http_header(req, "Authorization"),
		.host = wharf_http_header(req, "Host"),
		.tls = wharf_http_is_tls(req),
		.method = wharf_http_method(req),
		.uri = wharf_http_path(req),
		.sign = strstr(wharf_http_path(req), "/_trust/") && !method_is(req, "GET") && !method_is(req, "HEAD"),
		.tag = manifest_tag(req),
		.manifest_read = action == WHARF_ACTION_PULL && is_manifest_read(req),
	};
	struct wharf_auth_decision d;
	wharf_auth_decide(reg->auth, &access, &d);
	wharf_http_log_field(req, "subject", d.subject);
	wharf_http_set_subject(req, d.subject);
	if (d.allowed)
		return true;
	wharf_http_log_field(req, "auth", d.reason);
	if (d.status == 401) {
		char body[] = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":{}}]}\n";
		struct wharf_http_response *r = wharf_http_response_buffer(401, body, strlen(body));
		wharf_http_response_header(r, "Content-Type", "application/json");
		wharf_http_response_header(r, "WWW-Authenticate", d.www_authenticate);
		wharf_http_respond(req, r);
	} else {
		reg_error(req, 403, "DENIED", "%s", d.reason);
	}
	return false;
}

static void respond_base(struct wharf_http_request *req)
{
	reg_respond_json(req, 200, "application/json", wharf_xstrdup("{}"), 2);
}

static void method_not_allowed(struct wharf_http_request *req, const char *allowed)
{
	reg_error(req, 405, "UNSUPPORTED", "method %s is not allowed on %s (allowed: %s)",
		  wharf_http_method(req), wharf_http_path(req), allowed);
}

static void dispatch_manifest(struct wharf_registry *reg, struct wharf_http_request *req, const struct route *rt)
{
	if (method_is(req, "GET") || method_is(req, "HEAD"))
		reg_manifest_get(reg, req, rt->name, rt->arg);
	else if (method_is(req, "PUT"))
		reg_manifest_put(reg, req, rt->name, rt->arg);
	else if (method_is(req, "DELETE"))
		reg_manifest_delete(reg, req, rt->name, rt->arg);
	else
		method_not_allowed(req, "GET, HEAD, PUT, DELETE");
}

static void dispatch_upload(struct wharf_registry *reg, struct wharf_http_request *req, const struct route *rt)
{
	if (rt->kind == ROUTE_UPLOAD_START) {
		if (method_is(req, "POST"))
			reg_upload_start(reg, req, rt->name);
		else
			method_not_allowed(req, "POST");
		return;
	}
	if (method_is(req, "PATCH"))
		reg_upload_patch(reg, req, rt->name, rt->arg);
	else if (method_is(req, "PUT"))
		reg_upload_put(reg, req, rt->name, rt->arg);
	else if (method_is(req, "GET"))
		reg_upload_status(reg, req, rt->name, rt->arg);
	else if (method_is(req, "DELETE"))
		reg_upload_cancel(reg, req, rt->name, rt->arg);
	else
		method_not_allowed(req, "GET, PATCH, PUT, DELETE");
}

static void dispatch_repo_route(struct wharf_registry *reg, struct wharf_http_request *req, const struct route *rt)
{
	bool read = method_is(req, "GET") || method_is(req, "HEAD");
	switch (rt->kind) {
	case ROUTE_MANIFEST: dispatch_manifest(reg, req, rt); break;
	case ROUTE_BLOB:
		if (read)
			reg_blob_get(reg, req, rt->name, rt->arg);
		else if (method_is(req, "DELETE"))
			reg_blob_delete(reg, req, rt->name, rt->arg);
		else
			method_not_allowed(req, "GET, HEAD, DELETE");
		break;
	case ROUTE_UPLOAD_START:
	case ROUTE_UPLOAD: dispatch_upload(reg, req, rt); break;
	case ROUTE_TAGS:
		if (read)
			reg_tags_list(reg, req, rt->name);
		else
			method_not_allowed(req, "GET");
		break;
	case ROUTE_REFERRERS:
		if (read)
			reg_referrers(reg, req, rt->name, rt->arg);
		else
			method_not_allowed(req, "GET");
		break;
	default: break;
	}
}

static void dispatch_other(struct wharf_registry *reg, struct wharf_http_request *req)
{
	const char *path = wharf_http_path(req);
	if (strcmp(path, "/metrics") == 0 && (method_is(req, "GET") || method_is(req, "HEAD"))) {
		wharf_http_set_route(req, "metrics");
		if (authorize(reg, req, NULL, WHARF_ACTION_ADMIN))
			reg_metrics(reg, req);
		return;
	}
	if (strcmp(path, "/_wharf/admin/gc") == 0) {
		wharf_http_set_route(req, "admin");
		if (!method_is(req, "POST"))
			method_not_allowed(req, "POST");
		else if (authorize(reg, req, NULL, WHARF_ACTION_ADMIN))
			reg_admin_gc(reg, req);
		return;
	}
	if (wharf_auth_handle(reg->auth, req))
		return;
	char name[WHARF_REPO_NAME_MAX + 64];
	size_t name_len;
	char digest[WHARF_DIGEST_MAX + 8];
	if (reg_scan_api_route(path, name, sizeof(name), &name_len, digest, sizeof(digest))) {
		struct wharf_error err;
		wharf_http_set_route(req, "scan");
		if (!method_is(req, "GET") && !method_is(req, "HEAD"))
			method_not_allowed(req, "GET, HEAD");
		else if (wharf_oci_check_repo_name(name, name_len, &err) < 0)
			reg_error(req, 400, "NAME_INVALID", "%s", err.message);
		else if (authorize(reg, req, name, WHARF_ACTION_PULL))
			reg_scan_vulnerabilities(reg, req, name, digest);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		respond_base(req);
		return;
	}
	reg_error(req, 404, "NOT_FOUND", "%.200s is not an endpoint of this registry", path);
}

/* As notary-server with docker's token auth: reading metadata is pull; publishing, deleting and
 * fetching or rotating the server-held timestamp/snapshot keys is push. */
static enum wharf_action trust_action(struct wharf_http_request *req, const char *tail)
{
	bool read = method_is(req, "GET") || method_is(req, "HEAD");
	if (read && !wharf_str_has_suffix(tail, ".key"))
		return WHARF_ACTION_PULL;
	return WHARF_ACTION_PUSH;
}

/* The repository a trust request is authorized on. Docker content trust (and wharf pull) name a
 * repository's trust data by the registry's host[:port] and the repository, as in
 * "127.0.0.1:5000/acme/app": when the GUN starts with the host this request was sent to, the
 * permissions are those of the repository after it. Any other GUN is taken as it is. */
static const char *trust_repository(struct wharf_http_request *req, const char *gun)
{
	const char *host = wharf_http_header(req, "Host");
	if (!gun || !host)
		return gun;
	size_t hlen = strlen(host);
	if (hlen > 0 && !strncasecmp(gun, host, hlen) && gun[hlen] == '/' && gun[hlen + 1])
		return gun + hlen + 1;
	return gun;
}

/* /v2/<gun>/_trust/<rest> and /v2/_trust/<rest> go to the trust service. */
static bool dispatch_trust(struct wharf_registry *reg, struct wharf_http_request *req)
{
	const char *path = wharf_http_path(req);
	if (!wharf_str_has_prefix(path, "/v2/"))
		return false;
	const char *rest = path + 4;
	const char *mark = wharf_str_has_prefix(rest, "_trust/") ? rest : strstr(rest, "/_trust/");
	if (!mark)
		return false;
	wharf_http_set_route(req, "trust");
	bool global = mark == rest;
	_cleanup_free_ char *gun = global ? NULL : wharf_xstrndup(rest, (size_t)(mark - rest));
	const char *tail = global ? mark + 7 : mark + 8;
	if (authorize(reg, req, trust_repository(req, gun), trust_action(req, tail)))
		wharf_trust_handle(reg->trust, req, gun, tail);
	return true;
}

void wharf_registry_dispatch(void *app, struct wharf_http_request *req)
{
	struct wharf_registry *reg = app;
	if (dispatch_trust(reg, req))
		return;
	struct route rt;
	reg_route_parse(wharf_http_path(req), &rt);
	wharf_http_set_route(req, route_label(rt.kind));
	switch (rt.kind) {
	case ROUTE_NONE:
		dispatch_other(reg, req);
		return;
	case ROUTE_BASE:
		if (authorize(reg, req, NULL, WHARF_ACTION_PULL))
			respond_base(req);
		return;
	case ROUTE_CATALOG:
		if (!method_is(req, "GET"))
			method_not_allowed(req, "GET");
		else if (authorize(reg, req, NULL, WHARF_ACTION_CATALOG))
			reg_catalog(reg, req);
		return;
	default:
		break;
	}
	struct wharf_error err;
	if (wharf_oci_check_repo_name(rt.name, rt.name_len, &err) < 0) {
		reg_error(req, 400, "NAME_INVALID", "%s", err.message);
		return;
	}
	if (authorize(reg, req, rt.name, route_action(&rt, req)))
		dispatch_repo_route(reg, req, &rt);
}

void reg_metrics(struct wharf_registry *reg, struct wharf_http_request *req)
{
	uint64_t bytes = 0, blobs = 0;
	struct wharf_error err;
	struct wharf_buf extra;
	wharf_buf_init(&extra);
	if (wharf_meta_storage_bytes(reg->meta, &bytes, &blobs, &err) == 0)
		wharf_buf_printf(&extra,
				 "# HELP wharf_storage_bytes Bytes of all stored blobs and manifests.\n"
				 "# TYPE wharf_storage_bytes gauge\nwharf_storage_bytes %llu\n"
				 "# HELP wharf_storage_blobs Number of stored blobs and manifests.\n"
				 "# TYPE wharf_storage_blobs gauge\nwharf_storage_blobs %llu\n",
				 (unsigned long long)bytes, (unsigned long long)blobs);
	reg_scan_metrics(reg, &extra);
	char *text = wharf_metrics_render(reg->metrics, extra.data);
	wharf_buf_free(&extra);
	reg_respond_json(req, 200, "text/plain; version=0.0.4", text, strlen(text));
}

void reg_admin_gc(struct wharf_registry *reg, struct wharf_http_request *req)
{
	bool dry_run = wharf_http_query(req, "dry-run") != NULL;
	struct wharf_gc_report rep;
	struct wharf_error err;
	if (wharf_registry_gc(reg, dry_run, &rep, &err) < 0) {
		reg_error_from(req, &err, "UNKNOWN");
		return;
	}
	char *body = wharf_xasprintf("{\"dry_run\":%s,\"blobs_removed\":%llu,\"bytes_removed\":%llu,"
				     "\"uploads_removed\":%llu,\"orphan_files_removed\":%llu,\"blobs_kept\":%llu}\n",
				     dry_run ? "true" : "false", (unsigned long long)rep.blobs_removed,
				     (unsigned long long)rep.bytes_removed, (unsigned long long)rep.uploads_removed,
				     (unsigned long long)rep.orphan_files_removed, (unsigned long long)rep.blobs_kept);
	reg_respond_json(req, 200, "application/json", body, strlen(body));
}
