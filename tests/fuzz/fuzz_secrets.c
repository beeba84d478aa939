/* The secrets detector on hostile text. The first byte picks the path (a source file, a
 * configuration file, or the image config's Env), so every rule is reachable. Invariants: a
 * finding's match is at most 120 bytes, printable, and never holds a run of the input's
 * characters longer than the match's own unmasked prefix of the line allows: every masked
 * position is '*'; lines are within the input. */
#include "wharf/pkg.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	static const char *const paths[] = {"app/main.py", "etc/app/app.conf", "config:Env", "root/.docker/config.json"};
	const char *path = paths[data[0] & 3];
	uint8_t *copy = malloc(size);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	size_t len = size - 1;
	struct wharf_secret_list l = {0};
	struct wharf_error err = {0};
	FUZZ_CHECK(wharf_secrets_scan_buffer(path, copy, len, 3, &l, &err) == 0);
	int lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += copy[i] == '\n';
	for (size_t i = 0; i < l.n; i++) {
		const struct wharf_secret_finding *f = &l.v[i];
		FUZZ_CHECK(f->rule_id && f->category && f->severity && f->title && f->match);
		FUZZ_CHECK(strcmp(f->path, path) == 0 && f->layer == 3);
		FUZZ_CHECK(f->line >= 1 && f->line <= lines);
		FUZZ_CHECK(strlen(f->match) <= 120);
		FUZZ_CHECK(strchr(f->match, '*') != NULL); /* something is always masked */
		for (const char *p = f->match; *p; p++)
			FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	}
	wharf_secret_list_free(&l);
	free(copy);
	return 0;
}
