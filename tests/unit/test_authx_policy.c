/* authx policy file: strict parsing with errors naming rule and field, first-match evaluation. */
#include <jansson.h>

#include "wharf/authx.h"
#include "wharf_test.h"

/* Monday 2026-11-23 10:30 UTC, and the Saturday after at 03:00. */
#define MONDAY_1030 1795429800
#define SATURDAY_0300 1795834800

static struct wharf_policy *parse_ok(const char *doc)
{
	struct wharf_policy *p = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_policy_parse(&p, doc, strlen(doc), &err), err);
	return p;
}

static void parse_fails(const char *doc, const char *want)
{
	struct wharf_policy *p = NULL;
	struct wharf_error err;
	assert_wharf_err(wharf_policy_parse(&p, doc, strlen(doc), &err), err, WHARF_EINVAL);
	assert_null(p);
	assert_contains(err.message, want);
}

static bool decide(const struct wharf_policy *p, const struct wharf_authz_request *req, char *reason)
{
	bool allowed = !req; /* overwritten */
	wharf_policy_evaluate(p, req, &allowed, reason, 128);
	return allowed;
}

static const char *release_policy =
	"{\"version\":1,\"default\":\"allow\",\"rules\":["
	"{\"name\":\"no-critical\",\"effect\":\"deny\",\"actions\":[\"pull\"],\"scan\":{\"severity_at_least\":\"CRITICAL\"}},"
	"{\"name\":\"release-tags\",\"effect\":\"allow\",\"actions\":[\"push\"],\"tags\":[\"v*\"],\"teams\":[\"acme/release\"]},"
	"{\"name\":\"others-no-v\",\"effect\":\"deny\",\"actions\":[\"push\"],\"tags\":[\"v*\"]}]}";

static void critical_findings_block_pull(void **state)
{
	(void)state;
	struct wharf_policy *p = parse_ok(release_policy);
	char reason[128];
	struct wharf_authz_request req = {.user = "alice", .repository = "acme/app", .action = "pull",
					  .scan_max_severity = "CRITICAL", .signed_status = -1, .now = MONDAY_1030};
	assert_false(decide(p, &req, reason));
	assert_string_equal(reason, "policy rule 0 (no-critical): deny");
	req.scan_max_severity = "HIGH";
	assert_true(decide(p, &req, reason));
	assert_string_equal(reason, "policy default: allow");
	req.scan_max_severity = NULL; /* not scanned: severity conditions do not match */
	assert_true(decide(p, &req, reason));
	wharf_policy_free(p);
}

/* Two-pass manifest reads: on the first pass (WHARF_IMAGE_PENDING) a rule that depends on the image
 * defers instead of deciding, rules before it still decide, and the second pass decides for real. */
static void image_rules_defer_until_resolved(void **state)
{
	(void)state;
	struct wharf_policy *p = parse_ok(
		"{\"version\":1,\"default\":\"deny\",\"rules\":["
		"{\"name\":\"ops-all\",\"effect\":\"allow\",\"users\":[\"ops\"]},"
		"{\"name\":\"signed-ok\",\"effect\":\"allow\",\"actions\":[\"pull\"],\"signed\":true},"
		"{\"name\":\"no-unscanned\",\"effect\":\"deny\",\"scan\":{\"scanned\":false}}]}");
	assert_int_equal(wharf_policy_image_needs(p), WHARF_IMAGE_NEEDS_SCAN | WHARF_IMAGE_NEEDS_SIGNED);
	char reason[128];
	struct wharf_authz_request req = {.user = "bob", .repository = "acme/app", .action = "pull",
					  .signed_status = -1, .now = MONDAY_1030, .image = WHARF_IMAGE_PENDING};
	/* without the deferral, the default would deny a pull that the signed-ok rule allows */
	assert_true(decide(p, &req, reason));
	assert_string_equal(reason, "policy rule 1 (signed-ok): deferred until the manifest resolves");
	req.user = "ops"; /* a rule before the image rules still decides on the first pass */
	assert_true(decide(p, &req, reason));
	assert_string_equal(reason, "policy rule 0 (ops-all): allow");
	req.user = "bob";
	req.image = WHARF_IMAGE_UNKNOWN; /* no image (a blob GET): image rules never match, unknown is not unscanned */
	assert_false(decide(p, &req, reason));
	assert_string_equal(reason, "policy default: deny");
	req.image = WHARF_IMAGE_KNOWN; /* second pass: signed */
	req.digest = "sha256:00";
	req.signed_status = 1;
	assert_true(decide(p, &req, reason));
	assert_string_equal(reason, "policy rule 1 (signed-ok): allow");
	req.signed_status = 0; /* unsigned and unscanned: denied by rule 2 */
	assert_false(decide(p, &req, reason));
	assert_string_equal(reason, "policy rule 2 (no-unscanned): deny");
	req.scan_max_severity = "NONE"; /* clean is not unscanned */
	assert_false(decide(p, &req, reason));
	assert_string_equal(reason, "policy default: deny");
	wharf_policy_free(p);
	p = parse_ok(release_policy);
	assert_int_equal(wharf_policy_image_needs(p), WHARF_IMAGE_NEEDS_SCAN);
	wharf_policy_free(p);
	p = parse_ok("{\"default\":\"allow\",\"rules\":[{\"effect\":\"deny\",\"users\":[\"x\"]}]}");
	assert_int_equal(wharf_policy_image_needs(p), 0);
	wharf_policy_free(p);
}

