/* Authorization plugins: Docker's authorization plugin protocol over HTTP on unix sockets,
 * chained with the policy file. Every plugin must allow; a plugin that cannot be reached, answers
 * with Err, or answers anything malformed denies (fail closed). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "wharf/authx.h"
#include "wharf/json.h"

#define PLUGIN_TIMEOUT_MS 5000
#define PLUGIN_CONTENT_TYPE "Content-Type: application/vnd.docker.plugins.v1.2+json"

struct wharf_authz_chain {
	struct wharf_strv sockets;
	struct wharf_policy *policy; /* NULL: none */
	long timeout_ms;
};

/* POST body to http://plugin<path> over the unix socket; the answer lands in out. */
static int plugin_post(const char *socket, long timeout_ms, const char *path, const char *body, struct wharf_buf *out,
		       struct wharf_error *err)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "curl_easy_init failed");
	_cleanup_free_ char *url = wharf_xasprintf("http://plugin%s", path);
	struct wharf_buf answer;
	wharf_buf_init(&answer);
	struct wharf_buf_sink resp = {.out = &answer, .limit = WHARF_AUTHZ_MAX_RESPONSE};
	struct curl_slist *headers = curl_slist_append(NULL, PLUGIN_CONTENT_TYPE);
	headers = curl_slist_append(headers, "Accept: application/vnd.docker.plugins.v1.2+json");
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_sink_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	int r = 0;
	if (resp.too_big)
		r = wharf_error_set(err, WHARF_ETOOBIG, "answer over %d bytes", WHARF_AUTHZ_MAX_RESPONSE);
	else if (cc != CURLE_OK)
		r = wharf_error_set(err, WHARF_EIO, "unreachable: %s", curl_easy_strerror(cc));
	else if (status != 200)
		r = wharf_error_set(err, WHARF_EIO, "%s answered HTTP %ld", path, status);
	if (r == 0)
		*out = answer;
	else
		wharf_buf_free(&answer);
	return r;
}

static int plugin_activate(const char *socket, long timeout_ms, struct wharf_error *err)
{
	struct wharf_buf body;
	if (plugin_post(socket, timeout_ms, "/Plugin.Activate", "", &body, err) < 0)
		return wharf_error_prefix(err, "authorization plugin %s: activate", socket);
	json_t *doc = NULL;
	int r = wharf_json_parse(&doc, body.data, body.len, WHARF_AUTHZ_MAX_RESPONSE, err);
	wharf_buf_free(&body);
	if (r < 0)
		return wharf_error_prefix(err, "authorization plugin %s: activate", socket);
	bool authz = false;
	json_t *impl = json_object_get(doc, "Implements"), *e;
	size_t i;
	json_array_foreach(impl, i, e) {
		if (json_string_value(e) && !strcmp(json_string_value(e), "authz"))
			authz = true;
	}
	json_decref(doc);
	if (!authz)
		return wharf_error_set(err, WHARF_EINVAL,
				       "authorization plugin %s: activate: Implements does not list \"authz\"", socket);
	return 0;
}

int wharf_authz_parse_response(const char *data, size_t len, bool *allow, char *msg, size_t msg_len,
			       struct wharf_error *err)
{
	*allow = false;
	if (msg_len)
		msg[0] = 0;
	json_t *doc = NULL;
	if (wharf_json_parse(&doc, data, len, WHARF_AUTHZ_MAX_RESPONSE, err) < 0)
		return wharf_error_prefix(err, "authorization answer");
	int r = 0;
	json_t *a = json_object_get(doc, "Allow"), *m = json_object_get(doc, "Msg"), *e = json_object_get(doc, "Err");
	if (!json_is_object(doc)) {
		r = wharf_error_set(err, WHARF_EINVAL, "authorization answer: not a JSON object");
	} else if ((a && !json_is_boolean(a)) || (m && !json_is_string(m) && !json_is_null(m)) ||
		   (e && !json_is_string(e) && !json_is_null(e))) {
		r = wharf_error_set(err, WHARF_EINVAL, "authorization answer: Allow must be a boolean, Msg and Err strings");
	} else if (json_string_value(e) && *json_string_value(e)) {
		r = wharf_error_set(err, WHARF_EINVAL, "plugin error: %.400s", json_string_value(e));
	} else {
		*allow = json_is_true(a);
		if (msg_len && json_string_value(m))
			snprintf(msg, msg_len, "%s", json_string_value(m));
	}
	json_decref(doc);
	return r;
}

int wharf_authz_chain_new(struct wharf_authz_chain **out, const char *const *plugin_sockets, size_t n,
			  const char *policy_file, struct wharf_error *err)
{
	*out = NULL;
	struct wharf_authz_chain *c = wharf_xcalloc(1, sizeof(*c));
	c->timeout_ms = PLUGIN_TIMEOUT_MS;
	for (size_t i = 0; i < n; i++) {
		if (plugin_activate(plugin_sockets[i], c->timeout_ms, err) < 0) {
			wharf_authz_chain_free(c);
			return -err->code;
		}
		wharf_strv_push(&c->sockets, plugin_sockets[i]);
	}
	if (policy_file && wharf_policy_load(&c->policy, policy_file, err) < 0) {
		wharf_authz_chain_free(c);
		return -err->code;
	}
	*out = c;
	return 0;
}

