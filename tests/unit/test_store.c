/* store: content-addressed blob files and upload files under one root directory. */
#include <errno.h>
#include <fcntl.h>

#include "wharf_test.h"
#include "wharf/store.h"

struct ctx {
	char *root;
	struct wharf_store *store;
};

static int setup(void **state)
{
	struct ctx *c = wharf_xcalloc(1, sizeof(*c));
	char *tmp = test_mkdtemp();
	/* A root that does not exist yet, two levels down: open must create it. */
	c->root = wharf_xasprintf("%s/data/store", tmp);
	free(tmp);
	struct wharf_error err = {0};
	int r = wharf_store_open(&c->store, c->root, &err);
	if (r < 0)
		fail_msg("wharf_store_open(%s): %s", c->root, err.message);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	wharf_store_close(c->store);
	/* Remove the mkdtemp directory, two levels above the root. */
	char *top = wharf_xstrdup(c->root);
	*strrchr(top, '/') = '\0';
	*strrchr(top, '/') = '\0';
	test_rmtree(top);
	free(c->root);
	free(c);
	return 0;
}

static char *read_fd_all(int fd, uint64_t size)
{
	char *buf = wharf_xmalloc(size + 1);
	uint64_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
		if (n <= 0)
			fail_msg("short read at %llu of %llu", (unsigned long long)got, (unsigned long long)size);
		got += (uint64_t)n;
	}
	buf[size] = '\0';
	return buf;
}

/* The blob d reads back as exactly data. */
static void expect_blob(struct wharf_store *s, const struct wharf_digest *d, const void *data, size_t len)
{
	struct wharf_error err = {0};
	int fd = -1;
	uint64_t size = 0;
	assert_true(wharf_store_blob_exists(s, d));
	assert_wharf_ok(wharf_store_blob_open(s, d, &fd, &size, &err), err);
	assert_int_equal(size, len);
	char *got = read_fd_all(fd, size);
	assert_memory_equal(got, data, len);
	/* And its content really has that digest. */
	struct wharf_digest check;
	assert_wharf_ok(wharf_digest_fd(d->alg, fd, size, &check, &err), err);
	assert_string_equal(check.str, d->str);
	free(got);
	close(fd);
}

static void open_creates_layout(void **state)
{
	struct ctx *c = *state;
	static const char *const dirs[] = {"blobs/sha256", "blobs/sha512", "uploads"};
	for (size_t i = 0; i < 3; i++) {
		char *p = wharf_xasprintf("%s/%s", c->root, dirs[i]);
		struct stat st;
		if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
			fail_msg("%s is not a directory after wharf_store_open", p);
		free(p);
	}
	/* Opening an existing store again works and sees the same blobs. */
	struct wharf_error err = {0};
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "persist", 7, &d);
	assert_wharf_ok(wharf_store_put(c->store, &d, "persist", 7, &err), err);
	struct wharf_store *again = NULL;
	assert_wharf_ok(wharf_store_open(&again, c->root, &err), err);
	expect_blob(again, &d, "persist", 7);
	wharf_store_close(again);
}

static void open_fails_under_a_file(void **state)
{
	struct ctx *c = *state;
	char *file = wharf_xasprintf("%s/not-a-dir", c->root);
	test_write_file(file, "x", 1);
	char *root = wharf_xasprintf("%s/store", file);
	struct wharf_error err = {0};
	struct wharf_store *s = NULL;
	int r = wharf_store_open(&s, root, &err);
	assert_true(r < 0);
	assert_int_equal(err.code, -r);
	assert_null(s);
	assert_contains(err.message, file);
	free(root);
	free(file);
}

