/* Version ordering of language ecosystems: semver (npm, crates.io, Packagist), Go modules,
 * PEP 440 (PyPI), Maven's ComparableVersion and RubyGems' Gem::Version. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wharf/version.h"

static int check_length(const char *scheme, const char *v, struct wharf_error *err)
{
	if (!v || !*v)
		return wharf_error_set(err, WHARF_EINVAL, "%s version: empty", scheme);
	if (strlen(v) > WHARF_VERSION_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "%s version \"%.40s...\": longer than %d bytes", scheme, v,
				       WHARF_VERSION_MAX);
	return 0;
}

/* Compare two runs of decimal digits of any length by value. */
static int cmp_digits(const char *a, size_t al, const char *b, size_t bl)
{
	while (al > 1 && *a == '0')
		a++, al--;
	while (bl > 1 && *b == '0')
		b++, bl--;
	if (al != bl)
		return al < bl ? -1 : 1;
	int c = memcmp(a, b, al);
	return (c > 0) - (c < 0);
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c < 0 ? -1 : 1;
	return al == bl ? 0 : (al < bl ? -1 : 1);
}

/* ---- semver 2.0.0 ---- */

struct semver {
	const char *num[3];
	size_t numlen[3];
	const char *pre; /* NULL when none */
	size_t prelen;
};

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Identifiers of a pre-release or build: [0-9A-Za-z-]+ separated by dots; numeric pre-release
 * identifiers have no leading zeros. */
static bool valid_idents(const char *s, size_t n, bool numeric_rule)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t l = i - start;
			if (!l)
				return false;
			if (numeric_rule && all_digits(s + start, l) && l > 1 && s[start] == '0')
				return false;
			start = i + 1;
		} else if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
			return false;
		}
	}
	return true;
}

/* Parse v; partial allows "1" and "1.2" (Go's shorthand: missing parts are 0). */
static int semver_parse(const char *scheme, const char *v, bool partial, struct semver *out, struct wharf_error *err)
{
	int r = check_length(scheme, v, err);
	if (r < 0)
		return r;
	const char *p = v;
	if (*p == 'v' || *p == '=')
		p++;
	static const char zero[] = "0";
	for (int i = 0; i < 3; i++) {
		const char *s = p;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == s) {
			if (partial && i > 0 && (*p == 0)) {
				for (; i < 3; i++)
					out->num[i] = zero, out->numlen[i] = 1;
				break;
			}
			return wharf_error_set(err, WHARF_EINVAL, "%s version \"%s\": expected MAJOR.MINOR.PATCH", scheme, v);
		}
		if (p - s > 1 && *s == '0')
			return wharf_error_set(err, WHARF_EINVAL, "%s version \"%s\": leading zero in a number", scheme, v);
		out->num[i] = s;
		out->numlen[i] = (size_t)(p - s);
		if (i < 2) {
			if (*p == '.')
				p++;
			else if (partial && *p == 0) {
				for (i++; i < 3; i++)
					out->num[i] = zero, out->numlen[i] = 1;
				break;
			} else
				return wharf_error_set(err, WHARF_EINVAL, "%s version \"%s\": expected MAJOR.MINOR.PATCH", scheme, v);
		}
	}
	out->pre = NULL;
	out->prelen = 0;
	if (*p == '-') {
		const char *s = ++p;
		while (*p && *p != '+')
			p++;
		if (!valid_idents(s, (size_t)(p - s), true))
			return wharf_error_set(err, WHARF_EINVAL, "%s version \"%s\": invalid pre-release", scheme, v);
		out->pre = s;
		out->prelen = (size_t)(p - s);
	}
	if (*p == '+') {
		const char *s = ++p;
		p += strlen(p);
		if (!valid_idents(s, (size_t)(p - s), false))
			return wharf_error_set(err, WHARF_EINVAL, "%s version \"%s\": invalid build metadata", scheme, v);
	}
	if (*p)
		return wharf_error_set(err, WHARF_EINVAL, "%s version \"%s\": unexpected \"%s\"", scheme, v, p);
	return 0;
}

