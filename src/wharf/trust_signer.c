/* wharf trust signer add|list|remove: delegated signers (targets/NAME, and targets/releases as docker
 * trust signer does), and signing into a delegated role with a key read from a file (CI). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/json.h"
#include "wharf/trust.h"

#define DEFAULT_SERVER "http://127.0.0.1:5000"
#define ROLE_LIFETIME (3 * 365 * 86400LL)
#define KEY_FILE_MAX (1u << 20)
#define RELEASES "targets/releases"
#define MAX_KEYS 64

struct signer_opts {
	const char *server;
	json_t *paths; /* --path P...; NULL when none */
	int64_t threshold;
	const char *keyids[MAX_KEYS]; /* remove --key */
	size_t nkeyids;
};

static void signer_usage(FILE *out)
{
	fputs("Usage: wharf trust signer COMMAND [OPTIONS] GUN NAME ...\n"
	      "\n"
	      "  add [-s URL] [--path P]... [--threshold N] GUN NAME KEYFILE...\n"
	      "        delegate targets/NAME to the public keys in KEYFILE (PEM public key or certificate,\n"
	      "        or a wharf .pub key JSON), threshold 1 and every path unless given, and add the keys\n"
	      "        to targets/releases (made when missing), as docker trust signer add does; with --path\n"
	      "        the signer is confined to targets/NAME (releases accepts any tag, so its keys are not\n"
	      "        added there). Targets is re-signed with this client's targets key and published.\n"
	      "  list [-s URL] [--json] GUN\n"
	      "        the delegations of targets: role, threshold, paths, keys, published version\n"
	      "  remove [-s URL] [--key KEYID]... GUN NAME\n"
	      "        remove the signer's keys (or only the given ones; a unique prefix will do) from\n"
	      "        targets/NAME and targets/releases; a threshold the remaining keys cannot meet is\n"
	      "        lowered to their number, and a role left without keys is removed.\n"
	      "\n"
	      "Signers sign with: wharf trust sign --role targets/releases --key FILE GUN:TAG\n"
	      "(passphrase from WHARF_DELEGATION_PASSPHRASE, else asked).\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
	      out);
}

static int parse_opts(int argc, char **argv, struct signer_opts *o, bool add)
{
	enum { OPT_PATH = 256, OPT_THRESHOLD, OPT_KEY };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},       {"path", required_argument, NULL, OPT_PATH},
		{"threshold", required_argument, NULL, OPT_THRESHOLD}, {"key", required_argument, NULL, OPT_KEY},
		{"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o->server = env && *env ? env : DEFAULT_SERVER;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		bool ok = true;
		char *end = NULL;
		switch (c) {
		case 's': o->server = optarg; break;
		case OPT_PATH:
			ok = add;
			if (!o->paths)
				o->paths = json_array();
			json_array_append_new(o->paths, json_string(optarg));
			break;
		case OPT_THRESHOLD:
			o->threshold = strtoll(optarg, &end, 10);
			ok = add && *optarg && !*end && o->threshold >= 1 && o->threshold <= MAX_KEYS;
			break;
		case OPT_KEY:
			ok = !add && o->nkeyids < MAX_KEYS && strlen(optarg) >= 4;
			if (ok)
				o->keyids[o->nkeyids++] = optarg;
			break;
		case 'h': signer_usage(stdout); return EXIT_OK;
		default: ok = false; break;
		}
		if (!ok) {
			signer_usage(stderr);
			return EXIT_USAGE;
		}
	}
	int want = add ? 3 : 2;
	if (argc - optind < want || (!add && argc - optind != want) || (add && argc - optind - 2 > MAX_KEYS)) {
		fprintf(stderr, "wharf trust signer %s: expected %s (see --help)\n", add ? "add" : "remove",
			add ? "GUN NAME KEYFILE..." : "GUN NAME");
		return EXIT_USAGE;
	}
	return -1;
}

/* --- public keys from files --- */

static json_t *key_json(const char *type, const char *b64)
{
	return json_pack("{s:s, s:{s:n, s:s}}", "keytype", type, "keyval", "private", "public", b64);
}

