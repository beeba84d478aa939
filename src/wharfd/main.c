/* wharfd: the wharf registry server. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "wharf-config.h"
#include "wharf/registry.h"
#include "wharf/vulndb.h"

static void usage(FILE *out)
{
	fputs("Usage: wharfd [OPTIONS]\n"
	      "\n"
	      "Run the wharf registry: an OCI Distribution Spec v1.1 registry that keeps blobs as\n"
	      "content-addressed files and metadata in SQLite, both under one data directory.\n"
	      "With no options it serves 127.0.0.1:5000 from ./data.\n"
	      "\n"
	      "Options:\n"
	      "  -l, --listen HOST:PORT   address to serve (default 127.0.0.1:5000; [::1]:5000 for IPv6)\n"
	      "  -d, --data DIR           data directory: blobs/, uploads/, wharf.db (default ./data)\n"
	      "  -c, --config FILE        JSON configuration file; options given here override it\n"
	      "                           (keys are described in docs/configuration.md)\n"
	      "      --threads N          HTTP worker threads (default: two per CPU)\n"
	      "      --gc-interval DUR    run garbage collection online every DUR (e.g. 1h; default off)\n"
	      "      --gc-grace DUR       never collect a blob used within DUR (default 1h)\n"
	      "      --upload-ttl DUR     abandon uploads idle for DUR (default 24h)\n"
	      "      --require-signed PATTERN  pulls by tag of repositories matching PATTERN (fnmatch,\n"
	      "                           e.g. 'prod/*'; repeatable) need the tag signed in the trust data\n"
	      "      --auth               turn access control on: users, teams, token auth (docs/auth.md);\n"
	      "                           off by default, when every request is allowed\n"
	      "      --admin-user NAME    with --auth, the first system administrator, created on first\n"
	      "                           start with the password in $WHARF_ADMIN_PASSWORD\n"
	      "      --admin-password-file FILE  read that password from FILE instead\n"
	      "      --token-ttl DUR      lifetime of issued tokens (default 5m)\n"
	      "      --ldap-config FILE   with --auth, also log users in from a directory (LDAP / AD)\n"
	      "      --authz-plugin SOCKET  with --auth, ask this Docker authorization plugin too\n"
	      "                           (repeatable; every plugin must allow)\n"
	      "      --policy FILE        with --auth, the attribute-based policy file\n"
	      "      --audit-log FILE     with --auth, append every authentication, decision and admin\n"
	      "                           change to this hash-chained log (docs/auth-extensions.md)\n"
	      "      --tls-cert FILE      serve HTTPS only, with this PEM certificate (chain); plain\n"
	      "      --tls-key FILE       HTTP then gets a 400 (`wharf admin cert` makes a pair)\n"
	      "      --scan-workers N     threads scanning pushed images (default 1; 0: pushed images are\n"
	      "                           queued in DIR/scan.db but not scanned by this process)\n"
	      "      --vulndb PATH        vulnerability database for scans (default DIR/vulndb.sqlite;\n"
	      "                           without one, scans list packages and secrets only)\n"
	      "      --scan-block-severity SEV  refuse pulls of images with a vulnerability of SEV or worse\n"
	      "                           (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN; see docs/scan-server.md)\n"
	      "      --scan-block-unscanned  refuse pulls of images that have no scan result yet\n"
	      "      --no-access-log      do not write a JSON access log line per request\n"
	      "      --log-level LEVEL    debug, info, warn or error (default info)\n"
	      "  -h, --help               show this help and exit\n"
	      "  -V, --version            show the version and exit\n"
	      "\n"
	      "Logs are JSON lines on stderr. Stop with SIGINT or SIGTERM.\n"
	      "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.\n",
	      out);
}

enum { OPT_THREADS = 256, OPT_GC_INTERVAL, OPT_GC_GRACE, OPT_UPLOAD_TTL, OPT_NO_ACCESS_LOG, OPT_LOG_LEVEL, OPT_REQUIRE_SIGNED,
       OPT_AUTH, OPT_ADMIN_USER, OPT_ADMIN_PASSWORD_FILE, OPT_TOKEN_TTL, OPT_LDAP_CONFIG, OPT_AUTHZ_PLUGIN,
       OPT_POLICY, OPT_AUDIT_LOG, OPT_SCAN_WORKERS, OPT_VULNDB, OPT_SCAN_BLOCK_SEVERITY, OPT_SCAN_BLOCK_UNSCANNED };
enum { OPT_TLS_CERT = 300, OPT_TLS_KEY }; /* HTTPS (issue 7) */

/* The HTTPS files (argv strings), set once while parsing the command line. */
static const char *tls_cert_file, *tls_key_file;

static int set_log_level(const char *name)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i])) {
			wharf_log_set_level((enum wharf_log_level)i);
			return 0;
		}
	return -1;
}

