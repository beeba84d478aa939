/* Token protocol scopes: "repository:NAME:pull,push", "registry:catalog:*". The name may itself
 * hold a colon (a registry host with a port), so the type is up to the first colon and the
 * actions after the last. */
#include <string.h>

#include "wharf/auth.h"

static unsigned action_bit(const char *s, size_t n)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{"pull", WHARF_ACT_PULL},     {"push", WHARF_ACT_PUSH},   {"delete", WHARF_ACT_DELETE},
		{"admin", WHARF_ACT_ADMIN},   {"*", WHARF_ACT_REPO_ALL | WHARF_ACT_CATALOG},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0)
			return names[i].bit;
	return 0;
}

unsigned wharf_actions_parse(const char *list, size_t len)
{
	unsigned bits = 0;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && list[j] != ',')
			j++;
		bits |= action_bit(list + i, j - i);
		i = j + 1;
	}
	return bits;
}

int wharf_scope_parse(const char *s, struct wharf_scope *out, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(s);
	const char *c1 = strchr(s, ':');
	const char *c2 = strrchr(s, ':');
	if (len > 512 || !c1 || c1 == c2)
		return wharf_error_set(err, WHARF_EINVAL, "scope '%.100s' is not TYPE:NAME:ACTIONS", s);
	size_t tlen = (size_t)(c1 - s), nlen = (size_t)(c2 - c1 - 1);
	if (tlen == 0 || tlen >= sizeof(out->type) || nlen == 0 || nlen >= sizeof(out->name))
		return wharf_error_set(err, WHARF_EINVAL, "scope '%.100s': type or name empty or too long", s);
	memcpy(out->type, s, tlen);
	memcpy(out->name, c1 + 1, nlen);
	if (strcmp(out->type, "repository") && strcmp(out->type, "registry"))
		return wharf_error_set(err, WHARF_EINVAL, "scope '%.100s': type is not repository or registry", s);
	const char *acts = c2 + 1;
	out->actions = wharf_actions_parse(acts, strlen(acts));
	for (const char *p = acts; *p;) {
		size_t n = strcspn(p, ",");
		if (n == 1 && *p == '*')
			out->star = true;
		p += n + (p[n] == ',');
	}
	if (!strcmp(out->type, "registry"))
		out->actions = (out->star && !strcmp(out->name, "catalog")) ? WHARF_ACT_CATALOG : 0;
	else
		out->actions &= WHARF_ACT_REPO_ALL;
	return 0;
}
