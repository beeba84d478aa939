/* Installed gem specifications (literal name and version assignments). */
#include "fuzz_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cataloger(&wharf_cataloger_gemspec, "usr/lib/ruby/gems/3.1.0/specifications/x-1.0.gemspec", data, size);
	return 0;
}
