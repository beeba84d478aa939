/* Safe unpacking of image layers: libarchive reads the tar stream (our own gzip stage in front,
 * hashing the uncompressed bytes into the diff ID), and every entry is written by us, never by
 * archive_write_disk. Every parent directory is opened with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), so neither `..`, nor absolute or relative symlinks, nor hard links can
 * reach outside the root; the last component is created with O_NOFOLLOW/O_EXCL or the *at calls
 * that never follow it. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <zlib.h>

#include "wharf/run.h"

#define DEFAULT_MAX_BYTES (8ull << 30)
#define DEFAULT_MAX_ENTRIES 1000000ull
#define CHUNK (64 * 1024)
#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"

int wharf_layer_compression(const char *mt, enum wharf_layer_compression *out, struct wharf_error *err)
{
	if (!mt)
		return wharf_error_set(err, WHARF_EINVAL, "layer without a media type");
	if (wharf_str_has_suffix(mt, ".tar+gzip") || wharf_str_has_suffix(mt, ".tar.gzip") ||
	    !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar.gzip")) {
		*out = WHARF_LAYER_GZIP;
		return 0;
	}
	if (wharf_str_has_suffix(mt, ".tar") || !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar")) {
		*out = WHARF_LAYER_TAR;
		return 0;
	}
	return wharf_error_set(err, WHARF_EUNSUPPORTED,
			       "layer media type %s is not supported (only tar and tar+gzip layers)", mt);
}

/* ---- the byte source: fd or memory, optionally gunzipped, hashed, limited ---- */

struct source {
	int fd;
	const unsigned char *mem;
	size_t mem_len, mem_off;
	bool gzip, z_done, z_init, eof;
	z_stream z;
	unsigned char in[CHUNK], out[CHUNK];
	struct wharf_hasher *hasher;
	uint64_t total, max;
	struct wharf_error *err;
	const char *what;
	int failed; /* a negative wharf code once the source failed */
};

static ssize_t raw_read(struct source *s, void *buf, size_t n)
{
	if (s->mem) {
		size_t k = s->mem_len - s->mem_off < n ? s->mem_len - s->mem_off : n;
		memcpy(buf, s->mem + s->mem_off, k);
		s->mem_off += k;
		return (ssize_t)k;
	}
	for (;;) {
		ssize_t r = read(s->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

/* Up to CHUNK uncompressed bytes into s->out; 0 at the end. */
static ssize_t gunzip_some(struct source *s)
{
	s->z.next_out = s->out;
	s->z.avail_out = CHUNK;
	while (s->z.avail_out == CHUNK) {
		if (s->z.avail_in == 0) {
			ssize_t r = raw_read(s, s->in, CHUNK);
			if (r < 0)
				return s->failed = wharf_error_sys(s->err, "%s: read", s->what);
			if (r == 0) {
				if (!s->z_done)
					return s->failed = wharf_error_set(s->err, WHARF_EINVAL,
									   "%s: the gzip stream is truncated", s->what);
				return 0;
			}
			s->z.next_in = s->in;
			s->z.avail_in = (uInt)r;
		}
		if (s->z_done) { /* another gzip member follows */
			if (inflateReset(&s->z) != Z_OK)
				return s->failed = wharf_error_set(s->err, WHARF_EINTERNAL, "inflateReset");
			s->z_done = false;
		}
		int zr = inflate(&s->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			s->z_done = true;
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return s->failed = wharf_error_set(s->err, WHARF_EINVAL, "%s: not valid gzip data (%s)",
							   s->what, s->z.msg ? s->z.msg : "inflate failed");
		else if (zr == Z_BUF_ERROR && s->z.avail_in != 0)
			return s->failed = wharf_error_set(s->err, WHARF_EINVAL, "%s: gzip stream stalls", s->what);
	}
	return (ssize_t)(CHUNK - s->z.avail_out);
}

static ssize_t source_next(struct source *s, const void **buf)
{
	if (s->failed)
		return -1;
	ssize_t n;
	if (s->gzip) {
		n = gunzip_some(s);
		*buf = s->out;
	} else {
		n = raw_read(s, s->out, CHUNK);
		if (n < 0)
			s->failed = wharf_error_sys(s->err, "%s: read", s->what);
		*buf = s->out;
	}
	if (n <= 0)
		return n;
	s->total += (uint64_t)n;
	if (s->total > s->max) {
		s->failed = wharf_error_set(s->err, WHARF_ETOOBIG, "%s: more than %llu uncompressed bytes (the layer limit)",
					    s->what, (unsigned long long)s->max);
		return -1;
	}
	if (s->hasher)
		wharf_hasher_update(s->hasher, *buf, (size_t)n);
	return n;
}

static la_ssize_t archive_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct source *s = ctx;
	ssize_t n = source_next(s, buf);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", s->err->message);
		return -1;
	}
	return n;
}

/* ---- paths inside the root ---- */

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (;;) {
		long r = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (r < 0 && errno == EAGAIN)
			continue;
		return (int)r;
	}
}

/* Normalise an entry name: no leading "/" or "./", no empty or "." components; a ".."
 * component is refused. *out is "" for the root itself. */
static int clean_path(const char *in, const char *what, char **out, struct wharf_error *err)
{
	if (strlen(in) >= PATH_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "%s: entry name longer than %d bytes", what, PATH_MAX);
	struct wharf_buf b;
	wharf_buf_init(&b);
	const char *p = in;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2)) {
			wharf_buf_free(&b);
			return wharf_error_set(err, WHARF_EINVAL,
					       "%s: entry '%s' has a '..' component (entries must stay inside the root)",
					       what, in);
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (b.len)
				wharf_buf_puts(&b, "/");
			wharf_buf_append(&b, p, n);
		}
		p += n;
		while (*p == '/')
			p++;
	}
	*out = b.data ? wharf_buf_steal(&b) : wharf_xstrdup("");
	return 0;
}

