/* Shared helpers of the language catalogers: package records with purls, path tests, ELF
 * sections, zlib inflation. */
#include <string.h>
#include <zlib.h>

#include "lang_internal.h"

#define LANG_FIELD_MAX 512

static bool field_ok(const char *s, size_t len)
{
	if (len == 0 || len > LANG_FIELD_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* purl-spec: percent-encode everything but unreserved characters (and ':' is not needed). */
static void purl_part(struct wharf_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			wharf_buf_append(b, &s[i], 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			wharf_buf_append(b, e, 3);
		}
	}
}

/* Name parts with '/' (npm scopes, Go module paths, composer vendor/name) keep their slashes
 * as purl namespace separators. */
static void purl_path(struct wharf_buf *b, const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			if (start > 0)
				wharf_buf_puts(b, "/");
			purl_part(b, s + start, i - start);
			start = i + 1;
		}
	}
}

bool lang_pkg_addn(struct wharf_pkg_list *out, const char *eco, const char *path, const char *purl_type,
		   const char *ns, const char *name, size_t name_len, const char *version, size_t version_len)
{
	if (!field_ok(name, name_len) || !field_ok(version, version_len))
		return false;
	struct wharf_buf purl;
	wharf_buf_init(&purl);
	wharf_buf_printf(&purl, "pkg:%s/", purl_type);
	if (ns && *ns) {
		purl_path(&purl, ns, strlen(ns));
		wharf_buf_puts(&purl, "/");
	}
	purl_path(&purl, name, name_len);
	wharf_buf_puts(&purl, "@");
	purl_part(&purl, version, version_len);

	struct wharf_pkg *p = wharf_pkg_list_add(out);
	p->ecosystem = wharf_xstrdup(eco);
	p->name = wharf_xstrndup(name, name_len);
	p->version = wharf_xstrndup(version, version_len);
	p->path = wharf_xstrdup(path);
	p->purl = wharf_buf_steal(&purl);
	return true;
}

bool lang_pkg_add(struct wharf_pkg_list *out, const char *eco, const char *path, const char *purl_type,
		  const char *ns, const char *name, const char *version)
{
	if (!name || !version)
		return false;
	return lang_pkg_addn(out, eco, path, purl_type, ns, name, strlen(name), version, strlen(version));
}

const char *lang_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

bool lang_path_has_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	for (const char *p = path; (p = strstr(p, dir)) != NULL; p += n) {
		bool starts = p == path || p[-1] == '/';
		if (starts && p[n] == '/')
			return true;
	}
	return false;
}

char *lang_pep503_name(const char *name)
{
	size_t len = strlen(name);
	char *out = wharf_xmalloc(len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '-' || c == '_' || c == '.') {
			if (o == out || o[-1] != '-')
				*o++ = '-';
			continue;
		}
		*o++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	*o = '\0';
	return out;
}

/* ELF --------------------------------------------------------------------------------------- */

uint64_t lang_elf_read_uint(const struct lang_elf *elf, const unsigned char *p, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned shift = elf->big_endian ? 8 * (size - 1 - i) : 8 * i;
		v |= (uint64_t)p[i] << shift;
	}
	return v;
}

