/* Version ordering of distribution packages: dpkg, apk and rpm. */
#include <ctype.h>
#include <string.h>

#include "wharf/version.h"

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static int check_length(const char *scheme, const char *v, struct wharf_error *err)
{
	if (!v || !*v)
		return wharf_error_set(err, WHARF_EINVAL, "%s version: empty", scheme);
	if (strlen(v) > WHARF_VERSION_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "%s version \"%.40s...\": longer than %d bytes", scheme, v,
				       WHARF_VERSION_MAX);
	return 0;
}

/* ---- dpkg (deb-version(7)) ---- */

struct dpkg_ver {
	unsigned long epoch;
	const char *upstream, *upstream_end;
	const char *revision, *revision_end;
};

/* dpkg's character weights: '~' sorts before everything, even the end; letters before
 * the other punctuation. */
static int dpkg_order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int dpkg_verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		int first_diff = 0;
		while ((a < ae && !isdigit((unsigned char)*a)) || (b < be && !isdigit((unsigned char)*b))) {
			int ac = a < ae ? dpkg_order((unsigned char)*a) : 0;
			int bc = b < be ? dpkg_order((unsigned char)*b) : 0;
			if (ac != bc)
				return sign(ac - bc);
			a++;
			b++;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		while (a < ae && isdigit((unsigned char)*a) && b < be && isdigit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (a < ae && isdigit((unsigned char)*a))
			return 1;
		if (b < be && isdigit((unsigned char)*b))
			return -1;
		if (first_diff)
			return sign(first_diff);
	}
	return 0;
}

static int dpkg_parse(const char *v, struct dpkg_ver *out, struct wharf_error *err)
{
	int r = check_length("dpkg", v, err);
	if (r < 0)
		return r;
	const char *colon = strchr(v, ':');
	const char *up = v;
	out->epoch = 0;
	if (colon) {
		if (colon == v)
			return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": empty epoch", v);
		for (const char *p = v; p < colon; p++) {
			if (!isdigit((unsigned char)*p))
				return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": epoch is not a number", v);
			out->epoch = out->epoch * 10 + (unsigned long)(*p - '0');
			if (out->epoch > 0x7fffffffUL)
				return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": epoch too big", v);
		}
		up = colon + 1;
	}
	const char *end = up + strlen(up);
	const char *hyphen = strrchr(up, '-');
	out->upstream = up;
	out->upstream_end = hyphen ? hyphen : end;
	out->revision = hyphen ? hyphen + 1 : end;
	out->revision_end = end;
	if (out->upstream == out->upstream_end)
		return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": empty upstream version", v);
	if (hyphen && out->revision == end)
		return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": empty revision after '-'", v);
	if (!isdigit((unsigned char)*up))
		return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": does not start with a digit", v);
	for (const char *p = up; p < out->upstream_end; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".+-~:", *p))
			return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": invalid character '%c' in upstream version",
					       v, *p);
	for (const char *p = out->revision; p < end; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".+~", *p))
			return wharf_error_set(err, WHARF_EINVAL, "dpkg version \"%s\": invalid character '%c' in revision", v,
					       *p);
	return 0;
}

int wharf_version_dpkg(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	struct dpkg_ver va, vb;
	int r = dpkg_parse(a, &va, err);
	if (r < 0 || (r = dpkg_parse(b, &vb, err)) < 0)
		return r;
	if (va.epoch != vb.epoch) {
		*cmp = va.epoch > vb.epoch ? 1 : -1;
		return 0;
	}
	int c = dpkg_verrevcmp(va.upstream, va.upstream_end, vb.upstream, vb.upstream_end);
	if (!c)
		c = dpkg_verrevcmp(va.revision, va.revision_end, vb.revision, vb.revision_end);
	*cmp = c;
	return 0;
}

/* ---- apk (Alpine) ---- */

/* Token kinds, in the order apk's comparison relies on: when two versions agree up to where
 * one has a token of a lower kind than the other, the one with the lower kind is newer. */
enum apk_tok { APK_INVALID = -1, APK_DIGIT_OR_ZERO, APK_DIGIT, APK_LETTER, APK_SUFFIX, APK_SUFFIX_NO, APK_REVISION_NO, APK_END };

struct apk_cursor {
	const char *p;
	size_t len;
};

