/* wharf trust rotate GUN ROLE: replace a role's key and publish a new root that lists it.
 * Every new root is signed by the root key this client holds; a root rotation signs with the old
 * and the new root key, so that a client trusting the old root follows the chain. New private
 * keys are written beside the old ones (<role>.key.new) and take their place only once the server
 * accepted the publish and what it serves verified. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/json.h"
#include "wharf/trust.h"

#define DEFAULT_SERVER "http://127.0.0.1:5000"
#define ROOT_DAYS 3650
#define ROOT_LIFETIME (10 * 365 * 86400LL)
#define ROLE_LIFETIME (3 * 365 * 86400LL)

struct rotate_opts {
	const char *server;
	bool server_managed;
};

static void rotate_usage(FILE *out)
{
	fputs("Usage: wharf trust rotate [OPTIONS] GUN ROLE\n"
	      "\n"
	      "Replace the key of ROLE (root, targets, snapshot or timestamp) and publish a new root\n"
	      "(version + 1) that lists it, signed by the root key held here. A root rotation makes a new\n"
	      "root key (ECDSA P-256, self-signed certificate with CN=GUN) and signs the new root with the\n"
	      "old and the new key, so clients that trusted the old root follow the chain. A targets\n"
	      "rotation re-signs targets with the new key. snapshot --server-managed and timestamp ask\n"
	      "the server for a new key (POST <role>.key). The result is verified with a full update.\n"
	      "Passphrases: WHARF_ROOT_PASSPHRASE, WHARF_TARGETS_PASSPHRASE, WHARF_SNAPSHOT_PASSPHRASE\n"
	      "or a prompt; a new key is encrypted with its role's passphrase.\n"
	      "\n"
	      "Options:\n"
	      "  -s, --server URL    the trust server (default $WHARF_TRUST_SERVER or " DEFAULT_SERVER ")\n"
	      "      --server-managed  the server makes and holds the new key (snapshot, timestamp)\n"
	      "  -h, --help          show this help\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
	      out);
}

static int parse_opts(int argc, char **argv, struct rotate_opts *o)
{
	enum { OPT_MANAGED = 256 };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"server-managed", no_argument, NULL, OPT_MANAGED},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o->server = env && *env ? env : DEFAULT_SERVER;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->server = optarg; break;
		case OPT_MANAGED: o->server_managed = true; break;
		case 'h': rotate_usage(stdout); return EXIT_OK;
		default: rotate_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "wharf trust rotate: expected GUN ROLE (see --help)\n");
		return EXIT_USAGE;
	}
	const char *role = argv[optind + 1];
	if (strcmp(role, "root") && strcmp(role, "targets") && strcmp(role, "snapshot") && strcmp(role, "timestamp")) {
		fprintf(stderr, "wharf trust rotate: ROLE is root, targets, snapshot or timestamp, not '%s'\n", role);
		return EXIT_USAGE;
	}
	if (o->server_managed && (!strcmp(role, "root") || !strcmp(role, "targets"))) {
		fprintf(stderr, "wharf trust rotate: the %s key cannot be held by the server\n", role);
		return EXIT_USAGE;
	}
	if (!strcmp(role, "timestamp"))
		o->server_managed = true; /* the timestamp is always the server's */
	return -1;
}

static bool lists_key(const struct wharf_trust_repo *repo, const char *role, const struct wharf_key *k)
{
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)wharf_trust_repo_find(repo, role), &ri);
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	return wharf_json_array_has_string(ri.keyids, id);
}

struct rotation {
	const char *home, *gun, *role;
	const struct rotate_opts *o;
	const struct wharf_trust_repo *repo;
	struct wharf_key *root_key; /* the root key held here, a key of the trusted root */
	struct wharf_key *new_key;  /* the new key (private when held here) */
	char *pass;                 /* the new key's passphrase when held here */
	struct wharf_buf root, targets, snapshot;
};

