/* TUF metadata in Notary's dialect: parsing, signature thresholds, file hashes, times. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "wharf/digest.h"
#include "wharf/json.h"
#include "wharf/oci.h"
#include "wharf/trust.h"

bool wharf_tuf_valid_role(const char *role)
{
	static const char *const base[] = {"root", "targets", "snapshot", "timestamp"};
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(role, base[i]))
			return true;
	if (!wharf_str_has_prefix(role, "targets/") || strlen(role) > 255)
		return false;
	/* Delegations: targets/<segment>[/<segment>...], segments of visible non-space characters. */
	for (const char *p = role + 8, *seg = p;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == seg || (p - seg == 1 && *seg == '.') || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (*p == '\0')
				return true;
			seg = p + 1;
		} else if (!isgraph((unsigned char)*p) || *p == '*') {
			return false;
		}
	}
}

const char *wharf_tuf_role_type(const char *role)
{
	if (!strcmp(role, "root"))
		return "Root";
	if (!strcmp(role, "snapshot"))
		return "Snapshot";
	if (!strcmp(role, "timestamp"))
		return "Timestamp";
	return "Targets";
}

int wharf_tuf_check_gun(const char *gun, struct wharf_error *err)
{
	size_t len = strlen(gun);
	const char *slash = strchr(gun, '/');
	const char *name = gun;
	/* An optional registry host: "HOST[:PORT]/" before the repository path. */
	size_t host_len = slash ? (size_t)(slash - gun) : 0;
	bool has_host = slash && (memchr(gun, '.', host_len) || memchr(gun, ':', host_len) ||
				  (host_len == 9 && !memcmp(gun, "localhost", 9)));
	if (has_host) {
		for (const char *p = gun; p < slash; p++)
			if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
				return wharf_error_set(err, WHARF_EINVAL, "GUN '%.200s': registry host has the character '%c'",
						       gun, *p);
		name = slash + 1;
	}
	int r = wharf_oci_check_repo_name(name, len - (size_t)(name - gun), err);
	return r < 0 ? wharf_error_prefix(err, "GUN '%.200s'", gun) : 0;
}

void wharf_tuf_meta_free(struct wharf_tuf_meta *m)
{
	if (m->doc)
		json_decref(m->doc);
	memset(m, 0, sizeof(*m));
}

int wharf_tuf_parse(struct wharf_tuf_meta *out, const char *role, const char *data, size_t len,
		    struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	json_t *doc;
	int r = wharf_json_parse(&doc, data, len, WHARF_TUF_FILE_MAX, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s metadata", role);
	out->doc = doc;
	json_t *sig = json_object_get(doc, "signed");
	json_t *type = json_object_get(sig, "_type");
	json_t *version = json_object_get(sig, "version");
	json_t *expires = json_object_get(sig, "expires");
	const char *want = wharf_tuf_role_type(role);
	if (!json_is_object(doc) || !json_is_object(sig) || !json_is_array(json_object_get(doc, "signatures")))
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata must be {\"signed\": {...}, \"signatures\": [...]}", role);
	else if (!json_is_string(type) || strcmp(json_string_value(type), want) != 0)
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata has _type %s%s%s, not \"%s\"", role,
				    json_is_string(type) ? "\"" : "", json_is_string(type) ? json_string_value(type) : "missing",
				    json_is_string(type) ? "\"" : "", want);
	else if (!json_is_integer(version) || json_integer_value(version) < 0)
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata version must be a non-negative integer", role);
	else if (!json_is_string(expires))
		r = wharf_error_set(err, WHARF_EINVAL, "%s metadata has no expires time", role);
	else if ((r = wharf_time_parse_rfc3339(json_string_value(expires), &out->expires, err)) < 0)
		wharf_error_prefix(err, "%s metadata expires", role);
	if (r < 0) {
		wharf_tuf_meta_free(out);
		return r;
	}
	out->signed_obj = sig;
	out->type = want;
	out->version = json_integer_value(version);
	return 0;
}

/* One signature: 0 when it is valid and made by a key of the role; fpr gets the public key's
 * fingerprint. */
