/* Staged changes for roles that need k-of-n signatures: a signer proposes new metadata of root,
 * targets or a delegated role, signed by its key; wharfd keeps it pending, other signers add
 * signatures over the same signed bytes, and once every threshold the role answers to is met
 * the change is published exactly as an ordinary publish (snapshot and timestamp follow). */
#include <stdio.h>
#include <string.h>

#include "wharf/json.h"
#include "wharf/trust.h"
#include "internal.h"

#define PENDING_PER_GUN 64 /* changes waiting at once in one GUN */
#define PENDING_SIGNATURES 64

/* One set of keys a file must be signed by to a threshold. */
struct authority {
	const char *what; /* "root version 3", "targets/releases (delegated by targets version 2)" */
	const json_t *keys;
	const json_t *keyids;
	int64_t threshold;
	size_t have;
};

#define CHANGE_FILES_MAX 8

/* One file of a change: its metadata and what it answers to. */
struct change_file {
	char role[128];
	struct wharf_tuf_meta m;
	struct wharf_tuf_meta stored_parent; /* the delegator as stored, when the change has none */
	int64_t current; /* stored version of the role, 0 when none */
	char what[2][160];
	struct authority a[2];
	size_t n;
};

/* A change: one or more files published together (a new root with re-signed targets, say). */
struct change {
	struct wharf_tuf_meta root; /* stored root */
	struct change_file f[CHANGE_FILES_MAX];
	size_t n;
};

static void change_free(struct change *c)
{
	wharf_tuf_meta_free(&c->root);
	for (size_t i = 0; i < c->n; i++) {
		wharf_tuf_meta_free(&c->f[i].m);
		wharf_tuf_meta_free(&c->f[i].stored_parent);
	}
	c->n = 0;
}

static int load_stored(struct wharf_trust *t, const char *gun, const char *role, struct wharf_tuf_meta *m,
		       struct wharf_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = wharf_meta_tuf_get(wharf_trust_meta(t), gun, role, 0, NULL, &data, &len, NULL, err);
	if (r == 0)
		r = wharf_tuf_parse(m, role, data, len, err);
	free(data);
	return r;
}

static void add_authority(struct change_file *f, const json_t *keys, const json_t *role_entry)
{
	struct authority *a = &f->a[f->n];
	a->what = f->what[f->n];
	a->keys = keys;
	a->keyids = json_object_get(role_entry, "keyids");
	a->threshold = json_integer_value(json_object_get(role_entry, "threshold"));
	f->n++;
}

static json_t *find_delegation(const json_t *signed_obj, const char *role)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(signed_obj, "delegations"), "roles"), i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name && !strcmp(name, role))
			return d;
	}
	return NULL;
}

static struct change_file *change_find(struct change *c, const char *role)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->f[i].role, role))
			return &c->f[i];
	return NULL;
}

/* What file f answers to, the change's own new root or delegator first, else the stored ones:
 * root: the stored root's root role and the new root's; targets: root's targets role;
 * a delegation: its delegator's entry. */
static int load_authorities(struct wharf_trust *t, const char *gun, struct change *c, struct change_file *f,
			    struct wharf_error *err)
{
	const char *role = f->role;
	struct change_file *new_root = change_find(c, "root");
	const struct wharf_tuf_meta *root = new_root ? &new_root->m : &c->root;
	if (!strcmp(role, "root")) {
		snprintf(f->what[0], sizeof(f->what[0]), "root version %lld", (long long)c->root.version);
		add_authority(f, json_object_get(c->root.signed_obj, "keys"),
			      json_object_get(json_object_get(c->root.signed_obj, "roles"), "root"));
		snprintf(f->what[1], sizeof(f->what[1]), "root version %lld", (long long)f->m.version);
		add_authority(f, json_object_get(f->m.signed_obj, "keys"),
			      json_object_get(json_object_get(f->m.signed_obj, "roles"), "root"));
	} else if (!strcmp(role, "targets")) {
		snprintf(f->what[0], sizeof(f->what[0]), "targets (root version %lld)", (long long)root->version);
		add_authority(f, json_object_get(root->signed_obj, "keys"),
			      json_object_get(json_object_get(root->signed_obj, "roles"), "targets"));
	} else {
		char parent[256];
		wharf_trust_deleg_parent(role, parent, sizeof(parent));
		struct change_file *pf = change_find(c, parent);
		const struct wharf_tuf_meta *pm = pf ? &pf->m : &f->stored_parent;
		int r = pf ? 0 : load_stored(t, gun, parent, &f->stored_parent, err);
		if (r < 0 && r != -WHARF_ENOTFOUND)
			return r;
		json_t *d = r == 0 ? find_delegation(pm->signed_obj, role) : NULL;
		if (!d)
			return wharf_error_set(err, WHARF_EINVAL, "%s is not delegated by %s", role, parent);
		snprintf(f->what[0], sizeof(f->what[0]), "%s (delegated by %s version %lld)", role, parent,
			 (long long)pm->version);
		add_authority(f, json_object_get(json_object_get(pm->signed_obj, "delegations"), "keys"), d);
	}
	for (size_t i = 0; i < f->n; i++)
		if (!json_is_array(f->a[i].keyids) || f->a[i].threshold < 1)
			return wharf_error_set(err, WHARF_EINVAL, "%s: no keys or a threshold below 1", f->a[i].what);
	return 0;
}

