/* The report writers (vulndb/report_*.c), behind wharf_report_write. */
#ifndef WHARF_VULNDB_REPORT_H
#define WHARF_VULNDB_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "wharf/vulndb.h"

bool report_keeps_secret(const struct wharf_secret_finding *s, const struct wharf_report_options *opt);

int report_write_table(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
		       struct wharf_error *err);
int report_write_trivy(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
		       struct wharf_error *err);
int report_write_sarif(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
		       struct wharf_error *err);
int report_write_cyclonedx(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
			   struct wharf_error *err);

/* Shared by the writers. */
/* Trivy's Type of a package ("debian", "npm", "python-pkg", ...). */
const char *report_pkg_type(const struct wharf_pkg *p);
/* "os-pkgs" for distro packages, else "lang-pkgs". */
bool report_is_os_pkg(const struct wharf_pkg *p);
/* The first 12 hex digits of a digest ("sha256:0123456789ab"), "-" for none. */
const char *report_short_digest(const char *digest, char *buf, size_t len);
/* The package's purl: its own, else one made from ecosystem, name and version (with arch and
 * distro qualifiers for distro packages); NULL for unknown ecosystems. Caller frees. */
char *report_purl(const struct wharf_scan_result *r, const struct wharf_pkg *p);
/* RFC 3339 UTC. */
void report_time(int64_t t, char *buf, size_t len);
/* Dump j to out (2-space indent, keys in insertion order) and a newline. */
int report_dump(FILE *out, json_t *j, struct wharf_error *err);
/* json_string of s, or null. */
json_t *report_str(const char *s);

#endif
