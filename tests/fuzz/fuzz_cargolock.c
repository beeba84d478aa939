/* Cargo.lock (the TOML subset: [[package]] tables with name and version). */
#include "fuzz_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cataloger(&wharf_cataloger_cargo_lock, "src/app/Cargo.lock", data, size);
	return 0;
}
