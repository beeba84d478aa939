/* Delegation edits of a targets signed object (src/trust/client_deleg.c): what signer add and
 * signer remove change, and that revocation is never blocked by a threshold. */
#include "wharf_test.h"

#include "wharf/keys.h"
#include "wharf/trust.h"

static json_t *empty_targets(void)
{
	return json_pack("{s:s, s:{s:{}, s:[]}, s:s, s:{}, s:i}", "_type", "Targets", "delegations", "keys", "roles",
			 "expires", "2030-01-01T00:00:00Z", "targets", "version", 1);
}

static struct wharf_key *new_key(char id[65])
{
	struct wharf_key *k = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_key_generate(&k, WHARF_KEY_ECDSA, &err), err);
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	return k;
}

static const char *keyid_at(const json_t *d, size_t i)
{
	return json_string_value(json_array_get(json_object_get(d, "keyids"), i));
}

static void add_makes_role_with_defaults_and_no_duplicates(void **state)
{
	(void)state;
	char a_id[65], b_id[65];
	struct wharf_key *keys[2] = {new_key(a_id), new_key(b_id)};
	json_t *s = empty_targets();
	struct wharf_error err;
	assert_wharf_ok(wharf_trust_deleg_add_keys(s, "targets/ci", keys, 1, NULL, 0, &err), err);
	json_t *d = wharf_trust_deleg_find(s, "targets/ci");
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "threshold")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "paths"), 0)), "");
	assert_string_equal(keyid_at(d, 0), a_id);
	assert_non_null(json_object_get(json_object_get(json_object_get(s, "delegations"), "keys"), a_id));
	/* Adding the same key again and a second one: two keys, threshold kept; paths replaced. */
	json_t *paths = json_pack("[s]", "release-");
	assert_wharf_ok(wharf_trust_deleg_add_keys(s, "targets/ci", keys, 2, paths, 0, &err), err);
	assert_int_equal(json_array_size(json_object_get(d, "keyids")), 2);
	assert_string_equal(keyid_at(d, 1), b_id);
	assert_true(json_equal(json_object_get(d, "paths"), paths));
	assert_wharf_ok(wharf_trust_deleg_add_keys(s, "targets/ci", NULL, 0, NULL, 2, &err), err);
	assert_int_equal(json_integer_value(json_object_get(d, "threshold")), 2);
	/* A threshold the keys cannot meet, and names that are not delegations. */
	assert_wharf_err(wharf_trust_deleg_add_keys(s, "targets/ci", NULL, 0, NULL, 3, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "threshold of 3");
	assert_wharf_err(wharf_trust_deleg_add_keys(s, "root", keys, 1, NULL, 0, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_trust_deleg_add_keys(s, "targets/../x", keys, 1, NULL, 0, &err), err, WHARF_EINVAL);
	json_decref(paths);
	json_decref(s);
	wharf_key_free(keys[0]);
	wharf_key_free(keys[1]);
}

static void remove_lowers_threshold_and_removes_empty_roles(void **state)
{
	(void)state;
	char a_id[65], b_id[65];
	struct wharf_key *keys[2] = {new_key(a_id), new_key(b_id)};
	json_t *s = empty_targets();
	struct wharf_error err;
	bool gone = true;
	assert_wharf_ok(wharf_trust_deleg_add_keys(s, "targets/ops", keys, 2, NULL, 2, &err), err);
	assert_wharf_ok(wharf_trust_deleg_add_keys(s, "targets/releases", keys, 1, NULL, 0, &err), err);
	/* Revoking one key of a 2-of-2 role: the threshold follows the one key left. */
	const char *ids[] = {a_id};
	assert_wharf_ok(wharf_trust_deleg_remove_keys(s, "targets/ops", ids, 1, &gone, &err), err);
	assert_false(gone);
	json_t *d = wharf_trust_deleg_find(s, "targets/ops");
	assert_int_equal(json_array_size(json_object_get(d, "keyids")), 1);
	assert_string_equal(keyid_at(d, 0), b_id);
	assert_int_equal(json_integer_value(json_object_get(d, "threshold")), 1);
	/* a is still listed by releases, so its key stays; removing it there drops it. */
	json_t *dkeys = json_object_get(json_object_get(s, "delegations"), "keys");
	assert_non_null(json_object_get(dkeys, a_id));
	assert_wharf_err(wharf_trust_deleg_remove_keys(s, "targets/ops", ids, 1, &gone, &err), err, WHARF_ENOTFOUND);
	assert_wharf_ok(wharf_trust_deleg_remove_keys(s, "targets/releases", ids, 1, &gone, &err), err);
	assert_true(gone);
	assert_null(wharf_trust_deleg_find(s, "targets/releases"));
	assert_null(json_object_get(dkeys, a_id));
	/* All keys (n = 0): the role goes. */
	assert_wharf_ok(wharf_trust_deleg_remove_keys(s, "targets/ops", NULL, 0, &gone, &err), err);
	assert_true(gone);
	assert_int_equal(json_array_size(json_object_get(json_object_get(s, "delegations"), "roles")), 0);
	assert_int_equal(json_object_size(dkeys), 0);
	assert_wharf_err(wharf_trust_deleg_remove_keys(s, "targets/ops", NULL, 0, &gone, &err), err, WHARF_ENOTFOUND);
	json_decref(s);
	wharf_key_free(keys[0]);
	wharf_key_free(keys[1]);
}

static void targets_without_delegations_object(void **state)
{
	(void)state;
	char a_id[65];
	struct wharf_key *k = new_key(a_id);
	json_t *s = json_pack("{s:s, s:n}", "_type", "Targets", "delegations");
	struct wharf_error err;
	assert_wharf_ok(wharf_trust_deleg_add_keys(s, "targets/releases", &k, 1, NULL, 0, &err), err);
	assert_non_null(wharf_trust_deleg_find(s, "targets/releases"));
	char parent[64];
	wharf_trust_deleg_parent("targets/releases/ci", parent, sizeof(parent));
	assert_string_equal(parent, "targets/releases");
	json_decref(s);
	wharf_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_makes_role_with_defaults_and_no_duplicates),
		cmocka_unit_test(remove_lowers_threshold_and_removes_empty_roles),
		cmocka_unit_test(targets_without_delegations_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
