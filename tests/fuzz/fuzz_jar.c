/* Java archives: the zip central directory, local headers, inflation, MANIFEST.MF,
 * pom.properties and nested archives. */
#include "fuzz_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cataloger(&wharf_cataloger_java, "opt/app/lib/app.jar", data, size);
	return 0;
}
