/* The store's master key: 32 random bytes, either in master.key (0600, refused when group or
 * other may read it) or AES-GCM-encrypted by a non-extractable AES key on a PKCS#11 token
 * (master.key.p11, JSON). keycheck holds HMAC-SHA256(key, KEY_CHECK_LABEL) truncated to 16
 * bytes, so a wrong key is told apart from a tampered secret file without revealing the key. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "internal.h"
#include "wharf/pkcs11_wrap.h"

#define KEY_CHECK_LABEL "wharf secrets key check v1"
#define WRAP_AAD "wharf secrets master key v1"
#define P11_RECORD_MAX 4096

void secrets_key_check(const unsigned char key[MASTER_KEY_LEN], char out[33])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	HMAC(EVP_sha256(), key, MASTER_KEY_LEN, (const unsigned char *)KEY_CHECK_LABEL, strlen(KEY_CHECK_LABEL), mac,
	     &n);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static char *path_in(const char *dir, const char *file)
{
	return wharf_xasprintf("%s/%s", dir, file);
}

/* Read the plain master key, refusing a file others may read. */
static int load_plain(const char *dir, unsigned char key[MASTER_KEY_LEN], struct wharf_error *err)
{
	_cleanup_free_ char *path = path_in(dir, "master.key");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? wharf_error_set(err, WHARF_ENOTFOUND, "%s does not exist", path)
				       : wharf_error_sys(err, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return wharf_error_sys(err, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return wharf_error_set(err, WHARF_EINVAL, "%s is not a regular file", path);
	if (st.st_mode & 077)
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s has mode %04o: a master key readable or writable by group or other is "
				       "refused (run 'chmod 600 %s' if nobody else could have read it, else rotate "
				       "every secret under a new store)",
				       path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_uid != geteuid())
		return wharf_error_set(err, WHARF_EINVAL, "%s belongs to uid %u, not to this user (uid %u)", path,
				       (unsigned)st.st_uid, (unsigned)geteuid());
	unsigned char buf[MASTER_KEY_LEN + 1];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n != MASTER_KEY_LEN) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return n < 0 ? wharf_error_sys(err, "cannot read %s", path)
			     : wharf_error_set(err, WHARF_EINVAL, "%s: a master key is %d bytes, this file has %s%zd",
					       path, MASTER_KEY_LEN, n > MASTER_KEY_LEN ? "more than " : "",
					       n > MASTER_KEY_LEN ? (ssize_t)MASTER_KEY_LEN : n);
	}
	memcpy(key, buf, MASTER_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static int hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (!hex || strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

static char *hex_encode(const unsigned char *p, size_t n)
{
	char *s = wharf_xmalloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	return s;
}

struct p11_record {
	const char *module, *token, *label;
	unsigned char iv[SECRET_NONCE_LEN];
	unsigned char wrapped[MASTER_KEY_LEN + SECRET_TAG_LEN];
};

static int read_record(const char *path, json_t **doc, struct p11_record *rec, struct wharf_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, P11_RECORD_MAX, &text, &len, err);
	if (r < 0)
		return r;
	json_error_t jerr;
	*doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*doc || json_unpack(*doc, "{s:s,s:s,s:s}", "module", &rec->module, "token", &rec->token, "key_label",
				 &rec->label) != 0 ||
	    hex_decode(json_string_value(json_object_get(*doc, "iv")), rec->iv, sizeof(rec->iv)) < 0 ||
	    hex_decode(json_string_value(json_object_get(*doc, "wrapped")), rec->wrapped, sizeof(rec->wrapped)) < 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s: not a wrapped master key record ({module, token, key_label, iv: 24 hex, "
				       "wrapped: 96 hex})",
				       path);
	return 0;
}

static int load_wrapped(const char *dir, const char *pin, unsigned char key[MASTER_KEY_LEN],
			struct wharf_error *err)
{
	_cleanup_free_ char *path = path_in(dir, "master.key.p11");
	json_t *doc = NULL;
	struct p11_record rec;
	int r = read_record(path, &doc, &rec, err);
	if (r == 0 && (!pin || !*pin))
		r = wharf_error_set(err, WHARF_EINVAL,
				    "the master key is wrapped by token \"%s\": set WHARF_PKCS11_PIN to its user PIN",
				    rec.token);
	struct wharf_p11 *p = NULL;
	if (r == 0)
		r = wharf_p11_open(&p, rec.module, err);
	if (r == 0)
		r = wharf_p11_login(p, rec.token, pin, err);
	unsigned char out[MASTER_KEY_LEN + SECRET_TAG_LEN];
	size_t n = 0;
	if (r == 0)
		r = wharf_p11_aes_gcm(p, rec.label, false, rec.iv, WRAP_AAD, strlen(WRAP_AAD), rec.wrapped,
				      sizeof(rec.wrapped), out, &n, err);
	if (r == 0 && n != MASTER_KEY_LEN)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: the unwrapped master key is %zu bytes", path, n);
	if (r == 0)
		memcpy(key, out, MASTER_KEY_LEN);
	OPENSSL_cleanse(out, sizeof(out));
	wharf_p11_close(p);
	json_decref(doc);
	return r < 0 ? wharf_error_prefix(err, "master key %s", path) : 0;
}

static int verify_check(const char *dir, const unsigned char key[MASTER_KEY_LEN], struct wharf_error *err)
{
	_cleanup_free_ char *path = path_in(dir, "keycheck");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, 64, &text, &len, err);
	if (r < 0)
		return r;
	char want[33];
	secrets_key_check(key, want);
	if (len < 32 || memcmp(text, want, 32) != 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "the master key does not match the store in %s (its key check %s differs): "
				       "wrong key file or token key",
				       dir, path);
	return 0;
}

int secrets_master_load(const char *dir, const char *pin, unsigned char key[MASTER_KEY_LEN],
			struct wharf_error *err)
{
	_cleanup_free_ char *wrapped = path_in(dir, "master.key.p11");
	int r = access(wrapped, F_OK) == 0 ? load_wrapped(dir, pin, key, err) : load_plain(dir, key, err);
	if (r == 0 && (r = verify_check(dir, key, err)) < 0)
		OPENSSL_cleanse(key, MASTER_KEY_LEN);
	return r;
}

static int create_wrapped(const char *dir, const struct wharf_secrets_init_opts *o,
			  const unsigned char key[MASTER_KEY_LEN], struct wharf_error *err)
{
	struct wharf_p11 *p = NULL;
	char rnd[17];
	_cleanup_free_ char *label = NULL;
	int r = wharf_random_hex(rnd, 8, err);
	if (r == 0)
		label = o->key_label ? wharf_xstrdup(o->key_label) : wharf_xasprintf("wharf-secrets-%s", rnd);
	if (r == 0 && !o->pin)
		r = wharf_error_set(err, WHARF_EINVAL, "a PIN is needed to log in to the token");
	if (r == 0)
		r = wharf_p11_open(&p, o->pkcs11_module, err);
	if (r == 0)
		r = wharf_p11_login(p, o->token, o->pin, err);
	if (r == 0)
		r = wharf_p11_generate_aes(p, label, err);
	struct p11_record rec;
	size_t n = 0;
	if (r == 0 && RAND_bytes(rec.iv, sizeof(rec.iv)) != 1)
		r = wharf_error_set(err, WHARF_EINTERNAL, "no random bytes from OpenSSL");
	if (r == 0)
		r = wharf_p11_aes_gcm(p, label, true, rec.iv, WRAP_AAD, strlen(WRAP_AAD), key, MASTER_KEY_LEN,
				      rec.wrapped, &n, err);
	if (r == 0) {
		_cleanup_free_ char *iv = hex_encode(rec.iv, sizeof(rec.iv));
		_cleanup_free_ char *w = hex_encode(rec.wrapped, sizeof(rec.wrapped));
		json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "module", wharf_p11_module_path(p), "token",
					wharf_p11_token_label(p), "key_label", label, "mechanism", "CKM_AES_GCM", "iv",
					iv, "wrapped", w);
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		_cleanup_free_ char *path = path_in(dir, "master.key.p11");
		r = wharf_atomic_write(path, text, strlen(text), 0600, err);
		free(text);
		json_decref(doc);
	}
	wharf_p11_close(p);
	return r;
}

/* The key check goes first: the store exists once its master key does (wharf_secrets_exists),
 * so a crash in between leaves no store rather than one that cannot be opened. */
int secrets_master_create(const char *dir, const struct wharf_secrets_init_opts *opts,
			  unsigned char key[MASTER_KEY_LEN], struct wharf_error *err)
{
	if (RAND_priv_bytes(key, MASTER_KEY_LEN) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "no random bytes from OpenSSL");
	char check[34];
	secrets_key_check(key, check);
	check[32] = '\n';
	_cleanup_free_ char *cpath = path_in(dir, "keycheck");
	int r = wharf_atomic_write(cpath, check, 33, 0600, err);
	if (r == 0 && opts && opts->pkcs11_module) {
		r = create_wrapped(dir, opts, key, err);
	} else if (r == 0) {
		_cleanup_free_ char *path = path_in(dir, "master.key");
		r = wharf_atomic_write(path, key, MASTER_KEY_LEN, 0600, err);
	}
	if (r < 0)
		OPENSSL_cleanse(key, MASTER_KEY_LEN);
	return r;
}
