/* A generic TUF client for specification-format repositories: the section 5 workflow
 * (root chain, timestamp, snapshot, targets, delegations) and verified target downloads. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "wharf/trust.h"
#include "wharf/tufspec.h"

struct pending {
	char *file; /* name inside metadata_dir */
	char *data; /* NULL: remove the file */
	size_t len;
};

struct delegated {
	char *name;
	struct wharf_tufspec_meta m;
};

struct wharf_tufspec_client {
	struct wharf_tufspec_opts o;
	char *metadata_url; /* without trailing slashes */
	char *target_url;
	int64_t now;
	bool consistent;
	struct wharf_tufspec_meta root, timestamp, snapshot, targets;
	struct delegated *dele;
	size_t ndele;
	struct pending *pend;
	size_t npend;
};

static char *trim_url(const char *u)
{
	size_t n = u ? strlen(u) : 0;
	while (n > 0 && u[n - 1] == '/')
		n--;
	return u ? wharf_xstrndup(u, n) : NULL;
}

/* Bytes outside [A-Za-z0-9._~-] (and ':', '@', '/' in URLs, keep_slash) as %XX: URL paths and
 * file names (a leading '.' too, so no name is "." or ".."). */
static char *quote(const char *s, bool keep_slash)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_~", *p) || (*p == '.' && p != (const unsigned char *)s) || (keep_slash && strchr("/:@", *p)))
			wharf_buf_append(&b, p, 1);
		else
			wharf_buf_printf(&b, "%%%02X", *p);
	}
	wharf_buf_append(&b, "", 0);
	return wharf_buf_steal(&b);
}

static int fetch(struct wharf_tufspec_client *c, const char *base, const char *name, size_t limit,
		 struct wharf_buf *out, struct wharf_error *err)
{
	_cleanup_free_ char *url = wharf_xasprintf("%s/%s", base, name);
	wharf_tufspec_fetch_fn f = c->o.fetch ? c->o.fetch : wharf_tufspec_http_get;
	return f(c->o.fetch_ctx, url, limit, out, err);
}

static void add_pending(struct wharf_tufspec_client *c, const char *file, const char *data, size_t len)
{
	for (size_t i = 0; i < c->npend; i++)
		if (!strcmp(c->pend[i].file, file)) {
			free(c->pend[i].data);
			c->pend[i].data = data ? wharf_xstrndup(data, len) : NULL;
			c->pend[i].len = len;
			return;
		}
	c->pend = wharf_xrealloc(c->pend, (c->npend + 1) * sizeof(*c->pend));
	c->pend[c->npend++] = (struct pending){wharf_xstrdup(file), data ? wharf_xstrndup(data, len) : NULL, len};
}

static int commit(struct wharf_tufspec_client *c, struct wharf_error *err)
{
	for (size_t i = 0; i < c->npend; i++) {
		_cleanup_free_ char *path = wharf_xasprintf("%s/%s", c->o.metadata_dir, c->pend[i].file);
		if (c->pend[i].data) {
			int r = wharf_atomic_write(path, c->pend[i].data, c->pend[i].len, 0644, err);
			if (r < 0)
				return r;
		} else if (unlink(path) < 0 && errno != ENOENT) {
			return wharf_error_sys(err, "cannot remove %s", path);
		}
		free(c->pend[i].file);
		free(c->pend[i].data);
	}
	c->npend = 0;
	return 0;
}

static int check_expiry(const struct wharf_tufspec_client *c, const struct wharf_tufspec_meta *m, const char *role,
			struct wharf_error *err)
{
	if (m->expires > c->now)
		return 0;
	char when[32];
	wharf_time_format_rfc3339(m->expires, when);
	return wharf_error_set(err, WHARF_EINVAL, "%s: version %lld expired at %s (freeze attack or stale repository)", role,
			       (long long)m->version, when);
}

/* The trusted copy of a file in metadata_dir, verified; *m zeroed when absent or unverifiable. */
static void load_local(struct wharf_tufspec_client *c, const char *type, const char *file, size_t limit,
		       struct wharf_tufspec_meta *m)
{
	memset(m, 0, sizeof(*m));
	_cleanup_free_ char *path = wharf_xasprintf("%s/%s", c->o.metadata_dir, file);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct wharf_error e;
	if (wharf_read_file(path, limit, &data, &len, &e) < 0 || wharf_tufspec_parse(m, type, type, data, len, limit, &e) < 0)
		return;
	if (wharf_tufspec_verify_by_root(m, type, &c->root, &e) < 0)
		wharf_tufspec_meta_free(m);
}

