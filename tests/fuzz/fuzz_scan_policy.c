/* wharf_scan_policy_load on hostile bytes (the "scan_policy" object of wharfd's config).
 * Invariants: a failure carries a code and a message and leaves no policy set; a success gives
 * rules with severities in range and one rule per pattern. */
#include "wharf/scand.h"
#include "wharf/vulndb.h"

#include "fuzz.h"

static void check_rule(const struct wharf_scan_rule *r)
{
	FUZZ_CHECK(r->block_severity >= -1 && r->block_severity <= WHARF_SEV_CRITICAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct wharf_scan_policy p;
	wharf_scan_policy_init(&p);
	struct wharf_error err = {0};
	int rc = wharf_scan_policy_load(&p, text, &err);
	if (rc < 0) {
		FUZZ_CHECK(err.code != 0 && rc == -err.code && err.message[0]);
		FUZZ_CHECK(!p.set);
	} else {
		FUZZ_CHECK(p.set);
		check_rule(&p.def);
		for (size_t i = 0; i < p.patterns.n; i++) {
			check_rule(&p.rules[i]);
			check_rule(wharf_scan_policy_rule(&p, p.patterns.v[i]));
		}
	}
	wharf_scan_policy_free(&p);
	free(text);
	return 0;
}
