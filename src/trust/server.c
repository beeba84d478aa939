/* The Notary v1 trust service: validates publishes as strictly as a client would, holds the
 * timestamp (and optionally snapshot) keys, and signs fresh timestamps. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wharf/digest.h"
#include "wharf/json.h"
#include "wharf/trust.h"
#include "internal.h"

#define GUN_LOCKS 32
#define TIMESTAMP_LIFETIME (14 * 86400)
#define TIMESTAMP_RESIGN_BEFORE (7 * 86400)
#define SNAPSHOT_LIFETIME (3 * 365 * 86400)
#define MAX_ROLES 256

/* Decrypted server keys, kept so a publish does not pay for scrypt each time. */
struct cached_key {
	char gun[512];
	char role[16];
	char keyid[65];
	struct wharf_key *key;
	struct cached_key *next;
};

/* The newest metadata of a role, served from memory: GETs outnumber publishes by far. */
struct cached_file {
	char gun[512];
	char role[128];
	char *data;
	size_t len;
	int64_t expires; /* timestamps only */
	struct cached_file *next;
};

#define FILE_CACHE_MAX 4096

struct wharf_trust {
	struct wharf_meta *meta;
	struct wharf_store *store; /* the registry's, for spec-format targets */
	pthread_mutex_t files_lock;
	struct cached_file *files;
	size_t nfiles;
	uint64_t files_gen; /* bumped by every change, so a read that raced one is not cached */
	char passphrase[65]; /* encrypts server-held private keys at rest */
	pthread_mutex_t gun_locks[GUN_LOCKS];
	pthread_mutex_t cache_lock;
	struct cached_key *keys;
	wharf_trust_audit_fn audit_fn; /* wharf_trust_set_audit; NULL: no audit log */
	void *audit_ctx;
};

pthread_mutex_t *wharf_trust_gun_lock(struct wharf_trust *t, const char *gun)
{
	size_t h = 5381;
	for (const char *p = gun; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &t->gun_locks[h % GUN_LOCKS];
}

/* The master secret lives beside the database, 0600, made on first start. */
static int load_master_secret(struct wharf_trust *t, const char *data_dir, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/trust-master.key", data_dir);
	char *text = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, 4096, &text, &len, err);
	if (r == -WHARF_ENOTFOUND) {
		if ((r = wharf_random_hex(t->passphrase, 32, err)) < 0)
			return r;
		return wharf_atomic_write(path, t->passphrase, 64, 0600, err);
	}
	if (r < 0)
		return r;
	if (len < 64) {
		free(text);
		return wharf_error_set(err, WHARF_EINVAL, "%s is damaged: it must hold 64 hex characters", path);
	}
	memcpy(t->passphrase, text, 64);
	t->passphrase[64] = '\0';
	free(text);
	return 0;
}

int wharf_trust_open(struct wharf_trust **out, struct wharf_meta *meta, const char *data_dir,
		     struct wharf_error *err)
{
	struct wharf_trust *t = wharf_xcalloc(1, sizeof(*t));
	t->meta = meta;
	for (size_t i = 0; i < GUN_LOCKS; i++)
		pthread_mutex_init(&t->gun_locks[i], NULL);
	pthread_mutex_init(&t->cache_lock, NULL);
	pthread_mutex_init(&t->files_lock, NULL);
	int r = load_master_secret(t, data_dir, err);
	if (r < 0) {
		wharf_trust_close(t);
		return r;
	}
	*out = t;
	return 0;
}

void wharf_trust_close(struct wharf_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < GUN_LOCKS; i++)
		pthread_mutex_destroy(&t->gun_locks[i]);
	while (t->keys) {
		struct cached_key *c = t->keys;
		t->keys = c->next;
		wharf_key_free(c->key);
		free(c);
	}
	pthread_mutex_destroy(&t->cache_lock);
	while (t->files) {
		struct cached_file *f = t->files;
		t->files = f->next;
		free(f->data);
		free(f);
	}
	pthread_mutex_destroy(&t->files_lock);
	free(t);
}

/* --- the file cache --- */

static void files_drop_locked(struct wharf_trust *t, const char *gun)
{
	for (struct cached_file **pp = &t->files; *pp;) {
		struct cached_file *f = *pp;
		if (gun && strcmp(f->gun, gun) != 0) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		free(f->data);
		free(f);
		t->nfiles--;
	}
}

static void files_invalidate(struct wharf_trust *t, const char *gun)
{
	pthread_mutex_lock(&t->files_lock);
	t->files_gen++;
	files_drop_locked(t, gun);
	pthread_mutex_unlock(&t->files_lock);
}

