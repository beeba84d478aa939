/* keys: public-key cryptography for content trust: key types, key IDs, signing, verifying,
 * and private keys encrypted at rest. Everything over OpenSSL 3 (EVP).
 *
 * Key types and their public encodings, as Notary (TUF "Notary dialect") writes them, all
 * base64 in "keyval.public":
 *   "ecdsa"       DER SubjectPublicKeyInfo of a P-256 key
 *   "ecdsa-x509"  a PEM X.509 certificate holding a P-256 key (Notary's root keys)
 *   "ed25519"     the raw 32-byte public key
 *   "rsa"         DER SubjectPublicKeyInfo of an RSA key
 *   "rsa-x509"    a PEM X.509 certificate holding an RSA key
 * Signature methods: "ecdsa" (SHA-256, raw r||s, 64 bytes for P-256), "eddsa" (Ed25519),
 * "rsapss" (SHA-256, PSS salt length = hash length).
 * The TUF specification dialect ("scheme": ecdsa-sha2-nistp256, ed25519, rsassa-pss-sha256;
 * public keys PEM or hex; signatures hex, ECDSA DER-encoded) is WHARF_DIALECT_TUF. */
#ifndef WHARF_KEYS_H
#define WHARF_KEYS_H

#include <jansson.h>

#include "wharf/util.h"

enum wharf_key_type {
	WHARF_KEY_ECDSA,
	WHARF_KEY_ECDSA_X509,
	WHARF_KEY_ED25519,
	WHARF_KEY_RSA,
	WHARF_KEY_RSA_X509,
};

enum wharf_key_dialect { WHARF_DIALECT_NOTARY, WHARF_DIALECT_TUF };

struct wharf_key; /* a public key, or a key pair when the private half is loaded */

/* From a metadata key object ({"keytype":..,"keyval":{"public":..}} and for TUF "scheme").
 * Checks the encoding fully (a P-256 curve for ecdsa, a parseable certificate for x509, RSA
 * of 2048 to 16384 bits); a non-null keyval.private is refused. Certificate dates are not
 * looked at: Notary checks them only when it accepts a root (see src/keys/x509.c). */
int wharf_key_from_json(struct wharf_key **out, const json_t *obj, enum wharf_key_dialect dialect,
			struct wharf_error *err);
/* The metadata key object of the public half (Notary: "private": null inside keyval). A key
 * read from TUF metadata comes back with its strings exactly as read; a certificate key in the
 * TUF dialect is written as the ecdsa/rsa key it certifies. */
json_t *wharf_key_to_json(const struct wharf_key *k, enum wharf_key_dialect dialect);
/* Key ID: hex SHA-256 of the canonical JSON of wharf_key_to_json. */
void wharf_key_id(const struct wharf_key *k, enum wharf_key_dialect dialect, char out[65]);
enum wharf_key_type wharf_key_type(const struct wharf_key *k);
const char *wharf_key_type_name(enum wharf_key_type t);
bool wharf_key_has_private(const struct wharf_key *k);
void wharf_key_free(struct wharf_key *k);

/* Generate a key pair: ECDSA P-256, Ed25519 or RSA-3072. */
int wharf_key_generate(struct wharf_key **out, enum wharf_key_type t, struct wharf_error *err);
/* A self-signed X.509 certificate over k with CN = common_name, valid for `days`; the result is
 * a new key of type ECDSA_X509/RSA_X509 sharing k's private half (for Notary root keys). */
int wharf_key_make_x509(struct wharf_key **out, const struct wharf_key *k, const char *common_name,
			int days, struct wharf_error *err);
/* For a certificate key: the certificate's CN and expiry (seconds since the epoch). */
int wharf_key_x509_info(const struct wharf_key *k, char *cn, size_t cn_len, int64_t *not_after,
			struct wharf_error *err);

/* Sign data with the private half, appending the raw signature to sig (ECDSA r||s for Notary,
 * DER for the TUF dialect); *method (if method is not NULL) is the Notary method name, or in
 * the TUF dialect the key's scheme. */
int wharf_key_sign(const struct wharf_key *k, enum wharf_key_dialect dialect, const void *data,
		   size_t len, struct wharf_buf *sig, const char **method, struct wharf_error *err);
/* Verify a signature made by method over data. WHARF_EINVAL names the key and the reason.
 * Notary: method is required and compared without case, as Notary lower-cases it. TUF: method
 * may be NULL (the key's scheme) or must equal the key's scheme. */
int wharf_key_verify(const struct wharf_key *k, enum wharf_key_dialect dialect, const char *method,
		     const void *sig, size_t sig_len, const void *data, size_t len, struct wharf_error *err);

/* Private keys at rest: PKCS#8 encrypted with the passphrase (PBES2: scrypt + AES-256-CBC),
 * as PEM "ENCRYPTED PRIVATE KEY", appended to pem. Anything else stored with the key (type,
 * role, file name and mode) is the caller's business. An empty passphrase is refused. */
int wharf_key_private_to_pem(const struct wharf_key *k, const char *passphrase, struct wharf_buf *pem,
			     struct wharf_error *err);
/* The reverse; for certificate keys pass the certificate key as `cert` (or NULL). Wrong
 * passphrase: WHARF_EINVAL "wrong passphrase or damaged key". Also reads Notary's key files
 * (PBKDF2, with "role:"/"gun:" PEM header lines) for ECDSA and RSA keys. */
int wharf_key_private_from_pem(struct wharf_key **out, const char *pem, size_t len, const char *passphrase,
			       const struct wharf_key *cert, struct wharf_error *err);

/* base64 (standard alphabet, padded) and hex. Decoders append to out and return the number of
 * bytes; they refuse junk (line breaks, spaces, the URL-safe alphabet, non-zero bits before the
 * padding: one spelling per byte string) and leave out as it was. Hex takes either case. */
char *wharf_base64_encode(const void *data, size_t len);
int wharf_base64_decode(const char *s, struct wharf_buf *out, struct wharf_error *err);
char *wharf_hex_encode(const void *data, size_t len);
int wharf_hex_decode(const char *s, struct wharf_buf *out, struct wharf_error *err);
/* The value of one hex digit (either case), -1 for any other character. */
int wharf_hex_value(unsigned char c);
/* The value of one base64 character (url: the base64url alphabet), -1 for any other. */
int wharf_base64_value(unsigned char c, bool url);
/* Base64url without padding (RFC 7515); wharf_b64url_decode is in wharf/auth.h. */
char *wharf_b64url_encode(const unsigned char *data, size_t len);

#endif
