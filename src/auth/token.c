/* The token endpoint: Docker's registry token protocol (GET /token with Basic auth or none) and
 * its OAuth2 variant (POST /token, form-encoded, grant_type password or refresh_token). A token
 * grants the intersection of the scopes asked for and what the caller may do. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wharf/http.h"
#include "wharf/keys.h"
#include "internal.h"

#define FORM_MAX 16384
#define SCOPES_MAX 16
#define REFRESH_TTL (30 * 86400)

void auth_respond_json(struct wharf_http_request *req, unsigned status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	size_t len = strlen(s);
	struct wharf_http_response *r = wharf_http_response_owned(status, s, len);
	wharf_http_response_header(r, "Content-Type", "application/json");
	wharf_http_response_header(r, "Cache-Control", "no-store");
	wharf_http_respond(req, r);
}

void auth_respond_error(struct wharf_http_request *req, unsigned status, const char *code, const char *msg)
{
	wharf_http_error(req, status, code, "%s", msg);
}

static json_t *access_entry(const char *type, const char *name, unsigned bits, bool star)
{
	json_t *acts = json_array();
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{WHARF_ACT_PULL, "pull"}, {WHARF_ACT_PUSH, "push"}, {WHARF_ACT_DELETE, "delete"},
		     {WHARF_ACT_ADMIN, "admin"}};
	if (!strcmp(type, "registry"))
		json_array_append_new(acts, json_string("*"));
	else
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (bits & names[i].bit)
				json_array_append_new(acts, json_string(names[i].name));
	if (star && (bits & WHARF_ACT_REPO_ALL) == WHARF_ACT_REPO_ALL && strcmp(type, "registry"))
		json_array_append_new(acts, json_string("*"));
	return json_pack("{s:s,s:s,s:o}", "type", type, "name", name, "actions", acts);
}

/* The access entries granted for the space-separated scopes. Unparseable scopes are skipped,
 * as Docker's token servers do, so one odd scope does not fail a login. */
static json_t *grant_scopes(struct wharf_auth *a, const struct subject *who, const char *scopes)
{
	json_t *access = json_array();
	if (!scopes)
		return access;
	_cleanup_free_ char *copy = wharf_xstrdup(scopes);
	char *save = NULL;
	size_t n = 0;
	for (char *s = strtok_r(copy, " ", &save); s && n < SCOPES_MAX; s = strtok_r(NULL, " ", &save), n++) {
		struct wharf_scope sc;
		struct wharf_error err;
		if (wharf_scope_parse(s, &sc, &err) < 0)
			continue;
		unsigned bits;
		if (!strcmp(sc.type, "registry"))
			bits = who->kind != SUBJECT_ANONYMOUS ? sc.actions : 0;
		else
			bits = sc.actions & model_repo_actions(a->model, who, sc.name);
		if (bits)
			json_array_append_new(access, access_entry(sc.type, sc.name, bits, sc.star));
	}
	return access;
}

int auth_issue_token(struct wharf_auth *a, const struct subject *s, json_t *access, char **out,
		     struct wharf_error *err)
{
	int64_t now = wharf_now();
	char jti[33];
	int r = wharf_random_hex(jti, 16, err);
	if (r < 0) {
		json_decref(access);
		return r;
	}
	json_t *claims = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:o}", "iss", a->cfg.issuer, "sub",
				   s->kind == SUBJECT_ANONYMOUS ? "" : s->name, "aud", a->cfg.service, "exp",
				   (json_int_t)(now + a->cfg.token_ttl), "nbf", (json_int_t)(now - 1), "iat",
				   (json_int_t)now, "jti", jti, "access", access);
	if (s->kind == SUBJECT_ROBOT)
		json_object_set_new(claims, "wharf_kind", json_string("robot"));
	if (s->sysadmin)
		json_object_set_new(claims, "wharf_admin", json_true());
	r = wharf_jwt_sign(a->key, claims, out, err);
	json_decref(claims);
	return r;
}

static void rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void unauthorized(struct wharf_auth *a, struct wharf_http_request *req, const char *why)
{
	char body[] = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"invalid credentials\",\"detail\":{}}]}\n";
	struct wharf_http_response *r = wharf_http_response_buffer(401, body, strlen(body));
	wharf_http_response_header(r, "Content-Type", "application/json");
	wharf_http_response_headerf(r, "WWW-Authenticate", "Basic realm=\"%s\"", a->cfg.service);
	wharf_http_log_field(req, "auth_error", why);
	wharf_http_respond(req, r);
}

/* Answer a token for who with scopes; refresh: also a refresh token (offline access). */
static void respond_token(struct wharf_auth *a, struct wharf_http_request *req, const struct subject *who,
			  const char *scopes, bool refresh, bool oauth)
{
	struct wharf_error err;
	_cleanup_free_ char *token = NULL;
	_cleanup_free_ char *refresh_token = NULL;
	json_t *access = grant_scopes(a, who, scopes);
	json_t *granted = json_incref(access); /* for the audit log; the token takes access */
	if (auth_issue_token(a, who, access, &token, &err) < 0 ||
	    (refresh && who->kind == SUBJECT_USER && model_refresh_issue(a->model, who->name, REFRESH_TTL, &refresh_token, &err) < 0)) {
		json_decref(granted);
		auth_respond_error(req, 500, "UNKNOWN", err.message);
		return;
	}
	char issued[32];
	rfc3339(wharf_now(), issued);
	json_t *body = json_pack("{s:s,s:I,s:s}", "access_token", token, "expires_in", (json_int_t)a->cfg.token_ttl,
				 "issued_at", issued);
	if (!oauth)
		json_object_set_new(body, "token", json_string(token));
	else
		json_object_set_new(body, "scope", json_string(scopes ? scopes : ""));
	if (refresh_token)
		json_object_set_new(body, "refresh_token", json_string(refresh_token));
	wharf_http_log_field(req, "subject", who->kind == SUBJECT_ANONYMOUS ? "anonymous" : who->name);
	if (a->x)
		auth_audit(a, json_pack("{s:s,s:s,s:s,s:O}", "type", "token", "user", who->kind == SUBJECT_ANONYMOUS ? "" : who->name,
					"scope", scopes ? scopes : "", "granted", granted));
	json_decref(granted);
	auth_respond_json(req, 200, body);
}

