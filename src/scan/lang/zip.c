/* Zip central directory reader; see zip.h. APPNOTE.TXT 4.3.12 (central directory header),
 * 4.3.16 (end of central directory), 4.3.7 (local file header). Zip64 archives are refused. */
#include <stdio.h>
#include <string.h>

#include "lang_internal.h"
#include "zip.h"

static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

int lang_zip_open(struct lang_zip *z, const char *what, const unsigned char *data, size_t len,
		  struct wharf_error *err)
{
	memset(z, 0, sizeof(*z));
	z->what = what;
	if (len < 22)
		return wharf_error_set(err, WHARF_EINVAL, "%s: too short for a zip archive", what);
	/* the EOCD record is the last 22 bytes plus a comment of up to 65535 bytes */
	size_t lowest = len > 22 + 65535 ? len - 22 - 65535 : 0;
	for (size_t off = len - 22 + 1; off-- > lowest;) {
		const unsigned char *p = data + off;
		if (le32(p) != 0x06054b50 || off + 22 + le16(p + 20) != len)
			continue;
		uint32_t count = le16(p + 10), cd_size = le32(p + 12), cd_off = le32(p + 16);
		if (count == 0xffff || cd_off == 0xffffffffu)
			return wharf_error_set(err, WHARF_EUNSUPPORTED, "%s: zip64 archives are not read", what);
		if (cd_off > off || cd_size > off - cd_off)
			return wharf_error_set(err, WHARF_EINVAL, "%s: zip central directory lies outside the file",
					       what);
		z->data = data;
		z->len = len;
		z->cd_off = cd_off;
		z->cd_end = (size_t)cd_off + cd_size;
		z->count = count;
		return 0;
	}
	return wharf_error_set(err, WHARF_EINVAL, "%s: no zip end of central directory record", what);
}

int lang_zip_next(const struct lang_zip *z, size_t *pos, struct lang_zip_entry *e, struct wharf_error *err)
{
	size_t off = z->cd_off + *pos;
	if (off >= z->cd_end)
		return 0;
	if (z->cd_end - off < 46 || le32(z->data + off) != 0x02014b50)
		return wharf_error_set(err, WHARF_EINVAL, "%s: zip central directory entry at %zu is damaged",
				       z->what, off);
	const unsigned char *p = z->data + off;
	size_t name_len = le16(p + 28), extra_len = le16(p + 30), comment_len = le16(p + 32);
	size_t total = 46 + name_len + extra_len + comment_len;
	if (total > z->cd_end - off)
		return wharf_error_set(err, WHARF_EINVAL, "%s: zip central directory entry at %zu overruns it",
				       z->what, off);
	e->method = le16(p + 10);
	e->csize = le32(p + 20);
	e->usize = le32(p + 24);
	e->local_off = le32(p + 42);
	e->name = (const char *)p + 46;
	e->name_len = name_len;
	*pos += total;
	return 1;
}

int lang_zip_read(const struct lang_zip *z, const struct lang_zip_entry *e, size_t limit,
		  unsigned char **out, size_t *out_len, struct wharf_error *err)
{
	char what[300];
	snprintf(what, sizeof(what), "%s: entry %.*s", z->what, (int)(e->name_len > 200 ? 200 : e->name_len),
		 e->name);
	if (e->csize == 0xffffffffu || e->usize == 0xffffffffu || e->local_off == 0xffffffffu)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "%s: zip64 entries are not read", what);
	if (e->usize > limit)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: %llu bytes, over the limit of %zu", what,
				       (unsigned long long)e->usize, limit);
	size_t off = (size_t)e->local_off;
	if (off > z->len || z->len - off < 30 || le32(z->data + off) != 0x04034b50)
		return wharf_error_set(err, WHARF_EINVAL, "%s: zip local header is missing", what);
	size_t data_off = off + 30 + le16(z->data + off + 26) + le16(z->data + off + 28);
	if (data_off > z->len || e->csize > z->len - data_off)
		return wharf_error_set(err, WHARF_EINVAL, "%s: compressed data lies outside the archive", what);
	const unsigned char *cdata = z->data + data_off;
	if (e->method == 0) {
		if (e->csize != e->usize)
			return wharf_error_set(err, WHARF_EINVAL, "%s: stored entry sizes disagree", what);
		*out = wharf_xmalloc(e->usize + 1);
		memcpy(*out, cdata, e->usize);
		*out_len = e->usize;
		return 0;
	}
	if (e->method != 8)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "%s: compression method %u is not read", what,
				       e->method);
	return lang_inflate(what, cdata, e->csize, 0, e->usize, limit, out, out_len, err);
}
