/* /v2/<gun>/_trust/... : the Notary v1 server API. */
#include <stdio.h>
#include <string.h>

#include "wharf/trust.h"
#include "internal.h"

static void trust_error(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Notary's error shape is the registry's. */
static void trust_error(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wharf_http_verror(req, status, code, fmt, ap);
	va_end(ap);
}

static void error_from(struct wharf_http_request *req, const struct wharf_error *err, const char *invalid_code)
{
	switch (err->code) {
	case WHARF_ENOTFOUND: trust_error(req, 404, "METADATA_NOT_FOUND", "%s", err->message); break;
	case WHARF_EINVAL:
	case WHARF_EUNSUPPORTED: trust_error(req, 400, invalid_code, "%s", err->message); break;
	case WHARF_ETOOBIG: trust_error(req, 413, invalid_code, "%s", err->message); break;
	case WHARF_EBUSY: trust_error(req, 409, "INVALID_UPDATE", "%s", err->message); break;
	default:
		wharf_log(WHARF_LOG_ERROR, "trust: %s", err->message);
		trust_error(req, 500, "UNKNOWN", "%s", err->message);
	}
}

static void respond_json(struct wharf_http_request *req, char *data, size_t len, bool immutable)
{
	struct wharf_http_response *r = wharf_http_response_owned(200, data, len);
	wharf_http_response_header(r, "Content-Type", "application/json");
	wharf_http_response_header(r, "Cache-Control", immutable ? "max-age=31536000" : "no-cache");
	wharf_http_respond(req, r);
}

/* "<role>.json", "<N>.<role>.json" or "<role>.<sha256 hex>.json". */
static bool parse_metadata_name(const char *name, char *role, size_t role_len, int64_t *version, char *sha)
{
	size_t len = strlen(name);
	*version = 0;
	sha[0] = '\0';
	if (len < 6 || strcmp(name + len - 5, ".json") != 0)
		return false;
	len -= 5;
	const char *start = name;
	size_t digits = strspn(name, "0123456789");
	if (digits > 0 && digits < 19 && name[digits] == '.' && name[0] != '0') {
		uint64_t v;
		wharf_parse_u64(name, digits, &v);
		*version = (int64_t)v;
		start = name + digits + 1;
		len -= digits + 1;
	} else if (len > 65 && name[len - 65] == '.' && strspn(name + len - 64, "0123456789abcdef") >= 64) {
		memcpy(sha, name + len - 64, 64);
		sha[64] = '\0';
		len -= 65;
	}
	if (len == 0 || len >= role_len)
		return false;
	memcpy(role, start, len);
	role[len] = '\0';
	return wharf_tuf_valid_role(role);
}

static void get_metadata(struct wharf_trust *t, struct wharf_http_request *req, const char *gun, const char *name)
{
	char role[256], sha[65];
	int64_t version;
	if (!parse_metadata_name(name, role, sizeof(role), &version, sha)) {
		trust_error(req, 404, "METADATA_NOT_FOUND", "'%.100s' is not a metadata file name", name);
		return;
	}
	char *data = NULL;
	size_t len = 0;
	struct wharf_error err;
	if (wharf_trust_get(t, gun, role, version, sha[0] ? sha : NULL, &data, &len, &err) < 0) {
		error_from(req, &err, "INVALID_GUN");
		return;
	}
	respond_json(req, data, len, version || sha[0]);
}

static void key_endpoint(struct wharf_trust *t, struct wharf_http_request *req, const char *gun, const char *name)
{
	char role[32];
	size_t len = strlen(name) - 4;
	if (len >= sizeof(role)) {
		trust_error(req, 404, "INVALID_ROLE", "no key endpoint %.100s", name);
		return;
	}
	memcpy(role, name, len);
	role[len] = '\0';
	bool rotate = strcmp(wharf_http_method(req), "POST") == 0;
	char *pub = NULL;
	struct wharf_error err;
	if (wharf_trust_server_key(t, gun, role, rotate, &pub, &err) < 0) {
		error_from(req, &err, "INVALID_ROLE");
		return;
	}
	respond_json(req, pub, strlen(pub), false);
}

struct publish_req {
	struct wharf_trust *t;
	char gun[512];
	struct wharf_buf body;
	bool too_big;
};

static void publish_req_free(void *p)
{
	struct publish_req *pr = p;
	wharf_buf_free(&pr->body);
	free(pr);
}

static int on_publish_body(struct wharf_http_request *req, const char *data, size_t len)
{
	struct publish_req *pr = wharf_http_state(req);
	if (pr->body.len + len > WHARF_TUF_PUBLISH_MAX) {
		pr->too_big = true;
		return -WHARF_ETOOBIG;
	}
	wharf_buf_append(&pr->body, data, len);
	return 0;
}

/* A publish body: multipart with one part per file, the file name as the part's filename. */
static int collect_parts(struct wharf_http_request *req, struct publish_req *pr, struct wharf_multipart_part *parts,
			 struct wharf_tuf_upload *files, size_t *n)
{
	struct wharf_error err;
	if (pr->too_big) {
		trust_error(req, 413, "MALFORMED_UPLOAD", "a publish is at most %u bytes", WHARF_TUF_PUBLISH_MAX);
		return -1;
	}
	if (wharf_multipart_parse(wharf_http_header(req, "Content-Type"), pr->body.data ? pr->body.data : "",
				  pr->body.len, parts, 64, n, &err) < 0) {
		trust_error(req, 400, "MALFORMED_UPLOAD", "%s", err.message);
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		snprintf(files[i].role, sizeof(files[i].role), "%s", parts[i].filename[0] ? parts[i].filename : parts[i].name);
		files[i].data = parts[i].data;
		files[i].len = parts[i].len;
	}
	return 0;
}

/* Add the key IDs of a signatures list to keyids, each once. */
static void add_keyids(json_t *keyids, const json_t *sigs)
{
	size_t i, k;
	json_t *sig, *have;
	json_array_foreach(sigs, i, sig) {
		const char *id = json_string_value(json_object_get(sig, "keyid"));
		if (!id)
			id = json_string_value(sig); /* a pending change's signed_by lists the IDs themselves */
		bool seen = !id;
		json_array_foreach(keyids, k, have)
			seen = seen || !strcmp(json_string_value(have), id);
		if (!seen)
			json_array_append_new(keyids, json_string(id));
	}
}

/* The audit record of a publish that was stored: the roles uploaded, their versions, who signed. */
static json_t *publish_audit_fields(const char *gun, const struct wharf_tuf_upload *files, size_t n)
{
	json_t *roles = json_array(), *versions = json_object(), *keyids = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *doc = json_loadb(files[i].data, files[i].len, 0, NULL); /* publish has validated it */
		json_array_append_new(roles, json_string(files[i].role));
		json_object_set(versions, files[i].role, json_object_get(json_object_get(doc, "signed"), "version"));
		add_keyids(keyids, json_object_get(doc, "signatures"));
		json_decref(doc);
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o}", "action", "publish", "gun", gun, "roles", roles, "versions", versions,
			 "keyids", keyids);
}