void wharf_authz_chain_free(struct wharf_authz_chain *c)
{
	if (!c)
		return;
	wharf_strv_free(&c->sockets);
	wharf_policy_free(c->policy);
	free(c);
}

unsigned wharf_authz_chain_image_needs(const struct wharf_authz_chain *c)
{
	if (!c)
		return 0;
	return c->sockets.n ? WHARF_IMAGE_NEEDS_ALL : wharf_policy_image_needs(c->policy);
}

static void set_header(json_t *h, const char *name, const char *value)
{
	if (value)
		json_object_set_new(h, name, json_string(value));
}

/* The Docker authorization.Request body. The registry's own attributes travel as X-Wharf-*
 * entries of RequestHeaders, where a Docker plugin already looks for request details. */
static char *request_body(const struct wharf_authz_request *req, int status)
{
	json_t *headers = json_object();
	set_header(headers, "X-Wharf-Repository", req->repository);
	set_header(headers, "X-Wharf-Action", req->action);
	set_header(headers, "X-Wharf-Tag", req->tag);
	set_header(headers, "X-Wharf-Remote", req->remote);
	set_header(headers, "X-Wharf-Scan-Max-Severity", req->scan_max_severity);
	/* Two-pass manifest reads: "pending" on the first pass (no scan or signature headers yet),
	 * the resolved digest on the second (an absent scan header then means "not scanned"). */
	if (req->image == WHARF_IMAGE_PENDING)
		set_header(headers, "X-Wharf-Image", "pending");
	if (req->digest) {
		set_header(headers, "X-Wharf-Image", "resolved");
		set_header(headers, "X-Wharf-Digest", req->digest);
	}
	if (req->signed_status >= 0)
		set_header(headers, "X-Wharf-Signed", req->signed_status ? "true" : "false");
	if (req->nteams) {
		struct wharf_buf t;
		wharf_buf_init(&t);
		for (size_t i = 0; i < req->nteams; i++)
			wharf_buf_printf(&t, "%s%s", i ? "," : "", req->teams[i]);
		set_header(headers, "X-Wharf-Teams", t.data);
		wharf_buf_free(&t);
	}
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:o}", "User", req->user ? req->user : "", "UserAuthNMethod",
				 req->authn_method ? req->authn_method : "", "RequestMethod",
				 req->method ? req->method : "", "RequestURI", req->uri ? req->uri : "",
				 "RequestHeaders", headers);
	if (status) {
		json_object_set_new(body, "ResponseStatusCode", json_integer(status));
		json_object_set_new(body, "ResponseHeaders", json_object());
	}
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return s;
}

/* Ask one plugin; every failure is a deny with the reason in `reason`. */
static bool ask_plugin(const struct wharf_authz_chain *c, const char *socket, const char *path, const char *body,
		       char *reason, size_t reason_len)
{
	struct wharf_error err = {0};
	struct wharf_buf resp;
	bool allow = false;
	char msg[256];
	if (plugin_post(socket, c->timeout_ms, path, body, &resp, &err) == 0) {
		int r = wharf_authz_parse_response(resp.data, resp.len, &allow, msg, sizeof(msg), &err);
		wharf_buf_free(&resp);
		if (r == 0 && !allow)
			snprintf(reason, reason_len, "authorization plugin %s denied: %s", socket,
				 *msg ? msg : "(no message)");
	}
	if (err.code)
		snprintf(reason, reason_len, "authorization plugin %s failed (denied, fail closed): %s", socket,
			 err.message);
	return allow && !err.code;
}

static int chain_run(struct wharf_authz_chain *c, const struct wharf_authz_request *req, int status,
		     bool *allowed, char *reason, size_t reason_len)
{
	*allowed = false;
	if (reason_len)
		reason[0] = 0;
	if (c->sockets.n) {
		_cleanup_free_ char *body = request_body(req, status);
		const char *path = status ? "/AuthZPlugin.AuthZRes" : "/AuthZPlugin.AuthZReq";
		for (size_t i = 0; i < c->sockets.n; i++)
			if (!ask_plugin(c, c->sockets.v[i], path, body, reason, reason_len))
				return 0;
	}
	if (c->policy && !status) {
		wharf_policy_evaluate(c->policy, req, allowed, reason, reason_len);
		return 0;
	}
	*allowed = true;
	return 0;
}

int wharf_authz_chain_check(struct wharf_authz_chain *c, const struct wharf_authz_request *req, bool *allowed,
			    char *reason, size_t reason_len, struct wharf_error *err)
{
	(void)err;
	return chain_run(c, req, 0, allowed, reason, reason_len);
}

int wharf_authz_chain_check_response(struct wharf_authz_chain *c, const struct wharf_authz_request *req,
				     int status, bool *allowed, char *reason, size_t reason_len,
				     struct wharf_error *err)
{
	(void)err;
	return chain_run(c, req, status ? status : 200, allowed, reason, reason_len);
}