static void apk_next_kind(int *kind, struct apk_cursor *c)
{
	int n = APK_INVALID;
	if (c->len == 0) {
		n = APK_END;
	} else if ((*kind == APK_DIGIT || *kind == APK_DIGIT_OR_ZERO) && islower((unsigned char)c->p[0])) {
		n = APK_LETTER;
	} else if (*kind == APK_LETTER && isdigit((unsigned char)c->p[0])) {
		n = APK_DIGIT;
	} else if (*kind == APK_SUFFIX && isdigit((unsigned char)c->p[0])) {
		n = APK_SUFFIX_NO;
	} else {
		if (c->p[0] == '.')
			n = APK_DIGIT_OR_ZERO;
		else if (c->p[0] == '_')
			n = APK_SUFFIX;
		else if (c->p[0] == '-' && c->len > 1 && c->p[1] == 'r') {
			n = APK_REVISION_NO;
			c->p++;
			c->len--;
		}
		c->p++;
		c->len--;
	}
	/* A kind may only go back from digits to a dot, from a suffix number to another suffix,
	 * or from a letter to digits. */
	if (n < *kind && !((n == APK_DIGIT_OR_ZERO && *kind == APK_DIGIT) || (n == APK_SUFFIX && *kind == APK_SUFFIX_NO) ||
			   (n == APK_DIGIT && *kind == APK_LETTER)))
		n = APK_INVALID;
	*kind = n;
}

static int apk_suffix_value(struct apk_cursor *c, size_t *used, long long *v)
{
	static const char *const pre[] = {"alpha", "beta", "pre", "rc"};
	static const char *const post[] = {"cvs", "svn", "git", "hg", "p"};
	for (size_t i = 0; i < 4; i++) {
		size_t l = strlen(pre[i]);
		if (l <= c->len && !strncmp(pre[i], c->p, l)) {
			*used = l;
			*v = (long long)i - 4;
			return 0;
		}
	}
	for (size_t i = 0; i < 5; i++) {
		size_t l = strlen(post[i]);
		if (l <= c->len && !strncmp(post[i], c->p, l)) {
			*used = l;
			*v = (long long)i;
			return 0;
		}
	}
	return -1;
}

/* The value of the token of *kind at c; advances c and sets *kind to the next token's kind. */
static long long apk_token(int *kind, struct apk_cursor *c)
{
	long long v = 0;
	size_t i = 0;
	int next = APK_INVALID;
	if (c->len == 0) {
		*kind = APK_END;
		return 0;
	}
	switch (*kind) {
	case APK_DIGIT_OR_ZERO:
		if (c->p[0] == '0') {
			/* Leading zeros: "1.01" < "1.1"; the digits after them are a token of their own. */
			while (i < c->len && c->p[i] == '0')
				i++;
			next = APK_DIGIT;
			v = -(long long)i;
			break;
		}
		/* fall through */
	case APK_DIGIT:
	case APK_SUFFIX_NO:
	case APK_REVISION_NO:
		while (i < c->len && isdigit((unsigned char)c->p[i])) {
			if (i >= 18) {
				*kind = APK_INVALID;
				return -1;
			}
			v = v * 10 + (c->p[i++] - '0');
		}
		if (i == 0 && *kind == APK_REVISION_NO) {
			*kind = APK_INVALID;
			return -1;
		}
		break;
	case APK_LETTER:
		v = (unsigned char)c->p[i++];
		break;
	case APK_SUFFIX:
		if (apk_suffix_value(c, &i, &v) == 0)
			break;
		/* fall through */
	default:
		*kind = APK_INVALID;
		return -1;
	}
	c->p += i;
	c->len -= i;
	if (c->len == 0)
		*kind = APK_END;
	else if (next != APK_INVALID)
		*kind = next;
	else
		apk_next_kind(kind, c);
	return v;
}

static int apk_validate(const char *v, struct wharf_error *err)
{
	int r = check_length("apk", v, err);
	if (r < 0)
		return r;
	if (!isdigit((unsigned char)v[0]))
		return wharf_error_set(err, WHARF_EINVAL, "apk version \"%s\": does not start with a digit", v);
	const char *rev = strstr(v, "-r");
	if (rev && !isdigit((unsigned char)rev[2]))
		return wharf_error_set(err, WHARF_EINVAL, "apk version \"%s\": no number after \"-r\"", v);
	struct apk_cursor c = {v, strlen(v)};
	int kind = APK_DIGIT;
	while (kind != APK_END) {
		apk_token(&kind, &c);
		if (kind == APK_INVALID)
			return wharf_error_set(err, WHARF_EINVAL,
					       "apk version \"%s\": not of the form digits{.digits}[letter]{_suffix[N]}[-rN] at \"%s\"",
					       v, c.p);
	}
	return 0;
}

int wharf_version_apk(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	int r = apk_validate(a, err);
	if (r < 0 || (r = apk_validate(b, err)) < 0)
		return r;
	struct apk_cursor ca = {a, strlen(a)}, cb = {b, strlen(b)};
	int at = APK_DIGIT, bt = APK_DIGIT;
	long long av = 0, bv = 0;
	while (at == bt && at != APK_END && at != APK_INVALID && av == bv) {
		av = apk_token(&at, &ca);
		bv = apk_token(&bt, &cb);
	}
	if (av != bv) {
		*cmp = av < bv ? -1 : 1;
		return 0;
	}
	if (at == bt) {
		*cmp = 0;
		return 0;
	}
	/* Equal so far: the longer one is newer, unless what it has more is a pre-release suffix. */
	if (at == APK_SUFFIX && apk_token(&at, &ca) < 0) {
		*cmp = -1;
		return 0;
	}
	if (bt == APK_SUFFIX && apk_token(&bt, &cb) < 0) {
		*cmp = 1;
		return 0;
	}
	*cmp = at > bt ? -1 : (bt > at ? 1 : 0);
	return 0;
}

