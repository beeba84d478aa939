/* wharf trust pending / approve / threshold: staged changes of roles that need k-of-n signatures.
 * A signer proposes the next version of a role signed by its key (wharf trust sign, threshold,
 * signer ... do so when one signature is not enough); wharfd keeps it pending; other signers look
 * at it (pending), check it against their own verified trust data and add their signature over
 * the same signed bytes (approve); wharfd publishes it once every threshold is met. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/json.h"
#include "wharf/trust.h"

#define DEFAULT_SERVER "http://127.0.0.1:5000"
#define ROOT_LIFETIME (10 * 365 * 86400LL)
#define ROLE_LIFETIME (3 * 365 * 86400LL)
#define MAX_KEYS 16

struct pending_opts {
	const char *server;
	const char *key_file;     /* approve: sign with this key file */
	const char *pub[MAX_KEYS]; /* threshold: keys to add */
	size_t npub;
	const char *remove[MAX_KEYS]; /* threshold: key IDs to take out */
	size_t nremove;
	json_t *paths; /* threshold of a delegation: its path prefixes (NULL: kept, or every path) */
	bool json;
};

static void usage(FILE *out, const char *verb)
{
	if (!strcmp(verb, "pending"))
		fputs("Usage: wharf trust pending [-s URL] [--json] GUN\n"
		      "\n"
		      "List the staged changes of GUN waiting for signatures: ID, role, version (and the\n"
		      "version it is based on), signatures so far against each threshold, the proposer's key,\n"
		      "and what changes against the verified trust data here (targets added, removed or\n"
		      "changed; delegations; root roles' keys and thresholds).\n",
		      out);
	else if (!strcmp(verb, "approve"))
		fputs("Usage: wharf trust approve [-s URL] [--key FILE] [--json] GUN ID\n"
		      "\n"
		      "Check staged change ID of GUN against the verified trust data here (it must be the next\n"
		      "version of its role, and every signature on it must verify with a distinct key of the\n"
		      "role), show what it changes, and add this client's signature over the same signed\n"
		      "bytes. wharfd publishes the change once every threshold is met.\n"
		      "The key: --key FILE (an encrypted private key; passphrase WHARF_DELEGATION_PASSPHRASE\n"
		      "for delegated roles, else WHARF_<ROLE>_PASSPHRASE), else the role's key held under\n"
		      "$WHARF_HOME/keys/<GUN>/ (root: a file or a PKCS#11 token).\n",
		      out);
	else
		fputs("Usage: wharf trust threshold [-s URL] [--add-key KEYFILE]... [--remove-key ID]... GUN ROLE K\n"
		      "\n"
		      "Require K signatures of ROLE, adding the keys of the KEYFILEs (PEM public keys or\n"
		      "certificates, or wharf .pub files; root keys must be certificates with CN=GUN, e.g. from\n"
		      "'wharf trust key generate --cert GUN') to it first.\n"
		      "root, targets, snapshot, timestamp: a new root, signed by the root key held here;\n"
		      "targets/NAME: its delegator's metadata, signed by the delegator's key held here (targets)\n"
		      "or --key FILE. When one signature does not meet the thresholds (a root change needs the\n"
		      "current root's threshold and the new root's), the change is proposed as pending and the\n"
		      "other key holders run 'wharf trust approve'.\n",
		      out);
	fputs("\nOptions:\n"
	      "  -s, --server URL    the trust server (default $WHARF_TRUST_SERVER or " DEFAULT_SERVER ")\n",
	      out);
	if (!strcmp(verb, "approve"))
		fputs("      --key FILE      sign with this private key file, or a key on a token:\n"
		      "                      pkcs11:token=LABEL;object=KEYLABEL (WHARF_PKCS11_MODULE, _PIN)\n", out);
	if (!strcmp(verb, "threshold"))
		fputs("      --add-key FILE  add this public key to ROLE (repeatable)\n"
		      "      --remove-key ID take the key with this ID (or unique prefix) out of ROLE\n"
		      "                      (root, targets, snapshot, timestamp; repeatable)\n"
		      "      --path P        a delegation's path prefix (repeatable; a new one gets every path)\n"
		      "      --key FILE      the delegator's private key for a nested delegation\n",
		      out);
	if (strcmp(verb, "threshold") != 0)
		fputs("      --json          print JSON\n", out);
	fputs("  -h, --help          show this help\n"
	      "\nExit status: 0 success (approve: the signature was added), 1 failure (a refused or\n"
	      "outdated change, a key not of the role), 2 bad usage.\n",
	      out);
}

