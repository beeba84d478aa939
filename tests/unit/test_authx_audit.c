/* authx audit log: the hash chain survives restarts and breaks where the file was tampered with. */
#include <fcntl.h>
#include <pthread.h>

#include <jansson.h>

#include "wharf/authx.h"
#include "wharf/digest.h"
#include "wharf/json.h"
#include "wharf_test.h"

static char *write_log(int n)
{
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/audit.log", dir);
	free(dir);
	struct wharf_error err;
	struct wharf_audit *a;
	assert_wharf_ok(wharf_audit_open(&a, path, &err), err);
	for (int i = 1; i <= n; i++)
		assert_wharf_ok(wharf_audit_append(a, json_pack("{s:s,s:i,s:s}", "type", "push", "n", i, "note",
								   "line\nbreak \"q\" \xc3\xa9"), &err), err);
	wharf_audit_close(a);
	return path;
}

static char **read_lines(const char *path, size_t *n)
{
	char *data;
	size_t len;
	struct wharf_error err;
	assert_wharf_ok(wharf_read_file(path, 1 << 20, &data, &len, &err), err);
	char **v = NULL;
	*n = 0;
	for (char *save = NULL, *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		v = wharf_xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = wharf_xasprintf("%s\n", l);
	}
	free(data);
	return v;
}

static void write_lines(const char *path, char **v, size_t n)
{
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < n; i++)
		fputs(v[i], f);
	fclose(f);
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void expect_broken_at(const char *path, int64_t seq, size_t good, const char *why)
{
	struct wharf_error err;
	size_t records, line;
	int64_t bad_seq;
	assert_wharf_err(wharf_audit_verify_at(path, &records, &line, &bad_seq, &err), err, WHARF_EDIGEST);
	assert_int_equal(records, good);
	assert_int_equal(bad_seq, seq);
	assert_contains(err.message, why);
}

static void chain_verifies_and_resumes_after_reopen(void **state)
{
	(void)state;
	char *path = write_log(3);
	struct wharf_error err;
	struct wharf_audit *a;
	assert_wharf_ok(wharf_audit_open(&a, path, &err), err);
	assert_wharf_ok(wharf_audit_append(a, json_pack("{s:s}", "type", "login"), &err), err);
	wharf_audit_close(a);
	size_t records;
	assert_wharf_ok(wharf_audit_verify(path, &records, &err), err);
	assert_int_equal(records, 4);
	size_t n;
	char **v = read_lines(path, &n);
	assert_int_equal(n, 4);
	assert_contains(v[3], "\"seq\":4");
	assert_contains(v[0], "\"prev\":\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"");
	assert_contains(v[0], "line\\nbreak"); /* escaped: one record stays one line */
	free_lines(v, n);
	free(path);
}

static void modified_record_is_found(void **state)
{
	(void)state;
	char *path = write_log(5);
	size_t n;
	char **v = read_lines(path, &n);
	char *p = strstr(v[2], "\"push\"");
	memcpy(p, "\"pull\"", 6);
	write_lines(path, v, n);
	expect_broken_at(path, 3, 2, "modified");
	free_lines(v, n);
	free(path);
}

static void deleted_record_is_found(void **state)
{
	(void)state;
	char *path = write_log(5);
	size_t n;
	char **v = read_lines(path, &n);
	free(v[1]);
	memmove(v + 1, v + 2, (n - 2) * sizeof(*v));
	write_lines(path, v, n - 1);
	expect_broken_at(path, 3, 1, "deleted or reordered");
	free_lines(v, n - 1);
	free(path);
}

static void reordered_records_are_found(void **state)
{
	(void)state;
	char *path = write_log(5);
	size_t n;
	char **v = read_lines(path, &n);
	char *t = v[3];
	v[3] = v[2];
	v[2] = t;
	write_lines(path, v, n);
	expect_broken_at(path, 4, 2, "deleted or reordered");
	free_lines(v, n);
	free(path);
}

static void truncated_record_is_found_and_refuses_open(void **state)
{
	(void)state;
	char *path = write_log(4);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 10), 0);
	expect_broken_at(path, 4, 3, "truncated");
	struct wharf_error err;
	struct wharf_audit *a;
	assert_wharf_err(wharf_audit_open(&a, path, &err), err, WHARF_EDIGEST);
	assert_null(a);
	free(path);
}