/* Sorted key IDs and threshold of a top-level role, to see whether a rotation changed it. */
static char *role_signature(const struct wharf_tufspec_meta *root, const char *role)
{
	json_t *r = json_object_get(json_object_get(root->signed_obj, "roles"), role);
	char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	return s ? s : wharf_xstrdup("");
}

static int update_root(struct wharf_tufspec_client *c, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/root.json", c->o.metadata_dir);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, WHARF_TUFSPEC_ROOT_MAX, &data, &len, err);
	if (r == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_ENOTFOUND, "no trusted root in %s: run 'wharf tuf init' first", c->o.metadata_dir);
	if (r < 0 || (r = wharf_tufspec_parse(&c->root, "root", "trusted root", data, len, WHARF_TUFSPEC_ROOT_MAX, err)) < 0 ||
	    (r = wharf_tufspec_verify_by_root(&c->root, "root", &c->root, err)) < 0)
		return r;
	_cleanup_free_ char *ts_keys = role_signature(&c->root, "timestamp");
	_cleanup_free_ char *sn_keys = role_signature(&c->root, "snapshot");
	for (int i = 0; i < WHARF_TUFSPEC_ROOT_CHAIN_MAX; i++) {
		int64_t v = c->root.version + 1;
		char name[48], role[48];
		snprintf(name, sizeof(name), "%lld.root.json", (long long)v);
		snprintf(role, sizeof(role), "root version %lld", (long long)v);
		struct wharf_buf b;
		wharf_buf_init(&b);
		r = fetch(c, c->metadata_url, name, WHARF_TUFSPEC_ROOT_MAX, &b, err);
		if (r == -WHARF_ENOTFOUND) {
			wharf_buf_free(&b);
			break;
		}
		struct wharf_tufspec_meta m = {0};
		if (r < 0 || (r = wharf_tufspec_parse(&m, "root", role, b.data, b.len, WHARF_TUFSPEC_ROOT_MAX, err)) < 0) {
			wharf_buf_free(&b);
			return r < 0 ? wharf_error_prefix(err, "root") : r;
		}
		if ((r = wharf_tufspec_verify_by_root(&m, "root", &c->root, err)) < 0)
			wharf_error_prefix(err, "%s is not signed by the trusted root version %lld", role,
					   (long long)c->root.version);
		else if ((r = wharf_tufspec_verify_by_root(&m, "root", &m, err)) < 0)
			wharf_error_prefix(err, "%s is not signed by its own root keys", role);
		else if (m.version != v)
			r = wharf_error_set(err, WHARF_EINVAL, "root: %s holds version %lld (rollback or mix-up)", name,
					    (long long)m.version);
		if (r < 0) {
			wharf_buf_free(&b);
			wharf_tufspec_meta_free(&m);
			return r;
		}
		add_pending(c, "root.json", b.data, b.len);
		wharf_buf_free(&b);
		wharf_tufspec_meta_free(&c->root);
		c->root = m;
	}
	if ((r = check_expiry(c, &c->root, "root", err)) < 0)
		return r;
	c->consistent = json_is_true(json_object_get(c->root.signed_obj, "consistent_snapshot"));
	/* Spec 5.3.11: new timestamp or snapshot keys make the old trusted copies worthless (and a
	 * fast-forward attack with the old keys would otherwise block every update). */
	_cleanup_free_ char *ts2 = role_signature(&c->root, "timestamp");
	_cleanup_free_ char *sn2 = role_signature(&c->root, "snapshot");
	if (strcmp(ts_keys, ts2) || strcmp(sn_keys, sn2)) {
		add_pending(c, "timestamp.json", NULL, 0);
		add_pending(c, "snapshot.json", NULL, 0);
	}
	return 0;
}

static bool dropped(const struct wharf_tufspec_client *c, const char *file)
{
	for (size_t i = 0; i < c->npend; i++)
		if (!strcmp(c->pend[i].file, file) && !c->pend[i].data)
			return true;
	return false;
}

static int64_t meta_version(const struct wharf_tufspec_meta *m, const char *file)
{
	return json_integer_value(json_object_get(json_object_get(json_object_get(m->signed_obj, "meta"), file), "version"));
}

