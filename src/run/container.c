/* Containers: the state directory, the root file system mounts, the secrets tmpfs, and the
 * runtime (runc or crun) driven as a child process. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "wharf/run.h"

#define STATE_MAX (64 * 1024)

void wharf_container_free(struct wharf_container *c)
{
	free(c->name);
	free(c->image);
	free(c->digest);
	free(c->runtime);
	free(c->chain_id);
	free(c->dir);
	free(c->run_dir);
	free(c->status);
	memset(c, 0, sizeof(*c));
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

int wharf_container_save(const struct wharf_container *c, struct wharf_error *err)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:b, s:I, s:I, s:b, s:b, s:b, s:s, s:i}", "id",
			      c->id, "name", or_empty(c->name), "image", or_empty(c->image), "digest",
			      or_empty(c->digest), "runtime", or_empty(c->runtime), "chainId", or_empty(c->chain_id),
			      "created", (json_int_t)c->created, "userns", c->userns, "pooled", c->pooled, "uidBase",
			      (json_int_t)c->uid_base, "uidSize", (json_int_t)c->uid_size, "detached", c->detached,
			      "autoRemove", c->auto_remove, "secrets", c->has_secrets, "status", or_empty(c->status),
			      "exitCode", c->exit_code);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	_cleanup_free_ char *path = wharf_xasprintf("%s/state.json", c->dir);
	int r;
	if (c->auto_remove && !c->detached) {
		/* an ephemeral container: renamed into place (atomic for readers), not fsynced; after a
		 * crash it has nothing worth keeping */
		_cleanup_free_ char *tmp = wharf_xasprintf("%s.tmp", path);
		_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		r = fd < 0 || wharf_write_all(fd, s, strlen(s)) < 0 || rename(tmp, path) < 0
			    ? wharf_error_sys(err, "write %s", path)
			    : 0;
	} else {
		r = wharf_atomic_write(path, s, strlen(s), 0600, err);
	}
	free(s);
	return r;
}

static char *dup_field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? wharf_xstrdup(s) : NULL;
}

static int load_id(const char *home, const char *id, struct wharf_container *c, struct wharf_error *err)
{
	memset(c, 0, sizeof(*c));
	_cleanup_free_ char *dir = wharf_xasprintf("%s/containers/%s", home, id);
	_cleanup_free_ char *path = wharf_xasprintf("%s/state.json", dir);
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = wharf_read_file(path, STATE_MAX, &data, &len, err);
	if (r < 0)
		return r;
	json_t *o = json_loadb(data, len, 0, NULL);
	const char *jid = json_string_value(json_object_get(o, "id"));
	if (!o || !jid || strlen(jid) != 32 || strcmp(jid, id)) {
		json_decref(o);
		return wharf_error_set(err, WHARF_EINVAL, "%s: not a container state file", path);
	}
	snprintf(c->id, sizeof(c->id), "%s", jid);
	c->name = dup_field(o, "name");
	c->image = dup_field(o, "image");
	c->digest = dup_field(o, "digest");
	c->runtime = dup_field(o, "runtime");
	c->chain_id = dup_field(o, "chainId");
	c->status = dup_field(o, "status");
	c->created = json_integer_value(json_object_get(o, "created"));
	c->userns = json_is_true(json_object_get(o, "userns"));
	c->pooled = json_is_true(json_object_get(o, "pooled"));
	c->uid_base = (uint32_t)json_integer_value(json_object_get(o, "uidBase"));
	c->uid_size = (uint32_t)json_integer_value(json_object_get(o, "uidSize"));
	c->detached = json_is_true(json_object_get(o, "detached"));
	c->auto_remove = json_is_true(json_object_get(o, "autoRemove"));
	c->has_secrets = json_is_true(json_object_get(o, "secrets"));
	c->exit_code = (int)json_integer_value(json_object_get(o, "exitCode"));
	c->dir = steal_pointer(&dir);
	c->run_dir = wharf_container_run_dir(c->id);
	json_decref(o);
	return 0;
}

