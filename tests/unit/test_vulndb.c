/* vulndb: importers on real advisory files (Go/PyPI OSV, the Debian tracker sample, Alpine
 * secdb, from tests/unit/fixtures/vulndb, copied from ../shared/vulndata), NVD enrichment,
 * atomic and idempotent imports, CVSS v3 scores, and matching constructed package lists. */
#include <jansson.h>

#include "wharf_test.h"

#include "src/vulndb/vulndb-test-config.h"

#include "wharf/pkg.h"
#include "wharf/vulndb.h"
#include "src/vulndb/internal.h"

#define FIX WHARF_TEST_FIXTURES "/vulndb"

static void import_ok(const char *db, const char *format, const char *path)
{
	struct wharf_error err = {0};
	const char *paths[] = {path};
	assert_wharf_ok(wharf_vulndb_import(db, format, paths, 1, NULL, &err), err);
}

static json_t *status(const char *db)
{
	struct wharf_error err = {0};
	char *s = NULL;
	assert_wharf_ok(wharf_vulndb_status_json(db, &s, &err), err);
	json_t *j = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(j);
	return j;
}

/* advisories of ecosystem in the status ("Go", "debian:bookworm"), -1 when absent */
static long long eco_count(json_t *st, const char *eco)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(st, "ecosystems"), i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "ecosystem")), eco))
			return json_integer_value(json_object_get(e, "advisories"));
	}
	return -1;
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	char *p = wharf_xasprintf("%s/%s", dir, name);
	test_write_file(p, text, strlen(text));
	return p;
}

static void add_pkg(struct wharf_scan_result *r, const char *eco, const char *name, const char *version,
		    const char *src, const char *srcver)
{
	struct wharf_pkg *p = wharf_pkg_list_add(&r->pkgs);
	p->ecosystem = wharf_xstrdup(eco);
	p->name = wharf_xstrdup(name);
	p->version = wharf_xstrdup(version);
	p->source_name = src ? wharf_xstrdup(src) : NULL;
	p->source_version = srcver ? wharf_xstrdup(srcver) : NULL;
}

static const struct wharf_finding *find(const struct wharf_scan_result *r, const char *pkg, const char *id)
{
	for (size_t i = 0; i < r->findings.n; i++)
		if (!strcmp(r->findings.v[i].pkg_name, pkg) && !strcmp(r->findings.v[i].id, id))
			return &r->findings.v[i];
	return NULL;
}

static size_t count_for(const struct wharf_scan_result *r, const char *pkg)
{
	size_t n = 0;
	for (size_t i = 0; i < r->findings.n; i++)
		n += !strcmp(r->findings.v[i].pkg_name, pkg);
	return n;
}

static void match(const char *dbpath, struct wharf_scan_result *r)
{
	struct wharf_vulndb *db = NULL;
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_vulndb_open(&db, dbpath, &err), err);
	assert_wharf_ok(wharf_vulndb_match(db, r, &err), err);
	wharf_vulndb_close(db);
}

/* A GitHub advisory for the same issue as GO-2020-0001 (an alias of it). */
static const char ghsa_gin[] =
	"{\"id\":\"GHSA-6vm3-jj99-7229\",\"aliases\":[\"CVE-2020-36567\"],\"summary\":\"gin log injection\","
	"\"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N\"}],"
	"\"affected\":[{\"package\":{\"ecosystem\":\"Go\",\"name\":\"github.com/gin-gonic/gin\"},"
	"\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.6.0\"}]}]}],"
	"\"database_specific\":{\"severity\":\"MODERATE\"}}";

static const char nvd_doc[] =
	"{\"format\":\"NVD_CVE\",\"version\":\"2.0\",\"vulnerabilities\":["
	"{\"cve\":{\"id\":\"CVE-TEST-0003\",\"descriptions\":[{\"lang\":\"es\",\"value\":\"no\"},{\"lang\":\"en\",\"value\":\"An openssl flaw.\"}],"
	"\"metrics\":{\"cvssMetricV31\":[{\"source\":\"nvd@nist.gov\",\"type\":\"Primary\",\"cvssData\":{\"version\":\"3.1\","
	"\"vectorString\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\",\"baseScore\":9.8,\"baseSeverity\":\"CRITICAL\"}}]}}},"
	"{\"cve\":{\"id\":\"CVE-2019-9517\",\"descriptions\":[{\"lang\":\"en\",\"value\":\"HTTP/2 flood.\"}],"
	"\"metrics\":{\"cvssMetricV2\":[{\"type\":\"Primary\",\"cvssData\":{\"version\":\"2.0\",\"vectorString\":\"AV:N/AC:L/Au:N/C:N/I:N/A:C\","
	"\"baseScore\":7.8},\"baseSeverity\":\"HIGH\"}]}}}]}";

