/* The client side of registry authentication, shared by the registry client and the trust
 * client: parse a 401's WWW-Authenticate challenge, get a token from the realm (Docker's token
 * protocol) or fall back to Basic, cache tokens per (host, scope) until they expire, and retry
 * the request once. Credentials go only to the host they were stored for. */
#include <ctype.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "wharf/client.h"
#include "wharf/json.h"
#include "wharf/keys.h"

#define VALUE_MAX 2048        /* one challenge parameter */
#define PARAMS_MAX 16         /* parameters in one challenge */
#define TOKEN_REPLY_MAX 65536 /* the token service's JSON */
#define TOKEN_MAX 16384       /* one token */
#define CACHE_SLOTS 32

/* ---- the challenge parser ---- */

void wharf_auth_challenge_clear(struct wharf_auth_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	*c = (struct wharf_auth_challenge){0};
}

static bool is_token_char(char c)
{
	return c && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c)); /* strchr finds the NUL too */
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A quoted string (p after the opening quote) or a token, into out. */
static int parse_value(const char **pp, struct wharf_buf *out, struct wharf_error *err)
{
	const char *p = *pp;
	if (*p != '"') {
		while (*p && is_token_char(*p) && out->len < VALUE_MAX)
			wharf_buf_append(out, p++, 1);
	} else {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return wharf_error_set(err, WHARF_EINVAL, "WWW-Authenticate: control character in a quoted value");
			wharf_buf_append(out, p, 1);
			if (out->len > VALUE_MAX)
				break;
		}
		if (out->len <= VALUE_MAX && *p != '"')
			return wharf_error_set(err, WHARF_EINVAL, "WWW-Authenticate: a quoted value is not closed");
		if (*p)
			p++;
	}
	if (out->len > VALUE_MAX || (out->len == VALUE_MAX && (is_token_char(*p) || *p == '"')))
		return wharf_error_set(err, WHARF_ETOOBIG, "WWW-Authenticate: a value is longer than %d bytes", VALUE_MAX);
	*pp = p;
	return 0;
}

static int set_param(struct wharf_auth_challenge *c, const char *name, size_t n, char *value, struct wharf_error *err)
{
	char **slot = NULL;
	if (n == 5 && !strncasecmp(name, "realm", 5))
		slot = &c->realm;
	else if (n == 7 && !strncasecmp(name, "service", 7))
		slot = &c->service;
	else if (n == 5 && !strncasecmp(name, "scope", 5))
		slot = &c->scope;
	else if (n == 5 && !strncasecmp(name, "error", 5))
		slot = &c->error;
	if (!slot) {
		free(value);
		return 0;
	}
	if (*slot) {
		free(value);
		return wharf_error_set(err, WHARF_EINVAL, "WWW-Authenticate: parameter %.*s is given twice", (int)n, name);
	}
	*slot = value;
	return 0;
}

/* name=value pairs until the end or the start of a next challenge. */
static int parse_params(const char *p, struct wharf_auth_challenge *c, struct wharf_error *err)
{
	for (int count = 0;; count++) {
		p = skip_space(p);
		if (!*p)
			return 0;
		if (count >= PARAMS_MAX)
			return wharf_error_set(err, WHARF_ETOOBIG, "WWW-Authenticate: more than %d parameters", PARAMS_MAX);
		const char *name = p;
		while (is_token_char(*p))
			p++;
		size_t n = (size_t)(p - name);
		p = skip_space(p);
		if (n == 0 || *p != '=') /* another challenge starts: only the first one counts */
			return count > 0 ? 0 : wharf_error_set(err, WHARF_EINVAL, "WWW-Authenticate: expected name=value");
		p = skip_space(p + 1);
		struct wharf_buf v;
		wharf_buf_init(&v);
		int r = parse_value(&p, &v, err);
		if (r < 0 || (r = set_param(c, name, n, wharf_buf_steal(&v), err)) < 0) {
			wharf_buf_free(&v);
			return r;
		}
		p = skip_space(p);
		if (*p && *p != ',')
			return wharf_error_set(err, WHARF_EINVAL, "WWW-Authenticate: expected ',' after parameter %.*s",
					       (int)n, name);
		if (*p)
			p++;
	}
}

