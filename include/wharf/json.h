/* json: canonical JSON, the byte form TUF and Notary sign. Objects have their keys sorted by
 * byte value, no insignificant whitespace, integers only (no reals), and in strings only '"' and
 * '\\' are escaped: every other byte, control characters included, is written as is. (So the
 * output is for hashing and signing, not always RFC 8259 JSON: a string holding a newline comes
 * out with a raw newline in it, exactly as the peers below write it.)
 * Two dialects exist in the wild; they write the same bytes and differ only in which integers
 * have a form both signer and verifier agree on:
 *  - WHARF_CANON_OLPC: securesystemslib / python-tuf: every 64-bit integer, exactly.
 *  - WHARF_CANON_NOTARY: Notary's Go encoder (docker/go/canonical/json, MarshalCanonical).
 *    Notary signs the canonical form of its Go structs (integers exact) but verifies over the
 *    canonical form of the metadata decoded into interface{} values, where every number is a
 *    float64; so an integer beyond +-2^53 would be signed exactly and verified rounded. Such an
 *    integer has no form the two halves of Notary agree on, and this dialect refuses it. */
#ifndef WHARF_JSON_H
#define WHARF_JSON_H

#include <jansson.h>

#include "wharf/util.h"

enum wharf_canon_dialect { WHARF_CANON_NOTARY, WHARF_CANON_OLPC };

/* Encode v canonically into out (appended). Fails with WHARF_EINVAL, naming the JSON path, on a
 * real number, on nesting deeper than 64, on a string that is not valid UTF-8, and in the Notary
 * dialect on an integer beyond +-2^53; out is then left as it was. */
int wharf_json_canonical(const json_t *v, enum wharf_canon_dialect dialect, struct wharf_buf *out,
			 struct wharf_error *err);

/* Parse untrusted JSON (an object or an array at the top): over `limit` bytes is WHARF_ETOOBIG;
 * duplicate keys, nesting deeper than 64 (the encoder's limit, checked before jansson sees the
 * bytes) and anything jansson refuses are WHARF_EINVAL. */
int wharf_json_parse(json_t **out, const char *data, size_t len, size_t limit, struct wharf_error *err);

/* Whether the JSON array a (anything else counts as empty) holds the string s. */
bool wharf_json_array_has_string(const json_t *a, const char *s);

#endif
