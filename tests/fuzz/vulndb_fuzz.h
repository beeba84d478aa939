/* Shared by the vulndb importer fuzz targets: one in-memory database for the whole run, each
 * input imported inside a savepoint that is rolled back, and the error contract checked. */
#ifndef WHARF_VULNDB_FUZZ_H
#define WHARF_VULNDB_FUZZ_H

#include "src/vulndb/internal.h"

#include "fuzz.h"

static struct vulndb_writer *fuzz_writer(void)
{
	static struct vulndb_writer *w;
	if (!w) {
		struct wharf_error err = {0};
		if (vulndb_writer_open(&w, ":memory:", &err) < 0) {
			fprintf(stderr, "fuzz: %s\n", err.message);
			abort();
		}
	}
	return w;
}

static void fuzz_import(const char *format, const uint8_t *data, size_t size)
{
	struct vulndb_writer *w = fuzz_writer();
	struct wharf_error err = {0};
	FUZZ_CHECK(sqlite3_exec(w->db, "SAVEPOINT f", NULL, NULL, NULL) == SQLITE_OK);
	/* An exact-size heap copy: ASan sees any read past the end. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);
	int r = vulndb_import_buffer(w, format, "input", copy, size, &err);
	if (r < 0) {
		FUZZ_CHECK(err.code != 0 && r == -err.code);
		FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
		FUZZ_CHECK(strstr(err.message, "input") != NULL); /* every error names the input */
	}
	FUZZ_CHECK(sqlite3_exec(w->db, "ROLLBACK TO f; RELEASE f", NULL, NULL, NULL) == SQLITE_OK);
	free(copy);
}

#endif
