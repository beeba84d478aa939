/* util: buffers, string lists, number/duration/size parsing, URL escaping, files, errors. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>

#include <jansson.h>

#include "wharf_test.h"

/* ---- wharf_buf ---------------------------------------------------------------------------- */

static void buf_append_keeps_bytes_and_terminates(void **state)
{
	(void)state;
	struct wharf_buf b;
	wharf_buf_init(&b);
	/* Enough data to force several reallocations, with an embedded NUL. */
	char chunk[100];
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)(i % 7 == 3 ? 0 : 'a' + i % 26);
	for (int k = 0; k < 50; k++)
		wharf_buf_append(&b, chunk, sizeof(chunk));
	assert_int_equal(b.len, 50 * sizeof(chunk));
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	for (int k = 0; k < 50; k++)
		assert_memory_equal(b.data + k * sizeof(chunk), chunk, sizeof(chunk));
	wharf_buf_append(&b, "", 0);
	assert_int_equal(b.len, 50 * sizeof(chunk));
	wharf_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void buf_printf_formats_like_snprintf(void **state)
{
	(void)state;
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "x=");
	char big[300];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	wharf_buf_printf(&b, "%d/%s/%" PRIu64 "/%s", -42, "mid", UINT64_MAX, big);
	char expect[400];
	snprintf(expect, sizeof(expect), "x=%d/%s/%" PRIu64 "/%s", -42, "mid", UINT64_MAX, big);
	assert_string_equal(b.data, expect);
	assert_int_equal(b.len, strlen(expect));
	wharf_buf_free(&b);
}

static void buf_sink_caps_and_resets(void **state)
{
	(void)state;
	struct wharf_buf b;
	wharf_buf_init(&b);
	struct wharf_buf_sink sink = {.out = &b, .limit = 10};
	char data[] = "0123456789abc";
	assert_int_equal(wharf_buf_sink_write_cb(data, 1, 6, &sink), 6);
	assert_int_equal(wharf_buf_sink_write_cb(data + 6, 2, 2, &sink), 4); /* exactly the limit */
	assert_false(sink.too_big);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(wharf_buf_sink_write_cb(data + 10, 1, 1, &sink), 0); /* one byte over: stop */
	assert_true(sink.too_big);
	assert_int_equal(b.len, 10);
	wharf_buf_sink_reset_cb(&sink);
	assert_false(sink.too_big);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(wharf_buf_write_cb(data, 1, 13, &b), 13); /* uncapped */
	assert_string_equal(b.data, data);
	wharf_buf_reset_cb(&b);
	assert_int_equal(b.len, 0);
	wharf_buf_free(&b);
}

static void buf_steal_hands_over_and_empties(void **state)
{
	(void)state;
	struct wharf_buf b;
	wharf_buf_init(&b);
	char *empty = wharf_buf_steal(&b);
	assert_non_null(empty);
	assert_string_equal(empty, "");
	free(empty);

	wharf_buf_puts(&b, "hello");
	char *s = wharf_buf_steal(&b);
	assert_string_equal(s, "hello");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
}

/* The JSON string the buffer writes must decode back to the very input. */
static void check_json_roundtrip(const char *input)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "[");
	wharf_buf_json_string(&b, input);
	wharf_buf_puts(&b, "]");
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20)
			fail_msg("raw control byte 0x%02x in JSON output %s", (unsigned char)b.data[i], b.data);
	json_error_t jerr;
	json_t *v = json_loads(b.data, 0, &jerr);
	if (!v)
		fail_msg("output %s is not JSON: %s", b.data, jerr.text);
	assert_true(json_is_array(v));
	assert_string_equal(json_string_value(json_array_get(v, 0)), input);
	json_decref(v);
	wharf_buf_free(&b);
}

static void buf_json_string_escapes_quotes_and_controls(void **state)
{
	(void)state;
	check_json_roundtrip("plain");
	check_json_roundtrip("");
	check_json_roundtrip("say \"hi\"");
	check_json_roundtrip("back\\slash");
	check_json_roundtrip("tab\tnl\ncr\r");
	check_json_roundtrip("\x01\x02\x1f\x7f bell\a");
	check_json_roundtrip("caf\xc3\xa9 \xe2\x9c\x93"); /* UTF-8 passes through */

	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_json_string(&b, "a\"b\x01");
	assert_string_equal(b.data, "\"a\\\"b\\u0001\"");
	wharf_buf_free(&b);
}

