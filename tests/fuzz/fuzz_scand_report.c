/* wharf_scand_report_read and wharf_scand_report_filter on hostile bytes (a vulnerabilities
 * report as a server sends it to `wharf scan --remote`). Invariants: a failure carries a code
 * and a message; a success gives findings whose package index is in range; the filter keeps
 * only the severities asked for and its output reads back. */
#include "wharf/scand.h"
#include "wharf/vulndb.h"

#include "fuzz.h"

static void check_result(const struct wharf_scan_result *r)
{
	for (size_t i = 0; i < r->findings.n; i++) {
		const struct wharf_finding *f = &r->findings.v[i];
		FUZZ_CHECK(f->pkg < r->pkgs.n);
		FUZZ_CHECK(f->id && f->pkg_name && f->installed && f->severity && f->status);
	}
	for (size_t i = 0; i < r->secrets.n; i++)
		FUZZ_CHECK(r->secrets.v[i].rule_id && r->secrets.v[i].severity);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct wharf_scan_result r = {0};
	struct wharf_error err = {0};
	int rc = wharf_scand_report_read(text, size, &r, &err);
	if (rc < 0)
		FUZZ_CHECK(err.code != 0 && rc == -err.code && err.message[0]);
	else
		check_result(&r);
	wharf_scan_result_free(&r);
	char *out = NULL;
	unsigned mask = WHARF_SEV_BIT(WHARF_SEV_CRITICAL) | WHARF_SEV_BIT(WHARF_SEV_HIGH);
	if (wharf_scand_report_filter(text, mask, &out, &err) == 0 && out) {
		struct wharf_scan_result r2 = {0};
		if (wharf_scand_report_read(out, strlen(out), &r2, &err) == 0) {
			for (size_t i = 0; i < r2.findings.n; i++) {
				int s = wharf_severity_from_name(r2.findings.v[i].severity);
				FUZZ_CHECK(s == WHARF_SEV_CRITICAL || s == WHARF_SEV_HIGH);
			}
		}
		wharf_scan_result_free(&r2);
	}
	free(out);
	free(text);
	return 0;
}
