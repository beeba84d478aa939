/* trust client: the TUF update against a repository built here with our own keys and served
 * from memory, so every attack can be made exactly: rollback of each role, freeze (expiry at the
 * fixed start time), mix-and-match, thresholds, wrong keys, root rotations signed by the wrong
 * keys, certificates for another GUN, endless data, delegation paths and search order. Each
 * refusal must name the role and the rule, and leave the stored trusted metadata as it was. */
#include <dirent.h>

#include "wharf_test.h"
#include "wharf/digest.h"
#include "wharf/json.h"
#include "wharf/trust.h"

#define GUN "127.0.0.1:5000/unit/app"
#define YEAR (365 * 86400)

struct repo {
	struct wharf_key *root_raw[2], *root[2]; /* root[i]: certificate keys for GUN */
	struct wharf_key *targets[2], *snapshot, *timestamp, *releases;
	size_t nroot, ntargets;
	int64_t targets_threshold;
	int64_t root_v, snap_v, ts_v;
	int64_t now;
	char *root_data;
	json_t *roles;  /* role -> metadata text (targets and delegations) */
	json_t *served; /* file name -> text */
	json_t *limits; /* file name -> the limit the client asked for */
	char *dir;
};

static struct wharf_key *make_key(void)
{
	struct wharf_key *k = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_key_generate(&k, WHARF_KEY_ECDSA, &err), err);
	return k;
}

static struct wharf_key *make_cert(struct wharf_key *k, const char *cn, int days)
{
	struct wharf_key *c = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_key_make_x509(&c, k, cn, days, &err), err);
	return c;
}

static char *expires_at(int64_t t)
{
	char s[32];
	wharf_time_format_rfc3339(t, s);
	return wharf_xstrdup(s);
}

/* {"signed": signed_obj, "signatures": [...]} as canonical bytes; takes signed_obj. */
static char *sign(json_t *signed_obj, struct wharf_key **keys, size_t n)
{
	struct wharf_buf out;
	wharf_buf_init(&out);
	struct wharf_error err;
	assert_wharf_ok(wharf_tuf_sign(signed_obj, keys, n, &out, &err), err);
	json_decref(signed_obj);
	return wharf_buf_steal(&out);
}

static void add_keys(json_t *keys, json_t *ids, struct wharf_key **k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char id[65];
		wharf_key_id(k[i], WHARF_DIALECT_NOTARY, id);
		json_object_set_new(keys, id, wharf_key_to_json(k[i], WHARF_DIALECT_NOTARY));
		json_array_append_new(ids, json_string(id));
	}
}

static json_t *role_entry(json_t *keys, struct wharf_key **k, size_t n, int64_t threshold)
{
	json_t *ids = json_array();
	add_keys(keys, ids, k, n);
	return json_pack("{s:o, s:I}", "keyids", ids, "threshold", (json_int_t)threshold);
}

/* A root of version v over the repo's current keys, signed by signers. */
static char *make_root(struct repo *r, int64_t v, int64_t expires, struct wharf_key **signers, size_t nsigners)
{
	json_t *keys = json_object();
	json_t *roles = json_object();
	json_object_set_new(roles, "root", role_entry(keys, r->root, r->nroot, 1));
	json_object_set_new(roles, "targets", role_entry(keys, r->targets, r->ntargets, r->targets_threshold));
	json_object_set_new(roles, "snapshot", role_entry(keys, &r->snapshot, 1, 1));
	json_object_set_new(roles, "timestamp", role_entry(keys, &r->timestamp, 1, 1));
	_cleanup_free_ char *exp = expires_at(expires);
	json_t *s = json_pack("{s:s, s:b, s:s, s:o, s:o, s:I}", "_type", "Root", "consistent_snapshot", 0, "expires", exp,
			      "keys", keys, "roles", roles, "version", (json_int_t)v);
	return sign(s, signers, nsigners);
}

static void serve(struct repo *r, const char *name, const char *data)
{
	json_object_set_new(r->served, name, json_string(data));
}

static void serve_by_hash(struct repo *r, const char *role, const char *data)
{
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, data, strlen(data), &d);
	_cleanup_free_ char *name = wharf_xasprintf("%s.%s.json", role, wharf_digest_hex(&d));
	serve(r, name, data);
}