static void upload_commit_makes_blob_readable(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	char id[33];
	assert_wharf_ok(wharf_store_upload_create(c->store, id, &err), err);
	assert_true(wharf_store_valid_upload_id(id));

	int fd = -1;
	uint64_t size = 99;
	assert_wharf_ok(wharf_store_upload_open(c->store, id, &fd, &size, &err), err);
	assert_int_equal(size, 0);
	const char data[] = "layer bytes, streamed in two chunks";
	size_t half = 10;
	assert_int_equal(wharf_pwrite_all(fd, data, half, 0), 0);
	close(fd);
	/* Reopened, the upload reports how far it got. */
	assert_wharf_ok(wharf_store_upload_open(c->store, id, &fd, &size, &err), err);
	assert_int_equal(size, half);
	assert_int_equal(wharf_pwrite_all(fd, data + half, sizeof(data) - half, (off_t)half), 0);

	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, data, sizeof(data), &d);
	assert_false(wharf_store_blob_exists(c->store, &d));
	assert_wharf_ok(wharf_store_upload_commit(c->store, id, fd, sizeof(data), &d, &err), err);
	close(fd);
	expect_blob(c->store, &d, data, sizeof(data));

	/* The blob sits at blobs/<alg>/<2 hex>/<hex>, and the upload is gone. */
	const char *hex = wharf_digest_hex(&d);
	char *path = wharf_xasprintf("%s/blobs/sha256/%c%c/%s", c->root, hex[0], hex[1], hex);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	free(path);
	assert_wharf_err(wharf_store_upload_open(c->store, id, &fd, &size, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, id);
}

static void upload_commit_truncates_to_len(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	char id[33];
	assert_wharf_ok(wharf_store_upload_create(c->store, id, &err), err);
	int fd;
	uint64_t size;
	assert_wharf_ok(wharf_store_upload_open(c->store, id, &fd, &size, &err), err);
	/* A chunk whose tail was refused: only the first 5 bytes belong to the blob. */
	assert_int_equal(wharf_write_all(fd, "12345-rejected-tail", 19), 0);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA512, "12345", 5, &d);
	assert_wharf_ok(wharf_store_upload_commit(c->store, id, fd, 5, &d, &err), err);
	close(fd);
	expect_blob(c->store, &d, "12345", 5);
}

static void commit_twice_is_idempotent(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	const char data[] = "same content pushed twice";
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, data, sizeof(data), &d);
	char *uploads = wharf_xasprintf("%s/uploads", c->root);

	for (int round = 0; round < 2; round++) {
		char id[33];
		int fd;
		uint64_t size;
		assert_wharf_ok(wharf_store_upload_create(c->store, id, &err), err);
		assert_wharf_ok(wharf_store_upload_open(c->store, id, &fd, &size, &err), err);
		assert_int_equal(wharf_write_all(fd, data, sizeof(data)), 0);
		assert_wharf_ok(wharf_store_upload_commit(c->store, id, fd, sizeof(data), &d, &err), err);
		/* Committing the same upload again (a retried request) also succeeds. */
		assert_wharf_ok(wharf_store_upload_commit(c->store, id, fd, sizeof(data), &d, &err), err);
		close(fd);
		expect_blob(c->store, &d, data, sizeof(data));
		/* No upload file is left behind either time. */
		assert_int_equal(test_count_entries(uploads), 0);
	}
	free(uploads);
}

static void invalid_upload_ids_rejected(void **state)
{
	struct ctx *c = *state;
	static const char *const bad[] = {
		"", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
		"0123456789ABCDEF0123456789ABCDEF", "../../../../etc/passwd", "0123456789abcdef/123456789abcdef",
		"0123456789abcdef0123456789abcdeg", "..",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_false(wharf_store_valid_upload_id(bad[i]));
		struct wharf_error err = {0};
		int fd = -1;
		uint64_t size;
		int r = wharf_store_upload_open(c->store, bad[i], &fd, &size, &err);
		if (r != -WHARF_EINVAL)
			fail_msg("upload id '%s' should be rejected, got %d", bad[i], r);
		assert_int_equal(fd, -1);
		assert_int_equal(wharf_store_upload_remove(c->store, bad[i]), -WHARF_EINVAL);
	}
	/* Well formed but unknown. */
	struct wharf_error err = {0};
	int fd;
	uint64_t size;
	assert_wharf_err(wharf_store_upload_open(c->store, "0123456789abcdef0123456789abcdef", &fd, &size, &err),
			 err, WHARF_ENOTFOUND);
	assert_int_equal(wharf_store_upload_remove(c->store, "0123456789abcdef0123456789abcdef"), 0);
}

