/* wharf admin user|org|team|repo|robot: access control administration through wharfd's JSON
 * admin API (/api/v1/admin/...), authenticated with Basic credentials. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"

struct admin_opts {
	const char *server;
	const char *user;
	bool json;
	bool admin;
	bool enable;
	bool password_stdin;
	const char *owner;
	const char *actions;
	int64_t expires_in;
	struct wharf_strv repos;
	struct wharf_strv args; /* positional: NOUN VERB ... */
};

static void usage(FILE *out)
{
	fputs("Usage: wharf admin NOUN VERB [ARGS] [OPTIONS]\n"
	      "\n"
	      "Manage wharfd's users, organizations, teams, repository visibility and robot accounts\n"
	      "(wharfd --auth; see docs/auth.md). Talks to the server's admin API.\n"
	      "\n"
	      "  user add NAME [--admin]        add a user (password from --password-stdin or\n"
	      "                                 $WHARF_NEW_PASSWORD)\n"
	      "  user rm NAME | user ls          remove, list users\n"
	      "  user passwd NAME               set a password (same sources as add)\n"
	      "  user disable NAME [--enable]   disable (or enable again) a user\n"
	      "  org add NAME [--owner USER] | org rm NAME | org ls\n"
	      "  team add ORG TEAM | team rm ORG TEAM | team ls ORG\n"
	      "  team member add|rm ORG TEAM USER\n"
	      "  team grant ORG TEAM REPO read|write|admin|none\n"
	      "                                 a team's permission on ORG/...: read pulls, write also\n"
	      "                                 pushes, admin also deletes and administers\n"
	      "  repo public REPO | repo private REPO   anonymous pull on or off\n"
	      "  robot add NAME --repo PATTERN... --actions pull,push [--expires-in DUR]\n"
	      "                                 a robot account; its secret is printed once\n"
	      "  robot rm NAME | robot ls\n"
	      "\n"
	      "Options:\n"
	      "  -s, --server URL     the wharfd (default $WHARF_SERVER, else http://127.0.0.1:5000)\n"
	      "  -u, --user NAME      who you are (default $WHARF_USER); password from $WHARF_PASSWORD\n"
	      "      --json           print lists and results as JSON\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "Exit status: 0 done, 1 the server refused or failed, 2 bad usage.\n",
	      out);
}

static int parse(int argc, char **argv, struct admin_opts *o)
{
	enum { OPT_JSON = 256, OPT_ADMIN, OPT_ENABLE, OPT_PWSTDIN, OPT_OWNER, OPT_REPO, OPT_ACTIONS, OPT_EXPIRES };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},  {"user", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, OPT_JSON},     {"admin", no_argument, NULL, OPT_ADMIN},
		{"enable", no_argument, NULL, OPT_ENABLE}, {"password-stdin", no_argument, NULL, OPT_PWSTDIN},
		{"owner", required_argument, NULL, OPT_OWNER}, {"repo", required_argument, NULL, OPT_REPO},
		{"actions", required_argument, NULL, OPT_ACTIONS}, {"expires-in", required_argument, NULL, OPT_EXPIRES},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	struct wharf_error err;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->server = optarg; break;
		case 'u': o->user = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_ADMIN: o->admin = true; break;
		case OPT_ENABLE: o->enable = true; break;
		case OPT_PWSTDIN: o->password_stdin = true; break;
		case OPT_OWNER: o->owner = optarg; break;
		case OPT_REPO: wharf_strv_push(&o->repos, optarg); break;
		case OPT_ACTIONS: o->actions = optarg; break;
		case OPT_EXPIRES:
			if (wharf_parse_duration(optarg, &o->expires_in, &err) < 0) {
				fprintf(stderr, "wharf admin: --expires-in: %s\n", err.message);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		wharf_strv_push(&o->args, argv[i]);
	return -1;
}

/* One admin API call; *out gets the parsed JSON answer on success. */
static int call(const struct admin_opts *o, const char *method, const char *path, json_t *body, json_t **out)
{
	const char *password = getenv("WHARF_PASSWORD");
	if (!o->user || !password) {
		fprintf(stderr, "wharf admin: set --user (or WHARF_USER) and WHARF_PASSWORD\n");
		json_decref(body);
		return EXIT_USAGE;
	}
	_cleanup_free_ char *url = wharf_xasprintf("%s/api/v1/admin/%s", o->server, path);
	_cleanup_free_ char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	CURL *curl = curl_easy_init();
	struct wharf_buf resp;
	wharf_buf_init(&resp);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(curl, CURLOPT_USERNAME, o->user);
	curl_easy_setopt(curl, CURLOPT_PASSWORD, password);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, data ? data : "");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(hdrs);
	json_t *j = resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;
	int rc = EXIT_OK;
	if (cc != CURLE_OK) {
		fprintf(stderr, "wharf admin: %s: %s\n", url, curl_easy_strerror(cc));
		rc = EXIT_FAILURE_RUNTIME;
	} else if (status < 200 || status > 299) {
		const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "message"));
		fprintf(stderr, "wharf admin: %s %s: %ld %s\n", method, path, status, msg ? msg : (resp.data ? resp.data : ""));
		rc = EXIT_FAILURE_RUNTIME;
	}
	wharf_buf_free(&resp);
	if (rc == EXIT_OK && out)
		*out = j;
	else
		json_decref(j);
	return rc;
}