static int parse_opts(int argc, char **argv, const char *verb, struct pending_opts *o, int nargs)
{
	enum { OPT_JSON = 256, OPT_KEY, OPT_ADD, OPT_REMOVE, OPT_PATH };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"json", no_argument, NULL, OPT_JSON},
		{"key", required_argument, NULL, OPT_KEY}, {"add-key", required_argument, NULL, OPT_ADD},
		{"remove-key", required_argument, NULL, OPT_REMOVE}, {"path", required_argument, NULL, OPT_PATH},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o->server = env && *env ? env : DEFAULT_SERVER;
	bool is_threshold = !strcmp(verb, "threshold");
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case 's': o->server = optarg; break;
		case OPT_JSON: o->json = true; ok = !is_threshold; break;
		case OPT_KEY: o->key_file = optarg; ok = strcmp(verb, "pending") != 0; break;
		case OPT_ADD:
			ok = is_threshold && o->npub < MAX_KEYS;
			if (ok)
				o->pub[o->npub++] = optarg;
			break;
		case OPT_REMOVE:
			ok = is_threshold && o->nremove < MAX_KEYS;
			if (ok)
				o->remove[o->nremove++] = optarg;
			break;
		case OPT_PATH:
			ok = is_threshold;
			if (ok && !o->paths)
				o->paths = json_array();
			if (ok)
				json_array_append_new(o->paths, json_string(optarg));
			break;
		case 'h': usage(stdout, verb); return EXIT_OK;
		default: ok = false; break;
		}
		if (!ok) {
			usage(stderr, verb);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != nargs) {
		fprintf(stderr, "wharf trust %s: expected %d argument%s (see --help)\n", verb, nargs, nargs == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	return -1;
}

static int fail(const char *verb, const char *what, const struct wharf_error *err)
{
	fprintf(stderr, "wharf trust %s: %s: %s\n", verb, what, err->message);
	return EXIT_FAILURE_RUNTIME;
}

bool wharf_cli_trust_needs_more(const struct wharf_trust_repo *repo, const char *role)
{
	ssize_t idx = wharf_trust_repo_find(repo, role);
	struct wharf_trust_role_info ri;
	if (idx >= 0) {
		wharf_trust_repo_role(repo, (size_t)idx, &ri);
		return ri.threshold > 1;
	}
	/* A delegated role with nothing published yet: its delegator's entry says. */
	char parent[256];
	wharf_trust_deleg_parent(role, parent, sizeof(parent));
	if (!wharf_str_has_prefix(role, "targets/") || (idx = wharf_trust_repo_find(repo, parent)) < 0)
		return false;
	wharf_trust_repo_role(repo, (size_t)idx, &ri);
	json_t *d = wharf_trust_deleg_find(ri.meta->signed_obj, role);
	return json_integer_value(json_object_get(d, "threshold")) > 1;
}

/* "1 of 2 by targets (root version 3)" for every threshold of every file, as the server counted. */
static void print_counts(const json_t *p)
{
	size_t i, k, n = 0;
	json_t *f, *t;
	json_array_foreach(json_object_get(p, "files"), i, f) {
		json_array_foreach(json_object_get(f, "thresholds"), k, t)
			printf("%s%lld of %lld by %s", n++ ? "; " : "", (long long)json_integer_value(json_object_get(t, "signed")),
			       (long long)json_integer_value(json_object_get(t, "threshold")),
			       json_string_value(json_object_get(t, "keys")));
	}
}

int wharf_cli_trust_propose(const char *server, const char *gun, const struct wharf_tuf_upload *files, size_t n,
			    bool *published, struct wharf_error *err)
{
	*published = false;
	json_t *list = json_array(), *answer = NULL;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *metadata = NULL;
		if ((r = wharf_json_parse(&metadata, files[i].data, files[i].len, WHARF_TUF_FILE_MAX, err)) == 0)
			json_array_append_new(list, json_pack("{s:s, s:o}", "role", files[i].role, "metadata", metadata));
	}
	json_t *body = json_pack("{s:o}", "files", list);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (r == 0)
		r = wharf_trust_http_json(server, gun, "pending", text, &answer, err);
	free(text);
	if (r < 0)
		return r;
	const char *state = json_string_value(json_object_get(answer, "state"));
	*published = state && !strcmp(state, "published");
	long long id = (long long)json_integer_value(json_object_get(answer, "id"));
	printf("%s of %s: pending change %lld, signatures: ", json_string_value(json_object_get(answer, "roles")), gun, id);
	print_counts(answer);
	if (*published)
		printf("; published\n");
	else
		printf("; other signers approve with: wharf trust approve %s %lld\n", gun, id);
	json_decref(answer);
	return 0;
}

/* ---- approve ---- */

/* One set of keys a file of a change must be signed by, to a threshold. */
struct authority {
	const json_t *keys, *keyids;
	int64_t threshold;
};

