/* wharf admin ldap test: try a directory configuration the way wharfd uses it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "wharf/authx.h"

enum { EXIT_REFUSED = 5 };

static void ldap_usage(FILE *out)
{
	fputs("Usage: wharf admin ldap test --config FILE [--lookup] [--json] USER\n"
	      "\n"
	      "Authenticate USER against the directory described by FILE (the JSON LDAP configuration,\n"
	      "see docs/auth-extensions.md) exactly as wharfd does: search as the service account,\n"
	      "bind as the user, read the groups. Prints the user's DN, display name and groups.\n"
	      "The password comes from WHARF_LDAP_PASSWORD, else it is asked on the terminal.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE   the LDAP configuration\n"
	      "      --lookup        no password: look the user up as the group sync does\n"
	      "                      (reports whether the account is disabled)\n"
	      "      --json          print {\"dn\":..,\"display\":..,\"groups\":[..],\"teams\":[..],\"disabled\":bool}\n"
	      "                      or {\"error\":..,\"reason\":\"bad-credentials|no-such-user|unreachable|..\"}\n"
	      "  -h, --help          show this help\n"
	      "\n"
	      "Exit status: 0 authenticated (or found), 1 the directory failed or the configuration is\n"
	      "bad, 2 bad usage, 5 refused (bad credentials, disabled account, no such user).\n",
	      out);
}

static const char *reason_name(int code)
{
	switch (code) {
	case WHARF_LDAP_EBADCRED: return "bad-credentials";
	case WHARF_LDAP_ENOUSER: return "no-such-user";
	case WHARF_LDAP_EUNREACHABLE: return "unreachable";
	default: return wharf_errc_name(code);
	}
}

static void print_user(const struct wharf_ldap_config *cfg, const struct wharf_ldap_user *u, bool json)
{
	struct wharf_strv teams = {0};
	wharf_ldap_map_teams(cfg, u, &teams);
	if (!json) {
		printf("dn: %s\ndisplay: %s\ndisabled: %s\ngroups:", u->dn, u->display ? u->display : "",
		       u->disabled ? "yes" : "no");
		for (size_t i = 0; i < u->ngroups; i++)
			printf(" %s", u->groups[i]);
		printf("\nteams:");
		for (size_t i = 0; i < teams.n; i++)
			printf(" %s", teams.v[i]);
		putchar('\n');
		wharf_strv_free(&teams);
		return;
	}
	json_t *groups = json_array(), *tj = json_array();
	for (size_t i = 0; i < u->ngroups; i++)
		json_array_append_new(groups, json_string(u->groups[i]));
	for (size_t i = 0; i < teams.n; i++)
		json_array_append_new(tj, json_string(teams.v[i]));
	wharf_strv_free(&teams);
	json_t *o = json_pack("{s:s,s:s?,s:o,s:o,s:b}", "dn", u->dn, "display", u->display, "groups", groups, "teams",
			      tj, "disabled", u->disabled);
	char *s = json_dumps(o, JSON_COMPACT);
	puts(s);
	free(s);
	json_decref(o);
}

static int report_error(const struct wharf_error *err, bool json)
{
	if (json) {
		json_t *o = json_pack("{s:s,s:s}", "error", err->message, "reason", reason_name(err->code));
		char *s = json_dumps(o, JSON_COMPACT);
		puts(s);
		free(s);
		json_decref(o);
	}
	fprintf(stderr, "wharf admin ldap test: %s\n", err->message);
	bool refused = err->code == WHARF_LDAP_EBADCRED || err->code == WHARF_LDAP_ENOUSER;
	return refused ? EXIT_REFUSED : EXIT_FAILURE_RUNTIME;
}

static int ldap_test(int argc, char **argv)
{
	enum { O_LOOKUP = 256, O_JSON };
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {"lookup", no_argument, NULL, O_LOOKUP},
					     {"json", no_argument, NULL, O_JSON},       {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *config = NULL;
	bool lookup = false, json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case O_LOOKUP: lookup = true; break;
		case O_JSON: json = true; break;
		case 'h': ldap_usage(stdout); return EXIT_OK;
		default: ldap_usage(stderr); return EXIT_USAGE;
		}
	}
	if (!config || optind + 1 != argc) {
		fputs("wharf admin ldap test: expected --config FILE and one USER (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	const char *user = argv[optind];
	struct wharf_error err = {0};
	struct wharf_ldap_config cfg;
	if (wharf_ldap_config_load(&cfg, config, &err) < 0) {
		fprintf(stderr, "wharf admin ldap test: %s\n", err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_ldap_user u;
	_cleanup_free_ char *password = NULL;
	int r, rc;
	if (lookup)
		r = wharf_ldap_lookup(&cfg, user, &u, &err);
	else if (getenv("WHARF_LDAP_PASSWORD") && (password = wharf_xstrdup(getenv("WHARF_LDAP_PASSWORD"))))
		r = wharf_ldap_authenticate(&cfg, user, password, &u, &err); /* even empty: the library refuses it */
	else if ((r = wharf_cli_passphrase_var("WHARF_LDAP_PASSWORD", "LDAP password", false, &password, &err)) == 0)
		r = wharf_ldap_authenticate(&cfg, user, password, &u, &err);
	if (r < 0) {
		rc = report_error(&err, json);
	} else {
		print_user(&cfg, &u, json);
		wharf_ldap_user_free(&u);
		rc = EXIT_OK;
	}
	wharf_ldap_config_free(&cfg);
	return rc;
}

int wharf_cli_admin_ldap(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		ldap_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "test"))
		return ldap_test(argc - 1, argv + 1);
	fprintf(stderr, "wharf admin ldap: unknown command '%s' (see wharf admin ldap --help)\n", argv[1]);
	return EXIT_USAGE;
}
