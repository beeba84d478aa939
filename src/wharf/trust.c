/* wharf trust: content trust for a GUN on a Notary-protocol server (wharfd or notary-server).
 * The read verbs (ls, inspect, lookup) run the full TUF client update first. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/trust.h"

#define DEFAULT_SERVER "http://127.0.0.1:5000"

struct read_opts {
	const char *server;
	const char *root_file;
	bool json;
};

static const char *const read_verbs[][3] = {
	{"ls", "GUN", "List the signed targets (tags) of GUN: digest, size and the role that signed each."},
	{"inspect", "GUN", "Show the roles of GUN: key IDs, thresholds, versions, expiry, delegated paths."},
	{"lookup", "GUN TAG", "Resolve TAG through verified trust data: targets/releases first, then targets."},
};

static void verb_usage(FILE *out, size_t v)
{
	fprintf(out,
		"Usage: wharf trust %s [OPTIONS] %s\n"
		"\n"
		"%s\n"
		"Every run updates the trust data as TUF 1.0 section 5 says (root chain, timestamp, snapshot,\n"
		"targets, delegations; signatures, thresholds, hashes, lengths, expiry, rollback) and stores\n"
		"it under $WHARF_HOME/trust only when all of it verified.\n"
		"\n"
		"Options:\n"
		"  -s, --server URL   the trust server (default $WHARF_TRUST_SERVER or " DEFAULT_SERVER ")\n"
		"      --root FILE    trust this root.json when none is stored yet (instead of first use)\n"
		"      --json         print JSON\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: 0 success, 1 verification or lookup failure, 2 bad usage.\n",
		read_verbs[v][0], read_verbs[v][1], read_verbs[v][2]);
}

static void trust_usage(FILE *out)
{
	fputs("Usage: wharf trust COMMAND [OPTIONS] ARGS\n"
	      "\n"
	      "Content trust over the Notary v1 protocol (wharfd or notary-server).\n"
	      "\n"
	      "Commands:\n"
	      "  ls GUN           list signed targets (tags) with digest, size and signing role\n"
	      "  inspect GUN      show roles, keys, thresholds, versions and expiry\n"
	      "  lookup GUN TAG   resolve a tag to its signed digest and size\n"
	      "  init GUN         make keys and publish the first trust data of GUN\n"
	      "  sign GUN:TAG     sign a tag (the digest and size of its manifest) into targets\n"
	      "  revoke GUN:TAG   remove a tag from targets\n"
	      "  rotate GUN ROLE  replace the key of root, targets, snapshot or timestamp\n"
	      "  status GUN       roles, keys held here and expiry; exit 4 when one expires soon (CI)\n"
	      "  refresh GUN      re-sign the roles held here before they expire\n"
	      "  key generate|list|export|import   the keys this client holds\n"
	      "  hsm list|generate-root|import     root keys on PKCS#11 tokens, with backup and restore\n"
	      "  signer add|list|remove GUN ...    delegate signing to targets/NAME and targets/releases\n"
	      "  threshold GUN ROLE K              require K signatures of ROLE (root, targets, targets/NAME)\n"
	      "  pending GUN      staged changes waiting for signatures, and what they change\n"
	      "  approve GUN ID   check a staged change and add this client's signature\n"
	      "\n"
	      "Run 'wharf trust COMMAND --help' for the options of a command.\n",
	      out);
}

/* Parse the read verbs' options; the positional arguments are left at argv[optind..]. */
static int parse_read_opts(int argc, char **argv, size_t v, struct read_opts *o)
{
	enum { OPT_JSON = 256, OPT_ROOT };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"root", required_argument, NULL, OPT_ROOT},
		{"json", no_argument, NULL, OPT_JSON},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o->server = env && *env ? env : DEFAULT_SERVER;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->server = optarg; break;
		case OPT_ROOT: o->root_file = optarg; break;
		case OPT_JSON: o->json = true; break;
		case 'h': verb_usage(stdout, v); return EXIT_OK;
		default: verb_usage(stderr, v); return EXIT_USAGE;
		}
	}
	int want = !strcmp(read_verbs[v][0], "lookup") ? 2 : 1;
	if (argc - optind != want) {
		fprintf(stderr, "wharf trust %s: expected %s (see --help)\n", read_verbs[v][0], read_verbs[v][1]);
		return EXIT_USAGE;
	}
	return -1;
}

struct wharf_trust_repo *wharf_cli_trust_update(const char *verb, const char *gun, const char *server,
						 const char *root_file)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0) {
		fprintf(stderr, "wharf trust %s: %s\n", verb, err.message);
		return NULL;
	}
	_cleanup_free_ char *dir = wharf_trust_client_dir(home, gun);
	struct wharf_trust_client_opts co = {.server = server, .gun = gun, .dir = dir, .root_file = root_file};
	struct wharf_trust_repo *repo = NULL;
	if (wharf_trust_client_update(&repo, &co, &err) < 0) {
		fprintf(stderr, "wharf trust %s: %s: %s\n", verb, gun, err.message);
		return NULL;
	}
	return repo;
}