/* Rotate to a new root version, signed by signers; served as N.root.json and root.json. */
static void put_root(struct repo *r, struct wharf_key **signers, size_t n, int64_t expires)
{
	free(r->root_data);
	r->root_data = make_root(r, ++r->root_v, expires, signers, n);
	_cleanup_free_ char *name = wharf_xasprintf("%lld.root.json", (long long)r->root_v);
	serve(r, name, r->root_data);
	serve(r, "root.json", r->root_data);
}

/* Targets metadata of role: targets {name: {length, sha256 of the name}}; delegations may be NULL. */
static void put_targets(struct repo *r, const char *role, int64_t v, int64_t expires, const char *const *names,
			json_t *delegations, struct wharf_key **signers, size_t n)
{
	json_t *targets = json_object();
	for (size_t i = 0; names && names[i]; i++) {
		json_t *fm = wharf_tuf_file_meta(names[i], strlen(names[i]));
		json_object_del(json_object_get(fm, "hashes"), "sha512");
		json_object_set_new(targets, names[i], fm);
	}
	_cleanup_free_ char *exp = expires_at(expires);
	json_t *s = json_pack("{s:s, s:s, s:o, s:I}", "_type", "Targets", "expires", exp, "targets", targets, "version",
			      (json_int_t)v);
	if (delegations)
		json_object_set_new(s, "delegations", delegations);
	char *data = sign(s, signers, n);
	json_object_set_new(r->roles, role, json_string(data));
	free(data);
}

static char *snapshot_of(struct repo *r, int64_t v, int64_t expires)
{
	json_t *meta = json_object();
	json_object_set_new(meta, "root", wharf_tuf_file_meta(r->root_data, strlen(r->root_data)));
	const char *role;
	json_t *data;
	json_object_foreach(r->roles, role, data)
		json_object_set_new(meta, role, wharf_tuf_file_meta(json_string_value(data), strlen(json_string_value(data))));
	_cleanup_free_ char *exp = expires_at(expires);
	json_t *s = json_pack("{s:s, s:s, s:o, s:I}", "_type", "Snapshot", "expires", exp, "meta", meta, "version",
			      (json_int_t)v);
	return sign(s, &r->snapshot, 1);
}

static char *timestamp_of(const char *snap, int64_t v, int64_t expires, struct wharf_key *signer)
{
	_cleanup_free_ char *exp = expires_at(expires);
	json_t *s = json_pack("{s:s, s:s, s:{s:o}, s:I}", "_type", "Timestamp", "expires", exp, "meta", "snapshot",
			      wharf_tuf_file_meta(snap, strlen(snap)), "version", (json_int_t)v);
	return sign(s, &signer, 1);
}

/* Serve every role by checksum, a new snapshot (version snap_v) and timestamp (version ts_v). */
static void publish_with(struct repo *r, int64_t snap_expires, int64_t ts_expires)
{
	const char *role;
	json_t *data;
	json_object_foreach(r->roles, role, data)
		serve_by_hash(r, role, json_string_value(data));
	_cleanup_free_ char *snap = snapshot_of(r, r->snap_v, snap_expires);
	serve_by_hash(r, "snapshot", snap);
	_cleanup_free_ char *ts = timestamp_of(snap, r->ts_v, ts_expires, r->timestamp);
	serve(r, "timestamp.json", ts);
}

static void publish(struct repo *r)
{
	r->snap_v++;
	r->ts_v++;
	publish_with(r, r->now + YEAR, r->now + 14 * 86400);
}

static const char *const v1[] = {"v1", NULL};

