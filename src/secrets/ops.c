/* Create, rotate, remove, read and list the secrets of an open store. One file per secret,
 * <name>.secret, written atomically (temp file in the store, fsync, rename, fsync the directory). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

static char *file_name(const char *name)
{
	return wharf_xasprintf("%s" SECRET_SUFFIX, name);
}

/* Read name's file into *buf (at most SECRET_FILE_MAX bytes); WHARF_ENOTFOUND when absent. */
static int read_secret_file(struct wharf_secrets *s, const char *name, unsigned char **buf, size_t *len,
			    struct wharf_error *err)
{
	_cleanup_free_ char *fn = file_name(name);
	_cleanup_close_ int fd = openat(s->dirfd, fn, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? wharf_error_set(err, WHARF_ENOTFOUND, "no secret named \"%s\"", name)
				       : wharf_error_sys(err, "cannot open %s/%s", s->dir, fn);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return wharf_error_sys(err, "cannot stat %s/%s", s->dir, fn);
	if (!S_ISREG(st.st_mode))
		return wharf_error_set(err, WHARF_EINVAL, "%s/%s is not a regular file", s->dir, fn);
	if (st.st_size > SECRET_FILE_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s/%s: %lld bytes is over the %d-byte limit of a secret file",
				       s->dir, fn, (long long)st.st_size, SECRET_FILE_MAX);
	unsigned char *b = wharf_xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(b);
			return n < 0 ? wharf_error_sys(err, "cannot read %s/%s", s->dir, fn)
				     : wharf_error_set(err, WHARF_EIO, "%s/%s shrank while read", s->dir, fn);
		}
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	return 0;
}

/* Parse, bind to name, and decrypt when plain is not NULL (*plain: info->size + 1 bytes). */
static int open_secret(struct wharf_secrets *s, const char *name, struct wharf_secret_info *info,
		       unsigned char **plain, struct wharf_error *err)
{
	int r = wharf_secret_name_check(name, err);
	if (r < 0)
		return r;
	_cleanup_free_ unsigned char *buf = NULL;
	size_t len = 0;
	if ((r = read_secret_file(s, name, &buf, &len, err)) < 0)
		return r;
	_cleanup_free_ char *what = wharf_xasprintf("secret file %s/%s" SECRET_SUFFIX, s->dir, name);
	struct wharf_secret_file f;
	if ((r = wharf_secret_file_parse(buf, len, what, &f, err)) < 0)
		return r;
	if (strcmp(f.info.name, name) != 0)
		return wharf_error_set(err, WHARF_EDIGEST,
				       "%s: the file holds secret \"%s\", not \"%s\" (swapped or renamed file)", what,
				       f.info.name, name);
	unsigned char *out = wharf_xmalloc(f.info.size + 1);
	r = secrets_aead(s->key, false, f.nonce, f.aad, f.aad_len, f.ciphertext, f.info.size, out,
			 (unsigned char *)f.tag, what, err);
	out[r == 0 ? f.info.size : 0] = '\0';
	if (r < 0 || !plain)
		secrets_wipe_free(out, f.info.size + 1);
	else
		*plain = out;
	if (r == 0 && info)
		*info = f.info;
	return r;
}

