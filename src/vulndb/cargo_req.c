/* Cargo version requirements (">= 1.2.3, < 2", "^0.9", "~1.2", "=1.0.0"), as RustSec's
 * patched and unaffected lists use them. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "wharf/version.h"

/* A partial version "1", "1.2", "1.2.3[-pre]" with the count of parts given. */
struct partial {
	unsigned long long n[3];
	int parts;
	char pre[WHARF_VERSION_MAX + 1];
};

static int parse_partial(const char *s, size_t len, struct partial *p)
{
	memset(p, 0, sizeof(*p));
	size_t i = 0;
	while (p->parts < 3) {
		if (i >= len || !isdigit((unsigned char)s[i]))
			return (p->parts > 0 && i < len && (s[i] == '*' || s[i] == 'x')) ? 0 : -1;
		unsigned long long v = 0;
		size_t start = i;
		while (i < len && isdigit((unsigned char)s[i])) {
			if (i - start >= 18)
				return -1;
			v = v * 10 + (unsigned long long)(s[i++] - '0');
		}
		p->n[p->parts++] = v;
		if (i < len && s[i] == '.')
			i++;
		else
			break;
	}
	if (i < len && s[i] == '-') {
		size_t n = len - i - 1;
		if (n == 0 || n > WHARF_VERSION_MAX)
			return -1;
		memcpy(p->pre, s + i + 1, n);
		p->pre[n] = 0;
		i = len;
	}
	if (i < len && s[i] == '+')
		i = len;
	return i == len || (i < len && (s[i] == '*' || s[i] == 'x')) ? 0 : -1;
}

static void format_version(char *out, size_t len, unsigned long long a, unsigned long long b, unsigned long long c,
			   const char *pre)
{
	snprintf(out, len, "%llu.%llu.%llu%s%s", a, b, c, pre && *pre ? "-" : "", pre ? pre : "");
}

static int cmp_semver(const char *a, const char *b)
{
	int c = 0;
	wharf_version_compare("SEMVER", a, b, &c, NULL);
	return c;
}

/* One comparator ("op version") against v; *lower gets its lower bound when it has one. */
static int comparator(const char *c, size_t len, const char *v, bool *ok, char *lower, size_t lowerlen)
{
	while (len && isspace((unsigned char)*c))
		c++, len--;
	while (len && isspace((unsigned char)c[len - 1]))
		len--;
	char op[3] = "^";
	if (len >= 2 && (c[1] == '=') && strchr("<>", c[0])) {
		memcpy(op, c, 2), op[2] = 0;
		c += 2, len -= 2;
	} else if (len >= 1 && strchr("<>=^~", c[0])) {
		op[0] = c[0], op[1] = 0;
		c++, len--;
	}
	while (len && isspace((unsigned char)*c))
		c++, len--;
	if (len == 1 && c[0] == '*') {
		*ok = true;
		return 0;
	}
	struct partial p;
	if (parse_partial(c, len, &p) < 0)
		return -1;
	char lo[WHARF_VERSION_MAX + 64], hi[WHARF_VERSION_MAX + 64] = "";
	format_version(lo, sizeof(lo), p.n[0], p.n[1], p.n[2], p.pre);
	/* Every bound is then a valid semver version, so the comparisons below cannot fail. */
	if (!wharf_version_valid("SEMVER", lo, NULL))
		return -1;
	/* The exclusive upper bound of the versions the partial names ("1.2" -> 1.3.0). */
	if (p.parts == 1)
		format_version(hi, sizeof(hi), p.n[0] + 1, 0, 0, NULL);
	else if (p.parts == 2)
		format_version(hi, sizeof(hi), p.n[0], p.n[1] + 1, 0, NULL);
	if (!strcmp(op, "^")) {
		if (p.n[0] > 0 || p.parts == 1)
			format_version(hi, sizeof(hi), p.n[0] + 1, 0, 0, NULL);
		else if (p.n[1] > 0 || p.parts == 2)
			format_version(hi, sizeof(hi), 0, p.n[1] + 1, 0, NULL);
		else
			format_version(hi, sizeof(hi), 0, 0, p.n[2] + 1, NULL);
		*ok = cmp_semver(v, lo) >= 0 && cmp_semver(v, hi) < 0;
	} else if (!strcmp(op, "~")) {
		if (p.parts == 1)
			format_version(hi, sizeof(hi), p.n[0] + 1, 0, 0, NULL);
		else
			format_version(hi, sizeof(hi), p.n[0], p.n[1] + 1, 0, NULL);
		*ok = cmp_semver(v, lo) >= 0 && cmp_semver(v, hi) < 0;
	} else if (!strcmp(op, "=")) {
		*ok = p.parts == 3 ? cmp_semver(v, lo) == 0 : (cmp_semver(v, lo) >= 0 && cmp_semver(v, hi) < 0);
	} else if (!strcmp(op, ">=")) {
		*ok = cmp_semver(v, lo) >= 0;
	} else if (!strcmp(op, ">")) {
		*ok = p.parts == 3 ? cmp_semver(v, lo) > 0 : cmp_semver(v, hi) >= 0;
		if (p.parts < 3)
			strcpy(lo, hi);
	} else if (!strcmp(op, "<")) {
		*ok = cmp_semver(v, lo) < 0;
		lo[0] = 0;
	} else { /* <= */
		*ok = p.parts == 3 ? cmp_semver(v, lo) <= 0 : cmp_semver(v, hi) < 0;
		lo[0] = 0;
	}
	if (lo[0] && lower && (!lower[0] || cmp_semver(lo, lower) > 0))
		snprintf(lower, lowerlen, "%s", lo);
	return 0;
}

int vulndb_cargo_req_matches(const char *req, const char *v, bool *match, char *lower, size_t lowerlen)
{
	if (!req || strlen(req) > 512 || !wharf_version_valid("SEMVER", v, NULL))
		return -1;
	if (lower && lowerlen)
		lower[0] = 0;
	bool all = true;
	const char *p = req;
	do {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		bool ok = false;
		if (comparator(p, len, v, &ok, lower, lowerlen) < 0)
			return -1;
		all = all && ok;
		p = comma ? comma + 1 : NULL;
	} while (p);
	*match = all;
	return 0;
}
