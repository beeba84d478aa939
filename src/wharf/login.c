/* wharf login / wharf logout: check credentials against a registry, then keep them in
 * $WHARF_HOME/auth.json for the registry and trust clients. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/client.h"

static void login_usage(FILE *out)
{
	fputs("Usage: wharf login [-u USER] [--password-stdin] [--json] SERVER\n"
	      "\n"
	      "Check a user name and password against the registry SERVER (HOST[:PORT] or a URL; http://\n"
	      "when no scheme is given): GET /v2/, answering its Bearer challenge with a token from the\n"
	      "server's token service (or its Basic challenge). When the server accepts them they are\n"
	      "stored in $WHARF_HOME/auth.json (mode 0600) under HOST[:PORT], and wharf pull, wharf\n"
	      "trust, wharf scan docker:// and wharf run use them for that host only.\n"
	      "\n"
	      "Credentials are looked up in this order: $WHARF_USER with $WHARF_PASSWORD (every host),\n"
	      "$WHARF_HOME/auth.json, docker's $DOCKER_CONFIG/config.json or ~/.docker/config.json (read\n"
	      "only; plain \"auth\" entries, not credential helpers).\n"
	      "\n"
	      "Options:\n"
	      "  -u, --username USER   the user (default $WHARF_USER)\n"
	      "      --password-stdin  read the password from the first line of standard input\n"
	      "                        (default $WHARF_PASSWORD, else asked on the terminal)\n"
	      "      --json            print {\"server\", \"user\", \"file\"} as JSON\n"
	      "  -h, --help            show this help\n"
	      "\n"
	      "Exit status: 0 logged in, 1 the server refused the credentials or could not be reached,\n"
	      "2 bad usage.\n",
	      out);
}

static void logout_usage(FILE *out)
{
	fputs("Usage: wharf logout SERVER\n"
	      "\n"
	      "Remove the credentials of SERVER (HOST[:PORT] or a URL) from $WHARF_HOME/auth.json.\n"
	      "docker's config.json is never changed.\n"
	      "\n"
	      "Exit status: 0 removed or not stored, 1 the file could not be written, 2 bad usage.\n",
	      out);
}

/* "http://" + server unless it has a scheme. */
static char *server_url(const char *server)
{
	return strstr(server, "://") ? wharf_xstrdup(server) : wharf_xasprintf("http://%s", server);
}

static int read_stdin_password(char **out, struct wharf_error *err)
{
	char line[1024];
	if (!fgets(line, sizeof(line), stdin))
		return wharf_error_set(err, WHARF_EINVAL, "--password-stdin: nothing on standard input");
	line[strcspn(line, "\r\n")] = '\0';
	*out = wharf_xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return 0;
}

static int get_password(bool from_stdin, const char *user, const char *host, char **out, struct wharf_error *err)
{
	if (from_stdin)
		return read_stdin_password(out, err);
	_cleanup_free_ char *what = wharf_xasprintf("%s on %s", user, host);
	return wharf_cli_passphrase_var("WHARF_PASSWORD", what, false, out, err);
}

static int login(const char *server, const char *user, bool pw_stdin, bool json)
{
	struct wharf_error err = {0};
	_cleanup_free_ char *url = server_url(server);
	_cleanup_free_ char *host = NULL;
	struct wharf_credentials cred = {0}; /* no source: the refusal needs no hint to log in */
	int r = wharf_credentials_host(url, &host, &err);
	if (r == 0 && (r = get_password(pw_stdin, user, host, &cred.password, &err)) == 0) {
		cred.user = wharf_xstrdup(user);
		r = wharf_auth_check_login(url, &cred, &err);
	}
	if (r == 0)
		r = wharf_credentials_store(host, cred.user, cred.password, &err);
	wharf_credentials_clear(&cred);
	if (r < 0) {
		fprintf(stderr, "wharf login: %s\n", err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	_cleanup_free_ char *home = NULL;
	if (json && wharf_cli_home(&home, &err) == 0) {
		_cleanup_free_ char *file = wharf_xasprintf("%s/auth.json", home);
		json_t *doc = json_pack("{s:s, s:s, s:s}", "server", host, "user", user, "file", file);
		json_dumpf(doc, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(doc);
	} else {
		printf("Login Succeeded: %s as %s\n", host, user);
	}
	return EXIT_OK;
}

int wharf_cli_cmd_login(int argc, char **argv)
{
	enum { OPT_STDIN = 256, OPT_JSON };
	static const struct option opts[] = {
		{"username", required_argument, NULL, 'u'}, {"user", required_argument, NULL, 'u'},
		{"password-stdin", no_argument, NULL, OPT_STDIN}, {"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *user = getenv("WHARF_USER");
	bool pw_stdin = false, json = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': user = optarg; break;
		case OPT_STDIN: pw_stdin = true; break;
		case OPT_JSON: json = true; break;
		case 'h': login_usage(stdout); return EXIT_OK;
		default: login_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "wharf login: give exactly one SERVER\n");
		login_usage(stderr);
		return EXIT_USAGE;
	}
	if (!user || !*user || strchr(user, ':')) {
		fprintf(stderr, "wharf login: give a user name without ':' with -u USER (or WHARF_USER)\n");
		return EXIT_USAGE;
	}
	return login(argv[optind], user, pw_stdin, json);
}

int wharf_cli_cmd_logout(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		logout_usage(stdout);
		return EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		logout_usage(stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err = {0};
	_cleanup_free_ char *host = NULL;
	bool removed = false;
	int r = wharf_credentials_host(argv[1], &host, &err);
	if (r == 0)
		r = wharf_credentials_erase(host, &removed, &err);
	if (r < 0) {
		fprintf(stderr, "wharf logout: %s\n", err.message);
		return r == -WHARF_EINVAL ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
	}
	printf(removed ? "Removed the credentials of %s\n" : "Not logged in to %s\n", host);
	return EXIT_OK;
}
