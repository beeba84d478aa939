/* npm lock files (package-lock.json v1-v3) and installed package.json files from image layers.
 * The first byte selects the cataloger (even: lock, odd: node_modules package.json). */
#include "fuzz_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_cataloger(&wharf_cataloger_npm_package, "app/node_modules/x/package.json", data + 1, size - 1);
	else
		fuzz_cataloger(&wharf_cataloger_npm_lock, "app/package-lock.json", data + 1, size - 1);
	return 0;
}