/* A change must hold the next version of each role as stored now. */
static int check_based_on_current(const struct change_file *f, int64_t id, struct wharf_error *err)
{
	if (f->m.version == f->current + 1 || (f->current == 0 && f->m.version >= 1))
		return 0;
	char label[48] = "the change";
	if (id)
		snprintf(label, sizeof(label), "pending change %lld", (long long)id);
	return wharf_error_set(err, WHARF_EBUSY,
			       "%s is outdated: its %s version %lld is based on version %lld, but version %lld is "
			       "published now; propose it again from the current data",
			       label, f->role, (long long)f->m.version, (long long)f->m.version - 1, (long long)f->current);
}

/* Every signature must be valid, by a key of one of the authorities, and by a key that has not
 * signed already (under this or another key ID). */
static int check_signatures_strict(const struct change_file *f, struct wharf_error *err)
{
	json_t *sigs = json_object_get(f->m.doc, "signatures");
	if (json_array_size(sigs) > PENDING_SIGNATURES)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %d signatures", f->role, PENDING_SIGNATURES);
	char fprs[PENDING_SIGNATURES][65];
	size_t i;
	json_t *s;
	json_array_foreach(sigs, i, s) {
		const char *keyid = json_string_value(json_object_get(s, "keyid"));
		struct wharf_error e = {0};
		int ok = -1;
		for (size_t k = 0; k < f->n && ok < 0; k++)
			ok = wharf_tuf_check_signature(&f->m, s, f->role, f->a[k].keys, f->a[k].keyids, fprs[i], &e);
		if (ok < 0) {
			*err = e;
			return wharf_error_prefix(err, "signature %zu refused", i + 1);
		}
		for (size_t j = 0; j < i; j++) {
			const char *other = json_string_value(json_object_get(json_array_get(sigs, j), "keyid"));
			bool same_id = !strcmp(other, keyid);
			if (!strcmp(fprs[j], fprs[i]))
				return wharf_error_set(err, WHARF_EINVAL,
						       "%s: key %.16s already signed%s%.16s%s: one key counts once, a duplicate "
						       "signature is refused",
						       f->role, keyid, same_id ? "" : " (as key ID ", same_id ? "" : other,
						       same_id ? "" : ")");
		}
	}
	return 0;
}

/* Signers per authority; true when every threshold of every file is met. */
static bool count_signers(struct change *c)
{
	bool met = true;
	for (size_t i = 0; i < c->n; i++) {
		struct change_file *f = &c->f[i];
		for (size_t k = 0; k < f->n; k++) {
			wharf_tuf_count_signers(&f->m, f->role, f->a[k].keys, f->a[k].keyids, &f->a[k].have, NULL);
			met = met && (int64_t)f->a[k].have >= f->a[k].threshold;
		}
	}
	return met;
}

/* The stored form of a change: {"files":[{"role":R,"metadata":{...}},...]}. */
static char *encode_change(const struct change *c, size_t *len)
{
	json_t *files = json_array();
	for (size_t i = 0; i < c->n; i++)
		json_array_append_new(files, json_pack("{s:s, s:O}", "role", c->f[i].role, "metadata", c->f[i].m.doc));
	json_t *doc = json_pack("{s:o}", "files", files);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	*len = text ? strlen(text) : 0;
	return text;
}

