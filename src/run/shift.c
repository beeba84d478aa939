/* The shifted copy of a cached rootfs, for kernels or file systems without idmapped mounts:
 * every entry copied with its owner moved by the range's base (lchown), modes, symlinks, FIFOs
 * and hard links kept, and cached per range next to the original. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wharf/run.h"

struct inode_map {
	dev_t dev;
	ino_t ino;
	char *path; /* relative path of the first copy, for hard links */
};

struct shifter {
	uint32_t base, size;
	int dst_root;
	struct inode_map *links;
	size_t n_links;
	struct wharf_error *err;
};

static uint32_t shift_id(const struct shifter *s, uint32_t id)
{
	return s->base + (id < s->size ? id : (s->size > 65534 ? 65534 : s->size - 1));
}

static int copy_data(int in, int out, off_t size, struct wharf_error *err, const char *rel)
{
	off_t left = size;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
			char buf[65536];
			n = read(in, buf, sizeof(buf));
			if (n > 0 && wharf_write_all(out, buf, (size_t)n) < 0)
				n = -1;
		}
		if (n < 0)
			return wharf_error_sys(err, "copy %s", rel);
		if (n == 0)
			break;
		left -= n;
	}
	return 0;
}

static int shift_dir(struct shifter *s, int src, int dst, const char *rel);

static int shift_entry(struct shifter *s, int src, int dst, const char *name, const char *rel)
{
	struct stat st;
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return wharf_error_sys(s->err, "stat %s", rel);
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		for (size_t i = 0; i < s->n_links; i++)
			if (s->links[i].dev == st.st_dev && s->links[i].ino == st.st_ino) {
				if (linkat(s->dst_root, s->links[i].path, dst, name, 0) < 0)
					return wharf_error_sys(s->err, "link %s", rel);
				return 0;
			}
		s->links = wharf_xrealloc(s->links, (s->n_links + 1) * sizeof(*s->links));
		s->links[s->n_links++] = (struct inode_map){st.st_dev, st.st_ino, wharf_xstrdup(rel)};
	}
	int r = 0;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst, name, 0700) < 0)
			return wharf_error_sys(s->err, "mkdir %s", rel);
		_cleanup_close_ int sfd = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int dfd = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || dfd < 0)
			return wharf_error_sys(s->err, "open %s", rel);
		r = shift_dir(s, sfd, dfd, rel);
	} else if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (in < 0 || out < 0)
			return wharf_error_sys(s->err, "copy %s", rel);
		r = copy_data(in, out, st.st_size, s->err, rel);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4097];
		ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
		if (n < 0)
			return wharf_error_sys(s->err, "readlink %s", rel);
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return wharf_error_sys(s->err, "symlink %s", rel);
	} else if (S_ISFIFO(st.st_mode)) {
		if (mknodat(dst, name, S_IFIFO | 0600, 0) < 0)
			return wharf_error_sys(s->err, "mkfifo %s", rel);
	} else {
		return 0; /* unpacking keeps nothing else */
	}
	if (r < 0)
		return r;
	if (fchownat(dst, name, shift_id(s, st.st_uid), shift_id(s, st.st_gid), AT_SYMLINK_NOFOLLOW) < 0)
		return wharf_error_sys(s->err, "chown %s", rel);
	if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
		return wharf_error_sys(s->err, "chmod %s", rel);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int shift_dir(struct shifter *s, int src, int dst, const char *rel)
{
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return wharf_error_sys(s->err, "open %s", rel);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = *rel ? wharf_xasprintf("%s/%s", rel, de->d_name) : wharf_xstrdup(de->d_name);
		r = shift_entry(s, dirfd(d), dst, de->d_name, child);
	}
	closedir(d);
	return r;
}

int wharf_rootfs_shifted(const char *src, uint32_t base, uint32_t size, char **out, struct wharf_error *err)
{
	char *dst = wharf_xasprintf("%s-shift-%u-%u", src, base, size);
	if (access(dst, F_OK) == 0) {
		*out = dst;
		return 0;
	}
	char rnd[17];
	int r = wharf_random_hex(rnd, 8, err);
	_cleanup_free_ char *tmp = wharf_xasprintf("%s.tmp-%s", dst, rnd);
	if (r == 0 && mkdir(tmp, 0700) < 0)
		r = wharf_error_sys(err, "mkdir %s", tmp);
	_cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int dfd = r == 0 ? open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (r == 0 && (sfd < 0 || dfd < 0))
		r = wharf_error_sys(err, "open %s", src);
	struct shifter s = {.base = base, .size = size, .dst_root = dfd, .err = err};
	struct stat st;
	if (r == 0)
		r = shift_dir(&s, sfd, dfd, "");
	if (r == 0 && (fstat(sfd, &st) < 0 || fchown(dfd, shift_id(&s, st.st_uid), shift_id(&s, st.st_gid)) < 0 ||
		       fchmod(dfd, st.st_mode & 07777) < 0))
		r = wharf_error_sys(err, "owner of %s", tmp);
	if (r == 0 && syncfs(dfd) < 0)
		r = wharf_error_sys(err, "sync %s", tmp);
	if (r == 0 && rename(tmp, dst) < 0 && errno != ENOTEMPTY && errno != EEXIST)
		r = wharf_error_sys(err, "rename %s", dst);
	for (size_t i = 0; i < s.n_links; i++)
		free(s.links[i].path);
	free(s.links);
	if (access(tmp, F_OK) == 0) { /* failed, or another run made the same copy first */
		struct wharf_error e2;
		const char *slash = strrchr(tmp, '/');
		_cleanup_free_ char *parent = wharf_xstrndup(tmp, (size_t)(slash - tmp));
		_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		wharf_remove_tree_at(pfd, slash + 1, &e2);
	}
	if (r < 0) {
		free(dst);
		return r;
	}
	*out = dst;
	return 0;
}
