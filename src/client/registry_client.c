/* A small OCI distribution client: manifests into memory under a size limit, blobs streamed to
 * a file descriptor while hashing. The server is never believed: lengths and digests are
 * checked here, and a server that sends more than it should is cut off. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "wharf/client.h"

static char *url_of(const char *base, const char *repo, const char *kind, const char *ref)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return wharf_xasprintf("%.*s/v2/%s/%s/%s", (int)n, base, repo, kind, ref);
}

static void common_options(CURL *curl, const char *url)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
	/* Registries may send blobs from elsewhere; what arrives is verified by digest anyway. */
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	/* A stalled server: give up below 1 KiB/s over 60 s. No overall limit: layers can be big. */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wharf-pull");
}

static int transfer_error(CURLcode cc, long status, const char *url, const char *what, struct wharf_error *err)
{
	if (cc != CURLE_OK && status == 0)
		return wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
	if (status == 404)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s: %s not found on the registry", url, what);
	if (status == 401)
		return wharf_error_set(err, WHARF_EINVAL, "%s: the registry refused access (401): log in with 'wharf login' "
				       "or set WHARF_USER and WHARF_PASSWORD", url);
	if (status == 403)
		return wharf_error_set(err, WHARF_EINVAL, "%s: the registry denied access (403): the user may not read "
				       "this repository", url);
	if (status != 200)
		return wharf_error_set(err, WHARF_EIO, "%s: the registry answered %ld", url, status);
	return wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
}

/* ---- manifests ---- */

struct mem_sink {
	struct wharf_buf_sink sink; /* the body, capped */
	char *content_type;
	size_t start; /* out->len before the transfer */
};

/* Before a retry with credentials: forget what the 401 answer wrote. */
static void mem_reset(void *ctx)
{
	struct mem_sink *s = ctx;
	s->sink.out->len = s->start;
	if (s->sink.out->data)
		s->sink.out->data[s->start] = '\0';
	s->sink.too_big = false;
	free(s->content_type);
	s->content_type = NULL;
}

static size_t mem_header(char *data, size_t size, size_t n, void *ctx)
{
	struct mem_sink *s = ctx;
	size_t len = size * n;
	static const char name[] = "content-type:";
	if (len > sizeof(name) - 1 && !strncasecmp(data, name, sizeof(name) - 1)) {
		const char *v = data + sizeof(name) - 1;
		size_t vl = len - (sizeof(name) - 1);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		free(s->content_type);
		s->content_type = wharf_xstrndup(v, vl);
	} else if (len >= 5 && !strncmp(data, "HTTP/", 5)) { /* a redirect's headers do not count */
		free(s->content_type);
		s->content_type = NULL;
	}
	return len;
}

int wharf_registry_get_manifest(const char *base, const char *repo, const char *ref, size_t limit,
				struct wharf_buf *body, char **content_type, struct wharf_error *err)
{
	_cleanup_free_ char *url = url_of(base, repo, "manifests", ref);
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	struct curl_slist *h = curl_slist_append(NULL, "Accept: " WHARF_MANIFEST_ACCEPT);
	struct mem_sink s = {.sink = {.out = body, .limit = limit}, .start = body->len};
	size_t start = body->len;
	common_options(curl, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_sink_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s.sink);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, mem_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	CURLcode cc;
	long status = 0;
	_cleanup_free_ char *scope = wharf_xasprintf("repository:%s:pull", repo);
	int r = wharf_auth_perform(curl, url, h, scope, mem_reset, &s, &cc, &status, err);
	curl_easy_cleanup(curl);
	curl_slist_free_all(h);
	if (r == 0 && s.sink.too_big && status == 200)
		r = wharf_error_set(err, WHARF_ETOOBIG, "%s: manifest is longer than %zu bytes, the limit", url, limit);
	else if (r == 0 && (cc != CURLE_OK || status != 200))
		r = transfer_error(cc, status, url, "manifest", err);
	if (r < 0) {
		body->len = start;
		if (body->data)
			body->data[start] = '\0';
		free(s.content_type);
		return r;
	}
	if (content_type)
		*content_type = s.content_type;
	else
		free(s.content_type);
	return 0;
}