/* Parse the files of a change (the stored form, or a single {"role","metadata"}) and what they
 * answer to. Roles are distinct root, targets or delegations. */
static int change_parse(struct wharf_trust *t, const char *gun, const json_t *doc, struct change *c,
			struct wharf_error *err)
{
	memset(c, 0, sizeof(*c));
	json_t *files = json_object_get(doc, "files");
	json_t *single = NULL;
	if (!files && json_object_get(doc, "role"))
		files = single = json_pack("[O]", doc);
	int r = 0;
	if (!json_is_array(files) || json_array_size(files) == 0 || json_array_size(files) > CHANGE_FILES_MAX)
		r = wharf_error_set(err, WHARF_EINVAL, "a change is {\"files\": [{\"role\": ROLE, \"metadata\": {\"signed\": ..., "
				    "\"signatures\": [...]}}, ...]} with 1 to %d files", CHANGE_FILES_MAX);
	if (r == 0 && (r = load_stored(t, gun, "root", &c->root, err)) == -WHARF_ENOTFOUND)
		r = wharf_error_set(err, WHARF_EINVAL, "%s has no trust data yet: initialise it with a publish first", gun);
	size_t i;
	json_t *e;
	json_array_foreach(files, i, e) {
		if (r < 0)
			break;
		const char *role = json_string_value(json_object_get(e, "role"));
		json_t *metadata = json_object_get(e, "metadata");
		if (!role || !json_is_object(metadata) || !wharf_tuf_valid_role(role) || strlen(role) >= 128) {
			r = wharf_error_set(err, WHARF_EINVAL, "file %zu of the change needs a role name and metadata", i + 1);
			break;
		}
		if (strcmp(role, "root") != 0 && strcmp(role, "targets") != 0 && !wharf_str_has_prefix(role, "targets/")) {
			r = wharf_error_set(err, WHARF_EINVAL, "only root, targets and delegated roles take staged changes, not %s",
					    role);
			break;
		}
		if (change_find(c, role)) {
			r = wharf_error_set(err, WHARF_EINVAL, "%s is twice in the change", role);
			break;
		}
		struct change_file *f = &c->f[c->n++];
		snprintf(f->role, sizeof(f->role), "%s", role);
		char *text = json_dumps(metadata, JSON_COMPACT | JSON_SORT_KEYS);
		r = text ? wharf_tuf_parse(&f->m, role, text, strlen(text), err)
			 : wharf_error_set(err, WHARF_EINVAL, "%s: the metadata cannot be encoded", role);
		free(text);
		struct wharf_tuf_meta cur = {0};
		int rc = r == 0 ? load_stored(t, gun, role, &cur, err) : 0;
		if (r == 0 && rc == 0)
			f->current = cur.version;
		else if (r == 0 && rc != -WHARF_ENOTFOUND)
			r = rc;
		wharf_tuf_meta_free(&cur);
	}
	for (size_t k = 0; r == 0 && k < c->n; k++)
		r = load_authorities(t, gun, c, &c->f[k], err);
	if (single)
		json_decref(single);
	return r;
}

