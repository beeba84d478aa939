/* Go binaries: the build information the Go linker embeds (what `go version -m` prints).
 *
 * The .go.buildinfo section (or, with no section table, a 16-byte aligned search for its magic)
 * starts with a 32-byte header: "\xff Go buildinf:", the pointer size, and flags (bit 0: big
 * endian, bit 1: strings inline). Since Go 1.18 two varint-length strings follow the header:
 * the toolchain version and the module info. Before, the header holds two pointers to Go string
 * headers {data pointer, length}, resolved through the section table. The module info text,
 * framed by 16 sentinel bytes at each end, has lines "path\t", "mod\t<path>\t<version>[\t<sum>]",
 * "dep\t..." and "=>\t..." (the dependency above it is replaced by this one).
 * Reported: the main module, every dependency (replacement applied), and the toolchain as the
 * module "stdlib" with the version "v1.21.3" for "go1.21.3" (as Trivy does). */
#include <string.h>
#include <sys/stat.h>

#include "lang_internal.h"

#define GO_BINARY_MAX (256ull << 20)
#define GO_STRING_MAX (1u << 20)

static const char buildinfo_magic[14] = "\xff Go buildinf:";

static int wants(const char *path, mode_t mode, uint64_t size)
{
	if (size < 64 || size > GO_BINARY_MAX)
		return 0;
	if (mode & 0111)
		return 1;
	return lang_path_has_dir(path, "bin") || lang_path_has_dir(path, "sbin");
}

/* A uvarint string at p; false when it does not fit in [p, end). */
static bool read_varint_string(const unsigned char **p, const unsigned char *end, const char **s, size_t *len)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const unsigned char *q = *p;
	for (;;) {
		if (q >= end || shift > 63)
			return false;
		unsigned char b = *q++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
	}
	if (v > (uint64_t)(end - q) || v > GO_STRING_MAX)
		return false;
	*s = (const char *)q;
	*len = (size_t)v;
	*p = q + v;
	return true;
}

/* Pre-1.18: follow a pointer to a Go string header {ptr, len}. */
static bool read_string_ptr(const struct lang_elf *elf, const unsigned char *at, unsigned ptrsize,
			    const char **s, size_t *len)
{
	uint64_t hdr_addr = lang_elf_read_uint(elf, at, ptrsize);
	size_t avail = 0;
	const unsigned char *hdr = lang_elf_addr(elf, hdr_addr, &avail);
	if (!hdr || avail < 2u * ptrsize)
		return false;
	uint64_t data_addr = lang_elf_read_uint(elf, hdr, ptrsize);
	uint64_t n = lang_elf_read_uint(elf, hdr + ptrsize, ptrsize);
	const unsigned char *d = lang_elf_addr(elf, data_addr, &avail);
	if (n > GO_STRING_MAX || (n && (!d || avail < n)))
		return false;
	*s = n ? (const char *)d : "";
	*len = (size_t)n;
	return true;
}

static const unsigned char *find_magic(const unsigned char *data, size_t len)
{
	const unsigned char *p = data, *end = data + len, *m;
	while (p < end && (m = memmem(p, (size_t)(end - p), buildinfo_magic, sizeof(buildinfo_magic)))) {
		size_t off = (size_t)(m - data);
		if (off % 16 == 0 && len - off >= 32)
			return m;
		p = m + 1;
	}
	return NULL;
}

struct modline {
	const char *path, *version;
	size_t path_len, version_len;
};

/* Split "kind\tpath\tversion[\tsum]" */
static bool split_mod(const char *p, const char *end, struct modline *m)
{
	const char *t1 = memchr(p, '\t', (size_t)(end - p));
	if (!t1)
		return false;
	const char *t2 = memchr(t1 + 1, '\t', (size_t)(end - t1 - 1));
	if (!t2)
		return false;
	const char *t3 = memchr(t2 + 1, '\t', (size_t)(end - t2 - 1));
	m->path = t1 + 1;
	m->path_len = (size_t)(t2 - t1 - 1);
	m->version = t2 + 1;
	m->version_len = (size_t)((t3 ? t3 : end) - t2 - 1);
	return true;
}

static void add_module(struct wharf_pkg_list *out, const char *path, const struct modline *m)
{
	lang_pkg_addn(out, WHARF_ECO_GO, path, "golang", NULL, m->path, m->path_len, m->version, m->version_len);
}

