/* A minimal reader of zip archives held in memory (jar, war, ear): the central directory,
 * stored and deflated entries. Every offset and size is checked against the buffer. */
#ifndef WHARF_LANG_ZIP_H
#define WHARF_LANG_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "wharf/util.h"

struct lang_zip {
	const char *what; /* for messages: the archive's path */
	const unsigned char *data;
	size_t len;
	size_t cd_off, cd_end;
	uint64_t count;
};
struct lang_zip_entry {
	const char *name; /* not NUL-terminated */
	size_t name_len;
	unsigned method;  /* 0 stored, 8 deflate */
	uint64_t csize, usize;
	uint64_t local_off;
};

/* Find the end of central directory record and check the directory lies inside the data. */
int lang_zip_open(struct lang_zip *z, const char *what, const unsigned char *data, size_t len,
		  struct wharf_error *err);
/* The next central directory entry from *pos (start at 0): 1 with *e filled, 0 at the end. */
int lang_zip_next(const struct lang_zip *z, size_t *pos, struct lang_zip_entry *e, struct wharf_error *err);
/* The uncompressed bytes of an entry (caller frees), refusing more than limit bytes. */
int lang_zip_read(const struct lang_zip *z, const struct lang_zip_entry *e, size_t limit,
		  unsigned char **out, size_t *out_len, struct wharf_error *err);

#endif
