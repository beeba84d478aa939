/* TUF specification-format metadata: parsing, signature thresholds, file checks, path
 * patterns, and a size-limited HTTP GET. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wharf/client.h"
#include "wharf/json.h"
#include "wharf/keys.h"
#include "wharf/trust.h"
#include "wharf/tufspec.h"

void wharf_tufspec_meta_free(struct wharf_tufspec_meta *m)
{
	if (m->doc)
		json_decref(m->doc);
	memset(m, 0, sizeof(*m));
}

static bool is_hex(const char *s)
{
	return s && *s && strspn(s, "0123456789abcdefABCDEF") == strlen(s);
}

static int check_signatures_shape(const json_t *sigs, const char *role, struct wharf_error *err)
{
	size_t i;
	json_t *s;
	json_array_foreach(sigs, i, s) {
		const char *keyid = json_string_value(json_object_get(s, "keyid"));
		const char *sig = json_string_value(json_object_get(s, "sig"));
		if (!json_is_object(s) || !keyid || !sig)
			return wharf_error_set(err, WHARF_EINVAL, "%s: signature %zu lacks keyid or sig", role, i);
		if (*sig && !is_hex(sig))
			return wharf_error_set(err, WHARF_EINVAL, "%s: signature %zu is not hex", role, i);
	}
	return 0;
}

/* A {"version": N >= 1, "length"?: N >= 0, "hashes"?: {alg: hex}} object. */
static int check_meta_file(const json_t *fm, const char *role, const char *name, struct wharf_error *err)
{
	json_t *v = json_object_get(fm, "version");
	json_t *len = json_object_get(fm, "length");
	json_t *h = json_object_get(fm, "hashes");
	if (!json_is_object(fm) || !json_is_integer(v) || json_integer_value(v) < 1)
		return wharf_error_set(err, WHARF_EINVAL, "%s: meta of %.200s needs a version of at least 1", role, name);
	if (len && (!json_is_integer(len) || json_integer_value(len) < 0))
		return wharf_error_set(err, WHARF_EINVAL, "%s: meta of %.200s has a bad length", role, name);
	if (h && (!json_is_object(h) || json_object_size(h) == 0))
		return wharf_error_set(err, WHARF_EINVAL, "%s: meta of %.200s has empty hashes", role, name);
	return 0;
}

static int check_role_entry(const json_t *r, const char *role, const char *name, struct wharf_error *err)
{
	json_t *ids = json_object_get(r, "keyids");
	json_t *th = json_object_get(r, "threshold");
	if (!json_is_object(r) || !json_is_array(ids) || !json_is_integer(th) || json_integer_value(th) < 1)
		return wharf_error_set(err, WHARF_EINVAL, "%s: role %.200s needs keyids and a threshold of at least 1",
				       role, name);
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id)
		if (!json_is_string(id))
			return wharf_error_set(err, WHARF_EINVAL, "%s: role %.200s has a key ID that is not a string",
					       role, name);
	return 0;
}

