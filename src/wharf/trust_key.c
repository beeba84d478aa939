/* wharf trust key generate|list|export|import: the client's private keys under $WHARF_HOME/keys.
 * A key file is encrypted PKCS#8 (0600) with its public key JSON beside it (<file>.pub), so that
 * listing needs no passphrase and never reads private material. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "wharf/json.h"
#include "wharf/trust.h"

#define DEFAULT_SERVER "http://127.0.0.1:5000"
#define KEY_FILE_MAX (1u << 20)

struct key_opts {
	const char *type;
	const char *out;
	const char *server;
	const char *cert_cn; /* generate: a self-signed certificate with this CN (a root key of that GUN) */
	bool json, public_only, force;
};

static void key_usage(FILE *out)
{
	fputs("Usage: wharf trust key COMMAND [OPTIONS]\n"
	      "\n"
	      "  generate [--type ecdsa|ed25519|rsa] [--out FILE] [--cert GUN]\n"
	      "        make a key, encrypted with WHARF_KEY_PASSPHRASE (or asked), print its ID; stored\n"
	      "        under $WHARF_HOME/keys/.generated unless --out is given; --cert GUN makes it a root\n"
	      "        key of GUN (a self-signed certificate with CN=GUN, the ID is the certificate's)\n"
	      "  list [--json]\n"
	      "        every key under $WHARF_HOME/keys: GUN, role, key ID, type (no private material)\n"
	      "  export GUN ROLE [--out FILE] [--public]\n"
	      "        the encrypted key file as it is stored, or with --public the public key JSON\n"
	      "  import [-s URL] [--force] GUN ROLE FILE\n"
	      "        an encrypted PKCS#8 key (wharf's, openssl's or notary's), decrypted with\n"
	      "        WHARF_KEY_PASSPHRASE (or asked) and stored encrypted with WHARF_<ROLE>_PASSPHRASE;\n"
	      "        a root key is matched to its certificate in the GUN's verified root (from -s URL)\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
	      out);
}

static int parse_key_opts(int argc, char **argv, struct key_opts *o)
{
	enum { OPT_TYPE = 256, OPT_JSON, OPT_PUBLIC, OPT_FORCE, OPT_CERT };
	static const struct option opts[] = {
		{"type", required_argument, NULL, OPT_TYPE}, {"out", required_argument, NULL, 'o'},
		{"server", required_argument, NULL, 's'},    {"json", no_argument, NULL, OPT_JSON},
		{"public", no_argument, NULL, OPT_PUBLIC},   {"force", no_argument, NULL, OPT_FORCE},
		{"cert", required_argument, NULL, OPT_CERT},
		{"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o->server = env && *env ? env : DEFAULT_SERVER;
	o->type = "ecdsa";
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:s:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TYPE: o->type = optarg; break;
		case 'o': o->out = optarg; break;
		case 's': o->server = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_PUBLIC: o->public_only = true; break;
		case OPT_FORCE: o->force = true; break;
		case OPT_CERT: o->cert_cn = optarg; break;
		case 'h': key_usage(stdout); return EXIT_OK;
		default: key_usage(stderr); return EXIT_USAGE;
		}
	}
	return -1;
}

static int fail(const char *verb, const char *what, const struct wharf_error *err)
{
	fprintf(stderr, "wharf trust key %s: %s: %s\n", verb, what, err->message);
	return EXIT_FAILURE_RUNTIME;
}

/* --- generate --- */

