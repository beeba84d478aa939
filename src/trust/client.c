/* The TUF client: TUF 1.0 section 5 update of one GUN in Notary's dialect.
 * Everything fetched is hostile until verified; nothing is stored until all of it verified, so
 * a refused update leaves the trusted metadata on disk exactly as it was. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wharf/json.h"
#include "wharf/trust.h"

struct role {
	char *name;
	char *data; /* the verified bytes */
	size_t len;
	struct wharf_tuf_meta meta;
	const json_t *keys; /* borrowed from root or the delegator */
	const json_t *keyids;
	int64_t threshold;
	json_t *paths; /* delegations: the path prefixes in force */
	int depth;
};

struct wharf_trust_repo {
	char *gun;
	struct role *roles; /* root, timestamp, snapshot, targets, delegations depth first */
	size_t n;
};

struct update {
	const struct wharf_trust_client_opts *o;
	int64_t now;
	struct role root;   /* the trusted root, moving along the chain */
	json_t *first_root; /* the roles object of the root we started from (reference) */
	bool reset_timestamp, reset_snapshot; /* their keys changed: stored versions no longer bind */
	struct wharf_trust_repo *repo;
};

static void role_free(struct role *r)
{
	free(r->name);
	free(r->data);
	wharf_tuf_meta_free(&r->meta);
	if (r->paths)
		json_decref(r->paths);
	memset(r, 0, sizeof(*r));
}

void wharf_trust_repo_free(struct wharf_trust_repo *r)
{
	if (!r)
		return;
	/* Later roles borrow keys from earlier ones: free in reverse. */
	for (size_t i = r->n; i-- > 0;)
		role_free(&r->roles[i]);
	free(r->roles);
	free(r->gun);
	free(r);
}

const char *wharf_trust_repo_gun(const struct wharf_trust_repo *r)
{
	return r->gun;
}

size_t wharf_trust_repo_nroles(const struct wharf_trust_repo *r)
{
	return r->n;
}

void wharf_trust_repo_role(const struct wharf_trust_repo *r, size_t i, struct wharf_trust_role_info *out)
{
	const struct role *x = &r->roles[i];
	*out = (struct wharf_trust_role_info){.name = x->name, .meta = &x->meta, .data = x->data, .len = x->len,
					      .keys = x->keys, .keyids = x->keyids, .threshold = x->threshold,
					      .paths = x->paths, .depth = x->depth};
}

ssize_t wharf_trust_repo_find(const struct wharf_trust_repo *r, const char *role)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->roles[i].name, role))
			return (ssize_t)i;
	return -1;
}

/* --- names on disk --- */

char *wharf_trust_escape_name(const char *s)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || (*p == '.' && p != (const unsigned char *)s))
			wharf_buf_append(&b, p, 1);
		else
			wharf_buf_printf(&b, "%%%02X", *p);
	}
	wharf_buf_append(&b, "", 0);
	return wharf_buf_steal(&b);
}

char *wharf_trust_client_dir(const char *home, const char *gun)
{
	_cleanup_free_ char *e = wharf_trust_escape_name(gun);
	return wharf_xasprintf("%s/trust/%s", home, e);
}

static char *stored_path(const struct update *u, const char *role)
{
	_cleanup_free_ char *e = wharf_trust_escape_name(role);
	return wharf_xasprintf("%s/%s.json", u->o->dir, e);
}

/* --- helpers --- */

static int fetch(const struct update *u, const char *name, size_t limit, struct wharf_buf *out,
		 struct wharf_error *err)
{
	if (u->o->fetch)
		return u->o->fetch(u->o->fetch_ctx, name, limit, out, err);
	return wharf_trust_http_get(u->o->server, u->o->gun, name, limit, out, err);
}

/* Parse bytes (taken) as the metadata of role. */
static int role_parse(struct role *r, const char *name, char *data, size_t len, struct wharf_error *err)
{
	memset(r, 0, sizeof(*r));
	if (!data || len == 0) {
		free(data);
		return wharf_error_set(err, WHARF_EINVAL, "%s metadata is empty", name);
	}
	int rc = wharf_tuf_parse(&r->meta, name, data, len, err);
	if (rc < 0) {
		free(data);
		return rc;
	}
	r->name = wharf_xstrdup(name);
	r->data = data;
	r->len = len;
	return 0;
}

