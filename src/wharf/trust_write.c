/* wharf trust init / sign / revoke: the client's keys and publishing to a Notary-protocol server.
 * Private keys live under $WHARF_HOME/keys/<GUN escaped>/<role>.key (0600, directories 0700),
 * each an encrypted PKCS#8 PEM whose passphrase comes from WHARF_<ROLE>_PASSPHRASE or a prompt. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>

#include "cli.h"
#include "wharf/client.h"
#include "wharf/digest.h"
#include "wharf/json.h"
#include "wharf/oci.h"
#include "wharf/trust.h"

#define DEFAULT_SERVER "http://127.0.0.1:5000"
#define ROOT_DAYS 3650
#define ROOT_LIFETIME (10 * 365 * 86400LL)
#define ROLE_LIFETIME (3 * 365 * 86400LL)

struct write_opts {
	const char *server;
	const char *registry; /* where sign finds manifests; default the server */
	const char *digest;
	const char *size;
	bool server_snapshot;
	bool root_on_token; /* init: the root key is on a PKCS#11 token (wharf trust hsm) */
	const char *role;     /* sign/revoke: a delegated role (targets/NAME) instead of targets */
	const char *key_file; /* the delegated role's private key file */
};

/* --- passphrases and key files --- */

static int prompt(const char *question, char *out, size_t n, struct wharf_error *err)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return wharf_error_set(err, WHARF_EINVAL, "no terminal to ask for a passphrase");
	struct termios old, quiet;
	bool echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	(void)!write(fd, question, strlen(question));
	size_t len = 0;
	char c;
	ssize_t got;
	while ((got = read(fd, &c, 1)) == 1 && c != '\n')
		if (len + 1 < n)
			out[len++] = c;
	out[len] = '\0';
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	return got < 0 ? wharf_error_sys(err, "cannot read a passphrase") : 0;
}

int wharf_cli_passphrase_var(const char *var, const char *what, bool is_new, char **out, struct wharf_error *err)
{
	const char *env = getenv(var);
	if (env && *env) {
		*out = wharf_xstrdup(env);
		return 0;
	}
	char a[256], b[256];
	_cleanup_free_ char *q = wharf_xasprintf("Passphrase for %s%s: ", what, is_new ? " (new)" : "");
	int r = prompt(q, a, sizeof(a), err);
	if (r < 0)
		return wharf_error_prefix(err, "set %s or run on a terminal", var);
	if (is_new && (r = prompt("Repeat it: ", b, sizeof(b), err)) == 0 && strcmp(a, b) != 0)
		r = wharf_error_set(err, WHARF_EINVAL, "the passphrases for %s differ", what);
	if (r == 0 && !a[0])
		r = wharf_error_set(err, WHARF_EINVAL, "the passphrase for %s is empty", what);
	if (r == 0)
		*out = wharf_xstrdup(a);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	return r;
}