static int semver_cmp_pre(const struct semver *a, const struct semver *b)
{
	if (!a->pre || !b->pre)
		return a->pre ? -1 : (b->pre ? 1 : 0);
	const char *x = a->pre, *xe = a->pre + a->prelen, *y = b->pre, *ye = b->pre + b->prelen;
	while (x < xe && y < ye) {
		const char *xd = memchr(x, '.', (size_t)(xe - x)), *yd = memchr(y, '.', (size_t)(ye - y));
		size_t xl = (size_t)((xd ? xd : xe) - x), yl = (size_t)((yd ? yd : ye) - y);
		bool xn = all_digits(x, xl), yn = all_digits(y, yl);
		int c;
		if (xn && yn)
			c = cmp_digits(x, xl, y, yl);
		else if (xn != yn)
			c = xn ? -1 : 1;
		else
			c = cmp_bytes(x, xl, y, yl);
		if (c)
			return c;
		x += xl + (xd ? 1 : 0);
		y += yl + (yd ? 1 : 0);
		if (!xd || !yd) {
			if (!xd && !yd)
				return 0;
			return xd ? 1 : -1;
		}
	}
	return 0;
}

static int semver_cmp(const struct semver *a, const struct semver *b)
{
	for (int i = 0; i < 3; i++) {
		int c = cmp_digits(a->num[i], a->numlen[i], b->num[i], b->numlen[i]);
		if (c)
			return c;
	}
	return semver_cmp_pre(a, b);
}

int wharf_version_semver(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	struct semver va, vb;
	int r = semver_parse("semver", a, false, &va, err);
	if (r < 0 || (r = semver_parse("semver", b, false, &vb, err)) < 0)
		return r;
	*cmp = semver_cmp(&va, &vb);
	return 0;
}

/* Go module versions: semver with a 'v' (advisories often leave it out), shorthand vX and
 * vX.Y, pseudo-versions (pre-releases by construction) and +incompatible (build metadata). */
int wharf_version_go(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	struct semver va, vb;
	int r = semver_parse("Go", a, true, &va, err);
	if (r < 0 || (r = semver_parse("Go", b, true, &vb, err)) < 0)
		return r;
	*cmp = semver_cmp(&va, &vb);
	return 0;
}

/* ---- PEP 440 ---- */

#define PEP440_MAX_PARTS 32

struct pep440 {
	unsigned long long epoch;
	const char *rel[PEP440_MAX_PARTS];
	size_t rellen[PEP440_MAX_PARTS];
	size_t nrel;
	int pre_kind; /* -1 none, 0 a, 1 b, 2 rc */
	unsigned long long pre_n;
	bool has_post, has_dev;
	unsigned long long post_n, dev_n;
	const char *local; /* after '+', NULL when none */
};

static bool is_sep(char c)
{
	return c == '.' || c == '-' || c == '_';
}

static bool read_num(const char **p, unsigned long long *out)
{
	const char *s = *p;
	unsigned long long v = 0;
	while (isdigit((unsigned char)**p)) {
		if (*p - s >= 18)
			return false;
		v = v * 10 + (unsigned long long)(**p - '0');
		(*p)++;
	}
	*out = v;
	return *p > s;
}

/* Match one of words (case-insensitively) at p; returns its index or -1, and advances p. */
static int match_word(const char **p, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(words[i]);
		if (!strncasecmp(*p, words[i], l) && !isalpha((unsigned char)(*p)[l])) {
			*p += l;
			return (int)i;
		}
	}
	return -1;
}

/* An optional separator followed by one of words: index or -1 (p unchanged then). */
static int sep_word(const char **p, const char *const *words, size_t n)
{
	const char *q = *p;
	if (is_sep(*q))
		q++;
	int w = match_word(&q, words, n);
	if (w >= 0)
		*p = q;
	return w;
}

