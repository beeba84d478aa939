/* The JSON admin API, /api/v1/admin/...: users, organizations, teams, grants, repository
 * visibility and robot accounts. Callers authenticate with Basic credentials or a token; users,
 * organizations and robots are the system administrators' business, teams and grants also their
 * organization's owners', a repository's visibility also its admins'. */
#include <string.h>

#include "wharf/http.h"
#include "internal.h"

#define BODY_MAX 65536
#define PREFIX "/api/v1/admin/"

struct admin_req {
	struct wharf_buf body;
	bool too_big;
	struct wharf_auth *auth;
	struct subject who;
};

static void admin_req_free(void *p)
{
	struct admin_req *r = p;
	wharf_buf_free(&r->body);
	free(r);
}

static void respond_err(struct wharf_http_request *req, const struct wharf_error *err)
{
	unsigned status = err->code == WHARF_ENOTFOUND ? 404 : err->code == WHARF_EEXIST ? 409
			  : err->code == WHARF_EINVAL ? 400 : 500;
	auth_respond_error(req, status, status == 404 ? "NOT_FOUND" : status == 409 ? "CONFLICT" : status == 400 ? "INVALID" : "UNKNOWN",
			   err->message);
}

/* Every change through the admin API goes to the audit log, refused or not. */
static void audit_change(struct admin_req *ar, struct wharf_http_request *req, int r, const char *error)
{
	if (!ar->auth->x)
		return;
	auth_audit(ar->auth, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "type", "admin", "user", ar->who.name, "method",
				       wharf_http_method(req), "path", wharf_http_path(req), "ok", r == 0, "error",
				       error ? error : ""));
}

static void respond_result(struct admin_req *ar, struct wharf_http_request *req, int r, const struct wharf_error *err)
{
	audit_change(ar, req, r, r < 0 ? err->message : NULL);
	if (r < 0)
		respond_err(req, err);
	else
		auth_respond_json(req, 200, json_pack("{s:b}", "ok", 1));
}

static bool forbid(struct wharf_http_request *req, const struct subject *who, const char *what)
{
	_cleanup_free_ char *msg = wharf_xasprintf("%s may not %s", who->name, what);
	wharf_http_log_field(req, "auth", msg);
	auth_respond_error(req, 403, "DENIED", msg);
	return false;
}

static bool need_sysadmin(struct wharf_http_request *req, const struct subject *who, const char *what)
{
	return who->sysadmin || forbid(req, who, what);
}

static const char *str_field(json_t *body, const char *key)
{
	return json_string_value(json_object_get(body, key));
}

static bool need_fields(struct wharf_http_request *req, json_t *body, const char *a, const char *b)
{
	if ((a && !str_field(body, a)) || (b && !str_field(body, b))) {
		_cleanup_free_ char *msg = wharf_xasprintf("request body needs string field%s '%s'%s%s%s", b ? "s" : "",
							   a ? a : b, b && a ? " and '" : "", b && a ? b : "", b && a ? "'" : "");
		auth_respond_error(req, 400, "INVALID", msg);
		return false;
	}
	return true;
}

/* /users, /users/NAME, /users/NAME/password, /users/NAME/disabled */
static void users(struct admin_req *ar, struct wharf_http_request *req, const char *m, char **seg, size_t n,
		  json_t *body)
{
	struct auth_model *md = ar->auth->model;
	struct wharf_error err;
	json_t *list = NULL;
	if (n == 1 && !strcmp(m, "GET")) {
		if (need_sysadmin(req, &ar->who, "list users") && model_user_list(md, &list, &err) == 0)
			auth_respond_json(req, 200, json_pack("{s:o}", "users", list));
	} else if (n == 1 && !strcmp(m, "POST")) {
		if (need_sysadmin(req, &ar->who, "add users") && need_fields(req, body, "name", "password"))
			respond_result(ar, req, model_user_add(md, str_field(body, "name"), str_field(body, "password"),
							   json_is_true(json_object_get(body, "admin")), &err), &err);
	} else if (n == 2 && !strcmp(m, "DELETE")) {
		if (need_sysadmin(req, &ar->who, "remove users"))
			respond_result(ar, req, model_user_rm(md, seg[1], &err), &err);
	} else if (n == 3 && !strcmp(seg[2], "password") && !strcmp(m, "PUT")) {
		bool self = ar->who.kind == SUBJECT_USER && !strcmp(ar->who.name, seg[1]);
		if ((self || need_sysadmin(req, &ar->who, "change other users' passwords")) &&
		    need_fields(req, body, "password", NULL))
			respond_result(ar, req, model_user_passwd(md, seg[1], str_field(body, "password"), &err), &err);
	} else if (n == 3 && !strcmp(seg[2], "disabled") && !strcmp(m, "PUT")) {
		if (need_sysadmin(req, &ar->who, "disable users"))
			respond_result(ar, req, model_user_disable(md, seg[1], !json_is_false(json_object_get(body, "disabled")), &err),
				       &err);
	} else {
		auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
	}
}

