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

/* A user namespace whose ids 0..size-1 are host base..base+size-1: a child that unshares and
 * waits while we write its maps and open its namespace. */
static int userns_fd(uint32_t base, uint32_t size, struct wharf_error *err)
{
	int ready[2], done[2];
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		return wharf_error_sys(err, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		return wharf_error_sys(err, "fork");
	if (pid == 0) {
		close(done[1]);
		close(ready[0]);
		char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		(void)!read(done[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	char c = 'n';
	int fd = -1;
	int r = 0;
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		r = wharf_error_set(err, WHARF_EUNSUPPORTED, "cannot create a user namespace for an idmapped mount");
	} else {
		char map[64];
		snprintf(map, sizeof(map), "0 %u %u\n", base, size);
		const char *files[] = {"uid_map", "gid_map"};
		for (size_t i = 0; i < 2 && r == 0; i++) {
			_cleanup_free_ char *p = wharf_xasprintf("/proc/%d/%s", (int)pid, files[i]);
			_cleanup_close_ int m = open(p, O_WRONLY | O_CLOEXEC);
			if (m < 0 || write(m, map, strlen(map)) != (ssize_t)strlen(map))
				r = wharf_error_sys(err, "write %s", p);
		}
		if (r == 0) {
			_cleanup_free_ char *p = wharf_xasprintf("/proc/%d/ns/user", (int)pid);
			fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				r = wharf_error_sys(err, "open %s", p);
		}
	}
	close(done[1]);
	close(ready[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
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