/* One file of a change, checked against the verified repository. */
struct file_check {
	const char *role;
	struct wharf_tuf_meta m;
	json_t *diff;
	struct authority a[2];
	size_t na;
	struct wharf_strv fprs; /* the keys that signed it */
};

static void file_check_free(struct file_check *f)
{
	wharf_tuf_meta_free(&f->m);
	if (f->diff)
		json_decref(f->diff);
	wharf_strv_free(&f->fprs);
}

static const struct file_check *find_file(const struct file_check *fc, size_t n, const char *role)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fc[i].role, role))
			return &fc[i];
	return NULL;
}

/* What file f answers to: for root the verified root's root role and the new root's; for targets
 * root's targets role (the change's new root if it has one); for a delegation its delegator's
 * entry (the change's new delegator if it has one). */
static int authorities_of(const struct wharf_trust_repo *repo, const struct file_check *fc, size_t n,
			  struct file_check *f, struct wharf_error *err)
{
	const struct file_check *new_root = find_file(fc, n, "root");
	f->na = 0;
	if (!strcmp(f->role, "root") || (!strcmp(f->role, "targets") && !new_root)) {
		struct wharf_trust_role_info ri;
		ssize_t idx = wharf_trust_repo_find(repo, f->role);
		if (idx < 0)
			return wharf_error_set(err, WHARF_EINVAL, "%s has no verified %s", wharf_trust_repo_gun(repo), f->role);
		wharf_trust_repo_role(repo, (size_t)idx, &ri);
		f->a[f->na++] = (struct authority){ri.keys, ri.keyids, ri.threshold};
	}
	const json_t *root_signed = !strcmp(f->role, "root") ? f->m.signed_obj : new_root ? new_root->m.signed_obj : NULL;
	if (root_signed && (!strcmp(f->role, "root") || !strcmp(f->role, "targets"))) {
		json_t *e = json_object_get(json_object_get(root_signed, "roles"), f->role);
		f->a[f->na++] = (struct authority){json_object_get(root_signed, "keys"), json_object_get(e, "keyids"),
						   json_integer_value(json_object_get(e, "threshold"))};
	}
	if (wharf_str_has_prefix(f->role, "targets/")) {
		char parent[256];
		wharf_trust_deleg_parent(f->role, parent, sizeof(parent));
		const struct file_check *pf = find_file(fc, n, parent);
		const json_t *ps = pf ? pf->m.signed_obj : NULL;
		if (!ps) {
			ssize_t pidx = wharf_trust_repo_find(repo, parent);
			struct wharf_trust_role_info ri;
			if (pidx >= 0) {
				wharf_trust_repo_role(repo, (size_t)pidx, &ri);
				ps = ri.meta->signed_obj;
			}
		}
		json_t *d = ps ? wharf_trust_deleg_find(ps, f->role) : NULL;
		if (!d)
			return wharf_error_set(err, WHARF_EINVAL, "%s is not delegated in the verified trust data", f->role);
		f->a[f->na++] = (struct authority){json_object_get(json_object_get(ps, "delegations"), "keys"),
						   json_object_get(d, "keyids"), json_integer_value(json_object_get(d, "threshold"))};
	}
	if (f->na == 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s is not a role a change can hold", f->role);
	return 0;
}

/* Every signature on the file verifies with a distinct key of the role; fprs collects the keys. */
static int check_existing(struct file_check *f, struct wharf_error *err)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(f->m.doc, "signatures"), i, s) {
		char fpr[65];
		int ok = -1;
		for (size_t k = 0; k < f->na && ok < 0; k++)
			ok = wharf_tuf_check_signature(&f->m, s, f->role, f->a[k].keys, f->a[k].keyids, fpr, err);
		if (ok < 0)
			return wharf_error_prefix(err, "the change carries a signature that does not verify here");
		for (size_t k = 0; k < f->fprs.n; k++)
			if (!strcmp(f->fprs.v[k], fpr))
				return wharf_error_set(err, WHARF_EINVAL, "%s: the change carries two signatures by one key", f->role);
		wharf_strv_push(&f->fprs, fpr);
	}
	return 0;
}

static bool in_authorities(const struct authority *a, size_t na, const char *id)
{
	for (size_t k = 0; k < na; k++)
		if (wharf_json_array_has_string(a[k].keyids, id))
			return true;
	return false;
}