static int check_expiry(const struct update *u, const struct role *r, struct wharf_error *err)
{
	if (r->meta.expires > u->now)
		return 0;
	char when[32], now[32];
	wharf_time_format_rfc3339(r->meta.expires, when);
	wharf_time_format_rfc3339(u->now, now);
	return wharf_error_set(err, WHARF_EINVAL, "%s version %lld expired at %s (now %s): refusing stale metadata",
			       r->name, (long long)r->meta.version, when, now);
}

/* The version of role in the stored trusted metadata, or 0. When same (may be NULL) holds
 * exactly the stored bytes, *out is its version without parsing the file again. */
static int stored_version_of(const struct update *u, const char *role, const struct role *same, int64_t *out,
			     struct wharf_error *err)
{
	*out = 0;
	if (!u->o->dir)
		return 0;
	_cleanup_free_ char *path = stored_path(u, role);
	char *data = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, WHARF_TUF_FILE_MAX, &data, &len, err);
	if (r == -WHARF_ENOTFOUND)
		return 0;
	if (r < 0)
		return r;
	if (same && same->len == len && !memcmp(same->data, data, len)) {
		free(data);
		*out = same->meta.version;
		return 0;
	}
	struct role old;
	r = role_parse(&old, role, data, len, err);
	if (r < 0)
		return wharf_error_prefix(err, "stored trusted %s (%s) is damaged; remove it to start over", role, path);
	*out = old.meta.version;
	role_free(&old);
	return 0;
}

static int stored_version(const struct update *u, const char *role, int64_t *out, struct wharf_error *err)
{
	return stored_version_of(u, role, NULL, out, err);
}

static int check_rollback(const struct update *u, const struct role *r, struct wharf_error *err)
{
	int64_t trusted;
	if ((!strcmp(r->name, "timestamp") && u->reset_timestamp) || (!strcmp(r->name, "snapshot") && u->reset_snapshot))
		return 0;
	int rc = stored_version_of(u, r->name, r, &trusted, err);
	if (rc < 0)
		return rc;
	if (r->meta.version < trusted)
		return wharf_error_set(err, WHARF_EINVAL, "%s version %lld is lower than the trusted version %lld: rollback refused",
				       r->name, (long long)r->meta.version, (long long)trusted);
	return 0;
}

static struct role *repo_add(struct wharf_trust_repo *repo, struct role *r)
{
	repo->roles = wharf_xrealloc(repo->roles, (repo->n + 1) * sizeof(*repo->roles));
	repo->roles[repo->n] = *r;
	memset(r, 0, sizeof(*r));
	return &repo->roles[repo->n++];
}

/* --- root --- */

static int check_root_shape(const struct role *root, struct wharf_error *err)
{
	static const char *const names[] = {"root", "targets", "snapshot", "timestamp"};
	json_t *keys = json_object_get(root->meta.signed_obj, "keys");
	json_t *roles = json_object_get(root->meta.signed_obj, "roles");
	if (!json_is_object(keys) || !json_is_object(roles))
		return wharf_error_set(err, WHARF_EINVAL, "root version %lld needs keys and roles objects",
				       (long long)root->meta.version);
	for (size_t i = 0; i < 4; i++) {
		json_t *r = json_object_get(roles, names[i]);
		json_t *ids = json_object_get(r, "keyids");
		json_t *th = json_object_get(r, "threshold");
		if (!json_is_array(ids) || !json_is_integer(th) || json_integer_value(th) < 1 ||
		    (size_t)json_integer_value(th) > json_array_size(ids))
			return wharf_error_set(err, WHARF_EINVAL,
					       "root version %lld: role %s needs keyids and a threshold from 1 to the number of keys",
					       (long long)root->meta.version, names[i]);
	}
	return 0;
}

/* Notary's certificate rule: a CN ending in '*' matches GUNs with that prefix. */
static bool cn_matches(const char *cn, const char *gun)
{
	size_t n = strlen(cn);
	if (n > 0 && cn[n - 1] == '*')
		return !strncmp(gun, cn, n - 1);
	return !strcmp(cn, gun);
}

