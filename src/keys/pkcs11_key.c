/* Keys whose private half lives elsewhere (a PKCS#11 token): the signer hook of key objects. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "keys-internal.h"

void keys_share_signer(struct wharf_key *k, const struct wharf_key *src)
{
	if (!src->signer)
		return;
	k->signer = src->signer;
	k->signer->refs++;
}

/* Certificates signed on a token: OpenSSL signs only with a private key it holds, so the
 * certificate is first signed with a throwaway key (which fills both algorithm fields with
 * ecdsa-with-SHA256 and encodes the to-be-signed part, whose public key is the token's), then
 * the signature is replaced by the token's signature over that same encoding and checked. */
int keys_x509_sign_with_signer(X509 *cert, const struct wharf_key *k, struct wharf_error *err)
{
	_cleanup_pkey_ EVP_PKEY *tmp = EVP_EC_gen("P-256");
	if (!tmp || X509_sign(cert, tmp, EVP_sha256()) <= 0)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot prepare certificate: %s", keys_openssl_reason());
	unsigned char *tbs = NULL;
	int n = i2d_re_X509_tbs(cert, &tbs);
	if (n <= 0)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot encode certificate: %s", keys_openssl_reason());
	_cleanup_buf_ struct wharf_buf der = {0};
	int r = wharf_key_sign(k, WHARF_DIALECT_TUF, tbs, (size_t)n, &der, NULL, err);
	OPENSSL_free(tbs);
	if (r < 0)
		return wharf_error_prefix(err, "certificate signature");
	const ASN1_BIT_STRING *psig = NULL;
	X509_get0_signature(&psig, NULL, cert);
	ASN1_BIT_STRING *sig = (ASN1_BIT_STRING *)psig;
	if (!ASN1_BIT_STRING_set(sig, (unsigned char *)der.data, (int)der.len))
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot set certificate signature");
	sig->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	sig->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	if (X509_verify(cert, k->pkey) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "the token's certificate signature does not verify: %s",
				       keys_openssl_reason());
	return 0;
}

int wharf_key_with_signer(struct wharf_key **out, const struct wharf_key *pub, struct wharf_key_signer *signer,
			  struct wharf_error *err)
{
	if (pub->type != WHARF_KEY_ECDSA && pub->type != WHARF_KEY_ECDSA_X509)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "a %s key cannot sign on a token (ecdsa only)",
				       wharf_key_type_name(pub->type));
	if (!EVP_PKEY_up_ref(pub->pkey))
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot share key");
	if (pub->cert && !X509_up_ref(pub->cert)) {
		EVP_PKEY_free(pub->pkey);
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot share certificate");
	}
	int r = keys_new(out, pub->type, pub->pkey, pub->cert, true, err);
	if (r < 0)
		return r;
	(*out)->signer = signer;
	signer->refs++;
	return 0;
}
