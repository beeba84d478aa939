/* wharf admin authz check: ask the authorization chain (plugins, then the policy file) about one
 * request, exactly as wharfd would; for trying out plugins and policy files before deploying. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "wharf/authx.h"

static void authz_usage(FILE *out)
{
	fputs("Usage: wharf admin authz check [OPTIONS]\n"
	      "\n"
	      "Ask the authorization chain about one request and print the decision: every plugin\n"
	      "(Docker authorization plugin protocol on a unix socket; activated first) must allow,\n"
	      "then the policy file decides. An unreachable or failing plugin denies (fail closed).\n"
	      "\n"
	      "Chain:\n"
	      "      --plugin SOCKET     a plugin's unix socket (repeatable, asked in order)\n"
	      "      --policy FILE       the attribute-based policy file (docs/auth-extensions.md)\n"
	      "Request:\n"
	      "  -u, --user NAME         the user (default: anonymous)\n"
	      "      --team ORG/TEAM     a team of the user (repeatable)\n"
	      "  -r, --repository REPO   e.g. acme/app\n"
	      "  -a, --action ACTION     pull, push, delete, sign, admin, catalog (default pull)\n"
	      "      --tag TAG           the tag concerned\n"
	      "      --label KEY=VALUE   an image label (repeatable)\n"
	      "      --severity SEV      the image's highest finding: NONE, LOW, MEDIUM, HIGH, CRITICAL\n"
	      "      --signed yes|no     whether trust data signs the image\n"
	      "      --digest DIGEST     the resolved manifest digest (wharfd's second pass)\n"
	      "      --image STATE       known (default: --severity, --signed, --label as given; no\n"
	      "                          --severity means unscanned), unknown (no image: scan, signed\n"
	      "                          and labels rules never match, as on a blob request), pending\n"
	      "                          (the first pass of a manifest read: such rules defer)\n"
	      "      --method M --uri U  the HTTP request (default GET /v2/REPO/manifests/TAG)\n"
	      "      --time EPOCH        evaluate at this time (seconds, UTC; default now)\n"
	      "      --response STATUS   ask the response phase (AuthZPlugin.AuthZRes) instead\n"
	      "      --json              print {\"allowed\":bool,\"reason\":\"..\"}\n"
	      "  -h, --help              show this help\n"
	      "\n"
	      "Exit status: 0 allowed, 1 failed, 2 bad usage, 5 denied.\n",
	      out);
}

enum { EXIT_DENIED = 5 };

struct authz_args {
	struct wharf_strv plugins, teams;
	const char *policy;
	struct wharf_authz_request req;
	json_t *labels;
	int response;
	bool json;
};

static int parse_label(json_t *labels, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		fprintf(stderr, "wharf admin authz check: --label %s: expected KEY=VALUE\n", kv);
		return -1;
	}
	_cleanup_free_ char *key = wharf_xstrndup(kv, (size_t)(eq - kv));
	json_object_set_new(labels, key, json_string(eq + 1));
	return 0;
}

static int parse_args(int argc, char **argv, struct authz_args *a)
{
	enum { O_PLUGIN = 256, O_POLICY, O_TEAM, O_TAG, O_LABEL, O_SEV, O_SIGNED, O_METHOD, O_URI, O_TIME, O_RESP, O_JSON,
	       O_DIGEST, O_IMAGE };
	static const struct option opts[] = {
		{"plugin", required_argument, NULL, O_PLUGIN}, {"policy", required_argument, NULL, O_POLICY},
		{"user", required_argument, NULL, 'u'},        {"team", required_argument, NULL, O_TEAM},
		{"repository", required_argument, NULL, 'r'},  {"action", required_argument, NULL, 'a'},
		{"tag", required_argument, NULL, O_TAG},       {"label", required_argument, NULL, O_LABEL},
		{"severity", required_argument, NULL, O_SEV},  {"signed", required_argument, NULL, O_SIGNED},
		{"method", required_argument, NULL, O_METHOD}, {"uri", required_argument, NULL, O_URI},
		{"time", required_argument, NULL, O_TIME},     {"response", required_argument, NULL, O_RESP},
		{"json", no_argument, NULL, O_JSON},           {"help", no_argument, NULL, 'h'},
		{"digest", required_argument, NULL, O_DIGEST}, {"image", required_argument, NULL, O_IMAGE},
		{NULL, 0, NULL, 0}};
	int c;
	uint64_t n;
	optind = 1;
	while ((c = getopt_long(argc, argv, "u:r:a:h", opts, NULL)) != -1) {
		switch (c) {
		case O_PLUGIN: wharf_strv_push(&a->plugins, optarg); break;
		case O_POLICY: a->policy = optarg; break;
		case 'u': a->req.user = optarg; break;
		case O_TEAM: wharf_strv_push(&a->teams, optarg); break;
		case 'r': a->req.repository = optarg; break;
		case 'a': a->req.action = optarg; break;
		case O_TAG: a->req.tag = optarg; break;
		case O_LABEL:
			if (parse_label(a->labels, optarg) < 0)
				return EXIT_USAGE;
			break;
		case O_SEV: a->req.scan_max_severity = optarg; break;
		case O_SIGNED: a->req.signed_status = !strcmp(optarg, "yes") ? 1 : !strcmp(optarg, "no") ? 0 : -2; break;
		case O_DIGEST: a->req.digest = optarg; break;
		case O_IMAGE:
			if (strcmp(optarg, "known") && strcmp(optarg, "unknown") && strcmp(optarg, "pending")) {
				fprintf(stderr, "wharf admin authz check: --image '%s' must be known, unknown or pending\n",
					optarg);
				return EXIT_USAGE;
			}
			a->req.image = !strcmp(optarg, "known")     ? WHARF_IMAGE_KNOWN
				       : !strcmp(optarg, "unknown") ? WHARF_IMAGE_UNKNOWN
								    : WHARF_IMAGE_PENDING;
			break;
		case O_METHOD: a->req.method = optarg; break;
		case O_URI: a->req.uri = optarg; break;
		case O_TIME:
		case O_RESP:
			if (!wharf_parse_u64(optarg, strlen(optarg), &n) || n == 0 || (c == O_RESP && (n < 100 || n > 599))) {
				fprintf(stderr, "wharf admin authz check: %s '%s' must be %s\n",
					c == O_TIME ? "--time" : "--response", optarg,
					c == O_TIME ? "seconds since the epoch" : "an HTTP status 100..599");
				return EXIT_USAGE;
			}
			if (c == O_TIME)
				a->req.now = (int64_t)n;
			else
				a->response = (int)n;
			break;
		case O_JSON: a->json = true; break;
		case 'h': authz_usage(stdout); return EXIT_OK;
		default: authz_usage(stderr); return EXIT_USAGE;
		}
	}
	if (a->req.signed_status == -2 || optind != argc) {
		fputs("wharf admin authz check: bad --signed (yes|no) or unexpected argument (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static int authz_check(int argc, char **argv)
{
	struct authz_args a = {.req = {.action = "pull", .signed_status = -1, .method = "GET"}, .labels = json_object()};
	int rc = parse_args(argc, argv, &a);
	_cleanup_free_ char *uri = NULL;
	struct wharf_authz_chain *chain = NULL;
	struct wharf_error err = {0};
	if (rc >= 0)
		goto out;
	a.req.teams = (const char **)a.teams.v;
	a.req.nteams = a.teams.n;
	a.req.labels = a.labels;
	if (!a.req.uri)
		a.req.uri = uri = wharf_xasprintf("/v2/%s/manifests/%s", a.req.repository ? a.req.repository : "",
						   a.req.tag ? a.req.tag : "latest");
	rc = EXIT_FAILURE_RUNTIME;
	if (wharf_authz_chain_new(&chain, (const char *const *)a.plugins.v, a.plugins.n, a.policy, &err) < 0) {
		fprintf(stderr, "wharf admin authz check: %s\n", err.message);
		goto out;
	}
	bool allowed;
	char reason[512];
	int r = a.response ? wharf_authz_chain_check_response(chain, &a.req, a.response, &allowed, reason, sizeof(reason), &err)
			   : wharf_authz_chain_check(chain, &a.req, &allowed, reason, sizeof(reason), &err);
	if (r < 0) {
		fprintf(stderr, "wharf admin authz check: %s\n", err.message);
		goto out;
	}
	if (a.json) {
		json_t *o = json_pack("{s:b,s:s}", "allowed", allowed, "reason", reason);
		char *s = json_dumps(o, JSON_COMPACT);
		puts(s);
		free(s);
		json_decref(o);
	} else {
		printf("%s%s%s\n", allowed ? "allowed" : "denied", *reason ? ": " : "", reason);
	}
	rc = allowed ? EXIT_OK : EXIT_DENIED;
out:
	wharf_authz_chain_free(chain);
	wharf_strv_free(&a.plugins);
	wharf_strv_free(&a.teams);
	json_decref(a.labels);
	return rc;
}

int wharf_cli_admin_authz(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		authz_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "check"))
		return authz_check(argc - 1, argv + 1);
	fprintf(stderr, "wharf admin authz: unknown command '%s' (see wharf admin authz --help)\n", argv[1]);
	return EXIT_USAGE;
}