/* A private key file, matched to a certificate key of keys ({id: key}) when it is the bare key of one. */
static int load_key_file(const char *file, const char *role, const json_t *keys, struct wharf_key **out,
			 struct wharf_error *err)
{
	_cleanup_free_ char *pem = NULL, *pass = NULL;
	size_t len = 0;
	const char *var = getenv("WHARF_KEY_PASSPHRASE");
	if (wharf_str_has_prefix(file, "pkcs11:"))
		return wharf_cli_trust_hsm_uri_key(file, out, err);
	int r = wharf_read_file(file, 1u << 20, &pem, &len, err);
	if (r == 0 && var && *var)
		pass = wharf_xstrdup(var);
	else if (r == 0 && wharf_str_has_prefix(role, "targets/"))
		r = wharf_cli_passphrase_var("WHARF_DELEGATION_PASSPHRASE", "the delegation key", false, &pass, err);
	else if (r == 0)
		r = wharf_cli_trust_passphrase(role, false, &pass, err);
	if (r == 0)
		r = wharf_key_private_from_pem(out, pem, len, pass, NULL, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s", file);
	const char *kid;
	json_t *v;
	json_object_foreach((json_t *)keys, kid, v) {
		struct wharf_key *cert = NULL, *full = NULL;
		struct wharf_error e2;
		if (wharf_key_from_json(&cert, v, WHARF_DIALECT_NOTARY, &e2) < 0)
			continue;
		enum wharf_key_type t = wharf_key_type(cert);
		if ((t == WHARF_KEY_ECDSA_X509 || t == WHARF_KEY_RSA_X509) &&
		    wharf_key_private_from_pem(&full, pem, len, pass, cert, &e2) == 0) {
			wharf_key_free(*out);
			*out = full;
			wharf_key_free(cert);
			return 0;
		}
		wharf_key_free(cert);
	}
	return 0;
}

/* This client's key for file f: --key FILE, else the role's key held here (root, targets);
 * *out NULL when it holds none. */
static int approval_key(const char *gun, const struct file_check *f, const struct pending_opts *o,
			struct wharf_key **out, struct wharf_error *err)
{
	*out = NULL;
	/* Certificates for a root key: those of the current and of the new root. */
	json_t *keys = json_object();
	for (size_t k = 0; k < f->na; k++)
		json_object_update(keys, (json_t *)f->a[k].keys);
	int r = 0;
	_cleanup_free_ char *home = NULL;
	if (o->key_file)
		r = load_key_file(o->key_file, f->role, keys, out, err);
	else if (!wharf_str_has_prefix(f->role, "targets/") && (r = wharf_cli_home(&home, err)) == 0 &&
		 (r = wharf_cli_trust_load_key(home, gun, f->role, keys, out, err)) == -WHARF_ENOTFOUND)
		r = 0;
	json_decref(keys);
	return r;
}

static void print_names(const char *label, const json_t *a)
{
	if (!json_array_size(a))
		return;
	printf("  %s:", label);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		printf(" %s", json_string_value(v));
	printf("\n");
}

static void print_roles_diff(const char *label, const json_t *roles)
{
	const char *name;
	json_t *d;
	json_object_foreach((json_t *)roles, name, d) {
		json_t *th = json_object_get(d, "threshold");
		printf("  %s %s: threshold %lld -> %lld", label, name, (long long)json_integer_value(json_array_get(th, 0)),
		       (long long)json_integer_value(json_array_get(th, 1)));
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(d, "keys_added"), i, v)
			printf(", +key %.16s", json_string_value(v));
		json_array_foreach(json_object_get(d, "keys_removed"), i, v)
			printf(", -key %.16s", json_string_value(v));
		if (json_object_get(d, "paths"))
			printf(", paths changed");
		printf("\n");
	}
}

static void print_diff(const json_t *diff)
{
	json_t *t = json_object_get(diff, "targets");
	print_names("targets added", json_object_get(t, "added"));
	print_names("targets removed", json_object_get(t, "removed"));
	print_names("targets changed", json_object_get(t, "changed"));
	json_t *d = json_object_get(diff, "delegations");
	print_names("delegations added", json_object_get(d, "added"));
	print_names("delegations removed", json_object_get(d, "removed"));
	print_roles_diff("delegation", json_object_get(d, "changed"));
	print_roles_diff("role", json_object_get(diff, "roles"));
}

/* File e of a change parsed, diffed against the verified role, and checked to be its next version. */
static int examine(const struct wharf_trust_repo *repo, long long id, const json_t *e, struct file_check *f,
		   struct wharf_error *err)
{
	f->role = json_string_value(json_object_get(e, "role"));
	char *text = json_dumps(json_object_get(e, "metadata"), JSON_COMPACT);
	int r = f->role && text ? wharf_tuf_parse(&f->m, f->role, text, strlen(text), err)
				: wharf_error_set(err, WHARF_EINVAL, "the server's answer has a file without role or metadata");
	free(text);
	if (r < 0)
		return r;
	ssize_t idx = wharf_trust_repo_find(repo, f->role);
	struct wharf_trust_role_info ri = {0};
	if (idx >= 0)
		wharf_trust_repo_role(repo, (size_t)idx, &ri);
	json_t *empty = json_object();
	f->diff = wharf_trust_change_diff(idx >= 0 ? ri.meta->signed_obj : empty, f->m.signed_obj);
	json_decref(empty);
	int64_t current = idx >= 0 ? ri.meta->version : 0;
	if (f->m.version != current + 1 && !(current == 0 && f->m.version >= 1))
		return wharf_error_set(err, WHARF_EBUSY,
				       "pending change %lld is outdated: its %s version %lld is based on version %lld, but "
				       "the verified version is %lld; propose it again from the current data",
				       id, f->role, (long long)f->m.version, (long long)f->m.version - 1, (long long)current);
	return 0;
}

