/* trust: TUF metadata (Notary's dialect) and the Notary v1 trust service of wharfd.
 * A GUN (globally unique name) is a repository name, optionally prefixed by HOST[:PORT]/,
 * as Docker forms it. */
#ifndef WHARF_TRUST_H
#define WHARF_TRUST_H

#include <pthread.h>

#include <jansson.h>

#include "wharf/http.h"
#include "wharf/keys.h"
#include "wharf/meta.h"
#include "wharf/store.h"

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
 * Key IDs are recomputed, so a key filed under another key's ID counts for nothing, and keys
 * are counted by their public key, so two IDs of one key (certificate and bare) count once. */
int wharf_tuf_verify(const struct wharf_tuf_meta *m, const char *role, const json_t *keys,
		     const json_t *keyids, int64_t threshold, struct wharf_error *err);
/* Verify one signature object sig of m: valid over the canonical "signed" and made by one of
 * keyids (found in keys). fpr gets the public key's fingerprint (its TUF-dialect key ID, which
 * a certificate key shares with its bare key), so callers can count keys rather than IDs. */
int wharf_tuf_check_signature(const struct wharf_tuf_meta *m, const json_t *sig, const char *role, const json_t *keys,
			      const json_t *keyids, char fpr[65], struct wharf_error *err);
/* *valid: the number of distinct public keys among keyids with a valid signature on m.
 * Invalid and outside signatures count for nothing; first (may be NULL) gets the first reason
 * a signature did not count (code 0 when all counted). */
int wharf_tuf_count_signers(const struct wharf_tuf_meta *m, const char *role, const json_t *keys,
			    const json_t *keyids, size_t *valid, struct wharf_error *first);
/* The same, with the role's keyids and threshold taken from a root's "roles" entry. */
int wharf_tuf_verify_by_root(const struct wharf_tuf_meta *m, const char *role,
			     const struct wharf_tuf_meta *root, struct wharf_error *err);

/* The "targets" object of targets metadata m: every entry has a length >= 0 and hashes.
 * *targets is borrowed from m. Messages name the role and the target. */
int wharf_tuf_check_targets(const struct wharf_tuf_meta *m, const char *role, json_t **targets,
			    struct wharf_error *err);

/* Sign the canonical form of signed_obj with each key; out gets {"signed":..,"signatures":[..]}
 * as ordinary compact JSON (the signatures cover only the canonical "signed"). */
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

/* Is tag of repository repo signed, in the trust data of any of its GUNs, as the manifest
 * with hex sha256 digest and size? Looks in targets/releases, then targets, as clients do.
 * 0 when signed so; WHARF_ENOTFOUND (message says why) otherwise. */
int wharf_trust_check_signed(struct wharf_trust *t, const char *repo, const char *tag, const char *sha256hex,
			     uint64_t size, struct wharf_error *err);

/* Specification-format repositories hosted per GUN (src/trust/spec_server.c). */
bool wharf_trust_spec_valid_name(const char *name);
/* Check an upload of metadata files (names like 3.targets.json, timestamp.json) as a spec client
 * would, from the state the last accepted upload left (or trusting the uploaded 1.root.json the
 * first time), and store it atomically. */
int wharf_trust_spec_publish(struct wharf_trust *t, const char *gun, const struct wharf_tuf_upload *files,
			     size_t n, struct wharf_error *err);
int wharf_trust_spec_get(struct wharf_trust *t, const char *gun, const char *name, char **data, size_t *len,
			 struct wharf_error *err);
/* Targets are the repository's blobs: "<sha256 hex>.<name>" opens blob sha256:<hex> when it is
 * in the GUN's repository. */
void wharf_trust_set_store(struct wharf_trust *t, struct wharf_store *store);
int wharf_trust_spec_target(struct wharf_trust *t, const char *gun, const char *file, int *fd, uint64_t *size,
			    struct wharf_error *err);
