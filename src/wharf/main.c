/* wharf: the command line client. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf-config.h"

static void usage(FILE *out)
{
	fputs("Usage: wharf [--help] [--version] COMMAND [ARGS]\n"
	      "\n"
	      "The wharf client. Client state (keys, trust data, content, vulnerability database,\n"
	      "containers) lives under $WHARF_HOME, by default ~/.wharf.\n"
	      "\n"
	      "Commands:\n"
	      "  admin        gc, users, organizations, teams, robots, audit log, LDAP and policy checks, certificates\n"
	      "  db           the vulnerability database: import advisories (OSV, Debian, Alpine, NVD), status\n"
	      "  home         print the client state directory\n"
	      "  login        check and store credentials for a registry; logout: remove them\n"
	      "  ps           list containers (wharf run)\n"
	      "  pull         pull an image, its tag verified through content trust, into $WHARF_HOME/content\n"
	      "  rm           remove containers; logs, stop: their output, stop them\n"
	      "  run          run a verified image in a user namespace through runc or crun\n"
	      "  scan         packages, vulnerabilities and secrets of an image, layer by layer\n"
	      "  secret       encrypted secrets for containers: create, ls, inspect, rotate, rm\n"
	      "  trust        content trust (Notary v1, TUF): init, sign, ls, signers, thresholds, pending, approve, hsm\n"
	      "  tuf          generic TUF client (init, refresh, download) for specification-format repositories\n"
	      "  version      print the version\n"
	      "\n"
	      "Run 'wharf COMMAND --help' for the options of a command.\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage, 3 resource busy.\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
		printf("wharf %s\n", WHARF_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "admin"))
		return wharf_cli_cmd_admin(argc - 1, argv + 1);
	if (!strcmp(cmd, "db"))
		return wharf_cli_cmd_db(argc - 1, argv + 1);
	if (!strcmp(cmd, "login"))
		return wharf_cli_cmd_login(argc - 1, argv + 1);
	if (!strcmp(cmd, "logout"))
		return wharf_cli_cmd_logout(argc - 1, argv + 1);
	if (!strcmp(cmd, "home"))
		return wharf_cli_cmd_home(argc - 1, argv + 1);
	if (!strcmp(cmd, "pull"))
		return wharf_cli_cmd_pull(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return wharf_cli_cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "ps"))
		return wharf_cli_cmd_ps(argc - 1, argv + 1);
	if (!strcmp(cmd, "stop"))
		return wharf_cli_cmd_stop(argc - 1, argv + 1);
	if (!strcmp(cmd, "rm"))
		return wharf_cli_cmd_rm(argc - 1, argv + 1);
	if (!strcmp(cmd, "logs"))
		return wharf_cli_cmd_logs(argc - 1, argv + 1);
	if (!strcmp(cmd, "secret"))
		return wharf_cli_cmd_secret(argc - 1, argv + 1);
	if (!strcmp(cmd, "scan"))
		return wharf_cli_cmd_scan(argc - 1, argv + 1);
	if (!strcmp(cmd, "trust"))
		return wharf_cli_cmd_trust(argc - 1, argv + 1);
	if (!strcmp(cmd, "tuf"))
		return wharf_cli_cmd_tuf(argc - 1, argv + 1);
	fprintf(stderr, "wharf: unknown command '%s' (see wharf --help)\n", cmd);
	return EXIT_USAGE;
}