static bool files_get(struct wharf_trust *t, const char *gun, const char *role, char **data, size_t *len,
		      int64_t *expires, uint64_t *gen)
{
	bool hit = false;
	pthread_mutex_lock(&t->files_lock);
	*gen = t->files_gen;
	for (struct cached_file *f = t->files; f && !hit; f = f->next) {
		if (strcmp(f->role, role) != 0 || strcmp(f->gun, gun) != 0)
			continue;
		*data = wharf_xstrndup(f->data, f->len);
		*len = f->len;
		*expires = f->expires;
		hit = true;
	}
	pthread_mutex_unlock(&t->files_lock);
	return hit;
}

static void files_put(struct wharf_trust *t, const char *gun, const char *role, const char *data, size_t len,
		      int64_t expires, uint64_t gen)
{
	if (strlen(gun) >= sizeof(((struct cached_file *)0)->gun) || strlen(role) >= sizeof(((struct cached_file *)0)->role))
		return;
	pthread_mutex_lock(&t->files_lock);
	if (gen == t->files_gen) {
		if (t->nfiles >= FILE_CACHE_MAX)
			files_drop_locked(t, NULL);
		struct cached_file *f = wharf_xcalloc(1, sizeof(*f));
		snprintf(f->gun, sizeof(f->gun), "%s", gun);
		snprintf(f->role, sizeof(f->role), "%s", role);
		f->data = wharf_xstrndup(data, len);
		f->len = len;
		f->expires = expires;
		f->next = t->files;
		t->files = f;
		t->nfiles++;
	}
	pthread_mutex_unlock(&t->files_lock);
}

/* --- server-held keys --- */

static int make_server_key(struct wharf_trust *t, const char *gun, const char *role, char **public_json,
			   struct wharf_error *err)
{
	struct wharf_key *k = NULL;
	int r = wharf_key_generate(&k, WHARF_KEY_ECDSA, err);
	if (r < 0)
		return r;
	struct wharf_buf pem;
	wharf_buf_init(&pem);
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	json_t *pub = wharf_key_to_json(k, WHARF_DIALECT_NOTARY);
	char *pub_text = json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(pub);
	r = wharf_key_private_to_pem(k, t->passphrase, &pem, err);
	if (r == 0)
		r = wharf_meta_tuf_key_put(t->meta, gun, role, id, pub_text, pem.data, err);
	wharf_buf_free(&pem);
	wharf_key_free(k);
	if (r == 0)
		*public_json = pub_text;
	else
		free(pub_text);
	return r;
}

int wharf_trust_server_key(struct wharf_trust *t, const char *gun, const char *role, bool rotate,
			   char **public_json, struct wharf_error *err)
{
	if (strcmp(role, "timestamp") != 0 && strcmp(role, "snapshot") != 0)
		return wharf_error_set(err, WHARF_EINVAL, "the server holds keys only for timestamp and snapshot, not %s", role);
	int r = wharf_tuf_check_gun(gun, err);
	if (r < 0)
		return r;
	pthread_mutex_t *lock = wharf_trust_gun_lock(t, gun);
	pthread_mutex_lock(lock);
	r = rotate ? -WHARF_ENOTFOUND : wharf_meta_tuf_key_get(t->meta, gun, role, NULL, public_json, NULL, err);
	if (r == -WHARF_ENOTFOUND)
		r = make_server_key(t, gun, role, public_json, err);
	pthread_mutex_unlock(lock);
	return r;
}

/* The decrypted key (gun, role, keyid), from the cache or from the database; NULL if absent. */
static struct wharf_key *held_key(struct wharf_trust *t, const char *gun, const char *role, const char *keyid,
				  struct wharf_error *err)
{
	struct wharf_key *found = NULL;
	pthread_mutex_lock(&t->cache_lock);
	for (struct cached_key *c = t->keys; c && !found; c = c->next)
		if (!strcmp(c->keyid, keyid) && !strcmp(c->role, role) && !strcmp(c->gun, gun))
			found = c->key;
	pthread_mutex_unlock(&t->cache_lock);
	if (found)
		return found;
	char *pub = NULL, *pem = NULL;
	if (wharf_meta_tuf_key_get(t->meta, gun, role, keyid, &pub, &pem, NULL) < 0)
		return NULL;
	int r = wharf_key_private_from_pem(&found, pem, strlen(pem), t->passphrase, NULL, err);
	free(pub);
	free(pem);
	if (r < 0)
		return NULL;
	struct cached_key *c = wharf_xcalloc(1, sizeof(*c));
	snprintf(c->gun, sizeof(c->gun), "%s", gun);
	snprintf(c->role, sizeof(c->role), "%s", role);
	snprintf(c->keyid, sizeof(c->keyid), "%s", keyid);
	c->key = found;
	pthread_mutex_lock(&t->cache_lock);
	c->next = t->keys;
	t->keys = c;
	pthread_mutex_unlock(&t->cache_lock);
	return found;
}