int lang_elf_open(struct lang_elf *elf, const char *path, const unsigned char *data, size_t len,
		  struct wharf_error *err)
{
	memset(elf, 0, sizeof(*elf));
	if (len < 52 || memcmp(data, "\x7f" "ELF", 4) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not an ELF file (no ELF magic)", path);
	if ((data[4] != 1 && data[4] != 2) || (data[5] != 1 && data[5] != 2))
		return wharf_error_set(err, WHARF_EINVAL, "%s: ELF class or byte order is invalid", path);
	elf->data = data;
	elf->len = len;
	elf->is64 = data[4] == 2;
	elf->big_endian = data[5] == 2;
	if (elf->is64 && len < 64)
		return wharf_error_set(err, WHARF_EINVAL, "%s: ELF header is truncated", path);
	if (elf->is64) {
		elf->shoff = lang_elf_read_uint(elf, data + 0x28, 8);
		elf->shentsize = lang_elf_read_uint(elf, data + 0x3a, 2);
		elf->shnum = lang_elf_read_uint(elf, data + 0x3c, 2);
		elf->shstrndx = lang_elf_read_uint(elf, data + 0x3e, 2);
	} else {
		elf->shoff = lang_elf_read_uint(elf, data + 0x20, 4);
		elf->shentsize = lang_elf_read_uint(elf, data + 0x2e, 2);
		elf->shnum = lang_elf_read_uint(elf, data + 0x30, 2);
		elf->shstrndx = lang_elf_read_uint(elf, data + 0x32, 2);
	}
	uint64_t need = elf->is64 ? 64 : 40;
	if (elf->shnum == 0)
		return 0; /* no section table (stripped of it): callers fall back to a search */
	if (elf->shentsize < need || elf->shoff > len || elf->shnum > (len - elf->shoff) / elf->shentsize)
		return wharf_error_set(err, WHARF_EINVAL, "%s: ELF section header table lies outside the file",
				       path);
	if (elf->shstrndx >= elf->shnum)
		return wharf_error_set(err, WHARF_EINVAL, "%s: ELF section name table index is out of range",
				       path);
	return 0;
}

struct shdr {
	uint32_t name, type;
	uint64_t addr, offset, size;
};

static void read_shdr(const struct lang_elf *elf, uint64_t i, struct shdr *s)
{
	const unsigned char *p = elf->data + elf->shoff + i * elf->shentsize;
	s->name = (uint32_t)lang_elf_read_uint(elf, p, 4);
	s->type = (uint32_t)lang_elf_read_uint(elf, p + 4, 4);
	if (elf->is64) {
		s->addr = lang_elf_read_uint(elf, p + 0x10, 8);
		s->offset = lang_elf_read_uint(elf, p + 0x18, 8);
		s->size = lang_elf_read_uint(elf, p + 0x20, 8);
	} else {
		s->addr = lang_elf_read_uint(elf, p + 0x0c, 4);
		s->offset = lang_elf_read_uint(elf, p + 0x10, 4);
		s->size = lang_elf_read_uint(elf, p + 0x14, 4);
	}
}

#define SHT_NOBITS_ 8

static bool in_file(const struct lang_elf *elf, const struct shdr *s)
{
	return s->type != SHT_NOBITS_ && s->offset <= elf->len && s->size <= elf->len - s->offset;
}

int lang_elf_section(const struct lang_elf *elf, const char *name, struct lang_elf_section *sec,
		     struct wharf_error *err)
{
	if (elf->shnum == 0)
		return -WHARF_ENOTFOUND;
	struct shdr strtab;
	read_shdr(elf, elf->shstrndx, &strtab);
	if (!in_file(elf, &strtab))
		return wharf_error_set(err, WHARF_EINVAL, "ELF section name table lies outside the file");
	size_t nlen = strlen(name);
	for (uint64_t i = 0; i < elf->shnum; i++) {
		struct shdr s;
		read_shdr(elf, i, &s);
		if (s.name >= strtab.size || strtab.size - s.name < nlen + 1)
			continue;
		const unsigned char *n = elf->data + strtab.offset + s.name;
		if (memcmp(n, name, nlen + 1) != 0)
			continue;
		if (!in_file(elf, &s))
			return wharf_error_set(err, WHARF_EINVAL, "ELF section %s lies outside the file", name);
		sec->data = elf->data + s.offset;
		sec->size = (size_t)s.size;
		sec->addr = s.addr;
		return 0;
	}
	return -WHARF_ENOTFOUND;
}

const unsigned char *lang_elf_addr(const struct lang_elf *elf, uint64_t addr, size_t *avail)
{
	for (uint64_t i = 0; i < elf->shnum; i++) {
		struct shdr s;
		read_shdr(elf, i, &s);
		if (s.addr == 0 || !in_file(elf, &s) || addr < s.addr || addr - s.addr >= s.size)
			continue;
		*avail = (size_t)(s.size - (addr - s.addr));
		return elf->data + s.offset + (addr - s.addr);
	}
	return NULL;
}

/* zlib -------------------------------------------------------------------------------------- */

int lang_inflate(const char *what, const unsigned char *in, size_t in_len, int wrap, size_t expect,
		 size_t limit, unsigned char **out, size_t *out_len, struct wharf_error *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, wrap ? 15 : -15) != Z_OK)
		return wharf_error_set(err, WHARF_EINTERNAL, "%s: zlib initialisation failed", what);
	size_t cap = expect && expect <= limit ? expect + 1 : 4096, len = 0;
	unsigned char *buf = wharf_xmalloc(cap);
	zs.next_in = (unsigned char *)in;
	int r = Z_OK;
	size_t in_left = in_len;
	while (r != Z_STREAM_END) {
		if (len == cap) {
			if (cap > limit) {
				inflateEnd(&zs);
				free(buf);
				return wharf_error_set(err, WHARF_ETOOBIG,
						       "%s: inflates to more than the limit of %zu bytes", what,
						       limit);
			}
			cap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
			buf = wharf_xrealloc(buf, cap);
		}
		uInt chunk_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
		zs.avail_in = chunk_in;
		zs.next_out = buf + len;
		zs.avail_out = (uInt)(cap - len > (1u << 30) ? (1u << 30) : cap - len);
		uInt before_out = zs.avail_out;
		r = inflate(&zs, Z_NO_FLUSH);
		in_left -= chunk_in - zs.avail_in;
		len += before_out - zs.avail_out;
		if (r == Z_BUF_ERROR && in_left == 0 && zs.avail_out != 0)
			r = Z_DATA_ERROR; /* truncated stream */
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
			inflateEnd(&zs);
			free(buf);
			return wharf_error_set(err, WHARF_EINVAL, "%s: compressed data is corrupt (%s)", what,
					       zs.msg ? zs.msg : "zlib error");
		}
		if (len > limit) {
			inflateEnd(&zs);
			free(buf);
			return wharf_error_set(err, WHARF_ETOOBIG,
					       "%s: inflates to more than the limit of %zu bytes", what, limit);
		}
	}
	inflateEnd(&zs);
	*out = buf;
	*out_len = len;
	return 0;
}