/* ---- the paths this layer wrote: whiteouts apply only to lower layers ---- */

struct pathset {
	char **slot;
	size_t cap, n;
};

static uint64_t path_hash(const char *p)
{
	uint64_t h = 1469598103934665603ull;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static bool pathset_has(const struct pathset *ps, const char *p)
{
	if (!ps->cap)
		return false;
	for (size_t i = path_hash(p) & (ps->cap - 1);; i = (i + 1) & (ps->cap - 1)) {
		if (!ps->slot[i])
			return false;
		if (!strcmp(ps->slot[i], p))
			return true;
	}
}

static void pathset_add(struct pathset *ps, const char *p)
{
	if (pathset_has(ps, p))
		return;
	if (2 * (ps->n + 1) > ps->cap) {
		struct pathset bigger = {wharf_xcalloc(ps->cap ? 2 * ps->cap : 1024, sizeof(char *)),
					 ps->cap ? 2 * ps->cap : 1024, 0};
		for (size_t i = 0; i < ps->cap; i++)
			if (ps->slot[i]) {
				size_t j = path_hash(ps->slot[i]) & (bigger.cap - 1);
				while (bigger.slot[j])
					j = (j + 1) & (bigger.cap - 1);
				bigger.slot[j] = ps->slot[i];
				bigger.n++;
			}
		free(ps->slot);
		*ps = bigger;
	}
	size_t i = path_hash(p) & (ps->cap - 1);
	while (ps->slot[i])
		i = (i + 1) & (ps->cap - 1);
	ps->slot[i] = wharf_xstrdup(p);
	ps->n++;
}

static void pathset_free(struct pathset *ps)
{
	for (size_t i = 0; i < ps->cap; i++)
		free(ps->slot[i]);
	free(ps->slot);
}

/* Remove every child of the directory fd (an opaque whiteout) that this layer did not write
 * itself: dir is the directory's clean path, keep the set of this layer's paths. */
static int clear_dir(int fd, const char *dir, const struct pathset *keep, struct wharf_error *err)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return wharf_error_sys(err, "open directory");
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return wharf_error_sys(err, "opendir");
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = *dir ? wharf_xasprintf("%s/%s", dir, de->d_name) : wharf_xstrdup(de->d_name);
		if (!pathset_has(keep, child))
			r = wharf_remove_tree_at(dirfd(d), de->d_name, err);
	}
	closedir(d);
	return r;
}