static void set_path(char **dst, const char *value)
{
	free(*dst);
	*dst = wharf_xstrdup(value);
}

/* Options given on the command line win over the config file, so apply the file first. */
static int parse_args(int argc, char **argv, struct wharf_config *cfg, struct wharf_error *err)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},   {"data", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},   {"threads", required_argument, NULL, OPT_THREADS},
		{"gc-interval", required_argument, NULL, OPT_GC_INTERVAL},
		{"gc-grace", required_argument, NULL, OPT_GC_GRACE},
		{"upload-ttl", required_argument, NULL, OPT_UPLOAD_TTL},
		{"no-access-log", no_argument, NULL, OPT_NO_ACCESS_LOG},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"require-signed", required_argument, NULL, OPT_REQUIRE_SIGNED},
		{"auth", no_argument, NULL, OPT_AUTH},
		{"admin-user", required_argument, NULL, OPT_ADMIN_USER},
		{"admin-password-file", required_argument, NULL, OPT_ADMIN_PASSWORD_FILE},
		{"token-ttl", required_argument, NULL, OPT_TOKEN_TTL},
		{"ldap-config", required_argument, NULL, OPT_LDAP_CONFIG},
		{"authz-plugin", required_argument, NULL, OPT_AUTHZ_PLUGIN},
		{"policy", required_argument, NULL, OPT_POLICY},
		{"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
		{"tls-cert", required_argument, NULL, OPT_TLS_CERT}, {"tls-key", required_argument, NULL, OPT_TLS_KEY},
		{"scan-workers", required_argument, NULL, OPT_SCAN_WORKERS},
		{"vulndb", required_argument, NULL, OPT_VULNDB},
		{"scan-block-severity", required_argument, NULL, OPT_SCAN_BLOCK_SEVERITY},
		{"scan-block-unscanned", no_argument, NULL, OPT_SCAN_BLOCK_UNSCANNED},
		{"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	for (int pass = 0; pass < 2; pass++) {
		optind = 1;
		int c;
		while ((c = getopt_long(argc, argv, "l:d:c:hV", opts, NULL)) != -1) {
			int r = 0;
			uint64_t n;
			if (c == '?')
				return wharf_error_set(err, WHARF_EINVAL, "unknown option (see wharfd --help)");
			if (c == 'h') {
				usage(stdout);
				exit(0);
			}
			if (c == 'V') {
				printf("wharfd %s\n", WHARF_VERSION);
				exit(0);
			}
			if ((pass == 0) != (c == 'c'))
				continue;
			switch (c) {
			case 'c': r = wharf_config_load(cfg, optarg, err); break;
			case 'l': r = wharf_config_set_listen(cfg, optarg, err); break;
			case 'd':
				free(cfg->data_dir);
				cfg->data_dir = wharf_xstrdup(optarg);
				break;
			case OPT_THREADS:
				if (!wharf_parse_u64(optarg, strlen(optarg), &n) || n == 0 || n > 1024)
					r = wharf_error_set(err, WHARF_EINVAL, "--threads '%s' must be 1 to 1024", optarg);
				else
					cfg->threads = (unsigned)n;
				break;
			case OPT_GC_INTERVAL: r = wharf_parse_duration(optarg, &cfg->gc_interval, err); break;
			case OPT_GC_GRACE: r = wharf_parse_duration(optarg, &cfg->gc_grace, err); break;
			case OPT_UPLOAD_TTL: r = wharf_parse_duration(optarg, &cfg->upload_ttl, err); break;
			case OPT_NO_ACCESS_LOG: cfg->access_log = false; break;
			case OPT_REQUIRE_SIGNED: wharf_strv_push(&cfg->require_signed, optarg); break;
			case OPT_AUTH: cfg->auth.enabled = true; break;
			case OPT_ADMIN_USER:
				free(cfg->auth.admin_user);
				cfg->auth.admin_user = wharf_xstrdup(optarg);
				break;
			case OPT_ADMIN_PASSWORD_FILE:
				free(cfg->auth.admin_password_file);
				cfg->auth.admin_password_file = wharf_xstrdup(optarg);
				break;
			case OPT_LDAP_CONFIG: set_path(&cfg->auth.ext.ldap_config, optarg); break;
			case OPT_AUTHZ_PLUGIN: wharf_strv_push(&cfg->auth.ext.plugins, optarg); break;
			case OPT_POLICY: set_path(&cfg->auth.ext.policy_file, optarg); break;
			case OPT_AUDIT_LOG: set_path(&cfg->auth.ext.audit_log, optarg); break;
			case OPT_TOKEN_TTL:
				r = wharf_parse_duration(optarg, &cfg->auth.token_ttl, err);
				if (r == 0 && (cfg->auth.token_ttl < 10 || cfg->auth.token_ttl > 86400))
					r = wharf_error_set(err, WHARF_EINVAL, "--token-ttl '%s' must be 10s to 24h", optarg);
				break;
			case OPT_TLS_CERT: tls_cert_file = optarg; break;
			case OPT_TLS_KEY: tls_key_file = optarg; break;
			case OPT_SCAN_WORKERS:
				if (!wharf_parse_u64(optarg, strlen(optarg), &n) || n > 64)
					r = wharf_error_set(err, WHARF_EINVAL, "--scan-workers '%s' must be 0 to 64", optarg);
				else
					cfg->scan_workers = (unsigned)n;
				break;
			case OPT_VULNDB:
				free(cfg->vulndb_path);
				cfg->vulndb_path = wharf_xstrdup(optarg);
				break;
			case OPT_SCAN_BLOCK_SEVERITY:
				if (wharf_severity_from_name(optarg) < 0) {
					r = wharf_error_set(err, WHARF_EINVAL,
							    "--scan-block-severity '%s' is not CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN",
							    optarg);
					break;
				}
				free(cfg->scan_block_severity);
				cfg->scan_block_severity = wharf_xstrdup(optarg);
				break;
			case OPT_SCAN_BLOCK_UNSCANNED: cfg->scan_block_unscanned = 1; break;
			case OPT_LOG_LEVEL:
				free(cfg->log_level);
				cfg->log_level = wharf_xstrdup(optarg);
				break;
			}
			if (r < 0)
				return r;
		}
	}
	if (optind < argc)
		return wharf_error_set(err, WHARF_EINVAL, "unexpected argument '%s' (see wharfd --help)", argv[optind]);
	const struct wharf_authx_config *ext = &cfg->auth.ext;
	if (!cfg->auth.enabled && (ext->ldap_config || ext->plugins.n || ext->policy_file || ext->audit_log))
		return wharf_error_set(err, WHARF_EINVAL, "LDAP, authorization plugins, the policy and the audit log need "
					    "access control on (--auth or auth.enabled)");
	if (set_log_level(cfg->log_level) < 0)
		return wharf_error_set(err, WHARF_EINVAL, "log level '%s' is not debug, info, warn or error", cfg->log_level);
	return 0;
}

