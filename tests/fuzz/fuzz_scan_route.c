/* The vulnerabilities API router (reg_scan_api_route, declared in the registry's internal
 * header) on hostile paths. Invariants: whatever it accepts spells the path back exactly as
 * "/api/v1/repositories/" name "/manifests/" digest "/vulnerabilities" when nothing was
 * truncated, and the name is never empty.
 *
 * Input: the request path as microhttpd hands it over (unescaped, NUL-terminated). */
#include <string.h>

#include "../../src/registry/internal.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_strndup(data, size);
	char name[WHARF_REPO_NAME_MAX + 64], digest[WHARF_DIGEST_MAX + 8];
	size_t name_len = 0;
	if (reg_scan_api_route(path, name, sizeof(name), &name_len, digest, sizeof(digest))) {
		FUZZ_CHECK(name_len > 0);
		FUZZ_CHECK(strlen(name) == (name_len < sizeof(name) ? name_len : sizeof(name) - 1));
		if (name_len < sizeof(name) && strlen(digest) < sizeof(digest) - 1) {
			char *again = malloc(size + 64);
			if (!again)
				abort();
			snprintf(again, size + 64, "/api/v1/repositories/%s/manifests/%s/vulnerabilities", name, digest);
			FUZZ_CHECK(strcmp(again, path) == 0);
			free(again);
		}
	}
	free(path);
	return 0;
}
