#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wharf/store.h"

struct wharf_store {
	char *root;
	char *uploads;
};

static void blob_dir(const struct wharf_store *s, const struct wharf_digest *d, char *out, size_t n)
{
	const char *hex = wharf_digest_hex(d);
	snprintf(out, n, "%s/blobs/%s/%c%c", s->root, wharf_digest_alg_name(d->alg), hex[0], hex[1]);
}

static void blob_path(const struct wharf_store *s, const struct wharf_digest *d, char *out, size_t n)
{
	char dir[PATH_MAX];
	blob_dir(s, d, dir, sizeof(dir));
	snprintf(out, n, "%s/%s", dir, wharf_digest_hex(d));
}

int wharf_store_open(struct wharf_store **out, const char *root, struct wharf_error *err)
{
	struct wharf_store *s = wharf_xcalloc(1, sizeof(*s));
	s->root = wharf_xstrdup(root);
	s->uploads = wharf_xasprintf("%s/uploads", root);
	const char *subdirs[] = {"blobs/sha256", "blobs/sha512", "uploads"};
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *p = wharf_xasprintf("%s/%s", root, subdirs[i]);
		int r = wharf_mkdir_p(p, 0755, err);
		if (r < 0) {
			wharf_store_close(s);
			return r;
		}
	}
	*out = s;
	return 0;
}

void wharf_store_close(struct wharf_store *s)
{
	if (!s)
		return;
	free(s->root);
	free(s->uploads);
	free(s);
}

int wharf_store_blob_open(struct wharf_store *s, const struct wharf_digest *d, int *fd, uint64_t *size,
			  struct wharf_error *err)
{
	char path[PATH_MAX];
	blob_path(s, d, path, sizeof(path));
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0) {
		if (errno == ENOENT)
			return wharf_error_set(err, WHARF_ENOTFOUND, "blob %s is not in the store", d->str);
		return wharf_error_sys(err, "cannot open blob %s", d->str);
	}
	struct stat st;
	if (fstat(f, &st) < 0) {
		close(f);
		return wharf_error_sys(err, "cannot stat blob %s", d->str);
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

int wharf_store_blob_read(struct wharf_store *s, const struct wharf_digest *d, size_t limit, char **out, size_t *len,
			  struct wharf_error *err)
{
	int fd = -1;
	uint64_t size = 0;
	int r = wharf_store_blob_open(s, d, &fd, &size, err);
	if (r < 0)
		return r;
	if (size > limit) {
		close(fd);
		return wharf_error_set(err, WHARF_ETOOBIG, "blob %s of %llu bytes is over the limit of %zu bytes",
				       d->str, (unsigned long long)size, limit);
	}
	char *buf = wharf_xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n <= 0) {
			close(fd);
			free(buf);
			return n < 0 ? wharf_error_sys(err, "read blob %s", d->str)
				     : wharf_error_set(err, WHARF_EIO, "blob %s is shorter than its size", d->str);
		}
		got += (size_t)n;
	}
	close(fd);
	buf[size] = 0;
	*out = buf;
	*len = size;
	return 0;
}

bool wharf_store_blob_exists(struct wharf_store *s, const struct wharf_digest *d)
{
	char path[PATH_MAX];
	blob_path(s, d, path, sizeof(path));
	return access(path, F_OK) == 0;
}

