/* Private keys at rest: PKCS#8 EncryptedPrivateKeyInfo in PEM ("ENCRYPTED PRIVATE KEY"),
 * PBES2 with scrypt and AES-256-CBC.
 *
 * Reading also takes what Notary writes (tuf/utils/pkcs8.go): PBES2 with PBKDF2-HMAC-SHA1 and
 * AES-256-CBC, in a PEM block carrying "role: ..." and "gun: ..." header lines, which OpenSSL's
 * PEM reader refuses (it wants Proc-Type first); so we find the block and decode it ourselves.
 * Notary's ECDSA and RSA key files load; its Ed25519 files use a private OID and do not. */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#include "keys-internal.h"

/* scrypt cost: OpenSSL's own default for `openssl pkcs8 -scrypt` (N = 2^14, r = 8, p = 1),
 * 16 MiB per attempt; OpenSSL refuses to derive with more than 32 MiB when decrypting. */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define PEM_BEGIN "-----BEGIN ENCRYPTED PRIVATE KEY-----"
#define PEM_END "-----END ENCRYPTED PRIVATE KEY-----"
#define PEM_MAX (1u << 20)

static void secret_buf_freep(struct wharf_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	wharf_buf_free(b);
}
#define _cleanup_secret_ _cleanup_(secret_buf_freep)

int wharf_key_private_to_pem(const struct wharf_key *k, const char *passphrase, struct wharf_buf *pem,
			     struct wharf_error *err)
{
	if (!k->has_private)
		return wharf_error_set(err, WHARF_EINVAL, "%s key has no private half to write",
				       wharf_key_type_name(k->type));
	if (k->signer)
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s key: its private half is on a token and cannot be written out",
				       wharf_key_type_name(k->type));
	if (!passphrase || !passphrase[0])
		return wharf_error_set(err, WHARF_EINVAL, "an empty passphrase is refused");
	size_t plen = strlen(passphrase);
	if (plen > INT_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "passphrase too long");
	unsigned char salt[16];
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "no randomness for a salt: %s",
				       keys_openssl_reason());
	PKCS8_PRIV_KEY_INFO *p8inf = EVP_PKEY2PKCS8(k->pkey);
	X509_ALGOR *pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt, sizeof(salt), NULL, SCRYPT_N,
						SCRYPT_R, SCRYPT_P);
	X509_SIG *p8 = p8inf && pbe ? PKCS8_set0_pbe(passphrase, (int)plen, p8inf, pbe) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	if (!p8) {
		X509_ALGOR_free(pbe); /* PKCS8_set0_pbe owns it only once it succeeded */
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot encrypt %s key: %s",
				       wharf_key_type_name(k->type), keys_openssl_reason());
	}
	BIO *bio = BIO_new(BIO_s_mem());
	int ok = bio && PEM_write_bio_PKCS8(bio, p8);
	X509_SIG_free(p8);
	if (!ok) {
		BIO_free(bio);
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot write PEM: %s",
				       keys_openssl_reason());
	}
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	wharf_buf_append(pem, data, (size_t)n);
	BIO_free(bio);
	return 0;
}

/* The DER inside the first ENCRYPTED PRIVATE KEY block, skipping RFC 1421 style header lines
 * ("name: value" up to a blank line) such as Notary's role and gun. */
static int pem_body(const char *pem, size_t len, struct wharf_buf *der, struct wharf_error *err)
{
	const char *begin = memmem(pem, len, PEM_BEGIN, strlen(PEM_BEGIN));
	if (!begin)
		return wharf_error_set(err, WHARF_EINVAL,
				       "private key: no \"ENCRYPTED PRIVATE KEY\" PEM block (unencrypted keys "
				       "are refused)");
	const char *p = begin + strlen(PEM_BEGIN);
	const char *stop = pem + len;
	const char *end = memmem(p, (size_t)(stop - p), PEM_END, strlen(PEM_END));
	if (!end)
		return wharf_error_set(err, WHARF_EINVAL, "private key: PEM block has no END line");
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	const char *first_nl = memchr(p, '\n', (size_t)(end - p));
	if (first_nl && memchr(p, ':', (size_t)(first_nl - p))) {
		/* headers: up to the first empty line */
		const char *blank = NULL;
		for (const char *q = p; q < end; q++) {
			if (*q == '\n' && q + 1 < end && (q[1] == '\n' || (q[1] == '\r' && q + 2 < end && q[2] == '\n'))) {
				blank = q + 1;
				break;
			}
		}
		if (!blank)
			return wharf_error_set(err, WHARF_EINVAL, "private key: PEM headers never end");
		p = blank;
	}
	int r = keys_base64_decode_lines(p, (size_t)(end - p), der, err);
	if (r < 0)
		return wharf_error_prefix(err, "private key: PEM body");
	return 0;
}