/* ---- wharf_strv --------------------------------------------------------------------------- */

static void strv_push_copies_and_owns(void **state)
{
	(void)state;
	struct wharf_strv sv = {0};
	char word[8] = "first";
	wharf_strv_push(&sv, word);
	strcpy(word, "xxxxx"); /* the list holds its own copy */
	wharf_strv_push_owned(&sv, wharf_xstrdup("second"));
	for (int i = 0; i < 100; i++) {
		char n[16];
		snprintf(n, sizeof(n), "n%d", i);
		wharf_strv_push(&sv, n);
	}
	assert_int_equal(sv.n, 102);
	assert_string_equal(sv.v[0], "first");
	assert_string_equal(sv.v[1], "second");
	assert_string_equal(sv.v[101], "n99");
	wharf_strv_free(&sv);
	assert_null(sv.v);
	assert_int_equal(sv.n, 0);
	wharf_strv_free(&sv); /* freeing an empty list is harmless */
}

/* ---- numbers, durations, sizes ------------------------------------------------------------ */

static bool parse_u64_str(const char *s, uint64_t *out)
{
	return wharf_parse_u64(s, strlen(s), out);
}

static void parse_u64_accepts_full_range(void **state)
{
	(void)state;
	uint64_t v = 1;
	assert_true(parse_u64_str("0", &v));
	assert_int_equal(v, 0);
	assert_true(parse_u64_str("12345", &v));
	assert_int_equal(v, 12345);
	char max[32];
	snprintf(max, sizeof(max), "%" PRIu64, UINT64_MAX);
	assert_true(parse_u64_str(max, &v));
	assert_true(v == UINT64_MAX);
	/* only the first len bytes count */
	assert_true(wharf_parse_u64("42junk", 2, &v));
	assert_int_equal(v, 42);
}

static void parse_u64_rejects_overflow_junk_and_empty(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_false(parse_u64_str("18446744073709551616", &v));  /* 2^64 */
	assert_false(parse_u64_str("18446744073709551620", &v));
	assert_false(parse_u64_str("99999999999999999999", &v));
	assert_false(parse_u64_str("184467440737095516150", &v)); /* 21 digits */
	assert_false(parse_u64_str("", &v));
	assert_false(parse_u64_str("-1", &v));
	assert_false(parse_u64_str("+1", &v));
	assert_false(parse_u64_str(" 1", &v));
	assert_false(parse_u64_str("1 ", &v));
	assert_false(parse_u64_str("0x10", &v));
	assert_false(parse_u64_str("1e3", &v));
	assert_int_equal(v, 7); /* untouched on failure */
}

static void parse_u64_leading_zeros_are_not_overflow(void **state)
{
	(void)state;
	/* The contract: false only on overflow or junk. 25 characters, value 5. */
	uint64_t v = 0;
	assert_true(parse_u64_str("0000000000000000000000005", &v));
	assert_int_equal(v, 5);
}

static void parse_duration_units(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	static const struct {
		const char *in;
		int64_t secs;
	} cases[] = {
		{"0", 0}, {"90", 90}, {"90s", 90}, {"15m", 15 * 60}, {"2h", 2 * 3600}, {"7d", 7 * 86400},
		{"2H", 2 * 3600},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int64_t out = -1;
		assert_wharf_ok(wharf_parse_duration(cases[i].in, &out, &err), err);
		if (out != cases[i].secs)
			fail_msg("duration '%s' gave %" PRId64 ", want %" PRId64, cases[i].in, out, cases[i].secs);
	}
}

