#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wharf/util.h"

int wharf_mkdir_p(const char *path, unsigned mode, struct wharf_error *err)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(tmp))
		return wharf_error_set(err, WHARF_EINVAL, "directory path '%s' is empty or too long", path);
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return wharf_error_sys(err, "cannot create directory %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return wharf_error_sys(err, "cannot create directory %s", tmp);
	struct stat st;
	if (stat(tmp, &st) < 0)
		return wharf_error_sys(err, "cannot stat %s", tmp);
	if (!S_ISDIR(st.st_mode))
		return wharf_error_set(err, WHARF_EEXIST, "%s exists and is not a directory", tmp);
	return 0;
}

int wharf_fsync_dir(const char *dir, struct wharf_error *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return wharf_error_sys(err, "cannot open directory %s", dir);
	if (fsync(fd) < 0)
		return wharf_error_sys(err, "cannot fsync directory %s", dir);
	return 0;
}

int wharf_fsync_parent(const char *path, struct wharf_error *err)
{
	_cleanup_free_ char *copy = wharf_xstrdup(path);
	return wharf_fsync_dir(dirname(copy), err);
}

int wharf_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int wharf_pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int wharf_atomic_write(const char *path, const void *data, size_t len, unsigned mode,
		       struct wharf_error *err)
{
	char suffix[17];
	int r = wharf_random_hex(suffix, 8, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = wharf_xasprintf("%s.tmp-%s", path, suffix);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return wharf_error_sys(err, "cannot create %s", tmp);
	if (wharf_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		r = wharf_error_sys(err, "cannot write %s", tmp);
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = wharf_error_sys(err, "cannot rename %s to %s", tmp, path);
		unlink(tmp);
		return r;
	}
	return wharf_fsync_parent(path, err);
}

int wharf_read_file(const char *path, size_t limit, char **out, size_t *out_len,
		    struct wharf_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return wharf_error_set(err, WHARF_ENOTFOUND, "%s does not exist", path);
		return wharf_error_sys(err, "cannot open %s", path);
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			wharf_buf_free(&b);
			return wharf_error_sys(err, "cannot read %s", path);
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > limit) {
			wharf_buf_free(&b);
			return wharf_error_set(err, WHARF_ETOOBIG, "%s is larger than %zu bytes", path, limit);
		}
		wharf_buf_append(&b, chunk, (size_t)n);
	}
	*out_len = b.len;
	*out = wharf_buf_steal(&b);
	return 0;
}
