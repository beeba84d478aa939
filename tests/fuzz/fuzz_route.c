/* The /v2 URL router, the first parser every request meets: reg_route_parse, declared in
 * the registry's internal header.
 *
 * Input: the request path as microhttpd hands it over (unescaped, NUL-terminated). */
#include <string.h>

#include "../../src/registry/internal.h"

#include "fuzz.h"

/* What the router claims must spell the path back: "/v2/" name "/" suffix arg. */
static const char *route_suffix(enum route_kind kind, const char *arg)
{
	switch (kind) {
	case ROUTE_MANIFEST: return "/manifests/";
	case ROUTE_BLOB: return "/blobs/";
	case ROUTE_UPLOAD: return "/blobs/uploads/";
	case ROUTE_UPLOAD_START: return !strcmp(arg, "uploads") ? "/blobs/" : "/blobs/uploads/";
	case ROUTE_TAGS: return "/tags/";
	case ROUTE_REFERRERS: return "/referrers/";
	default: return NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_strndup(data, size);
	size_t len = strlen(path);
	struct route rt;
	reg_route_parse(path, &rt);
	FUZZ_CHECK(rt.kind >= ROUTE_NONE && rt.kind <= ROUTE_REFERRERS);

	if (rt.kind == ROUTE_BASE)
		FUZZ_CHECK(!strcmp(path, "/v2") || !strcmp(path, "/v2/"));
	if (rt.kind == ROUTE_CATALOG)
		FUZZ_CHECK(!strcmp(path, "/v2/_catalog"));
	if (rt.kind != ROUTE_NONE && rt.kind != ROUTE_BASE && rt.kind != ROUTE_CATALOG) {
		/* A repository route always has an argument; an empty name ("/v2//manifests/x")
		 * is left for the name check to refuse with NAME_INVALID. */
		FUZZ_CHECK(rt.arg != NULL);
		if (rt.name_len == 0) {
			struct wharf_error nerr = {0};
			FUZZ_CHECK(wharf_oci_check_repo_name(rt.name, rt.name_len, &nerr) < 0);
		}
		const char *rest = path + 4;
		FUZZ_CHECK(!strncmp(path, "/v2/", 4));
		/* The name is a prefix of the path after /v2/, cut short only by the buffer. */
		FUZZ_CHECK(rt.name_len < len - 4);
		FUZZ_CHECK(rest[rt.name_len] == '/');
		size_t kept = strlen(rt.name);
		FUZZ_CHECK(kept == (rt.name_len < sizeof(rt.name) ? rt.name_len : sizeof(rt.name) - 1));
		FUZZ_CHECK(!memcmp(rt.name, rest, kept));
		/* The argument is the last component, inside the path. */
		FUZZ_CHECK(rt.arg >= rest && rt.arg <= path + len);
		FUZZ_CHECK(rt.arg[-1] == '/' && !strchr(rt.arg, '/'));
		const char *suffix = route_suffix(rt.kind, rt.arg);
		FUZZ_CHECK(suffix != NULL);
		char *back = wharf_xasprintf("/v2/%.*s%s%s", (int)rt.name_len, rest, suffix,
					     rt.arg);
		FUZZ_CHECK(!strcmp(back, path));
		free(back);
		if (rt.kind == ROUTE_TAGS)
			FUZZ_CHECK(!strcmp(rt.arg, "list"));
	}
	free(path);
	return 0;
}