static int cmd_generate(const struct key_opts *o)
{
	enum wharf_key_type t;
	if (!strcmp(o->type, "ecdsa"))
		t = WHARF_KEY_ECDSA;
	else if (!strcmp(o->type, "ed25519"))
		t = WHARF_KEY_ED25519;
	else if (!strcmp(o->type, "rsa"))
		t = WHARF_KEY_RSA;
	else {
		fprintf(stderr, "wharf trust key generate: --type is ecdsa, ed25519 or rsa, not '%s'\n", o->type);
		return EXIT_USAGE;
	}
	struct wharf_error err;
	_cleanup_free_ char *home = NULL, *pass = NULL, *path = NULL;
	struct wharf_key *k = NULL;
	int r = o->out ? 0 : wharf_cli_home(&home, &err);
	if (r == 0)
		r = wharf_cli_passphrase_var("WHARF_KEY_PASSPHRASE", "the new key", true, &pass, &err);
	if (r == 0)
		r = wharf_key_generate(&k, t, &err);
	if (r == 0 && o->cert_cn) {
		struct wharf_key *cert = NULL;
		if (t == WHARF_KEY_ED25519)
			r = wharf_error_set(&err, WHARF_EINVAL, "a root certificate key is ecdsa or rsa, not ed25519");
		else if ((r = wharf_tuf_check_gun(o->cert_cn, &err)) == 0 &&
			 (r = wharf_key_make_x509(&cert, k, o->cert_cn, 3650, &err)) == 0) {
			wharf_key_free(k);
			k = cert;
		}
	}
	char id[65] = "";
	if (r == 0) {
		wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
		if (o->out) {
			path = wharf_xstrdup(o->out);
		} else {
			_cleanup_free_ char *dir = wharf_xasprintf("%s/keys/.generated", home);
			path = wharf_xasprintf("%s/%s.key", dir, id);
			r = wharf_mkdir_p(dir, 0700, &err);
		}
	}
	if (r == 0)
		r = wharf_cli_trust_write_key(path, k, pass, &err);
	wharf_key_free(k);
	if (r < 0)
		return fail("generate", path ? path : o->type, &err);
	printf("%s\n", id);
	fprintf(stderr, "%s key %s written to %s (public key in %s.pub)\n", o->type, id, path, path);
	return EXIT_OK;
}

/* --- list --- */

struct key_row {
	char *gun, *role, *id, *type, *file;
};

static char *unescape(const char *s)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (const char *p = s; *p; p++) {
		unsigned v;
		if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1 && p[1] && p[2]) {
			char c = (char)v;
			wharf_buf_append(&b, &c, 1);
			p += 2;
		} else {
			wharf_buf_append(&b, p, 1);
		}
	}
	wharf_buf_append(&b, "", 0);
	return wharf_buf_steal(&b);
}

/* Key ID and type from the .pub side file; "-" when there is none (a key written before them). */
static void public_of(const char *path, struct key_row *row)
{
	_cleanup_free_ char *pub_path = wharf_xasprintf("%s.pub", path);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	struct wharf_error err;
	json_t *doc = NULL;
	struct wharf_key *k = NULL;
	if (wharf_read_file(pub_path, KEY_FILE_MAX, &text, &len, &err) == 0 &&
	    wharf_json_parse(&doc, text, len, KEY_FILE_MAX, &err) == 0 &&
	    wharf_key_from_json(&k, doc, WHARF_DIALECT_NOTARY, &err) == 0) {
		char id[65];
		wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
		row->id = wharf_xstrdup(id);
		row->type = wharf_xstrdup(wharf_key_type_name(wharf_key_type(k)));
	} else {
		row->id = wharf_xstrdup("-");
		row->type = wharf_xstrdup("-");
	}
	wharf_key_free(k);
	if (doc)
		json_decref(doc);
}

static bool is_key_file(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && !strcmp(name + n - 4, ".key") && name[0] != '.';
}

static void list_dir(const char *keys, const char *sub, struct key_row **rows, size_t *n)
{
	_cleanup_free_ char *dir = wharf_xasprintf("%s/%s", keys, sub);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_key_file(e->d_name))
			continue;
		*rows = wharf_xrealloc(*rows, (*n + 1) * sizeof(**rows));
		struct key_row *row = &(*rows)[(*n)++];
		row->file = wharf_xasprintf("%s/%s", dir, e->d_name);
		bool generated = !strcmp(sub, ".generated");
		row->gun = generated ? wharf_xstrdup("-") : unescape(sub);
		row->role = generated ? wharf_xstrdup("-") : wharf_xstrndup(e->d_name, strlen(e->d_name) - 4);
		public_of(row->file, row);
	}
	closedir(d);
}

