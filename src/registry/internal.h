/* Shared between the registry's handler files; not part of libwharf's public interface. */
#ifndef WHARF_REGISTRY_INTERNAL_H
#define WHARF_REGISTRY_INTERNAL_H

#include <pthread.h>

#include "wharf/oci.h"

#include "wharf/auth.h"
#include "wharf/registry.h"
#include "wharf/scand.h"
#include "wharf/trust.h"

#define DIGEST_LOCKS 64
#define UPLOAD_BUCKETS 256

/* The running hash of an upload, so each PATCH hashes only its own bytes. */
struct upload_state {
	char id[33];
	struct wharf_hasher *hasher;
	uint64_t offset; /* bytes hashed */
	bool busy;       /* a request is writing to it */
	struct upload_state *next;
};

struct wharf_registry {
	struct wharf_config cfg;
	struct wharf_store *store;
	struct wharf_meta *meta;
	struct wharf_metrics *metrics;
	struct wharf_auth *auth;
	struct wharf_trust *trust;
	pthread_mutex_t digest_locks[DIGEST_LOCKS];
	pthread_mutex_t uploads_lock;
	struct upload_state *uploads[UPLOAD_BUCKETS];
	pthread_mutex_t gc_lock; /* one collection at a time */
	pthread_t gc_thread;
	bool gc_thread_started;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	struct wharf_scand *scand;
	struct wharf_scan_policy scan_policy;
};

enum route_kind {
	ROUTE_NONE,
	ROUTE_BASE,
	ROUTE_CATALOG,
	ROUTE_MANIFEST,
	ROUTE_BLOB,
	ROUTE_UPLOAD_START,
	ROUTE_UPLOAD,
	ROUTE_TAGS,
	ROUTE_REFERRERS,
};

struct route {
	enum route_kind kind;
	char name[WHARF_REPO_NAME_MAX + 64];
	const char *arg; /* points into the request path */
	size_t name_len;
};

/* Split "/v2/<name>/<suffix>"; kind ROUTE_NONE when the path is no registry route.
 * arg points into path; name is a copy (possibly truncated past the name limit, with
 * name_len the true length so the name check can refuse it). */
void reg_route_parse(const char *path, struct route *rt);

/* Errors in the distribution spec's JSON shape. */
void reg_error(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Answer with the error a libwharf failure maps to; client mistakes never become 500. */
void reg_error_from(struct wharf_http_request *req, const struct wharf_error *err, const char *notfound_code);
void reg_respond_json(struct wharf_http_request *req, unsigned status, const char *content_type,
		      char *body, size_t len);

/* Record a completed event (push, delete) in the audit log with the request's subject and
 * remote address; fields (may be NULL) is stolen. A no-op without an audit log. */
void reg_audit(struct wharf_registry *reg, struct wharf_http_request *req, const char *type, json_t *fields);

/* Serialize store + metadata changes of one digest against the collector. */
void reg_lock_digest(struct wharf_registry *reg, const char *digest);
void reg_unlock_digest(struct wharf_registry *reg, const char *digest);

void reg_blob_get(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		  const char *digest);
void reg_blob_delete(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		     const char *digest);
void reg_upload_start(struct wharf_registry *reg, struct wharf_http_request *req, const char *name);
void reg_upload_patch(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		      const char *id);
void reg_upload_put(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		    const char *id);
void reg_upload_status(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		       const char *id);
void reg_upload_cancel(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		       const char *id);
void reg_upload_forget(struct wharf_registry *reg, const char *id);
void reg_manifest_get(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		      const char *ref);
void reg_manifest_put(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		      const char *ref);
void reg_manifest_delete(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			 const char *ref);
void reg_tags_list(struct wharf_registry *reg, struct wharf_http_request *req, const char *name);
void reg_catalog(struct wharf_registry *reg, struct wharf_http_request *req);
void reg_referrers(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		   const char *digest);
void reg_metrics(struct wharf_registry *reg, struct wharf_http_request *req);
void reg_admin_gc(struct wharf_registry *reg, struct wharf_http_request *req);

/* Scanning (scan_api.c): the vulnerabilities route, the enqueue-on-push hook, the pull gate. */
int reg_scan_open(struct wharf_registry *reg, struct wharf_error *err);
/* Append the scan queue's gauges (jobs per state) to a /metrics body. */
void reg_scan_metrics(struct wharf_registry *reg, struct wharf_buf *out);
/* Split "/api/v1/repositories/<name>/manifests/<digest>/vulnerabilities" (copies, truncated). */
bool reg_scan_api_route(const char *path, char *name, size_t namesz, size_t *name_len, char *digest,
			size_t digestsz);
void reg_scan_vulnerabilities(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			      const char *digest);
void reg_scan_enqueue(struct wharf_registry *reg, const char *repo, const char *digest,
		      const struct wharf_manifest *man);
/* False (and answered 403 DENIED) when the scan policy refuses the pull of mm. */
bool reg_scan_pull_allowed(struct wharf_registry *reg, struct wharf_http_request *req, const char *repo,
			   const struct wharf_meta_manifest *mm);

/* The second authorization pass of a manifest read (image_policy.c): false (and answered 403
 * DENIED) when the plugins or the policy refuse mm with its scan result, signature (tag NULL:
 * unknown) and labels. A no-op unless a plugin or a policy rule needs image attributes. */
bool reg_image_policy_allowed(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			      const char *tag, const struct wharf_meta_manifest *mm);

/* Parse "?n=" and "?last=" for the paginated lists: false (and answered) when n is bad. */
bool reg_pagination(struct wharf_http_request *req, uint64_t *n, bool *has_n, const char **last);

#endif
