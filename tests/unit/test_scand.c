/* Unit tests of the registry's scan queue: a real blob store holding an image made here (a tar
 * layer with os-release and a dpkg status file, its config and manifest), the queue's states,
 * persistence across a reopen after a "crash" (jobs left running), the crash-loop limit, rescans
 * when the database generation changes, failures for artifacts, the pull policy and the
 * severity filter of reports. */
#include "wharf_test.h"

#include <archive.h>
#include <archive_entry.h>
#include <sqlite3.h>
#include <unistd.h>

#include "wharf/digest.h"
#include "wharf/scand.h"
#include "wharf/store.h"
#include "wharf/vulndb.h"

static const char os_release[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
				 "VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
static const char dpkg_status[] = "Package: libfoo1\nStatus: install ok installed\nVersion: 1.2-3\n"
				  "Source: foo\nArchitecture: amd64\n\n"
				  "Package: bar\nStatus: install ok installed\nVersion: 0.9-1\nArchitecture: all\n\n";

static la_ssize_t buf_write(struct archive *a, void *ctx, const void *data, size_t n)
{
	(void)a;
	wharf_buf_append(ctx, data, n);
	return (la_ssize_t)n;
}

static void tar_file(struct archive *a, const char *name, const char *data)
{
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)strlen(data));
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	archive_write_data(a, data, strlen(data));
	archive_entry_free(ae);
}

static void make_layer(struct wharf_buf *out)
{
	wharf_buf_init(out);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL), ARCHIVE_OK);
	tar_file(a, "etc/os-release", os_release);
	tar_file(a, "var/lib/dpkg/status", dpkg_status);
	archive_write_close(a);
	archive_write_free(a);
}

static void put(struct wharf_store *s, const void *data, size_t len, struct wharf_digest *d)
{
	struct wharf_error err = {0};
	wharf_digest_buffer(WHARF_SHA256, data, len, d);
	assert_wharf_ok(wharf_store_put(s, d, data, len, &err), err);
}

/* Store an image (or, with config_type, an artifact) and return its manifest digest. */
static void make_image(struct wharf_store *s, const char *config_type, struct wharf_digest *out)
{
	struct wharf_buf layer;
	make_layer(&layer);
	struct wharf_digest ld, cd;
	put(s, layer.data, layer.len, &ld);
	_cleanup_free_ char *config = wharf_xasprintf(
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]},"
		"\"history\":[{\"created_by\":\"unit test\"}]}", ld.str);
	put(s, config, strlen(config), &cd);
	_cleanup_free_ char *manifest = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
		config_type ? config_type : "application/vnd.oci.image.config.v1+json", cd.str, strlen(config), ld.str,
		layer.len);
	put(s, manifest, strlen(manifest), out);
	wharf_buf_free(&layer);
}

struct fixture {
	char *dir;
	struct wharf_store *store;
	struct wharf_scand *q;
	struct wharf_digest image;
};

static void open_queue(struct fixture *f)
{
	struct wharf_error err = {0};
	struct wharf_scand_options o = {.data_dir = f->dir, .workers = 0, .store = f->store};
	assert_wharf_ok(wharf_scand_open(&f->q, &o, &err), err);
}

static void fixture_open(struct fixture *f)
{
	struct wharf_error err = {0};
	f->dir = test_subdir();
	assert_wharf_ok(wharf_store_open(&f->store, f->dir, &err), err);
	make_image(f->store, NULL, &f->image);
	open_queue(f);
}

static void fixture_close(struct fixture *f)
{
	wharf_scand_close(f->q);
	wharf_store_close(f->store);
	free(f->dir);
}

static enum wharf_scand_state state_of(struct fixture *f, const char *digest)
{
	struct wharf_error err = {0};
	struct wharf_scand_job j;
	assert_wharf_ok(wharf_scand_get(f->q, digest, false, &j, &err), err);
	enum wharf_scand_state s = j.state;
	wharf_scand_job_free(&j);
	return s;
}

/* Change the queue file behind the queue's back, as a crash or another process would. */
static void sql(struct fixture *f, const char *stmt)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/scan.db", f->dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", stmt, msg);
	sqlite3_close(db);
}