static int row_cmp(const void *a, const void *b)
{
	const struct key_row *x = a, *y = b;
	int c = strcmp(x->gun, y->gun);
	return c ? c : strcmp(x->role, y->role) ? strcmp(x->role, y->role) : strcmp(x->file, y->file);
}

static void print_rows(const struct key_row *rows, size_t n, bool json)
{
	if (!json) {
		printf("%-40s %-20s %-64s %s\n", "GUN", "ROLE", "KEY ID", "TYPE");
		for (size_t i = 0; i < n; i++)
			printf("%-40s %-20s %-64s %s\n", rows[i].gun, rows[i].role, rows[i].id, rows[i].type);
		return;
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"keys\":[");
	for (size_t i = 0; i < n; i++) {
		const char *f[][2] = {{"gun", rows[i].gun}, {"role", rows[i].role}, {"id", rows[i].id},
				      {"type", rows[i].type}, {"file", rows[i].file}};
		for (size_t j = 0; j < 5; j++) {
			wharf_buf_printf(&b, "%s\"%s\":", j ? "," : i ? ",{" : "{", f[j][0]);
			if (!strcmp(f[j][1], "-"))
				wharf_buf_puts(&b, "null");
			else
				wharf_buf_json_string(&b, f[j][1]);
		}
		wharf_buf_puts(&b, "}");
	}
	wharf_buf_puts(&b, "]}\n");
	fputs(b.data, stdout);
	wharf_buf_free(&b);
}

static int cmd_list(const struct key_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0)
		return fail("list", "$WHARF_HOME", &err);
	_cleanup_free_ char *keys = wharf_xasprintf("%s/keys", home);
	struct key_row *rows = NULL;
	size_t n = 0;
	DIR *d = opendir(keys);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			list_dir(keys, e->d_name, &rows, &n);
	if (d)
		closedir(d);
	qsort(rows, n, sizeof(*rows), row_cmp);
	print_rows(rows, n, o->json);
	for (size_t i = 0; i < n; i++) {
		free(rows[i].gun);
		free(rows[i].role);
		free(rows[i].id);
		free(rows[i].type);
		free(rows[i].file);
	}
	free(rows);
	return EXIT_OK;
}

/* --- export --- */

static int write_out(const char *out, const char *data, size_t len, unsigned mode, struct wharf_error *err)
{
	if (out)
		return wharf_atomic_write(out, data, len, mode, err);
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
		return wharf_error_sys(err, "cannot write to standard output");
	return 0;
}

static int cmd_export(const char *gun, const char *role, const struct key_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0)
		return fail("export", gun, &err);
	_cleanup_free_ char *path = wharf_cli_trust_key_path(home, gun, role);
	_cleanup_free_ char *src = o->public_only ? wharf_xasprintf("%s.pub", path) : wharf_xstrdup(path);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = wharf_read_file(src, KEY_FILE_MAX, &data, &len, &err);
	if (r == -WHARF_ENOTFOUND)
		r = wharf_error_set(&err, WHARF_ENOTFOUND, "this client holds no %s%s key (%s)", role,
				    o->public_only ? " public" : "", src);
	if (r == 0 && o->public_only) {
		data = wharf_xrealloc(data, len + 2);
		data[len++] = '\n';
		data[len] = '\0';
	}
	if (r == 0)
		r = write_out(o->out, data, len, o->public_only ? 0644 : 0600, &err);
	return r < 0 ? fail("export", gun, &err) : EXIT_OK;
}

/* --- import --- */