/* An optional separator and an optional number (0 when absent). */
static void sep_num(const char **p, unsigned long long *n, bool *ok)
{
	const char *q = *p;
	if (is_sep(*q))
		q++;
	if (isdigit((unsigned char)*q)) {
		*ok = read_num(&q, n) && *ok;
		*p = q;
	} else {
		*n = 0;
	}
}

static int pep440_parse(const char *v, struct pep440 *o, struct wharf_error *err)
{
	static const char *const pre_words[] = {"alpha", "beta", "preview", "pre", "rc", "a", "b", "c"};
	static const int pre_kinds[] = {0, 1, 2, 2, 2, 0, 1, 2};
	static const char *const post_words[] = {"post", "rev", "r"};
	static const char *const dev_words[] = {"dev"};
	int r = check_length("PEP 440", v, err);
	if (r < 0)
		return r;
	memset(o, 0, sizeof(*o));
	o->pre_kind = -1;
	const char *p = v;
	bool ok = true;
	if (*p == 'v' || *p == 'V')
		p++;
	const char *bang = strchr(p, '!');
	if (bang) {
		ok = read_num(&p, &o->epoch) && p == bang;
		p = bang + 1;
	}
	for (;;) {
		const char *s = p;
		if (!isdigit((unsigned char)*p) || o->nrel == PEP440_MAX_PARTS) {
			ok = false;
			break;
		}
		while (isdigit((unsigned char)*p))
			p++;
		o->rel[o->nrel] = s;
		o->rellen[o->nrel++] = (size_t)(p - s);
		if (*p == '.' && isdigit((unsigned char)p[1]))
			p++;
		else
			break;
	}
	int w = ok ? sep_word(&p, pre_words, 8) : -1;
	if (w >= 0) {
		o->pre_kind = pre_kinds[w];
		sep_num(&p, &o->pre_n, &ok);
	}
	if (ok && *p == '-' && isdigit((unsigned char)p[1])) {
		p++;
		o->has_post = true;
		ok = read_num(&p, &o->post_n);
	} else if (ok && sep_word(&p, post_words, 3) >= 0) {
		o->has_post = true;
		sep_num(&p, &o->post_n, &ok);
	}
	if (ok && sep_word(&p, dev_words, 1) >= 0) {
		o->has_dev = true;
		sep_num(&p, &o->dev_n, &ok);
	}
	if (ok && *p == '+') {
		o->local = ++p;
		/* local segments may be separated by '-', '_' or '.' */
		ok = *p != 0;
		for (const char *q = p; *q && ok; q++)
			ok = isalnum((unsigned char)*q) || (is_sep(*q) && q > p && !is_sep(q[-1]) && q[1]);
		p += strlen(p);
	}
	if (!ok || *p)
		return wharf_error_set(err, WHARF_EINVAL, "PEP 440 version \"%s\": not of the form [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]",
				       v);
	return 0;
}

static int cmp_u64(unsigned long long a, unsigned long long b)
{
	return (a > b) - (a < b);
}

static int pep440_cmp_local(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : (b ? -1 : 0);
	while (*a && *b) {
		size_t al = strcspn(a, "._-"), bl = strcspn(b, "._-");
		bool an = all_digits(a, al), bn = all_digits(b, bl);
		int c;
		if (an && bn)
			c = cmp_digits(a, al, b, bl);
		else if (an != bn)
			c = an ? 1 : -1;
		else {
			c = strncasecmp(a, b, al < bl ? al : bl);
			c = c ? (c > 0 ? 1 : -1) : (al == bl ? 0 : (al < bl ? -1 : 1));
		}
		if (c)
			return c;
		a += al + (a[al] ? 1 : 0);
		b += bl + (b[bl] ? 1 : 0);
	}
	return *a ? 1 : (*b ? -1 : 0);
}

/* Sort keys of the pre-release phase: a dev release of a final version sorts before its
 * pre-releases; a version without pre-release after them. */