/* The key the server holds for one of the role's key IDs in root (borrowed from the cache),
 * or WHARF_ENOTFOUND. */
static int server_signing_key(struct wharf_trust *t, const char *gun, const char *role,
			      const struct wharf_tuf_meta *root, struct wharf_key **out, struct wharf_error *err)
{
	json_t *keyids = json_object_get(json_object_get(json_object_get(root->signed_obj, "roles"), role), "keyids");
	size_t i;
	json_t *id;
	json_array_foreach(keyids, i, id) {
		if (json_is_string(id) && (*out = held_key(t, gun, role, json_string_value(id), err)))
			return 0;
	}
	return wharf_error_set(err, WHARF_ENOTFOUND, "the root of %s lists no %s key this server holds", gun, role);
}

bool trust_holds_key(struct wharf_trust *t, const char *gun, const char *role, const struct wharf_tuf_meta *root)
{
	struct wharf_key *k = NULL;
	struct wharf_error e;
	return server_signing_key(t, gun, role, root, &k, &e) == 0;
}

/* --- the state of a GUN: stored metadata overlaid by a publish --- */

struct role_file {
	char role[128];
	char *data; /* owned */
	size_t len;
	struct wharf_tuf_meta meta;
	bool is_new;     /* uploaded or generated by this publish */
	int64_t stored;  /* version stored before this publish, -1 if none */
};

struct state {
	struct wharf_trust *t;
	const char *gun;
	struct role_file files[MAX_ROLES];
	size_t n;
};

static struct role_file *state_find(struct state *s, const char *role)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->files[i].role, role))
			return &s->files[i];
	return NULL;
}

static void state_free(struct state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->files[i].data);
		wharf_tuf_meta_free(&s->files[i].meta);
	}
	s->n = 0;
}

static struct role_file *state_slot(struct state *s, const char *role, struct wharf_error *err)
{
	struct role_file *f = state_find(s, role);
	if (f)
		return f;
	if (s->n == MAX_ROLES) {
		wharf_error_set(err, WHARF_ETOOBIG, "%s has more than %d roles", s->gun, MAX_ROLES);
		return NULL;
	}
	f = &s->files[s->n++];
	memset(f, 0, sizeof(*f));
	snprintf(f->role, sizeof(f->role), "%s", role);
	f->stored = -1;
	return f;
}

static int state_load(struct state *s, struct wharf_error *err)
{
	struct wharf_strv roles = {0};
	int r = wharf_meta_tuf_roles(s->t->meta, s->gun, &roles, err);
	for (size_t i = 0; r == 0 && i < roles.n; i++) {
		struct role_file *f = state_slot(s, roles.v[i], err);
		if (!f) {
			r = -WHARF_ETOOBIG;
			break;
		}
		r = wharf_meta_tuf_get(s->t->meta, s->gun, f->role, 0, NULL, &f->data, &f->len, &f->stored, err);
		if (r == 0)
			r = wharf_tuf_parse(&f->meta, f->role, f->data, f->len, err);
	}
	wharf_strv_free(&roles);
	return r;
}

/* Replace (or add) a role's file with new bytes; takes data. */
static int state_put(struct state *s, const char *role, char *data, size_t len, struct wharf_error *err)
{
	struct role_file *f = state_slot(s, role, err);
	if (!f) {
		free(data);
		return -WHARF_ETOOBIG;
	}
	if (f->is_new) {
		free(data);
		return wharf_error_set(err, WHARF_EINVAL, "%s is uploaded twice", role);
	}
	struct wharf_tuf_meta m;
	int r = wharf_tuf_parse(&m, role, data, len, err);
	if (r < 0) {
		free(data);
		return r;
	}
	if (f->stored >= 0 && m.version <= f->meta.version) {
		r = wharf_error_set(err, WHARF_EINVAL, "%s version %lld is not newer than the stored version %lld", role,
				    (long long)m.version, (long long)f->meta.version);
		wharf_tuf_meta_free(&m);
		free(data);
		return r;
	}
	free(f->data);
	wharf_tuf_meta_free(&f->meta);
	f->data = data;
	f->len = len;
	f->meta = m;
	f->is_new = true;
	return 0;
}

/* --- validation --- */

static int check_not_expired(const struct role_file *f, struct wharf_error *err)
{
	if (f->meta.expires <= wharf_now()) {
		char when[32];
		wharf_time_format_rfc3339(f->meta.expires, when);
		return wharf_error_set(err, WHARF_EINVAL, "%s expired at %s", f->role, when);
	}
	return 0;
}