static void t_scan_packages_only(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct wharf_error err = {0};
	fixture_open(&f);
	assert_int_equal(state_of(&f, f.image.str), WHARF_SCAND_UNKNOWN);
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err); /* idempotent */
	unsigned counts[5];
	assert_wharf_ok(wharf_scand_counts(f.q, counts, &err), err);
	assert_int_equal(counts[WHARF_SCAND_QUEUED], 1);
	assert_int_equal(wharf_scand_run_one(f.q, &err), 1);
	assert_int_equal(wharf_scand_run_one(f.q, &err), 0); /* empty now */
	struct wharf_scand_job j;
	assert_wharf_ok(wharf_scand_get(f.q, f.image.str, true, &j, &err), err);
	assert_int_equal(j.state, WHARF_SCAND_DONE);
	assert_true(j.has_result);
	assert_string_equal(j.generation, "");
	assert_contains(j.report, "\"SchemaVersion\":2");
	assert_contains(j.report, "\"libfoo1\"");
	assert_contains(j.report, "\"0.9-1\"");
	assert_contains(j.report, "\"VulnDB\":\"absent\"");
	assert_contains(j.report, "packages and secrets only");
	wharf_scand_job_free(&j);
	/* A second push of a scanned image does not queue it again. */
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	assert_int_equal(state_of(&f, f.image.str), WHARF_SCAND_DONE);
	fixture_close(&f);
}

/* The worker threads: woken by the enqueue, they scan without anyone calling run_one. */
static void t_workers(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct wharf_error err = {0};
	f.dir = test_subdir();
	assert_wharf_ok(wharf_store_open(&f.store, f.dir, &err), err);
	make_image(f.store, NULL, &f.image);
	struct wharf_scand_options o = {.data_dir = f.dir, .workers = 2, .poll_ms = 60000, .store = f.store};
	assert_wharf_ok(wharf_scand_open(&f.q, &o, &err), err);
	assert_wharf_ok(wharf_scand_start(f.q, &err), err);
	uint64_t t0 = wharf_monotonic_us();
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	while (state_of(&f, f.image.str) != WHARF_SCAND_DONE) {
		/* Well under the 60 s poll: only the enqueue's wake-up gets it done in time. */
		if (wharf_monotonic_us() - t0 > 20u * 1000000u)
			fail_msg("the workers did not scan %s within 20 s", f.image.str);
		usleep(10000);
	}
	fixture_close(&f);
}

static void t_survives_crash(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct wharf_error err = {0};
	fixture_open(&f);
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	/* The process dies with the job running: nothing closes the queue. */
	sql(&f, "UPDATE scan_jobs SET state=2, attempts=1");
	wharf_scand_close(f.q);
	sql(&f, "UPDATE scan_jobs SET state=2, attempts=1");
	open_queue(&f);
	assert_int_equal(state_of(&f, f.image.str), WHARF_SCAND_QUEUED);
	assert_int_equal(wharf_scand_run_one(f.q, &err), 1);
	assert_int_equal(state_of(&f, f.image.str), WHARF_SCAND_DONE);
	fixture_close(&f);
}

static void t_crash_loop_fails_job(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct wharf_error err = {0};
	fixture_open(&f);
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	wharf_scand_close(f.q);
	char stmt[64];
	snprintf(stmt, sizeof(stmt), "UPDATE scan_jobs SET state=2, attempts=%d", WHARF_SCAND_MAX_ATTEMPTS);
	sql(&f, stmt);
	open_queue(&f);
	struct wharf_scand_job j;
	assert_wharf_ok(wharf_scand_get(f.q, f.image.str, false, &j, &err), err);
	assert_int_equal(j.state, WHARF_SCAND_FAILED);
	assert_contains(j.error, "interrupted 3 times");
	wharf_scand_job_free(&j);
	/* Pushing it again gives it another chance. */
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	assert_int_equal(state_of(&f, f.image.str), WHARF_SCAND_QUEUED);
	fixture_close(&f);
}

static void t_rescan_on_generation(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct wharf_error err = {0};
	fixture_open(&f);
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	assert_int_equal(wharf_scand_check_generation(f.q, &err), 0); /* nothing done yet */
	assert_int_equal(wharf_scand_run_one(f.q, &err), 1);
	/* Same generation (no database): nothing to redo. */
	assert_int_equal(wharf_scand_check_generation(f.q, &err), 0);
	assert_int_equal(wharf_scand_requeue_stale(f.q, "", &err), 0);
	/* A database generation the result was not made with: queued, the old report kept. */
	assert_int_equal(wharf_scand_requeue_stale(f.q, "gen-2", &err), 1);
	struct wharf_scand_job j;
	assert_wharf_ok(wharf_scand_get(f.q, f.image.str, true, &j, &err), err);
	assert_int_equal(j.state, WHARF_SCAND_QUEUED);
	assert_true(j.has_result);
	assert_non_null(j.report);
	wharf_scand_job_free(&j);
	assert_int_equal(wharf_scand_run_one(f.q, &err), 1);
	assert_int_equal(state_of(&f, f.image.str), WHARF_SCAND_DONE);
	fixture_close(&f);
}