/* The first PEM block of text labelled label, as its whole text (begin to end line). */
static char *pem_block(const char *text, const char *label, bool body_only)
{
	_cleanup_free_ char *begin = wharf_xasprintf("-----BEGIN %s-----", label);
	_cleanup_free_ char *end = wharf_xasprintf("-----END %s-----", label);
	const char *b = strstr(text, begin);
	const char *e = b ? strstr(b, end) : NULL;
	if (!e)
		return NULL;
	if (!body_only)
		return wharf_xasprintf("%.*s\n", (int)(e + strlen(end) - b), b);
	struct wharf_buf out;
	wharf_buf_init(&out);
	for (const char *p = b + strlen(begin); p < e; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			wharf_buf_append(&out, p, 1);
	wharf_buf_append(&out, "", 0);
	return wharf_buf_steal(&out);
}

/* A certificate or public key in PEM as the Notary key JSON it stands for. */
static int key_from_pem(struct wharf_key **out, const char *text, struct wharf_error *err)
{
	_cleanup_free_ char *cert = pem_block(text, "CERTIFICATE", false);
	if (cert) {
		_cleanup_free_ char *b64 = wharf_base64_encode(cert, strlen(cert));
		static const char *const types[] = {"ecdsa-x509", "rsa-x509"};
		for (size_t i = 0; i < 2; i++) {
			json_t *j = key_json(types[i], b64);
			int r = wharf_key_from_json(out, j, WHARF_DIALECT_NOTARY, err);
			json_decref(j);
			if (r == 0)
				return 0;
		}
		return wharf_error_set(err, WHARF_EINVAL, "the certificate holds neither a P-256 nor an RSA key");
	}
	_cleanup_free_ char *body = pem_block(text, "PUBLIC KEY", true);
	if (!body)
		return wharf_error_set(err, WHARF_EINVAL, "no PEM CERTIFICATE or PUBLIC KEY, nor a key JSON (for a wharf "
				       "key file give its .pub file)");
	struct wharf_buf der;
	wharf_buf_init(&der);
	int r = wharf_base64_decode(body, &der, err);
	static const char *const types[] = {"ecdsa", "rsa"};
	for (size_t i = 0; r >= 0 && i < 2; i++) {
		json_t *j = key_json(types[i], body);
		r = wharf_key_from_json(out, j, WHARF_DIALECT_NOTARY, err);
		json_decref(j);
		if (r == 0)
			break;
		r = 1;
	}
	/* Ed25519: a 12-byte SubjectPublicKeyInfo prefix, then the raw 32 bytes Notary stores. */
	static const unsigned char ed_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
	if (r > 0 && der.len == 44 && !memcmp(der.data, ed_prefix, 12)) {
		_cleanup_free_ char *raw = wharf_base64_encode((const char *)der.data + 12, 32);
		json_t *j = key_json("ed25519", raw);
		r = wharf_key_from_json(out, j, WHARF_DIALECT_NOTARY, err);
		json_decref(j);
	} else if (r > 0) {
		r = wharf_error_set(err, WHARF_EINVAL, "the public key is not P-256, RSA or Ed25519");
	}
	wharf_buf_free(&der);
	return r;
}

static int read_public_key(struct wharf_key **out, const char *path, struct wharf_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, KEY_FILE_MAX, &text, &len, err);
	if (r < 0)
		return r;
	if (strlen(text) != len)
		return wharf_error_set(err, WHARF_EINVAL, "%s is not text", path);
	const char *p = text + strspn(text, " \t\r\n");
	if (*p == '{') {
		json_t *doc = NULL;
		r = wharf_json_parse(&doc, text, len, KEY_FILE_MAX, err);
		if (r == 0)
			r = wharf_key_from_json(out, doc, WHARF_DIALECT_NOTARY, err);
		if (doc)
			json_decref(doc);
	} else {
		r = key_from_pem(out, text, err);
	}
	if (r == 0 && wharf_key_has_private(*out)) {
		wharf_key_free(*out);
		r = wharf_error_set(err, WHARF_EINVAL, "holds a private key; give the public key");
	}
	return r < 0 ? wharf_error_prefix(err, "%s", path) : 0;
}

/* --- publishing targets --- */

static int fail(const char *verb, const char *what, const struct wharf_error *err)
{
	fprintf(stderr, "wharf trust %s: %s: %s\n", verb, what, err->message);
	return EXIT_FAILURE_RUNTIME;
}

/* Sign the edited targets (taken) with this client's targets key, with a new snapshot when this
 * client holds the snapshot key, and publish; 1 when targets needs more signatures and the change
 * was proposed as pending instead. */
