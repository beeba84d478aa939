/* meta: repositories, blobs, uploads, manifests, tags and referrers in SQLite (WAL).
 * Every change is one transaction; readers never block writers. Digests are stored as text. */
#ifndef WHARF_META_H
#define WHARF_META_H

#include "wharf/oci.h"

struct wharf_meta;

int wharf_meta_open(struct wharf_meta **out, const char *path, struct wharf_error *err);
void wharf_meta_close(struct wharf_meta *m);

/* Blobs. A blob is visible in a repository once linked to it (by upload, mount or manifest). */
int wharf_meta_blob_in_repo(struct wharf_meta *m, const char *repo, const char *digest,
			    uint64_t *size, struct wharf_error *err);
/* Record a stored blob and link it to repo (creating the repository row). */
int wharf_meta_blob_add(struct wharf_meta *m, const char *repo, const char *digest, uint64_t size,
			struct wharf_error *err);
/* Link a blob of repository from into repo; WHARF_ENOTFOUND if from does not have it. */
int wharf_meta_blob_mount(struct wharf_meta *m, const char *repo, const char *from, const char *digest,
			  uint64_t *size, struct wharf_error *err);
int wharf_meta_blob_unlink(struct wharf_meta *m, const char *repo, const char *digest,
			   struct wharf_error *err);
/* Mark a blob as just used, so a collector spares it for the grace period. A blob used less
 * than min_age seconds ago is left as it is (a read, no write). */
int wharf_meta_blob_touch(struct wharf_meta *m, const char *digest, int64_t min_age,
			  struct wharf_error *err);

/* Uploads in progress. */
int wharf_meta_upload_add(struct wharf_meta *m, const char *repo, const char *id, struct wharf_error *err);
/* WHARF_ENOTFOUND unless id is an upload of repo. */
int wharf_meta_upload_get(struct wharf_meta *m, const char *repo, const char *id, uint64_t *offset,
			  struct wharf_error *err);
int wharf_meta_upload_set_offset(struct wharf_meta *m, const char *id, uint64_t offset,
				 struct wharf_error *err);
int wharf_meta_upload_remove(struct wharf_meta *m, const char *id, struct wharf_error *err);

struct wharf_meta_manifest {
	char digest[WHARF_DIGEST_MAX];
	char media_type[128];
	uint64_t size;
};

/* Store a parsed manifest (its bytes already in the store) and optionally point tag at it.
 * Fails with WHARF_ENOTFOUND, naming the first missing blob or manifest, and changes nothing. */
int wharf_meta_manifest_put(struct wharf_meta *m, const char *repo, const char *digest, uint64_t size,
			    const struct wharf_manifest *man, const char *tag, struct wharf_error *err);
/* Look up by tag or by digest. */
int wharf_meta_manifest_get(struct wharf_meta *m, const char *repo, const char *reference,
			    struct wharf_meta_manifest *out, struct wharf_error *err);
/* Delete a manifest and every tag pointing at it. */
int wharf_meta_manifest_delete(struct wharf_meta *m, const char *repo, const char *digest,
			       struct wharf_error *err);
int wharf_meta_tag_delete(struct wharf_meta *m, const char *repo, const char *tag, struct wharf_error *err);

/* Tags of repo after last (lexical, byte order), at most n (0: all). *more tells if some remain.
 * WHARF_ENOTFOUND if the repository does not exist. */
int wharf_meta_tags(struct wharf_meta *m, const char *repo, const char *last, uint64_t n,
		    struct wharf_strv *out, bool *more, struct wharf_error *err);
int wharf_meta_catalog(struct wharf_meta *m, const char *last, uint64_t n, struct wharf_strv *out,
		       bool *more, struct wharf_error *err);
/* Append the JSON descriptors of manifests in repo whose subject is subject (comma separated),
 * filtered by artifact_type when not NULL. */
int wharf_meta_referrers(struct wharf_meta *m, const char *repo, const char *subject,
			 const char *artifact_type, struct wharf_buf *json, struct wharf_error *err);

/* Garbage collection. Candidates are blobs no manifest references, unused since before cutoff. */
int wharf_meta_gc_candidates(struct wharf_meta *m, int64_t cutoff, struct wharf_strv *out,
			     struct wharf_error *err);
/* Remove the blob's rows if it is still a candidate; *removed tells. */
int wharf_meta_gc_remove_blob(struct wharf_meta *m, const char *digest, int64_t cutoff, bool *removed,
			      struct wharf_error *err);