static bool is_id(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int wharf_container_list(const char *home, struct wharf_strv *ids, struct wharf_error *err)
{
	_cleanup_free_ char *dir = wharf_xasprintf("%s/containers", home);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : wharf_error_sys(err, "open %s", dir);
	struct dirent *de;
	int64_t *when = NULL;
	while ((de = readdir(d))) {
		struct wharf_container c;
		struct wharf_error e2;
		if (!is_id(de->d_name) || load_id(home, de->d_name, &c, &e2) < 0)
			continue;
		size_t i = ids->n;
		wharf_strv_push(ids, c.id);
		when = wharf_xrealloc(when, ids->n * sizeof(*when));
		when[i] = c.created;
		for (; i > 0 && (when[i - 1] > when[i] || (when[i - 1] == when[i] && strcmp(ids->v[i - 1], ids->v[i]) > 0)); i--) {
			int64_t t = when[i];
			when[i] = when[i - 1];
			when[i - 1] = t;
			char *s = ids->v[i];
			ids->v[i] = ids->v[i - 1];
			ids->v[i - 1] = s;
		}
		wharf_container_free(&c);
	}
	closedir(d);
	free(when);
	return 0;
}

int wharf_container_load(const char *home, const char *key, struct wharf_container *c, struct wharf_error *err)
{
	if (is_id(key) && load_id(home, key, c, err) == 0)
		return 0;
	struct wharf_strv ids = {0};
	int r = wharf_container_list(home, &ids, err);
	const char *hit = NULL;
	size_t hits = 0;
	for (size_t i = 0; r == 0 && i < ids.n; i++) {
		struct wharf_container x;
		if (load_id(home, ids.v[i], &x, err) < 0)
			continue;
		if (x.name && !strcmp(x.name, key)) {
			hit = ids.v[i], hits = 1;
			wharf_container_free(&x);
			break;
		}
		if (wharf_str_has_prefix(x.id, key) && strlen(key) >= 4)
			hit = ids.v[i], hits++;
		wharf_container_free(&x);
	}
	if (r == 0 && hits == 1)
		r = load_id(home, hit, c, err);
	else if (r == 0)
		r = wharf_error_set(err, hits ? WHARF_EINVAL : WHARF_ENOTFOUND,
				    hits ? "'%s' names more than one container (give more of the ID)" : "no container '%s'",
				    key);
	wharf_strv_free(&ids);
	return r;
}

static const char *run_base(void)
{
	const char *base = getenv("WHARF_RUN_DIR");
	return base && *base ? base : "/run/wharf";
}

char *wharf_container_run_dir(const char *id)
{
	return wharf_xasprintf("%s/%s", run_base(), id);
}

/* The run directory holds only mount points, bundles and the runtime's state: it belongs on a
 * tmpfs, as /run is on most systems. Where it is not (this VM's /run is on the root disk), one
 * is mounted there once, under an flock so that two runs never stack two. */
int wharf_run_dir_prepare(struct wharf_error *err)
{
	const char *base = run_base();
	struct statfs sf;
	if (statfs(base, &sf) == 0 && sf.f_type == TMPFS_MAGIC)
		return 0;
	int r = wharf_mkdir_p(base, 0711, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *lock = wharf_xasprintf("%s.lock", base);
	_cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		return wharf_error_sys(err, "lock %s", lock);
	if (statfs(base, &sf) == 0 && sf.f_type == TMPFS_MAGIC)
		return 0;
	if (mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711,size=64m") < 0)
		return wharf_error_sys(err, "mount a tmpfs at %s", base);
	return 0;
}

static int mkdir_in(const char *dir, const char *name, unsigned mode, char **out, struct wharf_error *err)
{
	*out = wharf_xasprintf("%s/%s", dir, name);
	if (mkdir(*out, mode) < 0 && errno != EEXIST)
		return wharf_error_sys(err, "mkdir %s", *out);
	return 0;
}

int wharf_container_mount_rootfs(struct wharf_container *c, const char *lower, struct wharf_error *err)
{
	_cleanup_free_ char *mapped = NULL, *upper = NULL, *work = NULL, *rootfs = NULL;
	int r = mkdir_in(c->dir, "upper", 0755, &upper, err);
	if (r == 0)
		r = mkdir_in(c->dir, "work", 0700, &work, err);
	if (r == 0)
		r = wharf_run_dir_prepare(err);
	if (r == 0)
		r = wharf_mkdir_p(c->run_dir, 0711, err);
	if (r == 0 && chmod(c->run_dir, 0711) < 0)
		r = wharf_error_sys(err, "chmod %s", c->run_dir);
	if (r == 0)
		r = mkdir_in(c->run_dir, "rootfs", 0755, &rootfs, err);
	_cleanup_free_ char *shifted = NULL;
	if (r == 0 && c->userns) {
		const char *idmap = getenv("WHARF_RUN_IDMAP");
		bool try_idmap = !idmap || strcmp(idmap, "0");
		r = mkdir_in(c->run_dir, "lower", 0700, &mapped, err);
		if (r == 0 && try_idmap)
			r = wharf_idmap_bind(lower, mapped, c->uid_base, c->uid_size, err);
		if ((r == -WHARF_EUNSUPPORTED || (r == 0 && !try_idmap))) {
			/* no idmapped mounts here: a shifted copy, cached per range */
			free(mapped);
			mapped = NULL;
			r = wharf_rootfs_shifted(lower, c->uid_base, c->uid_size, &shifted, err);
		}
		/* the overlay's root directory is the upper one: owned by the container's root */
		if (r == 0 && chown(upper, c->uid_base, c->uid_base) < 0)
			r = wharf_error_sys(err, "chown %s", upper);
	}
	if (r < 0)
		return r;
	const char *lowerdir = shifted ? shifted : mapped ? mapped : lower;
	/* --rm: the upper layer is thrown away, so it is never synced ("volatile", Linux 5.10) */
	_cleanup_free_ char *opts = wharf_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s%s", lowerdir, upper, work,
						    c->auto_remove && !c->detached ? ",volatile" : "");
	if (mount("overlay", rootfs, "overlay", MS_NODEV, opts) < 0 &&
	    (!wharf_str_has_suffix(opts, ",volatile") || (opts[strlen(opts) - strlen(",volatile")] = '\0',
							  mount("overlay", rootfs, "overlay", MS_NODEV, opts) < 0)))
		return wharf_error_sys(err, "mount the overlay root file system at %s", rootfs);
	return 0;
}

int wharf_container_secrets_tmpfs(struct wharf_container *c, int *dirfd, struct wharf_error *err)
{
	_cleanup_free_ char *dir = NULL;
	int r = wharf_run_dir_prepare(err);
	if (r == 0)
		r = wharf_mkdir_p(c->run_dir, 0711, err);
	if (r == 0)
		r = mkdir_in(c->run_dir, "secrets", 0700, &dir, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *o = wharf_xasprintf("mode=0711,size=4m,uid=%u,gid=%u,noswap", c->userns ? c->uid_base : 0,
						 c->userns ? c->uid_base : 0);
	unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount("tmpfs", dir, "tmpfs", fl, o) < 0) {
		o[strlen(o) - strlen(",noswap")] = '\0'; /* kernels before 6.4 have no noswap */
		if (mount("tmpfs", dir, "tmpfs", fl, o) < 0)
			return wharf_error_sys(err, "mount the secrets tmpfs at %s", dir);
	}
	c->has_secrets = true;
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return wharf_error_sys(err, "open %s", dir);
	return 0;
}

int wharf_container_secrets_seal(struct wharf_container *c, struct wharf_error *err)
{
	_cleanup_free_ char *dir = wharf_xasprintf("%s/secrets", c->run_dir);
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return wharf_error_sys(err, "remount %s read-only", dir);
	return 0;
}

void wharf_container_unmount(const struct wharf_container *c)
{
	const char *names[] = {"rootfs", "lower", "secrets"};
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *p = wharf_xasprintf("%s/%s", c->run_dir, names[i]);
		while (umount2(p, MNT_DETACH) == 0)
			;
	}
}

/* ---- the runtime ---- */

/* The runtime's own state (--root): on the run directory's tmpfs, as /run/runc is for runc. */
static void runtime_root(const char *home, const char *path, char *buf, size_t n)
{
	(void)home;
	const char *base = strrchr(path, '/');
	const char *run = getenv("WHARF_RUN_DIR");
	snprintf(buf, n, "%s/runtime/%s", run && *run ? run : "/run/wharf", base ? base + 1 : path);
}

static bool is_crun(const char *path)
{
	const char *base = strrchr(path, '/');
	return !strcmp(base ? base + 1 : path, "crun");
}

/* crun 1.8 refuses hybrid cgroups: in a private mount namespace, hide the v2 hierarchy under a
 * small tmpfs (see docs/run.md). */
static void crun_workaround(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4m") < 0) {
		perror("wharf: crun hybrid-cgroup workaround");
		_exit(125);
	}
}

