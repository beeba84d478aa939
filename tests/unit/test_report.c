/* report: the four formats' shapes (Trivy JSON, SARIF 2.1.0, CycloneDX 1.5, table), the
 * severity and unfixed filters, and ignore files (reasons, expiries, warnings). */
#include <jansson.h>

#include "wharf_test.h"

#include "wharf/pkg.h"
#include "wharf/vulndb.h"

#define DAY (24 * 3600)
#define NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */

static void add_pkg(struct wharf_scan_result *r, const char *eco, const char *name, const char *ver, const char *path,
		    int layer)
{
	struct wharf_pkg *p = wharf_pkg_list_add(&r->pkgs);
	p->ecosystem = wharf_xstrdup(eco);
	p->name = wharf_xstrdup(name);
	p->version = wharf_xstrdup(ver);
	p->path = path ? wharf_xstrdup(path) : NULL;
	p->layer = layer;
	p->layer_digest = wharf_xstrdup(r->layers[layer].digest);
	p->layer_diffid = wharf_xstrdup(r->layers[layer].diffid);
	if (!strcmp(eco, WHARF_ECO_NPM))
		p->purl = wharf_xasprintf("pkg:npm/%s@%s", name, ver);
}

static void add_finding(struct wharf_scan_result *r, size_t pkg, const char *id, const char *sev, const char *fixed,
			double score, const char *vector)
{
	struct wharf_finding *f = wharf_finding_list_add(&r->findings);
	f->id = wharf_xstrdup(id);
	f->pkg = pkg;
	f->pkg_name = wharf_xstrdup(r->pkgs.v[pkg].name);
	f->installed = wharf_xstrdup(r->pkgs.v[pkg].version);
	f->fixed = fixed ? wharf_xstrdup(fixed) : NULL;
	f->status = wharf_xstrdup(fixed ? "fixed" : "affected");
	f->severity = wharf_xstrdup(sev);
	f->severity_source = wharf_xstrdup("nvd");
	f->title = wharf_xasprintf("title of %s", id);
	f->description = wharf_xasprintf("description of %s", id);
	f->primary_url = wharf_xasprintf("https://nvd.nist.gov/vuln/detail/%s", id);
	f->cvss_score = score;
	f->cvss_vector = vector ? wharf_xstrdup(vector) : NULL;
}

static void make_result(struct wharf_scan_result *r)
{
	memset(r, 0, sizeof(*r));
	r->artifact = wharf_xstrdup("oci:img:latest");
	r->manifest_digest = wharf_xstrdup("sha256:" "1111111111111111111111111111111111111111111111111111111111111111");
	r->config_digest = wharf_xstrdup("sha256:" "2222222222222222222222222222222222222222222222222222222222222222");
	r->repo_tags = wharf_xstrdup("registry.local:5000/app:1.0");
	r->os.id = wharf_xstrdup("debian");
	r->os.version_id = wharf_xstrdup("12");
	r->created = NOW;
	r->nlayers = 2;
	r->layers = wharf_xcalloc(2, sizeof(*r->layers));
	r->layers[0].digest = wharf_xstrdup("sha256:aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000");
	r->layers[0].diffid = wharf_xstrdup("sha256:a1a1a1a1a1a10000000000000000000000000000000000000000000000000000");
	r->layers[1].digest = wharf_xstrdup("sha256:bbbbbbbbbbbb0000000000000000000000000000000000000000000000000000");
	r->layers[1].diffid = wharf_xstrdup("sha256:b1b1b1b1b1b10000000000000000000000000000000000000000000000000000");
	r->layers[1].created_by = wharf_xstrdup("COPY app /app");
	add_pkg(r, WHARF_ECO_DEBIAN, "libssl3", "3.0.11-1~deb12u2", "var/lib/dpkg/status", 0);
	add_pkg(r, WHARF_ECO_NPM, "lodash", "4.17.20", "app/package-lock.json", 1);
	add_pkg(r, WHARF_ECO_PYPI, "requests", "2.0.0", "usr/lib/python3/dist-packages/requests-2.0.0.dist-info/METADATA", 1);
	add_finding(r, 0, "CVE-2024-0001", "CRITICAL", "3.0.13-1~deb12u1", 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
	add_finding(r, 0, "CVE-2024-0002", "LOW", NULL, 0, NULL);
	add_finding(r, 1, "CVE-2021-23337", "HIGH", "4.17.21", 7.2, "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H");
	add_finding(r, 2, "GHSA-j8r2-6x86-q33q", "MEDIUM", "2.31.0", 0, NULL);
	struct wharf_secret_finding *s = wharf_secret_list_add(&r->secrets);
	s->rule_id = wharf_xstrdup("aws-access-key-id");
	s->category = wharf_xstrdup("AWS");
	s->severity = wharf_xstrdup("CRITICAL");
	s->title = wharf_xstrdup("AWS Access Key ID");
	s->path = wharf_xstrdup("app/.env");
	s->line = 3;
	s->match = wharf_xstrdup("AWS_ACCESS_KEY_ID=AKIA****************");
	s->layer = 1;
	s->layer_digest = wharf_xstrdup(r->layers[1].digest);
	s->layer_diffid = wharf_xstrdup(r->layers[1].diffid);
}

/* Not inlined: GCC's -O3 dangling-pointer analysis mistakes the memstream's buffer for a local. */
__attribute__((noinline)) static char *render(const struct wharf_scan_result *r, const char *format, const struct wharf_report_options *opt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_report_write(f, format, r, opt, &err), err);
	fclose(f);
	return buf;
}