static int setup(void **state)
{
	struct repo *r = wharf_xcalloc(1, sizeof(*r));
	r->now = wharf_now();
	r->root_raw[0] = make_key();
	r->root[0] = make_cert(r->root_raw[0], GUN, 3650);
	r->nroot = 1;
	r->targets[0] = make_key();
	r->ntargets = 1;
	r->targets_threshold = 1;
	r->snapshot = make_key();
	r->timestamp = make_key();
	r->releases = make_key();
	r->roles = json_object();
	r->served = json_object();
	r->limits = json_object();
	r->dir = test_mkdtemp();
	put_root(r, r->root, 1, r->now + 10 * YEAR);
	put_targets(r, "targets", 1, r->now + YEAR, v1, NULL, r->targets, 1);
	publish(r);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct repo *r = *state;
	for (size_t i = 0; i < 2; i++) {
		wharf_key_free(r->root_raw[i]);
		wharf_key_free(r->root[i]);
		wharf_key_free(r->targets[i]);
	}
	wharf_key_free(r->snapshot);
	wharf_key_free(r->timestamp);
	wharf_key_free(r->releases);
	free(r->root_data);
	json_decref(r->roles);
	json_decref(r->served);
	json_decref(r->limits);
	test_rmtree(r->dir);
	free(r);
	return 0;
}

static int fetch(void *ctx, const char *name, size_t limit, struct wharf_buf *out, struct wharf_error *err)
{
	struct repo *r = ctx;
	json_object_set_new(r->limits, name, json_integer((json_int_t)limit));
	const char *data = json_string_value(json_object_get(r->served, name));
	if (!data)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s: not found", name);
	if (strlen(data) > limit)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %zu bytes", name, limit);
	wharf_buf_append(out, data, strlen(data));
	return 0;
}

static int update_at(struct repo *r, int64_t now, struct wharf_trust_repo **out, struct wharf_error *err)
{
	struct wharf_trust_client_opts o = {.gun = GUN, .dir = r->dir, .now = now, .fetch = fetch, .fetch_ctx = r};
	struct wharf_trust_repo *tr = NULL;
	int rc = wharf_trust_client_update(&tr, &o, err);
	if (out)
		*out = tr;
	else
		wharf_trust_repo_free(tr);
	return rc;
}

static int update(struct repo *r, struct wharf_error *err)
{
	return update_at(r, r->now, NULL, err);
}

/* Every stored file: name -> content. */
static json_t *stored(struct repo *r)
{
	json_t *out = json_object();
	DIR *d = opendir(r->dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = wharf_xasprintf("%s/%s", r->dir, e->d_name);
		char *data = NULL;
		size_t len = 0;
		struct wharf_error err;
		assert_wharf_ok(wharf_read_file(p, WHARF_TUF_FILE_MAX, &data, &len, &err), err);
		json_object_set_new(out, e->d_name, json_stringn(data ? data : "", len));
		free(data);
	}
	if (d)
		closedir(d);
	return out;
}

/* The update must fail with a message holding both needles, and change nothing stored. */
static void assert_refused_at(struct repo *r, int64_t now, const char *needle1, const char *needle2)
{
	json_t *before = stored(r);
	struct wharf_error err = {0};
	int rc = update_at(r, now, NULL, &err);
	if (rc == 0)
		fail_msg("the update succeeded; expected a refusal mentioning \"%s\"", needle1);
	assert_contains(err.message, needle1);
	if (needle2)
		assert_contains(err.message, needle2);
	json_t *after = stored(r);
	if (!json_equal(before, after))
		fail_msg("a refused update changed the stored metadata (%s)", err.message);
	json_decref(before);
	json_decref(after);
}

static void assert_refused(struct repo *r, const char *needle1, const char *needle2)
{
	assert_refused_at(r, r->now, needle1, needle2);
}

static void assert_lookup(struct wharf_trust_repo *tr, const char *name, const char *role)
{
	struct wharf_trust_target t;
	struct wharf_error err;
	assert_wharf_ok(wharf_trust_repo_lookup(tr, name, &t, &err), err);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, name, strlen(name), &d);
	assert_string_equal(t.sha256, wharf_digest_hex(&d));
	assert_int_equal(t.length, strlen(name));
	assert_string_equal(t.role, role);
	wharf_trust_target_clear(&t);
}