static pid_t spawn(const char *path, const char *home, const char *const *args, int out_fd, bool quiet)
{
	char root[4096];
	runtime_root(home, path, root, sizeof(root));
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	if (is_crun(path) && wharf_cgroup_hybrid())
		crun_workaround();
	if (out_fd >= 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(out_fd, 1);
		dup2(out_fd, 2);
	} else if (quiet) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	const char *argv[16];
	size_t n = 0;
	argv[n++] = path;
	argv[n++] = "--root";
	argv[n++] = root;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	execv(path, (char *const *)argv);
	fprintf(stderr, "wharf: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int wharf_runtime_run(const char *path, const char *home, struct wharf_container *c, struct wharf_error *err)
{
	char root[4096];
	runtime_root(home, path, root, sizeof(root));
	int r = wharf_mkdir_p(root, 0700, err);
	if (r < 0)
		return r;
	_cleanup_close_ int log = -1;
	if (c->detached) {
		_cleanup_free_ char *lp = wharf_xasprintf("%s/log", c->dir);
		log = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (log < 0)
			return wharf_error_sys(err, "open %s", lp);
	}
	const char *fg[] = {"run", "--bundle", c->run_dir, c->id, NULL};
	const char *bg[] = {"run", "--detach", "--bundle", c->run_dir, c->id, NULL};
	/* Our own signals go to the container: the runtime forwards them. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	pid_t pid = spawn(path, home, c->detached ? bg : fg, log, false);
	if (pid < 0)
		return wharf_error_sys(err, "fork");
	int st = wait_status(pid);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (st < 0)
		return wharf_error_sys(err, "wait for %s", path);
	return st;
}

char *wharf_runtime_status(const char *path, const char *home, const struct wharf_container *c)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	const char *args[] = {"state", c->id, NULL};
	pid_t pid = spawn(path, home, args, p[1], false);
	close(p[1]);
	struct wharf_buf b;
	wharf_buf_init(&b);
	char tmp[4096];
	ssize_t n;
	while ((n = read(p[0], tmp, sizeof(tmp))) > 0 && b.len < STATE_MAX)
		wharf_buf_append(&b, tmp, (size_t)n);
	close(p[0]);
	int st = pid > 0 ? wait_status(pid) : -1;
	char *status = NULL;
	if (st == 0 && b.data) {
		const char *brace = strchr(b.data, '{');
		json_t *o = brace ? json_loads(brace, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
		const char *s = json_string_value(json_object_get(o, "status"));
		status = s ? wharf_xstrdup(s) : NULL;
		json_decref(o);
	}
	wharf_buf_free(&b);
	return status;
}

static int runtime_simple(const char *path, const char *home, const char *const *args, bool quiet,
			  struct wharf_error *err)
{
	pid_t pid = spawn(path, home, args, -1, quiet);
	if (pid < 0)
		return wharf_error_sys(err, "fork");
	int st = wait_status(pid);
	if (st != 0)
		return wharf_error_set(err, WHARF_EIO, "%s %s %s exited with status %d", path, args[0], args[1], st);
	return 0;
}

int wharf_runtime_kill(const char *path, const char *home, const struct wharf_container *c, const char *sig,
		       struct wharf_error *err)
{
	const char *args[] = {"kill", c->id, sig, NULL};
	return runtime_simple(path, home, args, false, err);
}

int wharf_runtime_delete(const char *path, const char *home, const struct wharf_container *c, struct wharf_error *err)
{
	_cleanup_free_ char *st = wharf_runtime_status(path, home, c);
	if (!st)
		return 0;
	const char *args[] = {"delete", "--force", c->id, NULL};
	return runtime_simple(path, home, args, true, err);
}

static void clear_trash(int fd, struct wharf_error *err)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			wharf_remove_tree_at(dirfd(d), de->d_name, err);
	closedir(d);
}

/* Delete everything in trash from a detached child (its own session, no stdio, no inherited
 * fds), so the caller returns at once. It is not waited for: waiting, even for an intermediate
 * child of a double fork, cost up to 8 ms on a loaded machine. When it ends before us it stays a
 * zombie until we exit; after us, init reaps it. */
static void empty_trash_in_background(const char *trash)
{
	pid_t pid = fork();
	if (pid != 0)
		return; /* on failure, the next removal sweeps it */
	(void)setsid();
	int nul = open("/dev/null", O_RDWR);
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	close_range(3, ~0u, 0);
	/* the lowest CPU and best-effort I/O priority, so that the next `wharf run` does not wait
	 * behind the deletion (not the idle I/O class: starved, it could hold trash/'s lock) */
	(void)!setpriority(PRIO_PROCESS, 0, 19);
	(void)!syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 7 /* BE, level 7 */);
	int fd = open(trash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct wharf_error e;
	if (fd >= 0)
		clear_trash(fd, &e);
	_exit(0);
}

int wharf_container_remove(const char *home, struct wharf_container *c, struct wharf_error *err)
{
	int r = 0;
	/* A foreground container is gone from the runtime when `run` returned; only a detached
	 * one (or one whose wharf died) is still known to it. */
	bool in_runtime = c->detached || !c->status || strcmp(c->status, "exited");
	if (c->runtime && in_runtime) {
		_cleanup_free_ char *path = NULL;
		if (wharf_runtime_find(c->runtime, &path, err) == 0)
			r = wharf_runtime_delete(path, home, c, err);
	}
	if (r < 0)
		return r;
	wharf_container_unmount(c);
	struct stat dst, mst;
	const char *mounts[] = {"rootfs", "lower", "secrets"};
	for (size_t i = 0; stat(c->run_dir, &dst) == 0 && i < 3; i++) {
		_cleanup_free_ char *p = wharf_xasprintf("%s/%s", c->run_dir, mounts[i]);
		if (stat(p, &mst) == 0 && mst.st_dev != dst.st_dev) /* never walk into a mount: lower is the cache */
			return wharf_error_set(err, WHARF_EBUSY, "%s is still mounted; not removing", p);
	}
	const char *slash = strrchr(c->run_dir, '/');
	_cleanup_free_ char *run_parent = wharf_xstrndup(c->run_dir, (size_t)(slash - c->run_dir));
	_cleanup_close_ int rfd = open(run_parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd >= 0 && (r = wharf_remove_tree_at(rfd, c->id, err)) < 0)
		return r;
	/* The state directory leaves containers/ with one rename; its files (the upper layer can be
	 * large, and every unlink on a disk mounted with discard costs milliseconds) are deleted by a
	 * background process, which also sweeps what an interrupted one left in trash/. */
	_cleanup_free_ char *from = wharf_xasprintf("%s/containers/%s", home, c->id);
	_cleanup_free_ char *trash = wharf_xasprintf("%s/trash", home);
	_cleanup_free_ char *to = wharf_xasprintf("%s/%s", trash, c->id);
	r = wharf_mkdir_p(trash, 0700, err);
	if (r == 0 && rename(from, to) < 0 && errno != ENOENT)
		r = wharf_error_sys(err, "move %s to %s", from, trash);
	if (r == 0 && c->pooled)
		r = wharf_userns_release(home, c->id, err);
	if (r == 0)
		empty_trash_in_background(trash);
	return r;
}

int wharf_run_policy_check(const char *home, const struct wharf_digest *manifest, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/scan/%s.json", home, wharf_digest_hex(manifest));
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = wharf_read_file(path, 16u << 20, &data, &len, err);
	if (r == -WHARF_ENOTFOUND) {
		wharf_error_clear(err);
		return 0; /* no report: the scanner has not run here (see docs/run.md) */
	}
	if (r < 0)
		return r;
	json_t *o = json_loadb(data, len, 0, NULL);
	const char *policy = json_string_value(json_object_get(o, "policy"));
	bool fail = policy && !strcmp(policy, "fail");
	json_decref(o);
	if (!o)
		return wharf_error_set(err, WHARF_EINVAL, "scan report %s is not JSON", path);
	if (fail)
		return wharf_error_set(err, WHARF_EINVAL, "the scan policy refuses %s (report %s)", manifest->str, path);
	return 0;
}
