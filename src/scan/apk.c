/* apk's database, lib/apk/db/installed: one "K:value" per line, packages separated by blank
 * lines. P name, V version, A architecture, o origin (the source package). */
#include <string.h>

#include "scan-internal.h"

#define APK_MAX_PKGS 200000

struct apk_pkg {
	const char *f[128];
	size_t n[128];
	bool any;
};

static int apk_emit(struct apk_pkg *a, const char *path, struct wharf_pkg_list *out, struct wharf_error *err)
{
	if (!a->any || !a->f['P'] || !a->n['P'])
		return 0;
	if (!a->f['V'] || !a->n['V'])
		return wharf_error_set(err, WHARF_EINVAL, "%s: package %.*s has no V: line", path, (int)a->n['P'], a->f['P']);
	if (out->n >= APK_MAX_PKGS)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %d packages", path, APK_MAX_PKGS);
	struct wharf_pkg *k = wharf_pkg_list_add(out);
	k->ecosystem = wharf_xstrdup(WHARF_ECO_ALPINE);
	k->name = wharf_xstrndup(a->f['P'], a->n['P']);
	k->version = wharf_xstrndup(a->f['V'], a->n['V']);
	if (a->f['A'] && a->n['A'])
		k->arch = wharf_xstrndup(a->f['A'], a->n['A']);
	if (a->f['o'] && a->n['o'] && (a->n['o'] != a->n['P'] || memcmp(a->f['o'], a->f['P'], a->n['P'])))
		k->source_name = wharf_xstrndup(a->f['o'], a->n['o']);
	k->path = wharf_xstrdup(path);
	return 0;
}

int wharf_apk_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		    struct wharf_error *err)
{
	if (memchr(data, 0, len))
		return wharf_error_set(err, WHARF_EINVAL, "%s: binary data (a NUL byte), not an apk database", path);
	const char *s = (const char *)data, *end = s + len;
	struct apk_pkg a;
	memset(&a, 0, sizeof(a));
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		if (le > s && le[-1] == '\r')
			le--;
		if (le == s) {
			if (apk_emit(&a, path, out, err) < 0)
				return -err->code;
			memset(&a, 0, sizeof(a));
		} else if (le - s >= 2 && s[1] == ':' && (unsigned char)s[0] < 128) {
			unsigned char k = (unsigned char)s[0];
			a.f[k] = s + 2;
			a.n[k] = (size_t)(le - s - 2);
			a.any = true;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	return apk_emit(&a, path, out, err);
}
