/* Signing and verifying, as Notary and the TUF specification's tools do it.
 *
 *  key type         Notary method  Notary signature         TUF scheme            TUF signature
 *  ecdsa(-x509)     "ecdsa"        r||s, 32+32 bytes        ecdsa-sha2-nistp256   DER
 *  ed25519          "eddsa"        64 bytes                 ed25519               64 bytes
 *  rsa(-x509)       "rsapss"       PSS, SHA-256, salt 32    rsassa-pss-sha256     PSS, SHA-256
 *
 * ECDSA and RSA-PSS hash the data with SHA-256; Ed25519 signs the data itself. Notary lower-cases
 * the method it reads (tuf/data/types.go, Signature.UnmarshalJSON), so we compare without case.
 * Notary verifies PSS with a salt of exactly 32 bytes (rsa.VerifyPSS with SaltLength 32);
 * securesystemslib and python-tuf verify with the salt length found in the signature (PSS.AUTO),
 * so the TUF dialect does too. Both sign with a salt as long as the hash. */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "keys-internal.h"

#define P256_FIELD_BYTES 32

static const char *notary_method(enum wharf_key_type t)
{
	switch (t) {
	case WHARF_KEY_ECDSA:
	case WHARF_KEY_ECDSA_X509: return "ecdsa";
	case WHARF_KEY_ED25519: return "eddsa";
	case WHARF_KEY_RSA:
	case WHARF_KEY_RSA_X509: return "rsapss";
	}
	return "unknown";
}

static bool is_ecdsa(enum wharf_key_type t)
{
	return t == WHARF_KEY_ECDSA || t == WHARF_KEY_ECDSA_X509;
}

static bool is_rsa(enum wharf_key_type t)
{
	return t == WHARF_KEY_RSA || t == WHARF_KEY_RSA_X509;
}

/* A digest-sign or digest-verify context for k: SHA-256, PSS for RSA. */
static EVP_MD_CTX *start(const struct wharf_key *k, bool sign, int pss_salt)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const char *md = k->type == WHARF_KEY_ED25519 ? NULL : "SHA256";
	if (!ctx)
		return NULL;
	int ok = sign ? EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, k->pkey, NULL)
		      : EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, k->pkey, NULL);
	if (ok == 1 && is_rsa(k->type))
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) == 1;
	if (ok != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* DER ECDSA-Sig-Value -> r||s, each left-padded to the field size. */
static int der_to_raw(const unsigned char *der, size_t len, struct wharf_buf *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (!sig)
		return -1;
	unsigned char raw[2 * P256_FIELD_BYTES];
	const BIGNUM *r;
	const BIGNUM *s;
	ECDSA_SIG_get0(sig, &r, &s);
	int ok = BN_bn2binpad(r, raw, P256_FIELD_BYTES) == P256_FIELD_BYTES &&
		 BN_bn2binpad(s, raw + P256_FIELD_BYTES, P256_FIELD_BYTES) == P256_FIELD_BYTES;
	ECDSA_SIG_free(sig);
	if (!ok)
		return -1;
	wharf_buf_append(out, raw, sizeof(raw));
	return 0;
}

/* r||s -> DER, for OpenSSL's verifier. */
static int raw_to_der(const unsigned char *raw, struct wharf_buf *out)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, P256_FIELD_BYTES, NULL);
	BIGNUM *s = BN_bin2bn(raw + P256_FIELD_BYTES, P256_FIELD_BYTES, NULL);
	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return -1;
	}
	unsigned char *der = NULL;
	int n = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -1;
	wharf_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

static const char *method_name(const struct wharf_key *k, enum wharf_key_dialect dialect)
{
	if (dialect == WHARF_DIALECT_TUF)
		return k->tuf_scheme ? k->tuf_scheme : keys_tuf_scheme(k->type);
	return notary_method(k->type);
}

/* A token signs the SHA-256 digest (CKM_ECDSA: hash-then-sign) and returns r||s. */
static int sign_with_signer(const struct wharf_key *k, enum wharf_key_dialect dialect, const void *data,
			    size_t len, struct wharf_buf *sig, const char **method, const char *id,
			    struct wharf_error *err)
{
	if (!is_ecdsa(k->type))
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "key %s: only ECDSA keys sign on a token", id);
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "key %s: cannot hash: %s", id, keys_openssl_reason());
	_cleanup_buf_ struct wharf_buf rs = {0};
	int r = k->signer->sign_digest(k->signer, md, mdlen, &rs, err);
	if (r < 0)
		return wharf_error_prefix(err, "key %s", id);
	if (rs.len != 2 * P256_FIELD_BYTES)
		return wharf_error_set(err, WHARF_EINVAL, "key %s: the token's signature is %zu bytes, not %d", id,
				       rs.len, 2 * P256_FIELD_BYTES);
	if (dialect == WHARF_DIALECT_NOTARY)
		wharf_buf_append(sig, rs.data, rs.len);
	else if (raw_to_der((const unsigned char *)rs.data, sig) < 0)
		return wharf_error_set(err, WHARF_EINTERNAL, "key %s: cannot convert signature", id);
	if (method)
		*method = method_name(k, dialect);
	return 0;
}

