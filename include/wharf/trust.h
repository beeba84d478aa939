/* trust: TUF metadata (Notary's dialect) and the Notary v1 trust service of wharfd.
 * A GUN (globally unique name) is a repository name, optionally prefixed by HOST[:PORT]/,
 * as Docker forms it. */
#ifndef WHARF_TRUST_H
#define WHARF_TRUST_H

#include <jansson.h>

#include "wharf/http.h"
#include "wharf/keys.h"
#include "wharf/meta.h"

#define WHARF_TUF_FILE_MAX (16u * 1024 * 1024)  /* one metadata file */
#define WHARF_TUF_PUBLISH_MAX (64u * 1024 * 1024) /* one publish request */

/* One parsed signed metadata file. */
struct wharf_tuf_meta {
	json_t *doc;           /* the whole {"signed":..,"signatures":[..]} */
	json_t *signed_obj;    /* borrowed from doc */
	const char *type;      /* "Root", "Targets", "Snapshot", "Timestamp" */
	int64_t version;
	int64_t expires;       /* seconds since the epoch */
};

/* Is role a role name Notary accepts: root, targets, snapshot, timestamp, targets/<path>. */
bool wharf_tuf_valid_role(const char *role);
/* The _type a role's metadata carries ("Targets" for delegations). */
const char *wharf_tuf_role_type(const char *role);
int wharf_tuf_check_gun(const char *gun, struct wharf_error *err);

/* Parse metadata of role: JSON shape, _type, version >= 1, expires. Messages name the role. */
int wharf_tuf_parse(struct wharf_tuf_meta *out, const char *role, const char *data, size_t len,
		    struct wharf_error *err);
void wharf_tuf_meta_free(struct wharf_tuf_meta *m);

/* Verify the signatures of m: at least `threshold` distinct keys among keyids (each found in
 * keys, a {keyid: key} object) made a valid signature over the canonical "signed" object.
 * Key IDs are recomputed, so a key filed under another key's ID counts for nothing. */
int wharf_tuf_verify(const struct wharf_tuf_meta *m, const char *role, const json_t *keys,
		     const json_t *keyids, int64_t threshold, struct wharf_error *err);
/* The same, with the role's keyids and threshold taken from a root's "roles" entry. */
int wharf_tuf_verify_by_root(const struct wharf_tuf_meta *m, const char *role,
			     const struct wharf_tuf_meta *root, struct wharf_error *err);

/* Sign: {"signed": signed_obj, "signatures": [one per key]} as canonical JSON bytes. */
int wharf_tuf_sign(const json_t *signed_obj, struct wharf_key *const *keys, size_t nkeys,
		   struct wharf_buf *out, struct wharf_error *err);
/* A {"length":N,"hashes":{"sha256":b64,"sha512":b64}} object for file bytes. */
json_t *wharf_tuf_file_meta(const void *data, size_t len);
/* Does file-meta fm (from snapshot or timestamp) match the bytes? Message names the role. */
int wharf_tuf_check_file_meta(const json_t *fm, const char *role, const void *data, size_t len,
			      struct wharf_error *err);

/* RFC 3339 times as Go writes them (fractions, Z or +hh:mm). */
int wharf_time_parse_rfc3339(const char *s, int64_t *out, struct wharf_error *err);
void wharf_time_format_rfc3339(int64_t t, char out[32]);

/* The server side. */
struct wharf_trust;
int wharf_trust_open(struct wharf_trust **out, struct wharf_meta *meta, const char *data_dir,
		     struct wharf_error *err);
void wharf_trust_close(struct wharf_trust *t);

struct wharf_tuf_upload {
	char role[128];
	const char *data;
	size_t len;
};
/* Validate a publish as strictly as a client would and store it with a fresh timestamp (and
 * snapshot when the server holds that key), atomically. Nothing changes on failure. */
int wharf_trust_publish(struct wharf_trust *t, const char *gun, const struct wharf_tuf_upload *files,
			size_t n, struct wharf_error *err);
/* The public key the server holds for role (timestamp or snapshot), made on first use;
 * rotate makes a new one. Returns the Notary key JSON. */
int wharf_trust_server_key(struct wharf_trust *t, const char *gun, const char *role, bool rotate,
			   char **public_json, struct wharf_error *err);
/* Metadata bytes: newest (version 0), by version, or by hex sha256. The timestamp is re-signed
 * first when it is close to expiry. */
int wharf_trust_get(struct wharf_trust *t, const char *gun, const char *role, int64_t version,
		    const char *sha256hex, char **data, size_t *len, struct wharf_error *err);
int wharf_trust_delete(struct wharf_trust *t, const char *gun, struct wharf_error *err);

/* Changefeed records (JSON objects, comma separated) after change `after`; gun NULL for all. */
int wharf_trust_changes(struct wharf_trust *t, const char *gun, int64_t after, int64_t n, struct wharf_buf *json,
			size_t *count, struct wharf_error *err);

/* HTTP: rest is what follows "/v2/<gun>/_trust/" (gun NULL for "/v2/_trust/..."). */
void wharf_trust_handle(struct wharf_trust *t, struct wharf_http_request *req, const char *gun,
			const char *rest);

#endif
