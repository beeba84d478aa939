/* wharf tuf repo: write and sign a TUF specification-format repository (consistent snapshots)
 * in a directory any static web server can serve, for `wharf tuf`, python-tuf and tuf-js.
 * Keys live encrypted under $WHARF_HOME/keys/spec/<NAME>/<role>.key, the TUF public key JSON
 * beside them as <role>.pub. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/json.h"
#include "wharf/keys.h"
#include "wharf/trust.h"
#include "wharf/tufspec.h"

#define DEFAULT_EXPIRY (365 * 86400)
#define TIMESTAMP_EXPIRY (7 * 86400)

static void usage(FILE *out)
{
	fputs("Usage: wharf tuf repo init NAME --dir DIR\n"
	      "       wharf tuf repo sign NAME --dir DIR TARGET (--file PATH | --digest sha256:HEX --size N) [--role ROLE]\n"
	      "       wharf tuf repo delegate NAME --dir DIR ROLE --path PATTERN [--path PATTERN...]\n"
	      "\n"
	      "Writes a TUF specification-format repository (consistent snapshots) into DIR/metadata and\n"
	      "DIR/targets, for any static HTTP server. init makes the root, targets, snapshot and timestamp\n"
	      "keys; sign adds TARGET (the file's bytes, copied as <sha256>.<name>, or only a digest and size)\n"
	      "to targets or to a delegated ROLE; delegate makes a key for ROLE and delegates PATTERNs to it.\n"
	      "Every change re-signs snapshot and timestamp. Keys are encrypted with WHARF_ROOT_PASSPHRASE,\n"
	      "WHARF_TARGETS_PASSPHRASE, WHARF_SNAPSHOT_PASSPHRASE, WHARF_TIMESTAMP_PASSPHRASE and, for\n"
	      "delegated roles, WHARF_DELEGATION_PASSPHRASE (asked on the terminal when unset).\n",
	      out);
}

struct repo {
	char *home, *name, *dir;
	json_t *targets;  /* {role: signed object} of targets and delegated roles, as stored */
	json_t *snapshot; /* signed object, NULL before the first */
	json_t *timestamp;
	json_t *root;
	struct wharf_strv changed;
};

static char *key_path(const struct repo *r, const char *role, const char *ext)
{
	_cleanup_free_ char *n = wharf_trust_escape_name(r->name);
	_cleanup_free_ char *ro = wharf_trust_escape_name(role);
	return wharf_xasprintf("%s/keys/spec/%s/%s.%s", r->home, n, ro, ext);
}

static const char *pass_role(const char *role)
{
	static const char *const top[] = {"root", "targets", "snapshot", "timestamp"};
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(role, top[i]))
			return role;
	return "delegation";
}

static int new_key(struct repo *r, const char *role, enum wharf_key_type type, struct wharf_key **out,
		   struct wharf_error *err)
{
	_cleanup_free_ char *path = key_path(r, role, "key");
	_cleanup_free_ char *pub_path = key_path(r, role, "pub");
	if (access(path, F_OK) == 0)
		return wharf_error_set(err, WHARF_EEXIST, "%s exists: a key for %s of %s is already there", path, role, r->name);
	_cleanup_free_ char *pass = NULL;
	struct wharf_key *k = NULL;
	struct wharf_buf pem;
	wharf_buf_init(&pem);
	int rc = wharf_cli_trust_passphrase(pass_role(role), true, &pass, err);
	if (rc == 0)
		rc = wharf_key_generate(&k, type, err);
	if (rc == 0)
		rc = wharf_key_private_to_pem(k, pass, &pem, err);
	if (rc == 0) {
		_cleanup_free_ char *dir = wharf_xstrndup(path, (size_t)(strrchr(path, '/') - path));
		rc = wharf_mkdir_p(dir, 0700, err);
	}
	if (rc == 0)
		rc = wharf_atomic_write(path, pem.data, pem.len, 0600, err);
	if (rc == 0) {
		json_t *pub = wharf_key_to_json(k, WHARF_DIALECT_TUF);
		char *text = json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS);
		rc = wharf_atomic_write(pub_path, text, strlen(text), 0644, err);
		free(text);
		json_decref(pub);
	}
	wharf_buf_free(&pem);
	if (rc < 0) {
		wharf_key_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

static int load_key(struct repo *r, const char *role, struct wharf_key **out, struct wharf_error *err)
{
	_cleanup_free_ char *path = key_path(r, role, "key");
	_cleanup_free_ char *pem = NULL;
	_cleanup_free_ char *pass = NULL;
	size_t len = 0;
	int rc = wharf_read_file(path, 1 << 20, &pem, &len, err);
	if (rc == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_ENOTFOUND, "no %s key for %s in %s", role, r->name, path);
	if (rc == 0)
		rc = wharf_cli_trust_passphrase(pass_role(role), false, &pass, err);
	if (rc == 0)
		rc = wharf_key_private_from_pem(out, pem, len, pass, NULL, err);
	return rc < 0 ? wharf_error_prefix(err, "%s key", role) : 0;
}

static char *key_id(const struct wharf_key *k)
{
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_TUF, id);
	return wharf_xstrdup(id);
}

