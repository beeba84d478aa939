#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "wharf/digest.h"

struct wharf_hasher {
	enum wharf_digest_alg alg;
	EVP_MD_CTX *ctx;
};

const char *wharf_digest_alg_name(enum wharf_digest_alg alg)
{
	return alg == WHARF_SHA512 ? "sha512" : "sha256";
}

static size_t alg_hex_len(enum wharf_digest_alg alg)
{
	return alg == WHARF_SHA512 ? 128 : 64;
}

static bool is_alg_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alg_sep(char c)
{
	return c == '+' || c == '.' || c == '_' || c == '-';
}

/* algorithm ::= component (separator component)*, component ::= [a-z0-9]+ */
static bool valid_algorithm(const char *s, size_t len)
{
	if (len == 0 || !is_alg_char(s[0]) || !is_alg_char(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (is_alg_char(s[i]))
			continue;
		if (!is_alg_sep(s[i]) || is_alg_sep(s[i + 1]))
			return false;
	}
	return true;
}

/* encoded ::= [a-zA-Z0-9=_-]+ */
static bool valid_encoded(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '=' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int wharf_digest_parse_n(struct wharf_digest *out, const char *s, size_t len, struct wharf_error *err)
{
	const char *colon = memchr(s, ':', len);
	int shown = len > 80 ? 80 : (int)len;
	if (!colon)
		return wharf_error_set(err, WHARF_EINVAL,
				       "digest '%.*s' has no ':' between algorithm and hex", shown, s);
	size_t alen = (size_t)(colon - s), elen = len - alen - 1;
	if (!valid_algorithm(s, alen) || !valid_encoded(colon + 1, elen))
		return wharf_error_set(err, WHARF_EINVAL,
				       "digest '%.*s' does not match algorithm:encoded", shown, s);
	enum wharf_digest_alg alg;
	if (alen == 6 && memcmp(s, "sha256", 6) == 0)
		alg = WHARF_SHA256;
	else if (alen == 6 && memcmp(s, "sha512", 6) == 0)
		alg = WHARF_SHA512;
	else
		return wharf_error_set(err, WHARF_EUNSUPPORTED,
				       "digest '%.*s': algorithm '%.*s' is not supported (use sha256 or sha512)",
				       shown, s, (int)(alen > 32 ? 32 : alen), s);
	if (elen != alg_hex_len(alg) || !is_lower_hex(colon + 1, elen))
		return wharf_error_set(err, WHARF_EINVAL,
				       "digest '%.*s': a %s digest is %zu lower-case hex characters", shown, s,
				       wharf_digest_alg_name(alg), alg_hex_len(alg));
	out->alg = alg;
	memcpy(out->str, s, len);
	out->str[len] = '\0';
	return 0;
}

int wharf_digest_parse(struct wharf_digest *out, const char *s, struct wharf_error *err)
{
	return wharf_digest_parse_n(out, s, strlen(s), err);
}

const char *wharf_digest_hex(const struct wharf_digest *d)
{
	return d->str + 7;
}

bool wharf_digest_equal(const struct wharf_digest *a, const struct wharf_digest *b)
{
	return a->alg == b->alg && strcmp(a->str, b->str) == 0;
}

struct wharf_hasher *wharf_hasher_new(enum wharf_digest_alg alg)
{
	struct wharf_hasher *h = wharf_xcalloc(1, sizeof(*h));
	h->alg = alg;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, alg == WHARF_SHA512 ? EVP_sha512() : EVP_sha256(), NULL))
		abort();
	return h;
}

void wharf_hasher_free(struct wharf_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void wharf_hasher_update(struct wharf_hasher *h, const void *data, size_t len)
{
	if (len && !EVP_DigestUpdate(h->ctx, data, len))
		abort();
}

struct wharf_hasher *wharf_hasher_dup(const struct wharf_hasher *h)
{
	struct wharf_hasher *c = wharf_xcalloc(1, sizeof(*c));
	c->alg = h->alg;
	c->ctx = EVP_MD_CTX_new();
	if (!c->ctx || !EVP_MD_CTX_copy_ex(c->ctx, h->ctx))
		abort();
	return c;
}

enum wharf_digest_alg wharf_hasher_alg(const struct wharf_hasher *h)
{
	return h->alg;
}

void wharf_hasher_final(struct wharf_hasher *h, struct wharf_digest *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_DigestFinal_ex(h->ctx, md, &mdlen))
		abort();
	out->alg = h->alg;
	char *p = out->str;
	memcpy(p, wharf_digest_alg_name(h->alg), 6);
	p[6] = ':';
	p += 7;
	for (unsigned i = 0; i < mdlen; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

void wharf_digest_buffer(enum wharf_digest_alg alg, const void *data, size_t len,
			 struct wharf_digest *out)
{
	struct wharf_hasher *h = wharf_hasher_new(alg);
	wharf_hasher_update(h, data, len);
	wharf_hasher_final(h, out);
	wharf_hasher_free(h);
}

int wharf_digest_fd(enum wharf_digest_alg alg, int fd, uint64_t len, struct wharf_digest *out,
		    struct wharf_error *err)
{
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = wharf_xmalloc(CHUNK);
	struct wharf_hasher *h = wharf_hasher_new(alg);
	uint64_t off = 0;
	while (off < len) {
		size_t want = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			wharf_hasher_free(h);
			if (n == 0)
				return wharf_error_set(err, WHARF_EIO, "file ended at %llu of %llu bytes",
						       (unsigned long long)off, (unsigned long long)len);
			return wharf_error_sys(err, "cannot read for hashing");
		}
		wharf_hasher_update(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	wharf_hasher_final(h, out);
	wharf_hasher_free(h);
	return 0;
}