int wharf_store_blob_remove(struct wharf_store *s, const struct wharf_digest *d, struct wharf_error *err)
{
	char path[PATH_MAX];
	blob_path(s, d, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return wharf_error_sys(err, "cannot remove blob %s", d->str);
	return 0;
}

static int ensure_blob_dir(struct wharf_store *s, const struct wharf_digest *d, struct wharf_error *err)
{
	char dir[PATH_MAX];
	blob_dir(s, d, dir, sizeof(dir));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return wharf_error_sys(err, "cannot create %s", dir);
	return 0;
}

int wharf_store_put(struct wharf_store *s, const struct wharf_digest *d, const void *data, size_t len,
		    struct wharf_error *err)
{
	char path[PATH_MAX];
	blob_path(s, d, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return 0; /* content-addressed: the same name is the same bytes */
	int r = ensure_blob_dir(s, d, err);
	if (r < 0)
		return r;
	return wharf_atomic_write(path, data, len, 0644, err);
}

bool wharf_store_valid_upload_id(const char *id)
{
	size_t n = strlen(id);
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

int wharf_store_upload_create(struct wharf_store *s, char id[33], struct wharf_error *err)
{
	int r = wharf_random_hex(id, 16, err);
	if (r < 0)
		return r;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", s->uploads, id);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return wharf_error_sys(err, "cannot create upload file %s", path);
	close(fd);
	return 0;
}

int wharf_store_upload_open(struct wharf_store *s, const char *id, int *fd, uint64_t *size,
			    struct wharf_error *err)
{
	if (!wharf_store_valid_upload_id(id))
		return wharf_error_set(err, WHARF_EINVAL, "upload id '%.40s' is not 32 hex characters", id);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", s->uploads, id);
	int f = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0) {
		if (errno == ENOENT)
			return wharf_error_set(err, WHARF_ENOTFOUND, "upload %s is not known", id);
		return wharf_error_sys(err, "cannot open upload %s", id);
	}
	struct stat st;
	if (fstat(f, &st) < 0) {
		close(f);
		return wharf_error_sys(err, "cannot stat upload %s", id);
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

int wharf_store_upload_commit(struct wharf_store *s, const char *id, int fd, uint64_t len,
			      const struct wharf_digest *d, struct wharf_error *err)
{
	char from[PATH_MAX], to[PATH_MAX];
	if (!wharf_store_valid_upload_id(id))
		return wharf_error_set(err, WHARF_EINVAL, "upload id '%.40s' is not 32 hex characters", id);
	snprintf(from, sizeof(from), "%s/%s", s->uploads, id);
	blob_path(s, d, to, sizeof(to));
	if (access(to, F_OK) == 0) {
		unlink(from); /* already stored: same digest, same bytes */
		return 0;
	}
	if (ftruncate(fd, (off_t)len) < 0 || fdatasync(fd) < 0)
		return wharf_error_sys(err, "cannot flush upload %s", id);
	int r = ensure_blob_dir(s, d, err);
	if (r < 0)
		return r;
	if (rename(from, to) < 0)
		return wharf_error_sys(err, "cannot move upload %s to %s", id, to);
	return wharf_fsync_parent(to, err);
}

int wharf_store_upload_remove(struct wharf_store *s, const char *id)
{
	if (!wharf_store_valid_upload_id(id))
		return -WHARF_EINVAL;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", s->uploads, id);
	return unlink(path) < 0 && errno != ENOENT ? -WHARF_EIO : 0;
}

static int walk_dir(const char *dir, void (*fn)(void *ctx, const char *dir, const char *name, int64_t mtime),
		    void *ctx, struct wharf_error *err)
{
	DIR *dp = opendir(dir);
	if (!dp) {
		if (errno == ENOENT)
			return 0;
		return wharf_error_sys(err, "cannot read directory %s", dir);
	}
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		fn(ctx, dir, de->d_name, (int64_t)st.st_mtime);
	}
	closedir(dp);
	return 0;
}

/* Every file under blobs/<alg>/<xx>/, with its algorithm: finished blobs and the temp files of
 * interrupted writes alike. */
typedef void (*blob_file_fn)(void *ctx, const char *alg, const char *dir, const char *name, int64_t mtime);

struct blob_files_walk {
	blob_file_fn fn;
	void *ctx;
	const char *alg;
};

static void on_blob_dir_entry(void *ctx, const char *dir, const char *name, int64_t mtime)
{
	struct blob_files_walk *w = ctx;
	w->fn(w->ctx, w->alg, dir, name, mtime);
}

static void on_blob_subdir(void *ctx, const char *dir, const char *name, int64_t mtime)
{
	(void)mtime;
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	walk_dir(sub, on_blob_dir_entry, ctx, NULL);
}

static int walk_blob_files(struct wharf_store *s, blob_file_fn fn, void *ctx, struct wharf_error *err)
{
	const char *algs[] = {"sha256", "sha512"};
	for (size_t i = 0; i < 2; i++) {
		struct blob_files_walk w = {fn, ctx, algs[i]};
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/blobs/%s", s->root, algs[i]);
		int r = walk_dir(dir, on_blob_subdir, &w, err);
		if (r < 0)
			return r;
	}
	return 0;
}

struct blob_walk {
	wharf_store_blob_fn fn;
	void *ctx;
};

static void on_blob_file(void *ctx, const char *alg, const char *dir, const char *name, int64_t mtime)
{
	(void)dir;
	struct blob_walk *w = ctx;
	char text[WHARF_DIGEST_MAX + 8];
	snprintf(text, sizeof(text), "%s:%s", alg, name);
	struct wharf_digest d;
	if (wharf_digest_parse(&d, text, NULL) == 0)
		w->fn(w->ctx, &d, mtime);
}

int wharf_store_foreach_blob(struct wharf_store *s, wharf_store_blob_fn fn, void *ctx,
			     struct wharf_error *err)
{
	struct blob_walk w = {fn, ctx};
	return walk_blob_files(s, on_blob_file, &w, err);
}

struct temp_walk {
	int64_t cutoff;
	uint64_t *removed;
};

static void on_maybe_temp(void *ctx, const char *alg, const char *dir, const char *name, int64_t mtime)
{
	(void)alg;
	struct temp_walk *w = ctx;
	if (!strstr(name, ".tmp-") || mtime >= w->cutoff)
		return;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) == 0)
		(*w->removed)++;
}

int wharf_store_remove_stale_temps(struct wharf_store *s, int64_t cutoff, uint64_t *removed,
				   struct wharf_error *err)
{
	struct temp_walk w = {cutoff, removed};
	return walk_blob_files(s, on_maybe_temp, &w, err);
}

struct upload_walk {
	wharf_store_upload_fn fn;
	void *ctx;
};

static void on_upload_file(void *ctx, const char *dir, const char *name, int64_t mtime)
{
	(void)dir;
	struct upload_walk *w = ctx;
	if (wharf_store_valid_upload_id(name))
		w->fn(w->ctx, name, mtime);
}

int wharf_store_foreach_upload(struct wharf_store *s, wharf_store_upload_fn fn, void *ctx,
			       struct wharf_error *err)
{
	struct upload_walk w = {fn, ctx};
	return walk_dir(s->uploads, on_upload_file, &w, err);
}