static json_t *render_json(const struct wharf_scan_result *r, const char *format, const struct wharf_report_options *opt)
{
	char *s = render(r, format, opt);
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	if (!j)
		fail_msg("%s output is not JSON: %s", format, je.text);
	free(s);
	return j;
}

static const char *sget(const json_t *o, const char *path)
{
	return json_string_value(json_object_get(o, path));
}

static json_t *result_of(json_t *results, const char *class, const char *type)
{
	size_t i;
	json_t *res;
	json_array_foreach(results, i, res) {
		if (!strcmp(sget(res, "Class"), class) && (!type || !strcmp(sget(res, "Type"), type)))
			return res;
	}
	fail_msg("no result of class %s type %s", class, type ? type : "-");
	return NULL;
}

static void trivy_json_shape(void **state)
{
	(void)state;
	struct wharf_scan_result r;
	make_result(&r);
	json_t *j = render_json(&r, "json", NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "SchemaVersion")), 2);
	assert_string_equal(sget(j, "ArtifactName"), "oci:img:latest");
	assert_string_equal(sget(j, "ArtifactType"), "container_image");
	assert_string_equal(sget(j, "CreatedAt"), "2026-01-01T00:00:00Z");
	json_t *md = json_object_get(j, "Metadata");
	assert_string_equal(sget(json_object_get(md, "OS"), "Family"), "debian");
	assert_string_equal(sget(json_object_get(md, "OS"), "Name"), "12");
	assert_string_equal(sget(md, "ImageID"), r.config_digest);
	assert_int_equal(json_array_size(json_object_get(md, "DiffIDs")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(md, "RepoTags"), 0)), "registry.local:5000/app:1.0");
	char *want = wharf_xasprintf("registry.local:5000/app@%s", r.manifest_digest);
	assert_string_equal(json_string_value(json_array_get(json_object_get(md, "RepoDigests"), 0)), want);
	free(want);
	assert_true(json_is_object(json_object_get(md, "ImageConfig")));

	json_t *results = json_object_get(j, "Results");
	json_t *os = result_of(results, "os-pkgs", "debian");
	assert_string_equal(sget(os, "Target"), "oci:img:latest (debian 12)");
	json_t *vulns = json_object_get(os, "Vulnerabilities");
	assert_int_equal(json_array_size(vulns), 2);
	json_t *v = json_array_get(vulns, 0);
	assert_string_equal(sget(v, "VulnerabilityID"), "CVE-2024-0001");
	assert_string_equal(sget(v, "PkgName"), "libssl3");
	assert_string_equal(sget(v, "InstalledVersion"), "3.0.11-1~deb12u2");
	assert_string_equal(sget(v, "FixedVersion"), "3.0.13-1~deb12u1");
	assert_string_equal(sget(v, "Status"), "fixed");
	assert_string_equal(sget(v, "Severity"), "CRITICAL");
	assert_string_equal(sget(v, "SeveritySource"), "nvd");
	assert_string_equal(sget(v, "PrimaryURL"), "https://nvd.nist.gov/vuln/detail/CVE-2024-0001");
	assert_string_equal(sget(v, "Title"), "title of CVE-2024-0001");
	assert_string_equal(sget(json_object_get(v, "Layer"), "Digest"), r.layers[0].digest);
	assert_string_equal(sget(json_object_get(v, "Layer"), "DiffID"), r.layers[0].diffid);
	json_t *cvss = json_object_get(json_object_get(v, "CVSS"), "nvd");
	assert_true(json_real_value(json_object_get(cvss, "V3Score")) > 9.7);
	assert_non_null(sget(cvss, "V3Vector"));
	v = json_array_get(vulns, 1);
	assert_null(json_object_get(v, "FixedVersion"));
	assert_string_equal(sget(v, "Status"), "affected");

	json_t *npm = result_of(results, "lang-pkgs", "npm");
	assert_string_equal(sget(npm, "Target"), "app/package-lock.json");
	v = json_array_get(json_object_get(npm, "Vulnerabilities"), 0);
	assert_string_equal(sget(v, "PkgPath"), "app/package-lock.json");
	assert_string_equal(sget(json_object_get(v, "Layer"), "Digest"), r.layers[1].digest);
	json_t *py = result_of(results, "lang-pkgs", "python-pkg");
	assert_string_equal(sget(py, "Target"), "Python");

	json_t *sec = result_of(results, "secret", NULL);
	assert_string_equal(sget(sec, "Target"), "app/.env");
	json_t *s = json_array_get(json_object_get(sec, "Secrets"), 0);
	assert_string_equal(sget(s, "RuleID"), "aws-access-key-id");
	assert_string_equal(sget(s, "Category"), "AWS");
	assert_int_equal(json_integer_value(json_object_get(s, "StartLine")), 3);
	assert_int_equal(json_integer_value(json_object_get(s, "EndLine")), 3);
	assert_null(strstr(sget(s, "Match"), "AKIAI"));
	assert_string_equal(sget(json_object_get(s, "Layer"), "DiffID"), r.layers[1].diffid);
	json_decref(j);
	wharf_scan_result_free(&r);
}