static void parse_duration_bad_input_names_it(void **state)
{
	(void)state;
	static const char *const bad[] = {"", "s", "5x", "5ms", "-5m", "1.5h", " 5m", "m5", "5 m"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct wharf_error err = {0};
		int64_t out = 1234;
		int r = wharf_parse_duration(bad[i], &out, &err);
		if (r != -WHARF_EINVAL)
			fail_msg("duration '%s' should be rejected, got %d", bad[i], r);
		assert_int_equal(err.code, WHARF_EINVAL);
		char quoted[32];
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_contains(err.message, quoted);
		assert_int_equal(out, 1234);
	}
	/* A unit the parser does not know is named as a unit problem. */
	struct wharf_error err = {0};
	int64_t out;
	assert_wharf_err(wharf_parse_duration("3w", &out, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "unit");
}

static void parse_duration_overflow_is_rejected(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	int64_t out = 0;
	/* The largest whole number of days that fits int64 seconds, and one more. */
	int64_t max_days = INT64_MAX / 86400;
	char ok[40], over[40];
	snprintf(ok, sizeof(ok), "%" PRId64 "d", max_days);
	snprintf(over, sizeof(over), "%" PRId64 "d", max_days + 1);
	assert_wharf_ok(wharf_parse_duration(ok, &out, &err), err);
	assert_true(out == max_days * 86400);
	assert_wharf_err(wharf_parse_duration(over, &out, &err), err, WHARF_EINVAL);
	assert_contains(err.message, over);
	assert_wharf_err(wharf_parse_duration("99999999999999999999999s", &out, &err), err, WHARF_EINVAL);
}

static void parse_size_units(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	static const struct {
		const char *in;
		uint64_t bytes;
	} cases[] = {
		{"0", 0}, {"4096", 4096}, {"64k", 64 * 1024}, {"64K", 64 * 1024}, {"4M", 4u << 20},
		{"4m", 4u << 20}, {"2G", 2ull << 30}, {"1g", 1ull << 30},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		uint64_t out = 1;
		assert_wharf_ok(wharf_parse_size(cases[i].in, &out, &err), err);
		if (out != cases[i].bytes)
			fail_msg("size '%s' gave %" PRIu64 ", want %" PRIu64, cases[i].in, out, cases[i].bytes);
	}
}

static void parse_size_bad_units_and_overflow(void **state)
{
	(void)state;
	static const char *const bad[] = {"1T", "4b", "k", "", "4 k", "-1k", "4kb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct wharf_error err = {0};
		uint64_t out = 99;
		int r = wharf_parse_size(bad[i], &out, &err);
		if (r != -WHARF_EINVAL)
			fail_msg("size '%s' should be rejected, got %d", bad[i], r);
		char quoted[32];
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_contains(err.message, quoted);
		assert_int_equal(out, 99);
	}
	/* (2^54 - 1) KiB fits in 64 bits; 2^54 KiB is 2^64 bytes and does not. */
	struct wharf_error err = {0};
	uint64_t out = 0;
	char fits[40], over[40];
	snprintf(fits, sizeof(fits), "%" PRIu64 "k", (UINT64_C(1) << 54) - 1);
	snprintf(over, sizeof(over), "%" PRIu64 "k", UINT64_C(1) << 54);
	assert_wharf_ok(wharf_parse_size(fits, &out, &err), err);
	assert_true(out == ((UINT64_C(1) << 54) - 1) * 1024);
	assert_wharf_err(wharf_parse_size(over, &out, &err), err, WHARF_EINVAL);
	assert_contains(err.message, over);
}

/* ---- URL escaping ------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void url_escape_makes_safe_query_values(void **state)
{
	(void)state;
	const char *in = "a b&c=d+e?f#g%h/i:j~k.l-m_n\"<>\xc3\xa9\x01";
	char *out = wharf_url_escape(in);
	/* Nothing that ends or splits a query value survives unescaped. */
	for (const char *p = out; *p; p++) {
		if (strchr(" &=+?#\"<>", *p) || (unsigned char)*p < 0x21 || (unsigned char)*p >= 0x7f)
			fail_msg("'%c' (0x%02x) left unescaped in %s", *p, (unsigned char)*p, out);
	}
	/* Decoding gives the input back. */
	char dec[256];
	size_t n = 0;
	for (const char *p = out; *p; p++) {
		if (*p == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (hi < 0 || lo < 0)
				fail_msg("bad escape in %s", out);
			dec[n++] = (char)(hi * 16 + lo);
			p += 2;
		} else {
			dec[n++] = *p;
		}
	}
	dec[n] = '\0';
	assert_string_equal(dec, in);
	free(out);

	char *plain = wharf_url_escape("library/ubuntu");
	assert_string_equal(plain, "library/ubuntu");
	free(plain);
	char *sp = wharf_url_escape("a b");
	assert_string_equal(sp, "a%20b");
	free(sp);
	char *empty = wharf_url_escape("");
	assert_string_equal(empty, "");
	free(empty);
}

/* ---- files -------------------------------------------------------------------------------- */