static int check_root(const json_t *s, const char *role, struct wharf_error *err)
{
	json_t *keys = json_object_get(s, "keys");
	json_t *roles = json_object_get(s, "roles");
	json_t *cs = json_object_get(s, "consistent_snapshot");
	if (!json_is_object(keys) || !json_is_object(roles))
		return wharf_error_set(err, WHARF_EINVAL, "%s: root needs keys and roles objects", role);
	if (cs && !json_is_boolean(cs))
		return wharf_error_set(err, WHARF_EINVAL, "%s: consistent_snapshot must be a boolean", role);
	static const char *const top[] = {"root", "timestamp", "snapshot", "targets"};
	for (size_t i = 0; i < 4; i++) {
		int r = check_role_entry(json_object_get(roles, top[i]), role, top[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_delegations(const json_t *d, const char *role, struct wharf_error *err)
{
	json_t *keys = json_object_get(d, "keys");
	json_t *roles = json_object_get(d, "roles");
	json_t *succinct = json_object_get(d, "succinct_roles");
	if (!json_is_object(d) || !json_is_object(keys) || (roles && succinct) || (!roles && !succinct))
		return wharf_error_set(err, WHARF_EINVAL, "%s: delegations need keys and exactly one of roles, succinct_roles",
				       role);
	if (succinct) {
		json_t *bits = json_object_get(succinct, "bit_length");
		if (check_role_entry(succinct, role, "succinct_roles", err) < 0)
			return -WHARF_EINVAL;
		if (!json_is_integer(bits) || json_integer_value(bits) < 1 || json_integer_value(bits) > 32 ||
		    !json_is_string(json_object_get(succinct, "name_prefix")))
			return wharf_error_set(err, WHARF_EINVAL, "%s: succinct_roles need bit_length 1..32 and name_prefix", role);
		return 0;
	}
	if (!json_is_array(roles))
		return wharf_error_set(err, WHARF_EINVAL, "%s: delegations.roles must be an array", role);
	size_t i;
	json_t *r;
	json_array_foreach(roles, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *paths = json_object_get(r, "paths");
		json_t *prefixes = json_object_get(r, "path_hash_prefixes");
		json_t *term = json_object_get(r, "terminating");
		if (!name || !*name || strlen(name) > 255)
			return wharf_error_set(err, WHARF_EINVAL, "%s: delegated role %zu has no name", role, i);
		static const char *const reserved[] = {"root", "timestamp", "snapshot", "targets"};
		for (size_t k = 0; k < 4; k++)
			if (!strcmp(name, reserved[k]))
				return wharf_error_set(err, WHARF_EINVAL, "%s: a delegated role may not be named %s", role, name);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(name, json_string_value(json_object_get(json_array_get(roles, k), "name"))))
				return wharf_error_set(err, WHARF_EINVAL, "%s: delegated role %.200s is listed twice", role, name);
		if (check_role_entry(r, role, name, err) < 0)
			return -WHARF_EINVAL;
		if ((paths && prefixes) || (paths && !json_is_array(paths)) || (prefixes && !json_is_array(prefixes)))
			return wharf_error_set(err, WHARF_EINVAL, "%s: delegated role %.200s needs paths or path_hash_prefixes, not both",
					       role, name);
		if (term && !json_is_boolean(term))
			return wharf_error_set(err, WHARF_EINVAL, "%s: delegated role %.200s: terminating must be a boolean", role, name);
	}
	return 0;
}

static int check_targets(const json_t *s, const char *role, struct wharf_error *err)
{
	json_t *targets = json_object_get(s, "targets");
	if (!json_is_object(targets))
		return wharf_error_set(err, WHARF_EINVAL, "%s: targets must be an object", role);
	const char *name;
	json_t *t;
	json_object_foreach(targets, name, t) {
		json_t *len = json_object_get(t, "length");
		json_t *h = json_object_get(t, "hashes");
		if (!json_is_object(t) || !json_is_integer(len) || json_integer_value(len) < 0 || !json_is_object(h) ||
		    json_object_size(h) == 0)
			return wharf_error_set(err, WHARF_EINVAL, "%s: target %.200s needs a length and hashes", role, name);
	}
	json_t *d = json_object_get(s, "delegations");
	return d ? check_delegations(d, role, err) : 0;
}

static int check_type_fields(const json_t *s, const char *type, const char *role, struct wharf_error *err)
{
	if (!strcmp(type, "root"))
		return check_root(s, role, err);
	if (!strcmp(type, "targets"))
		return check_targets(s, role, err);
	json_t *meta = json_object_get(s, "meta");
	if (!json_is_object(meta))
		return wharf_error_set(err, WHARF_EINVAL, "%s: meta must be an object", role);
	if (!strcmp(type, "timestamp") && (json_object_size(meta) != 1 || !json_object_get(meta, "snapshot.json")))
		return wharf_error_set(err, WHARF_EINVAL, "%s: timestamp meta must hold exactly snapshot.json", role);
	const char *name;
	json_t *fm;
	json_object_foreach(meta, name, fm) {
		int r = check_meta_file(fm, role, name, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int wharf_tufspec_parse(struct wharf_tufspec_meta *out, const char *type, const char *role, const char *data,
			size_t len, size_t limit, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	json_t *doc;
	int r = wharf_json_parse(&doc, data, len, limit, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s metadata", role);
	out->doc = doc;
	json_t *s = json_object_get(doc, "signed");
	const char *t = json_string_value(json_object_get(s, "_type"));
	const char *spec = json_string_value(json_object_get(s, "spec_version"));
	json_t *version = json_object_get(s, "version");
	const char *expires = json_string_value(json_object_get(s, "expires"));
	if (!json_is_object(doc) || !json_is_object(s) || !json_is_array(json_object_get(doc, "signatures")))
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata must be {\"signed\": {...}, \"signatures\": [...]}", role);
	else if (!t || strcmp(t, type) != 0)
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata has _type %.40s, not %s", role, t ? t : "missing", type);
	else if (!spec || strncmp(spec, "1.", 2) != 0)
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata has spec_version %.40s; this client speaks 1.x", role,
				    spec ? spec : "missing");
	else if (!json_is_integer(version) || json_integer_value(version) < 1)
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata version must be an integer of at least 1", role);
	else if (!expires)
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata has no expires time", role);
	else if ((r = wharf_time_parse_rfc3339(expires, &out->expires, err)) < 0)
		wharf_error_prefix(err, "%s metadata expires", role);
	else if ((r = check_signatures_shape(json_object_get(doc, "signatures"), role, err)) == 0)
		r = check_type_fields(s, type, role, err);
	if (r < 0) {
		wharf_tufspec_meta_free(out);
		return r;
	}
	out->signed_obj = s;
	snprintf(out->type, sizeof(out->type), "%s", type);
	out->version = json_integer_value(version);
	return 0;
}

/* 0 when the signature s is valid and made by a key of the role; *pub is that key's public value. */
static int check_signature(const json_t *s, const char *role, const json_t *keys, const json_t *keyids,
			   const struct wharf_buf *canon, const char **pub, struct wharf_error *err)
{
	const char *keyid = json_string_value(json_object_get(s, "keyid"));
	const char *sighex = json_string_value(json_object_get(s, "sig"));
	if (!wharf_json_array_has_string(keyids, keyid))
		return wharf_error_set(err, WHARF_EINVAL, "%s: key %.16s is not a key of the role", role, keyid);
	json_t *kj = json_object_get(keys, keyid);
	if (!kj)
		return wharf_error_set(err, WHARF_EINVAL, "%s: key %.16s is listed but not defined", role, keyid);
	*pub = json_string_value(json_object_get(json_object_get(kj, "keyval"), "public"));
	struct wharf_key *k = NULL;
	int r = wharf_key_from_json(&k, kj, WHARF_DIALECT_TUF, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s: key %.16s", role, keyid);
	struct wharf_buf raw;
	wharf_buf_init(&raw);
	if ((r = wharf_hex_decode(sighex, &raw, err)) < 0)
		wharf_error_prefix(err, "%s: signature by %.16s", role, keyid);
	else if ((r = wharf_key_verify(k, WHARF_DIALECT_TUF, NULL, raw.data, raw.len, canon->data, canon->len, err)) < 0)
		wharf_error_prefix(err, "%s: signature by %.16s", role, keyid);
	wharf_buf_free(&raw);
	wharf_key_free(k);
	return r;
}

int wharf_tufspec_verify(const struct wharf_tufspec_meta *m, const char *role, const json_t *keys,
			 const json_t *keyids, int64_t threshold, struct wharf_error *err)
{
	if (!json_is_object(keys) || !json_is_array(keyids) || threshold < 1)
		return wharf_error_set(err, WHARF_EINVAL, "%s: the role has no keys or a threshold below 1", role);
	struct wharf_buf canon;
	wharf_buf_init(&canon);
	int r = wharf_json_canonical(m->signed_obj, WHARF_CANON_OLPC, &canon, err);
	if (r < 0) {
		wharf_buf_free(&canon);
		return wharf_error_prefix(err, "%s", role);
	}
	/* A key counts once, however often it signed and under however many IDs it is filed. */
	struct wharf_strv ids = {0}, pubs = {0};
	struct wharf_error first = {0};
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(m->doc, "signatures"), i, s) {
		const char *pub = NULL;
		struct wharf_error e;
		if (check_signature(s, role, keys, keyids, &canon, &pub, &e) < 0) {
			if (!first.code)
				first = e;
			continue;
		}
		const char *id = json_string_value(json_object_get(s, "keyid"));
		bool dup = false;
		for (size_t k = 0; k < ids.n; k++)
			dup = dup || !strcmp(ids.v[k], id) || (pub && pubs.v[k] && !strcmp(pubs.v[k], pub));
		if (!dup) {
			wharf_strv_push(&ids, id);
			wharf_strv_push(&pubs, pub ? pub : "");
		}
	}
	size_t valid = ids.n;
	wharf_strv_free(&ids);
	wharf_strv_free(&pubs);
	wharf_buf_free(&canon);
	if ((int64_t)valid >= threshold)
		return 0;
	return wharf_error_set(err, WHARF_EINVAL, "%s: threshold not met: %zu valid signature%s, %lld required%s%s", role,
			       valid, valid == 1 ? "" : "s", (long long)threshold, first.code ? "; " : "",
			       first.code ? first.message : "");
}

int wharf_tufspec_verify_by_root(const struct wharf_tufspec_meta *m, const char *role,
				 const struct wharf_tufspec_meta *root, struct wharf_error *err)
{
	json_t *r = json_object_get(json_object_get(root->signed_obj, "roles"), role);
	return wharf_tufspec_verify(m, role, json_object_get(root->signed_obj, "keys"), json_object_get(r, "keyids"),
				    json_integer_value(json_object_get(r, "threshold")), err);
}

/* One component: '*' any run, '?' one byte, '[...]' is not special (the spec names only '*'). */
static bool match_component(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
	while (si < slen) {
		if (pi < plen && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

bool wharf_tufspec_path_match(const char *pattern, const char *path)
{
	for (;;) {
		const char *pe = strchr(pattern, '/');
		const char *se = strchr(path, '/');
		size_t pl = pe ? (size_t)(pe - pattern) : strlen(pattern);
		size_t sl = se ? (size_t)(se - path) : strlen(path);
		if (!match_component(pattern, pl, path, sl))
			return false;
		if (!pe || !se)
			return !pe && !se;
		pattern = pe + 1;
		path = se + 1;
	}
}

int wharf_tufspec_check_file(const json_t *fm, const char *role, const void *data, size_t len,
			     struct wharf_error *err)
{
	json_t *l = json_object_get(fm, "length");
	if (l && (!json_is_integer(l) || (uint64_t)json_integer_value(l) != len))
		return wharf_error_set(err, WHARF_EINVAL, "%s: length %zu does not match the trusted length %lld", role, len,
				       (long long)json_integer_value(l));
	const char *alg;
	json_t *h;
	json_object_foreach(json_object_get(fm, "hashes"), alg, h) {
		const EVP_MD *md = !strcmp(alg, "sha256") ? EVP_sha256() : !strcmp(alg, "sha512") ? EVP_sha512() : NULL;
		if (!md)
			continue; /* an algorithm we do not know proves nothing either way */
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned dl = 0;
		EVP_Digest(data, len, d, &dl, md, NULL);
		struct wharf_buf want;
		wharf_buf_init(&want);
		struct wharf_error e;
		bool ok = json_is_string(h) && wharf_hex_decode(json_string_value(h), &want, &e) >= 0 && want.len == dl &&
			  CRYPTO_memcmp(want.data, d, dl) == 0;
		wharf_buf_free(&want);
		if (!ok)
			return wharf_error_set(err, WHARF_EINVAL, "%s: %s hash does not match the trusted hash", role, alg);
	}
	return 0;
}

struct sink {
	struct wharf_buf *out;
	size_t start;
	size_t limit;
	bool too_big;
};

static size_t sink_write(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	if (s->out->len - s->start + len > s->limit) {
		s->too_big = true;
		return 0;
	}
	wharf_buf_append(s->out, data, len);
	return len;
}

static void sink_reset(void *ctx) /* a refused answer, before the retry with credentials */
{
	struct sink *s = ctx;
	s->out->len = s->start;
	s->too_big = false;
}

int wharf_tufspec_http_get(void *ctx, const char *url, size_t limit, struct wharf_buf *out, struct wharf_error *err)
{
	(void)ctx;
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot initialise libcurl");
	struct sink s = {.out = out, .start = out->len, .limit = limit};
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limit);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wharf-tuf");
	CURLcode cc;
	long status = 0;
	int r = wharf_auth_perform(curl, url, NULL, NULL, sink_reset, &s, &cc, &status, err);
	curl_easy_cleanup(curl);
	if (r == 0 && (s.too_big || cc == CURLE_FILESIZE_EXCEEDED))
		r = wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %zu bytes, the limit for this file", url, limit);
	else if (r == 0 && (status == 404 || status == 403))
		r = wharf_error_set(err, WHARF_ENOTFOUND, "%s: not found on the server", url);
	else if (r == 0 && cc != CURLE_OK)
		r = wharf_error_set(err, WHARF_EIO, "%s: %s (status %ld)", url, curl_easy_strerror(cc), status);
	if (r < 0) {
		out->len = s.start;
		if (out->data)
			out->data[out->len] = '\0';
	}
	return r;
}
