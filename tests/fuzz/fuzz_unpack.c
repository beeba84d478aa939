/* wharf_unpack_layer_mem on hostile layer bytes (an image layer from any registry).
 *
 * Input: one selector byte (even: plain tar, odd: gzip), then the layer. Each input is unpacked
 * into a fresh directory inside a fresh parent; afterwards the parent must hold nothing but that
 * directory: no entry, symlink or hard link may have escaped. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wharf/run.h"

#include "fuzz.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char parent[] = "/tmp/wharf-fuzz-unpack-XXXXXX";
	if (!mkdtemp(parent))
		abort();
	char *root = wharf_xasprintf("%s/root", parent);
	FUZZ_CHECK(mkdir(root, 0755) == 0);
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(rootfd >= 0);
	struct wharf_unpack_opts o = {.limits = {.max_bytes = 4u << 20, .max_entries = 2000}};
	struct wharf_error err;
	struct wharf_digest d;
	int r = wharf_unpack_layer_mem(rootfd, data + 1, size - 1, (data[0] & 1) ? WHARF_LAYER_GZIP : WHARF_LAYER_TAR,
				       &o, "fuzz layer", &d, &err);
	FUZZ_CHECK(r <= 0);
	if (r < 0)
		FUZZ_CHECK(err.message[0] != '\0');
	close(rootfd);
	DIR *dp = opendir(parent);
	FUZZ_CHECK(dp != NULL);
	struct dirent *de;
	while ((de = readdir(dp)))
		FUZZ_CHECK(!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "root"));
	closedir(dp);
	nftw(parent, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
	return 0;
}
