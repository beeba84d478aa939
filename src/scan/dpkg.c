/* dpkg's database: var/lib/dpkg/status (and distroless images' var/lib/dpkg/status.d/NAME),
 * RFC 822-style paragraphs. Only installed packages count; the source package and its version
 * come from "Source: name (version)" and default to the binary's. */
#include <string.h>
#include <strings.h>

#include "scan-internal.h"

#define DPKG_MAX_PKGS 200000

struct para {
	const char *package, *status, *version, *source, *arch;
	size_t package_n, status_n, version_n, source_n, arch_n;
	bool any;
};

/* A field's value without surrounding blanks. */
static void field_value(const char *v, const char *end, const char **out, size_t *n)
{
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*out = v;
	*n = (size_t)(end - v);
}

static void para_field(struct para *p, const char *line, const char *end)
{
	static const struct { const char *name; size_t off, noff; } fields[] = {
		{"Package", offsetof(struct para, package), offsetof(struct para, package_n)},
		{"Status", offsetof(struct para, status), offsetof(struct para, status_n)},
		{"Version", offsetof(struct para, version), offsetof(struct para, version_n)},
		{"Source", offsetof(struct para, source), offsetof(struct para, source_n)},
		{"Architecture", offsetof(struct para, arch), offsetof(struct para, arch_n)},
	};
	const char *colon = memchr(line, ':', (size_t)(end - line));
	if (!colon)
		return;
	size_t klen = (size_t)(colon - line);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strlen(fields[i].name) == klen && !strncasecmp(line, fields[i].name, klen)) {
			field_value(colon + 1, end, (const char **)((char *)p + fields[i].off),
				    (size_t *)((char *)p + fields[i].noff));
			p->any = true;
		}
	}
}

/* "install ok installed" (and "hold ok installed"): the third word is the state. */
static bool installed(const struct para *p)
{
	if (!p->status)
		return true; /* status.d entries carry no Status */
	const char *s = p->status, *end = s + p->status_n;
	const char *last = s;
	for (const char *q = s; q < end; q++)
		if (*q == ' ')
			last = q + 1;
	return (size_t)(end - last) == 9 && !memcmp(last, "installed", 9);
}

static int para_emit(const struct para *p, const char *path, struct wharf_pkg_list *out, struct wharf_error *err)
{
	if (!p->package || !p->package_n || !installed(p))
		return 0;
	if (!p->version || !p->version_n)
		return wharf_error_set(err, WHARF_EINVAL, "%s: package %.*s has no Version", path, (int)p->package_n,
				       p->package);
	if (out->n >= DPKG_MAX_PKGS)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %d packages", path, DPKG_MAX_PKGS);
	struct wharf_pkg *k = wharf_pkg_list_add(out);
	k->ecosystem = wharf_xstrdup(WHARF_ECO_DEBIAN);
	k->name = wharf_xstrndup(p->package, p->package_n);
	k->version = wharf_xstrndup(p->version, p->version_n);
	if (p->arch && p->arch_n)
		k->arch = wharf_xstrndup(p->arch, p->arch_n);
	k->path = wharf_xstrdup(path);
	if (p->source && p->source_n) {
		const char *s = p->source, *end = s + p->source_n;
		const char *sp = memchr(s, ' ', p->source_n);
		const char *name_end = sp ? sp : end;
		if ((size_t)(name_end - s) != p->package_n || memcmp(s, p->package, p->package_n))
			k->source_name = wharf_xstrndup(s, (size_t)(name_end - s));
		const char *open = sp ? memchr(sp, '(', (size_t)(end - sp)) : NULL;
		const char *close = open ? memchr(open, ')', (size_t)(end - open)) : NULL;
		if (open && close) {
			const char *v;
			size_t vn;
			field_value(open + 1, close, &v, &vn);
			if (vn && (vn != p->version_n || memcmp(v, p->version, vn)))
				k->source_version = wharf_xstrndup(v, vn);
		}
	}
	return 0;
}

int wharf_dpkg_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		     struct wharf_error *err)
{
	if (memchr(data, 0, len))
		return wharf_error_set(err, WHARF_EINVAL, "%s: binary data (a NUL byte), not a dpkg status file", path);
	const char *s = (const char *)data, *end = s + len;
	struct para p = {0};
	while (s <= end) {
		const char *nl = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
		const char *le = nl ? nl : end;
		bool blank = true;
		for (const char *q = s; q < le; q++)
			if (*q != ' ' && *q != '\t' && *q != '\r')
				blank = false;
		if (blank) {
			if (p.any && para_emit(&p, path, out, err) < 0)
				return -err->code;
			memset(&p, 0, sizeof(p));
		} else if (*s != ' ' && *s != '\t') {
			para_field(&p, s, le);
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	if (p.any && para_emit(&p, path, out, err) < 0)
		return -err->code;
	return 0;
}
