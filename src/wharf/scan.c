/* wharf scan: the packages, vulnerabilities and secrets of an image, layer by layer. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "wharf/scan.h"
#include "wharf/vulndb.h"

struct scan_cli {
	const char *format, *output, *severity, *ignorefile, *db, *cache_dir, *fail_on, *platform;
	int exit_code;
	bool exit_code_set, ignore_unfixed, no_cache, list_packages, quiet, progress;
	struct wharf_scan_opts opts;
	char platform_buf[64];
};

static void scan_usage(FILE *out)
{
	fputs("Usage: wharf scan [OPTIONS] IMAGE\n"
	      "\n"
	      "Find the packages of an image, the known vulnerabilities they carry and the secrets\n"
	      "left in its layers, naming the layer that brought each one.\n"
	      "IMAGE is one of\n"
	      "  oci:DIR[:TAG]                       an OCI image layout (skopeo, umoci, wharf pull)\n"
	      "  docker-archive:FILE                 a `docker save` / skopeo docker-archive tar\n"
	      "  docker://HOST[:PORT]/REPO[:TAG]     a registry (plain http for 127.0.0.1/localhost);\n"
	      "  docker://HOST[:PORT]/REPO@sha256:.. also by digest\n"
	      "Each layer is read once, streaming (gzip, zstd or plain tar), and its digest and diff ID\n"
	      "checked; what a layer holds is cached by its digest, so a layer shared by many images is\n"
	      "read once and a second scan reads no layer.\n"
	      "\n"
	      "Options:\n"
	      "  -f, --format FMT        table (default), json (Trivy-compatible), sarif, cyclonedx\n"
	      "  -o, --output FILE       write the report to FILE instead of standard output\n"
	      "      --severity LIST     only these severities, e.g. HIGH,CRITICAL\n"
	      "      --ignore-unfixed    leave out vulnerabilities that have no fixed version\n"
	      "      --ignorefile FILE   vulnerabilities to ignore, each with a reason and an expiry\n"
	      "      --exit-code N       exit with N when the report holds any finding (default 0)\n"
	      "      --fail-on SEVERITY  only findings at or above SEVERITY count for --exit-code\n"
	      "                          (alone it implies --exit-code 1)\n"
	      "      --db PATH           the vulnerability database (default $WHARF_HOME/vulndb.sqlite;\n"
	      "                          build it with `wharf db import`)\n"
	      "      --cache-dir DIR     the layer cache (default $WHARF_HOME/cache/scan)\n"
	      "      --no-cache          neither read nor write the layer cache\n"
	      "      --list-packages     list the packages with their layers, no vulnerability database\n"
	      "                          needed (table, or --format json)\n"
	      "      --platform OS/ARCH  the image to take from an index (default linux/amd64)\n"
	      "      --max-layer-size N  refuse layers larger than N uncompressed (default 64G)\n"
	      "      --remote            show a wharf registry's report instead of scanning here\n"
	      "                          (see `wharf scan --remote --help`)\n"
	      "  -q, --quiet             no progress display\n"
	      "  -h, --help              show this help\n"
	      "\n"
	      "Exit status: 0 success (or no finding that --exit-code counts), 1 failure (unreadable\n"
	      "image, corrupt or hostile layer, digest mismatch, no database), 2 bad usage, N as given\n"
	      "by --exit-code when findings are reported.\n",
	      out);
}

static int parse_int(const char *s, int *out)
{
	uint64_t v;
	if (!wharf_parse_u64(s, strlen(s), &v) || v > 255)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct scan_cli *c)
{
	enum { O_SEV = 256, O_UNFIXED, O_IGNORE, O_EXIT, O_FAILON, O_DB, O_CACHE, O_NOCACHE, O_LIST, O_PLATFORM, O_MAXL };
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},    {"output", required_argument, NULL, 'o'},
		{"severity", required_argument, NULL, O_SEV}, {"ignore-unfixed", no_argument, NULL, O_UNFIXED},
		{"ignorefile", required_argument, NULL, O_IGNORE}, {"exit-code", required_argument, NULL, O_EXIT},
		{"fail-on", required_argument, NULL, O_FAILON}, {"db", required_argument, NULL, O_DB},
		{"cache-dir", required_argument, NULL, O_CACHE}, {"no-cache", no_argument, NULL, O_NOCACHE},
		{"list-packages", no_argument, NULL, O_LIST}, {"platform", required_argument, NULL, O_PLATFORM},
		{"max-layer-size", required_argument, NULL, O_MAXL}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
	};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "f:o:qh", opts, NULL)) != -1) {
		struct wharf_error e = {0};
		switch (ch) {
		case 'f': c->format = optarg; break;
		case 'o': c->output = optarg; break;
		case O_SEV: c->severity = optarg; break;
		case O_UNFIXED: c->ignore_unfixed = true; break;
		case O_IGNORE: c->ignorefile = optarg; break;
		case O_EXIT:
			if (parse_int(optarg, &c->exit_code) < 0) {
				fprintf(stderr, "wharf scan: --exit-code wants a number 0-255, not %s\n", optarg);
				return EXIT_USAGE;
			}
			c->exit_code_set = true;
			break;
		case O_FAILON: c->fail_on = optarg; break;
		case O_DB: c->db = optarg; break;
		case O_CACHE: c->cache_dir = optarg; break;
		case O_NOCACHE: c->no_cache = true; break;
		case O_LIST: c->list_packages = true; break;
		case O_PLATFORM: c->platform = optarg; break;
		case O_MAXL:
			if (wharf_parse_size(optarg, &c->opts.limits.max_layer_bytes, &e) < 0) {
				fprintf(stderr, "wharf scan: --max-layer-size: %s\n", e.message);
				return EXIT_USAGE;
			}
			break;
		case 'q': c->quiet = true; break;
		case 'h': scan_usage(stdout); return EXIT_OK;
		default: scan_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fputs("wharf scan: expected one image (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	static const char *const formats[] = {"table", "json", "sarif", "cyclonedx"};
	bool ok = false;
	for (size_t i = 0; i < 4; i++)
		ok |= !strcmp(c->format, formats[i]);
	if (!ok || (c->list_packages && strcmp(c->format, "table") && strcmp(c->format, "json"))) {
		fprintf(stderr, "wharf scan: unknown format %s (table, json, sarif, cyclonedx; --list-packages: table, json)\n",
			c->format);
		return EXIT_USAGE;
	}
	return -1;
}

static int set_platform(struct scan_cli *c)
{
	c->opts.platform_os = "linux";
	c->opts.platform_arch = "amd64";
	if (!c->platform)
		return 0;
	snprintf(c->platform_buf, sizeof(c->platform_buf), "%s", c->platform);
	char *slash = strchr(c->platform_buf, '/');
	if (!slash || !slash[1] || slash == c->platform_buf) {
		fprintf(stderr, "wharf scan: --platform wants OS/ARCH, e.g. linux/arm64\n");
		return -1;
	}
	*slash = 0;
	char *variant = strchr(slash + 1, '/');
	if (variant)
		*variant = 0;
	c->opts.platform_os = c->platform_buf;
	c->opts.platform_arch = slash + 1;
	return 0;
}

static void progress(void *ctx, int layer, uint64_t done, uint64_t total)
{
	static uint64_t last;
	(void)ctx;
	if (done - last < (8u << 20) && done != total && done > last)
		return;
	last = done;
	if (total)
		fprintf(stderr, "\rscanning layer %d: %llu / %llu MiB   ", layer + 1, (unsigned long long)(done >> 20),
			(unsigned long long)(total >> 20));
	else
		fprintf(stderr, "\rscanning layer %d: %llu MiB   ", layer + 1, (unsigned long long)(done >> 20));
}

static const char *short_digest(const char *d)
{
	const char *c = d ? strchr(d, ':') : NULL;
	return c ? c + 1 : d ? d : "-";
}

static void list_table(FILE *out, const struct wharf_scan_result *r)
{
	fprintf(out, "%s (%s %s)\n", r->artifact, r->os.id ? r->os.id : "unknown OS",
		r->os.version_id ? r->os.version_id : "");
	fprintf(out, "%-32s %-28s %-32s %-5s %s\n", "PACKAGE", "VERSION", "SOURCE", "LAYER", "LAYER DIGEST");
	for (size_t i = 0; i < r->pkgs.n; i++) {
		const struct wharf_pkg *p = &r->pkgs.v[i];
		char src[256];
		snprintf(src, sizeof(src), "%s %s", p->source_name ? p->source_name : p->name,
			 p->source_version ? p->source_version : p->version);
		fprintf(out, "%-32s %-28s %-32s %-5d %.12s\n", p->name, p->version, src, p->layer, short_digest(p->layer_digest));
	}
	fprintf(out, "%zu packages, %zu layers, %zu secrets\n", r->pkgs.n, r->nlayers, r->secrets.n);
}

static void jset(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static json_t *list_json(const struct wharf_scan_result *r)
{
	json_t *o = json_object(), *os = json_object(), *layers = json_array(), *pkgs = json_array(), *sec = json_array();
	jset(o, "artifact", r->artifact);
	jset(o, "manifest_digest", r->manifest_digest);
	jset(o, "config_digest", r->config_digest);
	jset(o, "repo_tags", r->repo_tags);
	jset(os, "id", r->os.id);
	jset(os, "version_id", r->os.version_id);
	jset(os, "codename", r->os.codename);
	jset(os, "pretty_name", r->os.pretty_name);
	json_object_set_new(os, "distroless", json_boolean(r->os.distroless));
	json_object_set_new(o, "os", os);
	for (size_t i = 0; i < r->nlayers; i++) {
		json_t *l = json_object();
		jset(l, "digest", r->layers[i].digest);
		jset(l, "diffid", r->layers[i].diffid);
		json_object_set_new(l, "size", json_integer((json_int_t)r->layers[i].size));
		jset(l, "created_by", r->layers[i].created_by);
		json_array_append_new(layers, l);
	}
	json_object_set_new(o, "layers", layers);
	for (size_t i = 0; i < r->pkgs.n; i++) {
		const struct wharf_pkg *p = &r->pkgs.v[i];
		json_t *j = json_object();
		jset(j, "ecosystem", p->ecosystem);
		jset(j, "name", p->name);
		jset(j, "version", p->version);
		jset(j, "source_name", p->source_name ? p->source_name : p->name);
		jset(j, "source_version", p->source_version ? p->source_version : p->version);
		jset(j, "arch", p->arch);
		jset(j, "path", p->path);
		jset(j, "purl", p->purl);
		json_object_set_new(j, "layer", json_integer(p->layer));
		jset(j, "layer_digest", p->layer_digest);
		jset(j, "layer_diffid", p->layer_diffid);
		json_array_append_new(pkgs, j);
	}
	json_object_set_new(o, "packages", pkgs);
	for (size_t i = 0; i < r->secrets.n; i++) {
		const struct wharf_secret_finding *s = &r->secrets.v[i];
		json_t *j = json_object();
		jset(j, "rule_id", s->rule_id);
		jset(j, "severity", s->severity);
		jset(j, "path", s->path);
		json_object_set_new(j, "line", json_integer(s->line));
		jset(j, "match", s->match);
		json_object_set_new(j, "layer", json_integer(s->layer));
		jset(j, "layer_digest", s->layer_digest);
		json_array_append_new(sec, j);
	}
	json_object_set_new(o, "secrets", sec);
	return o;
}

static int write_list(FILE *out, const struct scan_cli *c, const struct wharf_scan_result *r)
{
	if (!strcmp(c->format, "json")) {
		json_t *o = list_json(r);
		json_dumpf(o, out, JSON_INDENT(2));
		fputc('\n', out);
		json_decref(o);
	} else {
		list_table(out, r);
	}
	return ferror(out) ? -1 : 0;
}

static int report(FILE *out, struct scan_cli *c, const char *home, struct wharf_scan_result *r)
{
	struct wharf_error e = {0};
	_cleanup_free_ char *dbpath = c->db ? wharf_xstrdup(c->db) : wharf_vulndb_default_path(home);
	struct wharf_vulndb *db = NULL;
	if (wharf_vulndb_open(&db, dbpath, &e) < 0) {
		fprintf(stderr, "wharf scan: %s\n", e.message);
		return EXIT_FAILURE_RUNTIME;
	}
	int rc = wharf_vulndb_match(db, r, &e);
	wharf_vulndb_close(db);
	if (rc < 0) {
		fprintf(stderr, "wharf scan: %s\n", e.message);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_ignore_list ign = {0};
	struct wharf_report_options opt = {.ignore_unfixed = c->ignore_unfixed};
	if (c->severity && wharf_severity_parse_list(c->severity, &opt.severities, &e) < 0) {
		fprintf(stderr, "wharf scan: --severity: %s\n", e.message);
		return EXIT_USAGE;
	}
	int fail_on = WHARF_SEV_UNKNOWN;
	if (c->fail_on && (fail_on = wharf_severity_from_name(c->fail_on)) < 0) {
		fprintf(stderr, "wharf scan: --fail-on: %s is not a severity (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)\n",
			c->fail_on);
		return EXIT_USAGE;
	}
	if (c->ignorefile && wharf_ignore_load(c->ignorefile, &ign, &e) < 0) {
		fprintf(stderr, "wharf scan: %s\n", e.message);
		return EXIT_FAILURE_RUNTIME;
	}
	opt.ignore = &ign;
	wharf_report_filter(r, &opt);
	rc = wharf_report_write(out, c->format, r, &opt, &e);
	wharf_ignore_list_free(&ign);
	if (rc < 0) {
		fprintf(stderr, "wharf scan: %s\n", e.message);
		return EXIT_FAILURE_RUNTIME;
	}
	int worst = wharf_report_max_severity(r);
	int code = c->exit_code_set ? c->exit_code : c->fail_on ? 1 : 0;
	return worst >= 0 && worst >= fail_on ? code : EXIT_OK;
}

int wharf_cli_cmd_scan(int argc, char **argv)
{
	if (wharf_cli_scan_is_remote(argc, argv))
		return wharf_cli_scan_remote(argc, argv);
	struct scan_cli c = {.format = "table"};
	wharf_scan_limits_default(&c.opts.limits);
	int rc = parse_args(argc, argv, &c);
	if (rc >= 0)
		return rc;
	if (set_platform(&c) < 0)
		return EXIT_USAGE;
	struct wharf_error e = {0};
	_cleanup_free_ char *home = NULL;
	_cleanup_free_ char *cache = NULL;
	if (wharf_cli_home(&home, &e) < 0) {
		fprintf(stderr, "wharf scan: %s\n", e.message);
		return EXIT_FAILURE_RUNTIME;
	}
	if (!c.no_cache)
		cache = c.cache_dir ? wharf_xstrdup(c.cache_dir) : wharf_xasprintf("%s/cache/scan", home);
	c.opts.cache_dir = cache;
	if (!c.quiet && isatty(STDERR_FILENO))
		c.opts.progress = progress;
	struct wharf_scan_result r = {0};
	rc = wharf_scan_image(argv[optind], &c.opts, &r, &e);
	if (c.opts.progress)
		fputs("\r\033[K", stderr);
	if (rc < 0) {
		fprintf(stderr, "wharf scan: %s: %s\n", argv[optind], e.message);
		wharf_scan_result_free(&r);
		return EXIT_FAILURE_RUNTIME;
	}
	FILE *out = c.output ? fopen(c.output, "w") : stdout;
	if (!out) {
		fprintf(stderr, "wharf scan: cannot write %s: %m\n", c.output);
		wharf_scan_result_free(&r);
		return EXIT_FAILURE_RUNTIME;
	}
	if (c.list_packages)
		rc = write_list(out, &c, &r) < 0 ? EXIT_FAILURE_RUNTIME : EXIT_OK;
	else
		rc = report(out, &c, home, &r);
	if (out != stdout && fclose(out) != 0) {
		fprintf(stderr, "wharf scan: cannot write %s: %m\n", c.output);
		rc = EXIT_FAILURE_RUNTIME;
	}
	wharf_scan_result_free(&r);
	return rc;
}
