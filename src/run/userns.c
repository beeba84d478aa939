/* The pool of user-namespace id ranges: one 65,536-id range per container, recorded in
 * $WHARF_HOME/userns/pool under an flock, written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wharf/run.h"

#define DEFAULT_BASE 1000000000ull
#define DEFAULT_COUNT 1024ull
#define POOL_MAX (1024 * 1024)
#define MAX_CHUNKS 65536

struct idrange {
	char user[64];
	uint64_t start, count;
};

struct idfile {
	struct idrange *r;
	size_t n;
};

/* /etc/subuid-style lines "name:start:count"; a missing file is empty. */
static void read_idfile(const char *path, struct idfile *f)
{
	memset(f, 0, sizeof(*f));
	FILE *fp = fopen(path, "re");
	if (!fp)
		return;
	char line[256];
	while (fgets(line, sizeof(line), fp) && f->n < 4096) {
		struct idrange x = {0};
		unsigned long long s, c;
		if (sscanf(line, "%63[^:]:%llu:%llu", x.user, &s, &c) != 3 || c == 0)
			continue;
		x.start = s;
		x.count = c;
		f->r = wharf_xrealloc(f->r, (f->n + 1) * sizeof(*f->r));
		f->r[f->n++] = x;
	}
	fclose(fp);
}

static bool covered_by(const struct idfile *f, const char *user, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->r[i].user, user) && f->r[i].start <= a && b <= f->r[i].start + f->r[i].count)
			return true;
	return false;
}

static bool overlaps_any(const struct idfile *f, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < f->n; i++)
		if (a < f->r[i].start + f->r[i].count && f->r[i].start < b)
			return true;
	return false;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	uint64_t x;
	return v && *v && wharf_parse_u64(v, strlen(v), &x) ? x : def;
}

/* The candidate range starts, in order; the caller frees *out. */
static int pool_chunks(uint64_t **out, size_t *n, struct wharf_error *err)
{
	struct idfile su, sg;
	read_idfile("/etc/subuid", &su);
	read_idfile("/etc/subgid", &sg);
	*out = wharf_xcalloc(MAX_CHUNKS, sizeof(**out));
	*n = 0;
	static const char *const owners[] = {"wharf", "root"};
	for (size_t o = 0; o < 2 && *n == 0; o++)
		for (size_t i = 0; i < su.n; i++) {
			if (strcmp(su.r[i].user, owners[o]))
				continue;
			for (uint64_t a = su.r[i].start; a + WHARF_USERNS_SIZE <= su.r[i].start + su.r[i].count &&
							 *n < MAX_CHUNKS; a += WHARF_USERNS_SIZE)
				if (covered_by(&sg, owners[o], a, a + WHARF_USERNS_SIZE))
					(*out)[(*n)++] = a;
		}
	if (*n == 0) {
		uint64_t base = env_u64("WHARF_USERNS_BASE", DEFAULT_BASE);
		uint64_t count = env_u64("WHARF_USERNS_COUNT", DEFAULT_COUNT);
		for (uint64_t k = 0; k < count && *n < MAX_CHUNKS; k++) {
			uint64_t a = base + k * WHARF_USERNS_SIZE;
			if (a + WHARF_USERNS_SIZE > 0xFFFFFFFFull)
				break;
			if (!overlaps_any(&su, a, a + WHARF_USERNS_SIZE) && !overlaps_any(&sg, a, a + WHARF_USERNS_SIZE))
				(*out)[(*n)++] = a;
		}
	}
	free(su.r);
	free(sg.r);
	if (*n == 0)
		return wharf_error_set(err, WHARF_ENOTFOUND,
				       "no user-namespace range is free of /etc/subuid and /etc/subgid entries: set "
				       "WHARF_USERNS_BASE, or give user 'wharf' ranges in both files");
	return 0;
}

/* Two files, changed under one flock of home/userns/lock: home/userns/pool holds the ranges of
 * containers that outlive a reboot (written with fsync); a file on the run directory's tmpfs
 * holds those of --rm containers (no fsync: a reboot ends them, and their ranges with them). An
 * allocation checks both. */
struct pool {
	char *dir, *path, *tpath;
	int lockfd;
	struct wharf_strv owners; /* parallel to bases and transient */
	uint64_t *bases;
	bool *transient;
	size_t n;
};

static void pool_close(struct pool *p)
{
	if (p->lockfd >= 0)
		close(p->lockfd); /* releases the flock */
	free(p->dir);
	free(p->path);
	free(p->tpath);
	wharf_strv_free(&p->owners);
	free(p->bases);
	free(p->transient);
}

static void pool_add(struct pool *p, uint64_t base, const char *owner, bool transient)
{
	p->bases = wharf_xrealloc(p->bases, (p->n + 1) * sizeof(*p->bases));
	p->transient = wharf_xrealloc(p->transient, (p->n + 1) * sizeof(*p->transient));
	p->bases[p->n] = base;
	p->transient[p->n++] = transient;
	wharf_strv_push(&p->owners, owner);
}

static int pool_load(struct pool *p, const char *path, bool transient, struct wharf_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = wharf_read_file(path, POOL_MAX, &data, &len, err);
	if (r == -WHARF_ENOTFOUND)
		return 0;
	if (r < 0)
		return r;
	for (char *save = NULL, *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long b;
		char owner[128];
		if (sscanf(line, "%llu %127s", &b, owner) != 2)
			return wharf_error_set(err, WHARF_EINVAL, "%s: bad line '%s' (want 'BASE OWNER')", path, line);
		pool_add(p, b, owner, transient);
	}
	return 0;
}