static bool service_ok(struct wharf_auth *a, struct wharf_http_request *req, const char *service)
{
	if (!service || !strcmp(service, a->cfg.service))
		return true;
	auth_respond_error(req, 400, "UNSUPPORTED", "service is not this registry's");
	return false;
}

static void token_get(struct wharf_auth *a, struct wharf_http_request *req)
{
	if (!service_ok(a, req, wharf_http_query(req, "service")))
		return;
	const char *authz = wharf_http_header(req, "Authorization");
	struct subject who = {.kind = SUBJECT_ANONYMOUS};
	struct wharf_error err;
	if (authz) {
		if (strncasecmp(authz, "Basic ", 6) != 0) {
			unauthorized(a, req, "token requests take Basic credentials");
			return;
		}
		if (auth_identify(a, authz, &who, NULL, &err) < 0) {
			unauthorized(a, req, err.message);
			return;
		}
	}
	_cleanup_free_ char *scopes = wharf_http_query_joined(req, "scope");
	const char *offline = wharf_http_query(req, "offline_token");
	respond_token(a, req, &who, scopes, offline && !strcmp(offline, "true"), false);
}

char *wharf_form_value(const char *body, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = body; p && *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > klen && p[klen] == '=' && !strncmp(p, key, klen)) {
			char *v = wharf_xmalloc(len - klen);
			size_t o = 0;
			for (size_t i = klen + 1; i < len; i++) {
				char c = p[i];
				if (c == '+')
					c = ' ';
				else if (c == '%' && i + 2 < len) {
					int hi = wharf_hex_value((unsigned char)p[i + 1]);
					int lo = wharf_hex_value((unsigned char)p[i + 2]);
					if (hi >= 0 && lo >= 0) {
						c = (char)(hi << 4 | lo);
						i += 2;
					}
				}
				v[o++] = c;
			}
			v[o] = 0;
			return v;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static int collect_body(struct wharf_http_request *req, const char *data, size_t len)
{
	struct wharf_buf *b = wharf_http_state(req);
	if (b->len == SIZE_MAX || b->len + len > FORM_MAX) {
		b->len = SIZE_MAX;
		return -1;
	}
	wharf_buf_append(b, data, len);
	return 0;
}

static void free_buf(void *p)
{
	wharf_buf_free(p);
	free(p);
}

static void token_post_grant(struct wharf_auth *a, struct wharf_http_request *req, const char *body)
{
	_cleanup_free_ char *grant = wharf_form_value(body, "grant_type");
	_cleanup_free_ char *service = wharf_form_value(body, "service");
	_cleanup_free_ char *scope = wharf_form_value(body, "scope");
	_cleanup_free_ char *access_type = wharf_form_value(body, "access_type");
	struct subject who;
	struct wharf_error err;
	if (!service_ok(a, req, service))
		return;
	if (grant && !strcmp(grant, "password")) {
		_cleanup_free_ char *user = wharf_form_value(body, "username");
		_cleanup_free_ char *pw = wharf_form_value(body, "password");
		if (!user || !pw || auth_login(a, user, pw, &who, &err) < 0) {
			unauthorized(a, req, "password grant: invalid credentials");
			return;
		}
		respond_token(a, req, &who, scope, access_type && !strcmp(access_type, "offline"), true);
	} else if (grant && !strcmp(grant, "refresh_token")) {
		_cleanup_free_ char *rt = wharf_form_value(body, "refresh_token");
		if (!rt || model_refresh_use(a->model, rt, &who, &err) < 0) {
			unauthorized(a, req, "refresh grant: unknown or expired refresh token");
			return;
		}
		respond_token(a, req, &who, scope, true, true);
	} else {
		auth_respond_error(req, 400, "UNSUPPORTED", "grant_type must be password or refresh_token");
	}
}

static void token_post_done(struct wharf_http_request *req)
{
	struct wharf_buf *b = wharf_http_state(req);
	struct wharf_auth *a = *(struct wharf_auth **)(b + 1);
	if (b->len == SIZE_MAX) {
		auth_respond_error(req, 413, "SIZE_INVALID", "token request form over 16 KiB");
		return;
	}
	token_post_grant(a, req, b->data ? b->data : "");
}

static void token_post(struct wharf_auth *a, struct wharf_http_request *req)
{
	/* the buffer, then the auth handle, in one allocation */
	struct wharf_buf *b = wharf_xcalloc(1, sizeof(*b) + sizeof(a));
	wharf_buf_init(b);
	*(struct wharf_auth **)(b + 1) = a;
	wharf_http_set_state(req, b, free_buf);
	wharf_http_expect_body(req, collect_body, token_post_done, NULL);
}

void auth_serve_token(struct wharf_auth *a, struct wharf_http_request *req)
{
	const char *m = wharf_http_method(req);
	if (!strcmp(m, "GET"))
		token_get(a, req);
	else if (!strcmp(m, "POST"))
		token_post(a, req);
	else
		auth_respond_error(req, 405, "UNSUPPORTED", "the token endpoint takes GET and POST");
}
