/* authx LDAP: RFC 4515 filter escaping and the strict configuration parser (the directory
 * itself is exercised against a real slapd in tests/integration/test_ldap.py). */
#include <jansson.h>

#include "wharf/authx.h"
#include "wharf_test.h"

static void escape_covers_rfc4515_specials(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } cases[] = {
		{"alice", "alice"},
		{"*)(uid=*", "\\2a\\29\\28uid=\\2a"},
		{"a\\b", "a\\5cb"},
		{"", ""},
		{"j\xc3\xb6rg", "j\\c3\\b6rg"},
		{"tab\there", "tab\\09here"},
		{"o'brien & co=x", "o'brien & co=x"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = wharf_ldap_escape_filter(cases[i].in);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

static void format_substitutes_every_placeholder(void **state)
{
	(void)state;
	char *f = wharf_ldap_format_filter("(|(uid=%s)(mail=%s))", "*)(x");
	assert_string_equal(f, "(|(uid=\\2a\\29\\28x)(mail=\\2a\\29\\28x))");
	free(f);
	f = wharf_ldap_format_filter("(&(cn=100%%)(uid=%s))", "bob");
	assert_string_equal(f, "(&(cn=100%)(uid=bob))");
	free(f);
}

static int config_from(const char *text, struct wharf_ldap_config *cfg, struct wharf_error *err)
{
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	int r = wharf_ldap_config_from_json(cfg, o, err);
	json_decref(o);
	return r;
}

static void config_defaults_and_errors(void **state)
{
	(void)state;
	struct wharf_ldap_config cfg;
	struct wharf_error err;
	assert_wharf_ok(config_from("{\"uri\":\"ldaps://dir:636\",\"user_base\":\"ou=p,dc=x\",\"group_mode\":\"memberOf\"}",
				    &cfg, &err), err);
	assert_string_equal(cfg.user_filter, "(uid=%s)");
	assert_string_equal(cfg.group_name_attr, "cn");
	assert_int_equal(cfg.timeout_ms, 5000);
	assert_int_equal(cfg.group_mode, WHARF_LDAP_GROUPS_MEMBEROF);
	wharf_ldap_config_free(&cfg);
	static const struct { const char *doc, *want; } bad[] = {
		{"{\"user_base\":\"ou=p\"}", "uri: missing"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"group_mode\":\"member\"}", "group_base"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"colour\":1}", "colour: unknown key"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"starttls\":\"yes\"}", "starttls"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"group_mode\":\"nested\"}", "group_mode"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"user_filter\":\"(uid=alice)\"}", "must contain %s"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"timeout_ms\":0}", "timeout_ms"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"team_map\":{\"g\":\"noslash\"}}", "team_map: g"},
		{"{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"team_map\":{\"g\":[\"a/b/c\"]}}", "team_map: g"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_wharf_err(config_from(bad[i].doc, &cfg, &err), err, WHARF_EINVAL);
		assert_contains(err.message, bad[i].want);
	}
}

static void team_map_maps_groups_to_teams(void **state)
{
	(void)state;
	struct wharf_ldap_config cfg;
	struct wharf_error err;
	assert_wharf_ok(config_from("{\"uri\":\"ldap://x\",\"user_base\":\"ou=p\",\"group_mode\":\"memberOf\","
				    "\"team_map\":{\"dev\":[\"acme/dev\",\"acme/all\"],\"ops\":\"acme/all\",\"x\":\"z/x\"}}",
				    &cfg, &err), err);
	char *groups[] = {"dev", "ops", "unmapped"};
	struct wharf_ldap_user u = {.groups = groups, .ngroups = 3};
	struct wharf_strv teams = {0};
	wharf_ldap_map_teams(&cfg, &u, &teams);
	assert_int_equal(teams.n, 2);
	assert_string_equal(teams.v[0], "acme/all");
	assert_string_equal(teams.v[1], "acme/dev");
	wharf_strv_free(&teams);
	wharf_ldap_config_free(&cfg);
}

static void empty_password_is_refused_before_any_network(void **state)
{
	(void)state;
	struct wharf_ldap_config cfg;
	struct wharf_error err;
	/* A port nobody listens on: the refusal must come before a connection is tried. */
	assert_wharf_ok(config_from("{\"uri\":\"ldap://127.0.0.1:1\",\"user_base\":\"ou=p\",\"group_mode\":\"memberOf\"}",
				    &cfg, &err), err);
	struct wharf_ldap_user u;
	assert_wharf_err(wharf_ldap_authenticate(&cfg, "alice", "", &u, &err), err, WHARF_LDAP_EBADCRED);
	assert_contains(err.message, "empty password");
	assert_wharf_err(wharf_ldap_authenticate(&cfg, "alice", "pw", &u, &err), err, WHARF_LDAP_EUNREACHABLE);
	wharf_ldap_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape_covers_rfc4515_specials),
		cmocka_unit_test(format_substitutes_every_placeholder),
		cmocka_unit_test(config_defaults_and_errors),
		cmocka_unit_test(team_map_maps_groups_to_teams),
		cmocka_unit_test(empty_password_is_refused_before_any_network),
	};
	return cmocka_run_group_tests_name("authx_ldap", tests, NULL, NULL);
}
