/* json: canonical encoding (both dialects) and parsing of untrusted JSON.
 *
 * Every expected byte string below follows from the dialect rules in include/wharf/json.h.
 * Each was also checked against the peers themselves: securesystemslib 0.26's encode_canonical
 * (Debian 12's python3-securesystemslib) and Notary's vendored docker/go canonical/json
 * (MarshalCanonical after Unmarshal into interface{}, i.e. what Notary's VerifySignatures
 * hashes; built with Debian 12's Go 1.19). They agree byte for byte on every case here except
 * integers beyond 2^53, which Go rounds through float64 (2^53+1 came out as 2^53, and
 * 2^63-1 as -2^63): the reason the Notary dialect refuses them. */
#include "wharf_test.h"
#include "wharf/json.h"

/* Parse text, encode it in dialect d, and compare with want (length given: bytes may be NUL-free
 * but control characters are raw). */
static void expect_canon_n(const char *text, enum wharf_canon_dialect d, const char *want,
			   size_t want_len)
{
	struct wharf_error err = {0};
	json_t *v = NULL;
	assert_wharf_ok(wharf_json_parse(&v, text, strlen(text), 1 << 20, &err), err);
	struct wharf_buf out;
	wharf_buf_init(&out);
	assert_wharf_ok(wharf_json_canonical(v, d, &out, &err), err);
	if (out.len != want_len || memcmp(out.data, want, want_len) != 0)
		fail_msg("canonical form of %s\n   got: %s\nwanted: %s", text, out.data, want);
	wharf_buf_free(&out);
	json_decref(v);
}

static void expect_canon(const char *text, const char *want)
{
	expect_canon_n(text, WHARF_CANON_NOTARY, want, strlen(want));
	expect_canon_n(text, WHARF_CANON_OLPC, want, strlen(want));
}

/* Encoding v must fail with EINVAL and a message holding every needle; out stays as it was. */
static void expect_refused(const json_t *v, enum wharf_canon_dialect d, const char *needle1,
			   const char *needle2)
{
	struct wharf_error err = {0};
	struct wharf_buf out;
	wharf_buf_init(&out);
	wharf_buf_puts(&out, "kept");
	assert_wharf_err(wharf_json_canonical(v, d, &out, &err), err, WHARF_EINVAL);
	assert_contains(err.message, needle1);
	if (needle2)
		assert_contains(err.message, needle2);
	assert_string_equal(out.data, "kept");
	assert_int_equal(out.len, 4);
	wharf_buf_free(&out);
}

static void keys_are_sorted_by_bytes(void **state)
{
	(void)state;
	/* Upper case sorts before '_' before lower case; a prefix sorts first; "" before all. */
	expect_canon("{\"b\":1,\"a\":2,\"A\":3,\"_\":4,\"aa\":5,\"\":6}",
		     "{\"\":6,\"A\":3,\"_\":4,\"a\":2,\"aa\":5,\"b\":1}");
	/* No whitespace survives, anywhere. */
	expect_canon("{ \"k\" : [ 1 , 2 , { \"x\" : null } ] }\n", "{\"k\":[1,2,{\"x\":null}]}");
}

static void non_ascii_keys_sort_by_utf8_bytes(void **state)
{
	(void)state;
	/* é = C3 A9, ÿ = C3 BF, 日本 = E6 97 A5 E6 9C AC, 😀 = F0 9F 98 80: byte order, which
	 * for UTF-8 is also code point order. Escaped input comes out as raw UTF-8. */
	expect_canon("{\"\\u00e9\":1,\"z\":2,\"\\u65e5\\u672c\":3,\"\\ud83d\\ude00\":4,\"\\u00ff\":5,"
		     "\"\\u00e9a\":6}",
		     "{\"z\":2,\"\xc3\xa9\":1,\"\xc3\xa9" "a\":6,\"\xc3\xbf\":5,"
		     "\"\xe6\x97\xa5\xe6\x9c\xac\":3,\"\xf0\x9f\x98\x80\":4}");
}

static void only_quote_and_backslash_are_escaped(void **state)
{
	(void)state;
	/* Control characters, DEL, '/', U+2028 and HTML characters are all written raw. */
	const char *in = "{\"s\":\"quote\\\" back\\\\ slash\\/ nl\\n tab\\t cr\\r bell\\u0007 "
			 "del\\u007f u2028\\u2028 <>&\"}";
	static const char want[] = "{\"s\":\"quote\\\" back\\\\ slash/ nl\n tab\t cr\r bell\x07 "
				   "del\x7f u2028\xe2\x80\xa8 <>&\"}";
	expect_canon_n(in, WHARF_CANON_NOTARY, want, sizeof(want) - 1);
	expect_canon_n(in, WHARF_CANON_OLPC, want, sizeof(want) - 1);
	/* Keys are escaped the same way. */
	expect_canon("{\"a\\\"b\":1,\"a\\\\b\":2}", "{\"a\\\"b\":1,\"a\\\\b\":2}");
}