static int publish_targets(const char *home, const char *gun, const char *server, const struct wharf_trust_repo *repo,
			   json_t *targets_obj, struct wharf_error *err)
{
	struct wharf_key *tk = NULL, *sk = NULL;
	struct wharf_buf targets, snap;
	wharf_buf_init(&targets);
	wharf_buf_init(&snap);
	int64_t expires = wharf_now() + ROLE_LIFETIME;
	int r = wharf_cli_trust_load_key(home, gun, "targets", NULL, &tk, err);
	if (r == 0)
		r = wharf_trust_deleg_edit_finish(&targets, repo, "targets", targets_obj, tk, expires, err);
	else
		json_decref(targets_obj);
	if (r == 0 && wharf_cli_trust_needs_more(repo, "targets")) {
		/* targets needs k > 1 signatures: staged for the other targets keys to approve. */
		struct wharf_tuf_upload file = {.role = "targets", .data = targets.data, .len = targets.len};
		bool published = false;
		r = wharf_cli_trust_propose(server, gun, &file, 1, &published, err);
		wharf_key_free(tk);
		wharf_buf_free(&targets);
		return r < 0 ? r : published ? 0 : 1;
	}
	if (r == 0)
		r = wharf_cli_trust_snapshot_key(home, gun, repo, &sk, err);
	struct wharf_tuf_upload files[2] = {{.role = "targets", .data = targets.data, .len = targets.len},
					    {.role = "snapshot"}};
	if (r == 0 && sk && (r = wharf_trust_snapshot_next(&snap, repo, files, 1, sk, expires, err)) == 0) {
		files[1].data = snap.data;
		files[1].len = snap.len;
	}
	if (r == 0)
		r = wharf_trust_http_publish(server, gun, files, sk ? 2 : 1, err);
	wharf_key_free(tk);
	wharf_key_free(sk);
	wharf_buf_free(&targets);
	wharf_buf_free(&snap);
	return r;
}

static bool valid_signer_name(const char *name)
{
	_cleanup_free_ char *role = wharf_xasprintf("targets/%s", name);
	return *name && !strchr(name, '/') && strcmp(name, "releases") != 0 && wharf_tuf_valid_role(role);
}

/* --- add --- */

static void print_role(const struct wharf_trust_repo *repo, const char *role)
{
	ssize_t idx = wharf_trust_repo_find(repo, "targets");
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)idx, &ri);
	json_t *d = wharf_trust_deleg_find(ri.meta->signed_obj, role);
	if (!d) {
		printf("%-24s (not delegated)\n", role);
		return;
	}
	char *paths = json_dumps(json_object_get(d, "paths"), JSON_COMPACT);
	printf("%-24s threshold %lld, paths %s, keys", role, (long long)json_integer_value(json_object_get(d, "threshold")),
	       paths ? paths : "[]");
	free(paths);
	size_t i;
	json_t *id;
	json_array_foreach(json_object_get(d, "keyids"), i, id)
		printf(" %s", json_string_value(id));
	printf("\n");
}

static int cmd_add(const char *gun, const char *name, char **files, size_t nfiles, const struct signer_opts *o)
{
	struct wharf_error err = {0};
	_cleanup_free_ char *home = NULL;
	_cleanup_free_ char *role = wharf_xasprintf("targets/%s", name);
	struct wharf_key *keys[MAX_KEYS] = {0};
	int r = wharf_cli_home(&home, &err);
	for (size_t i = 0; r == 0 && i < nfiles; i++)
		r = read_public_key(&keys[i], files[i], &err);
	struct wharf_trust_repo *repo = NULL;
	if (r == 0 && !(repo = wharf_cli_trust_update("signer add", gun, o->server, NULL)))
		r = -WHARF_EINVAL, err.message[0] = '\0';
	json_t *s = repo ? wharf_trust_deleg_edit_begin(repo, "targets") : NULL;
	if (r == 0 && !s)
		r = wharf_error_set(&err, WHARF_ENOTFOUND, "%s has no targets metadata", gun);
	if (r == 0)
		r = wharf_trust_deleg_add_keys(s, role, keys, nfiles, o->paths, o->threshold, &err);
	if (r == 0 && !o->paths)
		r = wharf_trust_deleg_add_keys(s, RELEASES, keys, nfiles, NULL, 0, &err);
	if (r == 0) {
		r = publish_targets(home, gun, o->server, repo, s, &err);
		s = NULL;
	}
	if (s)
		json_decref(s);
	for (size_t i = 0; i < nfiles; i++)
		wharf_key_free(keys[i]);
	wharf_trust_repo_free(repo);
	if (r < 0)
		return err.message[0] ? fail("signer add", gun, &err) : EXIT_FAILURE_RUNTIME;
	if (r == 1)
		return EXIT_OK; /* staged: the proposal was printed */
	if (!(repo = wharf_cli_trust_update("signer add", gun, o->server, NULL)))
		return EXIT_FAILURE_RUNTIME;
	printf("added signer %s to %s\n", name, gun);
	print_role(repo, role);
	print_role(repo, RELEASES);
	wharf_trust_repo_free(repo);
	return EXIT_OK;
}