static void assert_not_found(struct wharf_trust_repo *tr, const char *name)
{
	struct wharf_trust_target t;
	struct wharf_error err;
	assert_wharf_err(wharf_trust_repo_lookup(tr, name, &t, &err), err, WHARF_ENOTFOUND);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void first_use_verifies_and_stores(void **state)
{
	struct repo *r = *state;
	struct wharf_trust_repo *tr = NULL;
	struct wharf_error err;
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	assert_lookup(tr, "v1", "targets");
	assert_not_found(tr, "v2");
	assert_int_equal(wharf_trust_repo_nroles(tr), 4);
	wharf_trust_repo_free(tr);
	json_t *s = stored(r);
	assert_int_equal(json_object_size(s), 4);
	assert_string_equal(json_string_value(json_object_get(s, "root.json")), r->root_data);
	json_decref(s);
	/* Sizes the client was willing to read: small for the timestamp, exact for the rest. */
	assert_int_equal(json_integer_value(json_object_get(r->limits, "timestamp.json")), WHARF_TUF_TIMESTAMP_MAX);
	const char *name;
	json_t *lim;
	json_object_foreach(r->limits, name, lim) {
		if (wharf_str_has_prefix(name, "targets.") || wharf_str_has_prefix(name, "snapshot."))
			assert_int_equal(json_integer_value(lim), strlen(json_string_value(json_object_get(r->served, name))));
	}
	/* The same again is fine: equal versions are no rollback. */
	assert_wharf_ok(update(r, &err), err);
	_cleanup_free_ char *dir = wharf_trust_client_dir("/h", GUN);
	assert_string_equal(dir, "/h/trust/127.0.0.1%3A5000%2Funit%2Fapp");
}

static void rollback_of_each_role_is_refused(void **state)
{
	struct repo *r = *state;
	struct wharf_error err;
	put_targets(r, "targets", 2, r->now + YEAR, v1, NULL, r->targets, 1);
	r->snap_v = 5;
	r->ts_v = 5;
	publish(r); /* snapshot 6, timestamp 6, targets 2 */
	assert_wharf_ok(update(r, &err), err);
	/* timestamp */
	r->ts_v = 4;
	r->snap_v = 5;
	publish(r);
	assert_refused(r, "timestamp version 5 is lower than the trusted version 6", "rollback");
	/* snapshot: a newer timestamp over an older snapshot */
	r->ts_v = 9;
	r->snap_v = 2;
	publish(r);
	assert_refused(r, "snapshot version 3 is lower than the trusted version 6", "rollback");
	/* targets: new timestamp and snapshot over an older targets */
	put_targets(r, "targets", 1, r->now + YEAR, v1, NULL, r->targets, 1);
	r->snap_v = 10;
	publish(r);
	assert_refused(r, "targets version 1 is lower than the trusted version 2", "rollback");
	put_targets(r, "targets", 3, r->now + YEAR, v1, NULL, r->targets, 1);
	publish(r);
	assert_wharf_ok(update(r, &err), err);
}

static void expired_roles_are_refused(void **state)
{
	struct repo *r = *state;
	struct wharf_error err;
	assert_wharf_ok(update(r, &err), err);
	/* Freeze: the timestamp the server keeps serving has expired by the fixed start time. */
	assert_refused_at(r, r->now + 15 * 86400, "timestamp version 1 expired at", "stale");
	r->ts_v++;
	r->snap_v++;
	publish_with(r, r->now - 10, r->now + 86400);
	assert_refused(r, "snapshot version 2 expired at", NULL);
	put_targets(r, "targets", 2, r->now - 10, v1, NULL, r->targets, 1);
	publish(r);
	assert_refused(r, "targets version 2 expired at", NULL);
	put_targets(r, "targets", 3, r->now + YEAR, v1, NULL, r->targets, 1);
	publish(r);
	assert_wharf_ok(update(r, &err), err);
	/* Root: ten years on everything else has long expired; root is checked first. */
	assert_refused_at(r, r->now + 11 * YEAR, "root version 1 expired at", NULL);
}

static void thresholds_and_wrong_keys(void **state)
{
	struct repo *r = *state;
	struct wharf_error err;
	assert_wharf_ok(update(r, &err), err);
	/* Root asks for two targets signatures. */
	r->targets[1] = make_key();
	r->ntargets = 2;
	r->targets_threshold = 2;
	put_root(r, r->root, 1, r->now + 10 * YEAR);
	put_targets(r, "targets", 2, r->now + YEAR, v1, NULL, r->targets, 1);
	publish(r);
	assert_refused(r, "targets: 1 valid signature from its keys, 2 required", NULL);
	/* Two signatures by the same key count once. */
	struct wharf_key *twice[] = {r->targets[0], r->targets[0]};
	put_targets(r, "targets", 2, r->now + YEAR, v1, NULL, twice, 2);
	publish(r);
	assert_refused(r, "targets: 1 valid signature from its keys, 2 required", NULL);
	put_targets(r, "targets", 2, r->now + YEAR, v1, NULL, r->targets, 2);
	publish(r);
	assert_wharf_ok(update(r, &err), err);
	/* A timestamp signed by the snapshot key. */
	_cleanup_free_ char *snap = snapshot_of(r, ++r->snap_v, r->now + YEAR);
	serve_by_hash(r, "snapshot", snap);
	_cleanup_free_ char *ts = timestamp_of(snap, ++r->ts_v, r->now + 86400, r->snapshot);
	serve(r, "timestamp.json", ts);
	assert_refused(r, "timestamp: 0 valid signatures", "is not a key of the role");
}

static void mix_and_match_and_endless_data(void **state)
{
	struct repo *r = *state;
	struct wharf_error err;
	assert_wharf_ok(update(r, &err), err);
	const char *old_targets = json_string_value(json_object_get(r->roles, "targets"));
	_cleanup_free_ char *old = wharf_xstrdup(old_targets);
	static const char *const v12[] = {"v1", "v2", NULL};
	put_targets(r, "targets", 2, r->now + YEAR, v12, NULL, r->targets, 1);
	publish(r);
	/* The old targets file under the new checksum name. */
	struct wharf_digest d;
	const char *cur = json_string_value(json_object_get(r->roles, "targets"));
	wharf_digest_buffer(WHARF_SHA256, cur, strlen(cur), &d);
	_cleanup_free_ char *name = wharf_xasprintf("targets.%s.json", wharf_digest_hex(&d));
	_cleanup_free_ char *good = wharf_xstrdup(cur);
	serve(r, name, old);
	assert_refused(r, "does not match what snapshot lists", NULL);
	/* Endless data: more than the snapshot says. */
	_cleanup_free_ char *longer = wharf_xasprintf("%s%s", good, "                ");
	serve(r, name, longer);
	assert_refused(r, "targets: longer than snapshot lists", NULL);
	serve(r, name, good);
	struct wharf_trust_repo *tr = NULL;
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	assert_lookup(tr, "v2", "targets");
	wharf_trust_repo_free(tr);
}

static void root_rotation(void **state)
{
	struct repo *r = *state;
	struct wharf_error err;
	r->ts_v = 5;
	publish(r);
	assert_wharf_ok(update(r, &err), err); /* trusts root version 1, timestamp version 6 */
	struct wharf_key *old = r->root[0];
	r->root_raw[1] = make_key();
	r->root[1] = make_cert(r->root_raw[1], GUN, 3650);
	/* Version 2 with only the new key, signed by the new key alone: not by the trusted root. */
	r->root[0] = r->root[1];
	r->root[1] = old;
	struct wharf_key *new_only[] = {r->root[0]};
	put_root(r, new_only, 1, r->now + 10 * YEAR);
	publish(r);
	assert_refused(r, "root version 2 is not signed by the keys of trusted root version 1", NULL);
	/* Signed by the old key alone: not by its own keys. */
	r->root_v--;
	struct wharf_key *old_only[] = {old};
	put_root(r, old_only, 1, r->now + 10 * YEAR);
	publish(r);
	assert_refused(r, "root version 2 is not signed by its own root keys", NULL);
	/* Both: accepted. And the timestamp key rotates with it, so an older timestamp
	 * version signed by the new key is accepted (TUF 5.3.11: fast-forward recovery). */
	r->root_v--;
	struct wharf_key *both[] = {old, r->root[0]};
	wharf_key_free(r->timestamp);
	r->timestamp = make_key();
	put_root(r, both, 2, r->now + 10 * YEAR);
	r->ts_v = 0;
	publish(r);
	struct wharf_trust_repo *tr = NULL;
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(tr, 0, &ri);
	assert_int_equal(ri.meta->version, 2);
	wharf_trust_repo_role(tr, 1, &ri);
	assert_int_equal(ri.meta->version, 1);
	wharf_trust_repo_free(tr);
	/* A version that skips a number is not the next in the chain: 3.root.json holding 4. */
	r->root_v++;
	struct wharf_key *now_keys[] = {r->root[0]};
	put_root(r, now_keys, 1, r->now + 10 * YEAR);
	json_object_set(r->served, "3.root.json", json_object_get(r->served, "4.root.json"));
	json_object_del(r->served, "4.root.json");
	publish(r);
	assert_refused(r, "3.root.json holds root version 4", NULL);
}

static void root_certificates_must_be_for_the_gun(void **state)
{
	struct repo *r = *state;
	/* A root whose certificate names another GUN: refused on first use. */
	wharf_key_free(r->root[0]);
	r->root[0] = make_cert(r->root_raw[0], "127.0.0.1:5000/other", 3650);
	r->root_v = 0;
	put_root(r, r->root, 1, r->now + 10 * YEAR);
	publish(r);
	assert_refused(r, "no root key that is a current certificate for " GUN, NULL);
	/* A wildcard CN covers the GUN. */
	wharf_key_free(r->root[0]);
	r->root[0] = make_cert(r->root_raw[0], "127.0.0.1:5000/unit/*", 3650);
	r->root_v = 0;
	put_root(r, r->root, 1, r->now + 10 * YEAR);
	publish(r);
	struct wharf_error err;
	assert_wharf_ok(update(r, &err), err);
	test_rmtree(r->dir);
	r->dir = test_mkdtemp();
	/* A certificate that expired: refused on first use, though the root metadata is current. */
	wharf_key_free(r->root[0]);
	r->root[0] = make_cert(r->root_raw[0], GUN, 1);
	r->root_v = 0;
	put_root(r, r->root, 1, r->now + 10 * YEAR);
	r->now += 3 * 86400;
	publish(r);
	assert_refused(r, "no root key that is a current certificate", NULL);
	/* A plain (non-certificate) root key is not Notary's way either. */
	r->now -= 3 * 86400;
	struct wharf_key *cert = r->root[0];
	r->root[0] = r->root_raw[0];
	r->root_v = 0;
	put_root(r, r->root, 1, r->now + 10 * YEAR);
	publish(r);
	r->root[0] = cert;
	assert_refused(r, "no root key that is a current certificate", NULL);
}

static json_t *delegation(struct wharf_key *k, const char *name, json_t *paths)
{
	json_t *keys = json_object();
	json_t *entry = role_entry(keys, &k, 1, 1);
	json_object_set_new(entry, "name", json_string(name));
	json_object_set_new(entry, "paths", paths);
	return json_pack("{s:o, s:[o]}", "keys", keys, "roles", entry);
}

static void delegations_paths_and_order(void **state)
{
	struct repo *r = *state;
	struct wharf_error err;
	/* targets -> targets/a ("de") -> targets/a/b ("dee", "x": only "dee" survives the restriction);
	 * targets -> targets/releases ("rel"). */
	json_t *dels = delegation(r->releases, "targets/releases", json_pack("[s]", "rel"));
	json_t *a = delegation(r->releases, "targets/a", json_pack("[s]", "de"));
	json_array_extend(json_object_get(dels, "roles"), json_object_get(a, "roles"));
	json_decref(a);
	static const char *const top[] = {"v1", "other", "rel2", NULL};
	put_targets(r, "targets", 2, r->now + YEAR, top, dels, r->targets, 1);
	static const char *const rel[] = {"rel1", "rel2", "other", NULL};
	put_targets(r, "targets/releases", 1, r->now + YEAR, rel, NULL, &r->releases, 1);
	static const char *const in_a[] = {"deep", "dx", NULL};
	put_targets(r, "targets/a", 1, r->now + YEAR, in_a,
		    delegation(r->releases, "targets/a/b", json_pack("[s, s]", "dee", "x")), &r->releases, 1);
	static const char *const in_b[] = {"deeper", "xray", NULL};
	put_targets(r, "targets/a/b", 1, r->now + YEAR, in_b, NULL, &r->releases, 1);
	publish(r);
	struct wharf_trust_repo *tr = NULL;
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	assert_lookup(tr, "rel1", "targets/releases");
	assert_lookup(tr, "rel2", "targets/releases"); /* releases first, as docker trust */
	assert_lookup(tr, "other", "targets");           /* outside releases' paths */
	assert_lookup(tr, "v1", "targets");
	assert_lookup(tr, "deep", "targets/a");
	assert_lookup(tr, "deeper", "targets/a/b");
	assert_not_found(tr, "dx"); /* outside targets/a's paths */
	assert_not_found(tr, "xray");
	struct wharf_trust_role_info ri;
	ssize_t bi = wharf_trust_repo_find(tr, "targets/a/b");
	assert_true(bi > 0);
	wharf_trust_repo_role(tr, (size_t)bi, &ri);
	assert_int_equal(ri.depth, 2);
	assert_int_equal(json_array_size(ri.paths), 1);
	struct wharf_trust_target *list = NULL;
	size_t n = 0;
	assert_wharf_ok(wharf_trust_repo_list(tr, &list, &n, &err), err);
	const char *want[][2] = {{"deep", "targets/a"}, {"deeper", "targets/a/b"}, {"other", "targets"},
				 {"rel1", "targets/releases"}, {"rel2", "targets/releases"}, {"v1", "targets"}};
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(list[i].name, want[i][0]);
		assert_string_equal(list[i].role, want[i][1]);
	}
	wharf_trust_targets_free(list, n);
	wharf_trust_repo_free(tr);
	json_t *s = stored(r);
	assert_non_null(json_object_get(s, "targets%2Fa%2Fb.json"));
	json_decref(s);
	/* A delegation signed by a key it was not given signs nothing (as after a revoked signer,
	 * and as notary does): the update goes on without it, and its targets are not trusted. */
	put_targets(r, "targets/releases", 2, r->now + YEAR, rel, NULL, r->targets, 1);
	publish(r);
	tr = NULL;
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	assert_not_found(tr, "rel1");         /* only releases signed it */
	assert_lookup(tr, "rel2", "targets"); /* targets signs it too */
	assert_lookup(tr, "v1", "targets");
	wharf_trust_repo_free(tr);
	/* An expired delegation. */
	put_targets(r, "targets/releases", 2, r->now - 1, rel, NULL, &r->releases, 1);
	publish(r);
	assert_refused(r, "targets/releases version 2 expired", NULL);
	/* A trusted delegation that is still delegated may not vanish from the snapshot. */
	put_targets(r, "targets/releases", 3, r->now + YEAR, rel, NULL, &r->releases, 1);
	publish(r);
	assert_wharf_ok(update(r, &err), err);
	json_object_del(r->roles, "targets/releases");
	publish(r);
	assert_refused(r, "no longer lists targets/releases, which is still delegated and trusted at version 3", NULL);
	/* Undelegated, it goes, and its stored file with it; so do its siblings' once undelegated. */
	json_object_del(r->roles, "targets/a");
	json_object_del(r->roles, "targets/a/b");
	put_targets(r, "targets", 3, r->now + YEAR, top, NULL, r->targets, 1);
	publish(r);
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	assert_lookup(tr, "rel2", "targets");
	assert_not_found(tr, "rel1");
	wharf_trust_repo_free(tr);
	s = stored(r);
	assert_int_equal(json_object_size(s), 4);
	json_decref(s);
}