static void nested_metadata_shape(void **state)
{
	(void)state;
	expect_canon("{\"signed\":{\"_type\":\"Root\",\"keys\":{},\"roles\":{\"root\":{\"keyids\":[\"b\","
		     "\"a\"],\"threshold\":1}},\"version\":2,\"expires\":\"2030-01-01T00:00:00Z\","
		     "\"consistent_snapshot\":false,\"x\":null,\"y\":true},\"signatures\":[]}",
		     "{\"signatures\":[],\"signed\":{\"_type\":\"Root\",\"consistent_snapshot\":false,"
		     "\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{},\"roles\":{\"root\":{\"keyids\":"
		     "[\"b\",\"a\"],\"threshold\":1}},\"version\":2,\"x\":null,\"y\":true}}");
	/* Arrays keep their order; empty containers stay. */
	expect_canon("[{},[],\"\",[3,2,1]]", "[{},[],\"\",[3,2,1]]");
}

static void integers_both_dialects(void **state)
{
	(void)state;
	/* Within +-2^53 both dialects write the integer exactly. "-0" is the integer 0. */
	expect_canon("[0,-0,-1,1,-9007199254740992,9007199254740992,1000000]",
		     "[0,0,-1,1,-9007199254740992,9007199254740992,1000000]");
	/* OLPC (securesystemslib, Python ints): every 64-bit integer exactly. */
	const char *big = "[9007199254740993,9223372036854775807,-9223372036854775808]";
	const char *want = "[9007199254740993,9223372036854775807,-9223372036854775808]";
	expect_canon_n(big, WHARF_CANON_OLPC, want, strlen(want));
}

static void notary_refuses_integers_beyond_2_53(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:{s:[i,I]}}", "signed", "length", 1, (json_int_t)9007199254740993LL);
	expect_refused(v, WHARF_CANON_NOTARY, "$.signed.length[1]", "2^53");
	json_decref(v);
	v = json_pack("[I]", (json_int_t)-9007199254740993LL);
	expect_refused(v, WHARF_CANON_NOTARY, "$[0]", "-9007199254740993");
	json_decref(v);
}

static void reals_are_refused_with_their_path(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:{s:[i,f]}}", "a", "b", 1, 1.5);
	expect_refused(v, WHARF_CANON_NOTARY, "$.a.b[1]", "real number 1.5");
	expect_refused(v, WHARF_CANON_OLPC, "$.a.b[1]", "real number 1.5");
	json_decref(v);
	/* Even an integral real: neither peer would write one. */
	v = json_pack("{s:f}", "odd key!", 2.0);
	expect_refused(v, WHARF_CANON_OLPC, "$[\"odd key!\"]", "real");
	json_decref(v);
}

