/* wharf db: the local vulnerability database (import, status). */
#include <getopt.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "wharf/vulndb.h"

static const char db_usage[] =
	"Usage: wharf db import [--db PATH] [--json] FORMAT PATH...\n"
	"       wharf db status [--db PATH] [--json]\n"
	"       wharf db match [--db PATH] [--format F] [--severity LIST] [--ignore-unfixed]\n"
	"                      [--ignorefile FILE] [--exit-code N] [--fail-on SEVERITY] PKGLIST.json\n"
	"\n"
	"The vulnerability database wharf scan matches packages against: one SQLite file,\n"
	"by default $WHARF_HOME/vulndb.sqlite, built from standard advisory formats.\n"
	"\n"
	"import FORMAT PATH...\n"
	"  Read advisory files (PATH: files, zip archives such as OSV's all.zip, or directories\n"
	"  walked for *.json, *.yaml, *.yml) and merge them into the database. FORMAT is one of:\n"
	"    osv     OSV records, JSON or YAML, any ecosystem (Go, PyPI, crates.io, npm, ...)\n"
	"    debian  the Debian security tracker JSON export (by source package and release)\n"
	"    alpine  Alpine secdb files (JSON or YAML, one per branch and repository)\n"
	"    nvd     NVD CVE JSON 2.0 files: descriptions and CVSS scores\n"
	"    rustsec RustSec advisory-db Markdown files (*.md; crates.io)\n"
	"  One import is one transaction: a bad file (larger than 256 MiB, not parseable, or\n"
	"  breaking a rule of its format) is named with the rule it broke, and the database\n"
	"  stays as it was. Importing the same data again changes nothing but the generation.\n"
	"\n"
	"status\n"
	"  Sources with their import times and counts, advisories per ecosystem and release,\n"
	"  schema version, build time and generation (which changes on every import).\n"
	"\n"
	"match PKGLIST.json\n"
	"  Match a package list (JSON: {\"os\": {\"id\", \"version_id\", \"codename\"},\n"
	"  \"packages\": [{\"ecosystem\", \"name\", \"version\", \"source_name\", \"source_version\",\n"
	"  \"path\", \"purl\"}]}) against the database and write a report, as wharf scan does for\n"
	"  an image. Formats: table (default), json (Trivy-compatible), sarif, cyclonedx.\n"
	"  --severity LIST     only these severities (UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL)\n"
	"  --ignore-unfixed    leave out findings without a fixed version\n"
	"  --ignorefile FILE   accepted findings: lines \"ID reason... expires=YYYY-MM-DD\" or YAML\n"
	"  --exit-code N       exit N when findings remain (at or above --fail-on, default any)\n"
	"\n"
	"Options:\n"
	"  --db PATH   the database file (default $WHARF_HOME/vulndb.sqlite)\n"
	"  --json      machine-readable output\n"
	"  -h, --help  this text\n"
	"\n"
	"Exit status: 0 success, 1 failure (an import leaves the database unchanged), 2 bad usage,\n"
	"3 busy; match: the --exit-code value when findings at or above --fail-on remain.\n";

struct db_opts {
	char *db;
	bool json;
	const char *format, *severity, *ignorefile, *fail_on;
	bool ignore_unfixed;
	int exit_code;
};

static int exit_code(const struct wharf_error *err)
{
	return err->code == WHARF_EBUSY ? EXIT_BUSY : EXIT_FAILURE_RUNTIME;
}

