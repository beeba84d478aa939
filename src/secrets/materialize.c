/* Putting a secret into a container's tmpfs: the one way plaintext leaves the store for a file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <openssl/crypto.h>

#include "internal.h"

static int check_target(const char *target, struct wharf_error *err)
{
	if (!target || !*target || !strcmp(target, ".") || !strcmp(target, "..") || strchr(target, '/'))
		return wharf_error_set(err, WHARF_EINVAL,
				       "secret target \"%s\" must be a single file name (no '/', not '.' or '..')",
				       target ? target : "");
	if (strlen(target) > 255)
		return wharf_error_set(err, WHARF_EINVAL, "secret target of %zu characters is longer than 255",
				       strlen(target));
	return 0;
}

static int check_tmpfs(int dirfd, struct wharf_error *err)
{
	struct statfs fs;
	if (fstatfs(dirfd, &fs) < 0)
		return wharf_error_sys(err, "cannot statfs the secrets directory");
	if ((unsigned long)fs.f_type != (unsigned long)TMPFS_MAGIC)
		return wharf_error_set(err, WHARF_EINVAL,
				       "the secrets directory is not on a tmpfs (filesystem magic 0x%lx): refusing "
				       "to write a secret where it could reach a disk",
				       (unsigned long)fs.f_type);
	return 0;
}

static int fill(int fd, const char *target, const unsigned char *data, size_t len, uid_t uid, gid_t gid,
		mode_t mode, struct wharf_error *err)
{
	if (wharf_write_all(fd, data, len) < 0)
		return wharf_error_sys(err, "cannot write secret file %s", target);
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		return wharf_error_sys(err, "cannot chown secret file %s to %d:%d", target, (int)uid, (int)gid);
	if (fchmod(fd, mode & 07777) < 0)
		return wharf_error_sys(err, "cannot chmod secret file %s to %04o", target, (unsigned)(mode & 07777));
	return 0;
}

int wharf_secrets_materialize(struct wharf_secrets *s, int dirfd, const char *name, const char *target, uid_t uid,
			      gid_t gid, mode_t mode, struct wharf_error *err)
{
	int r = check_target(target, err);
	if (r == 0)
		r = check_tmpfs(dirfd, err);
	unsigned char *data = NULL;
	size_t len = 0;
	if (r == 0)
		r = wharf_secrets_get(s, name, &data, &len, err);
	if (r < 0)
		return r;
	int fd = openat(dirfd, target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		r = wharf_error_sys(err, "cannot create secret file %s", target);
	else
		r = fill(fd, target, data, len, uid, gid, mode, err);
	secrets_wipe_free(data, len + 1);
	if (fd >= 0) {
		close(fd);
		if (r < 0)
			unlinkat(dirfd, target, 0);
	}
	return r;
}
