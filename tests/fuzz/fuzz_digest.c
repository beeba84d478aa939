/* wharf_digest_parse_n on hostile bytes (digests in URLs, query strings and manifests). */
#include "wharf/digest.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy without a terminator: ASan catches any read past the end. */
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);

	struct wharf_digest d;
	struct wharf_error err = {0};
	int r = wharf_digest_parse_n(&d, s, size, &err);
	if (r < 0) {
		FUZZ_CHECK(err.code != 0 && r == -err.code);
		FUZZ_CHECK(err.message[0] != '\0');
	} else {
		FUZZ_CHECK(r == 0);
		FUZZ_CHECK(d.alg == WHARF_SHA256 || d.alg == WHARF_SHA512);
		/* The canonical text is exactly the input, and it parses back to the same digest. */
		FUZZ_CHECK(strlen(d.str) == size && memcmp(d.str, s, size) == 0);
		struct wharf_digest again;
		FUZZ_CHECK(wharf_digest_parse(&again, d.str, &err) == 0);
		FUZZ_CHECK(wharf_digest_equal(&d, &again));
		const char *alg = wharf_digest_alg_name(d.alg);
		FUZZ_CHECK(!strncmp(d.str, alg, strlen(alg)) && d.str[strlen(alg)] == ':');
		size_t hex = strlen(wharf_digest_hex(&d));
		FUZZ_CHECK(hex == (d.alg == WHARF_SHA512 ? 128u : 64u));
		FUZZ_CHECK(wharf_digest_hex(&d) == d.str + strlen(alg) + 1);
	}

	/* The NUL-terminated entry point must agree whenever the input has no NUL in it. */
	if (!memchr(s, '\0', size)) {
		char *z = fuzz_strndup(data, size);
		struct wharf_digest dz;
		struct wharf_error errz = {0};
		int rz = wharf_digest_parse(&dz, z, &errz);
		FUZZ_CHECK(rz == r);
		if (r == 0)
			FUZZ_CHECK(wharf_digest_equal(&d, &dz));
		free(z);
	}
	free(s);
	return 0;
}
