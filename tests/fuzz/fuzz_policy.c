/* The attribute-based policy file (an administrator's file, but loaded by wharfd and by
 * `wharf admin` tools; a malformed one must fail cleanly). Input: the policy document. Every
 * parsed policy is evaluated against a few requests; a decision must come with a reason. The
 * two passes of a manifest read must agree: when the first pass (image pending) denies, the
 * second denies the same way whatever the image turns out to be. */
#include <string.h>

#include "wharf/authx.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wharf_policy *p = NULL;
	struct wharf_error err;
	int r = wharf_policy_parse(&p, (const char *)data, size, &err);
	FUZZ_CHECK(r == 0 || r == -WHARF_EINVAL || r == -WHARF_ETOOBIG);
	FUZZ_CHECK((r == 0) == (p != NULL));
	if (!p)
		return 0;
	const char *teams[] = {"acme/release", "acme/dev"};
	json_t *labels = json_pack("{s:s}", "tier", "prod");
	struct wharf_authz_request reqs[] = {
		{.user = "alice", .teams = teams, .nteams = 2, .repository = "acme/app", .action = "push", .tag = "v1",
		 .labels = labels, .scan_max_severity = "CRITICAL", .signed_status = 1, .now = 1763893800},
		{.action = "pull", .signed_status = -1, .now = 1},
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		bool allowed;
		char reason[128] = "";
		wharf_policy_evaluate(p, &reqs[i], &allowed, reason, sizeof(reason));
		FUZZ_CHECK(wharf_str_has_prefix(reason, "policy "));
	}
	/* First pass denies => every second pass denies with the same rule. */
	struct wharf_authz_request pending = {.user = "bob", .repository = "acme/app", .action = "pull", .tag = "v1",
					      .signed_status = -1, .now = 1763893800, .image = WHARF_IMAGE_PENDING};
	bool first;
	char first_reason[128] = "";
	wharf_policy_evaluate(p, &pending, &first, first_reason, sizeof(first_reason));
	static const char *const sevs[] = {NULL, "NONE", "LOW", "CRITICAL"};
	for (size_t i = 0; !first && i < 2 * sizeof(sevs) / sizeof(sevs[0]); i++) {
		struct wharf_authz_request known = pending;
		known.image = WHARF_IMAGE_KNOWN;
		known.scan_max_severity = sevs[i / 2];
		known.signed_status = (int)(i % 2);
		known.labels = i % 2 ? labels : NULL;
		bool allowed;
		char reason[128] = "";
		wharf_policy_evaluate(p, &known, &allowed, reason, sizeof(reason));
		FUZZ_CHECK(!allowed && !strcmp(reason, first_reason));
	}
	json_decref(labels);
	wharf_policy_free(p);
	return 0;
}
