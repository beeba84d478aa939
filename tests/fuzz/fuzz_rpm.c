/* The rpm parsers on hostile bytes. Input: one selector byte, then the data: '0' a header blob,
 * '1' a Berkeley DB hash Packages file, '2' an ndb Packages.db, '3' an rpmdb.sqlite. */
#include "wharf/scan.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	int r;
	switch (data[0] % 4) {
	case 0: r = wharf_rpm_header_parse("h", d, n, &l, &err); break;
	case 1: r = wharf_rpmdb_bdb_parse("Packages", d, n, &l, &err); break;
	case 2: r = wharf_rpmdb_ndb_parse("Packages.db", d, n, &l, &err); break;
	default: r = wharf_rpmdb_sqlite_parse("rpmdb.sqlite", d, n, &l, &err); break;
	}
	if (r == 0)
		for (size_t i = 0; i < l.n; i++)
			FUZZ_CHECK(l.v[i].name && l.v[i].version);
	else
		FUZZ_CHECK(err.message[0] != 0);
	wharf_pkg_list_free(&l);
	return 0;
}