static int update_timestamp(struct wharf_tufspec_client *c, struct wharf_error *err)
{
	struct wharf_tufspec_meta old = {0};
	if (!dropped(c, "timestamp.json"))
		load_local(c, "timestamp", "timestamp.json", WHARF_TUFSPEC_TIMESTAMP_MAX, &old);
	struct wharf_buf b;
	wharf_buf_init(&b);
	struct wharf_tufspec_meta m = {0};
	int r = fetch(c, c->metadata_url, "timestamp.json", WHARF_TUFSPEC_TIMESTAMP_MAX, &b, err);
	if (r < 0)
		wharf_error_prefix(err, "timestamp");
	else if ((r = wharf_tufspec_parse(&m, "timestamp", "timestamp", b.data, b.len, WHARF_TUFSPEC_TIMESTAMP_MAX, err)) < 0)
		;
	else if ((r = wharf_tufspec_verify_by_root(&m, "timestamp", &c->root, err)) < 0)
		;
	else if (old.doc && m.version < old.version)
		r = wharf_error_set(err, WHARF_EINVAL, "timestamp: version %lld is lower than the trusted version %lld (rollback attack)",
				    (long long)m.version, (long long)old.version);
	else if (old.doc && meta_version(&m, "snapshot.json") < meta_version(&old, "snapshot.json"))
		r = wharf_error_set(err, WHARF_EINVAL,
				    "timestamp: snapshot version %lld is lower than the trusted %lld (rollback attack)",
				    (long long)meta_version(&m, "snapshot.json"), (long long)meta_version(&old, "snapshot.json"));
	if (r == 0 && old.doc && m.version == old.version) { /* nothing new: keep the trusted copy */
		wharf_tufspec_meta_free(&m);
		m = old;
		memset(&old, 0, sizeof(old));
	} else if (r == 0) {
		add_pending(c, "timestamp.json", b.data, b.len);
	}
	wharf_buf_free(&b);
	wharf_tufspec_meta_free(&old);
	if (r == 0)
		r = check_expiry(c, &m, "timestamp", err);
	if (r < 0) {
		wharf_tufspec_meta_free(&m);
		return r;
	}
	c->timestamp = m;
	return 0;
}

/* Fetch, check against file meta fm (length, hashes, version), parse and verify one file. */
static int fetch_role(struct wharf_tufspec_client *c, const char *type, const char *role, const json_t *fm,
		      size_t max, const json_t *keys, const json_t *entry, struct wharf_tufspec_meta *out,
		      struct wharf_buf *b, struct wharf_error *err)
{
	int64_t v = json_integer_value(json_object_get(fm, "version"));
	json_t *l = json_object_get(fm, "length");
	size_t limit = json_is_integer(l) && (uint64_t)json_integer_value(l) < max ? (size_t)json_integer_value(l) : max;
	_cleanup_free_ char *q = quote(role, false);
	_cleanup_free_ char *name = c->consistent ? wharf_xasprintf("%lld.%s.json", (long long)v, q)
						  : wharf_xasprintf("%s.json", q);
	int r = fetch(c, c->metadata_url, name, limit, b, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s", role);
	if ((r = wharf_tufspec_check_file(fm, role, b->data, b->len, err)) < 0 ||
	    (r = wharf_tufspec_parse(out, type, role, b->data, b->len, max, err)) < 0)
		return r;
	if (keys)
		r = wharf_tufspec_verify(out, role, keys, json_object_get(entry, "keyids"),
					 json_integer_value(json_object_get(entry, "threshold")), err);
	else
		r = wharf_tufspec_verify_by_root(out, role, &c->root, err);
	if (r == 0 && out->version != v)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: version %lld, but %s names version %lld (rollback or mix-and-match)",
				    role, (long long)out->version, keys || strcmp(role, "snapshot") ? "snapshot" : "timestamp",
				    (long long)v);
	if (r == 0)
		r = check_expiry(c, out, role, err);
	if (r < 0)
		wharf_tufspec_meta_free(out);
	return r;
}

