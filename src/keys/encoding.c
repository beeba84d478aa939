/* base64 and hex, strict: metadata carries keys and signatures in them, and a decoder that
 * let two spellings through for the same bytes would let two key IDs name one key. */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>

#include "keys-internal.h"

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encode len bytes with alphabet; pad the last group with '=' when pad is set. */
static char *b64_encode(const unsigned char *in, size_t len, const char *alphabet, bool pad)
{
	char *out = wharf_xmalloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < len || pad)
			out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		if (i + 2 < len || pad)
			out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

char *wharf_base64_encode(const void *data, size_t len)
{
	return b64_encode(data, len, b64_alphabet, true);
}

char *wharf_b64url_encode(const unsigned char *data, size_t len)
{
	return b64_encode(data, len, b64url_alphabet, false);
}

int wharf_base64_value(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* Decode exactly len characters of padded standard base64 into out. */
static int b64_decode(const char *s, size_t len, struct wharf_buf *out, struct wharf_error *err)
{
	if (len % 4 != 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "base64: length %zu is not a multiple of 4", len);
	if (len / 4 * 3 > INT_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "base64: %zu characters is too long", len);
	size_t pad = 0;
	if (len >= 1 && s[len - 1] == '=')
		pad++;
	if (len >= 2 && s[len - 2] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (wharf_base64_value((unsigned char)s[i], false) < 0)
			return wharf_error_set(err, WHARF_EINVAL,
					       "base64: character %zu (0x%02x) is not in the alphabet",
					       i, (unsigned char)s[i]);
	/* The bits a padded group does not use must be zero: one spelling per byte string. */
	if (pad == 1 && (wharf_base64_value((unsigned char)s[len - 2], false) & 3))
		return wharf_error_set(err, WHARF_EINVAL, "base64: non-zero bits before the padding");
	if (pad == 2 && (wharf_base64_value((unsigned char)s[len - 3], false) & 15))
		return wharf_error_set(err, WHARF_EINVAL, "base64: non-zero bits before the padding");
	size_t start = out->len;
	for (size_t i = 0; i < len; i += 4) {
		unsigned v = 0;
		for (size_t j = 0; j < 4; j++) {
			int d = wharf_base64_value((unsigned char)s[i + j], false);
			v = (v << 6) | (unsigned)(d < 0 ? 0 : d);
		}
		unsigned char b[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
		size_t n = i + 4 < len ? 3 : 3 - pad;
		wharf_buf_append(out, b, n);
	}
	return (int)(out->len - start);
}

int wharf_base64_decode(const char *s, struct wharf_buf *out, struct wharf_error *err)
{
	return b64_decode(s, strlen(s), out, err);
}

int keys_base64_decode_lines(const char *s, size_t len, struct wharf_buf *out, struct wharf_error *err)
{
	_cleanup_free_ char *flat = wharf_xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\n' && s[i] != '\r')
			flat[n++] = s[i];
	flat[n] = '\0';
	int r = b64_decode(flat, n, out, err);
	OPENSSL_cleanse(flat, n);
	return r;
}

char *wharf_hex_encode(const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *in = data;
	char *out = wharf_xmalloc(2 * len + 1);
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
	return out;
}

int wharf_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int wharf_hex_decode(const char *s, struct wharf_buf *out, struct wharf_error *err)
{
	size_t len = strlen(s);
	if (len % 2 != 0)
		return wharf_error_set(err, WHARF_EINVAL, "hex: odd length %zu", len);
	if (len / 2 > INT_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "hex: %zu characters is too long", len);
	for (size_t i = 0; i < len; i++)
		if (wharf_hex_value((unsigned char)s[i]) < 0)
			return wharf_error_set(err, WHARF_EINVAL,
					       "hex: character %zu (0x%02x) is not a hex digit", i,
					       (unsigned char)s[i]);
	size_t start = out->len;
	for (size_t i = 0; i < len; i += 2) {
		unsigned char b = (unsigned char)(wharf_hex_value((unsigned char)s[i]) << 4 |
						  wharf_hex_value((unsigned char)s[i + 1]));
		wharf_buf_append(out, &b, 1);
	}
	return (int)(out->len - start);
}