static void rotation_free(struct rotation *rt)
{
	wharf_key_free(rt->root_key);
	wharf_key_free(rt->new_key);
	free(rt->pass);
	wharf_buf_free(&rt->root);
	wharf_buf_free(&rt->targets);
	wharf_buf_free(&rt->snapshot);
}

static int load_root_key(struct rotation *rt, struct wharf_error *err)
{
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(rt->repo, (size_t)wharf_trust_repo_find(rt->repo, "root"), &ri);
	int r = wharf_cli_trust_load_key(rt->home, rt->gun, "root", ri.keys, &rt->root_key, err);
	if (r < 0)
		return r;
	if (!lists_key(rt->repo, "root", rt->root_key)) {
		char id[65];
		wharf_key_id(rt->root_key, WHARF_DIALECT_NOTARY, id);
		return wharf_error_set(err, WHARF_EINVAL, "the root key held here (%.16s) is not a root key of root version %lld",
				       id, (long long)ri.meta->version);
	}
	return 0;
}

static int make_new_key(struct rotation *rt, struct wharf_error *err)
{
	if (rt->o->server_managed)
		return wharf_trust_http_new_key(rt->o->server, rt->gun, rt->role, &rt->new_key, err);
	int r = wharf_cli_trust_passphrase(rt->role, true, &rt->pass, err);
	if (r < 0)
		return r;
	if (strcmp(rt->role, "root") != 0)
		return wharf_key_generate(&rt->new_key, WHARF_KEY_ECDSA, err);
	struct wharf_key *raw = NULL;
	r = wharf_key_generate(&raw, WHARF_KEY_ECDSA, err);
	if (r == 0)
		r = wharf_key_make_x509(&rt->new_key, raw, rt->gun, ROOT_DAYS, err);
	wharf_key_free(raw);
	return r;
}

/* The new root, re-signed targets (targets rotation) and the next snapshot when this client
 * signs it (it holds the key root will list); otherwise the server makes the snapshot. */
static int build(struct rotation *rt, struct wharf_tuf_upload files[3], size_t *n, struct wharf_error *err)
{
	int64_t now = wharf_now();
	bool is_root = !strcmp(rt->role, "root");
	struct wharf_key *signers[2] = {rt->root_key, rt->new_key};
	int r = wharf_trust_root_rotate(&rt->root, rt->repo, rt->role, rt->new_key, signers, is_root ? 2 : 1,
					now + ROOT_LIFETIME, err);
	if (r < 0)
		return r;
	files[0] = (struct wharf_tuf_upload){.role = "root", .data = rt->root.data, .len = rt->root.len};
	*n = 1;
	if (!strcmp(rt->role, "targets")) {
		if ((r = wharf_trust_role_resign(&rt->targets, rt->repo, "targets", NULL, 0, rt->new_key,
						 now + ROLE_LIFETIME, err)) < 0)
			return r;
		files[(*n)++] = (struct wharf_tuf_upload){.role = "targets", .data = rt->targets.data, .len = rt->targets.len};
	}
	struct wharf_key *sk = NULL;
	bool own = false;
	if (!strcmp(rt->role, "snapshot"))
		sk = rt->o->server_managed ? NULL : rt->new_key;
	else if ((r = wharf_cli_trust_snapshot_key(rt->home, rt->gun, rt->repo, &sk, err)) < 0)
		return r;
	else
		own = true;
	if (sk)
		r = wharf_trust_role_resign(&rt->snapshot, rt->repo, "snapshot", files, *n, sk, now + ROLE_LIFETIME, err);
	if (own)
		wharf_key_free(sk);
	if (r == 0 && sk)
		files[(*n)++] = (struct wharf_tuf_upload){.role = "snapshot", .data = rt->snapshot.data, .len = rt->snapshot.len};
	return r;
}