static struct wharf_trust_repo *update(const char *verb, const char *gun, const struct read_opts *o)
{
	return wharf_cli_trust_update(verb, gun, o->server, o->root_file);
}

static void target_json(struct wharf_buf *b, const struct wharf_trust_target *t)
{
	wharf_buf_puts(b, "{\"name\":");
	wharf_buf_json_string(b, t->name);
	if (t->sha256[0])
		wharf_buf_printf(b, ",\"digest\":\"sha256:%s\"", t->sha256);
	else
		wharf_buf_puts(b, ",\"digest\":null");
	wharf_buf_printf(b, ",\"size\":%llu,\"role\":", (unsigned long long)t->length);
	wharf_buf_json_string(b, t->role);
	wharf_buf_puts(b, "}");
}

static void print_targets_json(struct wharf_buf *b, const struct wharf_trust_target *list, size_t n)
{
	wharf_buf_puts(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			wharf_buf_puts(b, ",");
		target_json(b, &list[i]);
	}
	wharf_buf_puts(b, "]");
}

/* A verified update, then every signed target: 0, or the exit status after saying why. */
static int update_and_list(const char *verb, const char *gun, const struct read_opts *o,
			   struct wharf_trust_repo **repo, struct wharf_trust_target **list, size_t *n)
{
	*repo = update(verb, gun, o);
	if (!*repo)
		return EXIT_FAILURE_RUNTIME;
	struct wharf_error err;
	if (wharf_trust_repo_list(*repo, list, n, &err) < 0) {
		fprintf(stderr, "wharf trust %s: %s: %s\n", verb, gun, err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	return EXIT_OK;
}

static int cmd_ls(const char *gun, const struct read_opts *o)
{
	struct wharf_trust_repo *repo = NULL;
	struct wharf_trust_target *list = NULL;
	size_t n = 0;
	int rc = update_and_list("ls", gun, o, &repo, &list, &n);
	if (rc == EXIT_OK && o->json) {
		struct wharf_buf b;
		wharf_buf_init(&b);
		wharf_buf_puts(&b, "{\"gun\":");
		wharf_buf_json_string(&b, gun);
		wharf_buf_puts(&b, ",\"targets\":");
		print_targets_json(&b, list, n);
		wharf_buf_puts(&b, "}\n");
		fputs(b.data, stdout);
		wharf_buf_free(&b);
	} else if (rc == EXIT_OK && n == 0) {
		printf("No targets signed in %s\n", gun);
	} else if (rc == EXIT_OK) {
		printf("%-24s %-71s %12s  %s\n", "NAME", "DIGEST", "SIZE", "ROLE");
		for (size_t i = 0; i < n; i++)
			printf("%-24s %s%-64s %12llu  %s\n", list[i].name, list[i].sha256[0] ? "sha256:" : "",
			       list[i].sha256[0] ? list[i].sha256 : "-", (unsigned long long)list[i].length, list[i].role);
	}
	wharf_trust_targets_free(list, n);
	wharf_trust_repo_free(repo);
	return rc;
}

static int cmd_lookup(const char *gun, const char *tag, const struct read_opts *o)
{
	struct wharf_trust_repo *repo = update("lookup", gun, o);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	struct wharf_trust_target t;
	struct wharf_error err;
	int rc = EXIT_OK;
	if (wharf_trust_repo_lookup(repo, tag, &t, &err) < 0) {
		fprintf(stderr, "wharf trust lookup: %s\n", err.message);
		rc = EXIT_FAILURE_RUNTIME;
	} else if (o->json) {
		struct wharf_buf b;
		wharf_buf_init(&b);
		target_json(&b, &t);
		wharf_buf_puts(&b, "\n");
		fputs(b.data, stdout);
		wharf_buf_free(&b);
		wharf_trust_target_clear(&t);
	} else {
		printf("%s %s%s %llu %s\n", t.name, t.sha256[0] ? "sha256:" : "", t.sha256[0] ? t.sha256 : "-",
		       (unsigned long long)t.length, t.role);
		wharf_trust_target_clear(&t);
	}
	wharf_trust_repo_free(repo);
	return rc;
}

static const char *key_type_of(const struct wharf_trust_role_info *ri, const char *id)
{
	const char *t = json_string_value(json_object_get(json_object_get(ri->keys, id), "keytype"));
	return t ? t : "?";
}

static void inspect_json(const struct wharf_trust_repo *repo, struct wharf_buf *b)
{
	wharf_buf_puts(b, "{\"gun\":");
	wharf_buf_json_string(b, wharf_trust_repo_gun(repo));
	wharf_buf_puts(b, ",\"roles\":[");
	for (size_t i = 0; i < wharf_trust_repo_nroles(repo); i++) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(repo, i, &ri);
		char expires[32];
		wharf_time_format_rfc3339(ri.meta->expires, expires);
		wharf_buf_printf(b, "%s{\"name\":", i ? "," : "");
		wharf_buf_json_string(b, ri.name);
		wharf_buf_printf(b, ",\"version\":%lld,\"expires\":\"%s\",\"threshold\":%lld,\"keys\":[",
				 (long long)ri.meta->version, expires, (long long)ri.threshold);
		size_t k;
		json_t *id;
		json_array_foreach(ri.keyids, k, id) {
			wharf_buf_printf(b, "%s{\"id\":", k ? "," : "");
			wharf_buf_json_string(b, json_is_string(id) ? json_string_value(id) : "");
			wharf_buf_puts(b, ",\"type\":");
			wharf_buf_json_string(b, json_is_string(id) ? key_type_of(&ri, json_string_value(id)) : "?");
			wharf_buf_puts(b, "}");
		}
		wharf_buf_puts(b, "]");
		if (ri.paths) {
			char *paths = json_dumps(ri.paths, JSON_COMPACT);
			wharf_buf_printf(b, ",\"paths\":%s", paths);
			free(paths);
		}
		wharf_buf_puts(b, "}");
	}
	wharf_buf_puts(b, "]");
}

static void inspect_text(const struct wharf_trust_repo *repo)
{
	printf("GUN %s\n", wharf_trust_repo_gun(repo));
	printf("%-24s %8s  %-20s  %9s  %s\n", "ROLE", "VERSION", "EXPIRES", "THRESHOLD", "KEYS");
	for (size_t i = 0; i < wharf_trust_repo_nroles(repo); i++) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(repo, i, &ri);
		char expires[32];
		wharf_time_format_rfc3339(ri.meta->expires, expires);
		printf("%-24s %8lld  %-20s  %9lld ", ri.name, (long long)ri.meta->version, expires, (long long)ri.threshold);
		size_t k;
		json_t *id;
		json_array_foreach(ri.keyids, k, id) {
			const char *s = json_is_string(id) ? json_string_value(id) : "?";
			printf("%s %s (%s)\n", k ? "                                                                   " : "", s,
			       key_type_of(&ri, s));
		}
		if (json_array_size(ri.keyids) == 0)
			printf(" -\n");
		if (ri.paths) {
			char *paths = json_dumps(ri.paths, JSON_COMPACT);
			printf("%-24s paths %s\n", "", paths);
			free(paths);
		}
	}
}

