/* The /v2 URL router: the first parser every request meets. */
#include <string.h>

#include "internal.h"

/* Component i counted from the end (0 = last) of path p of n components starting at offsets. */
static bool comp_is(const char *path, const size_t *starts, size_t ncomp, size_t from_end, const char *word)
{
	if (from_end >= ncomp)
		return false;
	size_t i = ncomp - 1 - from_end;
	size_t len = (i + 1 < ncomp ? starts[i + 1] - 1 : strlen(path)) - starts[i];
	return strlen(word) == len && memcmp(path + starts[i], word, len) == 0;
}

/* Split "/v2/<name>/<suffix>" by looking at the last components: the name may hold any of
 * the suffix words itself, so the match runs from the end. */
void reg_route_parse(const char *path, struct route *rt)
{
	memset(rt, 0, sizeof(*rt));
	if (strcmp(path, "/v2") == 0 || strcmp(path, "/v2/") == 0) {
		rt->kind = ROUTE_BASE;
		return;
	}
	if (!wharf_str_has_prefix(path, "/v2/"))
		return;
	const char *rest = path + 4;
	if (strcmp(rest, "_catalog") == 0) {
		rt->kind = ROUTE_CATALOG;
		return;
	}
	size_t starts[64], n = 0;
	starts[n++] = 0;
	for (size_t i = 0; rest[i] && n < 64; i++)
		if (rest[i] == '/')
			starts[n++] = i + 1;
	if (n < 2 || n == 64)
		return;
	size_t keep = 0; /* components after the name */
	if (comp_is(rest, starts, n, 1, "manifests"))
		rt->kind = ROUTE_MANIFEST, keep = 2;
	else if (comp_is(rest, starts, n, 1, "blobs") && comp_is(rest, starts, n, 0, "uploads"))
		rt->kind = ROUTE_UPLOAD_START, keep = 2;
	else if (comp_is(rest, starts, n, 2, "blobs") && comp_is(rest, starts, n, 1, "uploads"))
		rt->kind = comp_is(rest, starts, n, 0, "") ? ROUTE_UPLOAD_START : ROUTE_UPLOAD, keep = 3;
	else if (comp_is(rest, starts, n, 1, "blobs"))
		rt->kind = ROUTE_BLOB, keep = 2;
	else if (comp_is(rest, starts, n, 1, "tags") && comp_is(rest, starts, n, 0, "list"))
		rt->kind = ROUTE_TAGS, keep = 2;
	else if (comp_is(rest, starts, n, 1, "referrers"))
		rt->kind = ROUTE_REFERRERS, keep = 2;
	if (rt->kind == ROUTE_NONE || n <= keep) {
		rt->kind = ROUTE_NONE; /* no name before the route words: no route */
		return;
	}
	size_t name_len = starts[n - keep] - 1;
	rt->name_len = name_len;
	if (name_len >= sizeof(rt->name))
		name_len = sizeof(rt->name) - 1;
	memcpy(rt->name, rest, name_len);
	rt->name[name_len] = '\0';
	rt->arg = rest + starts[n - 1];
}