static void change_json(struct wharf_buf *out, const char *gun, const struct wharf_meta_tuf_pending *p,
			const struct change *c)
{
	char created[32], updated[32];
	wharf_time_format_rfc3339(p->created, created);
	wharf_time_format_rfc3339(p->updated, updated);
	wharf_buf_printf(out, "{\"id\":%lld,\"gun\":", (long long)p->id);
	wharf_buf_json_string(out, gun);
	wharf_buf_puts(out, ",\"roles\":");
	wharf_buf_json_string(out, p->role);
	wharf_buf_puts(out, ",\"state\":");
	wharf_buf_json_string(out, p->state);
	wharf_buf_puts(out, ",\"proposer\":");
	wharf_buf_json_string(out, p->proposer);
	wharf_buf_printf(out, ",\"created\":\"%s\",\"updated\":\"%s\",\"files\":[", created, updated);
	for (size_t i = 0; i < c->n; i++) {
		const struct change_file *f = &c->f[i];
		wharf_buf_printf(out, "%s{\"role\":", i ? "," : "");
		wharf_buf_json_string(out, f->role);
		wharf_buf_printf(out, ",\"version\":%lld,\"base_version\":%lld,\"signed_by\":[", (long long)f->m.version,
				 (long long)f->m.version - 1);
		size_t k;
		json_t *s;
		json_array_foreach(json_object_get(f->m.doc, "signatures"), k, s) {
			const char *id = json_string_value(json_object_get(s, "keyid"));
			wharf_buf_puts(out, k ? "," : "");
			wharf_buf_json_string(out, id ? id : "");
		}
		wharf_buf_puts(out, "],\"thresholds\":[");
		for (size_t a = 0; a < f->n; a++) {
			wharf_buf_printf(out, "%s{\"keys\":", a ? "," : "");
			wharf_buf_json_string(out, f->a[a].what);
			wharf_buf_printf(out, ",\"threshold\":%lld,\"signed\":%zu}", (long long)f->a[a].threshold, f->a[a].have);
		}
		char *meta = json_dumps(f->m.doc, JSON_COMPACT | JSON_SORT_KEYS);
		wharf_buf_puts(out, "],\"metadata\":");
		wharf_buf_puts(out, meta ? meta : "null");
		free(meta);
		wharf_buf_puts(out, "}");
	}
	wharf_buf_puts(out, "]}");
}

/* Publish change p when every threshold is met; p->state says what happened. */
static int try_publish(struct wharf_trust *t, const char *gun, struct wharf_meta_tuf_pending *p, struct change *c,
		       struct wharf_error *err)
{
	free(p->data);
	p->data = encode_change(c, &p->len);
	if (!count_signers(c))
		return wharf_meta_tuf_pending_update(wharf_trust_meta(t), gun, p->id, p->data, p->len, "pending", err);
	struct wharf_tuf_upload up[CHANGE_FILES_MAX];
	char *bytes[CHANGE_FILES_MAX] = {0};
	for (size_t i = 0; i < c->n; i++) {
		bytes[i] = json_dumps(c->f[i].m.doc, JSON_COMPACT | JSON_SORT_KEYS);
		snprintf(up[i].role, sizeof(up[i].role), "%s", c->f[i].role);
		up[i].data = bytes[i] ? bytes[i] : "";
		up[i].len = bytes[i] ? strlen(bytes[i]) : 0;
	}
	int r = trust_publish_locked(t, gun, up, c->n, err);
	for (size_t i = 0; i < c->n; i++)
		free(bytes[i]);
	if (r < 0) {
		/* Kept with its signatures: what failed (an expired time, a path) is in the server's message. */
		wharf_meta_tuf_pending_update(wharf_trust_meta(t), gun, p->id, p->data, p->len, "pending", NULL);
		return wharf_error_prefix(err, "pending change %lld has its signatures, but publishing it failed",
					  (long long)p->id);
	}
	free(p->state);
	p->state = wharf_xstrdup("published");
	return wharf_meta_tuf_pending_update(wharf_trust_meta(t), gun, p->id, p->data, p->len, "published", err);
}

static int check_change(struct change *c, int64_t id, struct wharf_error *err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n; i++)
		r = check_based_on_current(&c->f[i], id, err);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		if (strcmp(c->f[i].role, "root") != 0)
			r = wharf_tuf_check_targets(&c->f[i].m, c->f[i].role, NULL, err);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		r = check_signatures_strict(&c->f[i], err);
	return r;
}

static int count_pending(struct wharf_trust *t, const char *gun, size_t *n, struct wharf_error *err)
{
	struct wharf_meta_tuf_pending *all = NULL;
	int r = wharf_meta_tuf_pending_list(wharf_trust_meta(t), gun, 0, "pending", &all, n, err);
	for (size_t i = 0; r == 0 && i < *n; i++)
		wharf_meta_tuf_pending_clear(&all[i]);
	free(all);
	return r;
}

static char *roles_joined(const struct change *c)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (size_t i = 0; i < c->n; i++)
		wharf_buf_printf(&b, "%s%s", i ? "," : "", c->f[i].role);
	return wharf_buf_steal(&b);
}