/* Parse --db, --json, --help; returns -1 to go on, else the exit code. */
static int parse_opts(int argc, char **argv, struct db_opts *o)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"format", required_argument, NULL, 'f'},
		{"severity", required_argument, NULL, 's'},
		{"ignorefile", required_argument, NULL, 'i'},
		{"ignore-unfixed", no_argument, NULL, 'u'},
		{"exit-code", required_argument, NULL, 'e'},
		{"fail-on", required_argument, NULL, 'F'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			free(o->db);
			o->db = wharf_xstrdup(optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			fputs(db_usage, stdout);
			return EXIT_OK;
		case 'f':
			o->format = optarg;
			break;
		case 's':
			o->severity = optarg;
			break;
		case 'i':
			o->ignorefile = optarg;
			break;
		case 'u':
			o->ignore_unfixed = true;
			break;
		case 'F':
			o->fail_on = optarg;
			break;
		case 'e': {
			uint64_t v;
			if (!wharf_parse_u64(optarg, strlen(optarg), &v) || v > 125) {
				fprintf(stderr, "wharf db: --exit-code must be a number from 0 to 125\n");
				return EXIT_USAGE;
			}
			o->exit_code = (int)v;
			break;
		}
		default:
			fputs(db_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!o->db) {
		struct wharf_error err = {0};
		_cleanup_free_ char *home = NULL;
		if (wharf_cli_home(&home, &err) < 0) {
			fprintf(stderr, "wharf db: %s\n", err.message);
			return EXIT_FAILURE_RUNTIME;
		}
		o->db = wharf_vulndb_default_path(home);
	}
	return -1;
}

static int db_import(int argc, char **argv)
{
	struct db_opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0) {
		free(o.db);
		return rc;
	}
	if (argc - optind < 2) {
		fputs(db_usage, stderr);
		free(o.db);
		return EXIT_USAGE;
	}
	const char *format = argv[optind];
	struct wharf_error err = {0};
	struct wharf_vulndb_import_stats st = {0};
	uint64_t t0 = wharf_monotonic_us();
	int r = wharf_vulndb_import(o.db, format, (const char *const *)argv + optind + 1, (size_t)(argc - optind - 1), &st,
				    &err);
	double secs = (double)(wharf_monotonic_us() - t0) / 1e6;
	if (r < 0) {
		fprintf(stderr, "wharf db import: %s\n", err.message);
		rc = err.code == WHARF_EINVAL && strstr(err.message, "unknown import format") ? EXIT_USAGE : exit_code(&err);
	} else if (o.json) {
		printf("{\"db\":");
		struct wharf_buf b;
		wharf_buf_init(&b);
		wharf_buf_json_string(&b, o.db);
		printf("%s,\"format\":\"%s\",\"files\":%zu,\"advisories\":%zu,\"skipped\":%zu,\"seconds\":%.3f}\n", b.data,
		       format, st.files, st.advisories, st.skipped, secs);
		wharf_buf_free(&b);
		rc = EXIT_OK;
	} else {
		printf("imported %zu %s advisories from %zu files into %s in %.2fs", st.advisories, format, st.files, o.db,
		       secs);
		if (st.skipped)
			printf(" (%zu skipped: withdrawn, informational, or versions that cannot be ordered)", st.skipped);
		printf("\n");
		rc = EXIT_OK;
	}
	free(o.db);
	return rc;
}

static void print_status_text(const char *json)
{
	json_t *j = json_loads(json, 0, NULL);
	if (!j)
		return;
	printf("database:       %s\n", json_string_value(json_object_get(j, "path")));
	printf("schema version: %lld\n", (long long)json_integer_value(json_object_get(j, "schema_version")));
	printf("generation:     %s\n", json_string_value(json_object_get(j, "generation")));
	time_t built = (time_t)json_integer_value(json_object_get(j, "built_at"));
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&built));
	printf("built:          %s\n\nSOURCE   IMPORTED              FILES  RECORDS\n", when);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(j, "sources"), i, s) {
		time_t t = (time_t)json_integer_value(json_object_get(s, "imported_at"));
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		printf("%-8s %-21s %5lld  %7lld\n", json_string_value(json_object_get(s, "format")), when,
		       (long long)json_integer_value(json_object_get(s, "files")),
		       (long long)json_integer_value(json_object_get(s, "records")));
	}
	printf("\nSOURCE   ECOSYSTEM                ADVISORIES  PACKAGES\n");
	json_array_foreach(json_object_get(j, "ecosystems"), i, s) {
		printf("%-8s %-24s %10lld  %8lld\n", json_string_value(json_object_get(s, "source")),
		       json_string_value(json_object_get(s, "ecosystem")),
		       (long long)json_integer_value(json_object_get(s, "advisories")),
		       (long long)json_integer_value(json_object_get(s, "packages")));
	}
	json_decref(j);
}