static void unlink_key(const char *path)
{
	_cleanup_free_ char *pub = wharf_xasprintf("%s.pub", path);
	unlink(path);
	unlink(pub);
}

static int rename_key(const char *from, const char *to, struct wharf_error *err)
{
	_cleanup_free_ char *from_pub = wharf_xasprintf("%s.pub", from);
	_cleanup_free_ char *to_pub = wharf_xasprintf("%s.pub", to);
	if (rename(from, to) < 0 || rename(from_pub, to_pub) < 0)
		return wharf_error_sys(err, "cannot move %s to %s", from, to);
	return 0;
}

/* Stage the new key, publish, then put the key in place (or take it away again). */
static int publish(struct rotation *rt, struct wharf_error *err)
{
	struct wharf_tuf_upload files[3];
	size_t n = 0;
	int r = build(rt, files, &n, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = wharf_cli_trust_key_path(rt->home, rt->gun, rt->role);
	_cleanup_free_ char *staged = wharf_xasprintf("%s.new", path);
	bool held = !rt->o->server_managed;
	if (held && (r = wharf_cli_trust_write_key(staged, rt->new_key, rt->pass, err)) < 0)
		return r;
	r = wharf_trust_http_publish(rt->o->server, rt->gun, files, n, err);
	if (r < 0) {
		if (held)
			unlink_key(staged);
		return r;
	}
	if (held)
		return rename_key(staged, path, err);
	if (!strcmp(rt->role, "snapshot"))
		unlink_key(path); /* the server signs snapshots from now on */
	return 0;
}

static int fail(const char *what, const struct wharf_error *err)
{
	fprintf(stderr, "wharf trust rotate: %s: %s\n", what, err->message);
	return EXIT_FAILURE_RUNTIME;
}

static int cmd_rotate(const char *gun, const char *role, const struct rotate_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0)
		return fail(gun, &err);
	struct wharf_trust_repo *repo = wharf_cli_trust_update("rotate", gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	struct rotation rt = {.home = home, .gun = gun, .role = role, .o = o, .repo = repo};
	wharf_buf_init(&rt.root);
	wharf_buf_init(&rt.targets);
	wharf_buf_init(&rt.snapshot);
	int r = load_root_key(&rt, &err);
	if (r == 0)
		r = make_new_key(&rt, &err);
	if (r == 0)
		r = publish(&rt, &err);
	char id[65] = "";
	if (r == 0)
		wharf_key_id(rt.new_key, WHARF_DIALECT_NOTARY, id);
	rotation_free(&rt);
	wharf_trust_repo_free(repo);
	if (r < 0)
		return fail(gun, &err);
	/* What the server serves now must verify, and its root must list the new key. */
	if (!(repo = wharf_cli_trust_update("rotate", gun, o->server, NULL)))
		return EXIT_FAILURE_RUNTIME;
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(repo, (size_t)wharf_trust_repo_find(repo, "root"), &ri);
	json_t *ids = json_object_get(json_object_get(json_object_get(ri.meta->signed_obj, "roles"), role), "keyids");
	const char *listed_id = json_string_value(json_array_get(ids, 0));
	bool listed = json_array_size(ids) == 1 && listed_id && !strcmp(listed_id, id);
	int64_t version = ri.meta->version;
	wharf_trust_repo_free(repo);
	if (!listed) {
		fprintf(stderr, "wharf trust rotate: %s: published, but the server's root does not list the new %s key\n",
			gun, role);
		return EXIT_FAILURE_RUNTIME;
	}
	printf("rotated the %s key of %s: %s (%s), root version %lld\n", role, gun, id,
	       o->server_managed ? "held by the server" : "held here", (long long)version);
	return EXIT_OK;
}

int wharf_cli_trust_rotate(int argc, char **argv)
{
	struct rotate_opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	wharf_log_set_level(WHARF_LOG_WARN);
	return cmd_rotate(argv[optind], argv[optind + 1], &o);
}