/* The passphrase of role: WHARF_<ROLE>_PASSPHRASE, else asked (twice when it is new). */
int wharf_cli_trust_passphrase(const char *role, bool is_new, char **out, struct wharf_error *err)
{
	char var[64];
	snprintf(var, sizeof(var), "WHARF_%s_PASSPHRASE", role);
	for (char *p = var; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	_cleanup_free_ char *what = wharf_xasprintf("the %s key", role);
	return wharf_cli_passphrase_var(var, what, is_new, out, err);
}

static char *key_dir(const char *home, const char *gun)
{
	_cleanup_free_ char *e = wharf_trust_escape_name(gun);
	return wharf_xasprintf("%s/keys/%s", home, e);
}

char *wharf_cli_trust_key_path(const char *home, const char *gun, const char *role)
{
	_cleanup_free_ char *dir = key_dir(home, gun);
	return wharf_xasprintf("%s/%s.key", dir, role);
}

int wharf_cli_trust_write_key(const char *path, const struct wharf_key *k, const char *pass, struct wharf_error *err)
{
	struct wharf_buf pem;
	wharf_buf_init(&pem);
	json_t *pub = wharf_key_to_json(k, WHARF_DIALECT_NOTARY);
	char *pub_text = json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(pub);
	_cleanup_free_ char *pub_path = wharf_xasprintf("%s.pub", path);
	int r = wharf_key_private_to_pem(k, pass, &pem, err);
	if (r == 0)
		r = wharf_atomic_write(path, pem.data, pem.len, 0600, err);
	if (r == 0)
		r = wharf_atomic_write(pub_path, pub_text, strlen(pub_text), 0644, err);
	free(pub_text);
	wharf_buf_free(&pem);
	return r;
}

static int save_key(const char *home, const char *gun, const char *role, const struct wharf_key *k, const char *pass,
		    struct wharf_error *err)
{
	_cleanup_free_ char *dir = key_dir(home, gun);
	_cleanup_free_ char *path = wharf_cli_trust_key_path(home, gun, role);
	int r = wharf_mkdir_p(dir, 0700, err);
	return r < 0 ? r : wharf_cli_trust_write_key(path, k, pass, err);
}

/* The certificate key of a key file: its ".pub" side file, when that holds a certificate key. */
static struct wharf_key *cert_of(const char *path)
{
	_cleanup_free_ char *pub_path = wharf_xasprintf("%s.pub", path);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	struct wharf_error err;
	json_t *doc = NULL;
	struct wharf_key *k = NULL;
	if (wharf_read_file(pub_path, 1 << 20, &text, &len, &err) < 0 || wharf_json_parse(&doc, text, len, 1 << 20, &err) < 0)
		return NULL;
	if (wharf_key_from_json(&k, doc, WHARF_DIALECT_NOTARY, &err) == 0 && wharf_key_type(k) != WHARF_KEY_ECDSA_X509 &&
	    wharf_key_type(k) != WHARF_KEY_RSA_X509) {
		wharf_key_free(k);
		k = NULL;
	}
	json_decref(doc);
	return k;
}

/* Decrypt with each certificate key of certs ({id: key JSON}) until one certifies the key. */
static int load_with_certs(struct wharf_key **out, const char *pem, size_t len, const char *pass, const json_t *certs,
			   struct wharf_error *err)
{
	int r = wharf_key_private_from_pem(out, pem, len, pass, NULL, err);
	if (r < 0 || !certs)
		return r;
	const char *id;
	json_t *v;
	json_object_foreach((json_t *)certs, id, v) {
		struct wharf_key *c = NULL, *k = NULL;
		struct wharf_error e2;
		if (wharf_key_from_json(&c, v, WHARF_DIALECT_NOTARY, &e2) < 0)
			continue;
		bool is_cert = wharf_key_type(c) == WHARF_KEY_ECDSA_X509 || wharf_key_type(c) == WHARF_KEY_RSA_X509;
		if (is_cert && wharf_key_private_from_pem(&k, pem, len, pass, c, &e2) == 0) {
			wharf_key_free(*out);
			*out = k;
			wharf_key_free(c);
			return 0;
		}
		wharf_key_free(c);
	}
	return 0;
}

int wharf_cli_trust_load_key(const char *home, const char *gun, const char *role, const json_t *certs,
			     struct wharf_key **out, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_cli_trust_key_path(home, gun, role);
	_cleanup_free_ char *pem = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, 1 << 20, &pem, &len, err);
	if (r == -WHARF_ENOTFOUND && !strcmp(role, "root") &&
	    (r = wharf_cli_trust_hsm_root_key(home, gun, out, err)) != -WHARF_ENOTFOUND)
		return r; /* the root key is on a token */
	if (r == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_ENOTFOUND, "no %s key for %s in %s", role, gun, path);
	if (r < 0)
		return r;
	_cleanup_free_ char *pass = NULL;
	if ((r = wharf_cli_trust_passphrase(role, false, &pass, err)) < 0)
		return r;
	struct wharf_key *cert = cert_of(path);
	if (cert)
		r = wharf_key_private_from_pem(out, pem, len, pass, cert, err);
	else
		r = load_with_certs(out, pem, len, pass, certs, err);
	wharf_key_free(cert);
	return r < 0 ? wharf_error_prefix(err, "%s", path) : 0;
}

