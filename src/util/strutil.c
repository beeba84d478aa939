#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "wharf/util.h"

bool wharf_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool wharf_str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

bool wharf_parse_u64(const char *s, size_t len, uint64_t *out)
{
	if (len == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int parse_scaled(const char *what, const char *s, const char *units,
			const uint64_t *scales, uint64_t *out, struct wharf_error *err)
{
	size_t len = strlen(s);
	uint64_t scale = 1;
	if (len > 0 && !isdigit((unsigned char)s[len - 1])) {
		const char *u = strchr(units, tolower((unsigned char)s[len - 1]));
		if (!u)
			return wharf_error_set(err, WHARF_EINVAL, "%s '%s': unknown unit (use one of %s)",
					       what, s, units);
		scale = scales[u - units];
		len--;
	}
	uint64_t v = 0;
	if (!wharf_parse_u64(s, len, &v) || (v && scale > UINT64_MAX / v))
		return wharf_error_set(err, WHARF_EINVAL, "%s '%s' is not a whole number with an optional unit",
				       what, s);
	*out = v * scale;
	return 0;
}

int wharf_parse_duration(const char *s, int64_t *out, struct wharf_error *err)
{
	static const uint64_t scales[] = {1, 60, 3600, 86400};
	uint64_t v = 0;
	int r = parse_scaled("duration", s, "smhd", scales, &v, err);
	if (r < 0)
		return r;
	if (v > INT64_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "duration '%s' is too long", s);
	*out = (int64_t)v;
	return 0;
}

int wharf_parse_size(const char *s, uint64_t *out, struct wharf_error *err)
{
	static const uint64_t scales[] = {1024, 1024 * 1024, 1024ull * 1024 * 1024};
	return parse_scaled("size", s, "kmg", scales, out, err);
}

int wharf_random_hex(char *out, size_t nbytes, struct wharf_error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	if (nbytes > sizeof(raw))
		return wharf_error_set(err, WHARF_EINTERNAL, "random_hex: %zu bytes is too many", nbytes);
	size_t got = 0;
	while (got < nbytes) {
		ssize_t n = getrandom(raw + got, nbytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return wharf_error_sys(err, "getrandom");
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return 0;
}

char *wharf_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~/:", *p)) {
			wharf_buf_append(&b, p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			wharf_buf_append(&b, e, 3);
		}
	}
	return wharf_buf_steal(&b);
}

int64_t wharf_now(void)
{
	return (int64_t)time(NULL);
}

uint64_t wharf_monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
