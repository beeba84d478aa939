/* secrets: what the files of src/secrets share; not part of libwharf's interface. */
#ifndef WHARF_SECRETS_INTERNAL_H
#define WHARF_SECRETS_INTERNAL_H

#include "wharf/secrets.h"

#define SECRET_MAGIC "WHARFSEC"
#define SECRET_FORMAT 1
#define SECRET_CIPHER_AES256GCM 1
#define SECRET_NONCE_LEN 12
#define SECRET_TAG_LEN 16
#define SECRET_ID_LEN 16
/* magic, format, cipher, name length, name, id, version, created, updated, size, nonce */
#define SECRET_HEADER_MAX (8 + 1 + 1 + 1 + WHARF_SECRET_NAME_MAX + SECRET_ID_LEN + 4 + 8 + 8 + 4 + SECRET_NONCE_LEN)
#define SECRET_FILE_MAX (SECRET_HEADER_MAX + WHARF_SECRET_MAX_SIZE + SECRET_TAG_LEN)
#define SECRET_SUFFIX ".secret"
#define MASTER_KEY_LEN 32

struct wharf_secrets {
	char *dir;   /* $WHARF_HOME/secrets */
	int dirfd;   /* open on dir, O_DIRECTORY */
	unsigned char key[MASTER_KEY_LEN];
};

/* Serialise the header of info (with nonce) into out (SECRET_HEADER_MAX bytes); its length. */
size_t secrets_header_write(const struct wharf_secret_info *info, const unsigned char nonce[SECRET_NONCE_LEN],
			    unsigned char *out);
/* Decode 32 hex characters into 16 bytes; false on anything else. */
bool secrets_id_decode(const char *hex, unsigned char out[SECRET_ID_LEN]);

/* AES-256-GCM with key over in; out holds in_len bytes, tag 16. 0, or WHARF_EDIGEST when
 * decryption fails authentication (message names what). */
int secrets_aead(const unsigned char *key, bool encrypt, const unsigned char nonce[SECRET_NONCE_LEN],
		 const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t in_len, unsigned char *out,
		 unsigned char tag[SECRET_TAG_LEN], const char *what, struct wharf_error *err);

/* Wipe and free. */
void secrets_wipe_free(void *p, size_t len);

/* The master key of the store in dir: plain or token-wrapped (master.c). */
int secrets_master_load(const char *dir, const char *pin, unsigned char key[MASTER_KEY_LEN],
			struct wharf_error *err);
int secrets_master_create(const char *dir, const struct wharf_secrets_init_opts *opts,
			  unsigned char key[MASTER_KEY_LEN], struct wharf_error *err);
/* The key check (HMAC-SHA256 of a fixed string under the key, first 16 bytes, as hex). */
void secrets_key_check(const unsigned char key[MASTER_KEY_LEN], char out[33]);

/* Take the store's writer lock (store.c); close *fd to release it. */
int secrets_lock(struct wharf_secrets *s, int *fd, struct wharf_error *err);

#endif