/* An O_PATH fd of directory dir (a clean path) inside the root, creating missing components
 * (0755, root-owned, as container runtimes do). */
static int open_parent(int rootfd, const char *dir, const char *what, struct wharf_error *err)
{
	int fd = openat2_in_root(rootfd, *dir ? dir : ".", O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT) {
		if (fd < 0)
			return wharf_error_sys(err, "%s: parent directory %s", what, dir);
		return fd;
	}
	_cleanup_free_ char *prefix = wharf_xstrdup(dir);
	for (char *p = prefix;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		int t = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
		if (t < 0 && errno == ENOENT) {
			char *slash = strrchr(prefix, '/');
			_cleanup_close_ int pfd = -1;
			if (slash) {
				*slash = '\0';
				pfd = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
				*slash = '/';
			} else {
				pfd = openat2_in_root(rootfd, ".", O_PATH | O_DIRECTORY);
			}
			if (pfd < 0 || (mkdirat(pfd, slash ? slash + 1 : prefix, 0755) < 0 && errno != EEXIST))
				return wharf_error_sys(err, "%s: create directory %s", what, prefix);
			t = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
		}
		if (t < 0)
			return wharf_error_sys(err, "%s: directory %s", what, prefix);
		*p = c;
		if (c == '\0')
			return t;
		close(t);
	}
}

/* ---- entries ---- */

struct unpacker {
	int rootfd;
	const struct wharf_unpack_opts *opts;
	const char *what;
	struct archive *a;
	uint64_t max_file; /* the largest (possibly sparse) file: the layer's byte limit */
	struct pathset written; /* entries of this layer, which its own whiteouts leave alone */
	struct wharf_error *err;
};

static mode_t safe_mode(const struct unpacker *u, mode_t m)
{
	m &= 07777;
	if (!u->opts->keep_suid)
		m &= ~(mode_t)(S_ISUID | S_ISGID);
	return m;
}