int wharf_auth_challenge_parse(const char *header, struct wharf_auth_challenge *out, struct wharf_error *err)
{
	*out = (struct wharf_auth_challenge){0};
	if (strlen(header) > WHARF_CHALLENGE_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "WWW-Authenticate: longer than %d bytes", WHARF_CHALLENGE_MAX);
	const char *p = skip_space(header), *scheme = p;
	while (isalpha((unsigned char)*p))
		p++;
	size_t n = (size_t)(p - scheme);
	if (!((n == 6 && !strncasecmp(scheme, "bearer", 6)) || (n == 5 && !strncasecmp(scheme, "basic", 5))))
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "WWW-Authenticate: scheme '%.*s' is not Bearer or Basic",
				       (int)(n < 16 ? n : 16), scheme);
	if (*p && *p != ' ' && *p != '\t')
		return wharf_error_set(err, WHARF_EINVAL, "WWW-Authenticate: no space after the scheme");
	for (size_t i = 0; i < n; i++)
		out->scheme[i] = (char)tolower((unsigned char)scheme[i]);
	int r = parse_params(p, out, err);
	if (r == 0 && out->scheme[1] == 'e' && (!out->realm || !*out->realm))
		r = wharf_error_set(err, WHARF_EINVAL, "WWW-Authenticate: a Bearer challenge without a realm");
	if (r < 0)
		wharf_auth_challenge_clear(out);
	return r;
}

/* ---- the token cache: one per process, shared by every request ---- */

struct cached {
	char *host, *scope, *authorization;
	uint64_t expires_us;
};
static struct cached cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static char *cache_get(const char *host, const char *scope)
{
	char *found = NULL;
	uint64_t now = wharf_monotonic_us();
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS && !found; i++)
		if (cache[i].host && cache[i].expires_us > now && !strcmp(cache[i].host, host) &&
		    !strcmp(cache[i].scope, scope))
			found = wharf_xstrdup(cache[i].authorization);
	pthread_mutex_unlock(&cache_lock);
	return found;
}

static void cache_put(const char *host, const char *scope, const char *authorization, int64_t ttl_s)
{
	if (ttl_s <= 0)
		return;
	pthread_mutex_lock(&cache_lock);
	int slot = 0;
	for (int i = 0; i < CACHE_SLOTS; i++) { /* the same key, else an empty slot, else the oldest */
		if (cache[i].host && !strcmp(cache[i].host, host) && !strcmp(cache[i].scope, scope)) {
			slot = i;
			break;
		}
		if (!cache[i].host || (cache[slot].host && cache[i].expires_us < cache[slot].expires_us))
			slot = i;
	}
	free(cache[slot].host);
	free(cache[slot].scope);
	free(cache[slot].authorization);
	cache[slot] = (struct cached){wharf_xstrdup(host), wharf_xstrdup(scope), wharf_xstrdup(authorization),
				      wharf_monotonic_us() + (uint64_t)ttl_s * 1000000};
	pthread_mutex_unlock(&cache_lock);
}

/* ---- getting a token ---- */

/* realm?service=..&scope=..&scope=.. (Docker sends one scope parameter per scope). */
static char *token_url(const struct wharf_auth_challenge *c)
{
	struct wharf_buf u;
	wharf_buf_init(&u);
	wharf_buf_puts(&u, c->realm);
	char sep = strchr(c->realm, '?') ? '&' : '?';
	if (c->service) {
		_cleanup_free_ char *e = wharf_url_escape(c->service);
		wharf_buf_printf(&u, "%cservice=%s", sep, e);
		sep = '&';
	}
	for (const char *s = c->scope ? c->scope : ""; *s;) {
		size_t n = strcspn(s, " ");
		if (n) {
			_cleanup_free_ char *one = wharf_xstrndup(s, n);
			_cleanup_free_ char *e = wharf_url_escape(one);
			wharf_buf_printf(&u, "%cscope=%s", sep, e);
			sep = '&';
		}
		s += n + (s[n] == ' ');
	}
	return wharf_buf_steal(&u);
}

/* The realm must be http(s), and no weaker than the registry's own scheme. Credentials are
 * offered only when the realm is on the registry's host. */