/* Examine and check every file of change p; *n files in fc. */
static int examine_all(const struct wharf_trust_repo *repo, const json_t *p, struct file_check *fc, size_t *n,
		       struct wharf_error *err)
{
	json_t *files = json_object_get(p, "files");
	long long id = (long long)json_integer_value(json_object_get(p, "id"));
	*n = 0;
	if (!json_is_array(files) || json_array_size(files) == 0 || json_array_size(files) > 8)
		return wharf_error_set(err, WHARF_EINVAL, "pending change %lld has no files", id);
	int r = 0;
	for (size_t i = 0; i < json_array_size(files); i++) {
		memset(&fc[i], 0, sizeof(fc[i]));
		(*n)++;
		if (r == 0)
			r = examine(repo, id, json_array_get(files, i), &fc[i], err);
	}
	for (size_t i = 0; r == 0 && i < *n; i++)
		r = authorities_of(repo, fc, *n, &fc[i], err);
	for (size_t i = 0; r == 0 && i < *n; i++)
		r = check_existing(&fc[i], err);
	return r;
}

/* Sign every file of the change this client holds a key for: sigs gets {role: [sig]}. */
static int sign_files(const char *gun, struct file_check *fc, size_t n, const struct pending_opts *o, json_t *sigs,
		      struct wharf_error *err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct wharf_key *key = NULL;
		if ((r = approval_key(gun, &fc[i], o, &key, err)) < 0 || !key)
			continue;
		char id[65], fpr[65];
		wharf_key_id(key, WHARF_DIALECT_NOTARY, id);
		wharf_key_id(key, WHARF_DIALECT_TUF, fpr);
		bool signed_already = false;
		for (size_t k = 0; k < fc[i].fprs.n; k++)
			signed_already = signed_already || !strcmp(fc[i].fprs.v[k], fpr);
		json_t *sig = NULL;
		if (signed_already)
			fprintf(stderr, "wharf trust approve: key %.16s signed %s of this change already\n", id, fc[i].role);
		else if (in_authorities(fc[i].a, fc[i].na, id) &&
			 (r = wharf_trust_signature_of(fc[i].m.signed_obj, key, &sig, err)) == 0)
			json_object_set_new(sigs, fc[i].role, json_pack("[o]", sig));
		wharf_key_free(key);
	}
	if (r == 0 && json_object_size(sigs) == 0)
		r = wharf_error_set(err, WHARF_EINVAL, "this client holds no key that can still sign the change (%s%s)",
				    o->key_file ? "the key of " : "no key of its roles here",
				    o->key_file ? o->key_file : "");
	return r;
}

static int approve(const char *gun, const struct wharf_trust_repo *repo, const json_t *p, const struct pending_opts *o,
		   json_t **answer, struct wharf_error *err)
{
	const char *state = json_string_value(json_object_get(p, "state"));
	if (!state || strcmp(state, "pending") != 0)
		return wharf_error_set(err, WHARF_EINVAL, "the change is %s, not pending", state ? state : "in no state");
	struct file_check fc[8];
	size_t n = 0;
	json_t *sigs = json_object();
	int r = examine_all(repo, p, fc, &n, err);
	if (r == 0 && !o->json) {
		printf("change %lld, proposed by %.16s:\n", (long long)json_integer_value(json_object_get(p, "id")),
		       json_string_value(json_object_get(p, "proposer")));
		for (size_t i = 0; i < n; i++) {
			printf(" %s version %lld (based on %lld)\n", fc[i].role, (long long)fc[i].m.version,
			       (long long)fc[i].m.version - 1);
			print_diff(fc[i].diff);
		}
	}
	if (r == 0)
		r = sign_files(gun, fc, n, o, sigs, err);
	if (r == 0) {
		json_t *body = json_pack("{s:O}", "signatures", sigs);
		char *text = json_dumps(body, JSON_COMPACT);
		_cleanup_free_ char *path = wharf_xasprintf("pending/%lld/signatures",
							    (long long)json_integer_value(json_object_get(p, "id")));
		r = wharf_trust_http_json(o->server, gun, path, text, answer, err);
		free(text);
		json_decref(body);
	}
	json_decref(sigs);
	for (size_t i = 0; i < n; i++)
		file_check_free(&fc[i]);
	return r;
}

