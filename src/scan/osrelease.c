/* os-release (man 5 os-release): KEY=value lines, values optionally quoted with shell escapes. */
#include <string.h>

#include "scan-internal.h"

static char *unquote(const char *v, size_t n)
{
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\r' || v[n - 1] == '\t'))
		n--;
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	char *o = wharf_xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\\' && i + 1 < n)
			i++;
		o[j++] = v[i];
	}
	o[j] = 0;
	return o;
}

int wharf_os_release_parse(const char *data, size_t len, struct wharf_os *out, struct wharf_error *err)
{
	const char *s = data, *end = data + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *eq = memchr(s, '=', (size_t)(le - s));
		if (eq) {
			size_t k = (size_t)(eq - s);
			char **slot = NULL;
			if (k == 2 && !memcmp(s, "ID", 2))
				slot = &out->id;
			else if (k == 10 && !memcmp(s, "VERSION_ID", 10))
				slot = &out->version_id;
			else if (k == 16 && !memcmp(s, "VERSION_CODENAME", 16))
				slot = &out->codename;
			else if (k == 11 && !memcmp(s, "PRETTY_NAME", 11))
				slot = &out->pretty_name;
			if (slot) {
				free(*slot);
				*slot = unquote(eq + 1, (size_t)(le - eq - 1));
			}
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	if (!out->id)
		return wharf_error_set(err, WHARF_EINVAL, "os-release has no ID");
	return 0;
}

const char *wharf_os_ecosystem(const char *id)
{
	static const struct { const char *id, *eco; } map[] = {
		{"debian", WHARF_ECO_DEBIAN}, {"ubuntu", WHARF_ECO_UBUNTU}, {"alpine", WHARF_ECO_ALPINE},
		{"rhel", WHARF_ECO_RPM},      {"centos", WHARF_ECO_RPM},    {"rocky", WHARF_ECO_RPM},
		{"almalinux", WHARF_ECO_RPM}, {"fedora", WHARF_ECO_RPM},    {"ol", WHARF_ECO_RPM},
		{"amzn", WHARF_ECO_RPM},
	};
	if (!id)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].id, id))
			return map[i].eco;
	return NULL;
}
