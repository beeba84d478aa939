#include <stdio.h>
#include <string.h>

#include "wharf/util.h"

void *wharf_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *wharf_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *wharf_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

char *wharf_xstrdup(const char *s)
{
	return wharf_xstrndup(s, strlen(s));
}

char *wharf_xstrndup(const char *s, size_t n)
{
	char *p = wharf_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *wharf_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (r < 0)
		abort();
	return out;
}

void wharf_buf_init(struct wharf_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void wharf_buf_free(struct wharf_buf *b)
{
	free(b->data);
	wharf_buf_init(b);
}

static void buf_reserve(struct wharf_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = wharf_xrealloc(b->data, cap);
	b->cap = cap;
}

void wharf_buf_append(struct wharf_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void wharf_buf_puts(struct wharf_buf *b, const char *s)
{
	wharf_buf_append(b, s, strlen(s));
}

void wharf_buf_printf(struct wharf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void wharf_buf_json_string(struct wharf_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	wharf_buf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[6];
		switch (*p) {
		case '"': wharf_buf_append(b, "\\\"", 2); break;
		case '\\': wharf_buf_append(b, "\\\\", 2); break;
		case '\n': wharf_buf_append(b, "\\n", 2); break;
		case '\r': wharf_buf_append(b, "\\r", 2); break;
		case '\t': wharf_buf_append(b, "\\t", 2); break;
		default:
			if (*p < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
				wharf_buf_append(b, esc, 6);
			} else {
				wharf_buf_append(b, p, 1);
			}
		}
	}
	wharf_buf_append(b, "\"", 1);
}

size_t wharf_buf_write_cb(char *data, size_t size, size_t n, void *buf)
{
	wharf_buf_append(buf, data, size * n);
	return size * n;
}

void wharf_buf_reset_cb(void *buf)
{
	struct wharf_buf *b = buf;
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

size_t wharf_buf_sink_write_cb(char *data, size_t size, size_t n, void *sink)
{
	struct wharf_buf_sink *s = sink;
	if (s->out->len + size * n > s->limit) {
		s->too_big = true;
		return 0;
	}
	wharf_buf_append(s->out, data, size * n);
	return size * n;
}

void wharf_buf_sink_reset_cb(void *sink)
{
	struct wharf_buf_sink *s = sink;
	wharf_buf_reset_cb(s->out);
	s->too_big = false;
}

char *wharf_buf_steal(struct wharf_buf *b)
{
	if (!b->data)
		return wharf_xstrdup("");
	char *d = b->data;
	wharf_buf_init(b);
	return d;
}

void wharf_strv_push_owned(struct wharf_strv *sv, char *s)
{
	sv->v = wharf_xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
	sv->v[sv->n++] = s;
}

void wharf_strv_push(struct wharf_strv *sv, const char *s)
{
	wharf_strv_push_owned(sv, wharf_xstrdup(s));
}

void wharf_strv_free(struct wharf_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}
