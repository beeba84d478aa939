/* secrets: the encrypted secret store behind `wharf secret` and `wharf run --secret`.
 *
 * A store lives in $WHARF_HOME/secrets/ (0700). Each secret is one file, <name>.secret, holding
 * its metadata and its value sealed with AES-256-GCM under the store's master key; the file's
 * header (name, id, version, size, times) is the AEAD's additional data, so a file cannot be
 * renamed, swapped for another secret's or rolled to an older header without failing
 * authentication. The 32-byte master key is either a plain file, master.key (0600; refused when
 * group or other may read it), or wrapped by an AES key on a PKCS#11 token (master.key.p11).
 * See docs/secrets.md for the format and the threat model.
 *
 * Plaintext leaves the store only through wharf_secrets_get (caller wipes and frees) and
 * wharf_secrets_materialize (onto a tmpfs). Every buffer that held plaintext or key bytes is
 * wiped with OPENSSL_cleanse before it is freed. */
#ifndef WHARF_SECRETS_H
#define WHARF_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wharf/util.h"

/* The largest secret value, in bytes (500 KiB). */
#define WHARF_SECRET_MAX_SIZE (500u * 1024u)
/* The longest secret name: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}. */
#define WHARF_SECRET_NAME_MAX 64

struct wharf_secrets; /* an open store: its directory and the unwrapped master key */

/* What the store tells about a secret: metadata only, never the value nor a digest of it. */
struct wharf_secret_info {
	char name[WHARF_SECRET_NAME_MAX + 1];
	char id[33];      /* 32 lowercase hex characters, random, fixed for the secret's life */
	uint64_t size;    /* bytes of the value */
	uint32_t version; /* 1 at create, +1 per rotate */
	int64_t created;  /* seconds since the epoch */
	int64_t updated;  /* time of the last rotate (== created before any) */
};

/* Is name a valid secret name? When not, fill err (WHARF_EINVAL) naming the rule it broke. */
int wharf_secret_name_check(const char *name, struct wharf_error *err);

/* Options of wharf_secrets_init. All NULL/0: a plain master.key file. */
struct wharf_secrets_init_opts {
	const char *pkcs11_module; /* non-NULL: wrap the master key with a key on this module's token */
	const char *token;         /* token label (NULL: the first initialised token) */
	const char *pin;           /* user PIN of the token */
	const char *key_label;     /* label of the wrapping key on the token (NULL: "wharf-secrets-<random>") */
};

/* Create the store in home (mkdir home/secrets 0700) with a fresh random master key, kept as
 * described by opts (NULL: plain file). WHARF_EEXIST when the store already has a master key. */
int wharf_secrets_init(const char *home, const struct wharf_secrets_init_opts *opts, struct wharf_error *err);

/* Does home hold a store with a master key (plain or token-wrapped)? */
bool wharf_secrets_exists(const char *home);
/* Does home's store keep its master key on a PKCS#11 token (so opening needs a PIN)? */
bool wharf_secrets_uses_pkcs11(const char *home);

/* Open the store in home and load its master key. A token-wrapped key is unwrapped with the PIN
 * from $WHARF_PKCS11_PIN. WHARF_ENOTFOUND when home has no store; WHARF_EINVAL when master.key
 * is readable by group or other, or the PIN is wrong. */
int wharf_secrets_open(struct wharf_secrets **out, const char *home, struct wharf_error *err);
/* The same with an explicit token PIN (ignored for a plain master key; NULL: $WHARF_PKCS11_PIN). */
int wharf_secrets_open_pin(struct wharf_secrets **out, const char *home, const char *pin, struct wharf_error *err);
/* Wipe the master key and free the store. NULL is fine. */
void wharf_secrets_close(struct wharf_secrets *s);

/* Store a new secret name with value data (at most WHARF_SECRET_MAX_SIZE bytes; empty is
 * allowed). WHARF_EEXIST when name exists. info (may be NULL) receives its metadata. */
int wharf_secrets_create(struct wharf_secrets *s, const char *name, const unsigned char *data, size_t len,
			 struct wharf_secret_info *info, struct wharf_error *err);
/* Replace the value of name: version+1, same id, new nonce; the old file is replaced atomically
 * and nothing of the old value stays in the store. WHARF_ENOTFOUND when name does not exist. */
int wharf_secrets_rotate(struct wharf_secrets *s, const char *name, const unsigned char *data, size_t len,
			 struct wharf_secret_info *info, struct wharf_error *err);
/* Remove name: its file (ciphertext only) is unlinked and the directory fsynced. WHARF_ENOTFOUND
 * when absent. Writers (create, rotate, remove) hold an exclusive flock on secrets/.lock. */
int wharf_secrets_remove(struct wharf_secrets *s, const char *name, struct wharf_error *err);

/* The metadata of name, authenticated (the file is decrypted and checked, the value wiped). */
int wharf_secrets_inspect(struct wharf_secrets *s, const char *name, struct wharf_secret_info *info,
			  struct wharf_error *err);
/* The metadata of every secret, sorted by name; the caller frees *out. A file that fails
 * authentication makes the whole listing fail, naming it. */
int wharf_secrets_list(struct wharf_secrets *s, struct wharf_secret_info **out, size_t *n, struct wharf_error *err);

/* The value of name. *data is a fresh allocation of *len bytes (+1, NUL-terminated for
 * convenience); the caller wipes it (OPENSSL_cleanse) and frees it. A file that fails
 * authentication: WHARF_EDIGEST with a message naming the file. */
int wharf_secrets_get(struct wharf_secrets *s, const char *name, unsigned char **data, size_t *len,
		      struct wharf_error *err);

/* Write the value of name into a new file target inside dirfd, which must be a directory on a
 * tmpfs (checked with fstatfs: TMPFS_MAGIC, else WHARF_EINVAL, so a secret never lands on a
 * disk). target is a single file name: no '/', not "." or "..", not empty. The file is created
 * with openat(O_CREAT|O_EXCL|O_NOFOLLOW) mode 0600, filled, then fchown'ed to uid:gid (when
 * either is not (uid_t)-1 / (gid_t)-1) and fchmod'ed to mode (e.g. 0400). On failure the
 * partial file is unlinked. */
int wharf_secrets_materialize(struct wharf_secrets *s, int dirfd, const char *name, const char *target, uid_t uid,
			      gid_t gid, mode_t mode, struct wharf_error *err);

/* The parsed header of a secret file, and its parser: for the fuzz target and the tests. The
 * parser is strict (magic, version, lengths, field rules, exact total size) and bounded. */
struct wharf_secret_file {
	struct wharf_secret_info info;
	unsigned char nonce[12];
	const unsigned char *aad; /* the header bytes, borrowed from the input */
	size_t aad_len;
	const unsigned char *ciphertext; /* borrowed; info.size bytes */
	const unsigned char *tag;        /* borrowed; 16 bytes */
};
/* Parse the secret file in buf (len bytes; at most WHARF_SECRET_MAX_SIZE + 4096), named what in
 * messages. Pointers in out borrow buf. */
int wharf_secret_file_parse(const unsigned char *buf, size_t len, const char *what, struct wharf_secret_file *out,
			    struct wharf_error *err);

#endif