static void atomic_write_then_read_back(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/file.json", dir);
	struct wharf_error err = {0};
	const char data[] = "{\"a\": 1}\n\0binary";
	assert_wharf_ok(wharf_atomic_write(path, data, sizeof(data), 0600, &err), err);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	char *got = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_read_file(path, 1 << 20, &got, &len, &err), err);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	assert_int_equal(got[len], '\0');
	free(got);

	/* Overwrite: the new content replaces the old; no temp file is left behind. */
	assert_wharf_ok(wharf_atomic_write(path, "v2", 2, 0644, &err), err);
	assert_wharf_ok(wharf_read_file(path, 1 << 20, &got, &len, &err), err);
	assert_int_equal(len, 2);
	assert_memory_equal(got, "v2", 2);
	free(got);
	assert_int_equal(test_count_entries(dir), 1);

	free(path);
	free(dir);
}

static void atomic_write_into_missing_dir_fails(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/nope/file", dir);
	struct wharf_error err = {0};
	assert_wharf_err(wharf_atomic_write(path, "x", 1, 0644, &err), err, WHARF_EIO);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_contains(err.message, dir);
	free(path);
	free(dir);
}

static void read_file_enforces_limit(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/big", dir);
	/* Larger than one read chunk, so the limit is checked across reads. */
	size_t size = 200000;
	char *data = wharf_xmalloc(size);
	for (size_t i = 0; i < size; i++)
		data[i] = (char)(i * 31);
	test_write_file(path, data, size);

	struct wharf_error err = {0};
	char *got = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_read_file(path, size, &got, &len, &err), err);
	assert_int_equal(len, size);
	assert_memory_equal(got, data, size);
	free(got);

	got = NULL;
	assert_wharf_err(wharf_read_file(path, size - 1, &got, &len, &err), err, WHARF_ETOOBIG);
	assert_null(got);
	assert_contains(err.message, path);

	free(data);
	free(path);
	free(dir);
}

static void read_file_missing_is_not_found(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/absent", dir);
	struct wharf_error err = {0};
	char *got = NULL;
	size_t len = 0;
	assert_wharf_err(wharf_read_file(path, 100, &got, &len, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, path);
	assert_null(got);
	free(path);
	free(dir);
}

static void mkdir_p_creates_every_level(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *deep = wharf_xasprintf("%s/a/b/c/d", dir);
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_mkdir_p(deep, 0755, &err), err);
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* Again: an existing directory is fine. With a trailing slash too. */
	assert_wharf_ok(wharf_mkdir_p(deep, 0755, &err), err);
	char *slash = wharf_xasprintf("%s/", deep);
	assert_wharf_ok(wharf_mkdir_p(slash, 0755, &err), err);
	free(slash);
	assert_wharf_err(wharf_mkdir_p("", 0755, &err), err, WHARF_EINVAL);
	free(deep);
	free(dir);
}

static void mkdir_p_through_a_file_fails(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *file = wharf_xasprintf("%s/plain", dir);
	test_write_file(file, "x", 1);
	char *below = wharf_xasprintf("%s/sub", file);
	struct wharf_error err = {0};
	assert_wharf_err(wharf_mkdir_p(below, 0755, &err), err, WHARF_EIO);
	assert_int_equal(err.sys_errno, ENOTDIR);
	free(below);
	free(file);
	free(dir);
}

static void mkdir_p_onto_a_file_fails(void **state)
{
	(void)state;
	/* The path exists but is not a directory: a caller about to put files in it must hear so. */
	char *dir = test_subdir();
	char *file = wharf_xasprintf("%s/plain", dir);
	test_write_file(file, "x", 1);
	struct wharf_error err = {0};
	int r = wharf_mkdir_p(file, 0755, &err);
	bool named = strstr(err.message, file) != NULL;
	free(file);
	free(dir);
	if (r == 0)
		fail_msg("wharf_mkdir_p on an existing regular file succeeded");
	assert_int_equal(err.code, -r);
	assert_true(named);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void error_set_fills_and_returns_negative(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	int r = wharf_error_set(&err, WHARF_ENOTFOUND, "blob %s in %d", "sha256:x", 7);
	assert_int_equal(r, -WHARF_ENOTFOUND);
	assert_int_equal(err.code, WHARF_ENOTFOUND);
	assert_int_equal(err.sys_errno, 0);
	assert_string_equal(err.message, "blob sha256:x in 7");
	/* A NULL error still reports the code. */
	assert_int_equal(wharf_error_set(NULL, WHARF_EINVAL, "x"), -WHARF_EINVAL);

	/* Over-long messages are cut, never overflowed. */
	char longs[2000];
	memset(longs, 'z', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	wharf_error_set(&err, WHARF_EINVAL, "%s", longs);
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);

	wharf_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.message, "");
}