static enum perm perm_parse(const char *s)
{
	if (!s)
		return (enum perm)-1;
	if (!strcmp(s, "read"))
		return PERM_READ;
	if (!strcmp(s, "write") || !strcmp(s, "read-write"))
		return PERM_WRITE;
	if (!strcmp(s, "admin"))
		return PERM_ADMIN;
	if (!strcmp(s, "none"))
		return PERM_NONE;
	return (enum perm)-1;
}

/* /orgs/ORG/teams[/TEAM[/members/USER | /grants]] */
static void teams(struct admin_req *ar, struct wharf_http_request *req, const char *m, char **seg, size_t n,
		  json_t *body)
{
	struct auth_model *md = ar->auth->model;
	struct wharf_error err;
	const char *org = seg[1];
	if (!model_org_owner(md, &ar->who, org)) {
		forbid(req, &ar->who, "manage this organization's teams");
		return;
	}
	json_t *list = NULL;
	if (n == 3 && !strcmp(m, "GET")) {
		if (model_team_list(md, org, &list, &err) == 0)
			auth_respond_json(req, 200, json_pack("{s:o}", "teams", list));
	} else if (n == 3 && !strcmp(m, "POST")) {
		if (need_fields(req, body, "name", NULL))
			respond_result(ar, req, model_team_add(md, org, str_field(body, "name"), &err), &err);
	} else if (n == 4 && !strcmp(m, "DELETE")) {
		respond_result(ar, req, model_team_rm(md, org, seg[3], &err), &err);
	} else if (n == 6 && !strcmp(seg[4], "members") && (!strcmp(m, "PUT") || !strcmp(m, "DELETE"))) {
		respond_result(ar, req, model_team_member(md, org, seg[3], seg[5], !strcmp(m, "PUT"), &err), &err);
	} else if (n == 5 && !strcmp(seg[4], "grants") && !strcmp(m, "POST")) {
		enum perm p = perm_parse(str_field(body, "permission"));
		if (!need_fields(req, body, "repository", "permission"))
			return;
		if ((int)p < 0)
			auth_respond_error(req, 400, "INVALID", "permission must be read, write, admin or none");
		else
			respond_result(ar, req, model_team_grant(md, org, seg[3], str_field(body, "repository"), p, &err), &err);
	} else {
		auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
	}
}

static void orgs(struct admin_req *ar, struct wharf_http_request *req, const char *m, char **seg, size_t n,
		 json_t *body)
{
	struct auth_model *md = ar->auth->model;
	struct wharf_error err;
	json_t *list = NULL;
	if (n >= 3 && !strcmp(seg[2], "teams")) {
		teams(ar, req, m, seg, n, body);
	} else if (n == 1 && !strcmp(m, "GET")) {
		if (need_sysadmin(req, &ar->who, "list organizations") && model_org_list(md, &list, &err) == 0)
			auth_respond_json(req, 200, json_pack("{s:o}", "organizations", list));
	} else if (n == 1 && !strcmp(m, "POST")) {
		if (need_sysadmin(req, &ar->who, "add organizations") && need_fields(req, body, "name", NULL))
			respond_result(ar, req, model_org_add(md, str_field(body, "name"), str_field(body, "owner"), &err), &err);
	} else if (n == 2 && !strcmp(m, "DELETE")) {
		if (need_sysadmin(req, &ar->who, "remove organizations"))
			respond_result(ar, req, model_org_rm(md, seg[1], &err), &err);
	} else {
		auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
	}
}

/* POST /repos/visibility {"repository": R, "public": bool} */
static void repos(struct admin_req *ar, struct wharf_http_request *req, const char *m, size_t n, json_t *body)
{
	struct wharf_error err;
	if (n != 2 || strcmp(m, "POST") != 0) {
		auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
		return;
	}
	if (!need_fields(req, body, "repository", NULL))
		return;
	const char *repo = str_field(body, "repository");
	if (!(model_repo_actions(ar->auth->model, &ar->who, repo) & WHARF_ACT_ADMIN)) {
		forbid(req, &ar->who, "change this repository's visibility");
		return;
	}
	respond_result(ar, req, model_repo_set_public(ar->auth->model, repo, json_is_true(json_object_get(body, "public")), &err),
		       &err);
}

