/* A staged change as wharfd answers it and `wharf trust pending|approve` reads it (and as a
 * proposer posts it): {"files":[{"role","metadata"}..]}. Every file's metadata is parsed as its
 * role's, its signatures are checked against its own keys, and the diff a signer is shown is made
 * against an empty role and against itself; none of it may crash, and a diff against itself is empty. */
#include "wharf/json.h"
#include "wharf/trust.h"

#include "fuzz.h"

static void one_file(const json_t *e)
{
	const char *role = json_string_value(json_object_get(e, "role"));
	char *text = json_dumps(json_object_get(e, "metadata"), JSON_COMPACT);
	struct wharf_tuf_meta m;
	struct wharf_error err;
	if (!role || !text || !wharf_tuf_valid_role(role) || wharf_tuf_parse(&m, role, text, strlen(text), &err) < 0) {
		free(text);
		return;
	}
	free(text);
	size_t valid = 0;
	json_t *keys = json_object_get(m.signed_obj, "keys");
	json_t *ids = json_object_get(json_object_get(json_object_get(m.signed_obj, "roles"), "root"), "keyids");
	if (json_is_object(keys) && json_is_array(ids))
		wharf_tuf_count_signers(&m, role, keys, ids, &valid, &err);
	FUZZ_CHECK(valid <= json_array_size(json_object_get(m.doc, "signatures")));
	json_t *empty = json_object();
	json_t *d1 = wharf_trust_change_diff(empty, m.signed_obj);
	json_t *d2 = wharf_trust_change_diff(m.signed_obj, m.signed_obj);
	FUZZ_CHECK(d1 && d2);
	json_t *t = json_object_get(d2, "targets");
	FUZZ_CHECK(!json_array_size(json_object_get(t, "added")) && !json_array_size(json_object_get(t, "removed")) &&
		   !json_array_size(json_object_get(t, "changed")));
	json_decref(d1);
	json_decref(d2);
	json_decref(empty);
	wharf_tuf_meta_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = NULL;
	struct wharf_error err;
	if (wharf_json_parse(&doc, (const char *)data, size, WHARF_TUF_FILE_MAX, &err) < 0) {
		FUZZ_CHECK(err.message[0] != '\0');
		return 0;
	}
	json_t *files = json_object_get(doc, "files");
	size_t i;
	json_t *e;
	json_array_foreach(files, i, e) {
		if (i >= 8)
			break;
		one_file(e);
	}
	json_decref(doc);
	return 0;
}
