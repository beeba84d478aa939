/* digest: parsing digest strings and hashing. */
#include <fcntl.h>

#include "wharf_test.h"
#include "wharf/digest.h"

/* FIPS 180-2 test vectors for the message "abc". */
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_ABC                                                                      \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"              \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
/* ... and for the empty message. */
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void parse_accepts_sha256_and_sha512(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_digest d;
	assert_wharf_ok(wharf_digest_parse(&d, "sha256:" SHA256_ABC, &err), err);
	assert_int_equal(d.alg, WHARF_SHA256);
	assert_string_equal(d.str, "sha256:" SHA256_ABC);
	assert_string_equal(wharf_digest_hex(&d), SHA256_ABC);
	assert_string_equal(wharf_digest_alg_name(d.alg), "sha256");

	assert_wharf_ok(wharf_digest_parse(&d, "sha512:" SHA512_ABC, &err), err);
	assert_int_equal(d.alg, WHARF_SHA512);
	assert_string_equal(d.str, "sha512:" SHA512_ABC);
	assert_string_equal(wharf_digest_hex(&d), SHA512_ABC);
	assert_string_equal(wharf_digest_alg_name(d.alg), "sha512");
}

static void parse_n_reads_only_len_bytes(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_digest d;
	const char *s = "sha256:" SHA256_ABC "/more/path";
	assert_wharf_ok(wharf_digest_parse_n(&d, s, 7 + 64, &err), err);
	assert_string_equal(d.str, "sha256:" SHA256_ABC);
	/* One byte short is a wrong length. */
	assert_wharf_err(wharf_digest_parse_n(&d, s, 7 + 63, &err), err, WHARF_EINVAL);
}

static void expect_invalid(const char *s, int code)
{
	struct wharf_error err = {0};
	struct wharf_digest d;
	memset(&d, 0x5a, sizeof(d));
	int r = wharf_digest_parse(&d, s, &err);
	if (r != -code)
		fail_msg("digest '%s': expected %s, got %d (%s)", s, wharf_errc_name(code), r, err.message);
	assert_int_equal(err.code, code);
	/* The message quotes the input (or as much of it as fits). */
	char head[40];
	snprintf(head, sizeof(head), "'%.30s", s);
	assert_contains(err.message, head);
}

static void parse_rejects_uppercase_hex(void **state)
{
	(void)state;
	char upper[] = "sha256:" SHA256_ABC;
	for (char *p = upper + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	expect_invalid(upper, WHARF_EINVAL);
	/* A single upper-case letter is enough. */
	char one[] = "sha256:" SHA256_ABC;
	one[7] = 'B';
	expect_invalid(one, WHARF_EINVAL);
}

static void parse_rejects_wrong_length(void **state)
{
	(void)state;
	expect_invalid("sha256:" SHA256_ABC "0", WHARF_EINVAL);
	char shortd[] = "sha256:" SHA256_ABC;
	shortd[sizeof(shortd) - 2] = '\0';
	expect_invalid(shortd, WHARF_EINVAL);
	expect_invalid("sha512:" SHA256_ABC, WHARF_EINVAL); /* a sha256 hex under the sha512 name */
	expect_invalid("sha256:" SHA512_ABC, WHARF_EINVAL);
	expect_invalid("sha256:", WHARF_EINVAL);
	/* Non-hex characters of the right count. */
	char nothex[] = "sha256:" SHA256_ABC;
	nothex[10] = 'g';
	expect_invalid(nothex, WHARF_EINVAL);
}

static void parse_rejects_missing_colon(void **state)
{
	(void)state;
	expect_invalid("sha256" SHA256_ABC, WHARF_EINVAL);
	expect_invalid(SHA256_ABC, WHARF_EINVAL);
	expect_invalid("", WHARF_EINVAL);
}

static void parse_rejects_bad_algorithm_grammar(void **state)
{
	(void)state;
	expect_invalid("sha256+:" SHA256_ABC, WHARF_EINVAL);
	expect_invalid(":abc", WHARF_EINVAL);
	expect_invalid("+sha256:" SHA256_ABC, WHARF_EINVAL);
	expect_invalid("sha++256:" SHA256_ABC, WHARF_EINVAL);
	expect_invalid("SHA256:" SHA256_ABC, WHARF_EINVAL);
	expect_invalid("sha256:" SHA256_ABC "\n", WHARF_EINVAL);
	expect_invalid("sha256: " SHA256_ABC, WHARF_EINVAL);
}

static void parse_unsupported_algorithm_is_named(void **state)
{
	(void)state;
	/* Well formed per the OCI grammar, but not an algorithm we hash. */
	expect_invalid("md5:d41d8cd98f00b204e9800998ecf8427e", WHARF_EUNSUPPORTED);
	expect_invalid("sha384:abc", WHARF_EUNSUPPORTED);
	expect_invalid("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", WHARF_EUNSUPPORTED);
	struct wharf_error err = {0};
	struct wharf_digest d;
	wharf_digest_parse(&d, "blake3:0123", &err);
	assert_contains(err.message, "blake3:0123");
	assert_contains(err.message, "'blake3'");
}

static void parse_long_input_does_not_overflow(void **state)
{
	(void)state;
	char big[4096];
	memcpy(big, "sha256:", 7);
	memset(big + 7, 'a', sizeof(big) - 8);
	big[sizeof(big) - 1] = '\0';
	struct wharf_error err = {0};
	struct wharf_digest d;
	assert_wharf_err(wharf_digest_parse(&d, big, &err), err, WHARF_EINVAL);
	assert_true(strlen(err.message) < sizeof(err.message));
}

static void digest_equal_compares_algorithm_and_text(void **state)
{
	(void)state;
	struct wharf_digest a, b, c;
	wharf_digest_buffer(WHARF_SHA256, "abc", 3, &a);
	wharf_digest_buffer(WHARF_SHA256, "abc", 3, &b);
	wharf_digest_buffer(WHARF_SHA256, "abd", 3, &c);
	assert_true(wharf_digest_equal(&a, &b));
	assert_false(wharf_digest_equal(&a, &c));
	wharf_digest_buffer(WHARF_SHA512, "abc", 3, &c);
	assert_false(wharf_digest_equal(&a, &c));
}

static void hashers_match_known_vectors(void **state)
{
	(void)state;
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "abc", 3, &d);
	assert_string_equal(d.str, "sha256:" SHA256_ABC);
	assert_int_equal(d.alg, WHARF_SHA256);
	wharf_digest_buffer(WHARF_SHA512, "abc", 3, &d);
	assert_string_equal(d.str, "sha512:" SHA512_ABC);
	assert_int_equal(d.alg, WHARF_SHA512);
	wharf_digest_buffer(WHARF_SHA256, "", 0, &d);
	assert_string_equal(d.str, "sha256:" SHA256_EMPTY);

	/* Fed in pieces, the result is the same. */
	struct wharf_hasher *h = wharf_hasher_new(WHARF_SHA512);
	assert_int_equal(wharf_hasher_alg(h), WHARF_SHA512);
	wharf_hasher_update(h, "a", 1);
	wharf_hasher_update(h, "", 0);
	wharf_hasher_update(h, "bc", 2);
	wharf_hasher_final(h, &d);
	wharf_hasher_free(h);
	assert_string_equal(d.str, "sha512:" SHA512_ABC);

	/* What the hasher prints, the parser accepts. */
	struct wharf_error err = {0};
	struct wharf_digest p;
	assert_wharf_ok(wharf_digest_parse(&p, d.str, &err), err);
	assert_true(wharf_digest_equal(&p, &d));
}