static int update_snapshot(struct wharf_tufspec_client *c, struct wharf_error *err)
{
	const json_t *fm = json_object_get(json_object_get(c->timestamp.signed_obj, "meta"), "snapshot.json");
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = fetch_role(c, "snapshot", "snapshot", fm, WHARF_TUFSPEC_SNAPSHOT_MAX, NULL, NULL, &c->snapshot, &b, err);
	struct wharf_tufspec_meta old = {0};
	if (r == 0 && !dropped(c, "snapshot.json"))
		load_local(c, "snapshot", "snapshot.json", WHARF_TUFSPEC_SNAPSHOT_MAX, &old);
	if (r == 0 && old.doc) { /* no role may go back, none may vanish */
		const char *file;
		json_t *ofm;
		json_object_foreach(json_object_get(old.signed_obj, "meta"), file, ofm) {
			json_t *nfm = json_object_get(json_object_get(c->snapshot.signed_obj, "meta"), file);
			int64_t ov = json_integer_value(json_object_get(ofm, "version"));
			if (!nfm) {
				r = wharf_error_set(err, WHARF_EINVAL, "snapshot: %.200s, in the trusted snapshot, is missing (rollback attack)", file);
				break;
			}
			if (json_integer_value(json_object_get(nfm, "version")) < ov) {
				r = wharf_error_set(err, WHARF_EINVAL, "snapshot: %.200s version %lld is lower than the trusted %lld (rollback attack)",
						    file, (long long)json_integer_value(json_object_get(nfm, "version")), (long long)ov);
				break;
			}
		}
	}
	wharf_tufspec_meta_free(&old);
	if (r == 0)
		add_pending(c, "snapshot.json", b.data, b.len);
	else
		wharf_tufspec_meta_free(&c->snapshot);
	wharf_buf_free(&b);
	return r;
}

static int update_targets(struct wharf_tufspec_client *c, struct wharf_error *err)
{
	const json_t *fm = json_object_get(json_object_get(c->snapshot.signed_obj, "meta"), "targets.json");
	if (!fm)
		return wharf_error_set(err, WHARF_EINVAL, "snapshot: no meta for targets.json");
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = fetch_role(c, "targets", "targets", fm, WHARF_TUFSPEC_TARGETS_MAX, NULL, NULL, &c->targets, &b, err);
	if (r == 0)
		add_pending(c, "targets.json", b.data, b.len);
	wharf_buf_free(&b);
	return r;
}

int wharf_tufspec_init(const char *metadata_dir, const char *data, size_t len, struct wharf_error *err)
{
	struct wharf_tufspec_meta m;
	int r = wharf_tufspec_parse(&m, "root", "root", data, len, WHARF_TUFSPEC_ROOT_MAX, err);
	if (r < 0)
		return r;
	r = wharf_tufspec_verify_by_root(&m, "root", &m, err);
	wharf_tufspec_meta_free(&m);
	if (r < 0)
		return r;
	if ((r = wharf_mkdir_p(metadata_dir, 0755, err)) < 0)
		return r;
	_cleanup_free_ char *path = wharf_xasprintf("%s/root.json", metadata_dir);
	return wharf_atomic_write(path, data, len, 0644, err);
}

void wharf_tufspec_client_free(struct wharf_tufspec_client *c)
{
	if (!c)
		return;
	wharf_tufspec_meta_free(&c->root);
	wharf_tufspec_meta_free(&c->timestamp);
	wharf_tufspec_meta_free(&c->snapshot);
	wharf_tufspec_meta_free(&c->targets);
	for (size_t i = 0; i < c->ndele; i++) {
		free(c->dele[i].name);
		wharf_tufspec_meta_free(&c->dele[i].m);
	}
	free(c->dele);
	for (size_t i = 0; i < c->npend; i++) {
		free(c->pend[i].file);
		free(c->pend[i].data);
	}
	free(c->pend);
	free(c->metadata_url);
	free(c->target_url);
	free(c);
}

int wharf_tufspec_refresh(struct wharf_tufspec_client **out, const struct wharf_tufspec_opts *opts,
			  struct wharf_error *err)
{
	struct wharf_tufspec_client *c = wharf_xcalloc(1, sizeof(*c));
	c->o = *opts;
	c->metadata_url = trim_url(opts->metadata_url);
	c->target_url = trim_url(opts->target_base_url);
	c->now = opts->now ? opts->now : wharf_now();
	int r = 0;
	if (!c->metadata_url)
		r = wharf_error_set(err, WHARF_EINVAL, "no metadata URL");
	if (r == 0)
		r = update_root(c, err);
	if (r == 0)
		r = update_timestamp(c, err);
	if (r == 0)
		r = update_snapshot(c, err);
	if (r == 0)
		r = update_targets(c, err);
	if (r == 0)
		r = commit(c, err);
	if (r < 0) {
		wharf_tufspec_client_free(c);
		return r;
	}
	*out = c;
	return 0;
}