static void sarif_shape(void **state)
{
	(void)state;
	struct wharf_scan_result r;
	make_result(&r);
	json_t *j = render_json(&r, "sarif", NULL);
	assert_string_equal(sget(j, "version"), "2.1.0");
	assert_non_null(sget(j, "$schema"));
	json_t *run = json_array_get(json_object_get(j, "runs"), 0);
	json_t *driver = json_object_get(json_object_get(run, "tool"), "driver");
	assert_string_equal(sget(driver, "name"), "wharf");
	json_t *rules = json_object_get(driver, "rules");
	assert_int_equal(json_array_size(rules), 5); /* 4 vulnerabilities, 1 secret rule */
	json_t *results = json_object_get(run, "results");
	assert_int_equal(json_array_size(results), 5);
	size_t i;
	json_t *res;
	json_array_foreach(results, i, res) {
		const char *rule = sget(res, "ruleId");
		size_t idx = (size_t)json_integer_value(json_object_get(res, "ruleIndex"));
		assert_string_equal(sget(json_array_get(rules, idx), "id"), rule);
		const char *level = sget(res, "level");
		assert_true(!strcmp(level, "error") || !strcmp(level, "warning") || !strcmp(level, "note"));
		assert_non_null(sget(json_object_get(res, "message"), "text"));
		json_t *loc = json_object_get(json_array_get(json_object_get(res, "locations"), 0), "physicalLocation");
		assert_non_null(sget(json_object_get(loc, "artifactLocation"), "uri"));
		assert_true(json_integer_value(json_object_get(json_object_get(loc, "region"), "startLine")) >= 1);
	}
	assert_string_equal(sget(json_array_get(results, 0), "level"), "error");  /* CRITICAL */
	assert_string_equal(sget(json_array_get(results, 1), "level"), "note");   /* LOW */
	assert_string_equal(sget(json_array_get(results, 3), "level"), "warning"); /* MEDIUM */
	json_t *props = json_object_get(json_array_get(rules, 0), "properties");
	assert_string_equal(sget(props, "security-severity"), "9.8");
	json_decref(j);
	wharf_scan_result_free(&r);
}