static void commit_rejects_invalid_upload_id(void **state)
{
	struct ctx *c = *state;
	/* A file outside uploads/ that a crafted id could reach. */
	char *victim = wharf_xasprintf("%s/victim", c->root);
	test_write_file(victim, "secret", 6);
	int fd = open(victim, O_RDWR);
	assert_true(fd >= 0);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "secret", 6, &d);
	struct wharf_error err = {0};
	int r = wharf_store_upload_commit(c->store, "../victim", fd, 6, &d, &err);
	close(fd);
	struct stat st;
	bool victim_still_there = stat(victim, &st) == 0;
	bool blob_made = wharf_store_blob_exists(c->store, &d);
	free(victim);
	if (r != -WHARF_EINVAL || !victim_still_there || blob_made)
		fail_msg("commit of upload id '../victim' returned %d; victim file %s; blob %s", r,
			 victim_still_there ? "kept" : "moved away", blob_made ? "created" : "not created");
}

static void store_put_small_content(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	const char manifest[] = "{\"schemaVersion\":2}";
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, manifest, strlen(manifest), &d);
	assert_wharf_ok(wharf_store_put(c->store, &d, manifest, strlen(manifest), &err), err);
	expect_blob(c->store, &d, manifest, strlen(manifest));
	/* Again: same digest, same bytes, nothing to do. */
	assert_wharf_ok(wharf_store_put(c->store, &d, manifest, strlen(manifest), &err), err);
	expect_blob(c->store, &d, manifest, strlen(manifest));

	struct wharf_digest d512;
	wharf_digest_buffer(WHARF_SHA512, manifest, strlen(manifest), &d512);
	assert_wharf_ok(wharf_store_put(c->store, &d512, manifest, strlen(manifest), &err), err);
	expect_blob(c->store, &d512, manifest, strlen(manifest));
	/* Empty content is a blob too. */
	struct wharf_digest empty;
	wharf_digest_buffer(WHARF_SHA256, "", 0, &empty);
	assert_wharf_ok(wharf_store_put(c->store, &empty, "", 0, &err), err);
	expect_blob(c->store, &empty, "", 0);
}

static void blob_open_missing_is_not_found(void **state)
{
	struct ctx *c = *state;
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "never stored", 12, &d);
	struct wharf_error err = {0};
	int fd = -1;
	uint64_t size;
	assert_false(wharf_store_blob_exists(c->store, &d));
	assert_wharf_err(wharf_store_blob_open(c->store, &d, &fd, &size, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, d.str);
	assert_int_equal(fd, -1);
}

static void blob_open_refuses_symlink(void **state)
{
	struct ctx *c = *state;
	/* Someone plants a symlink where a blob would be: it must not be served. */
	char *target = wharf_xasprintf("%s/outside", c->root);
	test_write_file(target, "not a blob", 10);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "not a blob", 10, &d);
	const char *hex = wharf_digest_hex(&d);
	char *dir = wharf_xasprintf("%s/blobs/sha256/%c%c", c->root, hex[0], hex[1]);
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_mkdir_p(dir, 0755, &err), err);
	char *link = wharf_xasprintf("%s/%s", dir, hex);
	assert_int_equal(symlink(target, link), 0);
	int fd = -1;
	uint64_t size;
	int r = wharf_store_blob_open(c->store, &d, &fd, &size, &err);
	assert_true(r < 0);
	assert_int_equal(fd, -1);
	free(link);
	free(dir);
	free(target);
}

struct seen {
	struct wharf_strv names;
};

static void on_blob(void *ctx, const struct wharf_digest *d, int64_t mtime)
{
	struct seen *s = ctx;
	assert_true(mtime > 0);
	wharf_strv_push(&s->names, d->str);
}

static void on_upload(void *ctx, const char *id, int64_t mtime)
{
	struct seen *s = ctx;
	assert_true(mtime > 0);
	wharf_strv_push(&s->names, id);
}