static void hasher_dup_forks_a_running_hash(void **state)
{
	(void)state;
	struct wharf_hasher *h = wharf_hasher_new(WHARF_SHA256);
	wharf_hasher_update(h, "ab", 2);
	struct wharf_hasher *fork = wharf_hasher_dup(h);
	assert_int_equal(wharf_hasher_alg(fork), WHARF_SHA256);
	/* A chunk fed to the fork does not reach the original... */
	wharf_hasher_update(fork, "X-rejected-chunk", 16);
	wharf_hasher_update(h, "c", 1);
	struct wharf_digest orig, forked, want;
	wharf_hasher_final(h, &orig);
	wharf_hasher_final(fork, &forked);
	wharf_hasher_free(h);
	wharf_hasher_free(fork);
	assert_string_equal(orig.str, "sha256:" SHA256_ABC);
	/* ... and the fork carried the state from before it. */
	wharf_digest_buffer(WHARF_SHA256, "abX-rejected-chunk", 18, &want);
	assert_string_equal(forked.str, want.str);
	assert_string_not_equal(forked.str, orig.str);
}

static void digest_fd_hashes_the_first_len_bytes(void **state)
{
	(void)state;
	char *dir = test_subdir();
	char *path = wharf_xasprintf("%s/blob", dir);
	/* Several MiB so the hashing crosses its read chunks. */
	size_t size = 3 * 1024 * 1024 + 17;
	unsigned char *data = wharf_xmalloc(size);
	uint32_t x = 12345;
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (unsigned char)(x >> 16);
	}
	test_write_file(path, data, size);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);

	struct wharf_error err = {0};
	struct wharf_digest got, want;
	for (int alg = WHARF_SHA256; alg <= WHARF_SHA512; alg++) {
		assert_wharf_ok(wharf_digest_fd((enum wharf_digest_alg)alg, fd, size, &got, &err), err);
		wharf_digest_buffer((enum wharf_digest_alg)alg, data, size, &want);
		assert_string_equal(got.str, want.str);
	}
	/* A prefix of the file. */
	assert_wharf_ok(wharf_digest_fd(WHARF_SHA256, fd, 1000, &got, &err), err);
	wharf_digest_buffer(WHARF_SHA256, data, 1000, &want);
	assert_string_equal(got.str, want.str);
	/* Zero bytes is the empty digest. */
	assert_wharf_ok(wharf_digest_fd(WHARF_SHA256, fd, 0, &got, &err), err);
	assert_string_equal(got.str, "sha256:" SHA256_EMPTY);
	/* Asking for more than the file holds is an error, not a digest of what is there. */
	assert_wharf_err(wharf_digest_fd(WHARF_SHA256, fd, size + 1, &got, &err), err, WHARF_EIO);
	close(fd);

	/* A bad descriptor is an I/O error. */
	assert_wharf_err(wharf_digest_fd(WHARF_SHA256, -1, 10, &got, &err), err, WHARF_EIO);

	free(data);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_accepts_sha256_and_sha512),
		cmocka_unit_test(parse_n_reads_only_len_bytes),
		cmocka_unit_test(parse_rejects_uppercase_hex),
		cmocka_unit_test(parse_rejects_wrong_length),
		cmocka_unit_test(parse_rejects_missing_colon),
		cmocka_unit_test(parse_rejects_bad_algorithm_grammar),
		cmocka_unit_test(parse_unsupported_algorithm_is_named),
		cmocka_unit_test(parse_long_input_does_not_overflow),
		cmocka_unit_test(digest_equal_compares_algorithm_and_text),
		cmocka_unit_test(hashers_match_known_vectors),
		cmocka_unit_test(hasher_dup_forks_a_running_hash),
		cmocka_unit_test(digest_fd_hashes_the_first_len_bytes),
	};
	return cmocka_run_group_tests_name("digest", tests, test_group_setup, test_group_teardown);
}
