/* Mount helpers (idmapped bind mounts) and finding the OCI runtime. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/magic.h>

#include "wharf/run.h"

/* The helper of userns_fd: born in its own user namespace, it holds it until the pipe closes.
 * It shares our memory (CLONE_VM: no copy of our page tables, which a fork of this process with
 * its fifty libraries pays for), so it makes raw system calls only. */
static int userns_hold(void *arg)
{
	const int *fds = arg;
	char c;
	syscall(SYS_close, fds[1]); /* our copy of the write end; the parent's closes the pipe */
	syscall(SYS_read, fds[0], &c, 1);
	return 0;
}

#define USERNS_HOLD_STACK (64 * 1024)

/* A helper that had not exited yet when userns_fd returned (it exits as soon as it is scheduled:
 * its pipe is closed). Waiting for that costs milliseconds on a loaded machine, so it is reaped,
 * and its stack freed, by the next call, or it ends after us. Its stack must outlive it. */
static pid_t pending_pid;
static char *pending_stack;

static void reap_pending(void)
{
	if (pending_pid <= 0)
		return;
	while (waitpid(pending_pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(pending_stack);
	pending_pid = 0;
	pending_stack = NULL;
}

/* A user namespace whose ids 0..size-1 are host base..base+size-1: a child cloned into a new
 * user namespace waits while we write its maps and open its namespace. */
static int userns_fd(uint32_t base, uint32_t size, struct wharf_error *err)
{
	reap_pending();
	int done[2];
	if (pipe2(done, O_CLOEXEC) < 0)
		return wharf_error_sys(err, "pipe");
	/* the helper's argument lives at the bottom of its stack block, which outlives it (our frame
	 * may not: the helper may first run after we return) */
	char *stack = wharf_xmalloc(USERNS_HOLD_STACK);
	int *fds = (int *)(void *)stack;
	fds[0] = done[0];
	fds[1] = done[1];
	pid_t pid = clone(userns_hold, stack + USERNS_HOLD_STACK, CLONE_NEWUSER | CLONE_VM | SIGCHLD, fds);
	if (pid < 0) {
		int r = errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS
				? wharf_error_set(err, WHARF_EUNSUPPORTED, "cannot create a user namespace for an idmapped mount: %s",
						  strerror(errno))
				: wharf_error_sys(err, "clone");
		free(stack);
		close(done[0]);
		close(done[1]);
		return r;
	}
	close(done[0]);
	int fd = -1;
	int r = 0;
	char map[64];
	snprintf(map, sizeof(map), "0 %u %u\n", base, size);
	const char *files[] = {"uid_map", "gid_map"};
	for (size_t i = 0; i < 2 && r == 0; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, files[i]);
		_cleanup_close_ int m = open(p, O_WRONLY | O_CLOEXEC);
		if (m < 0 || write(m, map, strlen(map)) != (ssize_t)strlen(map))
			r = wharf_error_sys(err, "write %s", p);
	}
	if (r == 0) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = wharf_error_sys(err, "open %s", p);
	}
	close(done[1]); /* the helper exits */
	if (waitpid(pid, NULL, WNOHANG) == pid) {
		free(stack);
	} else {
		pending_pid = pid;
		pending_stack = stack;
	}
	return r < 0 ? r : fd;
}

int wharf_idmap_bind(const char *src, const char *dst, uint32_t base, uint32_t size, struct wharf_error *err)
{
	_cleanup_close_ int ns = userns_fd(base, size, err);
	if (ns < 0)
		return ns;
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return errno == ENOSYS ? wharf_error_set(err, WHARF_EUNSUPPORTED, "open_tree: not supported by this kernel")
				       : wharf_error_sys(err, "open_tree %s", src);
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "idmapped mount of %s refused: %s", src, strerror(errno));
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return wharf_error_sys(err, "move_mount to %s", dst);
	return 0;
}

static const char *runtime_package(const char *name)
{
	return !strcmp(name, "crun") ? "crun" : "runc";
}

static char *which(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = wharf_xstrdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = wharf_xasprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

int wharf_runtime_find(const char *name, char **path, struct wharf_error *err)
{
	if (name && strcmp(name, "runc") && strcmp(name, "crun"))
		return wharf_error_set(err, WHARF_EINVAL, "--runtime %s: want runc or crun", name);
	const char *names[] = {name ? name : "runc", name ? NULL : "crun"};
	for (size_t i = 0; i < 2 && names[i]; i++)
		if ((*path = which(names[i])))
			return 0;
	return wharf_error_set(err, WHARF_ENOTFOUND,
			       "no OCI runtime %s on PATH: install the Debian package '%s' (apt-get install %s)",
			       name ? name : "(runc or crun)", runtime_package(name ? name : "runc"),
			       runtime_package(name ? name : "runc"));
}

bool wharf_cgroup_hybrid(void)
{
	struct statfs a, b;
	return statfs("/sys/fs/cgroup", &a) == 0 && a.f_type == TMPFS_MAGIC &&
	       statfs("/sys/fs/cgroup/unified", &b) == 0 && b.f_type == CGROUP2_SUPER_MAGIC;
}