int wharf_key_sign(const struct wharf_key *k, enum wharf_key_dialect dialect, const void *data,
		   size_t len, struct wharf_buf *sig, const char **method, struct wharf_error *err)
{
	char id[65];
	wharf_key_id(k, dialect, id);
	if (!k->has_private)
		return wharf_error_set(err, WHARF_EINVAL, "key %s (%s): no private half to sign with", id,
				       wharf_key_type_name(k->type));
	if (k->signer)
		return sign_with_signer(k, dialect, data, len, sig, method, id, err);
	_cleanup_md_ctx_ EVP_MD_CTX *ctx = start(k, true, RSA_PSS_SALTLEN_DIGEST);
	size_t n = 0;
	if (!ctx || EVP_DigestSign(ctx, NULL, &n, data, len) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "key %s: cannot sign: %s", id,
				       keys_openssl_reason());
	_cleanup_free_ unsigned char *raw = wharf_xmalloc(n);
	if (EVP_DigestSign(ctx, raw, &n, data, len) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "key %s: cannot sign: %s", id,
				       keys_openssl_reason());
	if (is_ecdsa(k->type) && dialect == WHARF_DIALECT_NOTARY) {
		if (der_to_raw(raw, n, sig) < 0)
			return wharf_error_set(err, WHARF_EINTERNAL, "key %s: bad ECDSA signature", id);
	} else {
		wharf_buf_append(sig, raw, n);
	}
	if (method)
		*method = method_name(k, dialect);
	return 0;
}

static int check_method(const struct wharf_key *k, enum wharf_key_dialect dialect,
			const char *method, const char *id, struct wharf_error *err)
{
	const char *want = method_name(k, dialect);
	if (dialect == WHARF_DIALECT_TUF) {
		if (method && strcmp(method, want) != 0)
			return wharf_error_set(err, WHARF_EINVAL,
					       "key %s (%s): scheme \"%.40s\" is not the key's scheme %s",
					       id, wharf_key_type_name(k->type), method, want);
		return 0;
	}
	if (!method)
		return wharf_error_set(err, WHARF_EINVAL, "key %s (%s): signature has no method", id,
				       wharf_key_type_name(k->type));
	if (strcasecmp(method, want) != 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "key %s (%s): method \"%.40s\" does not fit the key (want \"%s\")",
				       id, wharf_key_type_name(k->type), method, want);
	return 0;
}

/* The signature bytes OpenSSL should check, after the dialect's length rules. */
static int prepare_sig(const struct wharf_key *k, enum wharf_key_dialect dialect,
		       const unsigned char *sig, size_t sig_len, struct wharf_buf *out,
		       const char *id, struct wharf_error *err)
{
	size_t want = 0;
	if (k->type == WHARF_KEY_ED25519)
		want = 64;
	else if (is_rsa(k->type))
		want = (size_t)EVP_PKEY_get_size(k->pkey);
	else if (dialect == WHARF_DIALECT_NOTARY)
		want = 2 * P256_FIELD_BYTES;
	if (want && sig_len != want)
		return wharf_error_set(err, WHARF_EINVAL,
				       "key %s (%s): signature is %zu bytes, a good one has %zu", id,
				       wharf_key_type_name(k->type), sig_len, want);
	if (is_ecdsa(k->type) && dialect == WHARF_DIALECT_NOTARY) {
		if (raw_to_der(sig, out) < 0)
			return wharf_error_set(err, WHARF_EINTERNAL, "key %s: cannot convert signature",
					       id);
		return 0;
	}
	if (is_ecdsa(k->type) && (sig_len < 8 || sig_len > 72))
		return wharf_error_set(err, WHARF_EINVAL,
				       "key %s (%s): %zu bytes is no DER P-256 signature", id,
				       wharf_key_type_name(k->type), sig_len);
	wharf_buf_append(out, sig, sig_len);
	return 0;
}

int wharf_key_verify(const struct wharf_key *k, enum wharf_key_dialect dialect, const char *method,
		     const void *sig, size_t sig_len, const void *data, size_t len, struct wharf_error *err)
{
	char id[65];
	wharf_key_id(k, dialect, id);
	int r = check_method(k, dialect, method, id, err);
	if (r < 0)
		return r;
	_cleanup_buf_ struct wharf_buf s = {0};
	if ((r = prepare_sig(k, dialect, sig, sig_len, &s, id, err)) < 0)
		return r;
	int salt = dialect == WHARF_DIALECT_NOTARY ? 32 : RSA_PSS_SALTLEN_AUTO;
	_cleanup_md_ctx_ EVP_MD_CTX *ctx = start(k, false, salt);
	if (!ctx)
		return wharf_error_set(err, WHARF_EINTERNAL, "key %s: cannot verify: %s", id,
				       keys_openssl_reason());
	int ok = EVP_DigestVerify(ctx, (const unsigned char *)s.data, s.len, data, len);
	ERR_clear_error();
	if (ok != 1)
		return wharf_error_set(err, WHARF_EINVAL,
				       "key %s (%s): signature does not match the data", id,
				       wharf_key_type_name(k->type));
	return 0;
}
