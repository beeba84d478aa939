/* Shared by the language cataloger fuzz targets: run one cataloger over the input and check
 * what every cataloger promises: 0 or a negative wharf_errc with a message naming the file, and
 * packages with every field a cataloger sets filled, the given path, and no layer. */
#ifndef WHARF_FUZZ_LANG_H
#define WHARF_FUZZ_LANG_H

#include "wharf/lang.h"

#include "fuzz.h"

static inline void fuzz_cataloger(const struct wharf_cataloger *c, const char *path, const uint8_t *data,
				  size_t size)
{
	/* a heap copy of exactly the input, so ASan sees any read past its end */
	uint8_t *copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy != NULL);
	if (size)
		memcpy(copy, data, size);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	size_t n = size > c->max_size ? (size_t)c->max_size : size;
	int r = c->parse(path, copy, n, &l, &err);
	FUZZ_CHECK(r <= 0);
	if (r < 0) {
		FUZZ_CHECK(err.code == -r);
		FUZZ_CHECK(strstr(err.message, path) != NULL);
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct wharf_pkg *p = &l.v[i];
		FUZZ_CHECK(p->ecosystem && p->name && *p->name && p->version && *p->version);
		FUZZ_CHECK(p->path && strcmp(p->path, path) == 0);
		FUZZ_CHECK(p->purl && strncmp(p->purl, "pkg:", 4) == 0);
		FUZZ_CHECK(p->layer == -1 && !p->layer_digest && !p->layer_diffid);
	}
	wharf_pkg_list_free(&l);
	free(copy);
}

#endif