static int check_pair(EVP_PKEY *pkey, struct wharf_error *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok = ctx && EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return wharf_error_set(err, WHARF_EINVAL, "private key: wrong passphrase or damaged key");
	}
	return 0;
}

/* The type of key a decrypted private key makes, given the certificate key (or none). */
static int private_type(const EVP_PKEY *pkey, const struct wharf_key *cert, enum wharf_key_type *t,
			struct wharf_error *err)
{
	if (cert) {
		if (!cert->cert)
			return wharf_error_set(err, WHARF_EINVAL,
					       "private key: the %s key given as certificate has none",
					       wharf_key_type_name(cert->type));
		if (EVP_PKEY_eq(cert->pkey, pkey) != 1) {
			ERR_clear_error();
			return wharf_error_set(err, WHARF_EINVAL,
					       "private key does not belong to the certificate");
		}
		*t = cert->type;
		return keys_check_pkey(pkey, *t, "private key", err);
	}
	int have = keys_pkey_type(pkey);
	if (have < 0)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "private key: unsupported type %s",
				       EVP_PKEY_get0_type_name(pkey));
	*t = (enum wharf_key_type)have;
	return keys_check_pkey(pkey, *t, "private key", err);
}

int wharf_key_private_from_pem(struct wharf_key **out, const char *pem, size_t len, const char *passphrase,
			       const struct wharf_key *cert, struct wharf_error *err)
{
	if (!passphrase || !passphrase[0])
		return wharf_error_set(err, WHARF_EINVAL, "an empty passphrase is refused");
	if (len > PEM_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "private key file of %zu bytes is over %u",
				       len, PEM_MAX);
	_cleanup_secret_ struct wharf_buf der = {0};
	int r = pem_body(pem, len, &der, err);
	if (r < 0)
		return r;
	const unsigned char *p = (const unsigned char *)der.data;
	X509_SIG *p8 = d2i_X509_SIG(NULL, &p, (long)der.len);
	if (!p8) {
		ERR_clear_error();
		return wharf_error_set(err, WHARF_EINVAL, "private key: not a PKCS#8 encrypted key");
	}
	PKCS8_PRIV_KEY_INFO *p8inf = PKCS8_decrypt(p8, passphrase, (int)strlen(passphrase));
	X509_SIG_free(p8);
	EVP_PKEY *pkey = p8inf ? EVP_PKCS82PKEY(p8inf) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	if (!pkey) {
		ERR_clear_error();
		return wharf_error_set(err, WHARF_EINVAL, "private key: wrong passphrase or damaged key");
	}
	/* PBES2 has no MAC: a damaged file can decrypt to a well-formed but wrong key. Where the
	 * key carries redundancy (the EC public point, RSA's n = pq and CRT values), check it. */
	if ((r = check_pair(pkey, err)) < 0) {
		EVP_PKEY_free(pkey);
		return r;
	}
	enum wharf_key_type t = WHARF_KEY_ECDSA;
	if ((r = private_type(pkey, cert, &t, err)) < 0) {
		EVP_PKEY_free(pkey);
		return r;
	}
	X509 *x = NULL;
	if (cert) {
		if (!X509_up_ref(cert->cert)) {
			EVP_PKEY_free(pkey);
			return wharf_error_set(err, WHARF_EINTERNAL, "cannot share certificate");
		}
		x = cert->cert;
	}
	struct wharf_key *k = NULL;
	if ((r = keys_new(&k, t, pkey, x, true, err)) < 0)
		return r;
	if (cert) {
		/* The certificate key's own public bytes (a chain, perhaps): its key ID stays. */
		free(k->pub);
		k->pub = wharf_xmalloc(cert->pub_len);
		memcpy(k->pub, cert->pub, cert->pub_len);
		k->pub_len = cert->pub_len;
	}
	*out = k;
	return 0;
}