static int pep440_pre_key(const struct pep440 *v)
{
	if (v->pre_kind >= 0)
		return 1 + v->pre_kind;
	if (!v->has_post && v->has_dev)
		return 0;
	return 10;
}

static int pep440_cmp(const struct pep440 *a, const struct pep440 *b)
{
	int c = cmp_u64(a->epoch, b->epoch);
	if (c)
		return c;
	size_t n = a->nrel > b->nrel ? a->nrel : b->nrel;
	for (size_t i = 0; i < n; i++) {
		const char *x = i < a->nrel ? a->rel[i] : "0", *y = i < b->nrel ? b->rel[i] : "0";
		size_t xl = i < a->nrel ? a->rellen[i] : 1, yl = i < b->nrel ? b->rellen[i] : 1;
		if ((c = cmp_digits(x, xl, y, yl)))
			return c;
	}
	int ka = pep440_pre_key(a), kb = pep440_pre_key(b);
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (a->pre_kind >= 0 && (c = cmp_u64(a->pre_n, b->pre_n)))
		return c;
	if (a->has_post != b->has_post)
		return a->has_post ? 1 : -1;
	if (a->has_post && (c = cmp_u64(a->post_n, b->post_n)))
		return c;
	if (a->has_dev != b->has_dev)
		return a->has_dev ? -1 : 1;
	if (a->has_dev && (c = cmp_u64(a->dev_n, b->dev_n)))
		return c;
	return pep440_cmp_local(a->local, b->local);
}

int wharf_version_pep440(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	struct pep440 va, vb;
	int r = pep440_parse(a, &va, err);
	if (r < 0 || (r = pep440_parse(b, &vb, err)) < 0)
		return r;
	*cmp = pep440_cmp(&va, &vb);
	return 0;
}

/* ---- Maven ComparableVersion ---- */

enum mvn_kind { MVN_INT, MVN_STRING, MVN_LIST };

struct mvn_item {
	enum mvn_kind kind;
	char *s; /* MVN_INT: digits without leading zeros; MVN_STRING: the qualifier, aliases resolved */
	struct mvn_item *items;
	size_t n, cap;
	struct mvn_item *parent;
};

static void mvn_free(struct mvn_item *it)
{
	for (size_t i = 0; i < it->n; i++)
		mvn_free(&it->items[i]);
	free(it->items);
	free(it->s);
}

static struct mvn_item *mvn_add(struct mvn_item *list, enum mvn_kind kind)
{
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 4;
		list->items = wharf_xrealloc(list->items, list->cap * sizeof(*list->items));
		/* Children of moved items keep pointing at them: fix their parents. */
		for (size_t i = 0; i < list->n; i++)
			for (size_t j = 0; j < list->items[i].n; j++)
				list->items[i].items[j].parent = &list->items[i];
	}
	struct mvn_item *it = &list->items[list->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->parent = list;
	return it;
}

static void mvn_add_token(struct mvn_item *list, bool digit, const char *s, size_t n, bool followed_by_digit)
{
	if (digit) {
		while (n > 1 && *s == '0')
			s++, n--;
		mvn_add(list, MVN_INT)->s = wharf_xstrndup(s, n);
		return;
	}
	char *q = wharf_xstrndup(s, n);
	if (followed_by_digit && n == 1) {
		const char *full = *q == 'a' ? "alpha" : *q == 'b' ? "beta" : *q == 'm' ? "milestone" : NULL;
		if (full) {
			free(q);
			q = wharf_xstrdup(full);
		}
	}
	if (!strcmp(q, "ga") || !strcmp(q, "final") || !strcmp(q, "release"))
		q[0] = 0;
	else if (!strcmp(q, "cr")) {
		free(q);
		q = wharf_xstrdup("rc");
	}
	mvn_add(list, MVN_STRING)->s = q;
}

static bool mvn_is_null(const struct mvn_item *it)
{
	switch (it->kind) {
	case MVN_INT:
		return !strcmp(it->s, "0");
	case MVN_STRING:
		return it->s[0] == 0;
	default:
		return it->n == 0;
	}
}

