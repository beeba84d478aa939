/* wharf scan --remote: the report wharfd's scan queue made for an image, fetched from
 * GET /api/v1/repositories/<name>/manifests/<digest>/vulnerabilities and rendered here. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "wharf/client.h"
#include "wharf/digest.h"
#include "wharf/json.h"
#include "wharf/oci.h"
#include "wharf/scand.h"
#include "wharf/vulndb.h"

struct remote_cli {
	const char *server, *format, *output, *severity, *platform, *fail_on, *ref;
	int exit_code;
	bool exit_code_set, wait;
	int64_t timeout;
};

static void remote_usage(FILE *out)
{
	fputs("Usage: wharf scan --remote [OPTIONS] REPO@DIGEST|REPO[:TAG]\n"
	      "\n"
	      "Show the scan report a wharf registry made for an image it holds: every pushed image\n"
	      "is scanned by the registry in the background, and rescanned when its vulnerability\n"
	      "database changes. A tag is resolved to its manifest digest first (for an index, the\n"
	      "image of --platform).\n"
	      "\n"
	      "Options:\n"
	      "  -s, --server URL        the registry (default $WHARF_SERVER, else http://127.0.0.1:5000)\n"
	      "  -f, --format FMT        table (default), json (the registry's Trivy-compatible report),\n"
	      "                          sarif, cyclonedx\n"
	      "  -o, --output FILE       write the report to FILE instead of standard output\n"
	      "      --severity LIST     only these severities, e.g. HIGH,CRITICAL\n"
	      "      --wait              when the scan is still queued or running, wait for it\n"
	      "      --timeout DUR       give up waiting after DUR (default 10m)\n"
	      "      --platform OS/ARCH  the image to take from an index (default linux/amd64)\n"
	      "      --exit-code N       exit with N when the report holds any finding\n"
	      "      --fail-on SEVERITY  only findings at or above SEVERITY count for --exit-code\n"
	      "                          (alone it implies --exit-code 1)\n"
	      "  -h, --help              show this help\n"
	      "\n"
	      "Exit status: 0 success, 1 failure (unknown image, the scan failed, server error),\n"
	      "2 bad usage, 3 the scan is not ready (without --wait, or past --timeout), N as given\n"
	      "by --exit-code when findings are reported.\n",
	      out);
}

bool wharf_cli_scan_is_remote(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--remote"))
			return true;
	}
	return false;
}

enum { R_REMOTE = 256, R_SEV, R_WAIT, R_TIMEOUT, R_PLATFORM, R_EXIT, R_FAILON };

/* Returns -1 to go on, else the exit code. */
static int parse_remote_args(int argc, char **argv, struct remote_cli *c)
{
	static const struct option opts[] = {
		{"remote", no_argument, NULL, R_REMOTE},        {"server", required_argument, NULL, 's'},
		{"format", required_argument, NULL, 'f'},      {"output", required_argument, NULL, 'o'},
		{"severity", required_argument, NULL, R_SEV},  {"wait", no_argument, NULL, R_WAIT},
		{"timeout", required_argument, NULL, R_TIMEOUT}, {"platform", required_argument, NULL, R_PLATFORM},
		{"exit-code", required_argument, NULL, R_EXIT}, {"fail-on", required_argument, NULL, R_FAILON},
		{"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
	};
	struct wharf_error e;
	uint64_t n;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:f:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case R_REMOTE: break;
		case 's': c->server = optarg; break;
		case 'f': c->format = optarg; break;
		case 'o': c->output = optarg; break;
		case R_SEV: c->severity = optarg; break;
		case R_WAIT: c->wait = true; break;
		case R_PLATFORM: c->platform = optarg; break;
		case R_FAILON: c->fail_on = optarg; break;
		case R_TIMEOUT:
			if (wharf_parse_duration(optarg, &c->timeout, &e) < 0) {
				fprintf(stderr, "wharf scan: --timeout: %s\n", e.message);
				return EXIT_USAGE;
			}
			break;
		case R_EXIT:
			if (!wharf_parse_u64(optarg, strlen(optarg), &n) || n > 255) {
				fprintf(stderr, "wharf scan: --exit-code '%s' must be 0 to 255\n", optarg);
				return EXIT_USAGE;
			}
			c->exit_code = (int)n;
			c->exit_code_set = true;
			break;
		case 'h': remote_usage(stdout); return EXIT_OK;
		default: remote_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "wharf scan: --remote takes one image reference (REPO@DIGEST or REPO:TAG)\n");
		return EXIT_USAGE;
	}
	c->ref = argv[optind];
	static const char *const formats[] = {"table", "json", "sarif", "cyclonedx"};
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(c->format, formats[i]))
			return -1;
	fprintf(stderr, "wharf scan: --format '%s' is not table, json, sarif or cyclonedx\n", c->format);
	return EXIT_USAGE;
}

/* ---- HTTP ---- */

struct http_reply {
	long status;
	struct wharf_buf body;
};