static void t_artifact_fails(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct wharf_error err = {0};
	fixture_open(&f);
	struct wharf_digest art;
	make_image(f.store, "application/vnd.example.sbom", &art);
	assert_wharf_ok(wharf_scand_enqueue(f.q, art.str, "org/app", &err), err);
	assert_int_equal(wharf_scand_run_one(f.q, &err), 1);
	struct wharf_scand_job j;
	assert_wharf_ok(wharf_scand_get(f.q, art.str, false, &j, &err), err);
	assert_int_equal(j.state, WHARF_SCAND_FAILED);
	assert_contains(j.error, "is an artifact");
	assert_contains(j.error, art.str);
	wharf_scand_job_free(&j);
	/* A missing manifest blob: failed, naming it. */
	const char *ghost = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	assert_wharf_ok(wharf_scand_enqueue(f.q, ghost, "org/app", &err), err);
	assert_int_equal(wharf_scand_run_one(f.q, &err), 1);
	assert_wharf_ok(wharf_scand_get(f.q, ghost, false, &j, &err), err);
	assert_int_equal(j.state, WHARF_SCAND_FAILED);
	assert_contains(j.error, ghost);
	wharf_scand_job_free(&j);
	fixture_close(&f);
}

static void t_policy(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct wharf_error err = {0};
	fixture_open(&f);
	struct wharf_scan_policy p;
	wharf_scan_policy_init(&p);
	assert_wharf_ok(wharf_scan_policy_load(&p,
					       "{\"default\":{\"block_severity\":\"CRITICAL\"},"
					       "\"repositories\":{\"prod/*\":{\"block_severity\":\"HIGH\",\"block_unscanned\":true},"
					       "\"dev/*\":{\"block_severity\":null}}}",
					       &err),
			err);
	assert_int_equal(wharf_scan_policy_rule(&p, "org/app")->block_severity, WHARF_SEV_CRITICAL);
	assert_int_equal(wharf_scan_policy_rule(&p, "prod/app")->block_severity, WHARF_SEV_HIGH);
	assert_int_equal(wharf_scan_policy_rule(&p, "dev/app")->block_severity, -1);
	char *why = NULL;
	/* Not scanned: allowed by default, refused where block_unscanned. */
	assert_int_equal(wharf_scand_policy_check(f.q, &p, "org/app", f.image.str, &why, &err), 0);
	assert_int_equal(wharf_scand_policy_check(f.q, &p, "prod/app", f.image.str, &why, &err), 1);
	assert_contains(why, "no scan result");
	free(why);
	assert_wharf_ok(wharf_scand_enqueue(f.q, f.image.str, "org/app", &err), err);
	assert_int_equal(wharf_scand_run_one(f.q, &err), 1);
	assert_int_equal(wharf_scand_policy_check(f.q, &p, "prod/app", f.image.str, &why, &err), 0);
	/* Two HIGH findings: prod (HIGH) refuses naming digest, count and severity; the default allows. */
	sql(&f, "UPDATE scan_jobs SET c_high=2");
	assert_int_equal(wharf_scand_policy_check(f.q, &p, "org/app", f.image.str, &why, &err), 0);
	assert_int_equal(wharf_scand_policy_check(f.q, &p, "prod/app", f.image.str, &why, &err), 1);
	assert_contains(why, f.image.str);
	assert_contains(why, "2 vulnerabilities of severity HIGH or higher");
	free(why);
	sql(&f, "UPDATE scan_jobs SET c_critical=1");
	assert_int_equal(wharf_scand_policy_check(f.q, &p, "org/app", f.image.str, &why, &err), 1);
	assert_contains(why, "1 vulnerability of severity CRITICAL");
	free(why);
	assert_int_equal(wharf_scand_policy_check(f.q, &p, "dev/app", f.image.str, &why, &err), 0);
	wharf_scan_policy_free(&p);
	fixture_close(&f);
}