/* Staged changes (src/trust/server_pending.c) for roles needing k-of-n signatures.
 * Propose: body {"files": [{"role": ROLE, "metadata": {"signed":..,"signatures":[..]}}, ...]} (or
 * one {"role","metadata"}): the next versions of root, targets or delegated roles, published
 * together (a new root with targets re-signed for it). Every signature must be valid and by a
 * distinct key of its file's role (root: of the stored or the new root; a targets role: as the
 * change's own root or delegator says, else the stored one), and at least one is needed. The
 * change is published at once when every threshold is met, else kept pending. out gets the change
 * as JSON (id, roles, state, proposer, files [{role, version, base_version, signed_by, thresholds
 * [{keys, threshold, signed}], metadata}]). */
int wharf_trust_pending_propose(struct wharf_trust *t, const char *gun, const char *body, size_t len,
				struct wharf_buf *out, struct wharf_error *err);
/* Add signatures (body {"signatures": {ROLE: [...]}}) over the same signed objects to change id;
 * the same checks, then published when the thresholds are met. A change whose roles have moved
 * on since it was proposed is marked outdated and refused with WHARF_EBUSY. */
int wharf_trust_pending_sign(struct wharf_trust *t, const char *gun, int64_t id, const char *body, size_t len,
			     struct wharf_buf *out, struct wharf_error *err);
/* Change id as JSON, or (id 0) {"pending": [...]} with every change still pending (one that
 * another publish overtook shows as outdated, and only by its id). */
int wharf_trust_pending_get(struct wharf_trust *t, const char *gun, int64_t id, struct wharf_buf *out,
			    struct wharf_error *err);
/* For the trust module's own files: the metadata database and the per-GUN lock. */
struct wharf_meta *wharf_trust_meta(struct wharf_trust *t);
pthread_mutex_t *wharf_trust_gun_lock(struct wharf_trust *t, const char *gun);

/* Changefeed records (JSON objects, comma separated) after change `after`; gun NULL for all. */
int wharf_trust_changes(struct wharf_trust *t, const char *gun, int64_t after, int64_t n, struct wharf_buf *json,
			size_t *count, struct wharf_error *err);

/* The audit hook: called after a signature publish, a pending change proposed or signed, or the
 * trust data deleted, with a record type ("sign", "delete") and its fields (stolen). The registry
 * wires it to the audit log, so the trust service needs no access-control headers. Unset: no
 * records and no work to build them. */
typedef void (*wharf_trust_audit_fn)(void *ctx, struct wharf_http_request *req, const char *type, json_t *fields);
void wharf_trust_set_audit(struct wharf_trust *t, wharf_trust_audit_fn fn, void *ctx);

/* HTTP: rest is what follows "/v2/<gun>/_trust/" (gun NULL for "/v2/_trust/..."). */
void wharf_trust_handle(struct wharf_trust *t, struct wharf_http_request *req, const char *gun,
			const char *rest);

/* ==== The client: TUF 1.0 section 5 update of one GUN, in Notary's dialect ====
 * Root: the stored trusted root (or a pinned file, or trust on first use of root.json), then the
 * chain N.root.json, each new root signed by the old root's threshold and its own; root keys must
 * be certificates with CN = GUN (Notary's rule). Then timestamp, snapshot (by its sha256 from the
 * timestamp), targets and delegations (by their sha256 from the snapshot, depth first), each
 * checked for signatures, hashes and lengths, expiry at one fixed start time, and versions never
 * lower than the stored trusted ones. Trusted metadata is stored only when all of it verified. */

#define WHARF_TUF_TIMESTAMP_MAX (1024u * 1024) /* a timestamp is tiny; refuse endless data early */
#define WHARF_TUF_ROOT_CHAIN_MAX 1024           /* root versions walked in one update */
#define WHARF_TUF_ROLES_MAX 256                 /* targets roles (delegations included) of a GUN */