/* Thousands of idle clients need thousands of descriptors. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int serve(struct wharf_config *cfg)
{
	struct wharf_error err;
	int lock_fd = -1;
	if (wharf_registry_lock_data(cfg->data_dir, &lock_fd, &err) < 0) {
		wharf_log(WHARF_LOG_ERROR, "%s", err.message);
		return 1;
	}
	struct wharf_metrics *metrics = wharf_metrics_new();
	struct wharf_registry *reg = NULL;
	if (wharf_registry_open(&reg, cfg, metrics, &err) < 0) {
		wharf_log(WHARF_LOG_ERROR, "cannot open data directory %s: %s", cfg->data_dir, err.message);
		wharf_metrics_free(metrics);
		return 1;
	}
	struct wharf_http_options hopts = {
		.host = cfg->listen_host, .port = cfg->listen_port, .threads = cfg->threads,
		.max_connections = cfg->max_connections, .idle_timeout = cfg->idle_timeout,
		.access_log = cfg->access_log, .metrics = metrics,
		.tls_cert_file = tls_cert_file, .tls_key_file = tls_key_file,
	};
	struct wharf_http_server *srv = NULL;
	if (wharf_http_server_start(&srv, &hopts, wharf_registry_dispatch, reg, &err) < 0) {
		wharf_log(WHARF_LOG_ERROR, "%s", err.message);
		wharf_registry_close(reg);
		wharf_metrics_free(metrics);
		return 1;
	}
	wharf_registry_start_gc_thread(reg);
	wharf_log(WHARF_LOG_INFO, "wharfd %s listening on %s:%u%s, data in %s", WHARF_VERSION, cfg->listen_host,
		  wharf_http_server_port(srv), tls_cert_file ? " (HTTPS)" : "", cfg->data_dir);
	if (wharf_registry_start_scanner(reg, &err) < 0)
		wharf_log(WHARF_LOG_ERROR, "%s", err.message);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	int sig = 0;
	sigwait(&set, &sig);
	wharf_log(WHARF_LOG_INFO, "signal %d: stopping", sig);
	wharf_http_server_stop(srv);
	wharf_registry_close(reg);
	wharf_metrics_free(metrics);
	close(lock_fd);
	return 0;
}

int main(int argc, char **argv)
{
	/* Block the stop signals before any thread starts, so only sigwait sees them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	struct wharf_config cfg;
	wharf_config_init(&cfg);
	struct wharf_error err;
	if (parse_args(argc, argv, &cfg, &err) < 0) {
		fprintf(stderr, "wharfd: %s\n", err.message);
		wharf_config_free(&cfg);
		return 2;
	}
	int rc = serve(&cfg);
	wharf_config_free(&cfg);
	return rc;
}