static int write_meta(const struct repo *r, const char *file, const struct wharf_buf *b, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/metadata/%s", r->dir, file);
	return wharf_atomic_write(path, b->data, b->len, 0644, err);
}

/* Sign role's signed object and write N.<role>.json and <role>.json; *out keeps the bytes. */
static int sign_role(struct repo *r, const char *role, json_t *obj, struct wharf_buf *out, struct wharf_error *err)
{
	struct wharf_key *k = NULL;
	int rc = load_key(r, role, &k, err);
	if (rc < 0)
		return rc;
	rc = wharf_tufspec_sign(obj, &k, 1, out, err);
	wharf_key_free(k);
	_cleanup_free_ char *q = wharf_trust_escape_name(role);
	_cleanup_free_ char *vname =
		wharf_xasprintf("%lld.%s.json", (long long)json_integer_value(json_object_get(obj, "version")), q);
	_cleanup_free_ char *cname = wharf_xasprintf("%s.json", q);
	if (rc == 0 && strcmp(role, "timestamp"))
		rc = write_meta(r, vname, out, err);
	if (rc == 0)
		rc = write_meta(r, cname, out, err);
	return rc;
}

static int load_signed(const struct repo *r, const char *role, json_t **out, struct wharf_error *err)
{
	_cleanup_free_ char *q = wharf_trust_escape_name(role);
	_cleanup_free_ char *path = wharf_xasprintf("%s/metadata/%s.json", r->dir, q);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int rc = wharf_read_file(path, WHARF_TUFSPEC_TARGETS_MAX, &data, &len, err);
	if (rc == 0)
		rc = wharf_json_parse(&doc, data, len, WHARF_TUFSPEC_TARGETS_MAX, err);
	if (rc < 0)
		return wharf_error_prefix(err, "%s of %s", role, r->dir);
	*out = json_incref(json_object_get(doc, "signed"));
	json_decref(doc);
	return *out ? 0 : wharf_error_set(err, WHARF_EINVAL, "%s: no signed object", path);
}

static void bump(json_t *obj, int64_t lifetime)
{
	char when[32];
	wharf_time_format_rfc3339(wharf_now() + lifetime, when);
	json_object_set_new(obj, "version", json_integer(json_integer_value(json_object_get(obj, "version")) + 1));
	json_object_set_new(obj, "expires", json_string(when));
}

/* Re-sign the changed targets roles, then a new snapshot over all roles and a new timestamp. */
static int publish(struct repo *r, struct wharf_error *err)
{
	int rc = 0;
	json_t *meta = json_object();
	const char *role;
	json_t *obj;
	json_object_foreach(r->targets, role, obj) {
		bool changed = false;
		for (size_t i = 0; i < r->changed.n; i++)
			changed = changed || !strcmp(r->changed.v[i], role);
		struct wharf_buf b;
		wharf_buf_init(&b);
		if (changed) {
			bump(obj, DEFAULT_EXPIRY);
			rc = sign_role(r, role, obj, &b, err);
		}
		wharf_buf_free(&b);
		if (rc < 0)
			break;
		_cleanup_free_ char *file = wharf_xasprintf("%s.json", role);
		json_object_set_new(meta, file, json_pack("{s:O}", "version", json_object_get(obj, "version")));
	}
	struct wharf_buf snap;
	wharf_buf_init(&snap);
	if (rc == 0) {
		if (!r->snapshot)
			r->snapshot = wharf_tufspec_signed_new("snapshot", 0, 0);
		json_object_set(r->snapshot, "meta", meta);
		bump(r->snapshot, DEFAULT_EXPIRY);
		rc = sign_role(r, "snapshot", r->snapshot, &snap, err);
	}
	if (rc == 0) {
		if (!r->timestamp)
			r->timestamp = wharf_tufspec_signed_new("timestamp", 0, 0);
		json_t *fm = wharf_tufspec_target_meta(snap.data, snap.len);
		json_object_set(fm, "version", json_object_get(r->snapshot, "version"));
		json_object_set_new(r->timestamp, "meta", json_pack("{s:o}", "snapshot.json", fm));
		bump(r->timestamp, TIMESTAMP_EXPIRY);
		struct wharf_buf b;
		wharf_buf_init(&b);
		rc = sign_role(r, "timestamp", r->timestamp, &b, err);
		wharf_buf_free(&b);
	}
	wharf_buf_free(&snap);
	json_decref(meta);
	return rc;
}

