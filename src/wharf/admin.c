#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "wharf/registry.h"

static void gc_usage(FILE *out)
{
	fputs("Usage: wharf admin gc [--data DIR | --server URL] [OPTIONS]\n"
	      "\n"
	      "Remove blobs that no manifest references and uploads that were abandoned.\n"
	      "A blob used (uploaded, mounted or checked with HEAD) within the grace period is kept,\n"
	      "so a push in progress never loses a blob it is about to reference.\n"
	      "\n"
	      "Offline, on a data directory no wharfd is serving:\n"
	      "  -d, --data DIR        the data directory (default ./data)\n"
	      "      --grace DUR       keep blobs used within DUR (default 1h; e.g. 0, 30s, 15m)\n"
	      "      --upload-ttl DUR  remove uploads idle for DUR (default 24h)\n"
	      "Online, asking a running wharfd (it uses its own --gc-grace):\n"
	      "  -s, --server URL      e.g. http://127.0.0.1:5000 (with access control on, an\n"
	      "                        administrator's $WHARF_USER and $WHARF_PASSWORD)\n"
	      "Both:\n"
	      "  -n, --dry-run         report what would be removed, remove nothing\n"
	      "      --json            print the report as JSON\n"
	      "  -h, --help            show this help\n"
	      "\n"
	      "Exit status: 0 done, 1 failed, 2 bad usage, 3 the data directory is in use by wharfd.\n",
	      out);
}

static void print_report(const struct wharf_gc_report *r, bool dry_run, bool json)
{
	if (json) {
		printf("{\"dry_run\":%s,\"blobs_removed\":%llu,\"bytes_removed\":%llu,\"uploads_removed\":%llu,"
		       "\"orphan_files_removed\":%llu,\"blobs_kept\":%llu}\n",
		       dry_run ? "true" : "false", (unsigned long long)r->blobs_removed,
		       (unsigned long long)r->bytes_removed, (unsigned long long)r->uploads_removed,
		       (unsigned long long)r->orphan_files_removed, (unsigned long long)r->blobs_kept);
		return;
	}
	const char *verb = dry_run ? "would remove" : "removed";
	printf("%s %llu blobs (%llu bytes), %llu abandoned uploads, %llu orphan files; %llu blobs kept\n", verb,
	       (unsigned long long)r->blobs_removed, (unsigned long long)r->bytes_removed,
	       (unsigned long long)r->uploads_removed, (unsigned long long)r->orphan_files_removed,
	       (unsigned long long)r->blobs_kept);
}

static int gc_offline(struct wharf_config *cfg, bool dry_run, bool json)
{
	struct wharf_error err;
	int lock_fd;
	if (wharf_registry_lock_data(cfg->data_dir, &lock_fd, &err) < 0) {
		fprintf(stderr, "wharf admin gc: %s; use --server to collect through it\n", err.message);
		return err.code == WHARF_EBUSY ? EXIT_BUSY : EXIT_FAILURE_RUNTIME;
	}
	struct wharf_metrics *metrics = wharf_metrics_new();
	struct wharf_registry *reg = NULL;
	struct wharf_gc_report rep;
	int rc = EXIT_OK;
	if (wharf_registry_open(&reg, cfg, metrics, &err) < 0 || wharf_registry_gc(reg, dry_run, &rep, &err) < 0) {
		fprintf(stderr, "wharf admin gc: %s\n", err.message);
		rc = EXIT_FAILURE_RUNTIME;
	} else {
		print_report(&rep, dry_run, json);
	}
	wharf_registry_close(reg);
	wharf_metrics_free(metrics);
	close(lock_fd);
	return rc;
}

