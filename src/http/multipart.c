#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wharf/http.h"

/* boundary=... from the Content-Type, quoted or not (RFC 2046: 1 to 70 characters). */
static int find_boundary(const char *content_type, char *out, size_t out_len, struct wharf_error *err)
{
	if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "Content-Type '%.80s' is not multipart/form-data",
				       content_type ? content_type : "");
	const char *b = strcasestr(content_type, "boundary=");
	if (!b)
		return wharf_error_set(err, WHARF_EINVAL, "multipart Content-Type has no boundary");
	b += 9;
	size_t n;
	if (*b == '"') {
		b++;
		const char *q = strchr(b, '"');
		n = q ? (size_t)(q - b) : 0;
	} else {
		n = strcspn(b, "; \t");
	}
	if (n == 0 || n > 70 || n + 1 > out_len)
		return wharf_error_set(err, WHARF_EINVAL, "multipart boundary must be 1 to 70 characters");
	memcpy(out, b, n);
	out[n] = '\0';
	return 0;
}

/* Copy the value of param (name= or filename=) from a Content-Disposition header. */
static void disposition_param(const char *hdr, size_t hlen, const char *param, char *out, size_t out_len)
{
	out[0] = '\0';
	size_t plen = strlen(param);
	for (size_t i = 0; i + plen + 1 < hlen; i++) {
		bool at_word = i == 0 || hdr[i - 1] == ' ' || hdr[i - 1] == ';' || hdr[i - 1] == '\t';
		if (!at_word || strncasecmp(hdr + i, param, plen) != 0 || hdr[i + plen] != '=')
			continue;
		const char *v = hdr + i + plen + 1, *end = hdr + hlen;
		size_t n = 0;
		if (v < end && *v == '"') {
			v++;
			while (v + n < end && v[n] != '"')
				n++;
		} else {
			while (v + n < end && v[n] != ';' && v[n] != ' ' && v[n] != '\r')
				n++;
		}
		if (n >= out_len)
			n = out_len - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return;
	}
}

/* The headers of one part: [start, end) holds lines separated by CRLF. */
static int parse_part_headers(const char *start, const char *end, struct wharf_multipart_part *p,
			      struct wharf_error *err)
{
	bool has_disposition = false;
	while (start < end) {
		const char *eol = memmem(start, (size_t)(end - start), "\r\n", 2);
		const char *line_end = eol ? eol : end;
		size_t len = (size_t)(line_end - start);
		if (len > 20 && strncasecmp(start, "Content-Disposition:", 20) == 0) {
			has_disposition = true;
			disposition_param(start + 20, len - 20, "name", p->name, sizeof(p->name));
			disposition_param(start + 20, len - 20, "filename", p->filename, sizeof(p->filename));
		}
		start = eol ? eol + 2 : end;
	}
	if (!has_disposition)
		return wharf_error_set(err, WHARF_EINVAL, "a multipart part has no Content-Disposition header");
	return 0;
}

int wharf_multipart_parse(const char *content_type, const char *body, size_t len,
			  struct wharf_multipart_part *parts, size_t max_parts, size_t *nparts,
			  struct wharf_error *err)
{
	char boundary[80], delim[84];
	int r = find_boundary(content_type, boundary, sizeof(boundary), err);
	if (r < 0)
		return r;
	int dlen = snprintf(delim, sizeof(delim), "--%s", boundary);
	const char *end = body + len;
	const char *p = memmem(body, len, delim, (size_t)dlen);
	*nparts = 0;
	if (!p)
		return wharf_error_set(err, WHARF_EINVAL, "multipart body has no '--%s' delimiter", boundary);
	for (;;) {
		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0; /* the close delimiter */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return wharf_error_set(err, WHARF_EINVAL, "multipart delimiter is not followed by CRLF");
		p += 2;
		const char *hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hdr_end)
			return wharf_error_set(err, WHARF_EINVAL, "multipart part %zu has no end of headers", *nparts + 1);
		if (*nparts == max_parts)
			return wharf_error_set(err, WHARF_EINVAL, "multipart body has more than %zu parts", max_parts);
		struct wharf_multipart_part *part = &parts[*nparts];
		memset(part, 0, sizeof(*part));
		if ((r = parse_part_headers(p, hdr_end, part, err)) < 0)
			return r;
		const char *data = hdr_end + 4;
		/* The part ends at CRLF followed by the delimiter. */
		const char *next = data;
		for (;;) {
			next = memmem(next, (size_t)(end - next), delim, (size_t)dlen);
			if (!next)
				return wharf_error_set(err, WHARF_EINVAL, "multipart part %zu is not terminated", *nparts + 1);
			if (next - data >= 2 && next[-2] == '\r' && next[-1] == '\n')
				break;
			next++;
		}
		part->data = data;
		part->len = (size_t)(next - 2 - data);
		(*nparts)++;
		p = next;
	}
}
