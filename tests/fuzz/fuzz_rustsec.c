/* The rustsec importer (wharf db import rustsec) on hostile bytes: Markdown with a TOML front
 * block. The database is rolled back after each input; errors must name the input. */
#include "vulndb_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_import("rustsec", data, size);
	return 0;
}
