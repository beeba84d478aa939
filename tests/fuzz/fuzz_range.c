/* Range and Content-Range headers from hostile clients.
 *
 * Input: the header value, then optionally '\n' and the resource size in decimal (digits
 * beyond uint64 wrap around, so every size is reachable). Without a size line the size is
 * taken from the input length, which keeps small sizes common. */
#include "wharf/http.h"

#include "fuzz.h"

static void check_range(const char *header, uint64_t size)
{
	uint64_t start = 0xdeadbeef, end = 0xdeadbeef;
	int r = wharf_http_parse_range(header, size, &start, &end);
	FUZZ_CHECK(r == 0 || r == -WHARF_EINVAL || r == -WHARF_ERANGE);
	if (r == 0) {
		FUZZ_CHECK(start <= end);
		FUZZ_CHECK(end < size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	char *header = fuzz_strndup(data, hlen);
	uint64_t resource = (uint64_t)size * 7;
	if (nl) {
		resource = 0;
		for (const uint8_t *p = nl + 1; p < data + size; p++)
			if (*p >= '0' && *p <= '9')
				resource = resource * 10 + (uint64_t)(*p - '0');
	}

	check_range(header, resource);
	check_range(header, 0);
	check_range(header, 1);
	check_range(header, UINT64_MAX);

	uint64_t start = 0xdeadbeef, end = 0xdeadbeef;
	struct wharf_error err = {0};
	int r = wharf_http_parse_content_range(header, &start, &end, &err);
	if (r == 0)
		FUZZ_CHECK(start <= end);
	else
		FUZZ_CHECK(r == -WHARF_EINVAL && err.code == WHARF_EINVAL && err.message[0] != '\0');

	free(header);
	return 0;
}
