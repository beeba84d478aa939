/* client: the registry side of `wharf pull`. A small OCI distribution client (manifests and
 * blobs by digest, streamed and verified) and a local content store that is an OCI image layout
 * (oci-layout, index.json, blobs/<alg>/<hex>). Nothing here trusts the network: every byte that
 * is kept was hashed to the digest it was asked for. */
#ifndef WHARF_CLIENT_H
#define WHARF_CLIENT_H

#include <curl/curl.h>
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

/* ---- credentials and registry authentication (src/client/credentials.c, bearer.c) ---- */


/* A user name and password for one registry host; source says where they came from
 * ("WHARF_USER/WHARF_PASSWORD", "auth.json", "docker config"; NULL: given directly). */
struct wharf_credentials {
	char *user;
	char *password;
	const char *source;
};
/* Free both strings, wiping the password first. */
void wharf_credentials_clear(struct wharf_credentials *c);

/* The credential key of a server: "host[:port]" of a URL (http://h:5000/x -> "h:5000") or of a
 * bare "host[:port]", lower-cased. WHARF_EINVAL for user info, empty or odd hosts. */
int wharf_credentials_host(const char *server, char **out, struct wharf_error *err);

/* Credentials for host, looked up in this order: $WHARF_USER with $WHARF_PASSWORD (for every
 * host), $WHARF_HOME/auth.json, then docker's $DOCKER_CONFIG/config.json (or
 * ~/.docker/config.json; read only, "auth" entries only). 1 when found, 0 when none, negative
 * when a file exists but is unreadable or malformed. */
int wharf_credentials_lookup(const char *host, struct wharf_credentials *out, struct wharf_error *err);

/* Store (replace) the credentials of host in $WHARF_HOME/auth.json: mode 0600, atomic. */
int wharf_credentials_store(const char *host, const char *user, const char *password, struct wharf_error *err);

/* Remove host from $WHARF_HOME/auth.json; *removed tells whether it was there. */
int wharf_credentials_erase(const char *host, bool *removed, struct wharf_error *err);

/* A parsed WWW-Authenticate challenge (the first one of the header). */
#define WHARF_CHALLENGE_MAX 4096 /* longest header value parsed */
struct wharf_auth_challenge {
	char scheme[16]; /* "bearer" or "basic", lower case */
	char *realm, *service, *scope, *error;
};
void wharf_auth_challenge_clear(struct wharf_auth_challenge *c);
/* Parse a header value like: Bearer realm="https://h/token",service="s",scope="repository:a/b:pull".
 * Quoted strings may hold commas and \-escapes; unknown parameters are skipped. WHARF_EINVAL
 * or WHARF_ETOOBIG with the rule broken. */
int wharf_auth_challenge_parse(const char *header, struct wharf_auth_challenge *out, struct wharf_error *err);

/* Called before a retried request so a sink can drop what the refused answer wrote. */
typedef void (*wharf_auth_reset_fn)(void *ctx);

/* One request through the registry authentication hook: curl is fully set up for url, headers
 * are the caller's (may be NULL, kept by the caller). A cached token for (host, scope_hint) is
 * sent up front; on 401 with a Bearer challenge a token for the challenge's scope (or, when it
 * names none, for scope_hint) is fetched from the realm (with the host's credentials when the
 * realm is on the same host, anonymously otherwise), cached until it expires, and the request
 * is made once more after reset; on 401 with a Basic challenge it is retried with the
 * credentials. A signed-in user still refused for insufficient_scope gets *status 403. *cc and *status are those of the last attempt. Negative only
 * when the token service itself refused or failed (err says why and names the host). */
int wharf_auth_perform(CURL *curl, const char *url, struct curl_slist *headers, const char *scope_hint,
		       wharf_auth_reset_fn reset, void *reset_ctx, CURLcode *cc, long *status, struct wharf_error *err);

/* `wharf login`: GET server/v2/ with these credentials (following a Bearer challenge to the
 * token service). 0 when the server accepts them, WHARF_EINVAL when it refuses them. */
int wharf_auth_check_login(const char *server, const struct wharf_credentials *cred, struct wharf_error *err);

#endif
