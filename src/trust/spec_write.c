/* Writing TUF specification-format metadata: the signed envelope and common fields. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "wharf/json.h"
#include "wharf/keys.h"
#include "wharf/trust.h"
#include "wharf/tufspec.h"

int wharf_tufspec_sign(const json_t *signed_obj, struct wharf_key *const *keys, size_t nkeys, struct wharf_buf *out,
		       struct wharf_error *err)
{
	struct wharf_buf canon;
	wharf_buf_init(&canon);
	int r = wharf_json_canonical(signed_obj, WHARF_CANON_OLPC, &canon, err);
	json_t *sigs = json_array();
	for (size_t i = 0; r == 0 && i < nkeys; i++) {
		struct wharf_buf raw;
		wharf_buf_init(&raw);
		char id[65];
		wharf_key_id(keys[i], WHARF_DIALECT_TUF, id);
		if ((r = wharf_key_sign(keys[i], WHARF_DIALECT_TUF, canon.data, canon.len, &raw, NULL, err)) == 0) {
			char *hex = wharf_hex_encode(raw.data, raw.len);
			json_array_append_new(sigs, json_pack("{s:s,s:s}", "keyid", id, "sig", hex));
			free(hex);
		}
		wharf_buf_free(&raw);
	}
	if (r == 0) {
		json_t *doc = json_pack("{s:O,s:o}", "signed", signed_obj, "signatures", sigs);
		sigs = NULL;
		/* Stored as plain JSON: the canonical form keeps raw newlines (PEM keys) in strings,
		 * which JSON parsers refuse; what is signed is the canonical form of "signed". */
		char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		wharf_buf_puts(out, text);
		free(text);
		json_decref(doc);
	}
	if (sigs)
		json_decref(sigs);
	wharf_buf_free(&canon);
	return r;
}

json_t *wharf_tufspec_signed_new(const char *type, int64_t version, int64_t expires)
{
	char when[32];
	wharf_time_format_rfc3339(expires, when);
	return json_pack("{s:s,s:s,s:I,s:s}", "_type", type, "spec_version", "1.0.31", "version", (json_int_t)version,
			 "expires", when);
}

json_t *wharf_tufspec_target_meta(const void *data, size_t len)
{
	unsigned char d[32];
	unsigned dl = 0;
	EVP_Digest(data, len, d, &dl, EVP_sha256(), NULL);
	char *hex = wharf_hex_encode(d, 32);
	json_t *o = json_pack("{s:I,s:{s:s}}", "length", (json_int_t)len, "hashes", "sha256", hex);
	free(hex);
	return o;
}