/* --- remove --- */

/* The key ID of the role's keys that id names in full or as a unique prefix. */
static const char *resolve_keyid(const json_t *d, const char *id, struct wharf_error *err)
{
	const char *found = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(d, "keyids"), i, v) {
		const char *s = json_string_value(v);
		if (!s || !wharf_str_has_prefix(s, id))
			continue;
		if (found) {
			wharf_error_set(err, WHARF_EINVAL, "key ID %s is ambiguous", id);
			return NULL;
		}
		found = s;
	}
	if (!found)
		wharf_error_set(err, WHARF_ENOTFOUND, "%s has no key %s", json_string_value(json_object_get(d, "name")), id);
	return found;
}

/* Is key id listed by a delegation of targets other than role and releases? */
static bool used_elsewhere(const json_t *targets_obj, const char *role, const char *id)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(targets_obj, "delegations"), "roles"), i, d) {
		const char *n = json_string_value(json_object_get(d, "name"));
		if (!n || !strcmp(n, role) || !strcmp(n, RELEASES))
			continue;
		if (wharf_json_array_has_string(json_object_get(d, "keyids"), id))
			return true;
	}
	return false;
}

/* A delegated role whose published metadata the new delegation no longer accepts signs nothing
 * for clients that skip it, and stops clients that do not: say so. */
static void warn_unsigned(const struct wharf_trust_repo *repo, const json_t *targets_obj, const char *role)
{
	ssize_t idx = wharf_trust_repo_find(repo, role);
	json_t *d = wharf_trust_deleg_find(targets_obj, role);
	if (idx < 0 || !d)
		return;
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)idx, &ri);
	struct wharf_error err;
	if (wharf_tuf_verify(ri.meta, role, json_object_get(json_object_get(targets_obj, "delegations"), "keys"),
			     json_object_get(d, "keyids"), json_integer_value(json_object_get(d, "threshold")), &err) < 0)
		fprintf(stderr, "wharf trust signer remove: warning: %s version %lld is no longer signed to the threshold "
			"by its remaining keys; a remaining signer should sign into it again\n", role,
			(long long)ri.meta->version);
}

