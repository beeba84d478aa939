/* The secret file: a versioned header that is also the AEAD's additional data, then the
 * ciphertext and the tag. See docs/secrets.md ("File format"). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

int wharf_secret_name_check(const char *name, struct wharf_error *err)
{
	if (!name || !*name)
		return wharf_error_set(err, WHARF_EINVAL, "a secret name must not be empty");
	size_t len = strlen(name);
	if (len > WHARF_SECRET_NAME_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "secret name of %zu characters is longer than %d", len,
				       WHARF_SECRET_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (alnum || (i > 0 && (c == '_' || c == '.' || c == '-')))
			continue;
		return wharf_error_set(err, WHARF_EINVAL,
				       "secret name \"%.64s\": character %zu is not allowed (names are "
				       "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63})",
				       name, i + 1);
	}
	return 0;
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static const char HEX[] = "0123456789abcdef";

bool secrets_id_decode(const char *hex, unsigned char out[SECRET_ID_LEN])
{
	if (strlen(hex) != 2 * SECRET_ID_LEN)
		return false;
	for (size_t i = 0; i < SECRET_ID_LEN; i++) {
		const char *hi = strchr(HEX, hex[2 * i]), *lo = strchr(HEX, hex[2 * i + 1]);
		if (!hex[2 * i] || !hex[2 * i + 1] || !hi || !lo)
			return false;
		out[i] = (unsigned char)(((hi - HEX) << 4) | (lo - HEX));
	}
	return true;
}

size_t secrets_header_write(const struct wharf_secret_info *info, const unsigned char nonce[SECRET_NONCE_LEN],
			    unsigned char *out)
{
	size_t nlen = strlen(info->name), o = 0;
	memcpy(out, SECRET_MAGIC, 8), o += 8;
	out[o++] = SECRET_FORMAT;
	out[o++] = SECRET_CIPHER_AES256GCM;
	out[o++] = (unsigned char)nlen;
	memcpy(out + o, info->name, nlen), o += nlen;
	secrets_id_decode(info->id, out + o), o += SECRET_ID_LEN;
	put_be(out + o, info->version, 4), o += 4;
	put_be(out + o, (uint64_t)info->created, 8), o += 8;
	put_be(out + o, (uint64_t)info->updated, 8), o += 8;
	put_be(out + o, info->size, 4), o += 4;
	memcpy(out + o, nonce, SECRET_NONCE_LEN), o += SECRET_NONCE_LEN;
	return o;
}

/* The fixed-size part after the name: id, version, created, updated, size, nonce. */
#define FIXED_TAIL (SECRET_ID_LEN + 4 + 8 + 8 + 4 + SECRET_NONCE_LEN)

static int parse_fixed(const unsigned char *p, const char *what, struct wharf_secret_file *out,
		       struct wharf_error *err)
{
	for (size_t i = 0; i < SECRET_ID_LEN; i++) {
		out->info.id[2 * i] = HEX[p[i] >> 4];
		out->info.id[2 * i + 1] = HEX[p[i] & 15];
	}
	out->info.id[2 * SECRET_ID_LEN] = '\0';
	p += SECRET_ID_LEN;
	uint64_t version = get_be(p, 4), created = get_be(p + 4, 8), updated = get_be(p + 12, 8);
	uint64_t size = get_be(p + 20, 4);
	memcpy(out->nonce, p + 24, SECRET_NONCE_LEN);
	if (version == 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: version 0 (versions start at 1)", what);
	if (created > INT64_MAX || updated > INT64_MAX || updated < created)
		return wharf_error_set(err, WHARF_EINVAL, "%s: times out of order (created %llu, updated %llu)", what,
				       (unsigned long long)created, (unsigned long long)updated);
	if (size > WHARF_SECRET_MAX_SIZE)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: value of %llu bytes is over the %u-byte limit", what,
				       (unsigned long long)size, WHARF_SECRET_MAX_SIZE);
	out->info.version = (uint32_t)version;
	out->info.created = (int64_t)created;
	out->info.updated = (int64_t)updated;
	out->info.size = size;
	return 0;
}

int wharf_secret_file_parse(const unsigned char *buf, size_t len, const char *what, struct wharf_secret_file *out,
			    struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len > SECRET_FILE_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: %zu bytes is over the %d-byte limit of a secret file",
				       what, len, SECRET_FILE_MAX);
	if (len < 11 || memcmp(buf, SECRET_MAGIC, 8) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not a wharf secret file (no WHARFSEC magic)", what);
	if (buf[8] != SECRET_FORMAT)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "%s: file format %u is not supported (this wharf reads %d)",
				       what, buf[8], SECRET_FORMAT);
	if (buf[9] != SECRET_CIPHER_AES256GCM)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "%s: cipher %u is not supported (1: AES-256-GCM)", what,
				       buf[9]);
	size_t nlen = buf[10];
	if (nlen == 0 || nlen > WHARF_SECRET_NAME_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "%s: name length %zu is not 1..%d", what, nlen,
				       WHARF_SECRET_NAME_MAX);
	size_t hlen = 11 + nlen + FIXED_TAIL;
	if (len < hlen + SECRET_TAG_LEN)
		return wharf_error_set(err, WHARF_EINVAL, "%s: truncated (%zu bytes, header alone needs %zu)", what, len,
				       hlen + SECRET_TAG_LEN);
	memcpy(out->info.name, buf + 11, nlen);
	out->info.name[nlen] = '\0';
	if (memchr(out->info.name, '\0', nlen) || wharf_secret_name_check(out->info.name, err) < 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: the name in the header is not a valid secret name", what);
	int r = parse_fixed(buf + 11 + nlen, what, out, err);
	if (r < 0)
		return r;
	if (len != hlen + out->info.size + SECRET_TAG_LEN)
		return wharf_error_set(err, WHARF_EINVAL, "%s: %zu bytes, but the header says %zu (value of %llu)", what,
				       len, hlen + (size_t)out->info.size + SECRET_TAG_LEN,
				       (unsigned long long)out->info.size);
	out->aad = buf;
	out->aad_len = hlen;
	out->ciphertext = buf + hlen;
	out->tag = buf + hlen + out->info.size;
	return 0;
}

int secrets_aead(const unsigned char *key, bool encrypt, const unsigned char nonce[SECRET_NONCE_LEN],
		 const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t in_len, unsigned char *out,
		 unsigned char tag[SECRET_TAG_LEN], const char *what, struct wharf_error *err)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, encrypt ? 1 : 0) == 1;
	ok = ok && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1;
	ok = ok && (in_len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1);
	if (ok && !encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SECRET_TAG_LEN, tag) == 1;
	int fin = ok ? EVP_CipherFinal_ex(ctx, out + in_len, &n) : 0;
	if (ok && fin == 1 && encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SECRET_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return wharf_error_set(err, WHARF_EINTERNAL, "%s: AES-256-GCM failed in OpenSSL", what);
	if (fin != 1) {
		OPENSSL_cleanse(out, in_len);
		return wharf_error_set(err, WHARF_EDIGEST,
				       "%s: authentication failed: the file was altered, swapped or truncated, or is "
				       "encrypted under another master key",
				       what);
	}
	return 0;
}

void secrets_wipe_free(void *p, size_t len)
{
	if (p)
		OPENSSL_cleanse(p, len);
	free(p);
}
