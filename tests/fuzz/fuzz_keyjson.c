/* wharf_key_from_json on hostile key objects (the "keys" of root.json and of delegations).
 *
 * Input: one selector byte, then JSON. An even selector reads in Notary's dialect ('n'), an
 * odd one in the TUF dialect ('u'). The JSON is tried as a key object, and when it is an
 * object of key objects ({"<keyid>": {...}}, as metadata holds them) or an array, as each of
 * its members. An accepted key must write itself out and read back with the same key ID, and
 * must refuse a signature of junk. */
#include <jansson.h>

#include "wharf/json.h"
#include "wharf/keys.h"

#include "fuzz.h"

static const char data_signed[] = "fuzz";

static bool is_hex_id(const char *id)
{
	return strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

static void check_key(const struct wharf_key *k, enum wharf_key_dialect d)
{
	char id[65];
	wharf_key_id(k, d, id);
	FUZZ_CHECK(is_hex_id(id));
	FUZZ_CHECK(!wharf_key_has_private(k));
	FUZZ_CHECK(strcmp(wharf_key_type_name(wharf_key_type(k)), "unknown") != 0);
	/* Written out and read back: the same key ID, in both dialects. */
	for (int di = WHARF_DIALECT_NOTARY; di <= WHARF_DIALECT_TUF; di++) {
		enum wharf_key_dialect od = (enum wharf_key_dialect)di;
		json_t *obj = wharf_key_to_json(k, od);
		FUZZ_CHECK(obj != NULL);
		struct wharf_key *back = NULL;
		struct wharf_error err = {0};
		int r = wharf_key_from_json(&back, obj, od, &err);
		if (r < 0)
			fprintf(stderr, "key does not read back: %s\n", err.message);
		FUZZ_CHECK(r == 0);
		char a[65], b[65];
		wharf_key_id(k, od, a);
		wharf_key_id(back, od, b);
		FUZZ_CHECK(!strcmp(a, b));
		wharf_key_free(back);
		json_decref(obj);
	}
	/* Junk never verifies, whatever its length. */
	static const unsigned char junk[512];
	static const size_t lens[] = {0, 1, 64, 72, 256, 384, 512};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct wharf_error err = {0};
		const char *method = d == WHARF_DIALECT_NOTARY ? "ecdsa" : NULL;
		int r = wharf_key_verify(k, d, method, junk, lens[i], data_signed, 4, &err);
		FUZZ_CHECK(r < 0 && err.message[0] != '\0');
	}
}

static void try_key(const json_t *obj, enum wharf_key_dialect d)
{
	struct wharf_key *k = NULL;
	struct wharf_error err = {0};
	int r = wharf_key_from_json(&k, obj, d, &err);
	if (r < 0) {
		FUZZ_CHECK(err.code != 0 && r == -err.code);
		FUZZ_CHECK(err.message[0] != '\0');
		FUZZ_CHECK(k == NULL);
		return;
	}
	FUZZ_CHECK(r == 0 && k != NULL);
	check_key(k, d);
	wharf_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum wharf_key_dialect d = data[0] % 2 ? WHARF_DIALECT_TUF : WHARF_DIALECT_NOTARY;
	size_t len = size - 1;
	char *s = malloc(len ? len : 1);
	if (!s)
		abort();
	memcpy(s, data + 1, len);
	json_t *v = NULL;
	struct wharf_error err = {0};
	if (wharf_json_parse(&v, s, len, 1u << 16, &err) == 0) {
		try_key(v, d);
		const char *name;
		json_t *member;
		size_t i;
		if (json_is_object(v)) {
			json_object_foreach(v, name, member)
				try_key(member, d);
		} else {
			json_array_foreach(v, i, member)
				try_key(member, d);
		}
		json_decref(v);
	}
	free(s);
	return 0;
}
