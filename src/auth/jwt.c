/* ES256 JSON Web Tokens. Verification accepts exactly one algorithm and one key: the header's
 * alg must be "ES256"; "none", HS* (a public key used as an HMAC secret) and the rest are refused
 * before any signature work. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "wharf/auth.h"
#include "wharf/keys.h"
#include "wharf/json.h"

#define JWT_MAX 8192 /* a token longer than this is refused unparsed */

struct wharf_jwt_key {
	EVP_PKEY *pkey;
	bool has_private;
	char kid[65];
};

static int b64_decode(const char *s, size_t len, bool url, unsigned char **out, size_t *out_len)
{
	if (!url)
		while (len > 0 && s[len - 1] == '=')
			len--;
	if (len % 4 == 1)
		return -WHARF_EINVAL;
	unsigned char *buf = wharf_xmalloc(len / 4 * 3 + 3);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = wharf_base64_value((unsigned char)s[i], url);
		if (v < 0) {
			free(buf);
			return -WHARF_EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out = buf;
	*out_len = o;
	return 0;
}

int wharf_b64url_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
	return b64_decode(s, len, true, out, out_len);
}

int wharf_basic_parse(const char *header, char **user, char **password, struct wharf_error *err)
{
	if (!header || strncasecmp(header, "Basic ", 6) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "Authorization header is not Basic");
	const char *p = header + 6;
	while (*p == ' ')
		p++;
	size_t len = strlen(p);
	if (len > 1024)
		return wharf_error_set(err, WHARF_ETOOBIG, "Basic credentials longer than 1024 characters");
	unsigned char *raw = NULL;
	size_t n = 0;
	if (b64_decode(p, len, false, &raw, &n) < 0)
		return wharf_error_set(err, WHARF_EINVAL, "Basic credentials are not base64");
	char *colon = memchr(raw, ':', n);
	if (!colon || memchr(raw, 0, n)) {
		free(raw);
		return wharf_error_set(err, WHARF_EINVAL, "Basic credentials are not user:password");
	}
	*user = wharf_xstrndup((char *)raw, (size_t)(colon - (char *)raw));
	*password = wharf_xstrndup(colon + 1, n - (size_t)(colon + 1 - (char *)raw));
	free(raw);
	return 0;
}

static void key_set_id(struct wharf_jwt_key *k)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k->pkey, &der);
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(der, n > 0 ? (size_t)n : 0, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	for (int i = 0; i < 16; i++)
		snprintf(k->kid + 2 * i, 3, "%02x", md[i]);
}

static int key_check_p256(EVP_PKEY *pkey, struct wharf_error *err)
{
	char group[64] = "";
	size_t glen = 0;
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) ||
	    strcmp(group, "prime256v1") != 0)
		return wharf_error_set(err, WHARF_EINVAL, "token key is not an EC P-256 key");
	return 0;
}

int wharf_jwt_key_from_pem(struct wharf_jwt_key **out, const char *pem, size_t len, struct wharf_error *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	bool priv = pkey != NULL;
	if (!pkey) {
		BIO_free(bio);
		bio = BIO_new_mem_buf(pem, (int)len);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	BIO_free(bio);
	if (!pkey)
		return wharf_error_set(err, WHARF_EINVAL, "token key: not a PEM key");
	if (key_check_p256(pkey, err) < 0) {
		EVP_PKEY_free(pkey);
		return -WHARF_EINVAL;
	}
	struct wharf_jwt_key *k = wharf_xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->has_private = priv;
	key_set_id(k);
	*out = k;
	return 0;
}

static int key_create(const char *path, struct wharf_error *err)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	if (!pkey)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot generate the token key");
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	int r = wharf_atomic_write(path, data, (size_t)n, 0600, err);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return r;
}

int wharf_jwt_key_load_or_create(struct wharf_jwt_key **out, const char *path, struct wharf_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return wharf_error_sys(err, "token key %s", path);
		int r = key_create(path, err);
		if (r < 0)
			return r;
	} else if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		return wharf_error_set(err, WHARF_EINVAL, "token key %s must be a regular file of mode 0600", path);
	}
	_cleanup_free_ char *pem = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, 65536, &pem, &len, err);
	if (r < 0)
		return r;
	r = wharf_jwt_key_from_pem(out, pem, len, err);
	return r < 0 ? wharf_error_prefix(err, "%s", path) : 0;
}