static bool strv_has(const struct wharf_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static void foreach_sees_what_exists(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest d[4];
	const char *contents[] = {"one", "two", "three", "four"};
	for (int i = 0; i < 4; i++) {
		wharf_digest_buffer(i == 3 ? WHARF_SHA512 : WHARF_SHA256, contents[i], strlen(contents[i]), &d[i]);
		assert_wharf_ok(wharf_store_put(c->store, &d[i], contents[i], strlen(contents[i]), &err), err);
	}
	char id1[33], id2[33];
	assert_wharf_ok(wharf_store_upload_create(c->store, id1, &err), err);
	assert_wharf_ok(wharf_store_upload_create(c->store, id2, &err), err);
	assert_string_not_equal(id1, id2);
	/* Stray files are not blobs or uploads. */
	const char *hex = wharf_digest_hex(&d[0]);
	char *stray = wharf_xasprintf("%s/blobs/sha256/%c%c/%s.tmp-0123", c->root, hex[0], hex[1], hex);
	test_write_file(stray, "x", 1);
	char *junk = wharf_xasprintf("%s/uploads/README", c->root);
	test_write_file(junk, "x", 1);

	struct seen blobs = {{0}};
	assert_wharf_ok(wharf_store_foreach_blob(c->store, on_blob, &blobs, &err), err);
	assert_int_equal(blobs.names.n, 4);
	for (int i = 0; i < 4; i++)
		if (!strv_has(&blobs.names, d[i].str))
			fail_msg("foreach_blob missed %s", d[i].str);

	struct seen ups = {{0}};
	assert_wharf_ok(wharf_store_foreach_upload(c->store, on_upload, &ups, &err), err);
	assert_int_equal(ups.names.n, 2);
	assert_true(strv_has(&ups.names, id1));
	assert_true(strv_has(&ups.names, id2));

	/* After removal, the walks no longer report them. */
	assert_wharf_ok(wharf_store_blob_remove(c->store, &d[1], &err), err);
	assert_int_equal(wharf_store_upload_remove(c->store, id1), 0);
	wharf_strv_free(&blobs.names);
	wharf_strv_free(&ups.names);
	assert_wharf_ok(wharf_store_foreach_blob(c->store, on_blob, &blobs, &err), err);
	assert_int_equal(blobs.names.n, 3);
	assert_false(strv_has(&blobs.names, d[1].str));
	assert_wharf_ok(wharf_store_foreach_upload(c->store, on_upload, &ups, &err), err);
	assert_int_equal(ups.names.n, 1);
	assert_true(strv_has(&ups.names, id2));

	wharf_strv_free(&blobs.names);
	wharf_strv_free(&ups.names);
	free(stray);
	free(junk);
}

static void blob_remove_makes_it_unreadable(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest d, other;
	wharf_digest_buffer(WHARF_SHA256, "doomed", 6, &d);
	wharf_digest_buffer(WHARF_SHA256, "kept", 4, &other);
	assert_wharf_ok(wharf_store_put(c->store, &d, "doomed", 6, &err), err);
	assert_wharf_ok(wharf_store_put(c->store, &other, "kept", 4, &err), err);
	assert_wharf_ok(wharf_store_blob_remove(c->store, &d, &err), err);
	assert_false(wharf_store_blob_exists(c->store, &d));
	int fd;
	uint64_t size;
	assert_wharf_err(wharf_store_blob_open(c->store, &d, &fd, &size, &err), err, WHARF_ENOTFOUND);
	/* Removing what is already gone is not an error; other blobs are untouched. */
	assert_wharf_ok(wharf_store_blob_remove(c->store, &d, &err), err);
	expect_blob(c->store, &other, "kept", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(open_creates_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(open_fails_under_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(upload_commit_makes_blob_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(upload_commit_truncates_to_len, setup, teardown),
		cmocka_unit_test_setup_teardown(commit_twice_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_upload_ids_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(commit_rejects_invalid_upload_id, setup, teardown),
		cmocka_unit_test_setup_teardown(store_put_small_content, setup, teardown),
		cmocka_unit_test_setup_teardown(blob_open_missing_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(blob_open_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(foreach_sees_what_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(blob_remove_makes_it_unreadable, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