/* Fetch one metadata file by name ("root.json", "2.root.json", "snapshot.<sha256 hex>.json",
 * "targets/releases.<sha256 hex>.json") into out (appended), reading at most limit bytes:
 * WHARF_ENOTFOUND when the server has no such file, WHARF_ETOOBIG past the limit. */
typedef int (*wharf_trust_fetch_fn)(void *ctx, const char *name, size_t limit, struct wharf_buf *out,
				    struct wharf_error *err);

/* The default fetcher: GET <server>/v2/<gun>/_trust/tuf/<name> with libcurl. */
int wharf_trust_http_get(const char *server, const char *gun, const char *name, size_t limit,
			 struct wharf_buf *out, struct wharf_error *err);

struct wharf_trust_client_opts {
	const char *server;    /* base URL, e.g. http://127.0.0.1:5000 (for the default fetcher) */
	const char *gun;
	const char *dir;       /* this GUN's trusted metadata directory; NULL stores nothing */
	const char *root_file; /* a pinned root.json, used only when dir holds no trusted root */
	int64_t now;           /* the fixed start time; 0 for the current time */
	wharf_trust_fetch_fn fetch; /* NULL for wharf_trust_http_get */
	void *fetch_ctx;
};

/* "<home>/trust/<gun with every byte outside [A-Za-z0-9._-] as %XX>". */
char *wharf_trust_client_dir(const char *home, const char *gun);

struct wharf_trust_repo; /* verified, current metadata of one GUN */

/* Update: the whole section 5 workflow. On any failure nothing stored changes and the message
 * names the role and the rule it broke. */
int wharf_trust_client_update(struct wharf_trust_repo **out, const struct wharf_trust_client_opts *o,
			      struct wharf_error *err);
void wharf_trust_repo_free(struct wharf_trust_repo *r);
const char *wharf_trust_repo_gun(const struct wharf_trust_repo *r);

/* One verified role. Roles come in the order root, timestamp, snapshot, targets, then the
 * delegations depth first (a delegator before its delegates). Everything is borrowed. */
struct wharf_trust_role_info {
	const char *name;
	const struct wharf_tuf_meta *meta;
	const char *data; /* the verified bytes */
	size_t len;
	const json_t *keys;   /* {keyid: key} of the delegator (root's keys for top-level roles) */
	const json_t *keyids; /* the role's key IDs */
	int64_t threshold;
	const json_t *paths;  /* delegations: the path prefixes in force (restricted by every delegator); else NULL */
	int depth;            /* 0 for top-level roles, 1 for targets/x, 2 for targets/x/y ... */
};
size_t wharf_trust_repo_nroles(const struct wharf_trust_repo *r);
void wharf_trust_repo_role(const struct wharf_trust_repo *r, size_t i, struct wharf_trust_role_info *out);
/* The index of role, or -1. */
ssize_t wharf_trust_repo_find(const struct wharf_trust_repo *r, const char *role);

struct wharf_trust_target {
	char *name;
	uint64_t length;
	char sha256[65]; /* hex */
	char *role;      /* the role whose signed metadata holds it */
};
void wharf_trust_target_clear(struct wharf_trust_target *t);
void wharf_trust_targets_free(struct wharf_trust_target *t, size_t n);

/* Resolve a target name (a tag) as docker trust does: the targets/releases subtree first, then
 * the rest of the targets tree, depth first, each role only for names within its paths.
 * WHARF_ENOTFOUND when no role signs it. */
int wharf_trust_repo_lookup(const struct wharf_trust_repo *r, const char *name, struct wharf_trust_target *out,
			    struct wharf_error *err);
/* Every target name, each resolved as lookup does, sorted by name. */
int wharf_trust_repo_list(const struct wharf_trust_repo *r, struct wharf_trust_target **out, size_t *n,
			  struct wharf_error *err);

/* ---- The client's writing half (Notary's dialect; expiry times in seconds since the epoch) ---- */

