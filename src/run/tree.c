/* Removing a directory tree without following symlinks (own file: the run path of a cached
 * image needs it, not the unpacker and its libarchive). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "wharf/run.h"

int wharf_remove_tree_at(int parentfd, const char *name, struct wharf_error *err)
{
	if (unlinkat(parentfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return wharf_error_sys(err, "remove %s", name);
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return wharf_error_sys(err, "open %s", name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return wharf_error_sys(err, "opendir %s", name);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = wharf_remove_tree_at(dirfd(d), de->d_name, err);
	}
	closedir(d);
	if (r < 0)
		return r;
	if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return wharf_error_sys(err, "remove directory %s", name);
	return 0;
}