/* Bullseye: a fix backported into a security update, and one still open. */
static const char bullseye_tracker[] =
	"{\"openssl\":{\"CVE-2023-0464\":{\"description\":\"policy constraints\",\"releases\":{\"bullseye\":{\"status\":\"resolved\","
	"\"fixed_version\":\"1.1.1n-0+deb11u5\",\"urgency\":\"medium\"}}},"
	"\"CVE-2023-9999\":{\"releases\":{\"bullseye\":{\"status\":\"open\",\"urgency\":\"high\"}}},"
	"\"CVE-2023-9998\":{\"releases\":{\"bullseye\":{\"status\":\"open\",\"urgency\":\"low\",\"nodsa\":\"Minor\","
	"\"nodsa_reason\":\"ignored\"}}}}}";

static char *build_db(const char *dir)
{
	char *db = wharf_xasprintf("%s/vulndb.sqlite", dir);
	import_ok(db, "osv", FIX "/osv");
	char *g = write_tmp(dir, "ghsa.json", ghsa_gin);
	import_ok(db, "osv", g);
	import_ok(db, "debian", FIX "/debian-tracker-sample.json");
	char *b = write_tmp(dir, "bullseye.json", bullseye_tracker);
	import_ok(db, "debian", b);
	import_ok(db, "alpine", FIX "/alpine");
	char *n = write_tmp(dir, "nvd.json", nvd_doc);
	import_ok(db, "nvd", n);
	free(g);
	free(b);
	free(n);
	return db;
}

static void import_real_files_and_status(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = build_db(dir);
	json_t *st = status(db);
	assert_int_equal(json_integer_value(json_object_get(st, "schema_version")), 1);
	assert_int_equal(eco_count(st, "Go"), 4); /* and the GHSA record */
	assert_int_equal(eco_count(st, "PyPI"), 3);
	/* bookworm: 0001, 0003, 0004 (openssl), 0006, 0007 (glibc), 0008, 0009; 0002 is "0" */
	assert_int_equal(eco_count(st, "debian:bookworm"), 7);
	assert_int_equal(eco_count(st, "debian:bullseye"), 4);
	assert_true(eco_count(st, "alpine:v3.10") > 1000);
	assert_int_equal(json_array_size(json_object_get(st, "sources")), 4);
	const char *gen = json_string_value(json_object_get(st, "generation"));
	assert_int_equal(strlen(gen), 32);
	json_decref(st);
	test_rmtree(dir);
	free(db);
}

static void reimport_is_idempotent_and_changes_generation(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = wharf_xasprintf("%s/v.sqlite", dir);
	import_ok(db, "osv", FIX "/osv");
	json_t *a = status(db);
	/* A handle keeps its snapshot across an import; a new one sees the new generation. */
	struct wharf_vulndb *h = NULL;
	struct wharf_error err = {0};
	char *g1 = NULL, *g2 = NULL, *g3 = NULL;
	assert_wharf_ok(wharf_vulndb_open(&h, db, &err), err);
	assert_wharf_ok(wharf_vulndb_generation(h, &g1, &err), err);
	import_ok(db, "osv", FIX "/osv");
	assert_wharf_ok(wharf_vulndb_generation(h, &g2, &err), err);
	assert_string_equal(g1, g2);
	wharf_vulndb_close(h);
	assert_wharf_ok(wharf_vulndb_open(&h, db, &err), err);
	assert_wharf_ok(wharf_vulndb_generation(h, &g3, &err), err);
	assert_string_not_equal(g1, g3);
	wharf_vulndb_close(h);
	free(g1);
	free(g2);
	free(g3);
	json_t *b = status(db);
	assert_int_equal(eco_count(a, "Go"), eco_count(b, "Go"));
	assert_int_equal(eco_count(a, "PyPI"), eco_count(b, "PyPI"));
	json_t *va = json_object_get(a, "vulnerability_records"), *vb = json_object_get(b, "vulnerability_records");
	assert_true(json_equal(va, vb));
	assert_string_not_equal(json_string_value(json_object_get(a, "generation")),
				json_string_value(json_object_get(b, "generation")));
	json_decref(a);
	json_decref(b);
	free(db);
	test_rmtree(dir);
}