static void on_publish_done(struct wharf_http_request *req)
{
	struct publish_req *pr = wharf_http_state(req);
	struct wharf_error err;
	struct wharf_multipart_part parts[64];
	struct wharf_tuf_upload files[64];
	size_t n = 0;
	/* Notary names each part "files" and puts the role in the file name. */
	if (collect_parts(req, pr, parts, files, &n) < 0)
		return;
	if (wharf_trust_publish(pr->t, pr->gun, files, n, &err) < 0) {
		error_from(req, &err, "INVALID_UPDATE");
		return;
	}
	if (trust_audit_enabled(pr->t))
		trust_audit(pr->t, req, "sign", publish_audit_fields(pr->gun, files, n));
	wharf_http_respond(req, wharf_http_response_buffer(200, "", 0));
}

static void publish(struct wharf_trust *t, struct wharf_http_request *req, const char *gun)
{
	struct publish_req *pr = wharf_xcalloc(1, sizeof(*pr));
	pr->t = t;
	snprintf(pr->gun, sizeof(pr->gun), "%s", gun);
	wharf_buf_init(&pr->body);
	wharf_http_set_state(req, pr, publish_req_free);
	wharf_http_expect_body(req, on_publish_body, on_publish_done, NULL);
}

/* ?change_id=<id after which to start, 0 for the beginning>&records=<1..1000, default 100>. */
static void changefeed(struct wharf_trust *t, struct wharf_http_request *req, const char *gun)
{
	const char *cid = wharf_http_query(req, "change_id");
	const char *rec = wharf_http_query(req, "records");
	uint64_t after = 0, n = 100;
	if ((cid && !wharf_parse_u64(cid, strlen(cid), &after)) || (rec && !wharf_parse_u64(rec, strlen(rec), &n)) ||
	    n == 0 || n > 1000 || after > INT64_MAX) {
		trust_error(req, 400, "INVALID_CHANGEFEED", "change_id must be a change ID (0 for the start) and records 1 to 1000");
		return;
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"records\":[");
	size_t count = 0;
	struct wharf_error err;
	if (wharf_trust_changes(t, gun, (int64_t)after, (int64_t)n, &b, &count, &err) < 0) {
		wharf_buf_free(&b);
		error_from(req, &err, "INVALID_CHANGEFEED");
		return;
	}
	wharf_buf_printf(&b, "],\"count\":%zu}\n", count);
	size_t len = b.len;
	respond_json(req, wharf_buf_steal(&b), len, false);
}

