/* Python installed-distribution metadata (dist-info METADATA, egg-info PKG-INFO). */
#include "fuzz_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cataloger(&wharf_cataloger_python, "usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA", data, size);
	return 0;
}
