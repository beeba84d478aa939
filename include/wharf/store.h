/* store: content-addressed blob files and in-progress upload files under one root.
 * root/blobs/<alg>/<first two hex>/<hex> holds finished blobs; root/uploads/<id> holds uploads.
 * A blob becomes visible only by an atomic rename after its bytes are on disk. */
#ifndef WHARF_STORE_H
#define WHARF_STORE_H

#include "wharf/digest.h"

struct wharf_store;

int wharf_store_open(struct wharf_store **out, const char *root, struct wharf_error *err);
void wharf_store_close(struct wharf_store *s);

/* Open a finished blob for reading; WHARF_ENOTFOUND if it is not there. */
int wharf_store_blob_open(struct wharf_store *s, const struct wharf_digest *d, int *fd, uint64_t *size,
			  struct wharf_error *err);
/* Read a small finished blob (a manifest, a config) whole into *out (NUL-terminated, free()),
 * *len its size; WHARF_ETOOBIG if it is over limit bytes, WHARF_ENOTFOUND if it is not there. */
int wharf_store_blob_read(struct wharf_store *s, const struct wharf_digest *d, size_t limit, char **out, size_t *len,
			  struct wharf_error *err);
bool wharf_store_blob_exists(struct wharf_store *s, const struct wharf_digest *d);
int wharf_store_blob_remove(struct wharf_store *s, const struct wharf_digest *d, struct wharf_error *err);
/* Store small content (a manifest) whose digest the caller computed: temp, fsync, rename. */
int wharf_store_put(struct wharf_store *s, const struct wharf_digest *d, const void *data, size_t len,
		    struct wharf_error *err);

/* Upload ids are 32 lower-case hex characters, made by wharf_store_upload_create. */
bool wharf_store_valid_upload_id(const char *id);
int wharf_store_upload_create(struct wharf_store *s, char id[33], struct wharf_error *err);
/* Open an upload file read-write; *size is its current length. */
int wharf_store_upload_open(struct wharf_store *s, const char *id, int *fd, uint64_t *size,
			    struct wharf_error *err);
/* Make the upload's first len bytes the blob d: fsync, truncate to len, rename into place. */
int wharf_store_upload_commit(struct wharf_store *s, const char *id, int fd, uint64_t len,
			      const struct wharf_digest *d, struct wharf_error *err);
int wharf_store_upload_remove(struct wharf_store *s, const char *id);

/* Walk every finished blob file (for garbage collection of orphans). */
typedef void (*wharf_store_blob_fn)(void *ctx, const struct wharf_digest *d, int64_t mtime);
int wharf_store_foreach_blob(struct wharf_store *s, wharf_store_blob_fn fn, void *ctx,
			     struct wharf_error *err);
/* Remove temp files of interrupted atomic writes (NAME.tmp-XXXX beside blobs) last changed
 * before cutoff; *removed counts them. A crash between create and rename leaves them. */
int wharf_store_remove_stale_temps(struct wharf_store *s, int64_t cutoff, uint64_t *removed,
				   struct wharf_error *err);
typedef void (*wharf_store_upload_fn)(void *ctx, const char *id, int64_t mtime);
int wharf_store_foreach_upload(struct wharf_store *s, wharf_store_upload_fn fn, void *ctx,
			       struct wharf_error *err);

#endif
