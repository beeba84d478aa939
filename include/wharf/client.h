/* client: the registry side of `wharf pull`. A small OCI distribution client (manifests and
 * blobs by digest, streamed and verified) and a local content store that is an OCI image layout
 * (oci-layout, index.json, blobs/<alg>/<hex>). Nothing here trusts the network: every byte that
 * is kept was hashed to the digest it was asked for. */
#ifndef WHARF_CLIENT_H
#define WHARF_CLIENT_H

#include "wharf/oci.h"

/* The Accept header value for manifests: OCI and Docker manifests and indexes. */
#define WHARF_MANIFEST_ACCEPT \
	WHARF_MT_OCI_MANIFEST ", " WHARF_MT_OCI_INDEX ", " WHARF_MT_DOCKER_MANIFEST ", " WHARF_MT_DOCKER_LIST

/* Called while a blob streams in: bytes so far and the expected total. */
typedef void (*wharf_progress_fn)(void *ctx, const struct wharf_digest *d, uint64_t done, uint64_t total);

/* ---- registry client ---- */

/* GET <base>/v2/<repo>/manifests/<ref> (ref: a tag or a digest) into body, reading at most limit
 * bytes; content_type (may be NULL) gets the response's Content-Type, or NULL. WHARF_ENOTFOUND
 * on 404, WHARF_ETOOBIG past the limit. */
int wharf_registry_get_manifest(const char *base, const char *repo, const char *ref, size_t limit,
				struct wharf_buf *body, char **content_type, struct wharf_error *err);

/* The manifest d of repo, its bytes checked against d (and, when want_len is not UINT64_MAX,
 * against that length): WHARF_EDIGEST when they differ. */
int wharf_registry_get_manifest_verified(const char *base, const char *repo, const struct wharf_digest *d,
					 uint64_t want_len, struct wharf_buf *body, char **content_type,
					 struct wharf_error *err);

/* Stream blob d of repo (exactly size bytes) to fd while hashing it. WHARF_EDIGEST when the
 * bytes do not hash to d, WHARF_ETOOBIG when the server sends more than size. The caller
 * decides what to do with fd's contents on failure. */
int wharf_registry_get_blob(const char *base, const char *repo, const struct wharf_digest *d, uint64_t size,
			    int fd, wharf_progress_fn progress, void *progress_ctx, struct wharf_error *err);

/* ---- local content store: an OCI image layout ---- */

struct wharf_content_store;

/* Open (creating when needed) the layout at root: root/oci-layout, root/blobs/sha256. */
int wharf_content_store_open(struct wharf_content_store **out, const char *root, struct wharf_error *err);
void wharf_content_store_free(struct wharf_content_store *cs);
const char *wharf_content_store_root(const struct wharf_content_store *cs);
/* root/blobs/<alg>/<hex>; the caller frees it. */
char *wharf_content_store_blob_path(const struct wharf_content_store *cs, const struct wharf_digest *d);
/* true when blob d is stored with exactly size bytes. */
bool wharf_content_store_has(const struct wharf_content_store *cs, const struct wharf_digest *d, uint64_t size);
/* Store bytes already in memory (a verified manifest): hashed again, written atomically. */
int wharf_content_store_put(struct wharf_content_store *cs, const struct wharf_digest *d, const void *data,
			    size_t len, struct wharf_error *err);
/* Fetch blob d from a registry unless present: streamed into a temporary file under
 * root/ingest, hashed, fsynced, renamed into blobs only when the digest matches; the temporary
 * file is removed on any failure. *fetched tells whether bytes were transferred. */
int wharf_content_store_fetch(struct wharf_content_store *cs, const char *base, const char *repo,
			      const struct wharf_digest *d, uint64_t size, wharf_progress_fn progress,
			      void *progress_ctx, bool *fetched, struct wharf_error *err);
/* Record name (org.opencontainers.image.ref.name) -> manifest descriptor in root/index.json,
 * replacing an entry of the same name; written atomically. */
int wharf_content_store_tag(struct wharf_content_store *cs, const char *name, const char *media_type,
			    const struct wharf_digest *d, uint64_t size, struct wharf_error *err);
/* The manifest digest recorded for name: WHARF_ENOTFOUND when none. */
int wharf_content_store_lookup(struct wharf_content_store *cs, const char *name, struct wharf_digest *out,
			       struct wharf_error *err);

/* ---- pull: everything after the tag is resolved ---- */

struct wharf_pull_opts {
	const char *registry;   /* base URL, e.g. http://127.0.0.1:5000 */
	const char *repository; /* the repository path on that registry */
	struct wharf_digest digest; /* the manifest (or index) to pull */
	uint64_t length;        /* its signed length, or UINT64_MAX when not pinned */
	const char *os, *arch, *variant; /* platform chosen from an index; variant may be NULL */
	const char *ref_name;   /* recorded in index.json; NULL records nothing */
	wharf_progress_fn progress;
	void *progress_ctx;
};

struct wharf_pull_result {
	struct wharf_digest manifest;  /* the image manifest whose blobs were fetched */
	uint64_t manifest_size;
	char *media_type;
	struct wharf_descriptor config;
	size_t n_layers;
	struct wharf_descriptor *layers; /* media_type owned */
	uint64_t bytes_fetched;
};
void wharf_pull_result_free(struct wharf_pull_result *r);

/* Fetch and verify the manifest by digest (an index: the platform's manifest, also by digest),
 * then the config and every layer into the store, then record ref_name. On failure nothing is
 * recorded under ref_name; blobs fully verified before the failure stay (they are content). */
int wharf_pull_image(struct wharf_content_store *cs, const struct wharf_pull_opts *o, struct wharf_pull_result *out,
		     struct wharf_error *err);

#endif