/* The root role's key IDs whose keys are certificates for the GUN (unexpired if check_expiry). */
static json_t *root_cert_keyids(const struct update *u, const struct role *root, bool check_expiry)
{
	json_t *keys = json_object_get(root->meta.signed_obj, "keys");
	json_t *ids = json_object_get(json_object_get(json_object_get(root->meta.signed_obj, "roles"), "root"), "keyids");
	json_t *valid = json_array();
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		struct wharf_key *k = NULL;
		char cn[256];
		int64_t not_after = 0;
		if (!json_is_string(id) ||
		    wharf_key_from_json(&k, json_object_get(keys, json_string_value(id)), WHARF_DIALECT_NOTARY, NULL) < 0)
			continue;
		if (wharf_key_x509_info(k, cn, sizeof(cn), &not_after, NULL) == 0 && cn_matches(cn, u->o->gun) &&
		    (!check_expiry || not_after > u->now))
			json_array_append(valid, id);
		wharf_key_free(k);
	}
	return valid;
}

/* Signed by the threshold of signer's root role, counting only certificates for this GUN. */
static int verify_root_with(const struct update *u, const struct role *root, const struct role *signer,
			    bool check_expiry, struct wharf_error *err)
{
	json_t *ids = root_cert_keyids(u, signer, check_expiry);
	json_t *th = json_object_get(json_object_get(json_object_get(signer->meta.signed_obj, "roles"), "root"), "threshold");
	int r;
	if (json_array_size(ids) == 0)
		r = wharf_error_set(err, WHARF_EINVAL, "root version %lld has no root key that is a %scertificate for %s",
				    (long long)signer->meta.version, check_expiry ? "current " : "", u->o->gun);
	else
		r = wharf_tuf_verify(&root->meta, "root", json_object_get(signer->meta.signed_obj, "keys"), ids,
				     json_integer_value(th), err);
	json_decref(ids);
	return r;
}