/* Publish: one multipart POST to <server>/v2/<gun>/_trust/tuf/, parts named "files" with the
 * role as file name. The server's refusal comes back with its message. */
int wharf_trust_http_publish(const char *server, const char *gun, const struct wharf_tuf_upload *files, size_t n,
			     struct wharf_error *err);
/* A version 1 root: root must be a certificate key with its private half (it signs); the
 * others are public keys. Every role gets one key and threshold 1, as notary init makes it. */
int wharf_trust_root_new(struct wharf_buf *out, struct wharf_key *root, const struct wharf_key *targets,
			 const struct wharf_key *snapshot, const struct wharf_key *timestamp, int64_t expires,
			 struct wharf_error *err);
/* An empty version 1 targets, and a version 1 snapshot over root and targets. */
int wharf_trust_targets_new(struct wharf_buf *out, struct wharf_key *key, int64_t expires, struct wharf_error *err);
int wharf_trust_snapshot_new(struct wharf_buf *out, const char *root, size_t root_len, const char *targets,
			     size_t targets_len, struct wharf_key *key, int64_t expires, struct wharf_error *err);
/* The next version of a targets role of the verified repo r with target name set to
 * {length, sha256} (sha256hex NULL: removed; WHARF_ENOTFOUND if it was not there), signed by
 * key, which must be a key of the role. */
int wharf_trust_targets_edit(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
			     const char *name, const char *sha256hex, uint64_t length, struct wharf_key *key,
			     int64_t expires, struct wharf_error *err);
/* The next snapshot version over r's, with the file meta of the changed roles replaced. */
int wharf_trust_snapshot_next(struct wharf_buf *out, const struct wharf_trust_repo *r,
			      const struct wharf_tuf_upload *changed, size_t n, struct wharf_key *key, int64_t expires,
			      struct wharf_error *err);

/* A name made safe as one file name: every byte outside [A-Za-z0-9._-] (and a leading '.') as %XX. */
char *wharf_trust_escape_name(const char *s);

/* ---- Rotation (Notary's dialect) ---- */

/* The next root version of the verified repo r with role's keys replaced by new_key (threshold 1;
 * keys no role lists any more are dropped), signed by every key of signers: for a root rotation
 * the old and the new root key, so that clients trusting the old root follow the chain. role is
 * root, targets, snapshot or timestamp; a new root key must be a certificate key. */
int wharf_trust_root_rotate(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
			    const struct wharf_key *new_key, struct wharf_key *const *signers, size_t nsigners,
			    int64_t expires, struct wharf_error *err);
/* The next version of role (targets, a delegation or snapshot) of r with the same content and a
 * new expiry (for snapshot, the file meta of the changed roles replaced), signed by key. The key
 * is not checked against root: a rotation signs with the key the new root lists. */
int wharf_trust_role_resign(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
			    const struct wharf_tuf_upload *changed, size_t n, struct wharf_key *key, int64_t expires,
			    struct wharf_error *err);
/* Ask the server for a new key of role (timestamp or snapshot): POST <role>.key. The key signs
 * once a published root lists it. */
int wharf_trust_http_new_key(const char *server, const char *gun, const char *role, struct wharf_key **out,
			     struct wharf_error *err);

/* ---- Delegations (src/trust/client_deleg.c; Notary's dialect) ---- */

/* Sign signed_obj (taken) with keys in the byte form Notary's client uploads. */
int wharf_trust_sign_signed(json_t *signed_obj, struct wharf_key *const *keys, size_t n, struct wharf_buf *out,
			    struct wharf_error *err);
/* A copy of the signed object of role (a targets role of r) to edit; NULL when r has no such role. */
json_t *wharf_trust_deleg_edit_begin(const struct wharf_trust_repo *r, const char *role);
/* In a targets signed object: make (or update) delegation role with keys added (no duplicates).
 * paths NULL keeps the role's paths (a new role gets [""]: every path); threshold 0 keeps the
 * role's (a new role gets 1). Fails when the threshold exceeds the number of keys. */