static int set_owner_mode_time(int pfd, const char *name, struct archive_entry *e, bool is_link, mode_t mode,
			       const char *path, struct unpacker *u)
{
	if (fchownat(pfd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return wharf_error_sys(u->err, "%s: chown %s", u->what, path);
	if (!is_link && fchmodat(pfd, name, mode, 0) < 0)
		return wharf_error_sys(u->err, "%s: chmod %s", u->what, path);
	struct timespec ts[2] = {{.tv_sec = archive_entry_mtime(e), .tv_nsec = 0},
				 {.tv_sec = archive_entry_mtime(e), .tv_nsec = 0}};
	utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int write_file(struct unpacker *u, int pfd, const char *name, const char *path, struct archive_entry *e)
{
	_cleanup_close_ int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return wharf_error_sys(u->err, "%s: create %s", u->what, path);
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(u->a, &buf, &len, &off)) == ARCHIVE_OK)
		if (len && wharf_pwrite_all(fd, buf, len, (off_t)off) < 0)
			return wharf_error_sys(u->err, "%s: write %s", u->what, path);
	if (r != ARCHIVE_EOF)
		return u->err->code ? -u->err->code
				    : wharf_error_set(u->err, WHARF_EINVAL, "%s: %s: %s", u->what, path,
						      archive_error_string(u->a));
	if (ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
		return wharf_error_sys(u->err, "%s: size of %s", u->what, path);
	return 0;
}

static int make_hardlink(struct unpacker *u, int pfd, const char *name, const char *path, const char *target)
{
	_cleanup_free_ char *t = NULL;
	int r = clean_path(target, u->what, &t, u->err);
	if (r < 0)
		return r;
	_cleanup_close_ int tfd = openat2_in_root(u->rootfd, *t ? t : ".", O_PATH | O_NOFOLLOW);
	if (tfd < 0)
		return wharf_error_sys(u->err, "%s: hard link %s -> %s: target", u->what, path, target);
	struct stat st;
	if (fstat(tfd, &st) < 0 || S_ISDIR(st.st_mode))
		return wharf_error_set(u->err, WHARF_EINVAL, "%s: hard link %s -> %s: the target is a directory", u->what,
				       path, target);
	if (linkat(tfd, "", pfd, name, AT_EMPTY_PATH) < 0)
		return wharf_error_sys(u->err, "%s: hard link %s -> %s", u->what, path, target);
	return 0;
}

static int apply_whiteout(struct unpacker *u, int pfd, const char *dir, const char *name, const char *path)
{
	if (!strcmp(name, OPAQUE)) {
		_cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return wharf_error_sys(u->err, "%s: opaque directory of %s", u->what, path);
		return clear_dir(dfd, dir, &u->written, u->err);
	}
	if (wharf_str_has_prefix(name, WHITEOUT WHITEOUT))
		return 0; /* other AUFS metadata: nothing to apply */
	const char *victim = name + strlen(WHITEOUT);
	if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..") || strchr(victim, '/'))
		return wharf_error_set(u->err, WHARF_EINVAL, "%s: whiteout %s names no entry", u->what, path);
	_cleanup_free_ char *vpath = *dir ? wharf_xasprintf("%s/%s", dir, victim) : wharf_xstrdup(victim);
	if (pathset_has(&u->written, vpath))
		return 0; /* a whiteout hides lower layers only */
	int r = wharf_remove_tree_at(pfd, victim, u->err);
	return r < 0 ? wharf_error_prefix(u->err, "%s: whiteout %s", u->what, path) : 0;
}

/* Make room for a new entry called name: remove what is there, unless both are directories. */
static int make_room(struct unpacker *u, int pfd, const char *name, bool new_is_dir, bool *keep_dir)
{
	struct stat st;
	*keep_dir = false;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : wharf_error_sys(u->err, "%s: stat %s", u->what, name);
	if (new_is_dir && S_ISDIR(st.st_mode)) {
		*keep_dir = true;
		return 0;
	}
	return wharf_remove_tree_at(pfd, name, u->err);
}

static int apply_entry(struct unpacker *u, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		return wharf_error_set(u->err, WHARF_EINVAL, "%s: an entry without a name", u->what);
	_cleanup_free_ char *path = NULL;
	int r = clean_path(raw, u->what, &path, u->err);
	if (r < 0)
		return r;
	if (!*path)
		return 0; /* the root itself keeps its own owner and mode */
	char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	_cleanup_free_ char *dir = slash ? wharf_xstrndup(path, (size_t)(slash - path)) : wharf_xstrdup("");
	_cleanup_close_ int pfd = open_parent(u->rootfd, dir, u->what, u->err);
	if (pfd < 0)
		return pfd;
	if (wharf_str_has_prefix(name, WHITEOUT))
		return apply_whiteout(u, pfd, dir, name, path);

	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	mode_t mode = safe_mode(u, archive_entry_perm(e));
	bool keep_dir;
	if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK)
		return 0; /* device nodes and sockets are dropped */
	r = make_room(u, pfd, name, type == AE_IFDIR && !hl, &keep_dir);
	if (r < 0)
		return r;
	if (hl) {
		r = make_hardlink(u, pfd, name, path, hl);
		if (r == 0)
			pathset_add(&u->written, path);
		return r;
	}
	switch (type) {
	case AE_IFREG:
		if (archive_entry_size(e) < 0 || (uint64_t)archive_entry_size(e) > u->max_file)
			return wharf_error_set(u->err, WHARF_ETOOBIG, "%s: file %s claims %lld bytes, more than the limit of %llu",
					       u->what, path, (long long)archive_entry_size(e), (unsigned long long)u->max_file);
		r = write_file(u, pfd, name, path, e);
		break;
	case AE_IFDIR:
		if (!keep_dir && mkdirat(pfd, name, 0700) < 0)
			r = wharf_error_sys(u->err, "%s: mkdir %s", u->what, path);
		break;
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target || !*target)
			return wharf_error_set(u->err, WHARF_EINVAL, "%s: symlink %s without a target", u->what, path);
		/* The target is kept as text; it is only ever resolved inside the root. */
		if (symlinkat(target, pfd, name) < 0)
			r = wharf_error_sys(u->err, "%s: symlink %s", u->what, path);
		break;
	}
	case AE_IFIFO:
		if (mknodat(pfd, name, S_IFIFO | 0600, 0) < 0)
			r = wharf_error_sys(u->err, "%s: mkfifo %s", u->what, path);
		break;
	default:
		return wharf_error_set(u->err, WHARF_EINVAL, "%s: entry %s has an unknown type", u->what, path);
	}
	if (r < 0)
		return r;
	pathset_add(&u->written, path);
	return set_owner_mode_time(pfd, name, e, type == AE_IFLNK, mode, path, u);
}