static int new_password(const struct admin_opts *o, char **out)
{
	if (o->password_stdin) {
		char line[1100];
		if (!fgets(line, sizeof(line), stdin)) {
			fprintf(stderr, "wharf admin: no password on standard input\n");
			return EXIT_USAGE;
		}
		line[strcspn(line, "\r\n")] = 0;
		*out = wharf_xstrdup(line);
		return EXIT_OK;
	}
	const char *env = getenv("WHARF_NEW_PASSWORD");
	if (!env || !*env) {
		fprintf(stderr, "wharf admin: give the new password with --password-stdin or WHARF_NEW_PASSWORD\n");
		return EXIT_USAGE;
	}
	*out = wharf_xstrdup(env);
	return EXIT_OK;
}

static int simple(const struct admin_opts *o, const char *method, const char *path, json_t *body)
{
	json_t *res = NULL;
	int rc = call(o, method, path, body, &res);
	if (rc == EXIT_OK && o->json) {
		char *s = json_dumps(res, JSON_COMPACT);
		puts(s);
		free(s);
	}
	json_decref(res);
	return rc;
}

/* Print a list answer: JSON, or one line per entry of its string fields. */
static int list(const struct admin_opts *o, const char *path, const char *key)
{
	json_t *res = NULL;
	int rc = call(o, "GET", path, NULL, &res);
	if (rc != EXIT_OK)
		return rc;
	if (o->json) {
		char *s = json_dumps(json_object_get(res, key), JSON_INDENT(2));
		puts(s);
		free(s);
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(res, key), i, e) {
			const char *k;
			json_t *v;
			bool first = true;
			json_object_foreach(e, k, v) {
				char *dump = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
				const char *text = json_is_string(v) ? json_string_value(v) : dump;
				if (first)
					fputs(text, stdout);
				else
					printf("  %s=%s", k, text);
				free(dump);
				first = false;
			}
			putchar('\n');
		}
	}
	json_decref(res);
	return EXIT_OK;
}

static bool nargs(const struct admin_opts *o, size_t n)
{
	if (o->args.n == n)
		return true;
	fprintf(stderr, "wharf admin %s %s: expected %zu arguments (see wharf admin --help)\n", o->args.v[0],
		o->args.n > 1 ? o->args.v[1] : "", n - 2);
	return false;
}

static int cmd_user(const struct admin_opts *o, const char *verb, char **a)
{
	_cleanup_free_ char *pw = NULL;
	_cleanup_free_ char *path = NULL;
	if (!strcmp(verb, "ls") && nargs(o, 2))
		return list(o, "users", "users");
	if (!strcmp(verb, "add") && nargs(o, 3)) {
		int rc = new_password(o, &pw);
		return rc ? rc : simple(o, "POST", "users", json_pack("{s:s,s:s,s:b}", "name", a[0], "password", pw, "admin", o->admin));
	}
	if (!strcmp(verb, "rm") && nargs(o, 3))
		return simple(o, "DELETE", path = wharf_xasprintf("users/%s", a[0]), NULL);
	if (!strcmp(verb, "passwd") && nargs(o, 3)) {
		int rc = new_password(o, &pw);
		return rc ? rc : simple(o, "PUT", path = wharf_xasprintf("users/%s/password", a[0]), json_pack("{s:s}", "password", pw));
	}
	if (!strcmp(verb, "disable") && nargs(o, 3))
		return simple(o, "PUT", path = wharf_xasprintf("users/%s/disabled", a[0]), json_pack("{s:b}", "disabled", !o->enable));
	return EXIT_USAGE;
}

static int cmd_org(const struct admin_opts *o, const char *verb, char **a)
{
	_cleanup_free_ char *path = NULL;
	if (!strcmp(verb, "ls") && nargs(o, 2))
		return list(o, "orgs", "organizations");
	if (!strcmp(verb, "add") && nargs(o, 3)) {
		json_t *b = json_pack("{s:s}", "name", a[0]);
		if (o->owner)
			json_object_set_new(b, "owner", json_string(o->owner));
		return simple(o, "POST", "orgs", b);
	}
	if (!strcmp(verb, "rm") && nargs(o, 3))
		return simple(o, "DELETE", path = wharf_xasprintf("orgs/%s", a[0]), NULL);
	return EXIT_USAGE;
}