static int cmd_approve(const char *gun, const char *id_text, const struct pending_opts *o)
{
	struct wharf_error err;
	uint64_t id = 0;
	if (!wharf_parse_u64(id_text, strlen(id_text), &id) || id == 0 || id > INT64_MAX) {
		fprintf(stderr, "wharf trust approve: '%s' is not a change ID\n", id_text);
		return EXIT_USAGE;
	}
	struct wharf_trust_repo *repo = wharf_cli_trust_update("approve", gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	json_t *p = NULL, *answer = NULL;
	_cleanup_free_ char *path = wharf_xasprintf("pending/%llu", (unsigned long long)id);
	int r = wharf_trust_http_json(o->server, gun, path, NULL, &p, &err);
	if (r == 0)
		r = approve(gun, repo, p, o, &answer, &err);
	wharf_trust_repo_free(repo);
	if (p)
		json_decref(p);
	if (r < 0)
		return fail("approve", gun, &err);
	const char *state = json_string_value(json_object_get(answer, "state"));
	bool published = state && !strcmp(state, "published");
	if (o->json) {
		char *text = json_dumps(answer, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", text);
		free(text);
	} else {
		printf("approved change %llu: ", (unsigned long long)id);
		print_counts(answer);
		printf("; %s\n", published ? "published" : "more signatures needed");
	}
	json_decref(answer);
	/* A published change must now verify here like any other trust data. */
	if (published && !(repo = wharf_cli_trust_update("approve", gun, o->server, NULL)))
		return EXIT_FAILURE_RUNTIME;
	if (published)
		wharf_trust_repo_free(repo);
	return EXIT_OK;
}

/* ---- pending ---- */

static json_t *pending_row(const struct wharf_trust_repo *repo, const json_t *p, bool text)
{
	struct file_check fc[8];
	size_t n = 0;
	struct wharf_error e;
	bool ok = examine_all(repo, p, fc, &n, &e) == 0;
	json_t *row = json_deep_copy(p);
	json_t *files = json_object_get(row, "files");
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		json_object_del(f, "metadata");
		json_object_set_new(f, "changes", i < n && fc[i].diff ? json_incref(fc[i].diff) : json_object());
	}
	json_object_set_new(row, "approvable", json_boolean(ok));
	if (!ok)
		json_object_set_new(row, "problem", json_string(e.message));
	if (text) {
		printf("%-4lld %s, proposer %.16s, signatures: ", (long long)json_integer_value(json_object_get(p, "id")),
		       json_string_value(json_object_get(p, "roles")), json_string_value(json_object_get(p, "proposer")));
		print_counts(p);
		printf("\n");
		if (!ok)
			printf("  NOT APPROVABLE: %s\n", e.message);
		for (size_t i = 0; i < n; i++) {
			printf("  %s version %lld (based on %lld)\n", fc[i].role, (long long)fc[i].m.version,
			       (long long)fc[i].m.version - 1);
			if (fc[i].diff)
				print_diff(fc[i].diff);
		}
	}
	for (size_t i = 0; i < n; i++)
		file_check_free(&fc[i]);
	return row;
}

static int cmd_pending(const char *gun, const struct pending_opts *o)
{
	struct wharf_error err;
	struct wharf_trust_repo *repo = wharf_cli_trust_update("pending", gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	json_t *answer = NULL;
	int r = wharf_trust_http_json(o->server, gun, "pending", NULL, &answer, &err);
	if (r < 0) {
		wharf_trust_repo_free(repo);
		return fail("pending", gun, &err);
	}
	json_t *list = json_object_get(answer, "pending");
	json_t *out = json_pack("{s:s, s:[]}", "gun", gun, "pending");
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
		json_array_append_new(json_object_get(out, "pending"), pending_row(repo, p, !o->json));
	if (o->json) {
		char *text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", text);
		free(text);
	} else if (!json_array_size(list)) {
		printf("no pending changes for %s\n", gun);
	}
	json_decref(out);
	json_decref(answer);
	wharf_trust_repo_free(repo);
	return EXIT_OK;
}

/* ---- threshold ---- */

static int read_keys(const struct pending_opts *o, struct wharf_key **keys, struct wharf_error *err)
{
	for (size_t i = 0; i < o->npub; i++) {
		int r = wharf_cli_trust_read_public_key(&keys[i], o->pub[i], err);
		if (r < 0)
			return wharf_error_prefix(err, "%s", o->pub[i]);
	}
	return 0;
}

/* Publish the files (each with one signature) when that meets their thresholds (alone), with a
 * snapshot when this client holds that key; else propose them together as a pending change. */
static int submit(const char *home, const char *gun, const char *server, const struct wharf_trust_repo *repo,
		  struct wharf_tuf_upload *files, size_t n, bool alone, struct wharf_error *err)
{
	bool published = false;
	if (!alone)
		return wharf_cli_trust_propose(server, gun, files, n, &published, err);
	struct wharf_key *sk = NULL;
	struct wharf_buf snap;
	wharf_buf_init(&snap);
	struct wharf_tuf_upload all[4];
	memcpy(all, files, n * sizeof(*files));
	all[n] = (struct wharf_tuf_upload){.role = "snapshot"};
	int r = wharf_cli_trust_snapshot_key(home, gun, repo, &sk, err);
	if (r == 0 && sk && (r = wharf_trust_snapshot_next(&snap, repo, files, n, sk, wharf_now() + ROLE_LIFETIME, err)) == 0) {
		all[n].data = snap.data;
		all[n].len = snap.len;
	}
	if (r == 0 && (r = wharf_trust_http_publish(server, gun, all, sk ? n + 1 : n, err)) == 0)
		printf("%s of %s published\n", files[0].role, gun);
	wharf_key_free(sk);
	wharf_buf_free(&snap);
	return r;
}

/* Sign the new root (taken) with the root key held here; when targets' keys or threshold change,
 * targets re-signed (same content, next version) with the targets key held here goes with it,
 * since the stored targets must meet the new root's targets threshold. Published at once when
 * these signatures meet every threshold, else proposed. */
static int root_change(const char *home, const char *gun, const char *server, const struct wharf_trust_repo *repo,
		       const char *role, json_t *s, struct wharf_error *err)
{
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)wharf_trust_repo_find(repo, "root"), &ri);
	json_t *roles = json_object_get(s, "roles");
	int64_t new_root_th = json_integer_value(json_object_get(json_object_get(roles, "root"), "threshold"));
	int64_t new_targets_th = json_integer_value(json_object_get(json_object_get(roles, "targets"), "threshold"));
	bool with_targets = !strcmp(role, "targets");
	struct wharf_key *rk = NULL, *tk = NULL;
	struct wharf_buf out, targets;
	wharf_buf_init(&out);
	wharf_buf_init(&targets);
	int r = wharf_cli_trust_load_key(home, gun, "root", json_object_get(s, "keys"), &rk, err);
	if (r == 0 && with_targets)
		r = wharf_cli_trust_load_key(home, gun, "targets", NULL, &tk, err);
	if (r == 0 && with_targets)
		r = wharf_trust_role_resign(&targets, repo, "targets", NULL, 0, tk, wharf_now() + ROLE_LIFETIME, err);
	if (r == 0)
		r = wharf_trust_sign_signed(s, &rk, 1, &out, err);
	else
		json_decref(s);
	struct wharf_tuf_upload files[2] = {{.role = "root", .data = out.data, .len = out.len},
					    {.role = "targets", .data = targets.data, .len = targets.len}};
	if (r == 0)
		r = submit(home, gun, server, repo, files, with_targets ? 2 : 1,
			   ri.threshold <= 1 && new_root_th <= 1 && (!with_targets || new_targets_th <= 1), err);
	wharf_key_free(rk);
	wharf_key_free(tk);
	wharf_buf_free(&out);
	wharf_buf_free(&targets);
	return r;
}