int wharf_registry_get_manifest_verified(const char *base, const char *repo, const struct wharf_digest *d,
					 uint64_t want_len, struct wharf_buf *body, char **content_type,
					 struct wharf_error *err)
{
	/* A pinned length is the limit too: one byte more is enough to know it is wrong. */
	size_t limit = WHARF_MANIFEST_MAX;
	if (want_len != UINT64_MAX && want_len < limit)
		limit = (size_t)want_len + 1;
	char *ct = NULL;
	int r = wharf_registry_get_manifest(base, repo, d->str, limit, body, &ct, err);
	if (r == -WHARF_ETOOBIG && want_len != UINT64_MAX)
		return wharf_error_set(err, WHARF_EDIGEST,
				       "manifest %s of %s: the registry sent more than the %llu signed bytes", d->str,
				       repo, (unsigned long long)want_len);
	if (r < 0)
		return r;
	struct wharf_digest got;
	wharf_digest_buffer(d->alg, body->data ? body->data : "", body->len, &got);
	if (want_len != UINT64_MAX && body->len != want_len)
		r = wharf_error_set(err, WHARF_EDIGEST,
				    "manifest %s of %s: the registry sent %zu bytes, the signed length is %llu", d->str,
				    repo, body->len, (unsigned long long)want_len);
	else if (!wharf_digest_equal(&got, d))
		r = wharf_error_set(err, WHARF_EDIGEST, "manifest %s of %s: the bytes the registry sent hash to %s",
				    d->str, repo, got.str);
	if (r < 0) {
		free(ct);
		return r;
	}
	if (content_type)
		*content_type = ct;
	else
		free(ct);
	return 0;
}

/* ---- blobs ---- */

struct blob_sink {
	int fd;
	struct wharf_hasher *h;
	const struct wharf_digest *d;
	uint64_t size, got;
	bool too_big, io_failed;
	int saved_errno;
	long status;
	CURL *curl;
	wharf_progress_fn progress;
	void *progress_ctx;
	uint64_t last_report_us;
};

static void blob_reset(void *ctx) /* the refused answer's body was thrown away; only its status stays */
{
	((struct blob_sink *)ctx)->status = 0;
}

static size_t blob_write(char *data, size_t size, size_t n, void *ctx)
{
	struct blob_sink *s = ctx;
	size_t len = size * n;
	if (s->status == 0)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status != 200)
		return len; /* an error body: thrown away */
	if (len > s->size - s->got) {
		s->too_big = true;
		return 0;
	}
	if (wharf_write_all(s->fd, data, len) < 0) {
		s->io_failed = true;
		s->saved_errno = errno;
		return 0;
	}
	wharf_hasher_update(s->h, data, len);
	s->got += len;
	if (s->progress) {
		uint64_t now = wharf_monotonic_us();
		if (now - s->last_report_us > 200000 || s->got == s->size) {
			s->last_report_us = now;
			s->progress(s->progress_ctx, s->d, s->got, s->size);
		}
	}
	return len;
}

int wharf_registry_get_blob(const char *base, const char *repo, const struct wharf_digest *d, uint64_t size,
			    int fd, wharf_progress_fn progress, void *progress_ctx, struct wharf_error *err)
{
	_cleanup_free_ char *url = url_of(base, repo, "blobs", d->str);
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	struct blob_sink s = {.fd = fd, .h = wharf_hasher_new(d->alg), .d = d, .size = size, .curl = curl,
			      .progress = progress, .progress_ctx = progress_ctx};
	common_options(curl, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, blob_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	CURLcode cc;
	long status = 0;
	_cleanup_free_ char *scope = wharf_xasprintf("repository:%s:pull", repo);
	int r = wharf_auth_perform(curl, url, NULL, scope, blob_reset, &s, &cc, &status, err);
	curl_easy_cleanup(curl);
	struct wharf_digest got;
	wharf_hasher_final(s.h, &got);
	wharf_hasher_free(s.h);
	if (r < 0) {
		/* the token service refused: err says why */
	} else if (s.io_failed) {
		errno = s.saved_errno;
		r = wharf_error_sys(err, "blob %s: cannot write it", d->str);
	} else if (s.too_big) {
		r = wharf_error_set(err, WHARF_EDIGEST, "blob %s of %s: the registry sent more than its %llu bytes",
				    d->str, repo, (unsigned long long)size);
	} else if (cc != CURLE_OK || status != 200) {
		r = transfer_error(cc, status, url, "blob", err);
	} else if (s.got != size) {
		r = wharf_error_set(err, WHARF_EDIGEST, "blob %s of %s: the registry sent %llu bytes, the manifest says %llu",
				    d->str, repo, (unsigned long long)s.got, (unsigned long long)size);
	} else if (!wharf_digest_equal(&got, d)) {
		r = wharf_error_set(err, WHARF_EDIGEST, "blob %s of %s: the bytes the registry sent hash to %s", d->str,
				    repo, got.str);
	}
	return r;
}
