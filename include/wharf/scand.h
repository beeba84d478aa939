/* scand: the registry's scan queue. Every pushed image manifest is queued by digest in its own
 * SQLite file (<data>/scan.db); worker threads read the layers from the blob store, run the
 * layer walker (with the per-layer cache), merge, match against the vulnerability database and
 * keep the Trivy-format JSON report with the database generation it was made with. Jobs survive
 * restarts; a new database generation queues every image again. The pull policy reads the
 * stored counts. See docs/scan-server.md. */
#ifndef WHARF_SCAND_H
#define WHARF_SCAND_H

#include <stdbool.h>
#include <stdint.h>

#include "wharf/pkg.h"
#include "wharf/store.h"
#include "wharf/util.h"

/* The state of one image's scan. */
enum wharf_scand_state {
	WHARF_SCAND_UNKNOWN = 0, /* never queued */
	WHARF_SCAND_QUEUED,
	WHARF_SCAND_RUNNING,
	WHARF_SCAND_DONE,
	WHARF_SCAND_FAILED,      /* the image could not be scanned (error says why) */
};
const char *wharf_scand_state_name(enum wharf_scand_state s);

/* A job crashed the server this many times (running when it died): it is marked failed. */
#define WHARF_SCAND_MAX_ATTEMPTS 3

struct wharf_scand_options {
	const char *data_dir;    /* scan.db and scan-cache/ live here */
	const char *vulndb_path; /* NULL: <data_dir>/vulndb.sqlite */
	unsigned workers;        /* worker threads; 0: jobs are queued but nothing scans */
	unsigned poll_ms;        /* how often the database generation is checked; 0: 2000 */
	struct wharf_store *store; /* borrowed; blobs and manifests are read from it */
};

struct wharf_scand;

/* Open (creating) <data_dir>/scan.db. Jobs left running by a killed process go back to the
 * queue (or to failed after WHARF_SCAND_MAX_ATTEMPTS). Workers start with wharf_scand_start. */
int wharf_scand_open(struct wharf_scand **out, const struct wharf_scand_options *o, struct wharf_error *err);
/* Start the worker threads (none when workers is 0). */
int wharf_scand_start(struct wharf_scand *q, struct wharf_error *err);
/* Stop the workers (a running job is abandoned and resumes on the next start) and close. */
void wharf_scand_close(struct wharf_scand *q);

/* Queue the image manifest digest (pushed to repo) for a scan, unless it is queued or scanned
 * already with the current database. Idempotent. */
int wharf_scand_enqueue(struct wharf_scand *q, const char *digest, const char *repo, struct wharf_error *err);

/* Queue again every finished image whose result was made with a database generation other
 * than generation (the workers call this when the database changes). Returns how many, or a
 * negative error. */
int wharf_scand_requeue_stale(struct wharf_scand *q, const char *generation, struct wharf_error *err);

/* What the queue knows of one image. */
struct wharf_scand_job {
	enum wharf_scand_state state;
	bool has_result;       /* a report exists (possibly while a rescan is queued) */
	char *report;          /* the Trivy-format JSON report, NULL when none */
	char *generation;      /* database generation of the report ("" without a database) */
	char *error;           /* why it failed, NULL otherwise */
	int64_t scanned_at;
	unsigned attempts;
	unsigned counts[5];    /* vulnerability findings per severity (index: enum wharf_severity) */
};
void wharf_scand_job_free(struct wharf_scand_job *j);

/* Look digest up (with_report: also load the report). j->state is WHARF_SCAND_UNKNOWN when it
 * was never queued. */
int wharf_scand_get(struct wharf_scand *q, const char *digest, bool with_report, struct wharf_scand_job *j,
		    struct wharf_error *err);

/* Run at most one queued job in the calling thread: 1 when one ran (done or failed), 0 when
 * the queue is empty. What the workers do in a loop; tests call it directly. */
int wharf_scand_run_one(struct wharf_scand *q, struct wharf_error *err);

/* Check the database generation now and requeue stale results: returns the number requeued. */
int wharf_scand_check_generation(struct wharf_scand *q, struct wharf_error *err);

/* Jobs per state (index: enum wharf_scand_state), for metrics and tests. */
int wharf_scand_counts(struct wharf_scand *q, unsigned counts[5], struct wharf_error *err);

/* ---- pull policy ---- */

/* One rule: block pulls of images with a vulnerability finding of block_severity or worse
 * (enum wharf_severity; -1: no threshold), and of images without a result when block_unscanned. */
struct wharf_scan_rule {
	int block_severity;
	bool block_unscanned;
};

struct wharf_scan_policy {
	bool set;                       /* any policy configured */
	struct wharf_scan_rule def;
	struct wharf_strv patterns;     /* repository patterns (fnmatch), the first match wins */
	struct wharf_scan_rule *rules;  /* one per pattern */
};
void wharf_scan_policy_init(struct wharf_scan_policy *p);
void wharf_scan_policy_free(struct wharf_scan_policy *p);
/* Read the config's "scan_policy" object: {"default": RULE, "repositories": {"PATTERN": RULE}},
 * RULE = {"block_severity": "CRITICAL"|"HIGH"|"MEDIUM"|"LOW"|"UNKNOWN"|null,
 * "block_unscanned": bool}. Errors name the key that broke the rule. */
int wharf_scan_policy_load(struct wharf_scan_policy *p, const char *json_text, struct wharf_error *err);
/* The rule for repo. */
const struct wharf_scan_rule *wharf_scan_policy_rule(const struct wharf_scan_policy *p, const char *repo);

/* Should a pull of digest from repo be refused? Returns 1 (blocked: *why is a message naming the
 * digest, the count and the severity, caller frees), 0 (allowed), or a negative error. */
int wharf_scand_policy_check(struct wharf_scand *q, const struct wharf_scan_policy *p, const char *repo,
			     const char *digest, char **why, struct wharf_error *err);

/* ---- reports ---- */

/* Keep only the findings (Vulnerabilities[] and Secrets[]) of a Trivy-format report whose
 * Severity is in mask (bits WHARF_SEV_BIT of enum wharf_severity). Returns a new string. */
int wharf_scand_report_filter(const char *report, unsigned mask, char **out, struct wharf_error *err);

/* The largest report wharf_scand_report_read accepts. */
#define WHARF_SCAND_REPORT_MAX (256u << 20)
/* Read a Trivy-format JSON report (as the vulnerabilities API serves it) into r: findings,
 * secrets, the packages they name, the layers, OS and scan time, for the report writers.
 * WHARF_EINVAL naming the field that broke the format; over the limit, WHARF_ETOOBIG. */
int wharf_scand_report_read(const char *json, size_t len, struct wharf_scan_result *r, struct wharf_error *err);

#endif
