/* json: canonical JSON, the byte form TUF and Notary sign. Objects have their keys sorted by
 * byte value, no insignificant whitespace, integers only (no floats), strings escaped minimally.
 * Two dialects exist in the wild and differ only in string escaping:
 *  - WHARF_CANON_NOTARY: Notary's Go encoder (docker/go/canonical/json): like encoding/json
 *    without HTML escaping: '"' and '\\' escaped, control characters as \uXXXX except \b \f \n
 *    \r \t, U+2028/U+2029 as \u2028/\u2029, invalid UTF-8 replaced by U+FFFD;
 *  - WHARF_CANON_OLPC: securesystemslib / python-tuf: only '"' and '\\' escaped, every other
 *    byte as is. */
#ifndef WHARF_JSON_H
#define WHARF_JSON_H

#include <jansson.h>

#include "wharf/util.h"

enum wharf_canon_dialect { WHARF_CANON_NOTARY, WHARF_CANON_OLPC };

/* Encode v canonically into out (appended). Fails with WHARF_EINVAL, naming the JSON path, on a
 * real number, or on depth beyond 64. */
int wharf_json_canonical(const json_t *v, enum wharf_canon_dialect dialect, struct wharf_buf *out,
			 struct wharf_error *err);

/* Parse untrusted JSON: size limit, duplicate keys refused, depth limit. */
int wharf_json_parse(json_t **out, const char *data, size_t len, size_t limit, struct wharf_error *err);

#endif