/* Seal data under info into name's file, atomically. */
static int write_secret(struct wharf_secrets *s, const struct wharf_secret_info *info, const unsigned char *data,
			struct wharf_error *err)
{
	unsigned char nonce[SECRET_NONCE_LEN];
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return wharf_error_set(err, WHARF_EINTERNAL, "no random bytes from OpenSSL");
	size_t total = SECRET_HEADER_MAX + info->size + SECRET_TAG_LEN;
	_cleanup_free_ unsigned char *file = wharf_xmalloc(total);
	size_t hlen = secrets_header_write(info, nonce, file);
	int r = secrets_aead(s->key, true, nonce, file, hlen, data, info->size, file + hlen, file + hlen + info->size,
			     info->name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = wharf_xasprintf("%s/%s" SECRET_SUFFIX, s->dir, info->name);
	return wharf_atomic_write(path, file, hlen + info->size + SECRET_TAG_LEN, 0600, err);
}

/* Before a change: check the name and the new value's size (0 when none is written), then take
 * the store's lock into *lock. */
static int begin_change(struct wharf_secrets *s, const char *name, size_t len, int *lock, struct wharf_error *err)
{
	int r = wharf_secret_name_check(name, err);
	if (r < 0)
		return r;
	if (len > WHARF_SECRET_MAX_SIZE)
		return wharf_error_set(err, WHARF_ETOOBIG, "secret \"%s\": value of %zu bytes is over the %u-byte limit",
				       name, len, WHARF_SECRET_MAX_SIZE);
	return secrets_lock(s, lock, err);
}

int wharf_secrets_create(struct wharf_secrets *s, const char *name, const unsigned char *data, size_t len,
			 struct wharf_secret_info *info, struct wharf_error *err)
{
	_cleanup_close_ int lock = -1;
	int r = begin_change(s, name, len, &lock, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *fn = file_name(name);
	if (faccessat(s->dirfd, fn, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return wharf_error_set(err, WHARF_EEXIST, "a secret named \"%s\" exists (rotate it, or rm it first)",
				       name);
	struct wharf_secret_info in = {.version = 1, .size = len};
	strcpy(in.name, name);
	in.created = in.updated = wharf_now();
	if ((r = wharf_random_hex(in.id, SECRET_ID_LEN, err)) < 0)
		return r;
	if ((r = write_secret(s, &in, data, err)) < 0)
		return r;
	if (info)
		*info = in;
	return 0;
}

int wharf_secrets_rotate(struct wharf_secrets *s, const char *name, const unsigned char *data, size_t len,
			 struct wharf_secret_info *info, struct wharf_error *err)
{
	_cleanup_close_ int lock = -1;
	int r = begin_change(s, name, len, &lock, err);
	struct wharf_secret_info cur;
	if (r == 0)
		r = open_secret(s, name, &cur, NULL, err); /* authenticate what we replace */
	if (r < 0)
		return r;
	if (cur.version == UINT32_MAX)
		return wharf_error_set(err, WHARF_ERANGE, "secret \"%s\": no version after %u", name, cur.version);
	cur.version++;
	cur.size = len;
	int64_t now = wharf_now();
	cur.updated = now > cur.created ? now : cur.created;
	if ((r = write_secret(s, &cur, data, err)) < 0)
		return r;
	if (info)
		*info = cur;
	return 0;
}

int wharf_secrets_remove(struct wharf_secrets *s, const char *name, struct wharf_error *err)
{
	_cleanup_close_ int lock = -1;
	int r = begin_change(s, name, 0, &lock, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *fn = file_name(name);
	if (unlinkat(s->dirfd, fn, 0) < 0)
		return errno == ENOENT ? wharf_error_set(err, WHARF_ENOTFOUND, "no secret named \"%s\"", name)
				       : wharf_error_sys(err, "cannot remove %s/%s", s->dir, fn);
	return fsync(s->dirfd) < 0 ? wharf_error_sys(err, "cannot fsync %s", s->dir) : 0;
}

int wharf_secrets_inspect(struct wharf_secrets *s, const char *name, struct wharf_secret_info *info,
			  struct wharf_error *err)
{
	return open_secret(s, name, info, NULL, err);
}

int wharf_secrets_get(struct wharf_secrets *s, const char *name, unsigned char **data, size_t *len,
		      struct wharf_error *err)
{
	struct wharf_secret_info info;
	int r = open_secret(s, name, &info, data, err);
	if (r == 0)
		*len = info.size;
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct wharf_secret_info *)a)->name, ((const struct wharf_secret_info *)b)->name);
}

/* The secret name of a directory entry, or false (temp files, the key, the lock). */
static bool entry_name(const char *d_name, char name[WHARF_SECRET_NAME_MAX + 1])
{
	size_t len = strlen(d_name), sl = strlen(SECRET_SUFFIX);
	if (len <= sl || len - sl > WHARF_SECRET_NAME_MAX || !wharf_str_has_suffix(d_name, SECRET_SUFFIX))
		return false;
	memcpy(name, d_name, len - sl);
	name[len - sl] = '\0';
	return wharf_secret_name_check(name, NULL) == 0;
}

int wharf_secrets_list(struct wharf_secrets *s, struct wharf_secret_info **out, size_t *n, struct wharf_error *err)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return wharf_error_sys(err, "cannot list %s", s->dir);
	}
	struct wharf_secret_info *v = NULL;
	size_t k = 0;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		char name[WHARF_SECRET_NAME_MAX + 1];
		if (!entry_name(e->d_name, name))
			continue;
		v = wharf_xrealloc(v, (k + 1) * sizeof(*v));
		r = open_secret(s, name, &v[k], NULL, err);
		k += r == 0;
	}
	closedir(d);
	if (r < 0) {
		free(v);
		return r;
	}
	if (k)
		qsort(v, k, sizeof(*v), by_name);
	*out = v;
	*n = k;
	return 0;
}
