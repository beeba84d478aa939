/* The table for people: findings grouped by severity, worst first, with the layer that
 * brought the package in, then secrets. */
#include <string.h>

#include "report.h"

/* At most w bytes of the first line of s. */
static int truncate_width(const char *s, int w)
{
	int n = s ? (int)strcspn(s, "\r\n") : 0;
	return n > w ? w : n;
}

static void print_finding(FILE *out, const struct wharf_scan_result *r, const struct wharf_finding *f)
{
	const struct wharf_pkg *p = f->pkg < r->pkgs.n ? &r->pkgs.v[f->pkg] : NULL;
	char d[16];
	const char *layer = report_short_digest(p ? p->layer_digest : NULL, d, sizeof(d));
	const char *title = f->title ? f->title : (f->description ? f->description : "");
	fprintf(out, "  %-28.28s %-20s %-24.24s %-24.24s %-12s %-.*s\n", f->pkg_name, f->id,
		f->installed ? f->installed : "", f->fixed ? f->fixed : "(no fix)", layer, truncate_width(title, 60), title);
}

int report_write_table(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
		       struct wharf_error *err)
{
	size_t count[5] = {0}, total = 0;
	for (size_t i = 0; i < r->findings.n; i++) {
		if (!wharf_report_keeps(r, &r->findings.v[i], opt))
			continue;
		int s = wharf_severity_from_name(r->findings.v[i].severity);
		count[s < 0 ? 0 : s]++;
		total++;
	}
	fprintf(out, "%s", r->artifact ? r->artifact : "image");
	if (r->os.id)
		fprintf(out, " (%s %s)", r->os.id, r->os.version_id ? r->os.version_id : "");
	fprintf(out, "\n\nVulnerabilities: %zu (CRITICAL: %zu, HIGH: %zu, MEDIUM: %zu, LOW: %zu, UNKNOWN: %zu) in %zu packages\n",
		total, count[4], count[3], count[2], count[1], count[0], r->pkgs.n);
	for (int sev = WHARF_SEV_CRITICAL; sev >= WHARF_SEV_UNKNOWN; sev--) {
		if (!count[sev])
			continue;
		fprintf(out, "\n%s (%zu)\n  %-28s %-20s %-24s %-24s %-12s %s\n", wharf_severity_name(sev), count[sev],
			"PACKAGE", "VULNERABILITY", "INSTALLED", "FIXED", "LAYER", "TITLE");
		for (size_t i = 0; i < r->findings.n; i++) {
			const struct wharf_finding *f = &r->findings.v[i];
			int s = wharf_severity_from_name(f->severity);
			if ((s < 0 ? 0 : s) == sev && wharf_report_keeps(r, f, opt))
				print_finding(out, r, f);
		}
	}
	size_t nsec = 0;
	for (size_t i = 0; i < r->secrets.n; i++)
		nsec += report_keeps_secret(&r->secrets.v[i], opt);
	if (nsec) {
		fprintf(out, "\nSecrets: %zu\n  %-10s %-26s %-40s %-12s %s\n", nsec, "SEVERITY", "RULE", "WHERE", "LAYER",
			"MATCH");
		for (size_t i = 0; i < r->secrets.n; i++) {
			const struct wharf_secret_finding *s = &r->secrets.v[i];
			if (!report_keeps_secret(s, opt))
				continue;
			char d[16], where[512];
			snprintf(where, sizeof(where), "%s:%d", s->path ? s->path : "?", s->line);
			fprintf(out, "  %-10s %-26s %-40s %-12s %s\n", s->severity ? s->severity : "UNKNOWN",
				s->rule_id ? s->rule_id : "", where,
				s->layer < 0 ? "config" : report_short_digest(s->layer_digest, d, sizeof(d)),
				s->match ? s->match : "");
		}
	}
	if (fflush(out) != 0 || ferror(out))
		return wharf_error_sys(err, "cannot write the report");
	return 0;
}