void wharf_jwt_key_free(struct wharf_jwt_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *wharf_jwt_key_id(const struct wharf_jwt_key *k)
{
	return k->kid;
}

static char *b64_json(const json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	return wharf_b64url_encode((const unsigned char *)s, strlen(s));
}

/* DER ECDSA signature -> JWS r||s, 32 bytes each. */
static int der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (!sig)
		return -1;
	const BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG_get0(sig, &r, &s);
	int ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

static unsigned char *raw_to_der(const unsigned char raw[64], size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	ECDSA_SIG_set0(sig, r, s);
	unsigned char *der = NULL;
	int n = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

int wharf_jwt_sign(const struct wharf_jwt_key *k, const json_t *claims, char **out, struct wharf_error *err)
{
	if (!k->has_private)
		return wharf_error_set(err, WHARF_EINVAL, "token key has no private part");
	json_t *hdr = json_pack("{s:s,s:s,s:s}", "alg", "ES256", "typ", "JWT", "kid", k->kid);
	_cleanup_free_ char *h = b64_json(hdr);
	json_decref(hdr);
	_cleanup_free_ char *c = b64_json(claims);
	_cleanup_free_ char *input = wharf_xasprintf("%s.%s", h, c);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t derlen = sizeof(der);
	int ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		 EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)input, strlen(input)) == 1;
	EVP_MD_CTX_free(ctx);
	unsigned char raw[64];
	if (!ok || der_to_raw(der, derlen, raw) < 0)
		return wharf_error_set(err, WHARF_EINTERNAL, "ES256 signing failed");
	_cleanup_free_ char *sig = wharf_b64url_encode(raw, 64);
	*out = wharf_xasprintf("%s.%s", input, sig);
	return 0;
}

static json_t *decode_json_part(const char *s, size_t len)
{
	unsigned char *raw = NULL;
	size_t n = 0;
	if (wharf_b64url_decode(s, len, &raw, &n) < 0)
		return NULL;
	json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int check_header(const char *s, size_t len, struct wharf_error *err)
{
	json_t *hdr = decode_json_part(s, len);
	if (!hdr)
		return wharf_error_set(err, WHARF_EINVAL, "token header is not base64url JSON");
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	int r = 0;
	if (!alg || strcmp(alg, "ES256") != 0)
		r = wharf_error_set(err, WHARF_EINVAL, "token algorithm '%.20s' is not ES256", alg ? alg : "(none)");
	else if (json_object_get(hdr, "crit"))
		r = wharf_error_set(err, WHARF_EINVAL, "token header has critical extensions");
	json_decref(hdr);
	return r;
}

static int verify_signature(const struct wharf_jwt_key *k, const char *input, size_t input_len, const char *sig,
			    size_t sig_len, struct wharf_error *err)
{
	unsigned char *raw = NULL;
	size_t n = 0;
	if (wharf_b64url_decode(sig, sig_len, &raw, &n) < 0 || n != 64) {
		free(raw);
		return wharf_error_set(err, WHARF_EINVAL, "token signature is not 64 bytes of base64url");
	}
	size_t derlen = 0;
	unsigned char *der = raw_to_der(raw, &derlen);
	free(raw);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = der && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		 EVP_DigestVerify(ctx, der, derlen, (const unsigned char *)input, input_len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok ? 0 : wharf_error_set(err, WHARF_EINVAL, "token signature does not verify with this server's key");
}

int wharf_jwt_verify(const struct wharf_jwt_key *k, const char *token, json_t **claims, struct wharf_error *err)
{
	size_t len = strnlen(token, JWT_MAX + 1);
	if (len > JWT_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "token longer than %d bytes", JWT_MAX);
	const char *d1 = memchr(token, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return wharf_error_set(err, WHARF_EINVAL, "token is not three dot-separated parts");
	int r = check_header(token, (size_t)(d1 - token), err);
	if (r == 0)
		r = verify_signature(k, token, (size_t)(d2 - token), d2 + 1, len - (size_t)(d2 + 1 - token), err);
	if (r < 0)
		return r;
	json_t *c = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!c)
		return wharf_error_set(err, WHARF_EINVAL, "token claims are not base64url JSON object");
	*claims = c;
	return 0;
}

static bool aud_matches(const json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	return wharf_json_array_has_string(aud, want);
}

int wharf_jwt_check_claims(const json_t *claims, const char *iss, const char *aud, int64_t now, int64_t leeway,
			   struct wharf_error *err)
{
	const char *got_iss = json_string_value(json_object_get(claims, "iss"));
	if (!got_iss || strcmp(got_iss, iss) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "token issuer is not '%s'", iss);
	if (!aud_matches(json_object_get(claims, "aud"), aud))
		return wharf_error_set(err, WHARF_EINVAL, "token audience is not '%s'", aud);
	json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf"),
	       *iat = json_object_get(claims, "iat");
	if (!json_is_integer(exp) || !json_is_integer(nbf) || !json_is_integer(iat))
		return wharf_error_set(err, WHARF_EINVAL, "token lacks integer exp, nbf and iat claims");
	if (json_integer_value(exp) + leeway < now)
		return wharf_error_set(err, WHARF_EINVAL, "token expired");
	if (json_integer_value(nbf) - leeway > now || json_integer_value(iat) - leeway > now)
		return wharf_error_set(err, WHARF_EINVAL, "token is not valid yet");
	return 0;
}

unsigned wharf_jwt_access_actions(const json_t *claims, const char *type, const char *name)
{
	unsigned bits = 0;
	size_t i, j;
	json_t *e, *a;
	json_array_foreach(json_object_get(claims, "access"), i, e) {
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *n = json_string_value(json_object_get(e, "name"));
		if (!t || !n || strcmp(t, type) != 0 || strcmp(n, name) != 0)
			continue;
		json_array_foreach(json_object_get(e, "actions"), j, a) {
			const char *s = json_string_value(a);
			if (s)
				bits |= wharf_actions_parse(s, strlen(s));
		}
	}
	return bits;
}