static void t_policy_errors(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_scan_policy p;
	wharf_scan_policy_init(&p);
	assert_wharf_err(wharf_scan_policy_load(&p, "{\"default\":{\"block_severity\":\"SEVERE\"}}", &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "default.block_severity");
	wharf_scan_policy_free(&p);
	assert_wharf_err(wharf_scan_policy_load(&p, "{\"repositories\":{\"a/*\":{\"block\":1}}}", &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "'block' is not known");
	wharf_scan_policy_free(&p);
	assert_wharf_err(wharf_scan_policy_load(&p, "{\"defaults\":{}}", &err), err, WHARF_EINVAL);
	assert_contains(err.message, "'defaults'");
	wharf_scan_policy_free(&p);
	assert_wharf_err(wharf_scan_policy_load(&p, "[1", &err), err, WHARF_EINVAL);
	wharf_scan_policy_free(&p);
}

static void t_report_filter(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	const char *report = "{\"SchemaVersion\":2,\"Results\":[{\"Target\":\"x\",\"Vulnerabilities\":["
			     "{\"VulnerabilityID\":\"CVE-1\",\"Severity\":\"CRITICAL\"},"
			     "{\"VulnerabilityID\":\"CVE-2\",\"Severity\":\"LOW\"},"
			     "{\"VulnerabilityID\":\"CVE-3\",\"Severity\":\"HIGH\"}],"
			     "\"Secrets\":[{\"RuleID\":\"aws\",\"Severity\":\"MEDIUM\"}]}]}";
	unsigned mask = 0;
	assert_wharf_ok(wharf_severity_parse_list("HIGH,CRITICAL", &mask, &err), err);
	char *out = NULL;
	assert_wharf_ok(wharf_scand_report_filter(report, mask, &out, &err), err);
	assert_contains(out, "CVE-1");
	assert_contains(out, "CVE-3");
	assert_null(strstr(out, "CVE-2"));
	assert_null(strstr(out, "aws"));
	free(out);
	assert_wharf_err(wharf_scand_report_filter("{\"Results\":", mask, &out, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "scan report");
}

static void t_report_read(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	const char *report =
		"{\"SchemaVersion\":2,\"ArtifactName\":\"org/app@sha256:ab\",\"Metadata\":{\"OS\":{\"Family\":\"debian\","
		"\"Name\":\"12\"}},\"Results\":[{\"Target\":\"org/app (debian 12)\",\"Class\":\"os-pkgs\",\"Type\":\"debian\","
		"\"Vulnerabilities\":[{\"VulnerabilityID\":\"CVE-1\",\"PkgName\":\"libacl1\",\"InstalledVersion\":\"2.3.1-3\","
		"\"FixedVersion\":\"2.3.1-4\",\"Severity\":\"HIGH\",\"Layer\":{\"Digest\":\"sha256:l1\",\"DiffID\":\"sha256:d1\"}},"
		"{\"VulnerabilityID\":\"CVE-2\",\"PkgName\":\"apt\",\"InstalledVersion\":\"2.6.1\",\"Severity\":\"LOW\","
		"\"Layer\":{\"Digest\":\"sha256:l2\"}}]},"
		"{\"Target\":\"etc/key.pem\",\"Class\":\"secret\",\"Secrets\":[{\"RuleID\":\"private-key\",\"Severity\":\"HIGH\","
		"\"StartLine\":3,\"Layer\":{\"Digest\":\"sha256:l1\"}}]}],\"WharfScan\":{\"ScannedAt\":1700000000}}";
	struct wharf_scan_result r = {0};
	assert_wharf_ok(wharf_scand_report_read(report, strlen(report), &r, &err), err);
	assert_int_equal(r.findings.n, 2);
	assert_int_equal(r.pkgs.n, 2);
	assert_string_equal(r.findings.v[0].fixed, "2.3.1-4");
	assert_string_equal(r.findings.v[0].status, "fixed");
	assert_null(r.findings.v[1].fixed);
	assert_string_equal(r.findings.v[1].status, "affected");
	assert_string_equal(r.pkgs.v[r.findings.v[0].pkg].ecosystem, WHARF_ECO_DEBIAN);
	assert_int_equal(r.nlayers, 2);
	assert_int_equal(r.pkgs.v[1].layer, 1);
	assert_int_equal(r.secrets.n, 1);
	assert_string_equal(r.secrets.v[0].path, "etc/key.pem");
	assert_int_equal(r.secrets.v[0].line, 3);
	assert_int_equal(r.secrets.v[0].layer, 0);
	assert_string_equal(r.os.id, "debian");
	assert_int_equal(r.created, 1700000000);
	wharf_scan_result_free(&r);
	static const char *const bad[][2] = {
		{"{\"Results\":[]}", "no SchemaVersion"},
		{"{\"SchemaVersion\":2,\"Results\":{}}", "Results is not an array"},
		{"{\"SchemaVersion\":2,\"Results\":[{\"Target\":\"t\",\"Vulnerabilities\":[{\"PkgName\":\"x\"}]}]}",
		 "t: Vulnerabilities[0] lacks VulnerabilityID"},
		{"{\"SchemaVersion\":2,\"Results\":[7]}", "Results[0] is not an object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wharf_scan_result rb = {0};
		assert_wharf_err(wharf_scand_report_read(bad[i][0], strlen(bad[i][0]), &rb, &err), err, WHARF_EINVAL);
		assert_contains(err.message, bad[i][1]);
		wharf_scan_result_free(&rb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_scan_packages_only), cmocka_unit_test(t_survives_crash),
		cmocka_unit_test(t_workers),
		cmocka_unit_test(t_crash_loop_fails_job), cmocka_unit_test(t_rescan_on_generation),
		cmocka_unit_test(t_artifact_fails),     cmocka_unit_test(t_policy),
		cmocka_unit_test(t_policy_errors),      cmocka_unit_test(t_report_filter),
		cmocka_unit_test(t_report_read),
	};
	return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