static json_t *nest_arrays(int depth)
{
	json_t *v = json_integer(7);
	for (int i = 0; i < depth; i++) {
		json_t *a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	return v;
}

static char *nested_text(int depth)
{
	char *s = wharf_xmalloc(2 * (size_t)depth + 2);
	memset(s, '[', (size_t)depth);
	s[depth] = '1';
	memset(s + depth + 1, ']', (size_t)depth);
	s[2 * depth + 1] = '\0';
	return s;
}

static void depth_limit_is_64_for_encoder_and_parser(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_buf out;
	wharf_buf_init(&out);
	json_t *ok = nest_arrays(64);
	assert_wharf_ok(wharf_json_canonical(ok, WHARF_CANON_OLPC, &out, &err), err);
	assert_int_equal(out.len, 64 * 2 + 1);
	json_decref(ok);
	json_t *deep = nest_arrays(65);
	expect_refused(deep, WHARF_CANON_NOTARY, "nested deeper than 64", "$[0][0]");
	json_decref(deep);
	wharf_buf_free(&out);

	json_t *v = NULL;
	char *text = nested_text(64);
	assert_wharf_ok(wharf_json_parse(&v, text, strlen(text), 4096, &err), err);
	json_decref(v);
	free(text);
	text = nested_text(65);
	assert_wharf_err(wharf_json_parse(&v, text, strlen(text), 4096, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "deeper than 64");
	assert_contains(err.message, "byte 64");
	free(text);
	/* Brackets inside strings (escaped quotes too) are not nesting. */
	const char *in_string = "{\"k\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[\"}";
	assert_wharf_ok(wharf_json_parse(&v, in_string, strlen(in_string), 4096, &err), err);
	json_decref(v);
}

static void parse_limits_and_duplicates(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	json_t *v = NULL;
	const char *doc = "{\"a\":1}";
	assert_wharf_err(wharf_json_parse(&v, doc, strlen(doc), 6, &err), err, WHARF_ETOOBIG);
	assert_contains(err.message, "7 bytes, over the limit of 6");
	assert_wharf_ok(wharf_json_parse(&v, doc, strlen(doc), 7, &err), err);
	json_decref(v);
	const char *dup = "{\"a\":1,\"a\":2}";
	assert_wharf_err(wharf_json_parse(&v, dup, strlen(dup), 100, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "duplicate");
	const char *bad = "{\"a\":}";
	assert_wharf_err(wharf_json_parse(&v, bad, strlen(bad), 100, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "not valid JSON");
	/* Invalid UTF-8 and embedded NUL are jansson's to refuse. */
	const char bad_utf8[] = "[\"\xc3\x28\"]";
	assert_wharf_err(wharf_json_parse(&v, bad_utf8, sizeof(bad_utf8) - 1, 100, &err), err,
			 WHARF_EINVAL);
	const char nul[] = "[\"\\u0000\"]";
	assert_wharf_err(wharf_json_parse(&v, nul, sizeof(nul) - 1, 100, &err), err, WHARF_EINVAL);
	/* The bytes end where len says, not at a NUL. */
	const char two[] = "[1][2]";
	assert_wharf_ok(wharf_json_parse(&v, two, 3, 100, &err), err);
	assert_int_equal(json_integer_value(json_array_get(v, 0)), 1);
	json_decref(v);
}

static void output_is_appended(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_buf out;
	wharf_buf_init(&out);
	wharf_buf_puts(&out, "x=");
	json_t *v = json_pack("{s:b,s:n}", "t", 1, "n");
	assert_wharf_ok(wharf_json_canonical(v, WHARF_CANON_OLPC, &out, &err), err);
	assert_string_equal(out.data, "x={\"n\":null,\"t\":true}");
	json_decref(v);
	wharf_buf_free(&out);
}

static void invalid_utf8_in_a_built_value_is_refused(void **state)
{
	(void)state;
	json_t *v = json_object();
	json_object_set_new(v, "k", json_stringn_nocheck("ok\xff", 3));
	expect_refused(v, WHARF_CANON_NOTARY, "$.k", "not valid UTF-8");
	json_decref(v);
	/* An overlong encoding of '/' and a lone surrogate are not UTF-8 either. */
	v = json_pack("[o]", json_stringn_nocheck("\xc0\xaf", 2));
	expect_refused(v, WHARF_CANON_OLPC, "$[0]", "UTF-8");
	json_decref(v);
	v = json_pack("[o]", json_stringn_nocheck("\xed\xa0\x80", 3));
	expect_refused(v, WHARF_CANON_OLPC, "$[0]", "UTF-8");
	json_decref(v);
}

static void encoding_is_idempotent(void **state)
{
	(void)state;
	/* What we write (for strings without control characters) parses back to the same bytes. */
	struct wharf_error err = {0};
	const char *doc = "{\"z\":[1,{\"b\":\"x\\\\y\\\"\",\"a\":\"\\u00e9\"}],\"a\":false}";
	json_t *v = NULL;
	assert_wharf_ok(wharf_json_parse(&v, doc, strlen(doc), 1000, &err), err);
	struct wharf_buf one, two;
	wharf_buf_init(&one);
	wharf_buf_init(&two);
	assert_wharf_ok(wharf_json_canonical(v, WHARF_CANON_NOTARY, &one, &err), err);
	json_decref(v);
	assert_wharf_ok(wharf_json_parse(&v, one.data, one.len, 1000, &err), err);
	assert_wharf_ok(wharf_json_canonical(v, WHARF_CANON_NOTARY, &two, &err), err);
	assert_string_equal(one.data, two.data);
	json_decref(v);
	wharf_buf_free(&one);
	wharf_buf_free(&two);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_are_sorted_by_bytes),
		cmocka_unit_test(non_ascii_keys_sort_by_utf8_bytes),
		cmocka_unit_test(only_quote_and_backslash_are_escaped),
		cmocka_unit_test(nested_metadata_shape),
		cmocka_unit_test(integers_both_dialects),
		cmocka_unit_test(notary_refuses_integers_beyond_2_53),
		cmocka_unit_test(reals_are_refused_with_their_path),
		cmocka_unit_test(depth_limit_is_64_for_encoder_and_parser),
		cmocka_unit_test(parse_limits_and_duplicates),
		cmocka_unit_test(output_is_appended),
		cmocka_unit_test(invalid_utf8_in_a_built_value_is_refused),
		cmocka_unit_test(encoding_is_idempotent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