static int cmd_team(const struct admin_opts *o, const char *verb, char **a)
{
	_cleanup_free_ char *path = NULL;
	if (!strcmp(verb, "ls") && nargs(o, 3))
		return list(o, path = wharf_xasprintf("orgs/%s/teams", a[0]), "teams");
	if (!strcmp(verb, "add") && nargs(o, 4))
		return simple(o, "POST", path = wharf_xasprintf("orgs/%s/teams", a[0]), json_pack("{s:s}", "name", a[1]));
	if (!strcmp(verb, "rm") && nargs(o, 4))
		return simple(o, "DELETE", path = wharf_xasprintf("orgs/%s/teams/%s", a[0], a[1]), NULL);
	if (!strcmp(verb, "member") && o->args.n == 6 && (!strcmp(a[0], "add") || !strcmp(a[0], "rm")))
		return simple(o, !strcmp(a[0], "add") ? "PUT" : "DELETE",
			      path = wharf_xasprintf("orgs/%s/teams/%s/members/%s", a[1], a[2], a[3]), NULL);
	if (!strcmp(verb, "grant") && nargs(o, 6))
		return simple(o, "POST", path = wharf_xasprintf("orgs/%s/teams/%s/grants", a[0], a[1]),
			      json_pack("{s:s,s:s}", "repository", a[2], "permission", a[3]));
	return EXIT_USAGE;
}

static int cmd_repo(const struct admin_opts *o, const char *verb, char **a)
{
	if ((!strcmp(verb, "public") || !strcmp(verb, "private")) && nargs(o, 3))
		return simple(o, "POST", "repos/visibility", json_pack("{s:s,s:b}", "repository", a[0], "public", !strcmp(verb, "public")));
	return EXIT_USAGE;
}

static int cmd_robot(const struct admin_opts *o, const char *verb, char **a)
{
	_cleanup_free_ char *path = NULL;
	if (!strcmp(verb, "ls") && nargs(o, 2))
		return list(o, "robots", "robots");
	if (!strcmp(verb, "rm") && nargs(o, 3))
		return simple(o, "DELETE", path = wharf_xasprintf("robots/%s", a[0]), NULL);
	if (!strcmp(verb, "add") && nargs(o, 3)) {
		if (!o->repos.n || !o->actions) {
			fprintf(stderr, "wharf admin robot add: give --repo PATTERN and --actions pull,push\n");
			return EXIT_USAGE;
		}
		json_t *repos = json_array(), *acts = json_array();
		for (size_t i = 0; i < o->repos.n; i++)
			json_array_append_new(repos, json_string(o->repos.v[i]));
		_cleanup_free_ char *copy = wharf_xstrdup(o->actions);
		char *save = NULL;
		for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
			json_array_append_new(acts, json_string(s));
		json_t *b = json_pack("{s:s,s:o,s:o}", "name", a[0], "repositories", repos, "actions", acts);
		if (o->expires_in)
			json_object_set_new(b, "expires", json_integer(wharf_now() + o->expires_in));
		json_t *res = NULL;
		int rc = call(o, "POST", "robots", b, &res);
		if (rc == EXIT_OK) {
			char *s = json_dumps(res, JSON_COMPACT);
			if (o->json)
				puts(s);
			else
				printf("robot %s created; its secret (shown once): %s\n", a[0],
				       json_string_value(json_object_get(res, "secret")));
			free(s);
		}
		json_decref(res);
		return rc;
	}
	return EXIT_USAGE;
}

int wharf_cli_admin_access(int argc, char **argv)
{
	struct admin_opts o = {0};
	int rc = parse(argc, argv, &o);
	if (rc < 0 && o.args.n < 2) {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	if (rc < 0) {
		o.server = o.server ? o.server : getenv("WHARF_SERVER") ? getenv("WHARF_SERVER") : "http://127.0.0.1:5000";
		o.user = o.user ? o.user : getenv("WHARF_USER");
		const char *noun = o.args.v[0], *verb = o.args.v[1];
		char **a = o.args.v + 2;
		rc = !strcmp(noun, "user")    ? cmd_user(&o, verb, a)
		     : !strcmp(noun, "org")   ? cmd_org(&o, verb, a)
		     : !strcmp(noun, "team")  ? cmd_team(&o, verb, a)
		     : !strcmp(noun, "repo")  ? cmd_repo(&o, verb, a)
		     : !strcmp(noun, "robot") ? cmd_robot(&o, verb, a)
					      : EXIT_USAGE;
		if (rc == EXIT_USAGE)
			fprintf(stderr, "wharf admin %s %s: bad usage (see wharf admin %s --help)\n", noun, verb, noun);
	}
	wharf_strv_free(&o.repos);
	wharf_strv_free(&o.args);
	return rc;
}
