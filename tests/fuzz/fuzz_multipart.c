/* multipart/form-data bodies of trust publishes: the first line of the input is the
 * Content-Type, the rest the body. Parts must lie inside the body and not overlap. */
#include "wharf/http.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ct_len = nl ? (size_t)(nl - data) : size;
	char *ct = fuzz_strndup(data, ct_len);
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t body_len = nl ? size - ct_len - 1 : 0;
	struct wharf_multipart_part parts[8];
	size_t n = 0;
	struct wharf_error err;
	if (wharf_multipart_parse(ct, body, body_len, parts, 8, &n, &err) == 0) {
		FUZZ_CHECK(n <= 8);
		const char *prev_end = body;
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(parts[i].data >= prev_end);
			FUZZ_CHECK(parts[i].data + parts[i].len <= body + body_len);
			FUZZ_CHECK(memchr(parts[i].name, '\0', sizeof(parts[i].name)) != NULL);
			FUZZ_CHECK(memchr(parts[i].filename, '\0', sizeof(parts[i].filename)) != NULL);
			prev_end = parts[i].data + parts[i].len;
		}
	} else {
		FUZZ_CHECK(err.message[0] != '\0');
	}
	free(ct);
	return 0;
}
