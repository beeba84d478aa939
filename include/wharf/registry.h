/* registry: the OCI Distribution Spec v1.1 server. Owns the store, the metadata and the
 * in-memory upload states; its dispatch function plugs into the http layer. */
#ifndef WHARF_REGISTRY_H
#define WHARF_REGISTRY_H

#include "wharf/auth.h"
#include "wharf/http.h"
#include "wharf/meta.h"
#include "wharf/store.h"

struct wharf_config {
	char *listen_host;
	uint16_t listen_port;
	char *data_dir;
	unsigned threads;
	unsigned max_connections;
	unsigned idle_timeout;
	bool access_log;
	char *log_level;
	int64_t gc_interval;  /* seconds between online collections; 0: off */
	int64_t gc_grace;     /* unreferenced blobs younger than this are kept */
	int64_t upload_ttl;   /* uploads idle longer than this are abandoned */
	bool delete_enabled;
	struct wharf_strv require_signed; /* repository patterns (fnmatch) whose tags must be signed */
	struct wharf_auth_config auth;    /* access control (off unless auth.enabled) */
	unsigned scan_workers;     /* scan queue workers (default 1); 0: pushes are queued, nothing scans */
	char *vulndb_path;         /* NULL: <data>/vulndb.sqlite */
	char *scan_policy;         /* the "scan_policy" config object as JSON text, NULL when none */
	char *scan_block_severity; /* --scan-block-severity: overrides the policy's default */
	int scan_block_unscanned;  /* --scan-block-unscanned: 1; -1 when not given */
};

/* Defaults: 127.0.0.1:5000, ./data, access log on, gc off, grace 1h, uploads kept 24h. */
void wharf_config_init(struct wharf_config *cfg);
void wharf_config_free(struct wharf_config *cfg);
/* Read a JSON config file over the current values; unknown keys are errors. */
int wharf_config_load(struct wharf_config *cfg, const char *path, struct wharf_error *err);
int wharf_config_set_listen(struct wharf_config *cfg, const char *hostport, struct wharf_error *err);
/* Does the require-signed policy cover repository repo? */
bool wharf_config_requires_signed(const struct wharf_config *cfg, const char *repo);

struct wharf_registry;

/* Hold the data directory for one process (wharfd, or an offline `wharf admin gc`).
 * WHARF_EBUSY when another holds it. The lock lasts as long as *out_fd stays open. */
int wharf_registry_lock_data(const char *data_dir, int *out_fd, struct wharf_error *err);

int wharf_registry_open(struct wharf_registry **out, const struct wharf_config *cfg,
			struct wharf_metrics *metrics, struct wharf_error *err);
void wharf_registry_close(struct wharf_registry *reg);
/* The http dispatch function; app is the registry. */
void wharf_registry_dispatch(void *app, struct wharf_http_request *req);

struct wharf_gc_report {
	uint64_t blobs_removed;
	uint64_t bytes_removed;
	uint64_t uploads_removed;
	uint64_t orphan_files_removed;
	uint64_t blobs_kept;
};
/* Collect unreferenced blobs and abandoned uploads. Safe beside live pushes: a blob is
 * removed only after the grace period and under the lock its uploads and manifests take. */
int wharf_registry_gc(struct wharf_registry *reg, bool dry_run, struct wharf_gc_report *report,
		      struct wharf_error *err);
/* Start or stop the background collector (cfg->gc_interval). */
void wharf_registry_start_gc_thread(struct wharf_registry *reg);
/* Start the scan workers (cfg->scan_workers of them). */
int wharf_registry_start_scanner(struct wharf_registry *reg, struct wharf_error *err);

#endif
