/* Helpers shared by the language catalogers in this folder (not part of libwharf's API). */
#ifndef WHARF_LANG_INTERNAL_H
#define WHARF_LANG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wharf/lang.h"
#include "wharf/pkg.h"

/* Append a package with ecosystem eco, found in the file at path. The purl is
 * "pkg:<type>/<namespace>/<name>@<version>" with each part percent-encoded; ns may be NULL.
 * Names or versions that are empty, too long (over 512 bytes) or hold control characters are
 * refused (nothing appended, returns false): they can only come from a damaged file. */
bool lang_pkg_add(struct wharf_pkg_list *out, const char *eco, const char *path, const char *purl_type,
		  const char *ns, const char *name, const char *version);
/* Same with name and version given as (pointer, length). */
bool lang_pkg_addn(struct wharf_pkg_list *out, const char *eco, const char *path, const char *purl_type,
		   const char *ns, const char *name, size_t name_len, const char *version, size_t version_len);

/* The last component of a path. */
const char *lang_basename(const char *path);
/* True when the component-wise path contains the directory name dir ("node_modules"). */
bool lang_path_has_dir(const char *path, const char *dir);
/* PEP 503 name normalisation: lower case, runs of '-', '_', '.' become one '-'. Caller frees. */
char *lang_pep503_name(const char *name);

/* A section of an ELF file found by name: its bytes inside the file, and its load address. */
struct lang_elf_section {
	const unsigned char *data;
	size_t size;
	uint64_t addr;
};
struct lang_elf {
	const unsigned char *data;
	size_t len;
	bool is64, big_endian;
	uint64_t shoff, shentsize, shnum, shstrndx;
};
/* Check the ELF header of (data, len) and its section header table bounds. */
int lang_elf_open(struct lang_elf *elf, const char *path, const unsigned char *data, size_t len,
		  struct wharf_error *err);
/* Find a section by name; 0 and *sec filled, or -WHARF_ENOTFOUND (no err message). A section
 * whose bytes lie outside the file (or SHT_NOBITS) is reported as WHARF_EINVAL. */
int lang_elf_section(const struct lang_elf *elf, const char *name, struct lang_elf_section *sec,
		     struct wharf_error *err);
/* Translate a virtual address to a (pointer, available length) in the file via section headers. */
const unsigned char *lang_elf_addr(const struct lang_elf *elf, uint64_t addr, size_t *avail);
uint64_t lang_elf_read_uint(const struct lang_elf *elf, const unsigned char *p, unsigned size);

/* Inflate zlib (wrap = 1) or raw deflate (wrap = 0) data into a new buffer of at most limit bytes;
 * expect is the declared size (or 0). Over limit is WHARF_ETOOBIG. */
int lang_inflate(const char *what, const unsigned char *in, size_t in_len, int wrap, size_t expect,
		 size_t limit, unsigned char **out, size_t *out_len, struct wharf_error *err);

#endif