static int cmd_remove(const char *gun, const char *name, const struct signer_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	_cleanup_free_ char *role = wharf_xasprintf("targets/%s", name);
	if (wharf_cli_home(&home, &err) < 0)
		return fail("signer remove", gun, &err);
	struct wharf_trust_repo *repo = wharf_cli_trust_update("signer remove", gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	json_t *s = wharf_trust_deleg_edit_begin(repo, "targets");
	json_t *d = s ? wharf_trust_deleg_find(s, role) : NULL;
	int r = 0;
	if (!d)
		r = wharf_error_set(&err, WHARF_ENOTFOUND, "%s has no signer %s (targets does not delegate %s)", gun, name, role);
	/* The key IDs to remove, copied: the role's list changes under us. */
	json_t *ids = json_array();
	size_t i;
	json_t *v;
	for (size_t k = 0; r == 0 && k < o->nkeyids; k++) {
		const char *id = resolve_keyid(d, o->keyids[k], &err);
		if (!id)
			r = -WHARF_EINVAL;
		else
			json_array_append_new(ids, json_string(id));
	}
	if (r == 0 && o->nkeyids == 0)
		json_array_foreach(json_object_get(d, "keyids"), i, v)
			json_array_append_new(ids, json_string(json_string_value(v)));
	size_t n = json_array_size(ids);
	const char **list = wharf_xcalloc(n + 1, sizeof(*list));
	const char **rel = wharf_xcalloc(n + 1, sizeof(*rel));
	size_t nrel = 0;
	json_array_foreach(ids, i, v) {
		list[i] = json_string_value(v);
		if (!used_elsewhere(s, role, list[i]))
			rel[nrel++] = list[i];
	}
	bool gone = false, rel_gone = false;
	if (r == 0)
		r = wharf_trust_deleg_remove_keys(s, role, list, o->nkeyids ? n : 0, &gone, &err);
	if (r == 0 && nrel > 0 && wharf_trust_deleg_find(s, RELEASES)) {
		r = wharf_trust_deleg_remove_keys(s, RELEASES, rel, nrel, &rel_gone, &err);
		if (r == -WHARF_ENOTFOUND)
			r = 0; /* releases never had these keys (a path-restricted signer) */
	}
	if (r == 0) {
		warn_unsigned(repo, s, role);
		warn_unsigned(repo, s, RELEASES);
		r = publish_targets(home, gun, o->server, repo, s, &err);
		s = NULL;
	}
	free(list);
	free(rel);
	json_decref(ids);
	if (s)
		json_decref(s);
	wharf_trust_repo_free(repo);
	if (r < 0)
		return fail("signer remove", gun, &err);
	if (r == 1)
		return EXIT_OK; /* staged: the proposal was printed */
	if (!(repo = wharf_cli_trust_update("signer remove", gun, o->server, NULL)))
		return EXIT_FAILURE_RUNTIME;
	printf("removed %zu key%s of signer %s from %s%s\n", n, n == 1 ? "" : "s", name, gun,
	       gone ? " (signer removed)" : "");
	print_role(repo, role);
	print_role(repo, RELEASES);
	wharf_trust_repo_free(repo);
	return EXIT_OK;
}

/* --- list --- */

static void list_json(const struct wharf_trust_repo *repo, const json_t *roles)
{
	json_t *out = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		ssize_t idx = name ? wharf_trust_repo_find(repo, name) : -1;
		json_int_t version = 0;
		if (idx >= 0) {
			struct wharf_trust_role_info ri;
			wharf_trust_repo_role(repo, (size_t)idx, &ri);
			version = ri.meta->version;
		}
		json_array_append_new(out, json_pack("{s:s?, s:O?, s:O?, s:O?, s:I}", "role", name, "keyids",
						     json_object_get(d, "keyids"), "threshold", json_object_get(d, "threshold"),
						     "paths", json_object_get(d, "paths"), "version", version));
	}
	json_t *doc = json_pack("{s:s, s:o}", "gun", wharf_trust_repo_gun(repo), "delegations", out);
	char *text = json_dumps(doc, JSON_COMPACT);
	printf("%s\n", text);
	free(text);
	json_decref(doc);
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	const char *server = env && *env ? env : DEFAULT_SERVER;
	bool as_json = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'j': as_json = true; break;
		case 'h': signer_usage(stdout); return EXIT_OK;
		default: signer_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "wharf trust signer list: expected GUN (see --help)\n");
		return EXIT_USAGE;
	}
	wharf_log_set_level(WHARF_LOG_WARN);
	struct wharf_trust_repo *repo = wharf_cli_trust_update("signer list", argv[optind], server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)wharf_trust_repo_find(repo, "targets"), &ri);
	json_t *roles = json_object_get(json_object_get(ri.meta->signed_obj, "delegations"), "roles");
	if (as_json)
		list_json(repo, roles);
	else if (json_array_size(roles) == 0)
		printf("No signers in %s\n", argv[optind]);
	else
		for (size_t i = 0; i < json_array_size(roles); i++) {
			const char *name = json_string_value(json_object_get(json_array_get(roles, i), "name"));
			if (name)
				print_role(repo, name);
		}
	wharf_trust_repo_free(repo);
	return EXIT_OK;
}