static void parse_modinfo(const char *path, const char *s, size_t len, struct wharf_pkg_list *out)
{
	if (len >= 33 && s[len - 17] == '\n') { /* strip the sentinels */
		s += 16;
		len -= 32;
	}
	const char *p = s, *end = s + len;
	struct modline pending = {0};
	bool have_pending = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct modline m;
		bool is_mod = le - p > 4 && memcmp(p, "mod\t", 4) == 0;
		bool is_dep = le - p > 4 && memcmp(p, "dep\t", 4) == 0;
		bool is_repl = le - p > 3 && memcmp(p, "=>\t", 3) == 0;
		if ((is_mod || is_dep) && split_mod(p, le, &m)) {
			if (have_pending)
				add_module(out, path, &pending);
			pending = m;
			have_pending = true;
		} else if (is_repl && have_pending) {
			/* "=>\tpath\tversion\tsum"; a local directory ("./dep", "/src/dep") replaces
			 * the code but names no module: keep the module path, version "(devel)" */
			struct modline m2;
			bool ok = split_mod(p, le, &m2) && m2.path_len > 0;
			if (ok && (m2.path[0] == '.' || m2.path[0] == '/'))
				pending.version = "(devel)", pending.version_len = 7;
			else if (ok)
				pending = m2;
		}
		p = nl ? nl + 1 : end;
	}
	if (have_pending)
		add_module(out, path, &pending);
}

static void add_stdlib(struct wharf_pkg_list *out, const char *path, const char *ver, size_t len)
{
	size_t n = 0;
	while (n < len && ver[n] != ' ')
		n++; /* "go1.21.3 X:boringcrypto" */
	if (n < 3 || memcmp(ver, "go", 2) != 0)
		return;
	_cleanup_free_ char *v = wharf_xasprintf("v%.*s", (int)(n - 2), ver + 2);
	lang_pkg_add(out, WHARF_ECO_GO, path, "golang", NULL, "stdlib", v);
}

static int parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		 struct wharf_error *err)
{
	if (len < 4 || memcmp(data, "\x7f" "ELF", 4) != 0)
		return 0; /* scripts and other executables: not ours */
	struct lang_elf elf;
	int r = lang_elf_open(&elf, path, data, len, err);
	if (r < 0)
		return r;
	struct lang_elf_section sec;
	const unsigned char *hdr = NULL, *end = data + len;
	r = lang_elf_section(&elf, ".go.buildinfo", &sec, err);
	if (r == 0 && sec.size >= 32 && memcmp(sec.data, buildinfo_magic, sizeof(buildinfo_magic)) == 0) {
		hdr = sec.data;
		end = sec.data + sec.size;
	} else if (r == -WHARF_EINVAL) {
		return wharf_error_prefix(err, "Go binary %s", path);
	} else if (r == -WHARF_ENOTFOUND) {
		hdr = find_magic(data, len);
	}
	if (!hdr)
		return 0; /* not a Go binary (or built without build info) */
	unsigned ptrsize = hdr[14], flags = hdr[15];
	const char *ver = NULL, *mod = NULL;
	size_t ver_len = 0, mod_len = 0;
	if (flags & 2) {
		const unsigned char *p = hdr + 32;
		if (!read_varint_string(&p, end, &ver, &ver_len) || !read_varint_string(&p, end, &mod, &mod_len))
			return wharf_error_set(err, WHARF_EINVAL, "Go binary %s: build info strings overrun the section",
					       path);
	} else {
		if (ptrsize != 4 && ptrsize != 8)
			return wharf_error_set(err, WHARF_EINVAL, "Go binary %s: build info pointer size %u is invalid",
					       path, ptrsize);
		struct lang_elf e2 = elf;
		e2.big_endian = flags & 1;
		if (!read_string_ptr(&e2, hdr + 16, ptrsize, &ver, &ver_len) ||
		    !read_string_ptr(&e2, hdr + 16 + ptrsize, ptrsize, &mod, &mod_len))
			return wharf_error_set(err, WHARF_EINVAL,
					       "Go binary %s: build info pointers lie outside the file", path);
	}
	parse_modinfo(path, mod, mod_len, out);
	add_stdlib(out, path, ver, ver_len);
	return 0;
}

const struct wharf_cataloger wharf_cataloger_gobinary = {
	.name = "gobinary",
	.max_size = GO_BINARY_MAX,
	.wants = wants,
	.parse = parse,
};
