/* wharf_json_parse and wharf_json_canonical on hostile bytes (TUF and Notary metadata).
 *
 * Whatever parses must encode canonically in both dialects or be refused with a message, and
 * the encoding must be a fixed point: parsed again and encoded again, the same bytes. The two
 * dialects write the same bytes whenever both accept; the Notary dialect accepts less (no
 * integers beyond 2^53). Canonical JSON writes control characters raw, which is not RFC 8259
 * JSON, so they are escaped as \u00XX before the output is parsed again. */
#include <jansson.h>

#include "wharf/json.h"

#include "fuzz.h"

#define LIMIT (1u << 20)

static void check_failure(int r, const struct wharf_error *err)
{
	FUZZ_CHECK(r < 0);
	FUZZ_CHECK(err->code != 0 && r == -err->code);
	FUZZ_CHECK(err->message[0] != '\0');
	FUZZ_CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
}

/* Canonical output with its raw control characters escaped: the input of a strict parser. */
static char *escape_controls(const struct wharf_buf *b, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	char *out = malloc(6 * b->len + 1);
	if (!out)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (c < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else {
			out[n++] = (char)c;
		}
	}
	*len = n;
	return out;
}

/* Encode v in dialect d; on success check the fixed point and hand back the bytes. */
static bool encode(const json_t *v, enum wharf_canon_dialect d, struct wharf_buf *out)
{
	struct wharf_error err = {0};
	int r = wharf_json_canonical(v, d, out, &err);
	if (r < 0) {
		check_failure(r, &err);
		FUZZ_CHECK(r == -WHARF_EINVAL);
		FUZZ_CHECK(out->len == 0);
		return false;
	}
	FUZZ_CHECK(out->len > 0 && strlen(out->data) <= out->len);
	size_t len;
	char *text = escape_controls(out, &len);
	json_t *again = NULL;
	r = wharf_json_parse(&again, text, len, SIZE_MAX, &err);
	if (r < 0)
		fprintf(stderr, "canonical output does not parse: %s\n", err.message);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(json_equal((json_t *)v, again));
	struct wharf_buf second;
	wharf_buf_init(&second);
	FUZZ_CHECK(wharf_json_canonical(again, d, &second, &err) == 0);
	FUZZ_CHECK(second.len == out->len && memcmp(second.data, out->data, out->len) == 0);
	wharf_buf_free(&second);
	json_decref(again);
	free(text);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy without a terminator: ASan catches any read past the end. */
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	json_t *v = NULL;
	struct wharf_error err = {0};
	int r = wharf_json_parse(&v, s, size, LIMIT, &err);
	if (r < 0) {
		check_failure(r, &err);
		free(s);
		return 0;
	}
	FUZZ_CHECK(json_is_object(v) || json_is_array(v));
	struct wharf_buf notary, olpc;
	wharf_buf_init(&notary);
	wharf_buf_init(&olpc);
	bool n_ok = encode(v, WHARF_CANON_NOTARY, &notary);
	bool o_ok = encode(v, WHARF_CANON_OLPC, &olpc);
	if (n_ok)
		FUZZ_CHECK(o_ok);
	if (n_ok && o_ok)
		FUZZ_CHECK(notary.len == olpc.len && memcmp(notary.data, olpc.data, olpc.len) == 0);
	wharf_buf_free(&notary);
	wharf_buf_free(&olpc);
	json_decref(v);
	free(s);
	return 0;
}