static int accept_first_root(struct update *u, char *data, size_t len, const char *source, bool check_expiry,
			     struct wharf_error *err)
{
	int r = role_parse(&u->root, "root", data, len, err);
	if (r == 0)
		r = check_root_shape(&u->root, err);
	if (r == 0)
		r = verify_root_with(u, &u->root, &u->root, check_expiry, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s", source);
	u->first_root = json_incref(json_object_get(u->root.meta.signed_obj, "roles"));
	return 0;
}

/* The stored root, a pinned root file, or trust on first use of the server's root.json. */
static int load_first_root(struct update *u, struct wharf_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = -WHARF_ENOTFOUND;
	if (u->o->dir) {
		_cleanup_free_ char *path = stored_path(u, "root");
		r = wharf_read_file(path, WHARF_TUF_FILE_MAX, &data, &len, err);
		if (r == 0) /* trusted already: its certificates may have expired since, the chain goes on */
			return accept_first_root(u, data, len, "stored trusted root", false, err);
		if (r != -WHARF_ENOTFOUND)
			return r;
	}
	if (u->o->root_file) {
		r = wharf_read_file(u->o->root_file, WHARF_TUF_FILE_MAX, &data, &len, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *what = wharf_xasprintf("pinned root %s", u->o->root_file);
		return accept_first_root(u, data, len, what, false, err);
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	r = fetch(u, "root.json", WHARF_TUF_FILE_MAX, &b, err);
	if (r < 0) {
		wharf_buf_free(&b);
		return r == -WHARF_ENOTFOUND ? wharf_error_prefix(err, "%s has no trust data", u->o->gun)
					     : wharf_error_prefix(err, "root");
	}
	len = b.len;
	return accept_first_root(u, wharf_buf_steal(&b), len, "root (trust on first use)", true, err);
}

static bool role_keys_changed(const json_t *old_roles, const struct role *root, const char *role)
{
	json_t *now = json_object_get(json_object_get(root->meta.signed_obj, "roles"), role);
	return !json_equal(json_object_get(old_roles, role), now);
}

/* One step of the chain: N+1.root.json signed by N's root keys and by its own. */
static int next_root(struct update *u, bool *done, struct wharf_error *err)
{
	int64_t want = u->root.meta.version + 1;
	_cleanup_free_ char *name = wharf_xasprintf("%lld.root.json", (long long)want);
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = fetch(u, name, WHARF_TUF_FILE_MAX, &b, err);
	if (r == -WHARF_ENOTFOUND) {
		wharf_buf_free(&b);
		*done = true;
		return 0;
	}
	if (r < 0) {
		wharf_buf_free(&b);
		return wharf_error_prefix(err, "root version %lld", (long long)want);
	}
	size_t len = b.len;
	struct role next;
	r = role_parse(&next, "root", wharf_buf_steal(&b), len, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s", name);
	if (next.meta.version != want)
		r = wharf_error_set(err, WHARF_EINVAL, "%s holds root version %lld", name, (long long)next.meta.version);
	if (r == 0)
		r = check_root_shape(&next, err);
	if (r == 0 && (r = verify_root_with(u, &next, &u->root, false, err)) < 0)
		wharf_error_prefix(err, "root version %lld is not signed by the keys of trusted root version %lld",
				   (long long)want, (long long)u->root.meta.version);
	if (r == 0 && (r = verify_root_with(u, &next, &next, false, err)) < 0)
		wharf_error_prefix(err, "root version %lld is not signed by its own root keys", (long long)want);
	if (r < 0) {
		role_free(&next);
		return r;
	}
	role_free(&u->root);
	u->root = next;
	return 0;
}

static int update_root(struct update *u, struct wharf_error *err)
{
	int r = load_first_root(u, err);
	bool done = false;
	for (int steps = 0; r == 0 && !done; steps++) {
		if (steps == WHARF_TUF_ROOT_CHAIN_MAX)
			return wharf_error_set(err, WHARF_ETOOBIG, "root: more than %d new versions in one update",
					       WHARF_TUF_ROOT_CHAIN_MAX);
		r = next_root(u, &done, err);
	}
	if (r == 0)
		r = check_expiry(u, &u->root, err);
	/* The root we end on must stand on its own today: certificates for the GUN, unexpired. */
	if (r == 0 && (r = verify_root_with(u, &u->root, &u->root, true, err)) < 0)
		wharf_error_prefix(err, "root version %lld", (long long)u->root.meta.version);
	if (r < 0)
		return r;
	/* New timestamp or snapshot keys: versions signed by the old keys bind no more (TUF 5.3.11). */
	u->reset_timestamp = role_keys_changed(u->first_root, &u->root, "timestamp");
	u->reset_snapshot = role_keys_changed(u->first_root, &u->root, "snapshot");
	struct role *root = repo_add(u->repo, &u->root);
	json_t *rs = json_object_get(json_object_get(root->meta.signed_obj, "roles"), "root");
	root->keys = json_object_get(root->meta.signed_obj, "keys");
	root->keyids = json_object_get(rs, "keyids");
	root->threshold = json_integer_value(json_object_get(rs, "threshold"));
	return 0;
}

/* --- timestamp, snapshot, targets --- */

/* The sha256 of file meta as hex, for the checksum-named fetch. */
static int meta_sha256_hex(const json_t *fm, const char *role, char out[65], struct wharf_error *err)
{
	const char *b64 = json_string_value(json_object_get(json_object_get(fm, "hashes"), "sha256"));
	struct wharf_buf raw;
	wharf_buf_init(&raw);
	int r = b64 ? wharf_base64_decode(b64, &raw, err) : -WHARF_EINVAL;
	if (r >= 0 && raw.len == 32) {
		char *hex = wharf_hex_encode(raw.data, raw.len);
		memcpy(out, hex, 65);
		free(hex);
		r = 0;
	} else {
		r = wharf_error_set(err, WHARF_EINVAL, "the meta of %s has no sha256 hash of 32 bytes", role);
	}
	wharf_buf_free(&raw);
	return r;
}

/* Verify by the role's keys, then rollback and expiry. */
static int check_role(const struct update *u, struct role *r, struct wharf_error *err)
{
	int rc = wharf_tuf_verify(&r->meta, r->name, r->keys, r->keyids, r->threshold, err);
	if (rc == 0)
		rc = check_rollback(u, r, err);
	if (rc == 0)
		rc = check_expiry(u, r, err);
	return rc;
}

static void keys_from_root(const struct update *u, struct role *r)
{
	const struct role *root = &u->repo->roles[0];
	json_t *rs = json_object_get(json_object_get(root->meta.signed_obj, "roles"), r->name);
	r->keys = root->keys;
	r->keyids = json_object_get(rs, "keyids");
	r->threshold = json_integer_value(json_object_get(rs, "threshold"));
}

/* Fetch name.<sha256>.json as listed by fm (from timestamp or snapshot), checking length and hashes. */
static int fetch_by_meta(const struct update *u, const char *role, const json_t *fm, const char *lister,
			 struct role *out, struct wharf_error *err)
{
	json_t *length = json_object_get(fm, "length");
	if (!json_is_integer(length) || json_integer_value(length) < 1 ||
	    json_integer_value(length) > (json_int_t)WHARF_TUF_FILE_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "%s lists %s with a length that is not from 1 to %u bytes", lister,
				       role, WHARF_TUF_FILE_MAX);
	char hex[65];
	int r = meta_sha256_hex(fm, role, hex, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s", lister);
	_cleanup_free_ char *name = wharf_xasprintf("%s.%s.json", role, hex);
	struct wharf_buf b;
	wharf_buf_init(&b);
	r = fetch(u, name, (size_t)json_integer_value(length), &b, err);
	if (r == 0 && (r = wharf_tuf_check_file_meta(fm, role, b.data, b.len, err)) < 0)
		wharf_error_prefix(err, "%s does not match what %s lists", name, lister);
	if (r < 0) {
		wharf_buf_free(&b);
		return r == -WHARF_ETOOBIG ? wharf_error_prefix(err, "%s: longer than %s lists", role, lister) : r;
	}
	size_t len = b.len;
	return role_parse(out, role, wharf_buf_steal(&b), len, err);
}

static int update_timestamp(struct update *u, struct wharf_error *err)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = fetch(u, "timestamp.json", WHARF_TUF_TIMESTAMP_MAX, &b, err);
	if (r < 0) {
		wharf_buf_free(&b);
		return wharf_error_prefix(err, "timestamp");
	}
	size_t len = b.len;
	struct role ts;
	r = role_parse(&ts, "timestamp", wharf_buf_steal(&b), len, err);
	if (r < 0)
		return r;
	keys_from_root(u, &ts);
	r = check_role(u, &ts, err);
	if (r == 0 && !json_is_object(json_object_get(json_object_get(ts.meta.signed_obj, "meta"), "snapshot")))
		r = wharf_error_set(err, WHARF_EINVAL, "timestamp does not list snapshot");
	if (r < 0) {
		role_free(&ts);
		return r;
	}
	repo_add(u->repo, &ts);
	return 0;
}

static int update_snapshot(struct update *u, struct wharf_error *err)
{
	const struct role *ts = &u->repo->roles[1];
	json_t *fm = json_object_get(json_object_get(ts->meta.signed_obj, "meta"), "snapshot");
	struct role snap;
	int r = fetch_by_meta(u, "snapshot", fm, "timestamp", &snap, err);
	if (r < 0)
		return r;
	keys_from_root(u, &snap);
	r = check_role(u, &snap, err);
	json_t *meta = json_object_get(snap.meta.signed_obj, "meta");
	if (r == 0 && !json_is_object(meta))
		r = wharf_error_set(err, WHARF_EINVAL, "snapshot has no meta object");
	/* Notary's snapshot lists root too: it must be the root we reached through the chain. */
	json_t *root_fm = json_object_get(meta, "root");
	const struct role *root = &u->repo->roles[0];
	if (r == 0 && root_fm && (r = wharf_tuf_check_file_meta(root_fm, "root", root->data, root->len, err)) < 0)
		wharf_error_prefix(err, "snapshot lists a root other than the trusted root version %lld "
				   "(is %lld.root.json missing on the server?)", (long long)root->meta.version,
				   (long long)root->meta.version + 1);
	if (r < 0) {
		role_free(&snap);
		return r;
	}
	repo_add(u->repo, &snap);
	return 0;
}

static int check_targets_shape(const struct role *r, struct wharf_error *err)
{
	int rc = wharf_tuf_check_targets(&r->meta, r->name, NULL, err);
	if (rc < 0)
		return rc;
	json_t *dels = json_object_get(r->meta.signed_obj, "delegations");
	if (!dels || json_is_null(dels))
		return 0;
	json_t *roles = json_object_get(dels, "roles");
	if (!json_is_object(dels) || !json_is_object(json_object_get(dels, "keys")) || (roles && !json_is_array(roles)))
		return wharf_error_set(err, WHARF_EINVAL, "%s: delegations need a keys object and a roles list", r->name);
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		const char *dn = json_string_value(json_object_get(d, "name"));
		json_t *paths = json_object_get(d, "paths");
		if (!dn || !wharf_tuf_valid_role(dn) || !wharf_str_has_prefix(dn, "targets/") ||
		    !json_is_array(json_object_get(d, "keyids")) || !json_is_integer(json_object_get(d, "threshold")) ||
		    (paths && !json_is_null(paths) && !json_is_array(paths)))
			return wharf_error_set(err, WHARF_EINVAL, "%s: delegation %zu needs a role name, keyids, a threshold and paths",
					       r->name, i);
	}
	return 0;
}

/* Path prefixes of a child delegation that lie within its delegator's (Notary's restriction). */
static json_t *restrict_paths(const json_t *parent, const json_t *child)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(child, i, c) {
		if (!json_is_string(c))
			continue;
		bool ok = !parent; /* top-level targets allows every path */
		json_array_foreach(parent, j, p)
			ok = ok || wharf_str_has_prefix(json_string_value(c), json_string_value(p));
		if (ok)
			json_array_append(out, c);
	}
	return out;
}

/* Is target/role name `child` delegated directly by `parent` (targets/a -> targets/a/b)? */
static bool direct_child(const char *parent, const char *child)
{
	size_t n = strlen(parent);
	return !strncmp(child, parent, n) && child[n] == '/' && !strchr(child + n + 1, '/');
}

static int fetch_targets_role(struct update *u, struct role *r, struct wharf_error *err);

static int fetch_delegations(struct update *u, size_t parent_idx, struct wharf_error *err)
{
	const struct role *parent = &u->repo->roles[parent_idx];
	json_t *dels = json_object_get(parent->meta.signed_obj, "delegations");
	json_t *roles = json_object_get(dels, "roles");
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		parent = &u->repo->roles[parent_idx]; /* the array may have moved */
		const char *name = json_string_value(json_object_get(d, "name"));
		if (!direct_child(parent->name, name))
			continue; /* Notary ignores delegations that skip a level */
		if (wharf_trust_repo_find(u->repo, name) >= 0)
			return wharf_error_set(err, WHARF_EINVAL, "%s delegates %s twice", parent->name, name);
		json_t *paths = json_object_get(d, "paths");
		struct role child = {
			.name = wharf_xstrdup(name),
			.keys = json_object_get(dels, "keys"),
			.keyids = json_object_get(d, "keyids"),
			.threshold = json_integer_value(json_object_get(d, "threshold")),
			.paths = restrict_paths(parent->paths, json_is_array(paths) ? paths : NULL),
			.depth = parent->depth + 1,
		};
		int r = fetch_targets_role(u, &child, err);
		role_free(&child);
		if (r < 0)
			return r;
	}
	return 0;
}

/* r carries the name, keys, threshold and paths; the metadata comes by the snapshot's checksum. */
static int fetch_targets_role(struct update *u, struct role *r, struct wharf_error *err)
{
	const struct role *snap = &u->repo->roles[2];
	json_t *fm = json_object_get(json_object_get(snap->meta.signed_obj, "meta"), r->name);
	if (!fm) {
		if (!strcmp(r->name, "targets"))
			return wharf_error_set(err, WHARF_EINVAL, "snapshot does not list targets");
		/* Delegated but never published signs nothing; but a role we trusted may not vanish
		 * from the snapshot while it is still delegated (TUF 5.4: it must stay listed). */
		int64_t trusted;
		int rc = stored_version(u, r->name, &trusted, err);
		if (rc == 0 && trusted > 0)
			rc = wharf_error_set(err, WHARF_EINVAL, "snapshot version %lld no longer lists %s, which is still delegated "
					     "and trusted at version %lld", (long long)snap->meta.version, r->name, (long long)trusted);
		return rc;
	}
	if (u->repo->n - 3 >= WHARF_TUF_ROLES_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s has more than %d targets roles", u->o->gun, WHARF_TUF_ROLES_MAX);
	struct role got;
	int rc = fetch_by_meta(u, r->name, fm, "snapshot", &got, err);
	if (rc < 0)
		return rc;
	got.keys = r->keys;
	got.keyids = r->keyids;
	got.threshold = r->threshold;
	got.paths = r->paths;
	got.depth = r->depth;
	r->paths = NULL;
	/* A delegated role its delegator's keys no longer sign to the threshold (a revoked signer)
	 * signs nothing, and neither do its delegates; as notary does, the update goes on without
	 * it. Targets itself must verify. */
	if (got.depth > 0 && wharf_tuf_verify(&got.meta, got.name, got.keys, got.keyids, got.threshold, err) < 0) {
		wharf_log(WHARF_LOG_WARN, "trust: %s: skipping %s: %s", u->o->gun, got.name, err->message);
		role_free(&got);
		return 0;
	}
	rc = check_role(u, &got, err);
	if (rc == 0)
		rc = check_targets_shape(&got, err);
	if (rc < 0) {
		role_free(&got);
		return rc;
	}
	repo_add(u->repo, &got);
	return fetch_delegations(u, u->repo->n - 1, err);
}

static int update_targets(struct update *u, struct wharf_error *err)
{
	struct role t = {.name = wharf_xstrdup("targets")};
	keys_from_root(u, &t);
	int r = fetch_targets_role(u, &t, err);
	role_free(&t);
	return r;
}

/* --- storing --- */

static bool stored_role_file(const struct update *u, const char *file)
{
	for (size_t i = 0; i < u->repo->n; i++) {
		_cleanup_free_ char *e = wharf_trust_escape_name(u->repo->roles[i].name);
		size_t n = strlen(e);
		if (!strncmp(file, e, n) && !strcmp(file + n, ".json"))
			return true;
	}
	return false;
}

/* Delegations no longer listed leave with their files, so their versions bind no more. */
static int remove_stale(const struct update *u, struct wharf_error *err)
{
	DIR *d = opendir(u->o->dir);
	if (!d)
		return wharf_error_sys(err, "cannot read %s", u->o->dir);
	struct dirent *e;
	int r = 0;
	while (r == 0 && (e = readdir(d))) {
		if (!wharf_str_has_prefix(e->d_name, "targets%2F") || !wharf_str_has_suffix(e->d_name, ".json") ||
		    stored_role_file(u, e->d_name))
			continue;
		_cleanup_free_ char *path = wharf_xasprintf("%s/%s", u->o->dir, e->d_name);
		if (unlink(path) < 0 && errno != ENOENT)
			r = wharf_error_sys(err, "cannot remove %s", path);
	}
	closedir(d);
	return r;
}

static int store_role(const struct update *u, size_t i, struct wharf_error *err)
{
	const struct role *r = &u->repo->roles[i];
	_cleanup_free_ char *p = stored_path(u, r->name);
	_cleanup_free_ char *old = NULL;
	size_t len = 0;
	/* Unchanged files are left alone: most updates change only the timestamp. */
	if (wharf_read_file(p, WHARF_TUF_FILE_MAX, &old, &len, NULL) == 0 && len == r->len && !memcmp(old, r->data, len))
		return 0;
	return wharf_atomic_write(p, r->data, r->len, 0644, err);
}

/* Root first, then targets, snapshot, and timestamp last: an interrupted store never leaves a
 * timestamp newer than the data it vouches for. */
static int persist(const struct update *u, struct wharf_error *err)
{
	int r = wharf_mkdir_p(u->o->dir, 0700, err);
	if (r == 0)
		r = store_role(u, 0, err);
	for (size_t i = 3; r == 0 && i < u->repo->n; i++)
		r = store_role(u, i, err);
	if (r == 0)
		r = remove_stale(u, err);
	if (r == 0)
		r = store_role(u, 2, err);
	if (r == 0)
		r = store_role(u, 1, err);
	return r;
}

int wharf_trust_client_update(struct wharf_trust_repo **out, const struct wharf_trust_client_opts *o,
			      struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(o->gun, err);
	if (r < 0)
		return r;
	if (!o->fetch && !o->server)
		return wharf_error_set(err, WHARF_EINVAL, "no trust server to update %s from", o->gun);
	struct update u = {.o = o, .now = o->now ? o->now : wharf_now()};
	u.repo = wharf_xcalloc(1, sizeof(*u.repo));
	u.repo->gun = wharf_xstrdup(o->gun);
	r = update_root(&u, err);
	if (r == 0)
		r = update_timestamp(&u, err);
	if (r == 0)
		r = update_snapshot(&u, err);
	if (r == 0)
		r = update_targets(&u, err);
	if (r == 0 && o->dir && (r = persist(&u, err)) < 0)
		wharf_error_prefix(err, "storing the trusted metadata of %s", o->gun);
	role_free(&u.root);
	if (u.first_root)
		json_decref(u.first_root);
	if (r < 0) {
		wharf_trust_repo_free(u.repo);
		return r;
	}
	*out = u.repo;
	return 0;
}