static void only_release_team_pushes_v_tags(void **state)
{
	(void)state;
	struct wharf_policy *p = parse_ok(release_policy);
	char reason[128];
	const char *release[] = {"acme/dev", "acme/release"};
	const char *dev[] = {"acme/dev"};
	struct wharf_authz_request req = {.user = "bob", .teams = dev, .nteams = 1, .repository = "acme/app",
					  .action = "push", .tag = "v1.2", .signed_status = -1, .now = MONDAY_1030};
	assert_false(decide(p, &req, reason));
	assert_contains(reason, "others-no-v");
	req.teams = release;
	req.nteams = 2;
	assert_true(decide(p, &req, reason));
	assert_contains(reason, "release-tags");
	req.teams = dev;
	req.nteams = 1;
	req.tag = "latest";
	assert_true(decide(p, &req, reason));
	wharf_policy_free(p);
}

static void time_windows_labels_users_and_signatures(void **state)
{
	(void)state;
	struct wharf_policy *p = parse_ok(
		"{\"default\":\"deny\",\"rules\":["
		"{\"effect\":\"deny\",\"signed\":false,\"actions\":[\"pull\"],\"labels\":{\"tier\":\"prod*\"}},"
		"{\"effect\":\"allow\",\"users\":[\"ci-*\"],\"time\":{\"weekdays\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
		"\"hours\":{\"from\":8,\"to\":18}}},"
		"{\"effect\":\"allow\",\"users\":[\"anonymous\"],\"repositories\":[\"public/*\"],\"actions\":[\"pull\"]},"
		"{\"effect\":\"allow\",\"users\":[\"ops\"],\"time\":{\"hours\":{\"from\":22,\"to\":4}}}]}");
	char reason[128];
	json_t *labels = json_pack("{s:s}", "tier", "production");
	struct wharf_authz_request req = {.user = "ci-build", .repository = "acme/app", .action = "pull",
					  .labels = labels, .signed_status = 0, .now = MONDAY_1030};
	assert_false(decide(p, &req, reason)); /* unsigned production image */
	req.signed_status = 1;
	assert_true(decide(p, &req, reason)); /* weekday, in hours */
	req.signed_status = -1; /* unknown matches neither signed:true nor signed:false */
	assert_true(decide(p, &req, reason));
	req.now = SATURDAY_0300;
	assert_false(decide(p, &req, reason));
	assert_string_equal(reason, "policy default: deny");
	req.user = "ops"; /* window wrapping past midnight */
	assert_true(decide(p, &req, reason));
	req.now = MONDAY_1030;
	assert_false(decide(p, &req, reason));
	req.user = NULL;
	req.repository = "public/base";
	assert_true(decide(p, &req, reason));
	req.action = "push";
	assert_false(decide(p, &req, reason));
	json_decref(labels);
	wharf_policy_free(p);
}

static void errors_name_rule_and_field(void **state)
{
	(void)state;
	parse_fails("{\"rules\":[]}", "default: missing");
	parse_fails("{\"default\":\"maybe\"}", "default: must be");
	parse_fails("{\"default\":\"deny\",\"extra\":1}", "extra: unknown top-level field");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\"},{\"effect\":\"allow\",\"colour\":1}]}",
		    "rule 1: colour: unknown field");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"actions\":[\"pull\"]}]}", "rule 0: effect: missing");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"actions\":[\"fly\"]}]}",
		    "rule 0: actions: unknown action");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"actions\":[]}]}", "rule 0: actions: must be");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"tags\":\"v*\"}]}", "rule 0: tags: must be");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"scan\":{\"severity_at_least\":\"BAD\"}}]}",
		    "rule 0: scan.severity_at_least");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"time\":{\"hours\":{\"from\":25,\"to\":3}}}]}",
		    "rule 0: time.hours.from");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"time\":{\"weekdays\":[\"someday\"]}}]}",
		    "rule 0: time.weekdays");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"signed\":\"yes\"}]}", "rule 0: signed");
	parse_fails("{\"default\":\"deny\",\"rules\":[{\"effect\":\"allow\",\"labels\":{\"a\":1}}]}", "rule 0: labels");
	parse_fails("{\"default\":\"deny\",\"default\":\"allow\"}", "policy");
	parse_fails("[1]", "must be a JSON object");
}

static void oversized_policy_is_refused(void **state)
{
	(void)state;
	size_t n = WHARF_POLICY_MAX_BYTES + 10;
	char *big = wharf_xmalloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "{\"default\":\"deny\"}", 18);
	big[n] = 0;
	struct wharf_policy *p;
	struct wharf_error err;
	assert_wharf_err(wharf_policy_parse(&p, big, n, &err), err, WHARF_ETOOBIG);
	free(big);
}

static void severity_ranks(void **state)
{
	(void)state;
	assert_int_equal(wharf_severity_rank("critical"), 4);
	assert_int_equal(wharf_severity_rank("HIGH"), 3);
	assert_int_equal(wharf_severity_rank("NONE"), 0);
	assert_int_equal(wharf_severity_rank("Unknown"), 0);
	assert_int_equal(wharf_severity_rank("worse"), -1);
	assert_int_equal(wharf_severity_rank(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(critical_findings_block_pull),
		cmocka_unit_test(image_rules_defer_until_resolved),
		cmocka_unit_test(only_release_team_pushes_v_tags),
		cmocka_unit_test(time_windows_labels_users_and_signatures),
		cmocka_unit_test(errors_name_rule_and_field),
		cmocka_unit_test(oversized_policy_is_refused),
		cmocka_unit_test(severity_ranks),
	};
	return cmocka_run_group_tests_name("authx_policy", tests, NULL, NULL);
}
