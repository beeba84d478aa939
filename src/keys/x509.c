/* Certificate keys: Notary's root keys are self-signed X.509 certificates with CN = GUN.
 *
 * Where Notary looks at a certificate's validity period: not when verifying a signature
 * (tuf/signed/verifiers.go takes the public key out of the certificate and nothing else), but
 * when it accepts a root (trustpinning/certs.go, ValidateRoot -> validRootLeafCerts ->
 * utils.ValidateCertificate): the leaf certificates of a new root.json must have CN = GUN (or
 * a "prefix*" wildcard), NotBefore <= NotAfter, no SHA-1 signature, RSA of 2048 bits or more,
 * and must be valid now, with one day of leeway on NotBefore ("tomorrow before NotBefore" is
 * refused) and none on NotAfter. The certificates of the previously trusted root, used to check
 * a rotation, are not checked for expiry. So wharf_key_verify does not look at dates either;
 * the trust module does that check for root keys, with wharf_key_x509_info. */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "keys-internal.h"

static int add_ext(X509 *cert, int nid, const char *value, struct wharf_error *err)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext || !X509_add_ext(cert, ext, -1)) {
		X509_EXTENSION_free(ext);
		return wharf_error_set(err, WHARF_EINTERNAL, "certificate extension %s: %s", value,
				       keys_openssl_reason());
	}
	X509_EXTENSION_free(ext);
	return 0;
}

/* A positive random serial below 2^128, as Notary draws it. */
static int set_serial(X509 *cert, struct wharf_error *err)
{
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "no randomness for a serial: %s",
				       keys_openssl_reason());
	raw[0] &= 0x7f;
	raw[0] |= raw[0] ? 0 : 1; /* never zero, never shorter than it looks */
	BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
	ASN1_INTEGER *serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	int ok = serial && X509_set_serialNumber(cert, serial);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	if (!ok)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot set serial: %s",
				       keys_openssl_reason());
	return 0;
}

/* signer: a key whose private half is on a token, or NULL to sign with pkey. */
static int fill_cert(X509 *cert, EVP_PKEY *pkey, const struct wharf_key *signer, const char *cn, int days,
		     struct wharf_error *err)
{
	int r;
	if (!X509_set_version(cert, 2)) /* v3 */
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot set certificate version");
	if ((r = set_serial(cert, err)) < 0)
		return r;
	X509_NAME *name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(cert, name))
		return wharf_error_set(err, WHARF_EINVAL, "certificate CN \"%.100s\": %s", cn,
				       keys_openssl_reason());
	time_t now = time(NULL);
	if (!X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, &now) || !X509_set_pubkey(cert, pkey))
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot fill certificate: %s",
				       keys_openssl_reason());
	/* The extensions Notary's template asks Go for (tuf/utils/x509.go, NewCertificate); Go marks
	 * key usage and basic constraints critical. */
	if ((r = add_ext(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment", err)) < 0 ||
	    (r = add_ext(cert, NID_ext_key_usage, "codeSigning", err)) < 0 ||
	    (r = add_ext(cert, NID_basic_constraints, "critical,CA:FALSE", err)) < 0)
		return r;
	if (signer)
		return keys_x509_sign_with_signer(cert, signer, err);
	if (X509_sign(cert, pkey, EVP_sha256()) <= 0)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot sign certificate: %s",
				       keys_openssl_reason());
	return 0;
}

int wharf_key_make_x509(struct wharf_key **out, const struct wharf_key *k, const char *common_name,
			int days, struct wharf_error *err)
{
	enum wharf_key_type t;
	if (k->type == WHARF_KEY_ECDSA)
		t = WHARF_KEY_ECDSA_X509;
	else if (k->type == WHARF_KEY_RSA)
		t = WHARF_KEY_RSA_X509;
	else
		return wharf_error_set(err, WHARF_EUNSUPPORTED,
				       "certificate for a %s key: only ecdsa and rsa keys get certificates "
				       "(as in Notary)",
				       wharf_key_type_name(k->type));
	if (!k->has_private)
		return wharf_error_set(err, WHARF_EINVAL,
				       "certificate for \"%.100s\": the key has no private half to sign it",
				       common_name);
	if (!common_name || !common_name[0] || strlen(common_name) > 64)
		return wharf_error_set(err, WHARF_EINVAL,
				       "certificate CN must be 1 to 64 characters (X.509 upper bound)");
	if (days <= 0 || days > 36500)
		return wharf_error_set(err, WHARF_EINVAL,
				       "certificate for \"%s\": validity of %d days is not 1 to 36500",
				       common_name, days);
	_cleanup_x509_ X509 *cert = X509_new();
	if (!cert)
		return wharf_error_set(err, WHARF_EINTERNAL, "out of memory");
	int r = fill_cert(cert, k->pkey, k->signer ? k : NULL, common_name, days, err);
	if (r < 0)
		return r;
	if (!EVP_PKEY_up_ref(k->pkey))
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot share key");
	if ((r = keys_new(out, t, k->pkey, steal_pointer(&cert), k->has_private, err)) < 0)
		return r;
	keys_share_signer(*out, k);
	return 0;
}

int wharf_key_x509_info(const struct wharf_key *k, char *cn, size_t cn_len, int64_t *not_after,
			struct wharf_error *err)
{
	if (!k->cert)
		return wharf_error_set(err, WHARF_EINVAL, "a %s key has no certificate",
				       wharf_key_type_name(k->type));
	if (cn && cn_len > 0) {
		X509_NAME *name = X509_get_subject_name(k->cert);
		int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
		if (i < 0)
			return wharf_error_set(err, WHARF_EINVAL, "certificate has no common name");
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
		if (n < 0)
			return wharf_error_set(err, WHARF_EINVAL, "certificate common name unreadable: %s",
					       keys_openssl_reason());
		bool fits = (size_t)n < cn_len && !memchr(utf8, '\0', (size_t)n);
		if (fits) {
			memcpy(cn, utf8, (size_t)n);
			cn[n] = '\0';
		}
		OPENSSL_free(utf8);
		if (!fits)
			return wharf_error_set(err, WHARF_EINVAL,
					       "certificate common name does not fit %zu bytes or holds NUL",
					       cn_len);
	}
	if (not_after) {
		struct tm tm;
		if (!ASN1_TIME_to_tm(X509_get0_notAfter(k->cert), &tm))
			return wharf_error_set(err, WHARF_EINVAL, "certificate expiry unreadable");
		*not_after = (int64_t)timegm(&tm);
	}
	return 0;
}
