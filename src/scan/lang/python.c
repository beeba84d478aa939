/* Python: installed distributions, from *.dist-info/METADATA (wheels, pip) and
 * *.egg-info/PKG-INFO or a lone *.egg-info file (setuptools, Debian's python3-* packages).
 * Both are RFC 822 style headers; only Name and Version are read, up to the first blank line.
 * The purl carries the PEP 503 normalised name; the package name stays as written. */
#include <string.h>

#include "lang_internal.h"

#define PY_META_MAX (1u << 20)

static int wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode, (void)size; /* headers come first: a long description past max_size is not needed */
	return wharf_str_has_suffix(path, ".dist-info/METADATA") || wharf_str_has_suffix(path, ".egg-info/PKG-INFO") ||
	       wharf_str_has_suffix(path, ".egg-info");
}

/* The value of header `key` at the start of the line [p, end), trimmed; NULL when not this key. */
static const char *header_value(const char *p, const char *end, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);
	if ((size_t)(end - p) <= klen || strncasecmp(p, key, klen) != 0 || p[klen] != ':')
		return NULL;
	const char *v = p + klen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	const char *e = end;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*vlen = (size_t)(e - v);
	return v;
}

static int parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		 struct wharf_error *err)
{
	const char *p = (const char *)data, *end = p + (len > PY_META_MAX ? PY_META_MAX : len);
	const char *name = NULL, *version = NULL;
	size_t name_len = 0, version_len = 0;
	bool any_header = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le == p || (le - p == 1 && *p == '\r'))
			break; /* the body (long description) starts here */
		if (memchr(p, ':', (size_t)(le - p)))
			any_header = true;
		const char *v;
		size_t vl;
		if (!name && (v = header_value(p, le, "Name", &vl)))
			name = v, name_len = vl;
		else if (!version && (v = header_value(p, le, "Version", &vl)))
			version = v, version_len = vl;
		p = nl ? nl + 1 : end;
	}
	if (!any_header)
		return wharf_error_set(err, WHARF_EINVAL, "Python metadata %s: no header lines", path);
	if (!name || !version)
		return 0; /* e.g. an egg-info directory's other files: nothing to report */
	_cleanup_free_ char *raw = wharf_xstrndup(name, name_len);
	_cleanup_free_ char *norm = lang_pep503_name(raw);
	if (!lang_pkg_addn(out, WHARF_ECO_PYPI, path, "pypi", NULL, norm, strlen(norm), version, version_len))
		return 0;
	struct wharf_pkg *pkg = &out->v[out->n - 1];
	free(pkg->name);
	pkg->name = wharf_steal(&raw);
	return 0;
}

const struct wharf_cataloger wharf_cataloger_python = {
	.name = "python",
	.max_size = PY_META_MAX,
	.wants = wants,
	.parse = parse,
};