int wharf_cli_trust_signer(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		signer_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	bool add = !strcmp(argv[1], "add");
	if (!add && strcmp(argv[1], "remove") != 0) {
		fprintf(stderr, "wharf trust signer: unknown command '%s' (add, list or remove)\n", argv[1]);
		return EXIT_USAGE;
	}
	struct signer_opts o = {0};
	int rc = parse_opts(argc - 1, argv + 1, &o, add);
	if (rc < 0) {
		wharf_log_set_level(WHARF_LOG_WARN);
		char **rest = argv + 1 + optind;
		struct wharf_error err;
		if (wharf_tuf_check_gun(rest[0], &err) < 0 || !valid_signer_name(rest[1])) {
			fprintf(stderr, "wharf trust signer %s: expected a GUN and a signer NAME (not releases, no '/'): %s %s\n",
				argv[1], rest[0], rest[1]);
			rc = EXIT_USAGE;
		} else {
			rc = add ? cmd_add(rest[0], rest[1], rest + 2, (size_t)(argc - 1 - optind - 2), &o)
				 : cmd_remove(rest[0], rest[1], &o);
		}
	}
	if (o.paths)
		json_decref(o.paths);
	return rc;
}

/* --- signing into a delegated role (CI) --- */

/* The delegation entry of role (borrowed from repo) and its delegator's keys. */
static json_t *delegation_of(const struct wharf_trust_repo *repo, const char *role, const json_t **keys)
{
	char parent[256];
	wharf_trust_deleg_parent(role, parent, sizeof(parent));
	ssize_t idx = wharf_trust_repo_find(repo, parent);
	if (idx < 0)
		return NULL;
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)idx, &ri);
	*keys = json_object_get(json_object_get(ri.meta->signed_obj, "delegations"), "keys");
	return wharf_trust_deleg_find(ri.meta->signed_obj, role);
}

static bool listed(const json_t *d, const struct wharf_key *k)
{
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	return wharf_json_array_has_string(json_object_get(d, "keyids"), id);
}

/* The private key in file, as the key role lists: the bare key, or it inside one of the
 * role's certificates (signers are often added by certificate). */
static int load_delegation_key(const struct wharf_trust_repo *repo, const char *role, const char *file,
			       struct wharf_key **out, struct wharf_error *err)
{
	const json_t *keys = NULL;
	json_t *d = delegation_of(repo, role, &keys);
	if (!d)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s is not delegated in %s", role, wharf_trust_repo_gun(repo));
	_cleanup_free_ char *pem = NULL, *pass = NULL;
	size_t len = 0;
	if (wharf_str_has_prefix(file, "pkcs11:")) { /* the key is on a token */
		int rc = wharf_cli_trust_hsm_uri_key(file, out, err);
		if (rc == 0 && !listed(d, *out)) {
			char id[65];
			wharf_key_id(*out, WHARF_DIALECT_NOTARY, id);
			wharf_key_free(*out);
			*out = NULL;
			rc = wharf_error_set(err, WHARF_EINVAL, "%s: key %.16s is not a key of %s", file, id, role);
		}
		return rc;
	}
	int r = wharf_read_file(file, KEY_FILE_MAX, &pem, &len, err);
	if (r == 0)
		r = wharf_cli_passphrase_var("WHARF_DELEGATION_PASSPHRASE", "the delegation key", false, &pass, err);
	if (r == 0)
		r = wharf_key_private_from_pem(out, pem, len, pass, NULL, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s", file);
	if (listed(d, *out))
		return 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(d, "keyids"), i, v) {
		struct wharf_key *cert = NULL, *k = NULL;
		struct wharf_error e2;
		if (!json_is_string(v) ||
		    wharf_key_from_json(&cert, json_object_get(keys, json_string_value(v)), WHARF_DIALECT_NOTARY, &e2) < 0)
			continue;
		enum wharf_key_type t = wharf_key_type(cert);
		if ((t == WHARF_KEY_ECDSA_X509 || t == WHARF_KEY_RSA_X509) &&
		    wharf_key_private_from_pem(&k, pem, len, pass, cert, &e2) == 0 && listed(d, k)) {
			wharf_key_free(cert);
			wharf_key_free(*out);
			*out = k;
			return 0;
		}
		wharf_key_free(k);
		wharf_key_free(cert);
	}
	char id[65];
	wharf_key_id(*out, WHARF_DIALECT_NOTARY, id);
	wharf_key_free(*out);
	*out = NULL;
	return wharf_error_set(err, WHARF_EINVAL, "%s: key %.16s is not a key of %s", file, id, role);
}

/* The version a new metadata file of role must have on server: above the one it stores from an
 * earlier delegation (read unverified: only its version number is used), else 1. */