/* Drop trailing zeros and empty qualifiers from every list, innermost first. */
static void mvn_normalize(struct mvn_item *list)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->items[i].kind == MVN_LIST)
			mvn_normalize(&list->items[i]);
	for (size_t i = list->n; i-- > 0;) {
		struct mvn_item *it = &list->items[i];
		if (mvn_is_null(it)) {
			mvn_free(it);
			memmove(it, it + 1, (list->n - i - 1) * sizeof(*it));
			list->n--;
		} else if (it->kind != MVN_LIST) {
			break;
		}
	}
}

static void mvn_parse(const char *v, struct mvn_item *root)
{
	memset(root, 0, sizeof(*root));
	root->kind = MVN_LIST;
	char *lower = wharf_xstrdup(v);
	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	struct mvn_item *list = root;
	bool digit = false;
	size_t start = 0, n = strlen(lower);
	for (size_t i = 0; i < n; i++) {
		char c = lower[i];
		if (c == '.' || c == '-') {
			if (i == start)
				mvn_add(list, MVN_INT)->s = wharf_xstrdup("0");
			else
				mvn_add_token(list, digit, lower + start, i - start, false);
			start = i + 1;
			if (c == '-')
				list = mvn_add(list, MVN_LIST);
		} else if (isdigit((unsigned char)c)) {
			if (!digit && i > start) {
				mvn_add_token(list, false, lower + start, i - start, true);
				start = i;
				list = mvn_add(list, MVN_LIST);
			}
			digit = true;
		} else {
			if (digit && i > start) {
				mvn_add_token(list, true, lower + start, i - start, false);
				start = i;
				list = mvn_add(list, MVN_LIST);
			}
			digit = false;
		}
	}
	if (n > start) {
		/* A trailing ".X" qualifier counts as "-X": 1.0.0.x1 < 1.0.0-x2. */
		if (!digit && list->n > 0)
			list = mvn_add(list, MVN_LIST);
		mvn_add_token(list, digit, lower + start, n - start, false);
	}
	free(lower);
	mvn_normalize(root);
}

/* The sort key of a qualifier: known ones by rank, unknown ones after them, by name. */
static void mvn_qualifier_key(const char *q, char *out, size_t outlen)
{
	static const char *const known[] = {"alpha", "beta", "milestone", "rc", "snapshot", "", "sp"};
	for (size_t i = 0; i < 7; i++)
		if (!strcmp(q, known[i])) {
			snprintf(out, outlen, "%zu", i);
			return;
		}
	snprintf(out, outlen, "7-%s", q);
}

static int mvn_cmp_qualifiers(const char *a, const char *b)
{
	char ka[WHARF_VERSION_MAX + 8], kb[WHARF_VERSION_MAX + 8];
	mvn_qualifier_key(a, ka, sizeof(ka));
	mvn_qualifier_key(b, kb, sizeof(kb));
	int c = strcmp(ka, kb);
	return (c > 0) - (c < 0);
}

/* Compare item a with b; b NULL stands for the padding of a shorter list. */
static int mvn_cmp(const struct mvn_item *a, const struct mvn_item *b)
{
	switch (a->kind) {
	case MVN_INT:
		if (!b)
			return strcmp(a->s, "0") ? 1 : 0;
		if (b->kind == MVN_INT)
			return cmp_digits(a->s, strlen(a->s), b->s, strlen(b->s));
		return 1;
	case MVN_STRING:
		if (!b)
			return mvn_cmp_qualifiers(a->s, "");
		if (b->kind == MVN_STRING)
			return mvn_cmp_qualifiers(a->s, b->s);
		return -1;
	default:
		break;
	}
	if (!b)
		return a->n ? mvn_cmp(&a->items[0], NULL) : 0;
	if (b->kind == MVN_INT)
		return -1;
	if (b->kind == MVN_STRING)
		return 1;
	size_t n = a->n > b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++) {
		const struct mvn_item *l = i < a->n ? &a->items[i] : NULL, *r = i < b->n ? &b->items[i] : NULL;
		int c = l ? mvn_cmp(l, r) : (r ? -mvn_cmp(r, NULL) : 0);
		if (c)
			return c;
	}
	return 0;
}

