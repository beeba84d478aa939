/* The trust client asks the server for a new key of a role it holds (timestamp, snapshot). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "wharf/client.h"
#include "wharf/json.h"
#include "wharf/trust.h"

#define KEY_REPLY_MAX (64u * 1024)

static int post(const char *url, const char *gun, struct wharf_buf *body, long *status, struct wharf_error *err)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	struct wharf_buf_sink sink = {.out = body, .limit = KEY_REPLY_MAX};
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_sink_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wharf-trust");
	CURLcode cc;
	_cleanup_free_ char *scope = wharf_xasprintf("repository:%s:pull,push", gun);
	int r = wharf_auth_perform(curl, url, NULL, scope, wharf_buf_sink_reset_cb, &sink, &cc, status, err);
	curl_easy_cleanup(curl);
	if (r < 0)
		return r;
	if (cc != CURLE_OK)
		return wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
	return 0;
}

int wharf_trust_http_new_key(const char *server, const char *gun, const char *role, struct wharf_key **out,
			     struct wharf_error *err)
{
	if (strcmp(role, "timestamp") != 0 && strcmp(role, "snapshot") != 0)
		return wharf_error_set(err, WHARF_EINVAL, "a server holds keys only for timestamp and snapshot, not %s", role);
	size_t slen = strlen(server);
	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	_cleanup_free_ char *url = wharf_xasprintf("%.*s/v2/%s/_trust/tuf/%s.key", (int)slen, server, gun, role);
	struct wharf_buf b;
	wharf_buf_init(&b);
	long status = 0;
	json_t *doc = NULL;
	int r = post(url, gun, &b, &status, err);
	if (r == 0 && status != 200)
		r = wharf_error_set(err, status == 404 ? WHARF_ENOTFOUND : WHARF_EIO, "%s: the server answered %ld %.200s",
				    url, status, b.data ? b.data : "");
	if (r == 0)
		r = wharf_json_parse(&doc, b.data, b.len, KEY_REPLY_MAX, err);
	if (r == 0)
		r = wharf_key_from_json(out, doc, WHARF_DIALECT_NOTARY, err);
	if (doc)
		json_decref(doc);
	wharf_buf_free(&b);
	return r < 0 ? wharf_error_prefix(err, "a new %s key from the server", role) : 0;
}
