/* authx plugins: the answer parser fails closed on anything but a clean Allow. */
#include <jansson.h>

#include "wharf/authx.h"
#include "wharf_test.h"

static int parse(const char *s, bool *allow, char *msg, size_t msg_len, struct wharf_error *err)
{
	return wharf_authz_parse_response(s, strlen(s), allow, msg, msg_len, err);
}

static void allow_and_deny_answers(void **state)
{
	(void)state;
	bool allow = false;
	char msg[64];
	struct wharf_error err;
	assert_wharf_ok(parse("{\"Allow\":true,\"Msg\":\"\",\"Err\":\"\"}", &allow, msg, sizeof(msg), &err), err);
	assert_true(allow);
	assert_wharf_ok(parse("{\"Allow\":false,\"Msg\":\"frozen\"}", &allow, msg, sizeof(msg), &err), err);
	assert_false(allow);
	assert_string_equal(msg, "frozen");
	assert_wharf_ok(parse("{\"Msg\":\"no Allow means no\"}", &allow, msg, sizeof(msg), &err), err);
	assert_false(allow);
	assert_wharf_ok(parse("{\"Allow\":false,\"Msg\":\"a message longer than the buffer given\"}", &allow, msg, 8, &err),
			err);
	assert_string_equal(msg, "a messa");
}

static void errors_and_malformed_answers_never_allow(void **state)
{
	(void)state;
	static const char *bad[] = {
		"{\"Allow\":true,\"Err\":\"backend down\"}", "{\"Allow\":\"true\"}", "{\"Allow\":1}", "[true]",
		"{\"Allow\":true,\"Msg\":7}",            "Allow: true",         "",            "{\"Allow\":true,\"Allow\":true}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool allow = true;
		char msg[16];
		struct wharf_error err;
		assert_wharf_err(parse(bad[i], &allow, msg, sizeof(msg), &err), err, WHARF_EINVAL);
		assert_false(allow);
	}
	bool allow = true;
	struct wharf_error err;
	assert_wharf_err(parse("{\"Allow\":true,\"Err\":\"backend down\"}", &allow, NULL, 0, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "plugin error: backend down");
}

static void chain_without_plugins_or_policy_allows(void **state)
{
	(void)state;
	struct wharf_authz_chain *c;
	struct wharf_error err;
	assert_wharf_ok(wharf_authz_chain_new(&c, NULL, 0, NULL, &err), err);
	struct wharf_authz_request req = {.action = "pull", .signed_status = -1};
	bool allowed = false;
	char reason[64];
	assert_wharf_ok(wharf_authz_chain_check(c, &req, &allowed, reason, sizeof(reason), &err), err);
	assert_true(allowed);
	wharf_authz_chain_free(c);
	const char *missing[] = {"/nonexistent/wharf-plugin.sock"};
	assert_wharf_err(wharf_authz_chain_new(&c, missing, 1, NULL, &err), err, WHARF_EIO);
	assert_contains(err.message, "/nonexistent/wharf-plugin.sock");
	assert_null(c);
}

static void facade_decides_and_records_every_decision(void **state)
{
	(void)state;
	char *dir = test_mkdtemp();
	char *policy = wharf_xasprintf("%s/policy.json", dir);
	char *audit = wharf_xasprintf("%s/audit.log", dir);
	const char *doc = "{\"default\":\"allow\",\"rules\":[{\"effect\":\"deny\",\"actions\":[\"delete\"]}]}";
	test_write_file(policy, doc, strlen(doc));
	json_t *obj = json_pack("{s:s,s:s}", "policy", policy, "audit_log", audit);
	struct wharf_authx_config cfg;
	struct wharf_error err;
	assert_wharf_ok(wharf_authx_config_from_json(&cfg, obj, &err), err);
	struct wharf_authx *x;
	assert_wharf_ok(wharf_authx_open(&x, &cfg, &err), err);
	assert_null(wharf_authx_ldap(x));
	struct wharf_authz_request req = {.user = "alice", .repository = "acme/app", .action = "delete", .signed_status = -1};
	bool allowed = true;
	char reason[128];
	assert_wharf_ok(wharf_authx_authorize(x, &req, &allowed, reason, sizeof(reason), &err), err);
	assert_false(allowed);
	req.action = "pull";
	assert_wharf_ok(wharf_authx_authorize(x, &req, &allowed, reason, sizeof(reason), &err), err);
	assert_true(allowed);
	wharf_authx_free(x);
	size_t records;
	assert_wharf_ok(wharf_audit_verify(audit, &records, &err), err);
	assert_int_equal(records, 2);
	char *log;
	size_t len;
	assert_wharf_ok(wharf_read_file(audit, 1 << 20, &log, &len, &err), err);
	assert_contains(log, "\"action\":\"delete\",\"allowed\":false");
	assert_contains(log, "\"action\":\"pull\",\"allowed\":true");
	free(log);
	wharf_authx_config_free(&cfg);
	json_decref(obj);
	json_t *bad = json_pack("{s:s}", "audit", "x");
	assert_wharf_err(wharf_authx_config_from_json(&cfg, bad, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "audit: unknown key");
	json_decref(bad);
	free(policy);
	free(audit);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allow_and_deny_answers),
		cmocka_unit_test(errors_and_malformed_answers_never_allow),
		cmocka_unit_test(chain_without_plugins_or_policy_allows),
		cmocka_unit_test(facade_decides_and_records_every_decision),
	};
	return cmocka_run_group_tests_name("authx_plugin", tests, NULL, NULL);
}
