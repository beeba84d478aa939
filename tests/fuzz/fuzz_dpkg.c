/* The dpkg status parser on hostile bytes: every package it returns has a name and a version. */
#include "wharf/scan.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	if (wharf_dpkg_parse("var/lib/dpkg/status", data, size, &l, &err) == 0)
		for (size_t i = 0; i < l.n; i++)
			FUZZ_CHECK(l.v[i].name[0] && l.v[i].version[0]);
	wharf_pkg_list_free(&l);
	return 0;
}