static void unpublished_delegation_signs_nothing(void **state)
{
	struct repo *r = *state;
	put_targets(r, "targets", 2, r->now + YEAR, v1, delegation(r->releases, "targets/releases", json_pack("[s]", "")),
		    r->targets, 1);
	publish(r);
	struct wharf_trust_repo *tr = NULL;
	struct wharf_error err;
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	assert_lookup(tr, "v1", "targets");
	assert_int_equal(wharf_trust_repo_find(tr, "targets/releases"), -1);
	wharf_trust_repo_free(tr);
}

static void pinned_root_and_no_store(void **state)
{
	struct repo *r = *state;
	_cleanup_free_ char *pin = wharf_xasprintf("%s/pinned.json", r->dir);
	test_write_file(pin, r->root_data, strlen(r->root_data));
	/* A pinned root of another repository: the server's data does not verify. */
	struct repo *other = NULL;
	setup((void **)&other);
	_cleanup_free_ char *pin2 = wharf_xasprintf("%s/pinned.json", other->dir);
	test_write_file(pin2, other->root_data, strlen(other->root_data));
	struct wharf_trust_client_opts o = {.gun = GUN, .root_file = pin2, .fetch = fetch, .fetch_ctx = r};
	struct wharf_trust_repo *tr = NULL;
	struct wharf_error err;
	int rc = wharf_trust_client_update(&tr, &o, &err);
	assert_int_equal(rc, -WHARF_EINVAL);
	assert_contains(err.message, "timestamp: 0 valid signatures");
	teardown((void **)&other);
	o.root_file = pin;
	assert_wharf_ok(wharf_trust_client_update(&tr, &o, &err), err);
	wharf_trust_repo_free(tr);
	assert_int_equal(test_count_entries(r->dir), 1); /* dir NULL: nothing stored */
	/* No trust data at all. */
	json_object_clear(r->served);
	o.root_file = NULL;
	assert_wharf_err(wharf_trust_client_update(&tr, &o, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, "has no trust data");
}

/* The writing half: an edit of targets and the next snapshot, built over verified data, verify. */
static void edits_verify_after_publishing(void **state)
{
	struct repo *r = *state;
	struct wharf_trust_repo *tr = NULL;
	struct wharf_error err;
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	struct wharf_buf targets, snap;
	wharf_buf_init(&targets);
	wharf_buf_init(&snap);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "v2", 2, &d);
	assert_wharf_ok(wharf_trust_targets_edit(&targets, tr, "targets", "v2", wharf_digest_hex(&d), 2, r->targets[0],
						 r->now + YEAR, &err), err);
	/* Not a key of the role; a removal of a name that is not there. */
	struct wharf_buf junk;
	wharf_buf_init(&junk);
	assert_wharf_err(wharf_trust_targets_edit(&junk, tr, "targets", "v2", wharf_digest_hex(&d), 2, r->snapshot,
						  r->now + YEAR, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "is not a key of targets");
	assert_wharf_err(wharf_trust_targets_edit(&junk, tr, "targets", "nope", NULL, 0, r->targets[0], r->now + YEAR, &err),
			 err, WHARF_ENOTFOUND);
	wharf_buf_free(&junk);
	struct wharf_tuf_upload up = {.role = "targets", .data = targets.data, .len = targets.len};
	assert_wharf_ok(wharf_trust_snapshot_next(&snap, tr, &up, 1, r->snapshot, r->now + YEAR, &err), err);
	wharf_trust_repo_free(tr);
	/* Serve them (the server would add a timestamp). */
	json_object_set_new(r->roles, "targets", json_stringn(targets.data, targets.len));
	serve_by_hash(r, "targets", json_string_value(json_object_get(r->roles, "targets")));
	_cleanup_free_ char *snap_text = wharf_xstrndup(snap.data, snap.len);
	serve_by_hash(r, "snapshot", snap_text);
	_cleanup_free_ char *ts = timestamp_of(snap_text, ++r->ts_v, r->now + 86400, r->timestamp);
	serve(r, "timestamp.json", ts);
	assert_wharf_ok(update_at(r, r->now, &tr, &err), err);
	assert_lookup(tr, "v2", "targets");
	assert_lookup(tr, "v1", "targets");
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(tr, 3, &ri);
	assert_int_equal(ri.meta->version, 2);
	/* Notary's upload form: "signed" first. */
	assert_true(wharf_str_has_prefix(ri.data, "{\"signed\":{"));
	wharf_trust_repo_free(tr);
	wharf_buf_free(&targets);
	wharf_buf_free(&snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(first_use_verifies_and_stores, setup, teardown),
		cmocka_unit_test_setup_teardown(rollback_of_each_role_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(expired_roles_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(thresholds_and_wrong_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(mix_and_match_and_endless_data, setup, teardown),
		cmocka_unit_test_setup_teardown(root_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(root_certificates_must_be_for_the_gun, setup, teardown),
		cmocka_unit_test_setup_teardown(delegations_paths_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(unpublished_delegation_signs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(pinned_root_and_no_store, setup, teardown),
		cmocka_unit_test_setup_teardown(edits_verify_after_publishing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
