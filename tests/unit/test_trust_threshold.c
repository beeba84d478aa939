/* k-of-n verification (src/trust/tuf.c) and the client's change diff and root edits
 * (src/trust/client_pending.c): keys count once by their public key, whatever the key IDs. */
#include "wharf_test.h"

#include "wharf/keys.h"
#include "wharf/trust.h"

static struct wharf_key *new_key(void)
{
	struct wharf_key *k = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_key_generate(&k, WHARF_KEY_ECDSA, &err), err);
	return k;
}

static void add_key(json_t *keys, json_t *keyids, const struct wharf_key *k)
{
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	json_object_set_new(keys, id, wharf_key_to_json(k, WHARF_DIALECT_NOTARY));
	json_array_append_new(keyids, json_string(id));
}

/* Targets metadata signed by signers, parsed into m. */
static void signed_by(struct wharf_tuf_meta *m, struct wharf_key *const *signers, size_t n)
{
	json_t *s = json_pack("{s:s, s:s, s:{}, s:i}", "_type", "Targets", "expires", "2030-01-01T00:00:00Z", "targets",
			      "version", 2);
	struct wharf_buf b;
	wharf_buf_init(&b);
	struct wharf_error err;
	assert_wharf_ok(wharf_tuf_sign(s, signers, n, &b, &err), err);
	assert_wharf_ok(wharf_tuf_parse(m, "targets", b.data, b.len, &err), err);
	wharf_buf_free(&b);
	json_decref(s);
}

static void threshold_counts_distinct_keys(void **state)
{
	(void)state;
	struct wharf_key *a = new_key(), *b = new_key(), *c = new_key(), *outsider = new_key();
	json_t *keys = json_object(), *ids = json_array();
	add_key(keys, ids, a);
	add_key(keys, ids, b);
	add_key(keys, ids, c);
	struct wharf_error err;
	struct wharf_tuf_meta m;
	size_t valid = 0;

	struct wharf_key *two[] = {a, b};
	signed_by(&m, two, 2);
	assert_wharf_ok(wharf_tuf_verify(&m, "targets", keys, ids, 2, &err), err);
	assert_wharf_err(wharf_tuf_verify(&m, "targets", keys, ids, 3, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "2 valid signatures from its keys, 3 required");
	wharf_tuf_meta_free(&m);

	/* One key signing twice is one signature. */
	struct wharf_key *dup[] = {a, a};
	signed_by(&m, dup, 2);
	assert_wharf_ok(wharf_tuf_count_signers(&m, "targets", keys, ids, &valid, NULL), err);
	assert_int_equal(valid, 1);
	assert_wharf_err(wharf_tuf_verify(&m, "targets", keys, ids, 2, &err), err, WHARF_EINVAL);
	wharf_tuf_meta_free(&m);

	/* A key outside the role counts nothing, and says so. */
	struct wharf_key *out[] = {a, outsider};
	signed_by(&m, out, 2);
	struct wharf_error first = {0};
	assert_wharf_ok(wharf_tuf_count_signers(&m, "targets", keys, ids, &valid, &first), err);
	assert_int_equal(valid, 1);
	assert_contains(first.message, "is not a key of the role");
	assert_wharf_err(wharf_tuf_verify(&m, "targets", keys, ids, 2, &err), err, WHARF_EINVAL);
	wharf_tuf_meta_free(&m);

	json_decref(keys);
	json_decref(ids);
	wharf_key_free(a);
	wharf_key_free(b);
	wharf_key_free(c);
	wharf_key_free(outsider);
}

static void two_key_ids_of_one_key_count_once(void **state)
{
	(void)state;
	struct wharf_error err;
	struct wharf_key *bare = new_key(), *cert = NULL, *other = new_key();
	assert_wharf_ok(wharf_key_make_x509(&cert, bare, "example.com/app", 30, &err), err);
	json_t *keys = json_object(), *ids = json_array();
	add_key(keys, ids, bare);
	add_key(keys, ids, cert); /* the same public key under a second key ID */
	add_key(keys, ids, other);
	assert_int_equal(json_array_size(ids), 3);
	struct wharf_tuf_meta m;
	struct wharf_key *same[] = {bare, cert};
	signed_by(&m, same, 2);
	size_t valid = 0;
	assert_wharf_ok(wharf_tuf_count_signers(&m, "targets", keys, ids, &valid, NULL), err);
	assert_int_equal(valid, 1);
	assert_wharf_err(wharf_tuf_verify(&m, "targets", keys, ids, 2, &err), err, WHARF_EINVAL);
	/* Each signature on its own verifies, with the same fingerprint. */
	char f1[65], f2[65];
	json_t *sigs = json_object_get(m.doc, "signatures");
	assert_wharf_ok(wharf_tuf_check_signature(&m, json_array_get(sigs, 0), "targets", keys, ids, f1, &err), err);
	assert_wharf_ok(wharf_tuf_check_signature(&m, json_array_get(sigs, 1), "targets", keys, ids, f2, &err), err);
	assert_string_equal(f1, f2);
	wharf_tuf_meta_free(&m);
	struct wharf_key *distinct[] = {cert, other};
	signed_by(&m, distinct, 2);
	assert_wharf_ok(wharf_tuf_verify(&m, "targets", keys, ids, 2, &err), err);
	wharf_tuf_meta_free(&m);
	json_decref(keys);
	json_decref(ids);
	wharf_key_free(bare);
	wharf_key_free(cert);
	wharf_key_free(other);
}

static void diff_names_targets_and_delegation_changes(void **state)
{
	(void)state;
	json_t *old = json_pack("{s:{s:{s:i}, s:{s:i}}, s:{s:{}, s:[{s:s, s:[s], s:i, s:[s]}]}}", "targets", "v1",
				"length", 1, "v2", "length", 2, "delegations", "keys", "roles", "name", "targets/ci",
				"keyids", "k1", "threshold", 1, "paths", "");
	json_t *new = json_deep_copy(old);
	json_object_del(json_object_get(new, "targets"), "v1");
	json_object_set_new(json_object_get(new, "targets"), "v3", json_pack("{s:i}", "length", 3));
	json_object_set_new(json_object_get(json_object_get(new, "targets"), "v2"), "length", json_integer(5));
	json_t *d = json_array_get(json_object_get(json_object_get(new, "delegations"), "roles"), 0);
	json_object_set_new(d, "threshold", json_integer(2));
	json_array_append_new(json_object_get(d, "keyids"), json_string("k2"));
	json_t *diff = wharf_trust_change_diff(old, new);
	json_t *t = json_object_get(diff, "targets");
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "added"), 0)), "v3");
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "removed"), 0)), "v1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "changed"), 0)), "v2");
	json_t *ci = json_object_get(json_object_get(json_object_get(diff, "delegations"), "changed"), "targets/ci");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(ci, "threshold"), 1)), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(ci, "keys_added"), 0)), "k2");
	json_decref(diff);
	json_decref(old);
	json_decref(new);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threshold_counts_distinct_keys),
		cmocka_unit_test(two_key_ids_of_one_key_count_once),
		cmocka_unit_test(diff_names_targets_and_delegation_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
