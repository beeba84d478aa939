/* keys: what the files of src/keys share; not part of libwharf's interface. */
#ifndef WHARF_KEYS_INTERNAL_H
#define WHARF_KEYS_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "wharf/keys.h"
#include "wharf/pkcs11.h"

#define KEYS_RSA_MIN_BITS 2048  /* Notary's verifiers refuse shorter moduli */
#define KEYS_RSA_MAX_BITS 16384 /* bounds the cost of a hostile key */
#define KEYS_RSA_GEN_BITS 3072

struct wharf_key {
	enum wharf_key_type type;
	EVP_PKEY *pkey; /* the public key, and the private half when has_private */
	X509 *cert;     /* ECDSA_X509 and RSA_X509 only */
	bool has_private;
	/* Notary's "keyval.public" bytes: DER SubjectPublicKeyInfo (ecdsa, rsa), the PEM text of
	 * the certificate (x509 types), the raw 32 bytes (ed25519). Kept exactly as read, since the
	 * key ID is a hash over them. */
	unsigned char *pub;
	size_t pub_len;
	/* The TUF key object's strings exactly as read (NULL for a key that did not come from TUF
	 * metadata): its key ID hashes them, so they must come back out unchanged. */
	char *tuf_keytype;
	char *tuf_scheme;
	char *tuf_public;
	/* Set when the private half lives elsewhere (a PKCS#11 token): signing goes through it
	 * (one reference held per key). has_private is then true, but pkey is public only. */
	struct wharf_key_signer *signer;
};

/* A new key of type t over pkey (reference taken over by the key); fills pub from pkey, or
 * from cert's PEM text for the x509 types (cert reference taken over too). */
int keys_new(struct wharf_key **out, enum wharf_key_type t, EVP_PKEY *pkey, X509 *cert,
	     bool has_private, struct wharf_error *err);
/* Share src's signer (if any) with k. */
void keys_share_signer(struct wharf_key *k, const struct wharf_key *src);
/* Sign a certificate whose fields are filled through k's signer (ECDSA with SHA-256). */
int keys_x509_sign_with_signer(X509 *cert, const struct wharf_key *k, struct wharf_error *err);

/* Check that pkey is what type t demands: P-256 (named curve) for ecdsa, Ed25519, RSA of
 * KEYS_RSA_MIN_BITS..KEYS_RSA_MAX_BITS. `what` names the key in the message. */
int keys_check_pkey(const EVP_PKEY *pkey, enum wharf_key_type t, const char *what,
		    struct wharf_error *err);
/* The key type a bare public key would have (ECDSA, ED25519, RSA), or -1. */
int keys_pkey_type(const EVP_PKEY *pkey);
/* Parse the first PEM certificate of pem/len. */
int keys_load_cert(X509 **out, const unsigned char *pem, size_t len, const char *what,
		   struct wharf_error *err);
/* DER SubjectPublicKeyInfo of pkey, appended to out. */
int keys_spki_der(const EVP_PKEY *pkey, struct wharf_buf *out, struct wharf_error *err);
/* The TUF scheme of a key type. */
const char *keys_tuf_scheme(enum wharf_key_type t);
/* Empty OpenSSL's error queue, keeping the last reason for a message. */
const char *keys_openssl_reason(void);
/* Decode base64 that may be wrapped across lines (PEM bodies). */
int keys_base64_decode_lines(const char *s, size_t len, struct wharf_buf *out, struct wharf_error *err);

static inline void keys_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}
static inline void keys_x509_freep(X509 **p)
{
	X509_free(*p);
}
static inline void keys_md_ctx_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}
static inline void keys_json_decrefp(json_t **p)
{
	json_decref(*p);
}
static inline void keys_buf_freep(struct wharf_buf *b)
{
	wharf_buf_free(b);
}
#define _cleanup_pkey_ _cleanup_(keys_pkey_freep)
#define _cleanup_x509_ _cleanup_(keys_x509_freep)
#define _cleanup_md_ctx_ _cleanup_(keys_md_ctx_freep)
#define _cleanup_json_ _cleanup_(keys_json_decrefp)
#define _cleanup_buf_ _cleanup_(keys_buf_freep)

#endif
