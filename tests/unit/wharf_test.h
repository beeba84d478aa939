/* Small helpers shared by the cmocka unit test programs: temp directories and assertions
 * about error messages. Everything here is static inline so each program takes what it uses. */
#ifndef WHARF_TEST_H
#define WHARF_TEST_H

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "wharf/util.h"

/* Fail with both strings shown when needle is not inside haystack. */
#define assert_contains(haystack, needle)                                                   \
	do {                                                                                \
		const char *hay_ = (haystack);                                              \
		const char *needle_ = (needle);                                             \
		if (!hay_ || !strstr(hay_, needle_))                                        \
			fail_msg("expected \"%s\" to contain \"%s\"", hay_ ? hay_ : "(null)", \
				 needle_);                                                  \
	} while (0)

/* A call failed with the given wharf_errc: both the return value and err->code agree. */
#define assert_wharf_err(r, err, want)                                                          \
	do {                                                                                    \
		int r_ = (r);                                                                   \
		if (r_ != -(want))                                                              \
			fail_msg("expected -%s (%d), got %d; message: %s", #want, (int)(want), r_, \
				 (err).message);                                                \
		assert_int_equal((err).code, (want));                                           \
	} while (0)

/* A call succeeded; show the error message when it did not. */
#define assert_wharf_ok(r, err)                                                       \
	do {                                                                          \
		int r_ = (r);                                                         \
		if (r_ != 0)                                                          \
			fail_msg("expected success, got %d: %s", r_, (err).message); \
	} while (0)

static inline char *test_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = wharf_xasprintf("%s/wharf-unit-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpl)) {
		free(tmpl);
		fail_msg("mkdtemp failed");
	}
	return tmpl;
}

static inline int test_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf path, then free it. */
static inline void test_rmtree(char *path)
{
	if (!path)
		return;
	nftw(path, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

/* One temp directory per test program, made by test_group_setup and removed by
 * test_group_teardown even when a test fails half way; each test works in its own
 * subdirectory (test_subdir). Programs that use it pass the two as cmocka group fixtures. */
static char *test_group_dir;

static inline int test_group_setup(void **state)
{
	(void)state;
	test_group_dir = test_mkdtemp();
	return 0;
}

static inline int test_group_teardown(void **state)
{
	(void)state;
	test_rmtree(test_group_dir);
	test_group_dir = NULL;
	return 0;
}

static inline char *test_subdir(void)
{
	static int n;
	char *dir = wharf_xasprintf("%s/t%d", test_group_dir, ++n);
	if (mkdir(dir, 0700) != 0)
		fail_msg("cannot create %s", dir);
	return dir;
}

static inline void test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot create %s", path);
	if (len && fwrite(data, 1, len, f) != len)
		fail_msg("cannot write %s", path);
	fclose(f);
}

/* Number of entries in dir other than "." and "..", or -1 if it cannot be read. */
static inline int test_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

#endif
