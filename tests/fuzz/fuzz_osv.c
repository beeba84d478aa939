/* The osv importer (wharf db import osv) on hostile bytes: JSON or YAML, any shape. The
 * database is rolled back after each input; errors must name the input. */
#include "vulndb_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_import("osv", data, size);
	return 0;
}