static void bad_file_leaves_db_unchanged(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = wharf_xasprintf("%s/v.sqlite", dir);
	import_ok(db, "osv", FIX "/osv");
	json_t *before = status(db);
	char *bad = wharf_xasprintf("%s/bad", dir);
	assert_int_equal(mkdir(bad, 0700), 0);
	free(write_tmp(bad, "a-good.json", ghsa_gin));
	free(write_tmp(bad, "b-bad.json",
		       "{\"id\":\"X-1\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"x\"},"
		       "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\",\"fixed\":\"1.0.0\"}]}]}]}"));
	struct wharf_error err = {0};
	const char *paths[] = {bad};
	assert_wharf_err(wharf_vulndb_import(db, "osv", paths, 1, NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "b-bad.json");
	assert_contains(err.message, "exactly one of introduced");
	json_t *after = status(db);
	assert_true(json_equal(before, after)); /* the good file's record was rolled back too */
	json_decref(after);

	/* Other rules each give an error naming the file. */
	static const struct {
		const char *format, *text, *want;
	} cases[] = {
		{"osv", "{\"summary\":\"no id\"}", "no valid \"id\""},
		{"osv", "{\"id\":\"X\",\"affected\":{}}", "\"affected\" is not an array"},
		{"osv", "{\"id\":", "not valid JSON"},
		{"osv", "id: [unclosed", "not valid YAML"},
		{"debian", "[1,2]", "must be an object"},
		{"debian", "{\"a\":{}}x", "expected ',' or '}'"},
		{"debian", "{\"a\":{},}", "expected a member name"},
		{"debian", "{\"a\" {}}", "expected ':'"},
		{"debian", "{\"openssl\": {\"CVE-1\": ", "not valid JSON"},
		{"debian", "{\"p\":{\"CVE-1\":{\"releases\":{\"bookworm\":{\"status\":\"resolved\"}}}}}", "without fixed_version"},
		{"debian", "{\"p\":{\"CVE-1\":{\"releases\":{\"bookworm\":{\"status\":\"weird\"}}}}}", "unknown status"},
		{"alpine", "{\"packages\":[]}", "distroversion"},
		{"alpine", "{\"distroversion\":\"v3.18\",\"packages\":[{\"pkg\":{\"secfixes\":{}}}]}", "pkg.name"},
		{"nvd", "{\"vulnerabilities\":[{\"cve\":{\"id\":\"GHSA-x\"}}]}", "not a CVE ID"},
		{"nvd", "{}", "\"vulnerabilities\" array"},
		{"osv", "a: &a [*a, *a]\nb: [*a, *a, *a, *a, *a, *a, *a, *a]\n", "YAML"},
		/* a billion laughs: 10^10 nodes from 10 lines */
		{"osv",
		 "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n"
		 "a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n"
		 "a4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\na5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n"
		 "a6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]\na7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]\n",
		 "expands to more than"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *f = write_tmp(dir, "case.json", cases[i].text);
		const char *p1[] = {f};
		memset(&err, 0, sizeof(err));
		int r = wharf_vulndb_import(db, cases[i].format, p1, 1, NULL, &err);
		if (r >= 0)
			fail_msg("case %zu accepted", i);
		assert_contains(err.message, "case.json");
		assert_contains(err.message, cases[i].want);
		free(f);
	}
	after = status(db);
	assert_true(json_equal(before, after));
	json_decref(after);
	json_decref(before);

	/* A failed first import leaves no database behind. */
	char *fresh = wharf_xasprintf("%s/fresh.sqlite", dir);
	char *f = write_tmp(dir, "x.json", "{");
	const char *p2[] = {f};
	assert_true(wharf_vulndb_import(fresh, "osv", p2, 1, NULL, &err) < 0);
	assert_int_equal(access(fresh, F_OK), -1);
	const char *p3[] = {FIX "/osv"};
	assert_wharf_err(wharf_vulndb_import(fresh, "nosuch", p3, 1, NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "unknown import format");
	struct wharf_vulndb *h = NULL;
	assert_wharf_err(wharf_vulndb_open(&h, fresh, &err), err, WHARF_ENOTFOUND);
	free(fresh);
	free(f);
	free(bad);
	free(db);
	test_rmtree(dir);
}

static void debian_by_source_and_release(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = build_db(dir);
	struct wharf_scan_result r = {0};
	r.os.id = wharf_xstrdup("debian");
	r.os.version_id = wharf_xstrdup("12"); /* no VERSION_CODENAME: 12 is bookworm */
	add_pkg(&r, WHARF_ECO_DEBIAN, "libssl3", "3.0.11-1~deb12u2", "openssl", NULL);
	add_pkg(&r, WHARF_ECO_DEBIAN, "libc6", "2.36-9+deb12u3", "glibc", NULL);
	add_pkg(&r, WHARF_ECO_DEBIAN, "libgcrypt20", "1.10.1-3", NULL, NULL);
	add_pkg(&r, WHARF_ECO_DEBIAN, "libxml2", "2.9.14+dfsg-1.3~deb12u99", NULL, NULL);
	add_pkg(&r, WHARF_ECO_ALPINE, "openssl", "1.0.0-r0", NULL, NULL); /* another distro: ignored */
	match(db, &r);

	const struct wharf_finding *f = find(&r, "libssl3", "CVE-TEST-0001");
	assert_non_null(f);
	assert_string_equal(f->fixed, "99.0.0-1~deb12u1");
	assert_string_equal(f->status, "fixed");
	assert_string_equal(f->severity, "HIGH");
	assert_string_equal(f->severity_source, "debian");
	assert_string_equal(f->installed, "3.0.11-1~deb12u2");
	f = find(&r, "libssl3", "CVE-TEST-0003");
	assert_non_null(f);
	assert_null(f->fixed);
	assert_string_equal(f->status, "affected");
	/* distro severity first; NVD gives the CVSS and the description */
	assert_string_equal(f->severity, "LOW");
	assert_true(f->cvss_score > 9.7 && f->cvss_score < 9.9);
	assert_string_equal(f->cvss_source, "nvd");
	assert_string_equal(f->description, "An openssl flaw.");
	assert_null(find(&r, "libssl3", "CVE-TEST-0002")); /* fixed_version "0": never affected */
	assert_null(find(&r, "libssl3", "CVE-TEST-0004")); /* installed after the fix */
	assert_null(find(&r, "libssl3", "CVE-TEST-0005")); /* bullseye only */
	assert_non_null(find(&r, "libc6", "CVE-TEST-0006"));
	f = find(&r, "libc6", "CVE-TEST-0007");
	assert_non_null(f);
	assert_string_equal(f->status, "under_investigation");
	assert_non_null(find(&r, "libgcrypt20", "CVE-TEST-0008")); /* fix has epoch 1 */
	assert_int_equal(count_for(&r, "libxml2"), 0);             /* exactly at the fix */
	assert_int_equal(count_for(&r, "openssl"), 0);
	assert_int_equal(r.findings.v[0].pkg, 0);
	wharf_scan_result_free(&r);
	free(db);
	test_rmtree(dir);
}

static void bullseye_backport_not_reported(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = build_db(dir);
	struct wharf_scan_result r = {0};
	r.os.id = wharf_xstrdup("debian");
	r.os.version_id = wharf_xstrdup("11");
	r.os.codename = wharf_xstrdup("bullseye");
	/* The security update carries the backported fix: 1.1.1w-0+deb11u1 > 1.1.1n-0+deb11u5. */
	add_pkg(&r, WHARF_ECO_DEBIAN, "libssl1.1", "1.1.1w-0+deb11u1", "openssl", NULL);
	/* Without security updates: before the fix. */
	add_pkg(&r, WHARF_ECO_DEBIAN, "openssl", "1.1.1n-0+deb11u4", NULL, NULL);
	match(db, &r);
	assert_null(find(&r, "libssl1.1", "CVE-2023-0464"));
	const struct wharf_finding *f = find(&r, "libssl1.1", "CVE-2023-9999");
	assert_non_null(f);
	assert_string_equal(f->status, "affected");
	assert_null(f->fixed);
	assert_string_equal(f->severity, "HIGH");
	f = find(&r, "openssl", "CVE-2023-0464");
	assert_non_null(f);
	assert_string_equal(f->fixed, "1.1.1n-0+deb11u5");
	assert_string_equal(f->severity, "MEDIUM");
	assert_string_equal(f->description, "policy constraints");
	/* CVE-TEST-0005's 99.0-1 is a bullseye fix too */
	assert_non_null(find(&r, "openssl", "CVE-TEST-0005"));
	f = find(&r, "openssl", "CVE-2023-9998");
	assert_non_null(f);
	assert_string_equal(f->status, "will_not_fix");
	assert_string_equal(f->severity, "LOW");
	assert_int_equal(count_for(&r, "openssl"), 4);
	wharf_scan_result_free(&r);
	free(db);
	test_rmtree(dir);
}

static void alpine_by_origin_and_branch(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = build_db(dir);
	struct wharf_scan_result r = {0};
	r.os.id = wharf_xstrdup("alpine");
	r.os.version_id = wharf_xstrdup("3.10.9");
	add_pkg(&r, WHARF_ECO_ALPINE, "apache2-utils", "2.4.39-r0", "apache2", NULL);
	add_pkg(&r, WHARF_ECO_ALPINE, "ansible", "2.8.4-r0", NULL, NULL);
	match(db, &r);
	const struct wharf_finding *f = find(&r, "apache2-utils", "CVE-2019-9517");
	assert_non_null(f);
	assert_string_equal(f->fixed, "2.4.41-r0");
	/* Alpine gives no severity: NVD's (v2 here) */
	assert_string_equal(f->severity, "HIGH");
	assert_string_equal(f->severity_source, "nvd");
	assert_null(find(&r, "apache2-utils", "CVE-2019-0196")); /* fixed in 2.4.39-r0 */
	assert_int_equal(count_for(&r, "ansible"), 0);
	wharf_scan_result_free(&r);

	/* Another branch has no advisories in this database. */
	memset(&r, 0, sizeof(r));
	r.os.id = wharf_xstrdup("alpine");
	r.os.version_id = wharf_xstrdup("3.18.4");
	add_pkg(&r, WHARF_ECO_ALPINE, "apache2", "2.4.39-r0", NULL, NULL);
	match(db, &r);
	assert_int_equal(r.findings.n, 0);
	wharf_scan_result_free(&r);
	free(db);
	test_rmtree(dir);
}

static void language_packages_against_osv(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = build_db(dir);
	struct wharf_scan_result r = {0};
	r.os.id = wharf_xstrdup("debian");
	r.os.version_id = wharf_xstrdup("12");
	add_pkg(&r, WHARF_ECO_GO, "github.com/gin-gonic/gin", "v1.5.0", NULL, NULL);
	add_pkg(&r, WHARF_ECO_GO, "github.com/other/gin", "v1.5.0", NULL, NULL);
	add_pkg(&r, WHARF_ECO_PYPI, "AccessControl", "5.1", NULL, NULL); /* PyPI names are normalised */
	/* PYSEC-2023-121 lists versions, and its range (introduced 0, no fix) covers every one. */
	add_pkg(&r, WHARF_ECO_PYPI, "zstd", "1.4.4.0", NULL, NULL);
	add_pkg(&r, WHARF_ECO_PYPI, "zstd", "99.0", NULL, NULL);
	add_pkg(&r, WHARF_ECO_NPM, "github.com/gin-gonic/gin", "1.5.0", NULL, NULL); /* wrong ecosystem */
	match(db, &r);
	const struct wharf_finding *f = find(&r, "github.com/gin-gonic/gin", "GO-2020-0001");
	assert_non_null(f);
	assert_string_equal(f->fixed, "1.6.0");
	assert_string_equal(f->status, "fixed");
	assert_string_equal(f->title, "Arbitrary log line injection in github.com/gin-gonic/gin");
	/* The GHSA record is an alias of GO-2020-0001: one finding, with GitHub's severity. */
	assert_null(find(&r, "github.com/gin-gonic/gin", "GHSA-6vm3-jj99-7229"));
	assert_string_equal(f->severity, "MEDIUM");
	assert_string_equal(f->severity_source, "ghsa");
	assert_true(f->cvss_score > 7.4 && f->cvss_score < 7.6);
	assert_string_equal(f->cvss_source, "ghsa"); /* scored by the GHSA alias */
	f = find(&r, "github.com/gin-gonic/gin", "GO-2021-0052");
	assert_non_null(f);
	assert_string_equal(f->fixed, "1.7.7");
	/* introduced at a pseudo-version after 1.3.0: 1.5.0 is inside */
	assert_non_null(find(&r, "github.com/gin-gonic/gin", "GO-2023-1737"));
	assert_int_equal(count_for(&r, "github.com/gin-gonic/gin"), 3);
	assert_int_equal(count_for(&r, "github.com/other/gin"), 0);
	f = find(&r, "AccessControl", "PYSEC-2021-335");
	assert_non_null(f);
	assert_string_equal(f->fixed, "5.2");
	size_t zstd = 0;
	for (size_t i = 0; i < r.findings.n; i++)
		if (!strcmp(r.findings.v[i].id, "PYSEC-2023-121")) {
			zstd++;
			assert_null(r.findings.v[i].fixed);
			assert_string_equal(r.findings.v[i].status, "affected");
		}
	assert_int_equal(zstd, 2);

	/* An ignore entry for a CVE covers the advisories that alias it. */
	struct wharf_error err = {0};
	struct wharf_ignore_list ign;
	static const char ignore_text[] = "CVE-2020-36567 log lines are not parsed expires=2099-01-01 pkg=github.com/gin-gonic/gin\n";
	assert_wharf_ok(wharf_ignore_parse("ign", ignore_text, strlen(ignore_text), &ign, &err), err);
	struct wharf_vulndb *h = NULL;
	assert_wharf_ok(wharf_vulndb_open(&h, db, &err), err);
	assert_wharf_ok(wharf_vulndb_expand_ignore(h, &ign, &err), err);
	assert_wharf_ok(wharf_vulndb_expand_ignore(h, &ign, &err), err); /* no duplicates the second time */
	wharf_vulndb_close(h);
	assert_int_equal(ign.n, 3); /* the CVE, GO-2020-0001, GHSA-6vm3-jj99-7229 */
	struct wharf_report_options opt = {.ignore = &ign};
	size_t before = r.findings.n;
	assert_int_equal(wharf_report_filter(&r, &opt), 1);
	assert_int_equal(r.findings.n, before - 1);
	assert_null(find(&r, "github.com/gin-gonic/gin", "GO-2020-0001"));
	wharf_ignore_list_free(&ign);
	wharf_scan_result_free(&r);

	/* Fixed versions are not reported. */
	memset(&r, 0, sizeof(r));
	add_pkg(&r, WHARF_ECO_GO, "github.com/gin-gonic/gin", "v1.9.1", NULL, NULL);
	add_pkg(&r, WHARF_ECO_PYPI, "accesscontrol", "5.2", NULL, NULL);
	match(db, &r);
	assert_null(find(&r, "accesscontrol", "PYSEC-2021-335"));
	assert_int_equal(count_for(&r, "github.com/gin-gonic/gin"), 0);
	wharf_scan_result_free(&r);
	free(db);
	test_rmtree(dir);
}

static void rustsec_advisories(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = wharf_xasprintf("%s/v.sqlite", dir);
	struct wharf_vulndb_import_stats st = {0};
	struct wharf_error err = {0};
	const char *paths[] = {FIX "/rustsec"};
	assert_wharf_ok(wharf_vulndb_import(db, "rustsec", paths, 1, &st, &err), err);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.advisories, 2);
	assert_int_equal(st.skipped, 1); /* badge: informational "unmaintained" */
	struct wharf_scan_result r = {0};
	add_pkg(&r, WHARF_ECO_CARGO, "aes-gcm", "0.10.2", NULL, NULL); /* >= 0.10.0, < 0.10.3 */
	add_pkg(&r, WHARF_ECO_CARGO, "aes-gcm", "0.9.4", NULL, NULL);  /* unaffected: < 0.10.0 */
	add_pkg(&r, WHARF_ECO_CARGO, "aes-gcm", "0.10.3", NULL, NULL); /* patched */
	add_pkg(&r, WHARF_ECO_CARGO, "base64", "0.5.1", NULL, NULL);
	add_pkg(&r, WHARF_ECO_CARGO, "badge", "0.1.0", NULL, NULL);
	match(db, &r);
	assert_int_equal(r.findings.n, 2);
	assert_string_equal(r.findings.v[0].id, "RUSTSEC-2023-0096");
	assert_int_equal(r.findings.v[0].pkg, 0);
	assert_string_equal(r.findings.v[0].fixed, "0.10.3");
	assert_string_equal(r.findings.v[0].title,
			    "Plaintext exposed in decrypt_in_place_detached even on tag verification failure");
	assert_string_equal(r.findings.v[1].id, "RUSTSEC-2017-0004");
	assert_string_equal(r.findings.v[1].fixed, "0.5.2");
	assert_string_equal(r.findings.v[1].severity, "CRITICAL"); /* from its CVSS 3.0 vector: 9.8 */
	wharf_scan_result_free(&r);

	/* A broken front block names the file and the line. */
	char *bad = write_tmp(dir, "RUSTSEC-0000-0001.md", "```toml\n[advisory]\nid = \"RUSTSEC-0000-0001\n```\n");
	const char *p2[] = {bad};
	assert_wharf_err(wharf_vulndb_import(db, "rustsec", p2, 1, NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "RUSTSEC-0000-0001.md:3");
	free(bad);
	free(db);
	test_rmtree(dir);
}

static void cargo_requirements(void **state)
{
	(void)state;
	static const struct {
		const char *req, *v;
		bool match;
		const char *lower;
	} cases[] = {
		{">= 0.5.2", "0.5.2", true, "0.5.2"},  {">= 0.5.2", "0.5.1", false, "0.5.2"},
		{"^0.9.5", "0.9.9", true, "0.9.5"},    {"^0.9.5", "0.10.0", false, "0.9.5"},
		{"^1.2", "1.9.0", true, "1.2.0"},      {"^1.2", "2.0.0", false, "1.2.0"},
		{"^0.0.3", "0.0.4", false, "0.0.3"},   {"~1.2.3", "1.2.9", true, "1.2.3"},
		{"~1.2.3", "1.3.0", false, "1.2.3"},   {"=1.0.0", "1.0.0", true, "1.0.0"},
		{"< 0.10.0", "0.9.4", true, ""},       {"< 0.10.0", "0.10.0", false, ""},
		{">= 0.10.0, < 0.10.3", "0.10.2", true, "0.10.0"},
		{">= 0.10.0, < 0.10.3", "0.10.3", false, "0.10.0"},
		{"> 1.2", "1.2.9", false, "1.3.0"},    {"<= 1.2", "1.2.9", true, ""},
		{"1.2.3", "1.4.0", true, "1.2.3"},     {"*", "7.0.0", true, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool m = !cases[i].match;
		char lower[300];
		if (vulndb_cargo_req_matches(cases[i].req, cases[i].v, &m, lower, sizeof(lower)) != 0)
			fail_msg("%s: refused", cases[i].req);
		if (m != cases[i].match)
			fail_msg("%s vs %s: got %d", cases[i].req, cases[i].v, m);
		assert_string_equal(lower, cases[i].lower);
	}
	bool m;
	assert_int_equal(vulndb_cargo_req_matches(">= x.y", "1.0.0", &m, NULL, 0), -1);
	assert_int_equal(vulndb_cargo_req_matches(">= 1.0", "banana", &m, NULL, 0), -1);
}

static void osv_versions_list(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = wharf_xasprintf("%s/v.sqlite", dir);
	/* Only a versions list (and a GIT range, which installed packages cannot use). */
	char *f = write_tmp(dir, "npm.json",
			    "{\"id\":\"GHSA-aaaa-bbbb-cccc\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"left-pad\"},"
			    "\"ranges\":[{\"type\":\"GIT\",\"repo\":\"https://example.invalid/r\",\"events\":[{\"introduced\":\"0\"}]}],"
			    "\"versions\":[\"1.0.0\",\"1.1.0\"]},{\"package\":{\"ecosystem\":\"npm\",\"name\":\"right-pad\"},"
			    "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"1.0.0\"},{\"last_affected\":\"1.2.0\"}]}]}]}");
	import_ok(db, "osv", f);
	struct wharf_scan_result r = {0};
	add_pkg(&r, WHARF_ECO_NPM, "left-pad", "1.1.0", NULL, NULL);
	add_pkg(&r, WHARF_ECO_NPM, "left-pad", "1.0.1", NULL, NULL);
	add_pkg(&r, WHARF_ECO_NPM, "right-pad", "1.2.0", NULL, NULL);
	add_pkg(&r, WHARF_ECO_NPM, "right-pad", "1.2.1", NULL, NULL);
	add_pkg(&r, WHARF_ECO_NPM, "right-pad", "0.9.0", NULL, NULL);
	match(db, &r);
	assert_int_equal(r.findings.n, 2);
	assert_int_equal(r.findings.v[0].pkg, 0);
	assert_int_equal(r.findings.v[1].pkg, 2);
	assert_null(r.findings.v[1].fixed); /* last_affected: no fix known */
	assert_string_equal(r.findings.v[1].status, "affected");
	wharf_scan_result_free(&r);
	free(f);
	free(db);
	test_rmtree(dir);
}

static void distro_packages_against_osv_releases(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *db = build_db(dir);
	/* OSV's records of distribution releases: an Ubuntu USN, and Debian DSAs, one an alias
	 * of a CVE the tracker already reports. */
	char *f = write_tmp(dir, "distro-osv.json",
			    "[{\"id\":\"USN-6000-1\",\"aliases\":[\"CVE-2023-1111\"],\"summary\":\"openssl vulnerabilities\","
			    "\"affected\":[{\"package\":{\"ecosystem\":\"Ubuntu:22.04:LTS\",\"name\":\"openssl\"},"
			    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"3.0.2-0ubuntu1.9\"}]}]}]},"
			    "{\"id\":\"DSA-9999-1\",\"aliases\":[\"CVE-TEST-0001\"],\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
			    "\"name\":\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
			    "{\"fixed\":\"99.0.0-1~deb12u1\"}]}]}]},"
			    "{\"id\":\"DSA-9999-2\",\"aliases\":[\"CVE-2024-7777\"],\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
			    "\"name\":\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
			    "{\"fixed\":\"3.0.13-1~deb12u1\"}]}]}]}]");
	import_ok(db, "osv", f);
	struct wharf_scan_result r = {0};
	r.os.id = wharf_xstrdup("ubuntu");
	r.os.version_id = wharf_xstrdup("22.04");
	add_pkg(&r, WHARF_ECO_UBUNTU, "libssl3", "3.0.2-0ubuntu1.8", "openssl", NULL);
	add_pkg(&r, WHARF_ECO_UBUNTU, "openssl", "3.0.2-0ubuntu1.10", NULL, NULL);
	add_pkg(&r, WHARF_ECO_DEBIAN, "openssl", "3.0.2-0", NULL, NULL); /* not this image's distro */
	match(db, &r);
	assert_int_equal(r.findings.n, 1);
	assert_string_equal(r.findings.v[0].id, "USN-6000-1");
	assert_string_equal(r.findings.v[0].pkg_name, "libssl3");
	assert_string_equal(r.findings.v[0].fixed, "3.0.2-0ubuntu1.9");
	wharf_scan_result_free(&r);

	memset(&r, 0, sizeof(r));
	r.os.id = wharf_xstrdup("debian");
	r.os.version_id = wharf_xstrdup("12");
	add_pkg(&r, WHARF_ECO_DEBIAN, "libssl3", "3.0.11-1~deb12u2", "openssl", NULL);
	match(db, &r);
	/* CVE-TEST-0001 once (the tracker's, with its severity), DSA-9999-2 from OSV */
	assert_non_null(find(&r, "libssl3", "CVE-TEST-0001"));
	assert_null(find(&r, "libssl3", "DSA-9999-1"));
	const struct wharf_finding *d = find(&r, "libssl3", "DSA-9999-2");
	assert_non_null(d);
	assert_string_equal(d->fixed, "3.0.13-1~deb12u1");
	assert_int_equal(count_for(&r, "libssl3"), 3); /* 0001, 0003 (open), DSA-9999-2 */
	wharf_scan_result_free(&r);

	/* AlmaLinux 9: rpm ordering with epochs, by source package. */
	char *alma = write_tmp(dir, "alma.json",
			       "{\"id\":\"ALSA-2023:5000\",\"affected\":[{\"package\":{\"ecosystem\":\"AlmaLinux:9\","
			       "\"name\":\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
			       "{\"fixed\":\"1:3.0.7-17.el9_2\"}]}]}]}");
	import_ok(db, "osv", alma);
	memset(&r, 0, sizeof(r));
	r.os.id = wharf_xstrdup("almalinux");
	r.os.version_id = wharf_xstrdup("9.2");
	add_pkg(&r, WHARF_ECO_RPM, "openssl-libs", "1:3.0.7-16.el9_2", "openssl", NULL);
	add_pkg(&r, WHARF_ECO_RPM, "openssl", "1:3.0.7-17.el9_2", NULL, NULL);
	add_pkg(&r, WHARF_ECO_RPM, "openssl-devel", "3.0.7-18.el9_2", "openssl", NULL); /* epoch 0 < 1 */
	match(db, &r);
	assert_int_equal(r.findings.n, 2);
	assert_string_equal(r.findings.v[0].pkg_name, "openssl-libs");
	assert_string_equal(r.findings.v[0].fixed, "1:3.0.7-17.el9_2");
	assert_string_equal(r.findings.v[1].pkg_name, "openssl-devel");
	wharf_scan_result_free(&r);
	free(alma);
	free(f);
	free(db);
	test_rmtree(dir);
}

static void cvss3_scores(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		double score;
	} cases[] = {
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},
		{"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N/E:P/RL:O", 7.5},
		{"CVSS:3.1/AV:A/AC:H/PR:L/UI:R/S:C/C:L/I:L/A:L", 5.1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double s = -1;
		struct wharf_error err = {0};
		assert_wharf_ok(wharf_cvss3_base_score(cases[i].v, &s, &err), err);
		if (s < cases[i].score - 0.001 || s > cases[i].score + 0.001)
			fail_msg("%s: got %.1f want %.1f", cases[i].v, s, cases[i].score);
	}
	static const char *const bad[] = {"AV:N/AC:L", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
					  "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
					  "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double s;
		struct wharf_error err = {0};
		assert_wharf_err(wharf_cvss3_base_score(bad[i], &s, &err), err, WHARF_EINVAL);
	}
	assert_int_equal(wharf_severity_from_cvss(9.0), WHARF_SEV_CRITICAL);
	assert_int_equal(wharf_severity_from_cvss(8.9), WHARF_SEV_HIGH);
	assert_int_equal(wharf_severity_from_cvss(4.0), WHARF_SEV_MEDIUM);
	assert_int_equal(wharf_severity_from_cvss(0.1), WHARF_SEV_LOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(import_real_files_and_status),
		cmocka_unit_test(reimport_is_idempotent_and_changes_generation),
		cmocka_unit_test(bad_file_leaves_db_unchanged),
		cmocka_unit_test(debian_by_source_and_release),
		cmocka_unit_test(bullseye_backport_not_reported),
		cmocka_unit_test(alpine_by_origin_and_branch),
		cmocka_unit_test(language_packages_against_osv),
		cmocka_unit_test(rustsec_advisories),
		cmocka_unit_test(cargo_requirements),
		cmocka_unit_test(osv_versions_list),
		cmocka_unit_test(distro_packages_against_osv_releases),
		cmocka_unit_test(cvss3_scores),
	};
	return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