/* ---- delegations ---- */

static const struct wharf_tufspec_meta *find_loaded(const struct wharf_tufspec_client *c, const char *name)
{
	if (!strcmp(name, "targets"))
		return &c->targets;
	for (size_t i = 0; i < c->ndele; i++)
		if (!strcmp(c->dele[i].name, name))
			return &c->dele[i].m;
	return NULL;
}

static int load_delegated(struct wharf_tufspec_client *c, const char *name, const json_t *keys, const json_t *entry,
			  const struct wharf_tufspec_meta **out, struct wharf_error *err)
{
	if ((*out = find_loaded(c, name)))
		return 0;
	_cleanup_free_ char *file = wharf_xasprintf("%s.json", name);
	const json_t *fm = json_object_get(json_object_get(c->snapshot.signed_obj, "meta"), file);
	if (!fm)
		return wharf_error_set(err, WHARF_EINVAL, "snapshot: no meta for the delegated role %.200s", name);
	struct wharf_buf b;
	wharf_buf_init(&b);
	struct wharf_tufspec_meta m = {0};
	int r = fetch_role(c, "targets", name, fm, WHARF_TUFSPEC_TARGETS_MAX, keys, entry, &m, &b, err);
	if (r == 0) {
		_cleanup_free_ char *q = quote(name, false);
		_cleanup_free_ char *local = wharf_xasprintf("%s.json", q);
		add_pending(c, local, b.data, b.len);
		c->dele = wharf_xrealloc(c->dele, (c->ndele + 1) * sizeof(*c->dele));
		c->dele[c->ndele] = (struct delegated){wharf_xstrdup(name), m};
		*out = &c->dele[c->ndele++].m;
		r = commit(c, err);
	}
	wharf_buf_free(&b);
	return r;
}

static void sha256_of(const char *s, unsigned char d[32])
{
	unsigned dl = 0;
	EVP_Digest(s, strlen(s), d, &dl, EVP_sha256(), NULL);
}

static bool role_matches(const json_t *role, const char *target)
{
	json_t *paths = json_object_get(role, "paths");
	json_t *prefixes = json_object_get(role, "path_hash_prefixes");
	size_t i;
	json_t *p;
	json_array_foreach(paths, i, p)
		if (json_is_string(p) && wharf_tufspec_path_match(json_string_value(p), target))
			return true;
	if (json_array_size(prefixes) == 0)
		return false;
	unsigned char d[32];
	sha256_of(target, d);
	_cleanup_free_ char *hex = wharf_hex_encode(d, 32);
	json_array_foreach(prefixes, i, p)
		if (json_is_string(p) && wharf_str_has_prefix(hex, json_string_value(p)))
			return true;
	return false;
}

/* The bin of a succinct hash delegation: the first bit_length bits of sha256(target). */
static char *succinct_bin(const json_t *succ, const char *target)
{
	int bits = (int)json_integer_value(json_object_get(succ, "bit_length"));
	unsigned char d[32];
	sha256_of(target, d);
	uint32_t first = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	uint64_t bin = first >> (32 - bits);
	char tmp[16];
	int width = snprintf(tmp, sizeof(tmp), "%llx", (unsigned long long)((1ull << bits) - 1));
	return wharf_xasprintf("%s-%0*llx", json_string_value(json_object_get(succ, "name_prefix")), width,
			       (unsigned long long)bin);
}

struct visit {
	char *name;
	char *parent;
	const json_t *entry;
};