/* The delegator's key: --key FILE, or the targets key held here. */
static int delegator_key(const char *home, const char *gun, const struct pending_opts *o,
			 const struct wharf_trust_repo *repo, const char *parent, struct wharf_key **out,
			 struct wharf_error *err)
{
	if (!o->key_file)
		return strcmp(parent, "targets") ? wharf_error_set(err, WHARF_EINVAL, "give the key of %s with --key FILE", parent)
						 : wharf_cli_trust_load_key(home, gun, "targets", NULL, out, err);
	ssize_t idx = wharf_trust_repo_find(repo, parent);
	struct wharf_trust_role_info ri = {0};
	if (idx >= 0)
		wharf_trust_repo_role(repo, (size_t)idx, &ri);
	return load_key_file(o->key_file, parent, ri.keys, out, err);
}

/* The delegator's next version with role's keys and threshold changed, signed and published or proposed. */
static int delegation_change(const char *home, const char *gun, const struct pending_opts *o,
			     const struct wharf_trust_repo *repo, const char *role, struct wharf_key **keys, int64_t k,
			     struct wharf_error *err)
{
	char parent[256];
	wharf_trust_deleg_parent(role, parent, sizeof(parent));
	json_t *s = wharf_trust_deleg_edit_begin(repo, parent);
	if (!s)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no verified %s to delegate %s", gun, parent, role);
	if (!wharf_trust_deleg_find(s, role) && o->npub == 0) {
		json_decref(s);
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s does not delegate %s (add a signer first)", parent, role);
	}
	/* A new nested delegation gets its delegator's paths in force unless told otherwise: every
	 * path ("") would count for nothing below a path-restricted delegator. */
	const json_t *paths = o->paths;
	ssize_t pidx = wharf_trust_repo_find(repo, parent);
	struct wharf_trust_role_info pi;
	if (!paths && !wharf_trust_deleg_find(s, role) && pidx >= 0) {
		wharf_trust_repo_role(repo, (size_t)pidx, &pi);
		paths = pi.paths;
	}
	int r = wharf_trust_deleg_add_keys(s, role, keys, o->npub, paths, k, err);
	struct wharf_key *pk = NULL;
	if (r == 0)
		r = delegator_key(home, gun, o, repo, parent, &pk, err);
	if (r < 0) {
		json_decref(s);
		wharf_key_free(pk);
		return r;
	}
	struct wharf_buf out;
	wharf_buf_init(&out);
	r = wharf_trust_deleg_edit_finish(&out, repo, parent, s, pk, wharf_now() + ROLE_LIFETIME, err);
	struct wharf_tuf_upload file = {.data = out.data, .len = out.len};
	snprintf(file.role, sizeof(file.role), "%s", parent);
	if (r == 0)
		r = submit(home, gun, o->server, repo, &file, 1, !wharf_cli_trust_needs_more(repo, parent), err);
	wharf_key_free(pk);
	wharf_buf_free(&out);
	return r;
}