int wharf_trust_deleg_add_keys(json_t *signed_obj, const char *role, struct wharf_key *const *keys, size_t n,
			       const json_t *paths, int64_t threshold, struct wharf_error *err);
/* Remove the key IDs (all of the role's keys when n is 0) from delegation role. A threshold the
 * remaining keys cannot meet is lowered to their number, so revocation is never blocked; a role
 * left without keys is removed. Keys no delegation lists any more are dropped. *removed_role
 * says whether the role went; WHARF_ENOTFOUND when the role is not delegated here. */
int wharf_trust_deleg_remove_keys(json_t *signed_obj, const char *role, const char *const *keyids, size_t n,
				  bool *removed_role, struct wharf_error *err);
/* The delegation entry of role in a targets signed object (borrowed), or NULL. */
json_t *wharf_trust_deleg_find(const json_t *signed_obj, const char *role);
/* Sign the edited signed object of role (taken) as r's next version, with key, which must be a key
 * of role in r. */
int wharf_trust_deleg_edit_finish(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
				  json_t *signed_obj, struct wharf_key *key, int64_t expires, struct wharf_error *err);
/* Sign or remove target name in delegated role (targets/...), signed by key: the next version
 * of its verified metadata, or, when the role is delegated but r holds no verified metadata of
 * it, a new one at first_version (1, or above what the server stores from an earlier
 * delegation). key must be one of the keys its delegator lists for it, and the threshold 1. */
int wharf_trust_deleg_sign_target(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
				  const char *name, const char *sha256hex, uint64_t length, struct wharf_key *key,
				  int64_t first_version, int64_t expires, struct wharf_error *err);
/* The delegator of a delegated role: targets/a/b -> targets/a (written into out). */
void wharf_trust_deleg_parent(const char *role, char *out, size_t n);

/* ---- Staged k-of-n changes, the client's half (src/trust/client_pending.c) ---- */

/* GET (body NULL) or POST JSON body to <server>/v2/<gun>/_trust/<path>; *out is the parsed JSON
 * answer. A refusal comes back with the server's message (409: WHARF_EBUSY). */
int wharf_trust_http_json(const char *server, const char *gun, const char *path, const char *body, json_t **out,
			  struct wharf_error *err);
/* One Notary signature object {"keyid","method","sig"} by key over signed_obj's canonical form. */
int wharf_trust_signature_of(const json_t *signed_obj, struct wharf_key *key, json_t **out, struct wharf_error *err);
/* What a new signed object of a role changes against the old one: for targets roles
 * {"targets": {added, removed, changed}, "delegations": {added, removed, changed: {role:
 * {threshold: [old, new], keys_added, keys_removed, paths}}}}, for root {"roles": {...}}. */
json_t *wharf_trust_change_diff(const json_t *old_signed, const json_t *new_signed);
/* The next root's signed object (not signed) of the verified r with the key IDs remove (or unique
 * prefixes) taken out of role (root, targets, snapshot or timestamp), keys add put in, and its
 * threshold set (0 keeps it); keys no role lists any more are dropped. Root keys must be
 * certificate keys; the threshold must be within 1..keys. */
int wharf_trust_root_set_role(json_t **out, const struct wharf_trust_repo *r, const char *role,
			      struct wharf_key *const *add, size_t n, const char *const *remove, size_t nremove,
			      int64_t threshold, int64_t expires, struct wharf_error *err);

/* ---- Refresh (src/trust/client_refresh.c) ---- */

/* The next root version of the verified repo r with the same content and a new expiry, signed by
 * every key of signers (the current root keys; a root refresh changes no key). */
int wharf_trust_root_resign(struct wharf_buf *out, const struct wharf_trust_repo *r, struct wharf_key *const *signers,
			    size_t nsigners, int64_t expires, struct wharf_error *err);

#endif
