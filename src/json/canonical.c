/* Canonical JSON as TUF (securesystemslib) and Notary (docker/go canonical/json) write it.
 *
 * Both write objects with keys sorted by their bytes, no whitespace, integers in decimal,
 * true/false/null, and strings with only '"' and '\\' escaped. That the Notary dialect escapes
 * nothing else was checked against Notary's vendored encoder (encodeState.string: in canonical
 * mode every byte below 0x80 other than the two is copied, and so is every byte above). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wharf/json.h"

#define CANON_MAX_DEPTH 64
/* The largest integer a float64 holds exactly, and so Notary's verifier reproduces. */
#define NOTARY_INT_MAX ((json_int_t)1 << 53)

/* Where in the document we are, as a chain up to the root; rendered only for an error. */
struct path {
	const struct path *up;
	const char *key; /* NULL for an array element */
	size_t key_len;
	size_t index;
};

struct member {
	const char *key;
	size_t key_len;
	const json_t *value;
};

static void path_render(const struct path *p, struct wharf_buf *b)
{
	if (!p) {
		wharf_buf_puts(b, "$");
		return;
	}
	path_render(p->up, b);
	if (!p->key) {
		wharf_buf_printf(b, "[%zu]", p->index);
		return;
	}
	bool plain = p->key_len > 0 && p->key_len <= 64;
	for (size_t i = 0; plain && i < p->key_len; i++) {
		char c = p->key[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-';
	}
	if (plain) {
		wharf_buf_puts(b, ".");
		wharf_buf_append(b, p->key, p->key_len);
		return;
	}
	/* Shown as a JSON string, cut short: the message has a fixed size. */
	char *k = wharf_xstrndup(p->key, p->key_len > 40 ? 40 : p->key_len);
	wharf_buf_puts(b, "[");
	wharf_buf_json_string(b, k);
	wharf_buf_puts(b, p->key_len > 40 ? "...]" : "]");
	free(k);
}

__attribute__((format(printf, 3, 4))) static int path_error(struct wharf_error *err,
							    const struct path *p, const char *fmt, ...)
{
	struct wharf_buf where;
	wharf_buf_init(&where);
	path_render(p, &where);
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int r = wharf_error_set(err, WHARF_EINVAL, "canonical JSON: %s: %s", where.data, what);
	wharf_buf_free(&where);
	return r;
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not well formed:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int encode_string(const char *s, size_t len, const struct path *p, struct wharf_buf *out,
			 struct wharf_error *err)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(u + i, len - i);
		if (n == 0)
			return path_error(err, p, "string is not valid UTF-8 (byte %zu)", i);
		i += n;
	}
	wharf_buf_append(out, "\"", 1);
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		wharf_buf_append(out, s + start, i - start);
		wharf_buf_append(out, "\\", 1);
		start = i; /* the quote or backslash itself goes out with the next run */
	}
	wharf_buf_append(out, s + start, len - start);
	wharf_buf_append(out, "\"", 1);
	return 0;
}

static int compare_members(const void *a, const void *b)
{
	const struct member *x = a;
	const struct member *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);
	if (c != 0)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static size_t object_key_len(const char *key)
{
#if JANSSON_VERSION_HEX >= 0x020e00
	return json_object_iter_key_len(json_object_key_to_iter(key));
#else
	return strlen(key);
#endif
}

static int encode_value(const json_t *v, const struct path *p, int depth,
			enum wharf_canon_dialect dialect, struct wharf_buf *out, struct wharf_error *err);