static void error_sys_keeps_errno_and_reason(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	errno = EACCES;
	int r = wharf_error_sys(&err, "cannot open %s", "/x");
	assert_int_equal(r, -WHARF_EIO);
	assert_int_equal(err.sys_errno, EACCES);
	assert_int_equal(errno, EACCES);
	assert_contains(err.message, "cannot open /x: ");
	assert_contains(err.message, strerror(EACCES));
}

static void error_prefix_adds_context(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	wharf_error_set(&err, WHARF_EDIGEST, "layer 2 does not match");
	int r = wharf_error_prefix(&err, "manifest %s", "sha256:ab");
	assert_int_equal(r, -WHARF_EDIGEST);
	assert_int_equal(err.code, WHARF_EDIGEST);
	assert_string_equal(err.message, "manifest sha256:ab: layer 2 does not match");
	r = wharf_error_prefix(&err, "push");
	assert_string_equal(err.message, "push: manifest sha256:ab: layer 2 does not match");
	assert_int_equal(wharf_error_prefix(NULL, "x"), -WHARF_EINTERNAL);
}

static void errc_names_are_distinct(void **state)
{
	(void)state;
	for (int a = WHARF_OK; a <= WHARF_EINTERNAL; a++) {
		assert_non_null(wharf_errc_name(a));
		assert_string_equal(wharf_errc_name(a), wharf_errc_name(-a));
		for (int b = a + 1; b <= WHARF_EINTERNAL; b++)
			if (!strcmp(wharf_errc_name(a), wharf_errc_name(b)))
				fail_msg("codes %d and %d share the name '%s'", a, b, wharf_errc_name(a));
	}
}

static void random_hex_is_hex_and_varies(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	char a[65], b[65];
	assert_wharf_ok(wharf_random_hex(a, 32, &err), err);
	assert_wharf_ok(wharf_random_hex(b, 32, &err), err);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
}

static void str_prefix_suffix(void **state)
{
	(void)state;
	assert_true(wharf_str_has_prefix("sha256:abc", "sha256:"));
	assert_false(wharf_str_has_prefix("sha25", "sha256:"));
	assert_true(wharf_str_has_suffix("manifest.json", ".json"));
	assert_false(wharf_str_has_suffix("json", ".json"));
	assert_true(wharf_str_has_suffix("x", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_append_keeps_bytes_and_terminates),
		cmocka_unit_test(buf_printf_formats_like_snprintf),
		cmocka_unit_test(buf_sink_caps_and_resets),
		cmocka_unit_test(buf_steal_hands_over_and_empties),
		cmocka_unit_test(buf_json_string_escapes_quotes_and_controls),
		cmocka_unit_test(strv_push_copies_and_owns),
		cmocka_unit_test(parse_u64_accepts_full_range),
		cmocka_unit_test(parse_u64_rejects_overflow_junk_and_empty),
		cmocka_unit_test(parse_u64_leading_zeros_are_not_overflow),
		cmocka_unit_test(parse_duration_units),
		cmocka_unit_test(parse_duration_bad_input_names_it),
		cmocka_unit_test(parse_duration_overflow_is_rejected),
		cmocka_unit_test(parse_size_units),
		cmocka_unit_test(parse_size_bad_units_and_overflow),
		cmocka_unit_test(url_escape_makes_safe_query_values),
		cmocka_unit_test(atomic_write_then_read_back),
		cmocka_unit_test(atomic_write_into_missing_dir_fails),
		cmocka_unit_test(read_file_enforces_limit),
		cmocka_unit_test(read_file_missing_is_not_found),
		cmocka_unit_test(mkdir_p_creates_every_level),
		cmocka_unit_test(mkdir_p_through_a_file_fails),
		cmocka_unit_test(mkdir_p_onto_a_file_fails),
		cmocka_unit_test(error_set_fills_and_returns_negative),
		cmocka_unit_test(error_sys_keeps_errno_and_reason),
		cmocka_unit_test(error_prefix_adds_context),
		cmocka_unit_test(errc_names_are_distinct),
		cmocka_unit_test(random_hex_is_hex_and_varies),
		cmocka_unit_test(str_prefix_suffix),
	};
	return cmocka_run_group_tests_name("util", tests, test_group_setup, test_group_teardown);
}