static int check_signature(const json_t *s, const char *role, const json_t *keys, const json_t *keyids,
			   const struct wharf_buf *canon, char fpr[65], struct wharf_error *err)
{
	const char *keyid = json_string_value(json_object_get(s, "keyid"));
	const char *method = json_string_value(json_object_get(s, "method"));
	const char *sig64 = json_string_value(json_object_get(s, "sig"));
	if (!keyid || !method || !sig64)
		return wharf_error_set(err, WHARF_EINVAL, "%s: a signature lacks keyid, method or sig", role);
	if (!wharf_json_array_has_string(keyids, keyid))
		return wharf_error_set(err, WHARF_EINVAL, "%s: key %.16s is not a key of the role", role, keyid);
	struct wharf_key *k = NULL;
	int r = wharf_key_from_json(&k, json_object_get(keys, keyid), WHARF_DIALECT_NOTARY, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s: key %.16s", role, keyid);
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	/* Two key IDs for one public key (a certificate and its bare key, or two certificates)
	 * are one signer: count the key, not its ID. */
	wharf_key_id(k, WHARF_DIALECT_TUF, fpr);
	struct wharf_buf raw;
	wharf_buf_init(&raw);
	if (strcmp(id, keyid) != 0)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: key filed as %.16s has the ID %.16s", role, keyid, id);
	else if (!fpr[0])
		r = wharf_error_set(err, WHARF_EINVAL, "%s: key %.16s has no usable public key", role, keyid);
	else if ((r = wharf_base64_decode(sig64, &raw, err)) < 0)
		wharf_error_prefix(err, "%s: signature by %.16s", role, keyid);
	else if ((r = wharf_key_verify(k, WHARF_DIALECT_NOTARY, method, raw.data, raw.len, canon->data, canon->len, err)) < 0)
		wharf_error_prefix(err, "%s: signature by %.16s", role, keyid);
	wharf_buf_free(&raw);
	wharf_key_free(k);
	return r;
}

int wharf_tuf_check_signature(const struct wharf_tuf_meta *m, const json_t *sig, const char *role, const json_t *keys,
			      const json_t *keyids, char fpr[65], struct wharf_error *err)
{
	fpr[0] = '\0';
	if (!json_is_object(keys) || !json_is_array(keyids))
		return wharf_error_set(err, WHARF_EINVAL, "%s: the role has no keys", role);
	struct wharf_buf canon;
	wharf_buf_init(&canon);
	int r = wharf_json_canonical(m->signed_obj, WHARF_CANON_NOTARY, &canon, err);
	if (r < 0)
		wharf_error_prefix(err, "%s", role);
	else
		r = check_signature(sig, role, keys, keyids, &canon, fpr, err);
	wharf_buf_free(&canon);
	return r;
}

int wharf_tuf_count_signers(const struct wharf_tuf_meta *m, const char *role, const json_t *keys,
			    const json_t *keyids, size_t *valid, struct wharf_error *first)
{
	*valid = 0;
	if (first)
		first->code = 0;
	struct wharf_buf canon;
	wharf_buf_init(&canon);
	int r = wharf_json_canonical(m->signed_obj, WHARF_CANON_NOTARY, &canon, first);
	if (r < 0) {
		wharf_buf_free(&canon);
		return wharf_error_prefix(first, "%s", role);
	}
	struct wharf_strv counted = {0};
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(m->doc, "signatures"), i, s) {
		char fpr[65];
		struct wharf_error e;
		if (check_signature(s, role, keys, keyids, &canon, fpr, &e) < 0) {
			if (first && !first->code)
				*first = e;
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < counted.n; k++)
			dup = dup || !strcmp(counted.v[k], fpr);
		if (!dup)
			wharf_strv_push(&counted, fpr); /* one key counts once, however often it signed */
	}
	*valid = counted.n;
	wharf_strv_free(&counted);
	wharf_buf_free(&canon);
	return 0;
}

int wharf_tuf_verify(const struct wharf_tuf_meta *m, const char *role, const json_t *keys,
		     const json_t *keyids, int64_t threshold, struct wharf_error *err)
{
	if (!json_is_object(keys) || !json_is_array(keyids) || threshold < 1)
		return wharf_error_set(err, WHARF_EINVAL, "%s: the role has no keys or a threshold below 1", role);
	struct wharf_error first = {0};
	size_t valid = 0;
	int r = wharf_tuf_count_signers(m, role, keys, keyids, &valid, &first);
	if (r < 0) {
		*err = first;
		return r;
	}
	if ((int64_t)valid >= threshold)
		return 0;
	return wharf_error_set(err, WHARF_EINVAL, "%s: %zu valid signature%s from its keys, %lld required%s%s", role,
			       valid, valid == 1 ? "" : "s", (long long)threshold, first.code ? "; " : "",
			       first.code ? first.message : "");
}

int wharf_tuf_verify_by_root(const struct wharf_tuf_meta *m, const char *role,
			     const struct wharf_tuf_meta *root, struct wharf_error *err)
{
	json_t *r = json_object_get(json_object_get(root->signed_obj, "roles"), role);
	json_t *th = json_object_get(r, "threshold");
	if (!json_is_object(r) || !json_is_integer(th))
		return wharf_error_set(err, WHARF_EINVAL, "root has no %s role with a threshold", role);
	return wharf_tuf_verify(m, role, json_object_get(root->signed_obj, "keys"), json_object_get(r, "keyids"),
				json_integer_value(th), err);
}