static int http_get(const char *url, struct http_reply *out, struct wharf_error *err)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot start an HTTP transfer");
	wharf_buf_init(&out->body);
	struct wharf_buf_sink sink = {.out = &out->body, .limit = WHARF_SCAND_REPORT_MAX};
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wharf-scan");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_sink_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	CURLcode cc;
	int r = wharf_auth_perform(curl, url, NULL, NULL, wharf_buf_sink_reset_cb, &sink, &cc, &out->status, err);
	curl_easy_cleanup(curl);
	if (r < 0)
		return r;
	if (sink.too_big)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: the report is over %u bytes", url, WHARF_SCAND_REPORT_MAX);
	if (cc != CURLE_OK)
		return wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
	return 0;
}

/* The registry's error message from a distribution-spec error body, or the body itself. */
static char *error_message(const struct http_reply *r)
{
	json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
	const char *m = json_string_value(json_object_get(json_array_get(json_object_get(root, "errors"), 0), "message"));
	if (!m)
		m = json_string_value(json_object_get(root, "error"));
	char *s = m ? wharf_xstrdup(m) : wharf_xstrndup(r->body.data ? r->body.data : "", r->body.len > 300 ? 300 : r->body.len);
	json_decref(root);
	return s;
}

/* ---- the image's digest ---- */

static int pick_platform(const char *repo, const struct wharf_buf *index, const char *platform, char **digest,
			 struct wharf_error *err)
{
	json_t *root = NULL;
	if (wharf_json_parse(&root, index->data, index->len, WHARF_MANIFEST_MAX, err) < 0)
		return wharf_error_prefix(err, "index of %s", repo);
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(root, "manifests"), i, m) {
		json_t *p = json_object_get(m, "platform");
		_cleanup_free_ char *os_arch = wharf_xasprintf("%s/%s", json_string_value(json_object_get(p, "os")),
							      json_string_value(json_object_get(p, "architecture")));
		const char *d = json_string_value(json_object_get(m, "digest"));
		if (d && !strcmp(os_arch, platform)) {
			*digest = wharf_xstrdup(d);
			json_decref(root);
			return 0;
		}
	}
	json_decref(root);
	return wharf_error_set(err, WHARF_ENOTFOUND, "the index of %s has no %s image", repo, platform);
}

static int resolve_digest(const struct remote_cli *c, const struct wharf_oci_ref *ref, char **digest,
			  struct wharf_error *err)
{
	if (ref->has_digest) {
		*digest = wharf_xstrdup(ref->digest.str);
		return 0;
	}
	struct wharf_buf body;
	wharf_buf_init(&body);
	_cleanup_free_ char *ct = NULL;
	const char *tag = ref->tag ? ref->tag : "latest";
	int r = wharf_registry_get_manifest(c->server, ref->repository, tag, WHARF_MANIFEST_MAX, &body, &ct, err);
	if (r == 0 && ct && wharf_oci_manifest_kind(ct) == WHARF_MANIFEST_INDEX) {
		r = pick_platform(ref->repository, &body, c->platform, digest, err);
	} else if (r == 0) {
		struct wharf_digest d;
		wharf_digest_buffer(WHARF_SHA256, body.data ? body.data : "", body.len, &d);
		*digest = wharf_xstrdup(d.str);
	}
	wharf_buf_free(&body);
	return r;
}

/* ---- fetch, wait, render ---- */

/* 1: the report is in rep; 0: not ready yet (*state says why); <0: error. */
static int fetch_report(const char *url, struct http_reply *rep, char **state, struct wharf_error *err)
{
	int r = http_get(url, rep, err);
	if (r < 0)
		return r;
	if (rep->status == 200)
		return 1;
	if (rep->status == 202) {
		json_t *root = json_loadb(rep->body.data ? rep->body.data : "", rep->body.len, 0, NULL);
		const char *s = json_string_value(json_object_get(root, "status"));
		free(*state);
		*state = wharf_xstrdup(s ? s : "queued");
		json_decref(root);
		return 0;
	}
	_cleanup_free_ char *msg = error_message(rep);
	return wharf_error_set(err, rep->status == 404 ? WHARF_ENOTFOUND : WHARF_EIO, "%s: %ld %s", url, rep->status, msg);
}

