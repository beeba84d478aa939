/* PHP composer.lock (packages and packages-dev). */
#include "fuzz_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cataloger(&wharf_cataloger_composer, "var/www/composer.lock", data, size);
	return 0;
}