static int cmd_threshold(const char *gun, const char *role, const char *k_text, const struct pending_opts *o)
{
	struct wharf_error err;
	uint64_t k = 0;
	if (!wharf_parse_u64(k_text, strlen(k_text), &k) || k == 0 || k > 64) {
		fprintf(stderr, "wharf trust threshold: K must be a number from 1 to 64, not '%s'\n", k_text);
		return EXIT_USAGE;
	}
	if (!wharf_tuf_valid_role(role)) {
		fprintf(stderr, "wharf trust threshold: '%s' is not a role name\n", role);
		return EXIT_USAGE;
	}
	if (o->paths && !wharf_str_has_prefix(role, "targets/")) {
		fprintf(stderr, "wharf trust threshold: --path is for delegated roles (targets/NAME), not %s\n", role);
		return EXIT_USAGE;
	}
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0)
		return fail("threshold", gun, &err);
	struct wharf_trust_repo *repo = wharf_cli_trust_update("threshold", gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	struct wharf_key *keys[MAX_KEYS] = {0};
	int r = read_keys(o, keys, &err);
	if (r == 0 && o->nremove && wharf_str_has_prefix(role, "targets/"))
		r = wharf_error_set(&err, WHARF_EINVAL, "take a signer's keys out with 'wharf trust signer remove --key ID'");
	else if (r == 0 && wharf_str_has_prefix(role, "targets/")) {
		r = delegation_change(home, gun, o, repo, role, keys, (int64_t)k, &err);
	} else if (r == 0) {
		json_t *s = NULL;
		r = wharf_trust_root_set_role(&s, repo, role, keys, o->npub, o->remove, o->nremove, (int64_t)k,
					      wharf_now() + ROOT_LIFETIME, &err);
		if (r == 0)
			r = root_change(home, gun, o->server, repo, role, s, &err);
	}
	for (size_t i = 0; i < o->npub; i++)
		wharf_key_free(keys[i]);
	wharf_trust_repo_free(repo);
	if (r < 0)
		return fail("threshold", gun, &err);
	/* Whatever the server serves now must verify here. */
	if (!(repo = wharf_cli_trust_update("threshold", gun, o->server, NULL)))
		return EXIT_FAILURE_RUNTIME;
	wharf_trust_repo_free(repo);
	return EXIT_OK;
}

static int run(const char *verb, int nargs, int argc, char **argv)
{
	struct pending_opts o = {0};
	int rc = parse_opts(argc, argv, verb, &o, nargs);
	char **args = argv + optind;
	wharf_log_set_level(WHARF_LOG_WARN);
	if (rc < 0 && !strcmp(verb, "pending"))
		rc = cmd_pending(args[0], &o);
	else if (rc < 0 && !strcmp(verb, "approve"))
		rc = cmd_approve(args[0], args[1], &o);
	else if (rc < 0)
		rc = cmd_threshold(args[0], args[1], args[2], &o);
	if (o.paths)
		json_decref(o.paths);
	return rc;
}

int wharf_cli_trust_pending(int argc, char **argv)
{
	return run("pending", 1, argc, argv);
}

int wharf_cli_trust_approve(int argc, char **argv)
{
	return run("approve", 2, argc, argv);
}

int wharf_cli_trust_threshold(int argc, char **argv)
{
	return run("threshold", 3, argc, argv);
}