/* The transient file: on the run directory's tmpfs (a transient allocation prepares it before
 * taking the lock), named after the device and inode of home/userns (one per home, as the
 * durable pool). */
static char *transient_path(const char *dir, struct wharf_error *err)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		wharf_error_sys(err, "stat %s", dir);
		return NULL;
	}
	char name[64];
	snprintf(name, sizeof(name), "userns-pool.%llx.%llx", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	return wharf_container_run_dir(name);
}

static int pool_open(struct pool *p, const char *home, struct wharf_error *err)
{
	memset(p, 0, sizeof(*p));
	p->lockfd = -1;
	p->dir = wharf_xasprintf("%s/userns", home);
	p->path = wharf_xasprintf("%s/pool", p->dir);
	int r = wharf_mkdir_p(p->dir, 0700, err);
	if (r < 0)
		return r;
	p->tpath = transient_path(p->dir, err);
	if (!p->tpath)
		return -err->code;
	_cleanup_free_ char *lock = wharf_xasprintf("%s/lock", p->dir);
	p->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lockfd < 0 || flock(p->lockfd, LOCK_EX) < 0)
		return wharf_error_sys(err, "lock %s", lock);
	r = pool_load(p, p->path, false, err);
	if (r == 0)
		r = pool_load(p, p->tpath, true, err);
	return r;
}

/* Write the durable or the transient entries: the durable file atomically with fsync; the
 * transient one, on a tmpfs, through a temporary file and a rename. */
static int pool_save(struct pool *p, bool transient, struct wharf_error *err)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (size_t i = 0; i < p->n; i++)
		if (p->owners.v[i] && p->transient[i] == transient)
			wharf_buf_printf(&b, "%llu %s\n", (unsigned long long)p->bases[i], p->owners.v[i]);
	const char *data = b.data ? b.data : "";
	int r = 0;
	if (!transient) {
		r = wharf_atomic_write(p->path, data, b.len, 0600, err);
	} else if (b.len == 0) {
		/* no --rm container of this home holds a range: no file (homes come and go; the tmpfs stays) */
		if (unlink(p->tpath) < 0 && errno != ENOENT)
			r = wharf_error_sys(err, "remove %s", p->tpath);
	} else {
		_cleanup_free_ char *tmp = wharf_xasprintf("%s.tmp", p->tpath);
		_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || wharf_write_all(fd, data, b.len) < 0 || rename(tmp, p->tpath) < 0)
			r = wharf_error_sys(err, "write %s", p->tpath);
	}
	wharf_buf_free(&b);
	return r;
}

int wharf_userns_alloc(const char *home, const char *owner, bool transient, uint32_t *base, struct wharf_error *err)
{
	if (strchr(owner, ' ') || strchr(owner, '\n') || !*owner)
		return wharf_error_set(err, WHARF_EINVAL, "userns owner '%s' has spaces", owner);
	struct pool p;
	_cleanup_free_ uint64_t *chunks = NULL;
	size_t nchunks;
	if (transient && wharf_run_dir_prepare(err) < 0)
		return -err->code;
	int r = pool_open(&p, home, err);
	if (r == 0)
		r = pool_chunks(&chunks, &nchunks, err);
	for (size_t i = 0; r == 0 && i < p.n; i++)
		if (!strcmp(p.owners.v[i], owner)) {
			*base = (uint32_t)p.bases[i];
			pool_close(&p);
			return 0;
		}
	size_t pick = SIZE_MAX;
	for (size_t c = 0; r == 0 && c < nchunks && pick == SIZE_MAX; c++) {
		bool used = false;
		for (size_t i = 0; i < p.n && !used; i++)
			used = p.bases[i] == chunks[c];
		if (!used)
			pick = c;
	}
	if (r == 0 && pick == SIZE_MAX)
		r = wharf_error_set(err, WHARF_EBUSY, "every one of the %zu user-namespace ranges is in use (wharf rm frees them)",
				    nchunks);
	if (r == 0) {
		pool_add(&p, chunks[pick], owner, transient);
		r = pool_save(&p, transient, err);
		*base = (uint32_t)chunks[pick];
	}
	pool_close(&p);
	return r;
}

int wharf_userns_release(const char *home, const char *owner, struct wharf_error *err)
{
	struct pool p;
	int r = pool_open(&p, home, err);
	bool changed[2] = {false, false};
	for (size_t i = 0; r == 0 && i < p.n; i++)
		if (p.owners.v[i] && !strcmp(p.owners.v[i], owner)) {
			free(p.owners.v[i]);
			p.owners.v[i] = NULL;
			changed[p.transient[i]] = true;
		}
	for (int t = 0; t < 2; t++)
		if (r == 0 && changed[t])
			r = pool_save(&p, t, err);
	pool_close(&p);
	return r;
}

int wharf_userns_parse_range(const char *s, uint32_t *base, uint32_t *size, struct wharf_error *err)
{
	const char *colon = strchr(s, ':');
	uint64_t b, n = WHARF_USERNS_SIZE;
	if (!wharf_parse_u64(s, colon ? (size_t)(colon - s) : strlen(s), &b) ||
	    (colon && !wharf_parse_u64(colon + 1, strlen(colon + 1), &n)) || n == 0 || n > WHARF_USERNS_SIZE ||
	    b == 0 || b + n > 0xFFFFFFFFull)
		return wharf_error_set(err, WHARF_EINVAL,
				       "--userns '%s': want HOSTBASE[:SIZE] with HOSTBASE > 0 and 1 <= SIZE <= 65536", s);
	*base = (uint32_t)b;
	*size = (uint32_t)n;
	return 0;
}
