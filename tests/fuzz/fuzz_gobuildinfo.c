/* ELF executables: Go build info (.go.buildinfo, both layouts, or a magic search when there is
 * no section table) and cargo-auditable's .dep-v0 section. Both catalogers see every input. */
#include "fuzz_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cataloger(&wharf_cataloger_gobinary, "usr/local/bin/app", data, size);
	fuzz_cataloger(&wharf_cataloger_cargo_auditable, "usr/local/bin/app", data, size);
	return 0;
}