static int check_root_shape(const struct wharf_tuf_meta *root, struct wharf_error *err)
{
	static const char *const roles[] = {"root", "targets", "snapshot", "timestamp"};
	json_t *keys = json_object_get(root->signed_obj, "keys");
	json_t *rs = json_object_get(root->signed_obj, "roles");
	if (!json_is_object(keys) || !json_is_object(rs))
		return wharf_error_set(err, WHARF_EINVAL, "root needs keys and roles objects");
	for (size_t i = 0; i < 4; i++) {
		json_t *r = json_object_get(rs, roles[i]);
		json_t *ids = json_object_get(r, "keyids");
		json_t *th = json_object_get(r, "threshold");
		if (!json_is_array(ids) || !json_is_integer(th) || json_integer_value(th) < 1 ||
		    (size_t)json_integer_value(th) > json_array_size(ids))
			return wharf_error_set(err, WHARF_EINVAL, "root role %s needs keyids and a threshold from 1 to the number of keys",
					       roles[i]);
		size_t k;
		json_t *id;
		json_array_foreach(ids, k, id) {
			if (!json_is_string(id) || !json_object_get(keys, json_string_value(id)))
				return wharf_error_set(err, WHARF_EINVAL, "root role %s lists key %.16s, which root does not define",
						       roles[i], json_is_string(id) ? json_string_value(id) : "?");
		}
	}
	return 0;
}

static int validate_root(struct state *s, struct role_file *root, struct wharf_tuf_meta *old_root,
			 struct wharf_error *err)
{
	int r = check_root_shape(&root->meta, err);
	if (r == 0)
		r = check_not_expired(root, err);
	if (r == 0)
		r = wharf_tuf_verify_by_root(&root->meta, "root", &root->meta, err);
	if (r == 0 && old_root) /* a rotation: the old root's keys must agree too */
		r = wharf_tuf_verify_by_root(&root->meta, "root", old_root, err);
	if (r < 0)
		return wharf_error_prefix(err, "root version %lld", (long long)root->meta.version);
	struct wharf_key *ts = NULL;
	r = server_signing_key(s->t, s->gun, "timestamp", &root->meta, &ts, err);
	if (r == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_EINVAL, "root's timestamp role must hold this server's timestamp key "
				       "(GET /v2/%s/_trust/tuf/timestamp.key)", s->gun);
	return r;
}

/* The role that delegates to role: targets/a/b -> targets/a. */
static void parent_role(const char *role, char *out, size_t n)
{
	snprintf(out, n, "%s", role);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
}

static json_t *find_delegation(const struct role_file *parent, const char *role)
{
	json_t *roles = json_object_get(json_object_get(parent->meta.signed_obj, "delegations"), "roles");
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name && !strcmp(name, role))
			return d;
	}
	return NULL;
}

/* Notary delegation paths are prefixes of target names ("" allows all). */
static bool path_allowed(const json_t *delegation, const char *target)
{
	json_t *paths = json_object_get(delegation, "paths");
	size_t i;
	json_t *p;
	json_array_foreach(paths, i, p)
		if (json_is_string(p) && wharf_str_has_prefix(target, json_string_value(p)))
			return true;
	return false;
}

static int check_targets_shape(const struct role_file *f, const json_t *delegation, struct wharf_error *err)
{
	json_t *targets;
	int r = wharf_tuf_check_targets(&f->meta, f->role, &targets, err);
	if (r < 0 || !delegation)
		return r;
	const char *name;
	json_t *t;
	json_object_foreach(targets, name, t) {
		if (!path_allowed(delegation, name))
			return wharf_error_set(err, WHARF_EINVAL, "%s may not sign target '%.100s': outside its delegated paths",
					       f->role, name);
	}
	return 0;
}

/* The path prefixes of child that lie within the parent's (Notary's restriction, as clients apply
 * it): a nested delegation's paths count only where its delegators' paths allow. */
static json_t *restrict_paths(const json_t *parent, const json_t *child)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(json_object_get(child, "paths"), i, c) {
		bool ok = !parent;
		json_array_foreach(parent, j, p)
			ok = ok || (json_is_string(c) && wharf_str_has_prefix(json_string_value(c), json_string_value(p)));
		if (ok && json_is_string(c))
			json_array_append(out, c);
	}
	return out;
}

/* A nested delegation signs only within the paths in force for it: its own, restricted by every
 * delegator's above it. */