static int64_t first_version(const char *server, const char *gun, const char *role)
{
	_cleanup_free_ char *name = wharf_xasprintf("%s.json", role);
	struct wharf_buf b;
	wharf_buf_init(&b);
	struct wharf_error err;
	struct wharf_tuf_meta m = {0};
	int64_t v = 1;
	if (wharf_trust_http_get(server, gun, name, WHARF_TUF_FILE_MAX, &b, &err) == 0 && b.len > 0 &&
	    wharf_tuf_parse(&m, role, b.data, b.len, &err) == 0 && m.version > 0 && m.version < INT64_MAX)
		v = m.version + 1;
	wharf_tuf_meta_free(&m);
	wharf_buf_free(&b);
	return v;
}

int wharf_cli_trust_sign_delegated(const char *home, const char *gun, const char *tag, const char *sha256,
				   uint64_t size, const char *server, const char *role, const char *key_file,
				   const struct wharf_trust_repo *repo, bool *proposed, struct wharf_error *err)
{
	struct wharf_key *dk = NULL, *sk = NULL;
	struct wharf_buf out, snap;
	wharf_buf_init(&out);
	wharf_buf_init(&snap);
	int64_t expires = wharf_now() + ROLE_LIFETIME;
	int r = load_delegation_key(repo, role, key_file, &dk, err);
	if (r == 0)
		r = wharf_trust_deleg_sign_target(&out, repo, role, tag, sha256, size, dk,
						  wharf_trust_repo_find(repo, role) < 0 ? first_version(server, gun, role) : 0,
						  expires, err);
	if (r == 0 && wharf_cli_trust_needs_more(repo, role)) {
		/* k > 1: the first signature, staged on the server for the others to approve. */
		struct wharf_tuf_upload file = {.data = out.data, .len = out.len};
		snprintf(file.role, sizeof(file.role), "%s", role);
		r = wharf_cli_trust_propose(server, gun, &file, 1, proposed, err);
		*proposed = r == 0 && !*proposed;
		wharf_key_free(dk);
		wharf_buf_free(&out);
		return r;
	}
	if (r == 0)
		r = wharf_cli_trust_snapshot_key(home, gun, repo, &sk, err);
	struct wharf_tuf_upload files[2] = {{.data = out.data, .len = out.len}, {.role = "snapshot"}};
	snprintf(files[0].role, sizeof(files[0].role), "%s", role);
	if (r == 0 && sk && (r = wharf_trust_snapshot_next(&snap, repo, files, 1, sk, expires, err)) == 0) {
		files[1].data = snap.data;
		files[1].len = snap.len;
	}
	if (r == 0 && (r = wharf_trust_http_publish(server, gun, files, sk ? 2 : 1, err)) < 0 && !sk &&
	    strstr(err->message, "does not hold the snapshot key"))
		wharf_error_prefix(err, "signers without the snapshot key need the server to hold it (its owner runs "
				   "'wharf trust rotate %s snapshot --server-managed')", gun);
	wharf_key_free(dk);
	wharf_key_free(sk);
	wharf_buf_free(&out);
	wharf_buf_free(&snap);
	return r;
}

bool wharf_cli_trust_role_signs(const struct wharf_trust_repo *repo, const char *role, const char *tag,
				const char *sha256, uint64_t size)
{
	ssize_t idx = wharf_trust_repo_find(repo, role);
	if (idx < 0)
		return false;
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)idx, &ri);
	json_t *t = json_object_get(json_object_get(ri.meta->signed_obj, "targets"), tag);
	if (!t || !sha256)
		return t != NULL;
	const char *b64 = json_string_value(json_object_get(json_object_get(t, "hashes"), "sha256"));
	struct wharf_buf raw;
	wharf_buf_init(&raw);
	struct wharf_error err;
	bool ok = b64 && wharf_base64_decode(b64, &raw, &err) >= 0 && raw.len == 32 &&
		  (uint64_t)json_integer_value(json_object_get(t, "length")) == size;
	if (ok) {
		_cleanup_free_ char *hex = wharf_hex_encode(raw.data, raw.len);
		ok = !strcmp(hex, sha256);
	}
	wharf_buf_free(&raw);
	return ok;
}

int wharf_cli_trust_read_public_key(struct wharf_key **out, const char *path, struct wharf_error *err)
{
	return read_public_key(out, path, err);
}