static int propose_locked(struct wharf_trust *t, const char *gun, const json_t *doc, struct wharf_buf *out,
			  struct wharf_error *err)
{
	struct change *c = wharf_xcalloc(1, sizeof(*c));
	struct wharf_meta_tuf_pending p = {.state = wharf_xstrdup("pending")};
	size_t waiting = 0;
	int r = change_parse(t, gun, doc, c, err);
	if (r == 0)
		r = check_change(c, 0, err);
	const char *proposer = NULL;
	for (size_t i = 0; r == 0 && i < c->n && !proposer; i++)
		proposer = json_string_value(json_object_get(json_array_get(json_object_get(c->f[i].m.doc, "signatures"), 0), "keyid"));
	if (r == 0 && !proposer)
		r = wharf_error_set(err, WHARF_EINVAL, "a staged change needs at least the proposer's signature");
	struct change_file *root = r == 0 ? change_find(c, "root") : NULL;
	if (root) {
		/* Only a holder of a current root key may propose a new root; a new root's own keys
		 * (a stolen old key listed again, say) cannot start one. */
		count_signers(c);
		if (root->a[0].have == 0)
			r = wharf_error_set(err, WHARF_EINVAL, "a root change must be signed by a key of the current %s; "
					    "it has no such signature", root->a[0].what);
	}
	struct change_file *nr = r == 0 ? change_find(c, "root") : NULL;
	if (r == 0 && !trust_holds_key(t, gun, "snapshot", nr ? &nr->m : &c->root))
		r = wharf_error_set(err, WHARF_EINVAL, "a staged change is published with a snapshot this server makes, but the "
				    "root of %s lists a snapshot key it does not hold (the owner runs 'wharf trust rotate %s "
				    "snapshot --server-managed')", gun, gun);
	if (r == 0)
		r = count_pending(t, gun, &waiting, err);
	if (r == 0 && waiting >= PENDING_PER_GUN)
		r = wharf_error_set(err, WHARF_ETOOBIG, "%s has %d pending changes already; approve or let them go first",
				    gun, PENDING_PER_GUN);
	if (r == 0) {
		p.role = roles_joined(c);
		p.version = c->f[0].m.version;
		p.proposer = wharf_xstrdup(proposer);
		p.data = encode_change(c, &p.len);
		p.created = p.updated = wharf_now();
		r = wharf_meta_tuf_pending_add(wharf_trust_meta(t), gun, &p, &p.id, err);
	}
	if (r == 0)
		r = try_publish(t, gun, &p, c, err);
	if (r == 0)
		change_json(out, gun, &p, c);
	change_free(c);
	free(c);
	wharf_meta_tuf_pending_clear(&p);
	return r;
}

int wharf_trust_pending_propose(struct wharf_trust *t, const char *gun, const char *body, size_t len,
				struct wharf_buf *out, struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	json_t *doc = NULL;
	if (r == 0 && (r = wharf_json_parse(&doc, body, len, WHARF_TUF_FILE_MAX, err)) < 0)
		wharf_error_prefix(err, "pending change");
	if (r == 0 && !json_is_object(doc))
		r = wharf_error_set(err, WHARF_EINVAL, "a pending change is a JSON object");
	if (r == 0) {
		pthread_mutex_t *lock = wharf_trust_gun_lock(t, gun);
		pthread_mutex_lock(lock);
		r = propose_locked(t, gun, doc, out, err);
		pthread_mutex_unlock(lock);
	}
	if (doc)
		json_decref(doc);
	return r;
}

/* Add signatures ({role: [sig, ...]}) to the files of change p, then keep or publish it. */
static int add_signatures(struct change *c, const json_t *sigs, struct wharf_error *err)
{
	const char *role;
	json_t *list;
	json_object_foreach((json_t *)sigs, role, list) {
		struct change_file *f = change_find(c, role);
		if (!f)
			return wharf_error_set(err, WHARF_EINVAL, "the change has no %.100s file to sign", role);
		if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > PENDING_SIGNATURES)
			return wharf_error_set(err, WHARF_EINVAL, "%s: signatures must be a list of 1 to %d", role,
					       PENDING_SIGNATURES);
		json_array_extend(json_object_get(f->m.doc, "signatures"), list);
	}
	return 0;
}