static int encode_object(const json_t *v, const struct path *p, int depth,
			 enum wharf_canon_dialect dialect, struct wharf_buf *out, struct wharf_error *err)
{
	size_t n = json_object_size(v);
	_cleanup_free_ struct member *m = wharf_xcalloc(n, sizeof(*m));
	size_t i = 0;
	/* jansson's iterator API takes a non-const object but does not change it. */
	json_t *obj = (json_t *)v;
	for (void *it = json_object_iter(obj); it && i < n; it = json_object_iter_next(obj, it)) {
		m[i].key = json_object_iter_key(it);
		m[i].key_len = object_key_len(m[i].key);
		m[i].value = json_object_iter_value(it);
		i++;
	}
	qsort(m, i, sizeof(*m), compare_members);
	wharf_buf_append(out, "{", 1);
	for (size_t j = 0; j < i; j++) {
		struct path here = {.up = p, .key = m[j].key, .key_len = m[j].key_len};
		if (j > 0)
			wharf_buf_append(out, ",", 1);
		int r = encode_string(m[j].key, m[j].key_len, &here, out, err);
		if (r < 0)
			return r;
		wharf_buf_append(out, ":", 1);
		r = encode_value(m[j].value, &here, depth, dialect, out, err);
		if (r < 0)
			return r;
	}
	wharf_buf_append(out, "}", 1);
	return 0;
}

static int encode_array(const json_t *v, const struct path *p, int depth,
			enum wharf_canon_dialect dialect, struct wharf_buf *out, struct wharf_error *err)
{
	wharf_buf_append(out, "[", 1);
	for (size_t i = 0; i < json_array_size(v); i++) {
		struct path here = {.up = p, .index = i};
		if (i > 0)
			wharf_buf_append(out, ",", 1);
		int r = encode_value(json_array_get(v, i), &here, depth, dialect, out, err);
		if (r < 0)
			return r;
	}
	wharf_buf_append(out, "]", 1);
	return 0;
}

static int encode_integer(json_int_t n, const struct path *p, enum wharf_canon_dialect dialect,
			  struct wharf_buf *out, struct wharf_error *err)
{
	if (dialect == WHARF_CANON_NOTARY && (n > NOTARY_INT_MAX || n < -NOTARY_INT_MAX))
		return path_error(err, p,
				  "integer %" JSON_INTEGER_FORMAT " is beyond +-2^53, which Notary "
				  "cannot verify exactly (it reads numbers as float64)",
				  n);
	wharf_buf_printf(out, "%" JSON_INTEGER_FORMAT, n);
	return 0;
}

static int encode_value(const json_t *v, const struct path *p, int depth,
			enum wharf_canon_dialect dialect, struct wharf_buf *out, struct wharf_error *err)
{
	if (!v)
		return path_error(err, p, "missing value");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (depth >= CANON_MAX_DEPTH)
			return path_error(err, p, "nested deeper than %d levels", CANON_MAX_DEPTH);
		return json_is_object(v) ? encode_object(v, p, depth + 1, dialect, out, err)
					 : encode_array(v, p, depth + 1, dialect, out, err);
	case JSON_STRING:
		return encode_string(json_string_value(v), json_string_length(v), p, out, err);
	case JSON_INTEGER:
		return encode_integer(json_integer_value(v), p, dialect, out, err);
	case JSON_REAL:
		return path_error(err, p, "real number %.17g is not allowed (integers only)",
				  json_real_value(v));
	case JSON_TRUE:
		wharf_buf_puts(out, "true");
		return 0;
	case JSON_FALSE:
		wharf_buf_puts(out, "false");
		return 0;
	case JSON_NULL:
		wharf_buf_puts(out, "null");
		return 0;
	}
	return path_error(err, p, "unknown JSON type");
}

int wharf_json_canonical(const json_t *v, enum wharf_canon_dialect dialect, struct wharf_buf *out,
			 struct wharf_error *err)
{
	if (dialect != WHARF_CANON_NOTARY && dialect != WHARF_CANON_OLPC)
		return wharf_error_set(err, WHARF_EINVAL, "canonical JSON: unknown dialect %d",
				       (int)dialect);
	size_t mark = out->len;
	int r = encode_value(v, NULL, 0, dialect, out, err);
	if (r < 0 && out->data) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return r;
}