static int wait_for_report(const struct remote_cli *c, const char *url, struct http_reply *rep,
			   struct wharf_error *err)
{
	_cleanup_free_ char *state = NULL;
	uint64_t deadline = wharf_monotonic_us() + (uint64_t)c->timeout * 1000000u;
	for (;;) {
		int r = fetch_report(url, rep, &state, err);
		if (r != 0)
			return r < 0 ? r : 0;
		wharf_buf_free(&rep->body);
		if (!c->wait || wharf_monotonic_us() > deadline)
			return wharf_error_set(err, WHARF_EBUSY, "the registry has not scanned %s yet (%s)%s", c->ref, state,
					       c->wait ? ": gave up waiting" : "; --wait waits for it");
		struct timespec ts = {0, 250 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int render(FILE *out, const struct remote_cli *c, const struct http_reply *rep, struct wharf_error *err)
{
	if (!strcmp(c->format, "json")) {
		fwrite(rep->body.data, 1, rep->body.len, out);
		if (rep->body.len && rep->body.data[rep->body.len - 1] != '\n')
			fputc('\n', out);
		return 0;
	}
	struct wharf_scan_result r = {0};
	int rc = wharf_scand_report_read(rep->body.data ? rep->body.data : "", rep->body.len, &r, err);
	if (rc == 0)
		rc = wharf_report_write(out, c->format, &r, NULL, err);
	wharf_scan_result_free(&r);
	return rc;
}

/* The exit code --exit-code/--fail-on ask for, from the (filtered) report. */
static int findings_exit_code(const struct remote_cli *c, const struct http_reply *rep)
{
	if (!c->exit_code_set && !c->fail_on)
		return EXIT_OK;
	int fail_on = c->fail_on ? wharf_severity_from_name(c->fail_on) : WHARF_SEV_UNKNOWN;
	struct wharf_scan_result r = {0};
	struct wharf_error e;
	int worst = -1;
	if (wharf_scand_report_read(rep->body.data ? rep->body.data : "", rep->body.len, &r, &e) == 0)
		worst = wharf_report_max_severity(&r);
	wharf_scan_result_free(&r);
	int code = c->exit_code_set ? c->exit_code : 1;
	return worst >= 0 && worst >= fail_on ? code : EXIT_OK;
}

static int exit_for(const struct wharf_error *e)
{
	return e->code == WHARF_EBUSY ? EXIT_BUSY : EXIT_FAILURE_RUNTIME;
}

static int run_remote(struct remote_cli *c, const struct wharf_oci_ref *ref, const char *query)
{
	struct wharf_error e = {0};
	_cleanup_free_ char *digest = NULL;
	if (resolve_digest(c, ref, &digest, &e) < 0) {
		fprintf(stderr, "wharf scan: %s: %s\n", c->ref, e.message);
		return EXIT_FAILURE_RUNTIME;
	}
	_cleanup_free_ char *url = wharf_xasprintf("%s/api/v1/repositories/%s/manifests/%s/vulnerabilities%s", c->server,
						  ref->repository, digest, query);
	struct http_reply rep = {0};
	if (wait_for_report(c, url, &rep, &e) < 0) {
		fprintf(stderr, "wharf scan: %s\n", e.message);
		wharf_buf_free(&rep.body);
		return exit_for(&e);
	}
	FILE *out = c->output ? fopen(c->output, "w") : stdout;
	int rc = EXIT_OK;
	if (!out) {
		fprintf(stderr, "wharf scan: cannot write %s: %m\n", c->output);
		rc = EXIT_FAILURE_RUNTIME;
	} else if (render(out, c, &rep, &e) < 0) {
		fprintf(stderr, "wharf scan: %s: %s\n", c->ref, e.message);
		rc = EXIT_FAILURE_RUNTIME;
	}
	if (out && out != stdout && fclose(out) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "wharf scan: cannot write %s: %m\n", c->output);
		rc = EXIT_FAILURE_RUNTIME;
	}
	if (rc == EXIT_OK)
		rc = findings_exit_code(c, &rep);
	wharf_buf_free(&rep.body);
	return rc;
}

int wharf_cli_scan_remote(int argc, char **argv)
{
	const char *env = getenv("WHARF_SERVER");
	struct remote_cli c = {.server = env && *env ? env : "http://127.0.0.1:5000", .format = "table",
			       .platform = "linux/amd64", .timeout = 600};
	int rc = parse_remote_args(argc, argv, &c);
	if (rc >= 0)
		return rc;
	struct wharf_error e = {0};
	unsigned mask = 0;
	if (c.severity && wharf_severity_parse_list(c.severity, &mask, &e) < 0) {
		fprintf(stderr, "wharf scan: --severity: %s\n", e.message);
		return EXIT_USAGE;
	}
	if (c.fail_on && wharf_severity_from_name(c.fail_on) < 0) {
		fprintf(stderr, "wharf scan: --fail-on: %s is not a severity (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)\n",
			c.fail_on);
		return EXIT_USAGE;
	}
	struct wharf_oci_ref ref = {0};
	if (wharf_oci_ref_parse(&ref, c.ref, &e) < 0) {
		fprintf(stderr, "wharf scan: %s: %s\n", c.ref, e.message);
		return EXIT_USAGE;
	}
	if (ref.registry) {
		fprintf(stderr, "wharf scan: %s: name the registry with --server, not in the reference\n", c.ref);
		wharf_oci_ref_free(&ref);
		return EXIT_USAGE;
	}
	_cleanup_free_ char *esc = c.severity ? wharf_url_escape(c.severity) : NULL;
	_cleanup_free_ char *query = esc ? wharf_xasprintf("?severity=%s", esc) : wharf_xstrdup("");
	rc = run_remote(&c, &ref, query);
	wharf_oci_ref_free(&ref);
	return rc;
}