int wharf_version_maven(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	const char *vs[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		int r = check_length("Maven", vs[i], err);
		if (r < 0)
			return r;
		for (const char *p = vs[i]; *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr(".-_+", *p))
				return wharf_error_set(err, WHARF_EINVAL, "Maven version \"%s\": invalid character '%c'", vs[i], *p);
	}
	struct mvn_item va, vb;
	mvn_parse(a, &va);
	mvn_parse(b, &vb);
	*cmp = mvn_cmp(&va, &vb);
	mvn_free(&va);
	mvn_free(&vb);
	return 0;
}

/* ---- RubyGems ---- */

#define GEM_MAX_SEGMENTS 64

struct gem_seg {
	const char *s;
	size_t n;
	bool num;
};

/* Segments of v: runs of digits or of letters, "-" meaning ".pre."; trailing zeros of the
 * release part and of the pre-release part dropped (Gem::Version#canonical_segments). */
static int gem_segments(const char *v, struct gem_seg *out, size_t *nout, struct wharf_error *err)
{
	int r = check_length("RubyGems", v, err);
	if (r < 0)
		return r;
	static const char pre[] = "pre";
	size_t n = 0;
	const char *p = v;
	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return wharf_error_set(err, WHARF_EINVAL, "RubyGems version \"%s\": does not start with a digit", v);
	bool dash_seen = false;
	while (*p && *p != ' ') {
		if (*p == '.') {
			if (!isalnum((unsigned char)p[1]))
				return wharf_error_set(err, WHARF_EINVAL, "RubyGems version \"%s\": empty segment", v);
			p++;
			continue;
		}
		if (*p == '-') {
			if (!isalnum((unsigned char)p[1]))
				return wharf_error_set(err, WHARF_EINVAL, "RubyGems version \"%s\": empty segment", v);
			dash_seen = true;
			if (n == GEM_MAX_SEGMENTS)
				return wharf_error_set(err, WHARF_EINVAL, "RubyGems version \"%s\": too many segments", v);
			out[n++] = (struct gem_seg){pre, 3, false};
			p++;
			continue;
		}
		if (!isalnum((unsigned char)*p))
			return wharf_error_set(err, WHARF_EINVAL, "RubyGems version \"%s\": invalid character '%c'", v, *p);
		bool num = isdigit((unsigned char)*p);
		const char *s = p;
		while (*p && (num ? isdigit((unsigned char)*p) : isalpha((unsigned char)*p)))
			p++;
		if (n == GEM_MAX_SEGMENTS)
			return wharf_error_set(err, WHARF_EINVAL, "RubyGems version \"%s\": too many segments", v);
		out[n++] = (struct gem_seg){s, (size_t)(p - s), num};
	}
	(void)dash_seen;
	while (*p == ' ')
		p++;
	if (*p)
		return wharf_error_set(err, WHARF_EINVAL, "RubyGems version \"%s\": space inside the version", v);
	/* Split at the first letter segment; drop trailing zeros of each part. */
	size_t split = 0;
	while (split < n && out[split].num)
		split++;
	size_t rel_end = split;
	while (rel_end > 0 && out[rel_end - 1].num && cmp_digits(out[rel_end - 1].s, out[rel_end - 1].n, "0", 1) == 0)
		rel_end--;
	size_t pre_end = n;
	while (pre_end > split && out[pre_end - 1].num && cmp_digits(out[pre_end - 1].s, out[pre_end - 1].n, "0", 1) == 0)
		pre_end--;
	memmove(out + rel_end, out + split, (pre_end - split) * sizeof(*out));
	*nout = rel_end + (pre_end - split);
	return 0;
}

