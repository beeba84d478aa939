/* Ignore files (wharf scan --ignorefile) and JSON package lists (wharf db match) on hostile
 * bytes. Input: one selector byte (even: ignore file, odd: package list), then the file. */
#include "wharf/vulndb.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	struct wharf_error err = {0};
	if (data[0] % 2 == 0) {
		struct wharf_ignore_list l;
		int r = wharf_ignore_parse("input", copy, size - 1, &l, &err);
		if (r < 0) {
			FUZZ_CHECK(l.n == 0 && l.v == NULL);
			FUZZ_CHECK(strstr(err.message, "input") != NULL);
		}
		for (size_t i = 0; r == 0 && i < l.n; i++)
			FUZZ_CHECK(l.v[i].id && l.v[i].id[0] && l.v[i].reason && l.v[i].reason[0]);
		if (r == 0)
			wharf_ignore_list_free(&l);
	} else {
		struct wharf_scan_result res = {0};
		int r = wharf_vulndb_load_pkglist("input", copy, size - 1, &res, &err);
		if (r < 0)
			FUZZ_CHECK(strstr(err.message, "input") != NULL);
		else
			for (size_t i = 0; i < res.pkgs.n; i++)
				FUZZ_CHECK(res.pkgs.v[i].name && res.pkgs.v[i].version && res.pkgs.v[i].ecosystem);
		wharf_scan_result_free(&res);
	}
	free(copy);
	return 0;
}
