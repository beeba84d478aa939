/* vulndb: the local vulnerability database (SQLite), its importers, matching of a scan's
 * packages against it, and the reports (table, Trivy-compatible JSON, SARIF 2.1.0,
 * CycloneDX 1.5). See docs/vulndb.md. */
#ifndef WHARF_VULNDB_H
#define WHARF_VULNDB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "wharf/pkg.h"
#include "wharf/util.h"

struct wharf_vulndb;

/* The database file under home: "<home>/vulndb.sqlite" (caller frees). */
char *wharf_vulndb_default_path(const char *home);

/* Open the database at path read-only for matching. The handle reads one snapshot: its
 * generation and every match agree even while an import commits (open a new handle to see
 * newer data). WHARF_ENOTFOUND when it does not exist
 * (run `wharf db import` first), WHARF_EINVAL when it is not a wharf vulnerability database
 * or has another schema version. */
int wharf_vulndb_open(struct wharf_vulndb **out, const char *path, struct wharf_error *err);
void wharf_vulndb_close(struct wharf_vulndb *db);

/* The database generation: a value that changes on every import (a server rescans its images
 * when it differs from the one their results were made with). *out is owned by the caller. */
int wharf_vulndb_generation(struct wharf_vulndb *db, char **out, struct wharf_error *err);

/* Match r->pkgs against the database (r->os selects the distro advisories) and append the
 * findings to r->findings, deduplicated per (package, vulnerability), each with severity,
 * fixed version or status "affected", and what the database knows of it (title, description,
 * CVSS, primary URL). */
int wharf_vulndb_match(struct wharf_vulndb *db, struct wharf_scan_result *r, struct wharf_error *err);

/* Read a package list (JSON: {"artifact": "...", "os": {"id", "version_id", "codename"},
 * "packages": [{"ecosystem", "name", "version", "source_name", "source_version", "path",
 * "purl", "layer_digest", "layer_diffid"}]}) into r's os and pkgs, for matching an inventory
 * that did not come from an image scan (`wharf db match`). name is used in errors. */
int wharf_vulndb_load_pkglist(const char *name, const char *data, size_t len, struct wharf_scan_result *r,
			      struct wharf_error *err);

/* Import formats of wharf_vulndb_import. */
#define WHARF_VULNDB_FMT_OSV "osv"       /* OSV JSON or YAML records, files or directories */
#define WHARF_VULNDB_FMT_DEBIAN "debian" /* the Debian security tracker JSON export */
#define WHARF_VULNDB_FMT_ALPINE "alpine" /* Alpine secdb (JSON or YAML) */
#define WHARF_VULNDB_FMT_NVD "nvd"       /* NVD CVE JSON 2.0: CVSS and descriptions */
#define WHARF_VULNDB_FMT_RUSTSEC "rustsec" /* RustSec advisory-db Markdown files (crates.io) */

/* Size limit of one input file. */
#define WHARF_VULNDB_MAX_FILE (256u * 1024 * 1024)

struct wharf_vulndb_import_stats {
	size_t files;      /* files read */
	size_t advisories; /* advisory records imported (OSV records, tracker CVE entries, ...) */
	size_t skipped;    /* records skipped as not applicable (e.g. OSV withdrawn) */
};

/* Import every file of paths (files or directories, walked recursively for *.json, *.yaml,
 * *.yml; *.md for rustsec) in format into the database at db_path, created when missing. Atomic: everything is
 * written in one transaction, and a bad file (over the size limit, not parseable, breaking a
 * rule of the format) leaves the database as it was, with an error naming the file and the
 * rule. Re-importing the same data replaces what the same source wrote for the same records,
 * so it is idempotent. stats may be NULL. */
int wharf_vulndb_import(const char *db_path, const char *format, const char *const *paths, size_t npaths,
			struct wharf_vulndb_import_stats *stats, struct wharf_error *err);

/* The status of the database at db_path as JSON (sources with their import times and counts,
 * counts per ecosystem, schema version, generation, build time); caller frees *out. */
int wharf_vulndb_status_json(const char *db_path, char **out, struct wharf_error *err);

