/* Parsing untrusted JSON: a size limit, duplicate keys refused, and a nesting limit checked on
 * the raw bytes first, so a hostile document never makes anyone recurse deeply. */
#include <string.h>

#include "wharf/json.h"

bool wharf_json_array_has_string(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

#define PARSE_MAX_DEPTH 64 /* the canonical encoder's limit: what we accept we can also sign */

/* Offset of the first bracket that opens level PARSE_MAX_DEPTH + 1, or len when there is none.
 * Only brackets outside strings count; malformed documents are left for jansson to refuse. */
static size_t find_too_deep(const char *data, size_t len)
{
	int depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > PARSE_MAX_DEPTH)
				return i;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return len;
}

int wharf_json_parse(json_t **out, const char *data, size_t len, size_t limit, struct wharf_error *err)
{
	if (len > limit)
		return wharf_error_set(err, WHARF_ETOOBIG, "JSON document is %zu bytes, over the limit of %zu",
				       len, limit);
	size_t deep = find_too_deep(data, len);
	if (deep < len)
		return wharf_error_set(err, WHARF_EINVAL,
				       "JSON document nests deeper than %d levels (at byte %zu)",
				       PARSE_MAX_DEPTH, deep);
	json_error_t jerr;
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return wharf_error_set(err, WHARF_EINVAL, "not valid JSON: %s at line %d column %d",
				       jerr.text, jerr.line, jerr.column);
	*out = v;
	return 0;
}