/* ---- rpm ---- */

static int rpmvercmp(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return 0;
	const char *one = a, *two = b;
	while (*one || *two) {
		while (*one && !isalnum((unsigned char)*one) && *one != '~' && *one != '^')
			one++;
		while (*two && !isalnum((unsigned char)*two) && *two != '~' && *two != '^')
			two++;
		/* '~' sorts before everything, even the end. */
		if (*one == '~' || *two == '~') {
			if (*one != '~')
				return 1;
			if (*two != '~')
				return -1;
			one++, two++;
			continue;
		}
		/* '^' sorts after the end but before anything else. */
		if (*one == '^' || *two == '^') {
			if (!*one)
				return -1;
			if (!*two)
				return 1;
			if (*one != '^')
				return 1;
			if (*two != '^')
				return -1;
			one++, two++;
			continue;
		}
		if (!(*one && *two))
			break;
		const char *s1 = one, *s2 = two;
		bool isnum = isdigit((unsigned char)*s1);
		if (isnum) {
			while (isdigit((unsigned char)*s1))
				s1++;
			while (isdigit((unsigned char)*s2))
				s2++;
		} else {
			while (isalpha((unsigned char)*s1))
				s1++;
			while (isalpha((unsigned char)*s2))
				s2++;
		}
		/* A number is newer than letters. */
		if (two == s2)
			return isnum ? 1 : -1;
		if (isnum) {
			while (*one == '0' && one < s1 - 1)
				one++;
			while (*two == '0' && two < s2 - 1)
				two++;
			if (s1 - one != s2 - two)
				return s1 - one > s2 - two ? 1 : -1;
		}
		size_t l1 = (size_t)(s1 - one), l2 = (size_t)(s2 - two);
		int rc = strncmp(one, two, l1 < l2 ? l1 : l2);
		if (!rc && l1 != l2)
			rc = l1 < l2 ? -1 : 1;
		if (rc)
			return rc < 0 ? -1 : 1;
		one = s1;
		two = s2;
	}
	if (!*one && !*two)
		return 0;
	return *one ? 1 : -1;
}

struct rpm_evr {
	unsigned long epoch;
	char version[WHARF_VERSION_MAX + 1];
	char release[WHARF_VERSION_MAX + 1];
	bool has_release;
};

static int rpm_parse(const char *v, struct rpm_evr *out, struct wharf_error *err)
{
	int r = check_length("rpm", v, err);
	if (r < 0)
		return r;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+~^:-", *p))
			return wharf_error_set(err, WHARF_EINVAL, "rpm version \"%s\": invalid character '%c'", v, *p);
	const char *colon = strchr(v, ':');
	const char *rest = v;
	out->epoch = 0;
	if (colon) {
		if (colon == v)
			return wharf_error_set(err, WHARF_EINVAL, "rpm version \"%s\": empty epoch", v);
		for (const char *p = v; p < colon; p++) {
			if (!isdigit((unsigned char)*p))
				return wharf_error_set(err, WHARF_EINVAL, "rpm version \"%s\": epoch is not a number", v);
			out->epoch = out->epoch * 10 + (unsigned long)(*p - '0');
			if (out->epoch > 0x7fffffffUL)
				return wharf_error_set(err, WHARF_EINVAL, "rpm version \"%s\": epoch too big", v);
		}
		rest = colon + 1;
		if (strchr(rest, ':'))
			return wharf_error_set(err, WHARF_EINVAL, "rpm version \"%s\": more than one ':'", v);
	}
	const char *hyphen = strrchr(rest, '-');
	size_t vl = hyphen ? (size_t)(hyphen - rest) : strlen(rest);
	memcpy(out->version, rest, vl);
	out->version[vl] = 0;
	out->has_release = hyphen != NULL;
	strcpy(out->release, hyphen ? hyphen + 1 : "");
	if (!vl)
		return wharf_error_set(err, WHARF_EINVAL, "rpm version \"%s\": empty version", v);
	if (hyphen && !out->release[0])
		return wharf_error_set(err, WHARF_EINVAL, "rpm version \"%s\": empty release after '-'", v);
	return 0;
}

int wharf_version_rpm(const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	struct rpm_evr va, vb;
	int r = rpm_parse(a, &va, err);
	if (r < 0 || (r = rpm_parse(b, &vb, err)) < 0)
		return r;
	if (va.epoch != vb.epoch) {
		*cmp = va.epoch > vb.epoch ? 1 : -1;
		return 0;
	}
	int c = rpmvercmp(va.version, vb.version);
	/* A version without a release (as advisories sometimes give) matches any release. */
	if (!c && va.has_release && vb.has_release)
		c = rpmvercmp(va.release, vb.release);
	*cmp = c;
	return 0;
}
