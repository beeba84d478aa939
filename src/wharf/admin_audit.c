/* wharf admin audit verify: check the hash chain of an audit log. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "wharf/authx.h"

static void audit_usage(FILE *out)
{
	fputs("Usage: wharf admin audit verify [--json] FILE\n"
	      "\n"
	      "Check the hash chain of a wharfd audit log (JSON lines written by --audit-log).\n"
	      "Every record holds its sequence number, the hash of the record before it and its own\n"
	      "hash; a record that was modified, deleted, reordered or cut short breaks the chain,\n"
	      "and the first broken record is reported.\n"
	      "\n"
	      "Records removed from the END of the log cannot be told from a shorter log: compare the\n"
	      "record count with one noted earlier (or shipped elsewhere) to detect that.\n"
	      "\n"
	      "Options:\n"
	      "      --json     print {\"ok\":..,\"records\":N,\"bad_line\":L,\"bad_seq\":S,\"error\":..}\n"
	      "  -h, --help     show this help\n"
	      "\n"
	      "Exit status: 0 the chain is intact, 1 it is broken or the file cannot be read, 2 bad usage.\n",
	      out);
}

static int audit_verify(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		{"json", no_argument, NULL, OPT_JSON}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case 'h': audit_usage(stdout); return EXIT_OK;
		default: audit_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs("wharf admin audit verify: expected exactly one FILE (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err = {0};
	size_t records, bad_line;
	int64_t bad_seq;
	int r = wharf_audit_verify_at(argv[optind], &records, &bad_line, &bad_seq, &err);
	if (json) {
		json_t *o = json_pack("{s:b,s:I}", "ok", r == 0, "records", (json_int_t)records);
		if (r < 0) {
			json_object_set_new(o, "error", json_string(err.message));
			json_object_set_new(o, "bad_line", json_integer((json_int_t)bad_line));
			json_object_set_new(o, "bad_seq", json_integer(bad_seq));
		}
		char *s = json_dumps(o, JSON_COMPACT);
		puts(s);
		free(s);
		json_decref(o);
	} else if (r < 0) {
		fprintf(stderr, "wharf admin audit verify: %s (%zu good records before it)\n", err.message, records);
	} else {
		printf("%s: %zu records, chain intact\n", argv[optind], records);
	}
	return r < 0 ? EXIT_FAILURE_RUNTIME : EXIT_OK;
}

int wharf_cli_admin_audit(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		audit_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "verify"))
		return audit_verify(argc - 1, argv + 1);
	fprintf(stderr, "wharf admin audit: unknown command '%s' (see wharf admin audit --help)\n", argv[1]);
	return EXIT_USAGE;
}
