/* tufspec: TUF in the specification's own format (spec 1.0.x: lower-case "_type",
 * "spec_version", hex signatures, key IDs over {"keytype","keyval":{"public"},"scheme"},
 * consistent snapshots), as python-tuf and tuf-js write it. A generic client of any such
 * repository: the section 5 update workflow and verified target downloads. */
#ifndef WHARF_TUFSPEC_H
#define WHARF_TUFSPEC_H

#include <jansson.h>

#include "wharf/util.h"

/* Default size limits, python-tuf's: a server that sends more is refused. */
#define WHARF_TUFSPEC_ROOT_MAX (512u * 1024)
#define WHARF_TUFSPEC_TIMESTAMP_MAX (16u * 1024)
#define WHARF_TUFSPEC_SNAPSHOT_MAX (2u * 1024 * 1024)
#define WHARF_TUFSPEC_TARGETS_MAX (5u * 1024 * 1024)
#define WHARF_TUFSPEC_ROOT_CHAIN_MAX 256 /* root versions walked in one refresh */
#define WHARF_TUFSPEC_DELEGATIONS_MAX 32 /* delegated roles visited in one target search */

/* One parsed signed metadata file. */
struct wharf_tufspec_meta {
	json_t *doc;        /* {"signed":..,"signatures":[..]} */
	json_t *signed_obj; /* borrowed from doc */
	char type[16];      /* "root", "timestamp", "snapshot", "targets" */
	int64_t version;
	int64_t expires;
};

/* Parse metadata that must be of _type type (role names the file in messages): JSON shape,
 * _type, spec_version 1.x, version >= 1, expires, signatures [{keyid, sig}] with hex sigs, and
 * the type's required fields (root: keys and the four roles; timestamp: meta snapshot.json;
 * snapshot: meta; targets: targets, delegations when present). */
int wharf_tufspec_parse(struct wharf_tufspec_meta *out, const char *type, const char *role, const char *data,
			size_t len, size_t limit, struct wharf_error *err);
void wharf_tufspec_meta_free(struct wharf_tufspec_meta *m);

/* At least threshold distinct keys among keyids (each in keys, {keyid: key}) made a valid
 * signature over the OLPC canonical form of "signed". */
int wharf_tufspec_verify(const struct wharf_tufspec_meta *m, const char *role, const json_t *keys,
			 const json_t *keyids, int64_t threshold, struct wharf_error *err);
/* The same with keys and the role's keyids/threshold from a root. */
int wharf_tufspec_verify_by_root(const struct wharf_tufspec_meta *m, const char *role,
				 const struct wharf_tufspec_meta *root, struct wharf_error *err);

/* Does target path match a delegation path pattern: '/'-separated components, each matched
 * with fnmatch-style '*' and '?' (a '*' never crosses a '/'), as python-tuf and tuf-js do. */
bool wharf_tufspec_path_match(const char *pattern, const char *path);
/* Does file meta {length?, hashes?} match the bytes (message names role)? */
int wharf_tufspec_check_file(const json_t *fm, const char *role, const void *data, size_t len,
			     struct wharf_error *err);

/* Fetch url into out (appended), reading at most limit bytes: WHARF_ENOTFOUND on 404 (or 403,
 * as static hosts answer), WHARF_ETOOBIG past the limit. */
typedef int (*wharf_tufspec_fetch_fn)(void *ctx, const char *url, size_t limit, struct wharf_buf *out,
				      struct wharf_error *err);
int wharf_tufspec_http_get(void *ctx, const char *url, size_t limit, struct wharf_buf *out, struct wharf_error *err);

struct wharf_tufspec_opts {
	const char *metadata_dir;    /* trusted metadata: root.json, timestamp.json, ... */
	const char *metadata_url;    /* base URL of the metadata */
	const char *target_base_url; /* base URL of the targets (downloads only) */
	const char *target_dir;      /* where verified targets are written */
	int64_t now;                 /* fixed start time; 0 for the current time */
	wharf_tufspec_fetch_fn fetch; /* NULL for wharf_tufspec_http_get */
	void *fetch_ctx;
};

/* Install a first trusted root: ROOT.json must be a root signed by its own threshold. */
int wharf_tufspec_init(const char *metadata_dir, const char *data, size_t len, struct wharf_error *err);

struct wharf_tufspec_client;
/* Refresh: root chain, timestamp, snapshot, top-level targets (spec 5.3 to 5.6). Verified
 * metadata is written to metadata_dir only when all of it verified; on failure nothing stored
 * changes and the message names the role and the rule. */
int wharf_tufspec_refresh(struct wharf_tufspec_client **out, const struct wharf_tufspec_opts *opts,
			  struct wharf_error *err);
/* The target info {length, hashes, custom?} of name, searched through delegations depth first
 * (spec 5.6.7); *role_out (may be NULL) names the role that signed it. Borrowed from c.
 * WHARF_ENOTFOUND when no trusted role has it. Verified delegated metadata is stored. */
int wharf_tufspec_target_info(struct wharf_tufspec_client *c, const char *name, const json_t **info,
			      const char **role_out, struct wharf_error *err);
/* Download name as info describes it (consistent snapshot: <hash>.<basename>), check length
 * and hashes, write it atomically to target_dir/<name escaped>. *path_out (may be NULL) is the file. */
int wharf_tufspec_download(struct wharf_tufspec_client *c, const char *name, const json_t *info, char **path_out,
			   struct wharf_error *err);
void wharf_tufspec_client_free(struct wharf_tufspec_client *c);

/* ---- Writing (src/trust/spec_write.c) ---- */
struct wharf_key;
/* {"signatures":[{"keyid","sig"} per key],"signed":signed_obj} as compact JSON; signatures over
 * the OLPC canonical form of signed_obj, key IDs and hex signatures in the specification's
 * dialect (ECDSA signatures DER). */
int wharf_tufspec_sign(const json_t *signed_obj, struct wharf_key *const *keys, size_t nkeys, struct wharf_buf *out,
		       struct wharf_error *err);
/* The common head of every signed object: _type, spec_version, version, expires. */
json_t *wharf_tufspec_signed_new(const char *type, int64_t version, int64_t expires);
/* {"length":N,"hashes":{"sha256":hex}} for target bytes. */
json_t *wharf_tufspec_target_meta(const void *data, size_t len);

#endif
