/* The trust client's HTTP: metadata GETs with libcurl, never reading past a size limit. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "wharf/client.h"
#include "wharf/json.h"
#include "wharf/trust.h"

struct sink {
	struct wharf_buf *out;
	size_t start; /* out->len before this transfer */
	size_t limit;
	bool too_big;
	long status; /* filled from the first body bytes on */
	CURL *curl;
};

static size_t sink_write(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	if (s->status == 0)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
	/* Error bodies are kept short; metadata is cut off at its limit. */
	size_t limit = s->status == 200 ? s->limit : 4096;
	if (s->out->len - s->start + len > limit) {
		s->too_big = s->status == 200;
		if (s->status != 200) /* keep what fits of an error message */
			wharf_buf_append(s->out, data, limit - (s->out->len - s->start));
		return 0; /* abort the transfer */
	}
	wharf_buf_append(s->out, data, len);
	return len;
}

/* Before a retry with credentials: forget the refused answer. */
static void sink_reset(void *ctx)
{
	struct sink *s = ctx;
	s->out->len = s->start;
	if (s->out->data)
		s->out->data[s->start] = '\0';
	s->too_big = false;
	s->status = 0;
}

/* The scope a request on gun needs, so a cached token goes with the first try. A GUN that starts
 * with the server's own host[:port] ("127.0.0.1:5000/acme/app", as docker content trust names
 * repositories) is the repository after it: wharfd authorizes trust requests that way. */
static char *scope_of(const char *server, const char *gun, bool write)
{
	const char *authority = strstr(server, "://");
	authority = authority ? authority + 3 : server;
	size_t alen = strcspn(authority, "/");
	const char *repo = gun;
	if (alen > 0 && !strncasecmp(gun, authority, alen) && gun[alen] == '/' && gun[alen + 1])
		repo = gun + alen + 1;
	return wharf_xasprintf("repository:%s:%s", repo, write ? "pull,push" : "pull");
}

static void set_options(CURL *curl, const char *url, struct sink *s)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	/* A server that announces more than the limit is refused before a byte is read. */
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->limit);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	/* Endless slow data: give up below 1 KiB/s over 30 s, and after 5 minutes in any case. */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wharf-trust");
}

static int status_error(long status, const char *url, const struct wharf_buf *out, size_t start,
			struct wharf_error *err)
{
	const char *body = out->data ? out->data + start : "";
	int body_len = (int)(out->len - start);
	if (body_len > 300)
		body_len = 300;
	if (status == 404)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s: not found on the server", url);
	return wharf_error_set(err, WHARF_EIO, "%s: the server answered %ld %.*s", url, status, body_len, body);
}

static void error_detail(const struct wharf_buf *body, char *out, size_t n);

/* 401/403: name the repository and what was refused, and say what helps. */
static int denied(long status, const char *gun, const char *what, const char *url, const struct wharf_buf *out,
		  size_t start, struct wharf_error *err)
{
	char detail[600];
	struct wharf_buf body = {.data = out->data ? out->data + start : NULL, .len = out->len - start};
	error_detail(&body, detail, sizeof(detail));
	if (status == 401)
		return wharf_error_set(err, WHARF_EINVAL, "repository %s: %s needs credentials (401, %s): log in with "
				       "'wharf login' or set WHARF_USER and WHARF_PASSWORD; %s", gun, what, url, detail);
	return wharf_error_set(err, WHARF_EINVAL, "repository %s: %s is denied (403, %s): the user lacks the right; %s",
			       gun, what, url, detail);
}

int wharf_trust_http_get(const char *server, const char *gun, const char *name, size_t limit,
			 struct wharf_buf *out, struct wharf_error *err)
{
	size_t slen = strlen(server);
	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	/* Delegated role names come from metadata: escape what a URL path would read otherwise. */
	struct wharf_buf path;
	wharf_buf_init(&path);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			wharf_buf_append(&path, p, 1);
		else
			wharf_buf_printf(&path, "%%%02X", *p);
	}
	_cleanup_free_ char *url = wharf_xasprintf("%.*s/v2/%s/_trust/tuf/%s", (int)slen, server, gun, path.data ? path.data : "");
	wharf_buf_free(&path);
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	struct sink s = {.out = out, .start = out->len, .limit = limit, .curl = curl};
	set_options(curl, url, &s);
	CURLcode cc;
	long status = 0;
	/* the server-held keys (<role>.key) are a push, as in notary-server */
	_cleanup_free_ char *scope = scope_of(server, gun, wharf_str_has_suffix(name, ".key"));
	int r = wharf_auth_perform(curl, url, NULL, scope, sink_reset, &s, &cc, &status, err);
	curl_easy_cleanup(curl);
	if (r < 0) {
		/* the token service refused: err says why */
	} else if (s.too_big || (cc == CURLE_FILESIZE_EXCEEDED && status == 200)) {
		r = wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %zu bytes, the limit for this file", url, limit);
	} else if (status == 401 || status == 403) {
		r = denied(status, gun, "reading the trust data", url, out, s.start, err);
	} else if (status != 0 && status != 200) {
		r = status_error(status, url, out, s.start, err);
	} else if (cc != CURLE_OK) {
		r = wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
	}
	if (r < 0) { /* leave out as it was */
		out->len = s.start;
		if (out->data)
			out->data[out->len] = '\0';
	}
	return r;
}