static int check_realm(const char *registry_url, const char *host, const char *realm, bool *same_host,
		       struct wharf_error *err)
{
	bool https = !strncasecmp(realm, "https://", 8);
	if (!https && strncasecmp(realm, "http://", 7))
		return wharf_error_set(err, WHARF_EINVAL, "%s: the token realm %.200s is not an http(s) URL", host, realm);
	if (!https && !strncasecmp(registry_url, "https://", 8))
		return wharf_error_set(err, WHARF_EINVAL, "%s: the token realm %.200s would drop from https to http", host,
				       realm);
	_cleanup_free_ char *realm_host = NULL;
	int r = wharf_credentials_host(realm, &realm_host, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s: token realm", host);
	*same_host = !strcmp(realm_host, host);
	return 0;
}

/* "Authorization: Bearer <token>" from the token service's JSON, and its lifetime. */
static int token_from_reply(const char *host, const struct wharf_buf *b, char **authz, int64_t *ttl,
			    struct wharf_error *err)
{
	json_t *doc = NULL;
	int r = wharf_json_parse(&doc, b->data ? b->data : "", b->len, TOKEN_REPLY_MAX, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s: the token service's answer", host);
	const char *tok = json_string_value(json_object_get(doc, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(doc, "access_token"));
	size_t n = tok ? strlen(tok) : 0;
	bool clean = n > 0 && n <= TOKEN_MAX;
	for (size_t i = 0; clean && i < n; i++)
		clean = tok[i] > 0x20 && tok[i] < 0x7f;
	if (!clean) {
		json_decref(doc);
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s: the token service sent no token, or one over %d bytes or with spaces or "
				       "control characters", host, TOKEN_MAX);
	}
	json_t *exp = json_object_get(doc, "expires_in");
	*ttl = json_is_integer(exp) ? json_integer_value(exp) : 60;
	if (*ttl < 60) /* Docker's rule: at least a minute */
		*ttl = 60;
	*ttl -= 10; /* use it a little before the server stops taking it */
	*authz = wharf_xasprintf("Authorization: Bearer %s", tok);
	json_decref(doc);
	return 0;
}

static int fetch_token(const char *registry_url, const char *host, const struct wharf_auth_challenge *c,
		       const struct wharf_credentials *cred, char **authz, int64_t *ttl, struct wharf_error *err)
{
	bool same_host = false;
	int r = check_realm(registry_url, host, c->realm, &same_host, err);
	if (r < 0)
		return r;
	if (!same_host)
		cred = NULL;
	_cleanup_free_ char *url = token_url(c);
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	struct wharf_buf b;
	wharf_buf_init(&b);
	struct wharf_buf_sink sink = {.out = &b, .limit = TOKEN_REPLY_MAX};
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_sink_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wharf");
	if (cred && cred->user) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, cred->user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, cred->password);
	}
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (cc != CURLE_OK)
		r = wharf_error_set(err, WHARF_EIO, "%s: token service %.200s: %s", host, c->realm, curl_easy_strerror(cc));
	else if ((status == 401 || status == 403) && cred && cred->user && !cred->source)
		r = wharf_error_set(err, WHARF_EINVAL, "%s refused the credentials of user %s: wrong user name or "
				    "password, or the user is disabled", host, cred->user);
	else if ((status == 401 || status == 403) && cred && cred->user)
		r = wharf_error_set(err, WHARF_EINVAL, "%s refused the credentials of user %s (from %s): wrong user name or "
				    "password, or the user is disabled; run 'wharf login %s'", host, cred->user, cred->source,
				    host);
	else if (status == 401 || status == 403)
		r = wharf_error_set(err, WHARF_EINVAL, "%s requires credentials: run 'wharf login %s' or set "
				    "WHARF_USER and WHARF_PASSWORD", host, host);
	else if (status != 200)
		r = wharf_error_set(err, WHARF_EIO, "%s: token service %.200s answered %ld", host, c->realm, status);
	else
		r = token_from_reply(host, &b, authz, ttl, err);
	wharf_buf_free(&b);
	return r;
}

static char *basic_header(const struct wharf_credentials *cred)
{
	_cleanup_free_ char *pair = wharf_xasprintf("%s:%s", cred->user, cred->password);
	_cleanup_free_ char *b64 = wharf_base64_encode(pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	char *h = wharf_xasprintf("Authorization: Basic %s", b64);
	explicit_bzero(b64, strlen(b64));
	return h;
}

/* The challenge of the last response on curl: the first Bearer or Basic one. */
static int last_challenge(CURL *curl, struct wharf_auth_challenge *c, struct wharf_error *err)
{
	struct curl_header *h = NULL;
	size_t amount = 0;
	int r = wharf_error_set(err, WHARF_EINVAL, "the 401 answer has no WWW-Authenticate challenge");
	for (size_t i = 0; curl_easy_header(curl, "WWW-Authenticate", i, CURLH_HEADER, -1, &h) == CURLHE_OK; i++) {
		amount = h->amount;
		if ((r = wharf_auth_challenge_parse(h->value, c, err)) == 0 || i + 1 >= amount)
			break;
	}
	return r;
}

/* ---- the request hook ---- */

static void perform_with(CURL *curl, struct curl_slist *headers, const char *authz, CURLcode *cc, long *status)
{
	struct curl_slist *all = NULL;
	for (struct curl_slist *h = headers; h; h = h->next)
		all = curl_slist_append(all, h->data);
	if (authz)
		all = curl_slist_append(all, authz);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, all);
	*cc = curl_easy_perform(curl);
	*status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	for (struct curl_slist *h = all; authz && h; h = h->next) /* the list held a copy of the secret */
		if (!h->next)
			explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(all);
}

/* A new Authorization header for the challenge, with cred (may be NULL: anonymous). *authz stays
 * NULL when there is nothing better to try. A Bearer challenge without a scope gets the scope the
 * request needs (hint, may be NULL) asked for, as Docker's clients do. */
