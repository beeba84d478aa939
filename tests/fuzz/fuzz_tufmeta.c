/* Signed TUF metadata as a publish or a mirror would hand it over. The first byte picks the
 * role; a successful parse must have the role's _type, and verification against the file's
 * own root-shaped keys must never crash, whatever the signatures hold. */
#include "wharf/trust.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roles[] = {"root", "targets", "snapshot", "timestamp", "targets/releases"};
	if (size < 1)
		return 0;
	const char *role = roles[data[0] % 5];
	struct wharf_tuf_meta m;
	struct wharf_error err;
	if (wharf_tuf_parse(&m, role, (const char *)data + 1, size - 1, &err) < 0) {
		FUZZ_CHECK(err.message[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(!strcmp(m.type, wharf_tuf_role_type(role)));
	FUZZ_CHECK(m.version >= 0);
	if (!strcmp(role, "root")) {
		/* Self-verification walks keys, key IDs, base64 and every signature method. */
		if (wharf_tuf_verify_by_root(&m, "root", &m, &err) < 0)
			FUZZ_CHECK(err.message[0] != '\0');
	}
	json_t *fm = json_object_get(json_object_get(m.signed_obj, "meta"), "snapshot");
	if (fm)
		wharf_tuf_check_file_meta(fm, "snapshot", data, size, &err);
	wharf_tuf_meta_free(&m);
	return 0;
}
