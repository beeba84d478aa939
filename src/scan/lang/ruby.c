/* Ruby: installed gem specifications, specifications/<name>-<version>.gemspec, as RubyGems
 * writes them ("s.name = \"rack\".freeze", "s.version = \"2.2.22\""; the receiver may have any
 * name, quotes may be single or double). Only literal strings count: a version computed by Ruby
 * code cannot be read without running it, and such a spec reports nothing. */
#include <string.h>

#include "lang_internal.h"

#define GEMSPEC_MAX (1u << 20)

static int wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode;
	return size <= GEMSPEC_MAX && wharf_str_has_suffix(path, ".gemspec") &&
	       lang_path_has_dir(path, "specifications");
}

/* On the line [p, le): "<ident>.<field> = 'lit'" or with double quotes; the literal or NULL. */
static char *assigned_literal(const char *p, const char *le, const char *field)
{
	while (p < le && (*p == ' ' || *p == '\t'))
		p++;
	const char *dot = p;
	while (dot < le && (*dot == '_' || (*dot >= 'a' && *dot <= 'z') || (*dot >= 'A' && *dot <= 'Z') ||
			    (*dot >= '0' && *dot <= '9')))
		dot++;
	size_t flen = strlen(field);
	if (dot == p || dot >= le || *dot != '.' || (size_t)(le - dot - 1) < flen ||
	    memcmp(dot + 1, field, flen) != 0)
		return NULL;
	const char *q = dot + 1 + flen;
	while (q < le && (*q == ' ' || *q == '\t'))
		q++;
	if (q >= le || *q != '=' || (q + 1 < le && q[1] == '='))
		return NULL;
	q++;
	while (q < le && (*q == ' ' || *q == '\t'))
		q++;
	if (q >= le || (*q != '"' && *q != '\''))
		return NULL;
	char quote = *q++;
	const char *close = memchr(q, quote, (size_t)(le - q));
	if (!close)
		return NULL;
	return wharf_xstrndup(q, (size_t)(close - q));
}

static int parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		 struct wharf_error *err)
{
	if (len > GEMSPEC_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "gemspec %s: over the limit of %u bytes", path,
				       GEMSPEC_MAX);
	const char *p = (const char *)data, *end = p + len;
	_cleanup_free_ char *name = NULL, *version = NULL;
	while (p < end && !(name && version)) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		char *v;
		if (!name && (v = assigned_literal(p, le, "name")))
			name = v;
		else if (!version && (v = assigned_literal(p, le, "version")))
			version = v;
		p = nl ? nl + 1 : end;
	}
	if (name && version)
		lang_pkg_add(out, WHARF_ECO_GEM, path, "gem", NULL, name, version);
	return 0;
}

const struct wharf_cataloger wharf_cataloger_gemspec = {
	.name = "gemspec",
	.max_size = GEMSPEC_MAX,
	.wants = wants,
	.parse = parse,
};