static int gc_online(const char *server, bool dry_run, bool json)
{
	_cleanup_free_ char *url = wharf_xasprintf("%s/_wharf/admin/gc%s", server, dry_run ? "?dry-run=1" : "");
	CURL *curl = curl_easy_init();
	struct wharf_buf body;
	wharf_buf_init(&body);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
	if (getenv("WHARF_USER") && getenv("WHARF_PASSWORD")) { /* wharfd --auth: an administrator */
		curl_easy_setopt(curl, CURLOPT_USERNAME, getenv("WHARF_USER"));
		curl_easy_setopt(curl, CURLOPT_PASSWORD, getenv("WHARF_PASSWORD"));
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	int rc = EXIT_OK;
	if (cc != CURLE_OK) {
		fprintf(stderr, "wharf admin gc: %s: %s\n", url, curl_easy_strerror(cc));
		rc = EXIT_FAILURE_RUNTIME;
	} else if (status != 200) {
		fprintf(stderr, "wharf admin gc: %s answered %ld: %s\n", url, status, body.data ? body.data : "");
		rc = EXIT_FAILURE_RUNTIME;
	} else {
		fputs(json ? body.data : "", stdout);
		if (!json)
			printf("%s: %s", server, body.data);
	}
	wharf_buf_free(&body);
	return rc;
}

static int cmd_gc(int argc, char **argv)
{
	enum { OPT_GRACE = 256, OPT_TTL, OPT_JSON };
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'}, {"server", required_argument, NULL, 's'},
		{"grace", required_argument, NULL, OPT_GRACE}, {"upload-ttl", required_argument, NULL, OPT_TTL},
		{"dry-run", no_argument, NULL, 'n'},    {"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	struct wharf_config cfg;
	wharf_config_init(&cfg);
	const char *server = NULL;
	bool dry_run = false, json = false;
	struct wharf_error err;
	int c, rc = -1;
	optind = 1;
	while (rc < 0 && (c = getopt_long(argc, argv, "d:s:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			free(cfg.data_dir);
			cfg.data_dir = wharf_xstrdup(optarg);
			break;
		case 's': server = optarg; break;
		case 'n': dry_run = true; break;
		case OPT_JSON: json = true; break;
		case OPT_GRACE:
		case OPT_TTL:
			if (wharf_parse_duration(optarg, c == OPT_GRACE ? &cfg.gc_grace : &cfg.upload_ttl, &err) < 0) {
				fprintf(stderr, "wharf admin gc: %s\n", err.message);
				rc = EXIT_USAGE;
			}
			break;
		case 'h': gc_usage(stdout); rc = EXIT_OK; break;
		default: gc_usage(stderr); rc = EXIT_USAGE; break;
		}
	}
	if (rc < 0 && optind < argc) {
		fprintf(stderr, "wharf admin gc: unexpected argument '%s'\n", argv[optind]);
		rc = EXIT_USAGE;
	}
	if (rc < 0) {
		wharf_log_set_level(WHARF_LOG_WARN);
		rc = server ? gc_online(server, dry_run, json) : gc_offline(&cfg, dry_run, json);
	}
	wharf_config_free(&cfg);
	return rc;
}

int wharf_cli_cmd_admin(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs("Usage: wharf admin COMMAND\n\nCommands:\n  gc    collect unreferenced blobs and abandoned uploads\n"
		      "  audit verify the hash chain of an audit log\n"
		      "  authz ask authorization plugins and the policy file about a request\n"
		      "  ldap  test a directory (LDAP / Active Directory) configuration\n"
		      "  cert  make a CA and a server certificate for HTTPS\n"
		      "  user|org|team|repo|robot ...  access control (wharf admin user --help)\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "gc"))
		return cmd_gc(argc - 1, argv + 1);
	static const char *const access_nouns[] = {"user", "org", "team", "repo", "robot"};
	for (size_t i = 0; i < sizeof(access_nouns) / sizeof(access_nouns[0]); i++)
		if (!strcmp(argv[1], access_nouns[i]))
			return wharf_cli_admin_access(argc, argv);
	/* access-control extensions (issue 7, src/wharf/admin_audit.c, admin_ldap.c, admin_cert.c) */
	if (!strcmp(argv[1], "audit"))
		return wharf_cli_admin_audit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "authz"))
		return wharf_cli_admin_authz(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ldap"))
		return wharf_cli_admin_ldap(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cert"))
		return wharf_cli_admin_cert(argc - 1, argv + 1);
	fprintf(stderr, "wharf admin: unknown command '%s' (see wharf admin --help)\n", argv[1]);
	return EXIT_USAGE;
}