/* A root key is a certificate key: find the certificate among the verified root's root keys. */
static int root_cert_key(struct wharf_key **out, const char *gun, const char *server, const char *pem, size_t len,
			 const char *pass, struct wharf_error *err)
{
	struct wharf_trust_repo *repo = wharf_cli_trust_update("key import", gun, server, NULL);
	if (!repo)
		return wharf_error_set(err, WHARF_EINVAL, "a root key needs the GUN's verified trust data (see -s)");
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)wharf_trust_repo_find(repo, "root"), &ri);
	int r = wharf_error_set(err, WHARF_EINVAL, "the key is not a root key of %s (root version %lld)", gun,
				(long long)ri.meta->version);
	size_t i;
	json_t *id;
	json_array_foreach(ri.keyids, i, id) {
		struct wharf_key *cert = NULL;
		struct wharf_error e2;
		if (!json_is_string(id) ||
		    wharf_key_from_json(&cert, json_object_get(ri.keys, json_string_value(id)), WHARF_DIALECT_NOTARY, &e2) < 0)
			continue;
		if (wharf_key_private_from_pem(out, pem, len, pass, cert, &e2) == 0)
			r = 0;
		wharf_key_free(cert);
		if (r == 0)
			break;
	}
	wharf_trust_repo_free(repo);
	return r;
}

static int cmd_import(const char *gun, const char *role, const char *file, const struct key_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL, *pem = NULL, *pass = NULL, *new_pass = NULL;
	size_t len = 0;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0)
		return fail("import", gun, &err);
	if (!wharf_tuf_valid_role(role)) {
		fprintf(stderr, "wharf trust key import: '%s' is not a role name\n", role);
		return EXIT_USAGE;
	}
	_cleanup_free_ char *path = wharf_cli_trust_key_path(home, gun, role);
	if (!o->force && access(path, F_OK) == 0) {
		fprintf(stderr, "wharf trust key import: this client holds a %s key for %s already (%s; --force replaces it)\n",
			role, gun, path);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_key *k = NULL;
	_cleanup_free_ char *what = wharf_xasprintf("%s", file);
	int r = wharf_read_file(file, KEY_FILE_MAX, &pem, &len, &err);
	if (r == 0)
		r = wharf_cli_passphrase_var("WHARF_KEY_PASSPHRASE", what, false, &pass, &err);
	if (r == 0 && !strcmp(role, "root"))
		r = root_cert_key(&k, gun, o->server, pem, len, pass, &err);
	else if (r == 0)
		r = wharf_key_private_from_pem(&k, pem, len, pass, NULL, &err);
	if (r == 0)
		r = wharf_cli_trust_passphrase(role, true, &new_pass, &err);
	_cleanup_free_ char *dir = r == 0 ? wharf_xstrndup(path, (size_t)(strrchr(path, '/') - path)) : NULL;
	if (r == 0)
		r = wharf_mkdir_p(dir, 0700, &err);
	if (r == 0)
		r = wharf_cli_trust_write_key(path, k, new_pass, &err);
	char id[65] = "";
	if (r == 0)
		wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	wharf_key_free(k);
	if (r < 0)
		return fail("import", file, &err);
	printf("imported %s key %s for %s into %s\n", role, id, gun, path);
	return EXIT_OK;
}

int wharf_cli_trust_key(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		key_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *verb = argv[1];
	struct key_opts o = {0};
	int rc = parse_key_opts(argc - 1, argv + 1, &o);
	if (rc >= 0)
		return rc;
	wharf_log_set_level(WHARF_LOG_WARN);
	char **args = argv + 1 + optind;
	int nargs = argc - 1 - optind;
	if (!strcmp(verb, "generate") && nargs == 0)
		return cmd_generate(&o);
	if (!strcmp(verb, "list") && nargs == 0)
		return cmd_list(&o);
	if (!strcmp(verb, "export") && nargs == 2)
		return cmd_export(args[0], args[1], &o);
	if (!strcmp(verb, "import") && nargs == 3)
		return cmd_import(args[0], args[1], args[2], &o);
	fprintf(stderr, "wharf trust key: '%s' with %d argument%s is not a key command (see --help)\n", verb, nargs,
		nargs == 1 ? "" : "s");
	return EXIT_USAGE;
}
