/* Range and Content-Range headers from hostile clients.
 *
 * Input: the header value, then optionally '\n' and the resource size in decimal (digits
 * beyond uint64 wrap around, so every size is reachable). Without a size line the size is
 * taken from the input length, which keeps small sizes common. The header bytes also go
 * through wharf_parse_u64, checked against a plain model. */
#include <stdbool.h>

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

/* wharf_parse_u64 (behind every number above, and Content-Length) against a plain model. */
static void check_u64(const char *s, size_t len)
{
	uint64_t model = 0;
	bool digits = len > 0, overflow = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			digits = false;
			break;
		}
		overflow = overflow || __builtin_mul_overflow(model, 10, &model) ||
			   __builtin_add_overflow(model, (uint64_t)(s[i] - '0'), &model);
	}
	uint64_t v = 0xdeadbeef;
	if (wharf_parse_u64(s, len, &v)) {
		FUZZ_CHECK(digits && !overflow && v == model);
	} else {
		/* Refusing 21+ digits ("000...1") is allowed; refusing a plain number is not. */
		FUZZ_CHECK(!digits || overflow || len > 20);
		FUZZ_CHECK(v == 0xdeadbeef);
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

	check_u64(header, hlen);
	free(header);
	return 0;
}