static int load_key(const char *home, const char *gun, const char *role, struct wharf_key **out,
		    struct wharf_error *err)
{
	return wharf_cli_trust_load_key(home, gun, role, NULL, out, err);
}

/* --- options --- */

static void write_usage(FILE *out, const char *verb)
{
	if (!strcmp(verb, "init"))
		fputs("Usage: wharf trust init [OPTIONS] GUN\n"
		      "\n"
		      "Make the keys of GUN and publish its first trust data: a root key (ECDSA P-256 in a\n"
		      "self-signed certificate with CN=GUN), targets and snapshot keys (ECDSA P-256), and the\n"
		      "server's timestamp key. Keys are stored encrypted under $WHARF_HOME/keys, with\n"
		      "passphrases from WHARF_ROOT_PASSPHRASE, WHARF_TARGETS_PASSPHRASE and\n"
		      "WHARF_SNAPSHOT_PASSPHRASE or a prompt.\n"
		      "\n"
		      "Options:\n"
		      "  -s, --server URL             the trust server (default $WHARF_TRUST_SERVER or " DEFAULT_SERVER ")\n"
		      "      --server-managed-snapshot  the server holds the snapshot key (no snapshot key here)\n"
		      "      --root-on-token          use the root key put on a token by 'wharf trust hsm'\n"
		      "  -h, --help                   show this help\n",
		      out);
	else
		fprintf(out,
			"Usage: wharf trust %s [OPTIONS] GUN:TAG\n"
			"\n"
			"%s\n"
			"The trust data is updated and verified first; the new targets (and the snapshot, when\n"
			"this client holds the snapshot key) are signed and published, then verified again.\n"
			"\n"
			"Options:\n"
			"  -s, --server URL     the trust server (default $WHARF_TRUST_SERVER or " DEFAULT_SERVER ")\n"
			"%s"
			"  -h, --help           show this help\n"
			"\n"
			"Exit status: 0 success, 1 failure, 2 bad usage.\n",
			verb,
			!strcmp(verb, "sign") ? "Sign TAG into the targets role: the digest and size of its manifest, taken from\n"
						"the registry (GET, hashed here) unless given."
					      : "Remove TAG from the targets role.",
			!strcmp(verb, "sign") ? "      --digest sha256:HEX  the manifest digest (with --size: no registry needed)\n"
						"      --size N             the manifest size in bytes\n"
						"      --registry URL       where the manifest is (default: the server)\n"
						"      --role targets/NAME  sign into a delegated role (with --key)\n"
						"      --key FILE           its encrypted private key (passphrase from\n"
						"                           WHARF_DELEGATION_PASSPHRASE, else asked), or a key\n"
						"                           on a token: pkcs11:token=LABEL;object=KEYLABEL\n"
						"                           (WHARF_PKCS11_MODULE, WHARF_PKCS11_PIN)\n"
					      : "      --role targets/NAME  revoke from a delegated role (with --key FILE)\n"
						"      --key FILE           its private key (WHARF_DELEGATION_PASSPHRASE)\n");
}

static int parse_write_opts(int argc, char **argv, const char *verb, struct write_opts *o)
{
	enum { OPT_ROOT_TOKEN = 200, OPT_SNAP = 256, OPT_DIGEST, OPT_SIZE, OPT_REGISTRY, OPT_ROLE, OPT_KEY };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},  {"server-managed-snapshot", no_argument, NULL, OPT_SNAP},
		{"root-on-token", no_argument, NULL, OPT_ROOT_TOKEN},
		{"digest", required_argument, NULL, OPT_DIGEST}, {"size", required_argument, NULL, OPT_SIZE},
		{"registry", required_argument, NULL, OPT_REGISTRY}, {"help", no_argument, NULL, 'h'},
		{"role", required_argument, NULL, OPT_ROLE}, {"key", required_argument, NULL, OPT_KEY},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o->server = env && *env ? env : DEFAULT_SERVER;
	bool is_init = !strcmp(verb, "init"), is_sign = !strcmp(verb, "sign");
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case 's': o->server = optarg; break;
		case OPT_SNAP: o->server_snapshot = true; ok = is_init; break;
		case OPT_ROOT_TOKEN: o->root_on_token = true; ok = is_init; break;
		case OPT_DIGEST: o->digest = optarg; ok = is_sign; break;
		case OPT_SIZE: o->size = optarg; ok = is_sign; break;
		case OPT_REGISTRY: o->registry = optarg; ok = is_sign; break;
		case OPT_ROLE: o->role = optarg; ok = !is_init; break;
		case OPT_KEY: o->key_file = optarg; ok = !is_init; break;
		case 'h': write_usage(stdout, verb); return EXIT_OK;
		default: ok = false; break;
		}
		if (!ok) {
			write_usage(stderr, verb);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "wharf trust %s: expected %s (see --help)\n", verb, is_init ? "GUN" : "GUN:TAG");
		return EXIT_USAGE;
	}
	if (o->role && !strcmp(o->role, "targets"))
		o->role = NULL;
	if (!o->role != !o->key_file || (o->role && !wharf_str_has_prefix(o->role, "targets/"))) {
		fprintf(stderr, "wharf trust %s: --role targets/NAME and --key FILE go together\n", verb);
		return EXIT_USAGE;
	}
	if (!o->digest != !o->size) {
		fprintf(stderr, "wharf trust sign: --digest and --size go together\n");
		return EXIT_USAGE;
	}
	return -1;
}