static int check_paths_in_force(struct state *s, const struct role_file *f, struct wharf_error *err)
{
	if (!strchr(f->role + 8, '/'))
		return 0; /* targets/x: its own paths, checked already */
	json_t *in_force = NULL;
	char role[128], parent[128];
	/* Walk down from targets/x to f->role, each step restricting the paths. */
	for (const char *p = strchr(f->role + 8, '/');; p = strchr(p + 1, '/')) {
		size_t len = p ? (size_t)(p - f->role) : strlen(f->role);
		snprintf(role, sizeof(role), "%.*s", (int)len, f->role);
		parent_role(role, parent, sizeof(parent));
		struct role_file *pf = state_find(s, parent);
		json_t *d = pf ? find_delegation(pf, role) : NULL;
		if (!d) {
			if (in_force)
				json_decref(in_force);
			return wharf_error_set(err, WHARF_EINVAL, "%s is not delegated by %s", role, parent);
		}
		json_t *next = restrict_paths(in_force, d);
		if (in_force)
			json_decref(in_force);
		in_force = next;
		if (!p)
			break;
	}
	const char *name;
	json_t *t;
	int r = 0;
	json_object_foreach(json_object_get(f->meta.signed_obj, "targets"), name, t) {
		json_t *holder = json_pack("{s:O}", "paths", in_force);
		bool ok = path_allowed(holder, name);
		json_decref(holder);
		if (!ok) {
			r = wharf_error_set(err, WHARF_EINVAL, "%s may not sign target '%.100s': outside the paths in force for "
					    "it (its own, restricted by its delegators')", f->role, name);
			break;
		}
	}
	json_decref(in_force);
	return r;
}

static int validate_targets(struct state *s, struct role_file *f, const struct wharf_tuf_meta *root,
			    struct wharf_error *err)
{
	int r = check_not_expired(f, err);
	if (r < 0)
		return r;
	if (!strcmp(f->role, "targets")) {
		r = wharf_tuf_verify_by_root(&f->meta, "targets", root, err);
		return r < 0 ? r : check_targets_shape(f, NULL, err);
	}
	char parent[128];
	parent_role(f->role, parent, sizeof(parent));
	struct role_file *pf = state_find(s, parent);
	json_t *d = pf ? find_delegation(pf, f->role) : NULL;
	if (!d)
		return wharf_error_set(err, WHARF_EINVAL, "%s is not delegated by %s", f->role, parent);
	json_t *th = json_object_get(d, "threshold");
	r = wharf_tuf_verify(&f->meta, f->role, json_object_get(json_object_get(pf->meta.signed_obj, "delegations"), "keys"),
			     json_object_get(d, "keyids"), json_is_integer(th) ? json_integer_value(th) : 0, err);
	if (r == 0)
		r = check_targets_shape(f, d, err);
	return r < 0 ? r : check_paths_in_force(s, f, err);
}

static bool is_targets_role(const char *role)
{
	return !strcmp(role, "targets") || wharf_str_has_prefix(role, "targets/");
}

