#include <string.h>

#include "wharf/http.h"

static bool parse_num(const char *s, size_t len, uint64_t *out)
{
	while (len && s[0] == ' ')
		s++, len--;
	while (len && s[len - 1] == ' ')
		len--;
	return wharf_parse_u64(s, len, out);
}

int wharf_http_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *end)
{
	if (!wharf_str_has_prefix(header, "bytes="))
		return -WHARF_EINVAL;
	const char *spec = header + 6;
	if (strchr(spec, ','))
		return -WHARF_EINVAL; /* several ranges: we may ignore Range and send it all */
	const char *dash = strchr(spec, '-');
	if (!dash)
		return -WHARF_EINVAL;
	size_t first_len = (size_t)(dash - spec), last_len = strlen(dash + 1);
	uint64_t a, b;
	if (first_len == 0) {
		/* suffix range: the last b bytes */
		if (!parse_num(dash + 1, last_len, &b))
			return -WHARF_EINVAL;
		if (b == 0 || size == 0)
			return -WHARF_ERANGE;
		*start = b >= size ? 0 : size - b;
		*end = size - 1;
		return 0;
	}
	if (!parse_num(spec, first_len, &a))
		return -WHARF_EINVAL;
	if (last_len == 0) {
		b = UINT64_MAX;
	} else if (!parse_num(dash + 1, last_len, &b) || b < a) {
		return -WHARF_EINVAL;
	}
	if (a >= size)
		return -WHARF_ERANGE;
	*start = a;
	*end = b >= size ? size - 1 : b;
	return 0;
}

int wharf_http_parse_content_range(const char *header, uint64_t *start, uint64_t *end,
				   struct wharf_error *err)
{
	const char *s = header;
	if (wharf_str_has_prefix(s, "bytes="))
		s += 6;
	else if (wharf_str_has_prefix(s, "bytes "))
		s += 6;
	const char *dash = strchr(s, '-');
	const char *slash = strchr(s, '/');
	size_t end_len = slash ? (size_t)(slash - dash - 1) : (dash ? strlen(dash + 1) : 0);
	uint64_t total;
	bool total_ok = !slash || strcmp(slash + 1, "*") == 0 ||
			(parse_num(slash + 1, strlen(slash + 1), &total) && dash && slash > dash);
	if (!dash || (slash && slash < dash) || !total_ok || !parse_num(s, (size_t)(dash - s), start) ||
	    !parse_num(dash + 1, end_len, end) || *end < *start || (slash && strcmp(slash + 1, "*") && *end >= total))
		return wharf_error_set(err, WHARF_EINVAL,
				       "Content-Range '%.64s' is not of the form <start>-<end> with start <= end",
				       header);
	return 0;
}