/* --- init --- */

/* A key the server holds for gun (timestamp, or snapshot when it manages it). */
static int server_key(const char *server, const char *gun, const char *role, struct wharf_key **out,
		      struct wharf_error *err)
{
	_cleanup_free_ char *name = wharf_xasprintf("%s.key", role);
	struct wharf_buf b;
	wharf_buf_init(&b);
	json_t *doc = NULL;
	int r = wharf_trust_http_get(server, gun, name, 64 * 1024, &b, err);
	if (r == 0)
		r = wharf_json_parse(&doc, b.data, b.len, 64 * 1024, err);
	if (r == 0)
		r = wharf_key_from_json(out, doc, WHARF_DIALECT_NOTARY, err);
	if (doc)
		json_decref(doc);
	wharf_buf_free(&b);
	return r < 0 ? wharf_error_prefix(err, "the server's %s key", role) : 0;
}

struct init_keys {
	struct wharf_key *root_raw, *root, *targets, *snapshot, *timestamp;
	char *root_pass, *targets_pass, *snapshot_pass;
};

static void init_keys_free(struct init_keys *k)
{
	wharf_key_free(k->root_raw);
	wharf_key_free(k->root);
	wharf_key_free(k->targets);
	wharf_key_free(k->snapshot);
	wharf_key_free(k->timestamp);
	free(k->root_pass);
	free(k->targets_pass);
	free(k->snapshot_pass);
}

static int make_keys(const char *home, const char *gun, const struct write_opts *o, struct init_keys *k, struct wharf_error *err)
{
	int r = o->root_on_token ? wharf_cli_trust_hsm_root_key(home, gun, &k->root, err)
				 : wharf_cli_trust_passphrase("root", true, &k->root_pass, err);
	if (r == 0)
		r = wharf_cli_trust_passphrase("targets", true, &k->targets_pass, err);
	if (r == 0 && !o->server_snapshot)
		r = wharf_cli_trust_passphrase("snapshot", true, &k->snapshot_pass, err);
	if (r == 0 && !o->root_on_token)
		r = wharf_key_generate(&k->root_raw, WHARF_KEY_ECDSA, err);
	if (r == 0 && !o->root_on_token)
		r = wharf_key_make_x509(&k->root, k->root_raw, gun, ROOT_DAYS, err);
	if (r == 0)
		r = wharf_key_generate(&k->targets, WHARF_KEY_ECDSA, err);
	if (r == 0)
		r = o->server_snapshot ? server_key(o->server, gun, "snapshot", &k->snapshot, err)
				       : wharf_key_generate(&k->snapshot, WHARF_KEY_ECDSA, err);
	if (r == 0)
		r = server_key(o->server, gun, "timestamp", &k->timestamp, err);
	return r;
}

static void remove_keys(const char *home, const char *gun)
{
	static const char *const roles[] = {"root", "targets", "snapshot"};
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *p = wharf_cli_trust_key_path(home, gun, roles[i]);
		_cleanup_free_ char *pub = wharf_xasprintf("%s.pub", p);
		unlink(p);
		unlink(pub);
	}
}

