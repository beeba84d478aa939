/* TUF specification-format metadata as any mirror may hand it to `wharf tuf`. The first byte
 * picks the type and a path pattern; a successful parse must carry that _type and a version of
 * at least 1; self-verification of a root, file checks and delegation path matching must never
 * crash, whatever the input holds. */
#include <string.h>

#include "wharf/tufspec.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"root", "timestamp", "snapshot", "targets"};
	if (size < 1)
		return 0;
	const char *type = types[data[0] % 4];
	struct wharf_tufspec_meta m;
	struct wharf_error err;
	if (wharf_tufspec_parse(&m, type, type, (const char *)data + 1, size - 1, WHARF_TUFSPEC_TARGETS_MAX, &err) < 0) {
		FUZZ_CHECK(err.message[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(!strcmp(m.type, type));
	FUZZ_CHECK(m.version >= 1);
	if (!strcmp(type, "root") && wharf_tufspec_verify_by_root(&m, "root", &m, &err) < 0)
		FUZZ_CHECK(err.message[0] != '\0');
	json_t *fm = json_object_get(json_object_get(m.signed_obj, "meta"), "snapshot.json");
	if (fm)
		wharf_tufspec_check_file(fm, "snapshot", data, size, &err);
	size_t i;
	json_t *role;
	json_array_foreach(json_object_get(json_object_get(m.signed_obj, "delegations"), "roles"), i, role) {
		size_t j;
		json_t *p;
		json_array_foreach(json_object_get(role, "paths"), j, p)
			if (json_is_string(p))
				(void)wharf_tufspec_path_match(json_string_value(p), "a/b*c/d.txt");
	}
	wharf_tufspec_meta_free(&m);
	return 0;
}