static int open_repo(struct repo *r, struct wharf_error *err)
{
	r->targets = json_object();
	json_t *t = NULL;
	int rc = load_signed(r, "targets", &t, err);
	if (rc < 0)
		return rc;
	json_object_set_new(r->targets, "targets", t);
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(t, "delegations"), "roles"), i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		json_t *o = NULL;
		if (!name || (rc = load_signed(r, name, &o, err)) < 0)
			return rc < 0 ? rc : wharf_error_set(err, WHARF_EINVAL, "a delegation without a name");
		json_object_set_new(r->targets, name, o);
	}
	if ((rc = load_signed(r, "snapshot", &r->snapshot, err)) == 0)
		rc = load_signed(r, "timestamp", &r->timestamp, err);
	return rc;
}

static void repo_free(struct repo *r)
{
	free(r->home);
	json_decref(r->targets);
	json_decref(r->snapshot);
	json_decref(r->timestamp);
	json_decref(r->root);
	wharf_strv_free(&r->changed);
}

static int do_init(struct repo *r, struct wharf_error *err)
{
	static const char *const roles[] = {"root", "targets", "snapshot", "timestamp"};
	static const enum wharf_key_type types[] = {WHARF_KEY_ECDSA, WHARF_KEY_ED25519, WHARF_KEY_ECDSA, WHARF_KEY_ED25519};
	_cleanup_free_ char *mdir = wharf_xasprintf("%s/metadata", r->dir);
	_cleanup_free_ char *tdir = wharf_xasprintf("%s/targets", r->dir);
	_cleanup_free_ char *root_path = wharf_xasprintf("%s/root.json", mdir);
	if (access(root_path, F_OK) == 0)
		return wharf_error_set(err, WHARF_EEXIST, "%s holds a repository already", r->dir);
	int rc = wharf_mkdir_p(mdir, 0755, err);
	if (rc == 0)
		rc = wharf_mkdir_p(tdir, 0755, err);
	r->root = wharf_tufspec_signed_new("root", 1, wharf_now() + DEFAULT_EXPIRY);
	json_t *keys = json_object(), *jroles = json_object();
	json_object_set_new(r->root, "consistent_snapshot", json_true());
	json_object_set_new(r->root, "keys", keys);
	json_object_set_new(r->root, "roles", jroles);
	struct wharf_key *root_key = NULL;
	for (size_t i = 0; rc == 0 && i < 4; i++) {
		struct wharf_key *k = NULL;
		if ((rc = new_key(r, roles[i], types[i], &k, err)) < 0)
			break;
		_cleanup_free_ char *id = key_id(k);
		json_object_set_new(keys, id, wharf_key_to_json(k, WHARF_DIALECT_TUF));
		json_object_set_new(jroles, roles[i], json_pack("{s:[s],s:i}", "keyids", id, "threshold", 1));
		if (i == 0)
			root_key = k;
		else
			wharf_key_free(k);
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	if (rc == 0)
		rc = wharf_tufspec_sign(r->root, &root_key, 1, &b, err);
	if (rc == 0)
		rc = write_meta(r, "1.root.json", &b, err);
	if (rc == 0)
		rc = write_meta(r, "root.json", &b, err);
	wharf_buf_free(&b);
	wharf_key_free(root_key);
	if (rc < 0)
		return rc;
	r->targets = json_object();
	json_t *t = wharf_tufspec_signed_new("targets", 0, 0);
	json_object_set_new(t, "targets", json_object());
	json_object_set_new(r->targets, "targets", t);
	wharf_strv_push(&r->changed, "targets");
	return publish(r, err);
}

static int do_sign(struct repo *r, const char *target, const char *file, const char *digest, const char *size,
		   const char *role, struct wharf_error *err)
{
	int rc = open_repo(r, err);
	if (rc < 0)
		return rc;
	json_t *obj = json_object_get(r->targets, role);
	if (!obj)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no role %s (delegate it first)", r->name, role);
	json_t *info = NULL;
	if (file) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		if ((rc = wharf_read_file(file, (size_t)1 << 32, &data, &len, err)) < 0)
			return rc;
		info = wharf_tufspec_target_meta(data, len);
		const char *hex = json_string_value(json_object_get(json_object_get(info, "hashes"), "sha256"));
		const char *slash = strrchr(target, '/');
		size_t dl = slash ? (size_t)(slash - target) + 1 : 0;
		_cleanup_free_ char *dir = wharf_xasprintf("%s/targets/%.*s", r->dir, (int)dl, target);
		_cleanup_free_ char *path = wharf_xasprintf("%s%s.%s", dir, hex, target + dl);
		if ((rc = wharf_mkdir_p(dir, 0755, err)) == 0)
			rc = wharf_atomic_write(path, data ? data : "", len, 0644, err);
	} else {
		uint64_t n = 0;
		if (!wharf_str_has_prefix(digest, "sha256:") || strlen(digest) != 71 ||
		    strspn(digest + 7, "0123456789abcdef") != 64 || !wharf_parse_u64(size, strlen(size), &n))
			return wharf_error_set(err, WHARF_EINVAL, "--digest must be sha256:<64 hex> and --size a byte count");
		info = json_pack("{s:I,s:{s:s}}", "length", (json_int_t)n, "hashes", "sha256", digest + 7);
	}
	if (rc == 0) {
		json_object_set(json_object_get(obj, "targets"), target, info);
		wharf_strv_push(&r->changed, role);
		rc = publish(r, err);
	}
	json_decref(info);
	return rc;
}