int wharf_tuf_check_targets(const struct wharf_tuf_meta *m, const char *role, json_t **targets,
			    struct wharf_error *err)
{
	json_t *all = json_object_get(m->signed_obj, "targets");
	if (!json_is_object(all))
		return wharf_error_set(err, WHARF_EINVAL, "%s has no targets object", role);
	const char *name;
	json_t *t;
	json_object_foreach(all, name, t) {
		json_t *len = json_object_get(t, "length");
		json_t *hashes = json_object_get(t, "hashes");
		if (!json_is_integer(len) || json_integer_value(len) < 0 || !json_is_object(hashes) || !json_object_size(hashes))
			return wharf_error_set(err, WHARF_EINVAL, "%s: target '%.100s' needs a length and hashes", role, name);
	}
	if (targets)
		*targets = all;
	return 0;
}

int wharf_tuf_sign(const json_t *signed_obj, struct wharf_key *const *keys, size_t nkeys,
		   struct wharf_buf *out, struct wharf_error *err)
{
	struct wharf_buf canon;
	wharf_buf_init(&canon);
	int r = wharf_json_canonical(signed_obj, WHARF_CANON_NOTARY, &canon, err);
	json_t *sigs = json_array();
	for (size_t i = 0; r == 0 && i < nkeys; i++) {
		struct wharf_buf sig;
		wharf_buf_init(&sig);
		const char *method = NULL;
		r = wharf_key_sign(keys[i], WHARF_DIALECT_NOTARY, canon.data, canon.len, &sig, &method, err);
		if (r == 0) {
			char id[65];
			wharf_key_id(keys[i], WHARF_DIALECT_NOTARY, id);
			char *b64 = wharf_base64_encode(sig.data, sig.len);
			json_array_append_new(sigs, json_pack("{s:s, s:s, s:s}", "keyid", id, "method", method, "sig", b64));
			free(b64);
		}
		wharf_buf_free(&sig);
	}
	if (r == 0) {
		/* Signatures cover the canonical form of "signed"; the file itself is ordinary JSON
		 * (canonical form writes control characters raw, which no JSON parser accepts). */
		json_t *doc = json_pack("{s:O, s:o}", "signed", signed_obj, "signatures", sigs);
		sigs = NULL;
		char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(doc);
		if (!text)
			r = wharf_error_set(err, WHARF_EINTERNAL, "cannot encode signed metadata");
		else
			wharf_buf_puts(out, text);
		free(text);
	}
	json_decref(sigs);
	wharf_buf_free(&canon);
	return r;
}

static char *hash_b64(const EVP_MD *md, const void *data, size_t len)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(data, len, h, &n, md, NULL);
	return wharf_base64_encode(h, n);
}

json_t *wharf_tuf_file_meta(const void *data, size_t len)
{
	char *s256 = hash_b64(EVP_sha256(), data, len);
	char *s512 = hash_b64(EVP_sha512(), data, len);
	json_t *fm = json_pack("{s:I, s:{s:s, s:s}}", "length", (json_int_t)len, "hashes", "sha256", s256,
			       "sha512", s512);
	free(s256);
	free(s512);
	return fm;
}

int wharf_tuf_check_file_meta(const json_t *fm, const char *role, const void *data, size_t len,
			      struct wharf_error *err)
{
	json_t *length = json_object_get(fm, "length");
	json_t *hashes = json_object_get(fm, "hashes");
	if (!json_is_integer(length) || !json_is_object(hashes))
		return wharf_error_set(err, WHARF_EINVAL, "%s: file meta needs length and hashes", role);
	if ((uint64_t)json_integer_value(length) != len)
		return wharf_error_set(err, WHARF_EINVAL, "%s is %zu bytes, but its meta says %lld", role, len,
				       (long long)json_integer_value(length));
	const char *names[] = {"sha256", "sha512"};
	const EVP_MD *mds[] = {EVP_sha256(), EVP_sha512()};
	int checked = 0;
	for (int i = 0; i < 2; i++) {
		const char *want = json_string_value(json_object_get(hashes, names[i]));
		if (!want)
			continue;
		_cleanup_free_ char *got = hash_b64(mds[i], data, len);
		if (strcmp(got, want) != 0)
			return wharf_error_set(err, WHARF_EINVAL, "%s: %s hash %s does not match the meta's %.60s", role,
					       names[i], got, want);
		checked++;
	}
	if (!checked)
		return wharf_error_set(err, WHARF_EINVAL, "%s: file meta has neither a sha256 nor a sha512 hash", role);
	return 0;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int wharf_time_parse_rfc3339(const char *s, int64_t *out, struct wharf_error *err)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec;
	size_t len = strlen(s);
	if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || sec > 60)
		return wharf_error_set(err, WHARF_EINVAL, "time '%.40s' is not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ)", s);
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return wharf_error_set(err, WHARF_EINVAL, "time '%.40s' has an empty fraction", s);
		while (isdigit((unsigned char)*p))
			p++;
	}
	int64_t offset = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return wharf_error_set(err, WHARF_EINVAL, "time '%.40s' has a bad zone offset", s);
		offset = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	} else {
		return wharf_error_set(err, WHARF_EINVAL, "time '%.40s' must end in Z or a +hh:mm offset", s);
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) - offset;
	return 0;
}

void wharf_time_format_rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