static int unpack_source(int rootfd, struct source *s, const struct wharf_unpack_opts *opts, const char *what,
			 struct wharf_digest *diff_id, struct wharf_error *err)
{
	static const struct wharf_unpack_opts defaults = {{0, 0}, false};
	if (!opts)
		opts = &defaults;
	uint64_t max_entries = opts->limits.max_entries ? opts->limits.max_entries : DEFAULT_MAX_ENTRIES;
	s->max = opts->limits.max_bytes ? opts->limits.max_bytes : DEFAULT_MAX_BYTES;
	s->err = err;
	s->what = what;
	s->hasher = wharf_hasher_new(WHARF_SHA256);
	if (s->gzip) {
		if (inflateInit2(&s->z, 15 + 32) != Z_OK) {
			wharf_hasher_free(s->hasher);
			return wharf_error_set(err, WHARF_EINTERNAL, "inflateInit2");
		}
		s->z_init = true;
	}
	wharf_error_clear(err);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	struct unpacker u = {.rootfd = rootfd, .opts = opts, .what = what, .a = a, .max_file = s->max, .err = err};
	int r = 0;
	if (archive_read_open(a, s, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
		r = s->failed ? s->failed
			      : wharf_error_set(err, WHARF_EINVAL, "%s: not a tar stream: %s", what, archive_error_string(a));
	}
	uint64_t entries = 0;
	struct archive_entry *e;
	while (r == 0) {
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = s->failed ? s->failed
				      : wharf_error_set(err, WHARF_EINVAL, "%s: bad tar data after %llu entries: %s", what,
							(unsigned long long)entries, archive_error_string(a));
			break;
		}
		if (++entries > max_entries) {
			r = wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %llu entries (the layer limit)", what,
					    (unsigned long long)max_entries);
			break;
		}
		r = apply_entry(&u, e);
	}
	/* The diff ID covers the whole uncompressed stream, padding after the end blocks too. */
	const void *buf;
	while (r == 0) {
		ssize_t n = source_next(s, &buf);
		if (n < 0)
			r = s->failed;
		if (n <= 0)
			break;
	}
	archive_read_free(a);
	pathset_free(&u.written);
	if (s->z_init)
		inflateEnd(&s->z);
	if (r == 0 && diff_id)
		wharf_hasher_final(s->hasher, diff_id);
	wharf_hasher_free(s->hasher);
	return r;
}

int wharf_unpack_layer(int rootfd, int fd, enum wharf_layer_compression comp, const struct wharf_unpack_opts *opts,
		       const char *what, struct wharf_digest *diff_id, struct wharf_error *err)
{
	struct source *s = wharf_xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->gzip = comp == WHARF_LAYER_GZIP;
	int r = unpack_source(rootfd, s, opts, what, diff_id, err);
	free(s);
	return r;
}

int wharf_unpack_layer_mem(int rootfd, const void *data, size_t len, enum wharf_layer_compression comp,
			   const struct wharf_unpack_opts *opts, const char *what, struct wharf_digest *diff_id,
			   struct wharf_error *err)
{
	struct source *s = wharf_xcalloc(1, sizeof(*s));
	s->fd = -1;
	s->mem = data ? data : (const unsigned char *)"";
	s->mem_len = len;
	s->gzip = comp == WHARF_LAYER_GZIP;
	int r = unpack_source(rootfd, s, opts, what, diff_id, err);
	free(s);
	return r;
}