static int save_keys(const char *home, const char *gun, const struct init_keys *k, bool server_snapshot,
		     struct wharf_error *err)
{
	int r = k->root_pass ? save_key(home, gun, "root", k->root, k->root_pass, err) : 0; /* else on a token */
	if (r == 0)
		r = save_key(home, gun, "targets", k->targets, k->targets_pass, err);
	if (r == 0 && !server_snapshot)
		r = save_key(home, gun, "snapshot", k->snapshot, k->snapshot_pass, err);
	return r;
}

/* Build, store the keys, publish; on a failed publish the keys go again. */
static int init_publish(const char *home, const char *gun, const struct write_opts *o, struct init_keys *k,
			struct wharf_buf *root, struct wharf_error *err)
{
	int64_t now = wharf_now();
	struct wharf_buf targets, snap;
	wharf_buf_init(&targets);
	wharf_buf_init(&snap);
	int r = wharf_trust_root_new(root, k->root, k->targets, k->snapshot, k->timestamp, now + ROOT_LIFETIME, err);
	if (r == 0)
		r = wharf_trust_targets_new(&targets, k->targets, now + ROLE_LIFETIME, err);
	if (r == 0 && !o->server_snapshot)
		r = wharf_trust_snapshot_new(&snap, root->data, root->len, targets.data, targets.len, k->snapshot,
					     now + ROLE_LIFETIME, err);
	if (r == 0)
		r = save_keys(home, gun, k, o->server_snapshot, err);
	if (r == 0) {
		struct wharf_tuf_upload files[3] = {{.role = "root", .data = root->data, .len = root->len},
						    {.role = "targets", .data = targets.data, .len = targets.len},
						    {.role = "snapshot", .data = snap.data, .len = snap.len}};
		r = wharf_trust_http_publish(o->server, gun, files, o->server_snapshot ? 2 : 3, err);
		if (r < 0)
			remove_keys(home, gun);
	}
	wharf_buf_free(&targets);
	wharf_buf_free(&snap);
	return r;
}

static int fail(const char *verb, const char *what, const struct wharf_error *err)
{
	fprintf(stderr, "wharf trust %s: %s: %s\n", verb, what, err->message);
	return EXIT_FAILURE_RUNTIME;
}

static int cmd_init(const char *gun, const struct write_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0)
		return fail("init", gun, &err);
	_cleanup_free_ char *root_key = wharf_cli_trust_key_path(home, gun, "root");
	if (access(root_key, F_OK) == 0) {
		fprintf(stderr, "wharf trust init: %s: this client holds keys for it already (%s)\n", gun, root_key);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_buf probe;
	wharf_buf_init(&probe);
	int r = wharf_trust_http_get(o->server, gun, "root.json", WHARF_TUF_FILE_MAX, &probe, &err);
	wharf_buf_free(&probe);
	if (r == 0) {
		fprintf(stderr, "wharf trust init: %s has trust data on %s already\n", gun, o->server);
		return EXIT_FAILURE_RUNTIME;
	}
	if (r != -WHARF_ENOTFOUND)
		return fail("init", gun, &err);
	struct init_keys k = {0};
	struct wharf_buf root;
	wharf_buf_init(&root);
	r = make_keys(home, gun, o, &k, &err);
	if (r == 0)
		r = init_publish(home, gun, o, &k, &root, &err);
	/* Our own root is trusted by construction: store it, then verify what the server serves. */
	_cleanup_free_ char *dir = wharf_trust_client_dir(home, gun);
	_cleanup_free_ char *root_path = wharf_xasprintf("%s/root.json", dir);
	if (r == 0 && (r = wharf_mkdir_p(dir, 0700, &err)) == 0)
		r = wharf_atomic_write(root_path, root.data, root.len, 0644, &err);
	char root_id[65] = "", targets_id[65] = "";
	if (r == 0) {
		wharf_key_id(k.root, WHARF_DIALECT_NOTARY, root_id);
		wharf_key_id(k.targets, WHARF_DIALECT_NOTARY, targets_id);
	}
	init_keys_free(&k);
	wharf_buf_free(&root);
	if (r < 0)
		return fail("init", gun, &err);
	struct wharf_trust_repo *repo = wharf_cli_trust_update("init", gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	wharf_trust_repo_free(repo);
	printf("initialised %s\nroot key     %s\ntargets key  %s\nsnapshot key %s\n", gun, root_id, targets_id,
	       o->server_snapshot ? "held by the server" : "held here");
	return EXIT_OK;
}

/* --- sign and revoke --- */

/* The repository path of a GUN: without its registry host, if it has one. */
static const char *repo_of(const char *gun)
{
	const char *slash = strchr(gun, '/');
	if (!slash)
		return gun;
	size_t n = (size_t)(slash - gun);
	bool host = memchr(gun, '.', n) || memchr(gun, ':', n) || (n == 9 && !strncmp(gun, "localhost", 9));
	return host ? slash + 1 : gun;
}

/* The manifest of repo:tag from the registry (authenticated like wharf pull), hashed here: its
 * digest is what gets signed. */
static int manifest_of(const char *registry, const char *gun, const char *tag, char sha256[65], uint64_t *size,
		       struct wharf_error *err)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = wharf_registry_get_manifest(registry, repo_of(gun), tag, WHARF_MANIFEST_MAX, &b, NULL, err);
	if (r == 0) {
		struct wharf_digest d;
		wharf_digest_buffer(WHARF_SHA256, b.data ? b.data : "", b.len, &d);
		memcpy(sha256, wharf_digest_hex(&d), 65);
		*size = b.len;
	}
	wharf_buf_free(&b);
	return r;
}

