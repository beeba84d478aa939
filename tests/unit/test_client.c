/* The client's content store: an OCI image layout that keeps only verified bytes. */
#include "wharf_test.h"

#include "wharf/client.h"

static char *read_all(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	struct wharf_error err;
	if (wharf_read_file(path, 1 << 20, &data, &len, &err) < 0)
		return NULL;
	return data;
}

static void test_store_layout_and_put(void **state)
{
	(void)state;
	char *dir = test_mkdtemp();
	char *root = wharf_xasprintf("%s/content", dir);
	struct wharf_content_store *cs = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_content_store_open(&cs, root, &err), err);
	char *layout = wharf_xasprintf("%s/oci-layout", root);
	char *text = read_all(layout);
	assert_contains(text, "\"imageLayoutVersion\":\"1.0.0\"");
	free(text);

	struct wharf_digest d, other;
	wharf_digest_buffer(WHARF_SHA256, "hello", 5, &d);
	wharf_digest_buffer(WHARF_SHA256, "world", 5, &other);
	assert_false(wharf_content_store_has(cs, &d, 5));
	assert_wharf_ok(wharf_content_store_put(cs, &d, "hello", 5, &err), err);
	assert_true(wharf_content_store_has(cs, &d, 5));
	assert_false(wharf_content_store_has(cs, &d, 4));
	/* Bytes that do not hash to the digest are refused and not stored. */
	assert_wharf_err(wharf_content_store_put(cs, &other, "hellO", 5, &err), err, WHARF_EDIGEST);
	assert_contains(err.message, other.str);
	assert_false(wharf_content_store_has(cs, &other, 5));
	char *path = wharf_content_store_blob_path(cs, &d);
	assert_true(wharf_str_has_suffix(path, wharf_digest_hex(&d)));
	free(path);
	free(layout);
	wharf_content_store_free(cs);
	test_rmtree(dir);
	free(root);
}

static void test_store_index(void **state)
{
	(void)state;
	char *dir = test_mkdtemp();
	struct wharf_content_store *cs = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_content_store_open(&cs, dir, &err), err);
	struct wharf_digest a, b, got;
	wharf_digest_buffer(WHARF_SHA256, "a", 1, &a);
	wharf_digest_buffer(WHARF_SHA256, "b", 1, &b);
	assert_wharf_err(wharf_content_store_lookup(cs, "h:1/r:t", &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_ok(wharf_content_store_tag(cs, "h:1/r:t", WHARF_MT_OCI_MANIFEST, &a, 1, &err), err);
	assert_wharf_ok(wharf_content_store_tag(cs, "h:1/r:u", WHARF_MT_OCI_MANIFEST, &a, 1, &err), err);
	/* The same name again replaces its entry; others stay. */
	assert_wharf_ok(wharf_content_store_tag(cs, "h:1/r:t", WHARF_MT_OCI_MANIFEST, &b, 1, &err), err);
	assert_wharf_ok(wharf_content_store_lookup(cs, "h:1/r:t", &got, &err), err);
	assert_true(wharf_digest_equal(&got, &b));
	assert_wharf_ok(wharf_content_store_lookup(cs, "h:1/r:u", &got, &err), err);
	assert_true(wharf_digest_equal(&got, &a));
	char *index = wharf_xasprintf("%s/index.json", dir);
	char *text = read_all(index);
	assert_contains(text, "org.opencontainers.image.ref.name");
	assert_contains(text, WHARF_MT_OCI_INDEX);
	free(text);
	/* A damaged index.json is reported, not overwritten. */
	test_write_file(index, "[1,2", 4);
	assert_wharf_err(wharf_content_store_tag(cs, "h:1/r:t", WHARF_MT_OCI_MANIFEST, &a, 1, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "index.json");
	text = read_all(index);
	assert_string_equal(text, "[1,2");
	free(text);
	free(index);
	wharf_content_store_free(cs);
	test_rmtree(dir);
}

static void test_fetch_failure_leaves_nothing(void **state)
{
	(void)state;
	char *dir = test_mkdtemp();
	struct wharf_content_store *cs = NULL;
	struct wharf_error err;
	assert_wharf_ok(wharf_content_store_open(&cs, dir, &err), err);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "x", 1, &d);
	bool fetched = true;
	/* Port 1 on loopback: connection refused. */
	int r = wharf_content_store_fetch(cs, "http://127.0.0.1:1", "r", &d, 1, NULL, NULL, &fetched, &err);
	assert_wharf_err(r, err, WHARF_EIO);
	assert_false(fetched);
	assert_false(wharf_content_store_has(cs, &d, 1));
	char *ingest = wharf_xasprintf("%s/ingest", dir);
	assert_int_equal(test_count_entries(ingest), 0);
	free(ingest);
	/* A blob already present is not fetched at all. */
	assert_wharf_ok(wharf_content_store_put(cs, &d, "x", 1, &err), err);
	assert_wharf_ok(wharf_content_store_fetch(cs, "http://127.0.0.1:1", "r", &d, 1, NULL, NULL, &fetched, &err), err);
	assert_false(fetched);
	wharf_content_store_free(cs);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_layout_and_put),
		cmocka_unit_test(test_store_index),
		cmocka_unit_test(test_fetch_failure_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