int wharf_tufspec_target_info(struct wharf_tufspec_client *c, const char *name, const json_t **info,
			      const char **role_out, struct wharf_error *err)
{
	struct visit stack[WHARF_TUFSPEC_DELEGATIONS_MAX + 64];
	size_t sp = 0, visited = 0;
	stack[sp++] = (struct visit){wharf_xstrdup("targets"), NULL, NULL};
	int r = -WHARF_ENOTFOUND;
	while (sp > 0 && visited <= WHARF_TUFSPEC_DELEGATIONS_MAX) {
		struct visit v = stack[--sp];
		const struct wharf_tufspec_meta *m = NULL;
		if (!v.parent) {
			m = &c->targets;
		} else {
			const struct wharf_tufspec_meta *pm = find_loaded(c, v.parent);
			json_t *keys = json_object_get(json_object_get(pm->signed_obj, "delegations"), "keys");
			r = load_delegated(c, v.name, keys, v.entry, &m, err);
		}
		visited++;
		if (v.parent && r < 0) {
			free(v.name);
			free(v.parent);
			break;
		}
		r = -WHARF_ENOTFOUND;
		json_t *t = json_object_get(json_object_get(m->signed_obj, "targets"), name);
		if (t) {
			*info = t;
			if (role_out) {
				*role_out = "targets";
				for (size_t i = 0; i < c->ndele; i++)
					if (&c->dele[i].m == m)
						*role_out = c->dele[i].name;
			}
			free(v.name);
			free(v.parent);
			r = 0;
			break;
		}
		json_t *d = json_object_get(m->signed_obj, "delegations");
		json_t *succ = json_object_get(d, "succinct_roles");
		struct visit children[64];
		size_t nc = 0;
		if (succ) {
			children[nc++] = (struct visit){succinct_bin(succ, name), wharf_xstrdup(v.name), succ};
		} else {
			size_t i;
			json_t *role;
			json_array_foreach(json_object_get(d, "roles"), i, role) {
				if (!role_matches(role, name))
					continue;
				if (nc < 64)
					children[nc++] = (struct visit){wharf_xstrdup(json_string_value(json_object_get(role, "name"))),
									wharf_xstrdup(v.name), role};
				if (json_is_true(json_object_get(role, "terminating"))) {
					while (sp > 0) { /* a terminating delegation ends the search below it */
						sp--;
						free(stack[sp].name);
						free(stack[sp].parent);
					}
					break;
				}
			}
		}
		for (size_t i = nc; i > 0; i--) {
			if (sp < sizeof(stack) / sizeof(stack[0]))
				stack[sp++] = children[i - 1];
			else {
				free(children[i - 1].name);
				free(children[i - 1].parent);
			}
		}
		free(v.name);
		free(v.parent);
	}
	while (sp > 0) {
		sp--;
		free(stack[sp].name);
		free(stack[sp].parent);
	}
	if (r == -WHARF_ENOTFOUND)
		wharf_error_set(err, WHARF_ENOTFOUND, "target %.200s: no trusted role signs it", name);
	return r;
}

int wharf_tufspec_download(struct wharf_tufspec_client *c, const char *name, const json_t *info, char **path_out,
			   struct wharf_error *err)
{
	if (!c->target_url || !c->o.target_dir)
		return wharf_error_set(err, WHARF_EINVAL, "downloads need a target base URL and a target directory");
	json_t *hashes = json_object_get(info, "hashes");
	const char *h256 = json_string_value(json_object_get(hashes, "sha256"));
	const char *h512 = json_string_value(json_object_get(hashes, "sha512"));
	if (!h256 && !h512)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "target %.200s: no sha256 or sha512 hash to check it by", name);
	const char *hash = h256 ? h256 : h512;
	if (!*hash || strspn(hash, "0123456789abcdef") != strlen(hash))
		return wharf_error_set(err, WHARF_EINVAL, "target %.200s: its hash is not lower-case hex", name);
	_cleanup_free_ char *q = quote(name, true);
	_cleanup_free_ char *urlname = NULL;
	if (c->consistent) {
		const char *slash = strrchr(q, '/');
		size_t dirlen = slash ? (size_t)(slash - q) + 1 : 0;
		urlname = wharf_xasprintf("%.*s%s.%s", (int)dirlen, q, hash, q + dirlen);
	} else {
		urlname = wharf_xstrdup(q);
	}
	size_t length = (size_t)json_integer_value(json_object_get(info, "length"));
	struct wharf_buf b;
	wharf_buf_init(&b);
	char role[300];
	snprintf(role, sizeof(role), "target %.200s", name);
	int r = fetch(c, c->target_url, urlname, length, &b, err);
	if (r < 0)
		wharf_error_prefix(err, "%s", role);
	else
		r = wharf_tufspec_check_file(info, role, b.data, b.len, err);
	_cleanup_free_ char *file = quote(name, false);
	_cleanup_free_ char *path = wharf_xasprintf("%s/%s", c->o.target_dir, file);
	if (r == 0 && (r = wharf_mkdir_p(c->o.target_dir, 0755, err)) == 0)
		r = wharf_atomic_write(path, b.data ? b.data : "", b.len, 0644, err);
	wharf_buf_free(&b);
	if (r == 0 && path_out)
		*path_out = wharf_xstrdup(path);
	return r;
}