static void robots(struct admin_req *ar, struct wharf_http_request *req, const char *m, char **seg, size_t n,
		   json_t *body)
{
	struct auth_model *md = ar->auth->model;
	struct wharf_error err;
	json_t *list = NULL;
	if (!need_sysadmin(req, &ar->who, "manage robot accounts"))
		return;
	if (n == 1 && !strcmp(m, "GET")) {
		if (model_robot_list(md, &list, &err) == 0)
			auth_respond_json(req, 200, json_pack("{s:o}", "robots", list));
	} else if (n == 1 && !strcmp(m, "POST")) {
		json_t *rs = json_object_get(body, "repositories"), *acts = json_object_get(body, "actions");
		if (!need_fields(req, body, "name", NULL))
			return;
		struct wharf_buf pats, names;
		wharf_buf_init(&pats);
		wharf_buf_init(&names);
		size_t i;
		json_t *v;
		json_array_foreach(rs, i, v) if (json_is_string(v)) wharf_buf_printf(&pats, "%s%s", i ? " " : "", json_string_value(v));
		json_array_foreach(acts, i, v) if (json_is_string(v)) wharf_buf_printf(&names, "%s%s", i ? "," : "", json_string_value(v));
		unsigned bits = wharf_actions_parse(names.data ? names.data : "", names.len) & WHARF_ACT_REPO_ALL;
		json_int_t expires = json_integer_value(json_object_get(body, "expires"));
		char *secret = NULL;
		if (!pats.len || !bits)
			auth_respond_error(req, 400, "INVALID", "a robot needs repositories and actions");
		else if (model_robot_add(md, str_field(body, "name"), pats.data, bits, expires, &secret, &err) < 0) {
			audit_change(ar, req, -1, err.message);
			respond_err(req, &err);
		} else {
			audit_change(ar, req, 0, NULL);
			auth_respond_json(req, 201, json_pack("{s:s,s:s}", "name", str_field(body, "name"), "secret", secret));
		}
		free(secret);
		wharf_buf_free(&pats);
		wharf_buf_free(&names);
	} else if (n == 2 && !strcmp(m, "DELETE")) {
		respond_result(ar, req, model_robot_rm(md, seg[1], &err), &err);
	} else {
		auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
	}
}

static void route(struct admin_req *ar, struct wharf_http_request *req, json_t *body)
{
	_cleanup_free_ char *path = wharf_xstrdup(wharf_http_path(req) + strlen(PREFIX));
	char *seg[8];
	size_t n = 0;
	char *save = NULL;
	for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (n == 8) {
			auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
			return;
		}
		seg[n++] = s;
	}
	const char *m = wharf_http_method(req);
	if (n == 0)
		auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
	else if (!strcmp(seg[0], "users"))
		users(ar, req, m, seg, n, body);
	else if (!strcmp(seg[0], "orgs"))
		orgs(ar, req, m, seg, n, body);
	else if (!strcmp(seg[0], "repos"))
		repos(ar, req, m, n, body);
	else if (!strcmp(seg[0], "robots"))
		robots(ar, req, m, seg, n, body);
	else if (!strcmp(seg[0], "whoami") && n == 1)
		auth_respond_json(req, 200, json_pack("{s:s,s:b}", "name", ar->who.name, "admin", ar->who.sysadmin));
	else
		auth_respond_error(req, 404, "NOT_FOUND", "no such admin endpoint");
}

static int admin_body(struct wharf_http_request *req, const char *data, size_t len)
{
	struct admin_req *ar = wharf_http_state(req);
	if (ar->too_big || ar->body.len + len > BODY_MAX) {
		ar->too_big = true;
		return -1;
	}
	wharf_buf_append(&ar->body, data, len);
	return 0;
}

static void admin_done(struct wharf_http_request *req)
{
	struct admin_req *ar = wharf_http_state(req);
	if (ar->too_big) {
		auth_respond_error(req, 413, "SIZE_INVALID", "admin request body over 64 KiB");
		return;
	}
	json_t *body = NULL;
	if (ar->body.len) {
		json_error_t jerr;
		body = json_loadb(ar->body.data, ar->body.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(body)) {
			json_decref(body);
			_cleanup_free_ char *msg = wharf_xasprintf("admin request body is not a JSON object: %s", jerr.text);
			auth_respond_error(req, 400, "INVALID", msg);
			return;
		}
	} else {
		body = json_object();
	}
	route(ar, req, body);
	json_decref(body);
}

void auth_serve_admin(struct wharf_auth *a, struct wharf_http_request *req)
{
	struct subject who;
	struct wharf_error err;
	const char *authz = wharf_http_header(req, "Authorization");
	if (auth_identify(a, authz, &who, NULL, &err) < 0 || who.kind == SUBJECT_ANONYMOUS) {
		static const char body[] =
			"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":{}}]}\n";
		struct wharf_http_response *r = wharf_http_response_buffer(401, body, strlen(body));
		wharf_http_response_header(r, "Content-Type", "application/json");
		wharf_http_response_headerf(r, "WWW-Authenticate", "Basic realm=\"%s\"", a->cfg.service);
		wharf_http_respond(req, r);
		return;
	}
	wharf_http_log_field(req, "subject", who.name);
	struct admin_req *ar = wharf_xcalloc(1, sizeof(*ar));
	wharf_buf_init(&ar->body);
	ar->auth = a;
	ar->who = who;
	wharf_http_set_state(req, ar, admin_req_free);
	wharf_http_expect_body(req, admin_body, admin_done, NULL);
}