int wharf_version_gem(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	struct gem_seg sa[GEM_MAX_SEGMENTS], sb[GEM_MAX_SEGMENTS];
	size_t na, nb;
	int r = gem_segments(a, sa, &na, err);
	if (r < 0 || (r = gem_segments(b, sb, &nb, err)) < 0)
		return r;
	static const struct gem_seg zero = {"0", 1, true};
	size_t n = na > nb ? na : nb;
	for (size_t i = 0; i < n; i++) {
		const struct gem_seg *x = i < na ? &sa[i] : &zero, *y = i < nb ? &sb[i] : &zero;
		int c;
		if (x->num && y->num)
			c = cmp_digits(x->s, x->n, y->s, y->n);
		else if (x->num != y->num)
			c = x->num ? 1 : -1;
		else
			c = cmp_bytes(x->s, x->n, y->s, y->n);
		if (c) {
			*cmp = c;
			return 0;
		}
	}
	*cmp = 0;
	return 0;
}

/* ---- Composer (Packagist) ---- */

struct composer_ver {
	const char *num[4];
	size_t numlen[4];
	int stability; /* 0 dev, 1 alpha, 2 beta, 3 RC, 4 stable, 5 patch */
	unsigned long long stab_n;
};

/* Composer's normalised versions: up to four numbers, then an optional stability suffix
 * (-dev, -alpha2, -beta.1, -RC1, -patch1/-pl1/-p1); "v" prefix allowed. */
static int composer_parse(const char *v, struct composer_ver *o, struct wharf_error *err)
{
	static const char *const words[] = {"dev", "alpha", "a", "beta", "b", "rc", "patch", "pl", "p"};
	static const int ranks[] = {0, 1, 1, 2, 2, 3, 5, 5, 5};
	int r = check_length("Composer", v, err);
	if (r < 0)
		return r;
	memset(o, 0, sizeof(*o));
	o->stability = 4;
	const char *p = v;
	if (*p == 'v' || *p == 'V')
		p++;
	int n = 0;
	while (n < 4 && isdigit((unsigned char)*p)) {
		const char *s = p;
		while (isdigit((unsigned char)*p))
			p++;
		o->num[n] = s;
		o->numlen[n++] = (size_t)(p - s);
		if (*p == '.' && isdigit((unsigned char)p[1]))
			p++;
		else
			break;
	}
	for (int i = n; i < 4; i++)
		o->num[i] = "0", o->numlen[i] = 1;
	if (n == 0)
		return wharf_error_set(err, WHARF_EINVAL, "Composer version \"%s\": does not start with a number", v);
	if (*p == '-' || *p == '.' || *p == '_' || isalpha((unsigned char)*p)) {
		if (!isalpha((unsigned char)*p))
			p++;
		int w = match_word(&p, words, 9);
		if (w < 0)
			return wharf_error_set(err, WHARF_EINVAL, "Composer version \"%s\": unknown stability suffix", v);
		o->stability = ranks[w];
		if (*p == '.' || *p == '-')
			p++;
		if (isdigit((unsigned char)*p) && !read_num(&p, &o->stab_n))
			return wharf_error_set(err, WHARF_EINVAL, "Composer version \"%s\": number too long", v);
	}
	if (*p == '+') /* build metadata */
		p += strlen(p);
	if (*p)
		return wharf_error_set(err, WHARF_EINVAL, "Composer version \"%s\": unexpected \"%s\"", v, p);
	return 0;
}

int wharf_version_composer(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	struct composer_ver va, vb;
	int r = composer_parse(a, &va, err);
	if (r < 0 || (r = composer_parse(b, &vb, err)) < 0)
		return r;
	int c = 0;
	for (int i = 0; i < 4 && !c; i++)
		c = cmp_digits(va.num[i], va.numlen[i], vb.num[i], vb.numlen[i]);
	if (!c)
		c = va.stability != vb.stability ? (va.stability < vb.stability ? -1 : 1) : cmp_u64(va.stab_n, vb.stab_n);
	*cmp = c;
	return 0;
}
