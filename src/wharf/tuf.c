/* wharf tuf: a generic client of TUF specification-format repositories (like python-tuf's
 * ngclient), and the owner's side of wharfd's specification-format data (wharf tuf repo). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/tufspec.h"

static void usage(FILE *out)
{
	fputs("Usage: wharf tuf init --metadata-dir DIR ROOT.json\n"
	      "       wharf tuf refresh --metadata-dir DIR --metadata-url URL\n"
	      "       wharf tuf download --metadata-dir DIR --metadata-url URL --target-base-url URL\n"
	      "                          --target-dir DIR NAME...\n"
	      "       wharf tuf repo ...   (see 'wharf tuf repo --help')\n"
	      "       wharf tuf push --dir DIR [--server URL] GUN   (host it on wharfd; see 'wharf tuf push --help')\n"
	      "\n"
	      "A TUF 1.0 client for any repository in the specification's format (as python-tuf, tuf-js\n"
	      "and 'wharf tuf repo' write it). init installs a first trusted root (it must be signed\n"
	      "by its own keys); refresh runs the specification's update workflow (root chain,\n"
	      "timestamp, snapshot, targets) and stores verified metadata in DIR; download also finds\n"
	      "each NAME through the delegations, fetches it, checks its length and hashes and writes\n"
	      "it atomically to the target directory.\n"
	      "\n"
	      "Exit status: 0 verified, 1 verification or transfer failure, 2 bad usage.\n",
	      out);
}

struct args {
	const char *metadata_dir, *metadata_url, *target_base_url, *target_dir;
	int first; /* first positional argument */
};

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {{"metadata-dir", required_argument, NULL, 'd'},
					     {"metadata-url", required_argument, NULL, 'm'},
					     {"target-base-url", required_argument, NULL, 't'},
					     {"target-dir", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	memset(a, 0, sizeof(*a));
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->metadata_dir = optarg; break;
		case 'm': a->metadata_url = optarg; break;
		case 't': a->target_base_url = optarg; break;
		case 'o': a->target_dir = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	a->first = optind;
	return -1;
}

static int fail(const char *verb, const struct wharf_error *err)
{
	fprintf(stderr, "wharf tuf %s: %s\n", verb, err->message);
	return EXIT_FAILURE_RUNTIME;
}

static int cmd_init(int argc, char **argv)
{
	struct args a;
	int rc = parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (!a.metadata_dir || argc - a.first != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (wharf_read_file(argv[a.first], WHARF_TUFSPEC_ROOT_MAX, &data, &len, &err) < 0 ||
	    wharf_tufspec_init(a.metadata_dir, data, len, &err) < 0)
		return fail("init", &err);
	printf("trusted root installed in %s\n", a.metadata_dir);
	return EXIT_OK;
}

static int cmd_update(int argc, char **argv, bool download)
{
	struct args a;
	int rc = parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (!a.metadata_dir || !a.metadata_url || (!download && a.first != argc) ||
	    (download && (!a.target_base_url || !a.target_dir || a.first == argc))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *verb = download ? "download" : "refresh";
	struct wharf_tufspec_opts o = {.metadata_dir = a.metadata_dir, .metadata_url = a.metadata_url,
				       .target_base_url = a.target_base_url, .target_dir = a.target_dir};
	struct wharf_tufspec_client *c = NULL;
	struct wharf_error err;
	if (wharf_tufspec_refresh(&c, &o, &err) < 0)
		return fail(verb, &err);
	rc = EXIT_OK;
	for (int i = a.first; i < argc && rc == EXIT_OK; i++) {
		const json_t *info = NULL;
		const char *role = NULL;
		_cleanup_free_ char *path = NULL;
		if (wharf_tufspec_target_info(c, argv[i], &info, &role, &err) < 0 ||
		    wharf_tufspec_download(c, argv[i], info, &path, &err) < 0)
			rc = fail(verb, &err);
		else
			printf("%s: verified (signed by %s), written to %s\n", argv[i], role, path);
	}
	if (!download && rc == EXIT_OK)
		printf("metadata verified and up to date in %s\n", a.metadata_dir);
	wharf_tufspec_client_free(c);
	return rc;
}

int wharf_cli_cmd_tuf(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(verb, "init"))
		return cmd_init(argc - 1, argv + 1);
	if (!strcmp(verb, "refresh"))
		return cmd_update(argc - 1, argv + 1, false);
	if (!strcmp(verb, "download"))
		return cmd_update(argc - 1, argv + 1, true);
	if (!strcmp(verb, "repo"))
		return wharf_cli_tuf_repo(argc - 1, argv + 1);
	if (!strcmp(verb, "push"))
		return wharf_cli_tuf_push(argc - 1, argv + 1);
	fprintf(stderr, "wharf tuf: unknown command '%s' (see wharf tuf --help)\n", verb);
	return EXIT_USAGE;
}