/* The server's own words from Notary's error JSON, else the start of the body. */
static void error_detail(const struct wharf_buf *body, char *out, size_t n)
{
	json_t *doc = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(doc, "errors"), 0), "message"));
	snprintf(out, n, "%.*s", (int)(msg ? strlen(msg) : body->len), msg ? msg : body->len ? body->data : "");
	if (doc)
		json_decref(doc);
}

int wharf_trust_http_publish(const char *server, const char *gun, const struct wharf_tuf_upload *files, size_t n,
			     struct wharf_error *err)
{
	size_t slen = strlen(server);
	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	_cleanup_free_ char *url = wharf_xasprintf("%.*s/v2/%s/_trust/tuf/", (int)slen, server, gun);
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	/* Notary's shape: one part per role, all named "files", the role as the file name. */
	curl_mime *mime = curl_mime_init(curl);
	for (size_t i = 0; i < n; i++) {
		curl_mimepart *part = curl_mime_addpart(mime);
		curl_mime_name(part, "files");
		curl_mime_filename(part, files[i].role);
		curl_mime_type(part, "application/octet-stream");
		curl_mime_data(part, files[i].data, files[i].len);
	}
	struct wharf_buf body;
	wharf_buf_init(&body);
	struct sink s = {.out = &body, .limit = 64 * 1024, .curl = curl};
	set_options(curl, url, &s);
	curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
	CURLcode cc;
	long status = 0;
	_cleanup_free_ char *scope = scope_of(server, gun, true);
	int r = wharf_auth_perform(curl, url, NULL, scope, sink_reset, &s, &cc, &status, err);
	curl_easy_cleanup(curl);
	curl_mime_free(mime);
	if (r < 0) {
		/* the token service refused: err says why */
	} else if (status == 401 || status == 403) {
		r = denied(status, gun, "publishing trust data (signing)", url, &body, 0, err);
	} else if (status != 0 && status != 200) {
		char detail[600];
		error_detail(&body, detail, sizeof(detail));
		r = wharf_error_set(err, status == 404 ? WHARF_ENOTFOUND : WHARF_EINVAL, "publish to %s refused (%ld): %s",
				    url, status, detail);
	} else if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && status == 200)) {
		r = wharf_error_set(err, WHARF_EIO, "publish to %s: %s", url, curl_easy_strerror(cc));
	}
	wharf_buf_free(&body);
	return r;
}

int wharf_trust_http_json(const char *server, const char *gun, const char *path, const char *body, json_t **out,
			  struct wharf_error *err)
{
	*out = NULL;
	size_t slen = strlen(server);
	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	_cleanup_free_ char *url = wharf_xasprintf("%.*s/v2/%s/_trust/%s", (int)slen, server, gun, path);
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	struct wharf_buf answer;
	wharf_buf_init(&answer);
	struct sink s = {.out = &answer, .limit = 64u * 1024 * 1024, .curl = curl};
	set_options(curl, url, &s);
	struct curl_slist *headers = NULL;
	if (body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	CURLcode cc;
	long status = 0;
	_cleanup_free_ char *scope = scope_of(server, gun, body != NULL);
	int r = wharf_auth_perform(curl, url, headers, scope, sink_reset, &s, &cc, &status, err);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	if (r < 0) {
		/* the token service refused: err says why */
	} else if (status == 401 || status == 403) {
		r = denied(status, gun, body ? "changing the trust data" : "reading the trust data", url, &answer, 0, err);
	} else if (status != 0 && status != 200) {
		char detail[600];
		error_detail(&answer, detail, sizeof(detail));
		r = wharf_error_set(err, status == 404 ? WHARF_ENOTFOUND : status == 409 ? WHARF_EBUSY : WHARF_EINVAL,
				    "%s %s refused (%ld): %s", body ? "POST" : "GET", url, status, detail);
	} else if (cc != CURLE_OK) {
		r = wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
	} else if ((r = wharf_json_parse(out, answer.data ? answer.data : "", answer.len, 64u * 1024 * 1024, err)) < 0) {
		wharf_error_prefix(err, "%s", url);
	}
	wharf_buf_free(&answer);
	return r;
}