static int cmd_inspect(const char *gun, const struct read_opts *o)
{
	struct wharf_trust_repo *repo = NULL;
	struct wharf_trust_target *list = NULL;
	size_t n = 0;
	int rc = update_and_list("inspect", gun, o, &repo, &list, &n);
	if (rc == EXIT_OK && o->json) {
		struct wharf_buf b;
		wharf_buf_init(&b);
		inspect_json(repo, &b);
		wharf_buf_puts(&b, ",\"targets\":");
		print_targets_json(&b, list, n);
		wharf_buf_puts(&b, "}\n");
		fputs(b.data, stdout);
		wharf_buf_free(&b);
	} else if (rc == EXIT_OK) {
		inspect_text(repo);
		printf("%zu signed target%s\n", n, n == 1 ? "" : "s");
	}
	wharf_trust_targets_free(list, n);
	wharf_trust_repo_free(repo);
	return rc;
}

static int cmd_read(int argc, char **argv, size_t v)
{
	struct read_opts o = {0};
	int rc = parse_read_opts(argc, argv, v, &o);
	if (rc >= 0)
		return rc;
	wharf_log_set_level(WHARF_LOG_WARN);
	const char *gun = argv[optind];
	if (!strcmp(read_verbs[v][0], "ls"))
		return cmd_ls(gun, &o);
	if (!strcmp(read_verbs[v][0], "inspect"))
		return cmd_inspect(gun, &o);
	return cmd_lookup(gun, argv[optind + 1], &o);
}

int wharf_cli_cmd_trust(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		trust_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "init"))
		return wharf_cli_trust_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sign"))
		return wharf_cli_trust_sign(argc - 1, argv + 1);
	if (!strcmp(argv[1], "revoke"))
		return wharf_cli_trust_revoke(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rotate"))
		return wharf_cli_trust_rotate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return wharf_cli_trust_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "refresh"))
		return wharf_cli_trust_refresh(argc - 1, argv + 1);
	if (!strcmp(argv[1], "key"))
		return wharf_cli_trust_key(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hsm"))
		return wharf_cli_trust_hsm(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pending"))
		return wharf_cli_trust_pending(argc - 1, argv + 1);
	if (!strcmp(argv[1], "approve"))
		return wharf_cli_trust_approve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "threshold"))
		return wharf_cli_trust_threshold(argc - 1, argv + 1);
	if (!strcmp(argv[1], "signer"))
		return wharf_cli_trust_signer(argc - 1, argv + 1);
	for (size_t v = 0; v < sizeof(read_verbs) / sizeof(*read_verbs); v++)
		if (!strcmp(argv[1], read_verbs[v][0]))
			return cmd_read(argc - 1, argv + 1, v);
	fprintf(stderr, "wharf trust: unknown command '%s' (see wharf trust --help)\n", argv[1]);
	return EXIT_USAGE;
}
