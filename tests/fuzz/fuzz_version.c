/* Version ordering on hostile strings. Input: one selector byte choosing the ecosystem (or,
 * for 9, a Cargo requirement and a version), then two strings separated by a newline. Valid
 * versions must compare as a total order does: a version equals itself, and
 * compare(a, b) == -compare(b, a). */
#include "src/vulndb/internal.h"
#include "wharf/version.h"

#include "fuzz.h"

static const char *const ecosystems[] = {"Debian", "Alpine", "Red Hat", "npm", "Go", "PyPI", "Maven", "RubyGems",
					 "Packagist", "cargo-req"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *eco = ecosystems[data[0] % 10];
	char *s = fuzz_strndup(data + 1, size - 1);
	char *nl = strchr(s, '\n');
	const char *a = s, *b = nl ? nl + 1 : "1.0";
	if (nl)
		*nl = 0;
	struct wharf_error err = {0};
	if (!strcmp(eco, "cargo-req")) {
		bool m;
		char lower[512];
		int r = vulndb_cargo_req_matches(a, b, &m, lower, sizeof(lower));
		FUZZ_CHECK(r == 0 || r == -1);
		FUZZ_CHECK(r < 0 || !lower[0] || wharf_version_valid("SEMVER", lower, NULL));
		free(s);
		return 0;
	}
	int ab = 0, ba = 0, aa = 1;
	int r1 = wharf_version_compare(eco, a, b, &ab, &err);
	if (r1 < 0) {
		FUZZ_CHECK(r1 == -WHARF_EINVAL && err.message[0]);
	} else {
		FUZZ_CHECK(wharf_version_compare(eco, b, a, &ba, &err) == 0);
		FUZZ_CHECK((ab > 0) - (ab < 0) == -((ba > 0) - (ba < 0)));
		FUZZ_CHECK(wharf_version_compare(eco, a, a, &aa, &err) == 0 && aa == 0);
	}
	free(s);
	return 0;
}