static int answer_challenge(const char *url, const char *host, const struct wharf_auth_challenge *c,
			    const char *hint, const struct wharf_credentials *cred, char **authz, struct wharf_error *err)
{
	*authz = NULL;
	if (!strcmp(c->scheme, "basic")) {
		if (cred && cred->user)
			*authz = basic_header(cred);
		return 0;
	}
	struct wharf_auth_challenge ask = *c;
	if (!ask.scope && hint)
		ask.scope = (char *)hint; /* borrowed, never freed through ask */
	int64_t ttl = 0;
	int r = fetch_token(url, host, &ask, cred, authz, &ttl, err);
	if (r == 0)
		cache_put(host, ask.scope ? ask.scope : "", *authz, ttl);
	return r;
}

int wharf_auth_perform(CURL *curl, const char *url, struct curl_slist *headers, const char *scope_hint,
		       wharf_auth_reset_fn reset, void *reset_ctx, CURLcode *cc, long *status, struct wharf_error *err)
{
	_cleanup_free_ char *host = NULL;
	if (wharf_credentials_host(url, &host, NULL) < 0) { /* not ours to judge: the request fails itself */
		perform_with(curl, headers, NULL, cc, status);
		return 0;
	}
	_cleanup_free_ char *cached = scope_hint ? cache_get(host, scope_hint) : NULL;
	perform_with(curl, headers, cached, cc, status);
	if (*status != 401)
		return 0;
	struct wharf_auth_challenge c;
	if (last_challenge(curl, &c, NULL) < 0)
		return 0; /* the caller reports the 401 */
	struct wharf_credentials cred = {0};
	int r = wharf_credentials_lookup(host, &cred, err);
	bool signed_in = r > 0;
	_cleanup_free_ char *authz = NULL;
	if (r >= 0)
		r = answer_challenge(url, host, &c, scope_hint, signed_in ? &cred : NULL, &authz, err);
	wharf_credentials_clear(&cred);
	wharf_auth_challenge_clear(&c);
	if (r < 0 || !authz)
		return r < 0 ? r : 0;
	if (reset)
		reset(reset_ctx);
	perform_with(curl, headers, authz, cc, status);
	explicit_bzero(authz, strlen(authz));
	/* A signed-in user's fresh token still lacks the scope: the user may not do this, which
	 * callers report as 403, not as a missing login. */
	if (*status == 401 && signed_in && last_challenge(curl, &c, NULL) == 0) {
		if (c.error && !strcmp(c.error, "insufficient_scope"))
			*status = 403;
		wharf_auth_challenge_clear(&c);
	}
	return 0;
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
	(void)data, (void)ctx;
	return size * n;
}

/* Login must prove the credentials: a realm elsewhere would never see them. */
static int realm_on_host(const char *host, const struct wharf_auth_challenge *c, struct wharf_error *err)
{
	_cleanup_free_ char *realm_host = NULL;
	if (strcmp(c->scheme, "bearer") != 0)
		return 0;
	if (wharf_credentials_host(c->realm, &realm_host, err) < 0)
		return wharf_error_prefix(err, "%s: token realm", host);
	if (strcmp(realm_host, host) != 0)
		return wharf_error_set(err, WHARF_EUNSUPPORTED,
				       "%s: its token service is on %s, and wharf sends credentials only to the host "
				       "they are for; logging in through it is not supported", host, realm_host);
	return 0;
}

int wharf_auth_check_login(const char *server, const struct wharf_credentials *cred, struct wharf_error *err)
{
	_cleanup_free_ char *host = NULL;
	int r = wharf_credentials_host(server, &host, err);
	if (r < 0)
		return r;
	size_t n = strlen(server);
	while (n > 0 && server[n - 1] == '/')
		n--;
	_cleanup_free_ char *url = wharf_xasprintf("%.*s/v2/", (int)n, server);
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wharf-login");
	CURLcode cc;
	long status;
	_cleanup_free_ char *authz = NULL;
	perform_with(curl, NULL, NULL, &cc, &status);
	if (status == 401) {
		struct wharf_auth_challenge c;
		r = last_challenge(curl, &c, err);
		if (r == 0 && (r = realm_on_host(host, &c, err)) < 0)
			wharf_auth_challenge_clear(&c);
		if (r == 0) {
			r = answer_challenge(url, host, &c, NULL, cred, &authz, err);
			wharf_auth_challenge_clear(&c);
		}
		if (r == 0 && authz)
			perform_with(curl, NULL, authz, &cc, &status);
	}
	curl_easy_cleanup(curl);
	if (r < 0)
		return r;
	if (cc != CURLE_OK && status == 0)
		return wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
	if (status == 401 || status == 403)
		return wharf_error_set(err, WHARF_EINVAL, "%s refused the credentials of user %s (%ld)", host, cred->user,
				       status);
	if (status != 200)
		return wharf_error_set(err, WHARF_EIO, "%s: the server answered %ld, not a registry?", url, status);
	return 0;
}