static void rehashed_forgery_breaks_the_next_link(void **state)
{
	(void)state;
	/* An attacker who edits record 2 and recomputes its hash still breaks record 3's prev. */
	char *path = write_log(3);
	size_t n;
	char **v = read_lines(path, &n);
	json_t *rec = json_loads(v[1], 0, NULL);
	json_object_set_new(rec, "type", json_string("pull"));
	json_object_del(rec, "hash");
	struct wharf_buf b;
	wharf_buf_init(&b);
	struct wharf_error err;
	assert_wharf_ok(wharf_json_canonical(rec, WHARF_CANON_OLPC, &b, &err), err);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, b.data, b.len, &d);
	wharf_buf_free(&b);
	json_object_set_new(rec, "hash", json_string(d.str));
	free(v[1]);
	char *line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	v[1] = wharf_xasprintf("%s\n", line);
	free(line);
	write_lines(path, v, n);
	expect_broken_at(path, 3, 2, "prev does not match");
	json_decref(rec);
	free_lines(v, n);
	free(path);
}

static void reserved_keys_and_non_objects_are_refused(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/a.log", dir);
	struct wharf_error err;
	struct wharf_audit *a;
	assert_wharf_ok(wharf_audit_open(&a, path, &err), err);
	assert_wharf_err(wharf_audit_append(a, json_pack("{s:i}", "seq", 9), &err), err, WHARF_EINVAL);
	assert_contains(err.message, "reserved");
	assert_wharf_err(wharf_audit_append(a, json_string("x"), &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_audit_append(a, json_pack("{s:f}", "x", 1.5), &err), err, WHARF_EINVAL);
	assert_wharf_ok(wharf_audit_append(a, json_pack("{s:s}", "type", "ok"), &err), err);
	wharf_audit_close(a);
	size_t records;
	assert_wharf_ok(wharf_audit_verify(path, &records, &err), err);
	assert_int_equal(records, 1);
	free(path);
	free(dir);
}

static struct wharf_audit *shared_log;

static void *append_many(void *arg)
{
	struct wharf_error err;
	for (int i = 0; i < 50; i++)
		if (wharf_audit_append(shared_log, json_pack("{s:s,s:i}", "type", "authz", "i", i), &err) < 0)
			return arg;
	return NULL;
}

static void concurrent_appends_keep_one_chain(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/c.log", dir);
	struct wharf_error err;
	assert_wharf_ok(wharf_audit_open(&shared_log, path, &err), err);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, append_many, &err);
	for (int i = 0; i < 8; i++) {
		void *failed;
		pthread_join(t[i], &failed);
		assert_null(failed);
	}
	wharf_audit_close(shared_log);
	size_t records;
	assert_wharf_ok(wharf_audit_verify(path, &records, &err), err);
	assert_int_equal(records, 400);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chain_verifies_and_resumes_after_reopen),
		cmocka_unit_test(modified_record_is_found),
		cmocka_unit_test(deleted_record_is_found),
		cmocka_unit_test(reordered_records_are_found),
		cmocka_unit_test(truncated_record_is_found_and_refuses_open),
		cmocka_unit_test(rehashed_forgery_breaks_the_next_link),
		cmocka_unit_test(reserved_keys_and_non_objects_are_refused),
		cmocka_unit_test(concurrent_appends_keep_one_chain),
	};
	return cmocka_run_group_tests_name("authx_audit", tests, test_group_setup, test_group_teardown);
}