int wharf_meta_blob_known(struct wharf_meta *m, const char *digest, bool *known, struct wharf_error *err);
/* Uploads not written to since before cutoff. */
int wharf_meta_stale_uploads(struct wharf_meta *m, int64_t cutoff, struct wharf_strv *out,
			     struct wharf_error *err);
int wharf_meta_upload_known(struct wharf_meta *m, const char *id, bool *known, struct wharf_error *err);
int wharf_meta_storage_bytes(struct wharf_meta *m, uint64_t *bytes, uint64_t *blobs, struct wharf_error *err);

/* Content trust storage (src/meta/tuf.c): TUF metadata files per GUN and role, by version. */
struct wharf_meta_tuf_file {
	const char *role;
	int64_t version;
	char sha256[65]; /* hex of the file bytes */
	const char *data;
	size_t len;
};
/* The newest version of role (version 0), a given version, or the one with checksum sha256hex.
 * *data is the caller's. WHARF_ENOTFOUND when absent. */
int wharf_meta_tuf_get(struct wharf_meta *m, const char *gun, const char *role, int64_t version,
		       const char *sha256hex, char **data, size_t *len, int64_t *out_version,
		       struct wharf_error *err);
/* Store new versions in one transaction, with one changefeed entry. WHARF_EEXIST when a
 * version is already there (a concurrent publish won). */
int wharf_meta_tuf_store(struct wharf_meta *m, const char *gun, const struct wharf_meta_tuf_file *files,
			 size_t n, const char *category, struct wharf_error *err);
int wharf_meta_tuf_delete(struct wharf_meta *m, const char *gun, struct wharf_error *err);
/* Server-held keys (timestamp, snapshot): public JSON and the encrypted private PEM, several per
 * role (a rotated key waits for the root that lists it). keyid NULL: the newest. */
int wharf_meta_tuf_key_get(struct wharf_meta *m, const char *gun, const char *role, const char *keyid,
			   char **public_json, char **private_pem, struct wharf_error *err);
int wharf_meta_tuf_key_put(struct wharf_meta *m, const char *gun, const char *role, const char *keyid,
			   const char *public_json, const char *private_pem, struct wharf_error *err);
/* The GUNs holding trust data for repository repo: "repo" itself and "HOST[:PORT]/repo". */
int wharf_meta_tuf_guns_of(struct wharf_meta *m, const char *repo, struct wharf_strv *out, struct wharf_error *err);
/* Every role with metadata stored for gun. */
int wharf_meta_tuf_roles(struct wharf_meta *m, const char *gun, struct wharf_strv *out, struct wharf_error *err);
/* Changefeed records after change id `after` ("0" = from the start), at most n, as JSON objects
 * appended comma-separated; gun NULL for every GUN. */
int wharf_meta_tuf_changes(struct wharf_meta *m, const char *gun, int64_t after, int64_t n,
			   struct wharf_buf *json, size_t *count, struct wharf_error *err);
/* Staged trust changes (src/meta/tuf.c): one metadata file of role waiting for signatures. */
struct wharf_meta_tuf_pending {
	int64_t id;
	char *role;
	int64_t version;
	char *data; /* the metadata file with the signatures so far */
	size_t len;
	char *proposer; /* key ID */
	char *state;    /* "pending", "published" or "outdated" */
	int64_t created, updated;
};
void wharf_meta_tuf_pending_clear(struct wharf_meta_tuf_pending *p);
/* Add a pending change; *id is its number. */
int wharf_meta_tuf_pending_add(struct wharf_meta *m, const char *gun, const struct wharf_meta_tuf_pending *p,
			       int64_t *id, struct wharf_error *err);
/* Replace the data and state of change id of gun. */
int wharf_meta_tuf_pending_update(struct wharf_meta *m, const char *gun, int64_t id, const char *data, size_t len,
				  const char *state, struct wharf_error *err);
/* Change id of gun (WHARF_ENOTFOUND if none), or with id 0 every change of gun in state (NULL:
 * any), oldest first, into a new array *out of *n. */
int wharf_meta_tuf_pending_list(struct wharf_meta *m, const char *gun, int64_t id, const char *state,
				struct wharf_meta_tuf_pending **out, size_t *n, struct wharf_error *err);

/* Schema (src/meta/schema.c). */
extern const char *const wharf_meta_schema[];
extern const int wharf_meta_schema_version;

#endif