/* GUN:TAG split at the last ':' after the last '/'. */
static int split_ref(const char *ref, char **gun, char **tag)
{
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');
	if (!colon || colon == ref || !colon[1])
		return -1;
	*gun = wharf_xstrndup(ref, (size_t)(colon - ref));
	*tag = wharf_xstrdup(colon + 1);
	return 0;
}

/* This client's snapshot key, when root still names it; else the server signs the snapshot. */
int wharf_cli_trust_snapshot_key(const char *home, const char *gun, const struct wharf_trust_repo *repo,
			       struct wharf_key **out, struct wharf_error *err)
{
	*out = NULL;
	_cleanup_free_ char *path = wharf_cli_trust_key_path(home, gun, "snapshot");
	if (access(path, F_OK) != 0)
		return 0;
	struct wharf_key *k = NULL;
	int r = load_key(home, gun, "snapshot", &k, err);
	if (r < 0)
		return r;
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)wharf_trust_repo_find(repo, "snapshot"), &ri);
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	if (wharf_json_array_has_string(ri.keyids, id)) {
		*out = k;
		return 0;
	}
	wharf_key_free(k); /* rotated to the server since */
	return 0;
}

/* New targets (and snapshot), published. sha256 NULL revokes. */
static int edit_and_publish(const char *home, const char *gun, const char *tag, const char *sha256, uint64_t size,
			    const struct write_opts *o, const struct wharf_trust_repo *repo, bool *proposed,
			    struct wharf_error *err)
{
	struct wharf_key *tk = NULL, *sk = NULL;
	struct wharf_buf targets, snap;
	wharf_buf_init(&targets);
	wharf_buf_init(&snap);
	int64_t expires = wharf_now() + ROLE_LIFETIME;
	int r = load_key(home, gun, "targets", &tk, err);
	if (r == 0)
		r = wharf_trust_targets_edit(&targets, repo, "targets", tag, sha256, size, tk, expires, err);
	if (r == 0 && wharf_cli_trust_needs_more(repo, "targets")) {
		/* k > 1: this is the first signature; the change waits on the server for the others. */
		struct wharf_tuf_upload file = {.role = "targets", .data = targets.data, .len = targets.len};
		r = wharf_cli_trust_propose(o->server, gun, &file, 1, proposed, err);
		*proposed = r == 0 && !*proposed;
		wharf_key_free(tk);
		wharf_buf_free(&targets);
		return r;
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
		r = wharf_trust_http_publish(o->server, gun, files, sk ? 2 : 1, err);
	wharf_key_free(tk);
	wharf_key_free(sk);
	wharf_buf_free(&targets);
	wharf_buf_free(&snap);
	return r;
}

static int cmd_edit(const char *verb, const char *ref, const struct write_opts *o)
{
	_cleanup_free_ char *gun = NULL, *tag = NULL;
	struct wharf_error err;
	if (split_ref(ref, &gun, &tag) < 0 || wharf_oci_check_tag(tag, &err) < 0) {
		fprintf(stderr, "wharf trust %s: '%s' is not GUN:TAG\n", verb, ref);
		return EXIT_USAGE;
	}
	bool sign = !strcmp(verb, "sign");
	char sha256[65] = "";
	uint64_t size = 0;
	if (sign && o->digest) {
		struct wharf_digest d;
		if (wharf_digest_parse(&d, o->digest, &err) < 0 || d.alg != WHARF_SHA256 ||
		    wharf_parse_size(o->size, &size, &err) < 0 || strspn(o->size, "0123456789") != strlen(o->size)) {
			fprintf(stderr, "wharf trust sign: --digest must be sha256:<64 hex> and --size a number of bytes\n");
			return EXIT_USAGE;
		}
		memcpy(sha256, wharf_digest_hex(&d), 65);
	}
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0)
		return fail(verb, gun, &err);
	struct wharf_trust_repo *repo = wharf_cli_trust_update(verb, gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	int r = 0;
	if (sign && !o->digest)
		r = manifest_of(o->registry ? o->registry : o->server, gun, tag, sha256, &size, &err);
	bool proposed = false; /* staged as pending: the role needs more signatures */
	if (r == 0 && o->role)
		r = wharf_cli_trust_sign_delegated(home, gun, tag, sign ? sha256 : NULL, size, o->server, o->role,
						   o->key_file, repo, &proposed, &err);
	else if (r == 0)
		r = edit_and_publish(home, gun, tag, sign ? sha256 : NULL, size, o, repo, &proposed, &err);
	wharf_trust_repo_free(repo);
	if (r < 0)
		return fail(verb, ref, &err);
	if (proposed)
		return EXIT_OK;
	/* What the server now serves must verify and say what we signed. */
	if (!(repo = wharf_cli_trust_update(verb, gun, o->server, NULL)))
		return EXIT_FAILURE_RUNTIME;
	struct wharf_trust_target t;
	r = wharf_trust_repo_lookup(repo, tag, &t, &err);
	const char *role = o->role ? o->role : "targets";
	bool ok = sign ? wharf_cli_trust_role_signs(repo, role, tag, sha256, size)
		       : !wharf_cli_trust_role_signs(repo, role, tag, NULL, 0);
	if (sign && ok)
		printf("signed %s:%s sha256:%s %llu%s%s\n", gun, tag, sha256, (unsigned long long)size,
		       o->role ? " into " : "", o->role ? o->role : "");
	else if (ok)
		printf("revoked %s:%s%s%s\n", gun, tag, r == 0 ? "; still signed by " : "", r == 0 ? t.role : "");
	else
		fprintf(stderr, "wharf trust %s: %s: published, but the server's data does not show the change\n", verb, ref);
	if (r == 0)
		wharf_trust_target_clear(&t);
	wharf_trust_repo_free(repo);
	return ok ? EXIT_OK : EXIT_FAILURE_RUNTIME;
}

static int run_verb(const char *verb, int argc, char **argv)
{
	struct write_opts o = {0};
	int rc = parse_write_opts(argc, argv, verb, &o);
	if (rc >= 0)
		return rc;
	wharf_log_set_level(WHARF_LOG_WARN);
	if (!strcmp(verb, "init"))
		return cmd_init(argv[optind], &o);
	return cmd_edit(verb, argv[optind], &o);
}

int wharf_cli_trust_init(int argc, char **argv)
{
	return run_verb("init", argc, argv);
}

int wharf_cli_trust_sign(int argc, char **argv)
{
	return run_verb("sign", argc, argv);
}

int wharf_cli_trust_revoke(int argc, char **argv)
{
	return run_verb("revoke", argc, argv);
}