static int do_delegate(struct repo *r, const char *role, const struct wharf_strv *paths, struct wharf_error *err)
{
	int rc = open_repo(r, err);
	if (rc < 0)
		return rc;
	if (json_object_get(r->targets, role) || !strcmp(role, "root") || !strcmp(role, "snapshot") ||
	    !strcmp(role, "timestamp") || strchr(role, '/'))
		return wharf_error_set(err, WHARF_EEXIST, "%s: the role name %s is taken or not allowed", r->name, role);
	struct wharf_key *k = NULL;
	if ((rc = new_key(r, role, WHARF_KEY_ED25519, &k, err)) < 0)
		return rc;
	_cleanup_free_ char *id = key_id(k);
	json_t *t = json_object_get(r->targets, "targets");
	json_t *d = json_object_get(t, "delegations");
	if (!d) {
		d = json_pack("{s:{},s:[]}", "keys", "roles");
		json_object_set_new(t, "delegations", d);
	}
	json_object_set_new(json_object_get(d, "keys"), id, wharf_key_to_json(k, WHARF_DIALECT_TUF));
	wharf_key_free(k);
	json_t *jpaths = json_array();
	for (size_t i = 0; i < paths->n; i++)
		json_array_append_new(jpaths, json_string(paths->v[i]));
	json_array_append_new(json_object_get(d, "roles"), json_pack("{s:s,s:[s],s:i,s:o,s:b}", "name", role, "keyids", id,
								      "threshold", 1, "paths", jpaths, "terminating", 0));
	json_t *o = wharf_tufspec_signed_new("targets", 0, 0);
	json_object_set_new(o, "targets", json_object());
	json_object_set_new(r->targets, role, o);
	wharf_strv_push(&r->changed, "targets");
	wharf_strv_push(&r->changed, role);
	return publish(r, err);
}

int wharf_cli_tuf_repo(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *verb = argv[1];
	static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},   {"file", required_argument, NULL, 'f'},
					     {"digest", required_argument, NULL, 'g'}, {"size", required_argument, NULL, 's'},
					     {"role", required_argument, NULL, 'r'},   {"path", required_argument, NULL, 'p'},
					     {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *dir = NULL, *file = NULL, *digest = NULL, *size = NULL, *role = "targets";
	struct wharf_strv paths = {0};
	int c, rc = -1;
	optind = 1;
	while (rc < 0 && (c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': file = optarg; break;
		case 'g': digest = optarg; break;
		case 's': size = optarg; break;
		case 'r': role = optarg; break;
		case 'p': wharf_strv_push(&paths, optarg); break;
		case 'h': usage(stdout); rc = EXIT_OK; break;
		default: usage(stderr); rc = EXIT_USAGE;
		}
	}
	int npos = argc - 1 - optind;
	char **pos = argv + 1 + optind;
	bool ok = rc < 0 && dir && npos >= 1;
	if (ok && !strcmp(verb, "init"))
		ok = npos == 1;
	else if (ok && !strcmp(verb, "sign"))
		ok = npos == 2 && (!file != !digest) && (!digest || size);
	else if (ok && !strcmp(verb, "delegate"))
		ok = npos == 2 && paths.n > 0;
	else
		ok = false;
	if (rc < 0 && !ok) {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	if (rc >= 0) {
		wharf_strv_free(&paths);
		return rc;
	}
	struct repo r = {.name = pos[0], .dir = (char *)dir};
	struct wharf_error err;
	int e = wharf_cli_home(&r.home, &err);
	if (e == 0 && !strcmp(verb, "init"))
		e = do_init(&r, &err);
	else if (e == 0 && !strcmp(verb, "sign"))
		e = do_sign(&r, pos[1], file, digest, size, role, &err);
	else if (e == 0)
		e = do_delegate(&r, pos[1], &paths, &err);
	repo_free(&r);
	wharf_strv_free(&paths);
	if (e < 0) {
		fprintf(stderr, "wharf tuf repo %s: %s\n", verb, err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	printf("%s: %s done, metadata in %s/metadata\n", pos[0], verb, dir);
	return EXIT_OK;
}