/* The pending-change endpoints: POST pending, GET pending[/<id>], POST pending/<id>/signatures. */
struct pending_req {
	struct publish_req base;
	int64_t id; /* 0: a new proposal */
};

/* The audit record of a pending change proposed or signed, from the change as answered (out)
 * and, for an approval, the signatures the request added. */
static json_t *pending_audit_fields(const char *gun, bool approve, const struct wharf_buf *out, const char *body,
				    size_t len)
{
	json_t *change = json_loadb(out->data ? out->data : "", out->len, 0, NULL);
	json_t *roles = json_array(), *versions = json_object(), *keyids = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(change, "files"), i, f) {
		const char *role = json_string_value(json_object_get(f, "role"));
		json_array_append_new(roles, json_string(role ? role : ""));
		json_object_set(versions, role ? role : "", json_object_get(f, "version"));
		if (!approve)
			add_keyids(keyids, json_object_get(f, "signed_by"));
	}
	if (approve) {
		json_t *req_body = json_loadb(body, len, 0, NULL); /* pending_sign has parsed it */
		const char *role;
		json_t *sigs;
		json_object_foreach(json_object_get(req_body, "signatures"), role, sigs)
			add_keyids(keyids, sigs);
		json_decref(req_body);
	}
	json_t *ev = json_pack("{s:s,s:s,s:O?,s:O?,s:o,s:o,s:o}", "action", approve ? "approve" : "propose", "gun", gun,
			       "pending_id", json_object_get(change, "id"), "state", json_object_get(change, "state"),
			       "roles", roles, "versions", versions, "keyids", keyids);
	json_decref(change);
	return ev;
}

static void on_pending_done(struct wharf_http_request *req)
{
	struct pending_req *pr = wharf_http_state(req);
	struct wharf_error err;
	struct wharf_buf out;
	wharf_buf_init(&out);
	if (pr->base.too_big) {
		trust_error(req, 413, "MALFORMED_UPLOAD", "a pending change is at most %u bytes", WHARF_TUF_FILE_MAX);
		return;
	}
	const char *body = pr->base.body.data ? pr->base.body.data : "";
	int r = pr->id ? wharf_trust_pending_sign(pr->base.t, pr->base.gun, pr->id, body, pr->base.body.len, &out, &err)
		       : wharf_trust_pending_propose(pr->base.t, pr->base.gun, body, pr->base.body.len, &out, &err);
	if (r < 0) {
		wharf_buf_free(&out);
		error_from(req, &err, "INVALID_UPDATE");
		return;
	}
	if (trust_audit_enabled(pr->base.t))
		trust_audit(pr->base.t, req, "sign", pending_audit_fields(pr->base.gun, pr->id != 0, &out, body,
									   pr->base.body.len));
	size_t len = out.len;
	respond_json(req, wharf_buf_steal(&out), len, false);
}

static int on_pending_body(struct wharf_http_request *req, const char *data, size_t len)
{
	struct pending_req *pr = wharf_http_state(req);
	if (pr->base.body.len + len > WHARF_TUF_FILE_MAX) {
		pr->base.too_big = true;
		return -WHARF_ETOOBIG;
	}
	wharf_buf_append(&pr->base.body, data, len);
	return 0;
}

static void pending_handle(struct wharf_trust *t, struct wharf_http_request *req, const char *gun, const char *rest)
{
	const char *method = wharf_http_method(req);
	bool read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	uint64_t id = 0;
	size_t digits = strspn(rest, "0123456789");
	bool is_list = rest[0] == '\0';
	bool is_one = digits > 0 && digits < 19 && rest[digits] == '\0';
	bool is_sigs = digits > 0 && digits < 19 && !strcmp(rest + digits, "/signatures");
	if ((is_one || is_sigs) && (!wharf_parse_u64(rest, digits, &id) || id == 0)) {
		trust_error(req, 404, "NOT_FOUND", "no pending change %.40s", rest);
		return;
	}
	if (read && (is_list || is_one)) {
		struct wharf_buf out;
		wharf_buf_init(&out);
		struct wharf_error err;
		if (wharf_trust_pending_get(t, gun, (int64_t)id, &out, &err) < 0) {
			wharf_buf_free(&out);
			error_from(req, &err, "INVALID_GUN");
			return;
		}
		size_t len = out.len;
		respond_json(req, wharf_buf_steal(&out), len, false);
		return;
	}
	if (strcmp(method, "POST") != 0 || !(is_list || is_sigs)) {
		trust_error(req, 405, "UNSUPPORTED", "%s is not allowed on pending/%.60s (GET pending[/ID], POST pending, "
			    "POST pending/ID/signatures)", method, rest);
		return;
	}
	struct pending_req *pr = wharf_xcalloc(1, sizeof(*pr));
	pr->base.t = t;
	pr->id = (int64_t)id;
	snprintf(pr->base.gun, sizeof(pr->base.gun), "%s", gun);
	wharf_buf_init(&pr->base.body);
	wharf_http_set_state(req, pr, publish_req_free);
	wharf_http_expect_body(req, on_pending_body, on_pending_done, NULL);
}

