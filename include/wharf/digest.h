/* digest: content digests ("sha256:<64 hex>", "sha512:<128 hex>") and streaming hashers. */
#ifndef WHARF_DIGEST_H
#define WHARF_DIGEST_H

#include "wharf/util.h"

enum wharf_digest_alg { WHARF_SHA256, WHARF_SHA512 };

#define WHARF_DIGEST_MAX 136 /* "sha512:" + 128 hex + NUL, rounded */

struct wharf_digest {
	enum wharf_digest_alg alg;
	char str[WHARF_DIGEST_MAX]; /* the canonical text form */
};

/* Parse and validate a digest string per the OCI image spec grammar; only sha256 and sha512
 * are supported. WHARF_EUNSUPPORTED for a well-formed digest of another algorithm. */
int wharf_digest_parse(struct wharf_digest *out, const char *s, struct wharf_error *err);
/* Same, for a string that is not NUL-terminated. */
int wharf_digest_parse_n(struct wharf_digest *out, const char *s, size_t len, struct wharf_error *err);
const char *wharf_digest_alg_name(enum wharf_digest_alg alg);
/* The hex part of a digest string. */
const char *wharf_digest_hex(const struct wharf_digest *d);
bool wharf_digest_equal(const struct wharf_digest *a, const struct wharf_digest *b);

struct wharf_hasher;
struct wharf_hasher *wharf_hasher_new(enum wharf_digest_alg alg);
void wharf_hasher_free(struct wharf_hasher *h);
void wharf_hasher_update(struct wharf_hasher *h, const void *data, size_t len);
/* A copy of the running state, so a failed chunk can be thrown away. */
struct wharf_hasher *wharf_hasher_dup(const struct wharf_hasher *h);
enum wharf_digest_alg wharf_hasher_alg(const struct wharf_hasher *h);
/* Produce the digest; the hasher can be used no further except to be freed. */
void wharf_hasher_final(struct wharf_hasher *h, struct wharf_digest *out);

void wharf_digest_buffer(enum wharf_digest_alg alg, const void *data, size_t len,
			 struct wharf_digest *out);
/* Hash len bytes of fd from offset 0. */
int wharf_digest_fd(enum wharf_digest_alg alg, int fd, uint64_t len, struct wharf_digest *out,
		    struct wharf_error *err);

#endif