static int db_status(int argc, char **argv)
{
	struct db_opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0) {
		free(o.db);
		return rc;
	}
	if (optind != argc) {
		fputs(db_usage, stderr);
		free(o.db);
		return EXIT_USAGE;
	}
	struct wharf_error err = {0};
	char *json = NULL;
	if (wharf_vulndb_status_json(o.db, &json, &err) < 0) {
		fprintf(stderr, "wharf db status: %s\n", err.message);
		free(o.db);
		return exit_code(&err);
	}
	if (o.json)
		printf("%s\n", json);
	else
		print_status_text(json);
	free(json);
	free(o.db);
	return EXIT_OK;
}

static int match_report(struct db_opts *o, struct wharf_vulndb *db, struct wharf_scan_result *r,
			struct wharf_error *err)
{
	struct wharf_report_options ro = {.ignore_unfixed = o->ignore_unfixed};
	struct wharf_ignore_list ign = {0};
	int fail_on = o->fail_on ? wharf_severity_from_name(o->fail_on) : WHARF_SEV_UNKNOWN;
	if (fail_on < 0) {
		fprintf(stderr, "wharf db match: --fail-on %s: not a severity\n", o->fail_on);
		return EXIT_USAGE;
	}
	if (o->severity && wharf_severity_parse_list(o->severity, &ro.severities, err) < 0) {
		fprintf(stderr, "wharf db match: --severity: %s\n", err->message);
		return EXIT_USAGE;
	}
	if (o->ignorefile) {
		if (wharf_ignore_load(o->ignorefile, &ign, err) < 0 || wharf_vulndb_expand_ignore(db, &ign, err) < 0) {
			fprintf(stderr, "wharf db match: %s\n", err->message);
			return EXIT_FAILURE_RUNTIME;
		}
		ro.ignore = &ign;
	}
	wharf_report_filter(r, &ro);
	int rc = EXIT_OK;
	if (wharf_report_write(stdout, o->format ? o->format : "table", r, NULL, err) < 0) {
		fprintf(stderr, "wharf db match: %s\n", err->message);
		rc = err->code == WHARF_EINVAL ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
	} else if (o->exit_code && wharf_report_max_severity(r) >= fail_on) {
		rc = o->exit_code;
	}
	wharf_ignore_list_free(&ign);
	return rc;
}

static int db_match(int argc, char **argv)
{
	struct db_opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0) {
		free(o.db);
		return rc;
	}
	if (argc - optind != 1) {
		fputs(db_usage, stderr);
		free(o.db);
		return EXIT_USAGE;
	}
	const char *list = argv[optind];
	struct wharf_error err = {0};
	struct wharf_scan_result r = {0};
	struct wharf_vulndb *db = NULL;
	char *data = NULL;
	size_t len = 0;
	r.created = wharf_now();
	if (wharf_read_file(list, 64u << 20, &data, &len, &err) < 0 ||
	    wharf_vulndb_load_pkglist(list, data, len, &r, &err) < 0 || wharf_vulndb_open(&db, o.db, &err) < 0 ||
	    wharf_vulndb_match(db, &r, &err) < 0) {
		fprintf(stderr, "wharf db match: %s\n", err.message);
		rc = exit_code(&err);
	} else {
		rc = match_report(&o, db, &r, &err);
	}
	wharf_vulndb_close(db);
	wharf_scan_result_free(&r);
	free(data);
	free(o.db);
	return rc;
}

int wharf_cli_cmd_db(int argc, char **argv)
{
	if (argc < 2) {
		fputs(db_usage, stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(db_usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(sub, "import"))
		return db_import(argc - 1, argv + 1);
	if (!strcmp(sub, "status"))
		return db_status(argc - 1, argv + 1);
	if (!strcmp(sub, "match"))
		return db_match(argc - 1, argv + 1);
	fprintf(stderr, "wharf db: unknown subcommand '%s' (see wharf db --help)\n", sub);
	return EXIT_USAGE;
}