/* Every targets role that is new, or whose delegator or root is new, must verify now. */
static int validate_all_targets(struct state *s, struct role_file *root, struct wharf_error *err)
{
	/* Parents sort before their children, so a delegator is checked before its delegates. */
	for (size_t i = 0; i < s->n; i++) {
		struct role_file *f = &s->files[i];
		if (!is_targets_role(f->role) || (!f->is_new && !root->is_new))
			continue;
		int r = validate_targets(s, f, &root->meta, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static json_t *snapshot_meta_of(struct state *s)
{
	json_t *meta = json_object();
	for (size_t i = 0; i < s->n; i++) {
		struct role_file *f = &s->files[i];
		if (!strcmp(f->role, "root") || is_targets_role(f->role))
			json_object_set_new(meta, f->role, wharf_tuf_file_meta(f->data, f->len));
	}
	return meta;
}

static int sign_and_put(struct state *s, const char *role, json_t *signed_obj, struct wharf_key *key,
			struct wharf_error *err)
{
	struct wharf_buf out;
	wharf_buf_init(&out);
	int r = wharf_tuf_sign(signed_obj, &key, 1, &out, err);
	json_decref(signed_obj);
	if (r < 0) {
		wharf_buf_free(&out);
		return r;
	}
	size_t len = out.len;
	return state_put(s, role, wharf_buf_steal(&out), len, err);
}

static json_t *new_signed(const char *type, int64_t version, int64_t lifetime, json_t *meta)
{
	char expires[32];
	wharf_time_format_rfc3339(wharf_now() + lifetime, expires);
	return json_pack("{s:s, s:I, s:s, s:o}", "_type", type, "version", (json_int_t)version, "expires", expires,
			 "meta", meta);
}

static int validate_snapshot(struct state *s, struct role_file *snap, const struct wharf_tuf_meta *root,
			     struct wharf_error *err)
{
	int r = check_not_expired(snap, err);
	if (r == 0)
		r = wharf_tuf_verify_by_root(&snap->meta, "snapshot", root, err);
	json_t *meta = json_object_get(snap->meta.signed_obj, "meta");
	for (size_t i = 0; r == 0 && i < s->n; i++) {
		struct role_file *f = &s->files[i];
		if (strcmp(f->role, "root") != 0 && !is_targets_role(f->role))
			continue;
		json_t *fm = json_object_get(meta, f->role);
		if (!fm)
			r = wharf_error_set(err, WHARF_EINVAL, "snapshot does not list %s", f->role);
		else
			r = wharf_tuf_check_file_meta(fm, f->role, f->data, f->len, err);
	}
	return r < 0 ? wharf_error_prefix(err, "snapshot version %lld", (long long)snap->meta.version) : 0;
}

static int make_snapshot(struct state *s, const struct wharf_tuf_meta *root, struct wharf_error *err)
{
	struct wharf_key *key = NULL;
	int r = server_signing_key(s->t, s->gun, "snapshot", root, &key, err);
	if (r == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_EINVAL, "the publish must include snapshot: this server does not hold "
				       "the snapshot key of %s", s->gun);
	if (r < 0)
		return r;
	struct role_file *old = state_find(s, "snapshot");
	int64_t version = old ? old->meta.version + 1 : 1;
	return sign_and_put(s, "snapshot", new_signed("Snapshot", version, SNAPSHOT_LIFETIME, snapshot_meta_of(s)), key, err);
}

static int make_timestamp(struct state *s, const struct wharf_tuf_meta *root, struct wharf_error *err)
{
	struct role_file *snap = state_find(s, "snapshot");
	if (!snap)
		return wharf_error_set(err, WHARF_EINVAL, "%s has no snapshot to timestamp", s->gun);
	struct wharf_key *key = NULL;
	int r = server_signing_key(s->t, s->gun, "timestamp", root, &key, err);
	if (r < 0)
		return r;
	struct role_file *old = state_find(s, "timestamp");
	int64_t version = old ? old->meta.version + 1 : 1;
	json_t *meta = json_pack("{s:o}", "snapshot", wharf_tuf_file_meta(snap->data, snap->len));
	return sign_and_put(s, "timestamp", new_signed("Timestamp", version, TIMESTAMP_LIFETIME, meta), key, err);
}

static int store_new(struct state *s, const char *category, struct wharf_error *err)
{
	struct wharf_meta_tuf_file files[MAX_ROLES];
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct role_file *f = &s->files[i];
		if (!f->is_new)
			continue;
		struct wharf_digest d;
		wharf_digest_buffer(WHARF_SHA256, f->data, f->len, &d);
		files[n] = (struct wharf_meta_tuf_file){.role = f->role, .version = f->meta.version, .data = f->data, .len = f->len};
		snprintf(files[n].sha256, sizeof(files[n].sha256), "%s", wharf_digest_hex(&d));
		n++;
	}
	int r = wharf_meta_tuf_store(s->t->meta, s->gun, files, n, category, err);
	files_invalidate(s->t, s->gun);
	if (r == -WHARF_EEXIST)
		return wharf_error_set(err, WHARF_EBUSY, "another publish to %s came first; fetch and try again", s->gun);
	return r;
}

static int sort_roles(const void *a, const void *b)
{
	return strcmp(((const struct role_file *)a)->role, ((const struct role_file *)b)->role);
}

static int apply_uploads(struct state *s, const struct wharf_tuf_upload *files, size_t n, struct wharf_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *role = files[i].role;
		if (!wharf_tuf_valid_role(role))
			return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a role name", role);
		if (!strcmp(role, "timestamp"))
			return wharf_error_set(err, WHARF_EINVAL, "timestamp is signed by the server; do not upload it");
		int r = state_put(s, role, wharf_xstrndup(files[i].data, files[i].len), files[i].len, err);
		if (r < 0)
			return r;
	}
	qsort(s->files, s->n, sizeof(*s->files), sort_roles);
	return 0;
}

static int publish_locked(struct state *s, const struct wharf_tuf_upload *files, size_t n, struct wharf_error *err)
{
	int r = state_load(s, err);
	if (r < 0)
		return r;
	struct role_file *old_root_file = state_find(s, "root");
	struct wharf_tuf_meta old_root = {0};
	if (old_root_file) /* keep the stored root to check a rotation against */
		r = wharf_tuf_parse(&old_root, "root", old_root_file->data, old_root_file->len, err);
	if (r == 0)
		r = apply_uploads(s, files, n, err);
	struct role_file *root = r == 0 ? state_find(s, "root") : NULL;
	if (r == 0 && !root)
		r = wharf_error_set(err, WHARF_EINVAL, "the first publish of %s must include root", s->gun);
	if (r == 0 && root->is_new)
		r = validate_root(s, root, old_root.doc ? &old_root : NULL, err);
	if (r == 0)
		r = validate_all_targets(s, root, err);
	if (r == 0 && !state_find(s, "targets"))
		r = wharf_error_set(err, WHARF_EINVAL, "%s has no targets metadata", s->gun);
	struct role_file *snap = r == 0 ? state_find(s, "snapshot") : NULL;
	if (r == 0 && snap && snap->is_new)
		r = validate_snapshot(s, snap, &root->meta, err);
	else if (r == 0)
		r = make_snapshot(s, &root->meta, err);
	if (r == 0)
		r = make_timestamp(s, &root->meta, err);
	if (r == 0)
		r = store_new(s, "update", err);
	wharf_tuf_meta_free(&old_root);
	return r;
}

int trust_publish_locked(struct wharf_trust *t, const char *gun, const struct wharf_tuf_upload *files, size_t n,
			 struct wharf_error *err)
{
	struct state *s = wharf_xcalloc(1, sizeof(*s));
	s->t = t;
	s->gun = gun;
	int r = publish_locked(s, files, n, err);
	state_free(s);
	free(s);
	return r;
}

int wharf_trust_publish(struct wharf_trust *t, const char *gun, const struct wharf_tuf_upload *files,
			size_t n, struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	if (r < 0)
		return r;
	/* An empty publish asks the server to re-sign the snapshot it holds the key for (notary
	 * sends one after `key rotate snapshot -r`); make_snapshot refuses when it holds none. */
	struct state *s = wharf_xcalloc(1, sizeof(*s));
	s->t = t;
	s->gun = gun;
	pthread_mutex_t *lock = wharf_trust_gun_lock(t, gun);
	pthread_mutex_lock(lock);
	r = publish_locked(s, files, n, err);
	pthread_mutex_unlock(lock);
	state_free(s);
	free(s);
	return r;
}

/* A timestamp close to expiry is replaced by a fresh one over the same snapshot. */
static int refresh_timestamp(struct wharf_trust *t, const char *gun, struct wharf_error *err)
{
	struct state *s = wharf_xcalloc(1, sizeof(*s));
	s->t = t;
	s->gun = gun;
	pthread_mutex_t *lock = wharf_trust_gun_lock(t, gun);
	pthread_mutex_lock(lock);
	int r = state_load(s, err);
	struct role_file *ts = r == 0 ? state_find(s, "timestamp") : NULL;
	struct role_file *root = r == 0 ? state_find(s, "root") : NULL;
	if (ts && root && ts->meta.expires - wharf_now() < TIMESTAMP_RESIGN_BEFORE) {
		r = make_timestamp(s, &root->meta, err);
		if (r == 0)
			r = store_new(s, "update", err);
	}
	pthread_mutex_unlock(lock);
	state_free(s);
	free(s);
	return r;
}

static bool timestamp_fresh(int64_t expires)
{
	return expires - wharf_now() >= TIMESTAMP_RESIGN_BEFORE;
}

/* The newest file of role, from the cache or the database (then cached). */
static int newest(struct wharf_trust *t, const char *gun, const char *role, char **data, size_t *len,
		  int64_t *expires, struct wharf_error *err)
{
	uint64_t gen;
	if (files_get(t, gun, role, data, len, expires, &gen))
		return 0;
	int r = wharf_meta_tuf_get(t->meta, gun, role, 0, NULL, data, len, NULL, err);
	if (r < 0)
		return r;
	*expires = 0;
	if (!strcmp(role, "timestamp")) {
		struct wharf_tuf_meta ts;
		if (wharf_tuf_parse(&ts, "timestamp", *data, *len, NULL) == 0)
			*expires = ts.expires;
		wharf_tuf_meta_free(&ts);
	}
	files_put(t, gun, role, *data, *len, *expires, gen);
	return 0;
}

int wharf_trust_get(struct wharf_trust *t, const char *gun, const char *role, int64_t version,
		    const char *sha256hex, char **data, size_t *len, struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	if (r < 0)
		return r;
	if (!wharf_tuf_valid_role(role))
		return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a role name", role);
	if (version || sha256hex)
		return wharf_meta_tuf_get(t->meta, gun, role, version, sha256hex, data, len, NULL, err);
	int64_t expires;
	r = newest(t, gun, role, data, len, &expires, err);
	if (r < 0 || strcmp(role, "timestamp") != 0 || timestamp_fresh(expires))
		return r;
	/* A timestamp close to expiry is re-signed before it is served. */
	free(*data);
	*data = NULL;
	r = refresh_timestamp(t, gun, err);
	if (r < 0 && r != -WHARF_ENOTFOUND)
		return r;
	return newest(t, gun, role, data, len, &expires, err);
}

int wharf_trust_delete(struct wharf_trust *t, const char *gun, struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	if (r < 0)
		return r;
	pthread_mutex_t *lock = wharf_trust_gun_lock(t, gun);
	pthread_mutex_lock(lock);
	r = wharf_meta_tuf_delete(t->meta, gun, err);
	files_invalidate(t, gun);
	pthread_mutex_unlock(lock);
	return r;
}

int wharf_trust_changes(struct wharf_trust *t, const char *gun, int64_t after, int64_t n, struct wharf_buf *json,
			size_t *count, struct wharf_error *err)
{
	return wharf_meta_tuf_changes(t->meta, gun, after, n, json, count, err);
}

/* The signed entry of tag in role's newest metadata of gun, or NULL. */
static bool signed_as(struct wharf_trust *t, const char *gun, const char *role, const char *tag,
		      const char *sha256hex, uint64_t size, bool *listed)
{
	char *data = NULL;
	size_t len = 0;
	int64_t expires;
	if (newest(t, gun, role, &data, &len, &expires, NULL) < 0)
		return false;
	struct wharf_tuf_meta m;
	bool ok = false;
	if (wharf_tuf_parse(&m, role, data, len, NULL) == 0) {
		json_t *target = json_object_get(json_object_get(m.signed_obj, "targets"), tag);
		const char *b64 = json_string_value(json_object_get(json_object_get(target, "hashes"), "sha256"));
		json_t *length = json_object_get(target, "length");
		struct wharf_buf raw;
		wharf_buf_init(&raw);
		if (target)
			*listed = true;
		if (b64 && json_is_integer(length) && (uint64_t)json_integer_value(length) == size &&
		    wharf_base64_decode(b64, &raw, NULL) >= 0 && raw.len == 32) {
			char *hex = wharf_hex_encode(raw.data, raw.len);
			ok = !strcmp(hex, sha256hex);
			free(hex);
		}
		wharf_buf_free(&raw);
		wharf_tuf_meta_free(&m);
	}
	free(data);
	return ok;
}

int wharf_trust_check_signed(struct wharf_trust *t, const char *repo, const char *tag, const char *sha256hex,
			     uint64_t size, struct wharf_error *err)
{
	struct wharf_strv guns = {0};
	int r = wharf_meta_tuf_guns_of(t->meta, repo, &guns, err);
	bool listed = false, ok = false;
	for (size_t i = 0; r == 0 && !ok && i < guns.n; i++)
		ok = signed_as(t, guns.v[i], "targets/releases", tag, sha256hex, size, &listed) ||
		     signed_as(t, guns.v[i], "targets", tag, sha256hex, size, &listed);
	size_t nguns = guns.n;
	wharf_strv_free(&guns);
	if (r < 0 || ok)
		return r;
	if (!nguns)
		return wharf_error_set(err, WHARF_ENOTFOUND, "tag %s of %s is not signed: the repository has no trust data, "
				       "and its policy requires signed tags", tag, repo);
	if (listed)
		return wharf_error_set(err, WHARF_ENOTFOUND, "tag %s of %s is signed for other content than the manifest it points to now",
				       tag, repo);
	return wharf_error_set(err, WHARF_ENOTFOUND, "tag %s of %s is not signed, and the repository's policy requires signed tags",
			       tag, repo);
}

struct wharf_meta *wharf_trust_meta(struct wharf_trust *t)
{
	return t->meta;
}

void wharf_trust_set_audit(struct wharf_trust *t, wharf_trust_audit_fn fn, void *ctx)
{
	t->audit_fn = fn;
	t->audit_ctx = ctx;
}

bool trust_audit_enabled(const struct wharf_trust *t)
{
	return t->audit_fn != NULL;
}

void trust_audit(struct wharf_trust *t, struct wharf_http_request *req, const char *type, json_t *fields)
{
	if (t->audit_fn)
		t->audit_fn(t->audit_ctx, req, type, fields);
	else
		json_decref(fields);
}

void wharf_trust_set_store(struct wharf_trust *t, struct wharf_store *store)
{
	t->store = store;
}

int wharf_trust_spec_target(struct wharf_trust *t, const char *gun, const char *file, int *fd, uint64_t *size,
			    struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	if (r < 0)
		return r;
	/* Consistent target names are DIR/<hash>.BASENAME: the hash starts the last component. */
	const char *base = strrchr(file, '/');
	file = base ? base + 1 : file;
	if (strlen(file) < 66 || file[64] != '.' || strspn(file, "0123456789abcdef") != 64 || !t->store)
		return wharf_error_set(err, WHARF_ENOTFOUND, "target file '%.100s' is not <sha256 hex>.<name>", file);
	struct wharf_digest d;
	char text[8 + 64];
	snprintf(text, sizeof(text), "sha256:%.64s", file);
	if ((r = wharf_digest_parse(&d, text, err)) < 0)
		return r;
	/* Only what the repository holds: GUN "HOST[:PORT]/repo" names repository "repo". */
	const char *slash = strchr(gun, '/');
	const char *repo = slash && (memchr(gun, '.', (size_t)(slash - gun)) || memchr(gun, ':', (size_t)(slash - gun)))
				   ? slash + 1 : gun;
	if ((r = wharf_meta_blob_in_repo(t->meta, repo, d.str, NULL, err)) < 0)
		return r;
	return wharf_store_blob_open(t->store, &d, fd, size, err);
}