/* Severity levels, as ranks (higher is worse) and bits of a filter mask. */
enum wharf_severity {
	WHARF_SEV_UNKNOWN = 0,
	WHARF_SEV_LOW = 1,
	WHARF_SEV_MEDIUM = 2,
	WHARF_SEV_HIGH = 3,
	WHARF_SEV_CRITICAL = 4,
};
#define WHARF_SEV_BIT(s) (1u << (s))
#define WHARF_SEV_ALL 0x1fu
/* "CRITICAL" -> WHARF_SEV_CRITICAL (case-insensitive); -1 when not a severity name. */
int wharf_severity_from_name(const char *name);
const char *wharf_severity_name(int sev);
/* A comma-separated list like "HIGH,CRITICAL" into a mask of WHARF_SEV_BIT()s. */
int wharf_severity_parse_list(const char *list, unsigned *mask, struct wharf_error *err);

/* The CVSS v3.0/v3.1 base score of vector ("CVSS:3.1/AV:N/AC:L/..."), computed as the
 * specification says (with its round-up). WHARF_EINVAL naming the metric that is missing or
 * has an invalid value. */
int wharf_cvss3_base_score(const char *vector, double *score, struct wharf_error *err);
/* The severity a CVSS score falls in (v3 ranges): NONE counts as LOW. */
int wharf_severity_from_cvss(double score);

/* One entry of an ignore file. */
struct wharf_ignore_entry {
	char *id;       /* vulnerability ID (or an alias), or secret rule ID */
	char *pkg;      /* only for this package name, NULL for any */
	char *reason;   /* required */
	int64_t expires; /* unix time of the end of the expiry day (UTC) */
	int line;       /* where it was in the file */
};
struct wharf_ignore_list {
	struct wharf_ignore_entry *v;
	size_t n;
};

/* Load an ignore file: YAML
 *   ignore:
 *     - id: CVE-2023-1234
 *       reason: not reachable
 *       expires: 2025-12-31
 *       package: openssl        # optional
 * or plain lines "ID reason words... expires=YYYY-MM-DD" ('#' comments). An entry without a
 * reason or an expiry is an error naming the line. */
int wharf_ignore_load(const char *path, struct wharf_ignore_list *out, struct wharf_error *err);
/* The same from a buffer; name is used in error messages. */
int wharf_ignore_parse(const char *name, const char *data, size_t len, struct wharf_ignore_list *out,
		       struct wharf_error *err);
void wharf_ignore_list_free(struct wharf_ignore_list *l);
/* Add to l, for every entry, entries for the aliases the database knows of its ID (same
 * package, reason, expiry and line), so "CVE-2020-36567" also ignores the GO-2020-0001 finding
 * that aliases it. Call with the database the findings came from. */
int wharf_vulndb_expand_ignore(struct wharf_vulndb *db, struct wharf_ignore_list *l, struct wharf_error *err);

struct wharf_report_options {
	unsigned severities;                 /* mask of WHARF_SEV_BIT(); 0 means all */
	bool ignore_unfixed;                 /* drop findings with no fixed version */
	const struct wharf_ignore_list *ignore; /* may be NULL */
	int64_t now;                         /* for ignore expiry; 0 means wharf_now() */
	FILE *warnings;                      /* expired ignore entries are reported here; NULL: stderr */
};

/* Would the options keep finding f of result r (severity, unfixed, ignore entries)? */
bool wharf_report_keeps(const struct wharf_scan_result *r, const struct wharf_finding *f,
			const struct wharf_report_options *opt);
/* The filter step: remove from r the findings and secrets the options drop, warning once per
 * expired ignore entry that would have matched. Returns the number removed. */
size_t wharf_report_filter(struct wharf_scan_result *r, const struct wharf_report_options *opt);
/* The worst severity among the findings and secrets r holds (WHARF_SEV_UNKNOWN when none, -1
 * when there are none at all). */
int wharf_report_max_severity(const struct wharf_scan_result *r);

/* Write r as format ("table", "json" (Trivy-compatible), "sarif", "cyclonedx") to out, after
 * the options' filter (opt may be NULL: no filter). WHARF_EINVAL for an unknown format. */
int wharf_report_write(FILE *out, const char *format, const struct wharf_scan_result *r,
		       const struct wharf_report_options *opt, struct wharf_error *err);

#endif