static void on_spec_publish_done(struct wharf_http_request *req)
{
	struct publish_req *pr = wharf_http_state(req);
	struct wharf_multipart_part parts[64];
	struct wharf_tuf_upload files[64];
	size_t n = 0;
	struct wharf_error err;
	if (collect_parts(req, pr, parts, files, &n) < 0)
		return;
	if (wharf_trust_spec_publish(pr->t, pr->gun, files, n, &err) < 0) {
		error_from(req, &err, "INVALID_UPDATE");
		return;
	}
	wharf_http_respond(req, wharf_http_response_buffer(200, "", 0));
}

static void spec_handle(struct wharf_trust *t, struct wharf_http_request *req, const char *gun, const char *name)
{
	const char *method = wharf_http_method(req);
	struct wharf_error err;
	if (name[0] == '\0' && !strcmp(method, "POST")) {
		struct publish_req *pr = wharf_xcalloc(1, sizeof(*pr));
		pr->t = t;
		snprintf(pr->gun, sizeof(pr->gun), "%s", gun);
		wharf_buf_init(&pr->body);
		wharf_http_set_state(req, pr, publish_req_free);
		wharf_http_expect_body(req, on_publish_body, on_spec_publish_done, NULL);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		trust_error(req, 405, "UNSUPPORTED", "%s is not allowed on spec/%.100s (GET files, POST spec/ to upload)",
			    method, name);
		return;
	}
	if (wharf_str_has_prefix(name, "targets/")) {
		int fd;
		uint64_t size;
		if (wharf_trust_spec_target(t, gun, name + 8, &fd, &size, &err) < 0) {
			trust_error(req, 404, "METADATA_NOT_FOUND", "%s", err.message);
			return;
		}
		struct wharf_http_response *r = wharf_http_response_fd(200, fd, 0, size);
		wharf_http_response_header(r, "Content-Type", "application/octet-stream");
		wharf_http_respond(req, r);
		return;
	}
	char *data = NULL;
	size_t len = 0;
	if (wharf_trust_spec_get(t, gun, name, &data, &len, &err) < 0) {
		error_from(req, &err, "INVALID_GUN");
		return;
	}
	respond_json(req, data, len, strspn(name, "0123456789") > 0);
}

void wharf_trust_handle(struct wharf_trust *t, struct wharf_http_request *req, const char *gun, const char *rest)
{
	const char *method = wharf_http_method(req);
	bool read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	struct wharf_error err;
	if (gun && wharf_tuf_check_gun(gun, &err) < 0) {
		trust_error(req, 400, "INVALID_GUN", "%s", err.message);
		return;
	}
	if (!strcmp(rest, "changefeed") && read) {
		changefeed(t, req, gun);
		return;
	}
	if (gun && (!strcmp(rest, "pending") || wharf_str_has_prefix(rest, "pending/"))) {
		pending_handle(t, req, gun, rest[7] ? rest + 8 : "");
		return;
	}
	if (gun && wharf_str_has_prefix(rest, "spec/")) {
		spec_handle(t, req, gun, rest + 5);
		return;
	}
	if (!gun || !wharf_str_has_prefix(rest, "tuf/")) {
		trust_error(req, 404, "NOT_FOUND", "no trust endpoint %.100s", rest);
		return;
	}
	const char *name = rest + 4;
	if (name[0] == '\0') {
		if (!strcmp(method, "POST"))
			publish(t, req, gun);
		else if (!strcmp(method, "DELETE") && wharf_trust_delete(t, gun, &err) == 0) {
			trust_audit(t, req, "delete", json_pack("{s:s,s:s}", "object", "trust", "gun", gun));
			wharf_http_respond(req, wharf_http_response_buffer(200, "", 0));
		}
		else if (!strcmp(method, "DELETE"))
			error_from(req, &err, "INVALID_GUN");
		else
			trust_error(req, 405, "UNSUPPORTED", "%s is not allowed on the trust root (POST publishes, DELETE removes)", method);
		return;
	}
	if (wharf_str_has_suffix(name, ".key") && (read || !strcmp(method, "POST")))
		key_endpoint(t, req, gun, name);
	else if (read)
		get_metadata(t, req, gun, name);
	else
		trust_error(req, 405, "UNSUPPORTED", "%s is not allowed on %.100s", method, name);
}