static int sign_locked(struct wharf_trust *t, const char *gun, struct wharf_meta_tuf_pending *p, const json_t *sigs,
		       struct wharf_buf *out, struct wharf_error *err)
{
	if (strcmp(p->state, "pending") != 0)
		return wharf_error_set(err, p->state[0] == 'o' ? WHARF_EBUSY : WHARF_EEXIST,
				       "pending change %lld of %s is %s already", (long long)p->id, gun, p->state);
	struct change *c = wharf_xcalloc(1, sizeof(*c));
	json_t *doc = NULL;
	int r = wharf_json_parse(&doc, p->data, p->len, WHARF_TUF_FILE_MAX, err);
	if (r == 0)
		r = change_parse(t, gun, doc, c, err);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		if ((r = check_based_on_current(&c->f[i], p->id, err)) < 0)
			wharf_meta_tuf_pending_update(wharf_trust_meta(t), gun, p->id, p->data, p->len, "outdated", NULL);
	if (r == 0)
		r = add_signatures(c, sigs, err);
	if (r == 0)
		r = check_change(c, p->id, err);
	if (r == 0)
		r = try_publish(t, gun, p, c, err);
	if (r == 0)
		change_json(out, gun, p, c);
	if (doc)
		json_decref(doc);
	change_free(c);
	free(c);
	return r;
}

int wharf_trust_pending_sign(struct wharf_trust *t, const char *gun, int64_t id, const char *body, size_t len,
			     struct wharf_buf *out, struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	json_t *doc = NULL;
	if (r == 0 && (r = wharf_json_parse(&doc, body, len, 1 << 20, err)) < 0)
		wharf_error_prefix(err, "signatures of pending change %lld", (long long)id);
	json_t *sigs = json_object_get(doc, "signatures");
	if (r == 0 && (!json_is_object(sigs) || json_object_size(sigs) == 0))
		r = wharf_error_set(err, WHARF_EINVAL, "signatures must be {\"signatures\": {ROLE: [{\"keyid\", \"method\", "
				    "\"sig\"}, ...]}}");
	if (r == 0) {
		pthread_mutex_t *lock = wharf_trust_gun_lock(t, gun);
		pthread_mutex_lock(lock);
		struct wharf_meta_tuf_pending *p = NULL;
		size_t n = 0;
		r = wharf_meta_tuf_pending_list(wharf_trust_meta(t), gun, id, NULL, &p, &n, err);
		if (r == 0)
			r = sign_locked(t, gun, p, sigs, out, err);
		pthread_mutex_unlock(lock);
		for (size_t i = 0; i < n; i++)
			wharf_meta_tuf_pending_clear(&p[i]);
		free(p);
	}
	if (doc)
		json_decref(doc);
	return r;
}

int wharf_trust_pending_get(struct wharf_trust *t, const char *gun, int64_t id, struct wharf_buf *out,
			    struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	struct wharf_meta_tuf_pending *p = NULL;
	size_t n = 0, shown = 0;
	if (r == 0)
		r = wharf_meta_tuf_pending_list(wharf_trust_meta(t), gun, id, id ? NULL : "pending", &p, &n, err);
	if (r == 0 && !id)
		wharf_buf_puts(out, "{\"pending\":[");
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct change *c = wharf_xcalloc(1, sizeof(*c));
		json_t *doc = NULL;
		struct wharf_error e;
		/* A change whose base is gone still shows, with the counts it can have. */
		if (wharf_json_parse(&doc, p[i].data, p[i].len, WHARF_TUF_FILE_MAX, &e) == 0 &&
		    change_parse(t, gun, doc, c, &e) == 0) {
			bool current = true;
			for (size_t k = 0; k < c->n; k++)
				current = current && check_based_on_current(&c->f[k], p[i].id, &e) == 0;
			if (!current && !strcmp(p[i].state, "pending")) {
				/* Overtaken by another publish: no longer waiting for anything. */
				free(p[i].state);
				p[i].state = wharf_xstrdup("outdated");
			}
			count_signers(c);
			if (id || current) {
				wharf_buf_puts(out, shown++ ? "," : "");
				change_json(out, gun, &p[i], c);
			}
		}
		if (doc)
			json_decref(doc);
		change_free(c);
		free(c);
	}
	if (r == 0 && !id)
		wharf_buf_puts(out, "]}");
	if (r == 0 && id && !shown)
		r = wharf_error_set(err, WHARF_EINVAL, "pending change %lld of %s can no longer be read against the "
				    "stored trust data", (long long)id, gun);
	for (size_t i = 0; i < n; i++)
		wharf_meta_tuf_pending_clear(&p[i]);
	free(p);
	return r;
}