static void cyclonedx_shape(void **state)
{
	(void)state;
	struct wharf_scan_result r;
	make_result(&r);
	/* Another package with the same vulnerability: one entry, two affects. */
	add_pkg(&r, WHARF_ECO_DEBIAN, "openssl", "3.0.11-1~deb12u2", "var/lib/dpkg/status", 0);
	add_finding(&r, 3, "CVE-2024-0001", "CRITICAL", "3.0.13-1~deb12u1", 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
	json_t *j = render_json(&r, "cyclonedx", NULL);
	assert_string_equal(sget(j, "bomFormat"), "CycloneDX");
	assert_string_equal(sget(j, "specVersion"), "1.5");
	assert_true(wharf_str_has_prefix(sget(j, "serialNumber"), "urn:uuid:"));
	assert_int_equal(strlen(sget(j, "serialNumber")), 45);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	json_t *comps = json_object_get(j, "components");
	assert_int_equal(json_array_size(comps), 5); /* four packages and the OS */
	assert_string_equal(sget(json_array_get(comps, 4), "type"), "operating-system");
	assert_string_equal(sget(json_array_get(comps, 1), "purl"), "pkg:npm/lodash@4.17.20");
	/* purls made for packages without one: version escaped, distro qualifier */
	assert_string_equal(sget(json_array_get(comps, 0), "purl"), "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12");
	assert_string_equal(sget(json_array_get(comps, 2), "purl"), "pkg:pypi/requests@2.0.0");
	json_t *vulns = json_object_get(j, "vulnerabilities");
	assert_int_equal(json_array_size(vulns), 4);
	json_t *v = json_array_get(vulns, 0);
	assert_string_equal(sget(v, "id"), "CVE-2024-0001");
	json_t *rating = json_array_get(json_object_get(v, "ratings"), 0);
	assert_string_equal(sget(rating, "severity"), "critical");
	assert_string_equal(sget(rating, "method"), "CVSSv31");
	json_t *affects = json_object_get(v, "affects");
	assert_int_equal(json_array_size(affects), 2);
	/* every affects ref names a component */
	size_t i, k;
	json_t *vv, *a;
	json_array_foreach(vulns, i, vv) {
		json_array_foreach(json_object_get(vv, "affects"), k, a) {
			bool found = false;
			size_t c;
			json_t *comp;
			json_array_foreach(comps, c, comp) {
				found = found || !strcmp(sget(comp, "bom-ref"), sget(a, "ref"));
			}
			assert_true(found);
		}
	}
	json_decref(j);
	wharf_scan_result_free(&r);
}

static void table_groups_by_severity(void **state)
{
	(void)state;
	struct wharf_scan_result r;
	make_result(&r);
	char *t = render(&r, "table", NULL);
	assert_contains(t, "oci:img:latest (debian 12)");
	assert_contains(t, "Vulnerabilities: 4 (CRITICAL: 1, HIGH: 1, MEDIUM: 1, LOW: 1, UNKNOWN: 0)");
	char *crit = strstr(t, "\nCRITICAL (1)"), *high = strstr(t, "\nHIGH (1)"), *low = strstr(t, "\nLOW (1)");
	assert_non_null(crit);
	assert_true(crit < high && high < low);
	assert_contains(t, "aaaaaaaaaaaa"); /* the layer's short digest */
	assert_contains(t, "3.0.13-1~deb12u1");
	assert_contains(t, "(no fix)");
	assert_contains(t, "Secrets: 1");
	assert_contains(t, "app/.env:3");
	free(t);
	struct wharf_error err = {0};
	assert_wharf_err(wharf_report_write(stdout, "xml", &r, NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "xml");
	wharf_scan_result_free(&r);
}

static void severity_and_unfixed_filters(void **state)
{
	(void)state;
	struct wharf_scan_result r;
	make_result(&r);
	struct wharf_report_options opt = {0};
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_severity_parse_list("high,CRITICAL", &opt.severities, &err), err);
	json_t *j = render_json(&r, "json", &opt);
	json_t *os = result_of(json_object_get(j, "Results"), "os-pkgs", "debian");
	assert_int_equal(json_array_size(json_object_get(os, "Vulnerabilities")), 1);
	assert_null(json_object_get(result_of(json_object_get(j, "Results"), "lang-pkgs", "python-pkg"), "Vulnerabilities"));
	json_decref(j);
	assert_wharf_err(wharf_severity_parse_list("HIGH,SEVERE", &opt.severities, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "SEVERE");

	opt.severities = 0;
	opt.ignore_unfixed = true;
	assert_int_equal(wharf_report_filter(&r, &opt), 1);
	assert_int_equal(r.findings.n, 3);
	for (size_t i = 0; i < r.findings.n; i++)
		assert_non_null(r.findings.v[i].fixed);
	assert_int_equal(wharf_report_max_severity(&r), WHARF_SEV_CRITICAL);
	wharf_scan_result_free(&r);
	memset(&r, 0, sizeof(r));
	assert_int_equal(wharf_report_max_severity(&r), -1);
}

static void ignore_files(void **state)
{
	(void)state;
	static const char plain[] = "# accepted risks\n"
				    "  # indented comment\n"
				    "CVE-2024-0001 not reachable from the service, see #123 expires=2026-06-30\n"
				    "\n"
				    "CVE-2021-23337 template injection, no templates used expires=2025-12-31 pkg=lodash\n"
				    "aws-access-key-id a revoked test key exp:2026-12-31\n";
	struct wharf_ignore_list l;
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_ignore_parse(".wharfignore", plain, strlen(plain), &l, &err), err);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].reason, "not reachable from the service, see #123");
	assert_string_equal(l.v[1].pkg, "lodash");
	assert_int_equal(l.v[1].line, 5);

	struct wharf_scan_result r;
	make_result(&r);
	char *warn = NULL;
	size_t wlen = 0;
	FILE *wf = open_memstream(&warn, &wlen);
	struct wharf_report_options opt = {.ignore = &l, .now = NOW, .warnings = wf};
	/* CVE-2024-0001 and the secret are ignored; CVE-2021-23337's entry expired yesterday. */
	assert_int_equal(wharf_report_filter(&r, &opt), 2);
	fclose(wf);
	assert_int_equal(r.findings.n, 3);
	assert_int_equal(r.secrets.n, 0);
	for (size_t i = 0; i < r.findings.n; i++)
		assert_string_not_equal(r.findings.v[i].id, "CVE-2024-0001");
	assert_contains(warn, "CVE-2021-23337");
	assert_contains(warn, "expired on 2025-12-31");
	free(warn);
	/* A year on, everything applies again. */
	wharf_scan_result_free(&r);
	make_result(&r);
	opt.now = NOW + 400 * DAY;
	opt.warnings = fopen("/dev/null", "w");
	assert_int_equal(wharf_report_filter(&r, &opt), 0);
	fclose(opt.warnings);
	wharf_scan_result_free(&r);
	wharf_ignore_list_free(&l);

	static const char yaml[] = "ignore:\n"
				   "  - id: CVE-2024-0002\n"
				   "    reason: low risk, tracked in JIRA-1\n"
				   "    expires: 2026-03-01\n"
				   "    package: libssl3\n";
	assert_wharf_ok(wharf_ignore_parse("ignore.yaml", yaml, strlen(yaml), &l, &err), err);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].pkg, "libssl3");
	make_result(&r);
	opt = (struct wharf_report_options){.ignore = &l, .now = NOW};
	json_t *j = render_json(&r, "json", &opt);
	json_t *os = result_of(json_object_get(j, "Results"), "os-pkgs", "debian");
	assert_int_equal(json_array_size(json_object_get(os, "Vulnerabilities")), 1);
	json_decref(j);
	wharf_scan_result_free(&r);
	wharf_ignore_list_free(&l);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{"CVE-1 expires=2026-01-01\n", "needs a reason"},
		{"CVE-1 some reason\n", "needs an expiry"},
		{"CVE-1 reason expires=2026-13-45\n", "not a date"},
		{"ignore:\n  - id: CVE-1\n    expires: 2026-01-01\n", "needs a reason"},
		{"ignore:\n  - id: CVE-1\n    reason: r\n", "needs an expiry"},
		{"ignore: 5\n", "list of entries"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_wharf_err(wharf_ignore_parse("f", bad[i].text, strlen(bad[i].text), &l, &err), err, WHARF_EINVAL);
		assert_contains(err.message, bad[i].want);
		assert_true(wharf_str_has_prefix(err.message, "f:"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trivy_json_shape),         cmocka_unit_test(sarif_shape),
		cmocka_unit_test(cyclonedx_shape),          cmocka_unit_test(table_groups_by_severity),
		cmocka_unit_test(severity_and_unfixed_filters), cmocka_unit_test(ignore_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
