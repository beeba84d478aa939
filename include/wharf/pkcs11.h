/* pkcs11: keys on hardware tokens (YubiKey through ykcs11, SoftHSM2, anything with a PKCS#11
 * module). A module is loaded by path with dlopen; EC P-256 keys are generated on the token or
 * imported into it (sensitive, never extractable), and sign as hash-then-sign: SHA-256 here,
 * CKM_ECDSA on the token, which returns r||s, Notary's signature format.
 *
 * Wharf finds its keys by CKA_LABEL: for a root key the hex key ID of its certificate key, with
 * CKA_ID the 32 raw bytes of that ID, and the certificate itself stored beside the key as a
 * CKO_CERTIFICATE object with the same label and ID. */
#ifndef WHARF_PKCS11_H
#define WHARF_PKCS11_H

#include "wharf/keys.h"
#include "wharf/util.h"

/* The private half of a key that lives elsewhere. Key objects hold references (refs), and call
 * destroy when the last one goes. */
struct wharf_key_signer {
	int refs;
	/* ECDSA over a SHA-256 digest: append the raw r||s to rs. */
	int (*sign_digest)(struct wharf_key_signer *s, const unsigned char *digest, size_t len, struct wharf_buf *rs,
			   struct wharf_error *err);
	void (*destroy)(struct wharf_key_signer *s);
};

/* A key pair made of the public key pub (ecdsa or ecdsa-x509) and signer, which must hold the
 * matching private half; the new key takes a reference to signer. wharf_key_sign and
 * wharf_key_make_x509 sign through it; wharf_key_private_to_pem refuses it. */
int wharf_key_with_signer(struct wharf_key **out, const struct wharf_key *pub, struct wharf_key_signer *signer,
			  struct wharf_error *err);

/* p11-kit's proxy module, the default when no module is named. */
#define WHARF_PKCS11_DEFAULT_MODULE "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"

struct wharf_p11; /* a loaded module, and at most one logged-in session on one token */

/* Load and initialise module (NULL: the default, if installed; else an error naming
 * --pkcs11-module). */
int wharf_p11_open(struct wharf_p11 **out, const char *module, struct wharf_error *err);
/* Drop this reference; the module is finalised when keys made from it are gone too. */
void wharf_p11_close(struct wharf_p11 *p);
const char *wharf_p11_module_path(const struct wharf_p11 *p);

struct wharf_p11_token {
	unsigned long slot;
	char label[33], manufacturer[33], model[17], serial[17]; /* trailing blanks removed */
	bool initialized;
};
/* The tokens present, in slot order. */
int wharf_p11_tokens(struct wharf_p11 *p, struct wharf_p11_token **out, size_t *n, struct wharf_error *err);

/* Open a read-write session on the token labelled token (NULL: the first initialised token) and
 * log in as the user with pin. A wrong PIN: WHARF_EINVAL "wrong PIN for token ...". */
int wharf_p11_login(struct wharf_p11 *p, const char *token, const char *pin, struct wharf_error *err);
/* The label of the token logged in to. */
const char *wharf_p11_token_label(const struct wharf_p11 *p);

struct wharf_p11_object {
	char cls[12];      /* "private", "public", "cert", "secret", "data" */
	char key_type[12]; /* "ec", "rsa", "ec-edwards", ... or "" */
	char *label;
	char *id_hex;
	bool sensitive, extractable; /* private keys */
	char value_read[40];         /* private keys: what C_GetAttributeValue(CKA_VALUE) answered */
};
void wharf_p11_objects_free(struct wharf_p11_object *o, size_t n);
/* The objects of the logged-in token (keys and certificates). */
int wharf_p11_objects(struct wharf_p11 *p, struct wharf_p11_object **out, size_t *n, struct wharf_error *err);

/* Generate an EC P-256 pair on the token (CKM_EC_KEY_PAIR_GEN), sensitive and not extractable,
 * labelled label, with CKA_ID id when id is not NULL (ykcs11: the PIV slot); out is the public
 * key with the token as signer. */
int wharf_p11_generate_ec(struct wharf_p11 *p, const char *label, const void *id, size_t id_len,
			  struct wharf_key **out, struct wharf_error *err);
/* Import the private half of k (ECDSA P-256) as a sensitive, non-extractable private key plus
 * its public key, labelled label (CKA_ID: id bytes). */
int wharf_p11_import_ec(struct wharf_p11 *p, const struct wharf_key *k, const char *label, const void *id,
			size_t id_len, struct wharf_error *err);
/* Relabel the key pair labelled from (after generation, when the key ID is known). */
int wharf_p11_relabel(struct wharf_p11 *p, const char *from, const char *label, const void *id, size_t id_len,
		      struct wharf_error *err);
/* Store certificate key cert (its X.509 DER) as a certificate object. */
int wharf_p11_store_cert(struct wharf_p11 *p, const struct wharf_key *cert, const char *label, const void *id,
			 size_t id_len, struct wharf_error *err);
/* The key labelled label as a key that signs on the token: the certificate key when a certificate
 * object with the label exists, else the bare public key. WHARF_ENOTFOUND when there is none. */
int wharf_key_from_pkcs11(struct wharf_key **out, struct wharf_p11 *p, const char *label, struct wharf_error *err);
/* The same, found by CKA_ID (tokens with fixed labels, such as a YubiKey's PIV slots). */
int wharf_key_from_pkcs11_id(struct wharf_key **out, struct wharf_p11 *p, const void *id, size_t id_len,
			     struct wharf_error *err);

#endif
