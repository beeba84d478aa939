/* The OS package catalogers the layer walker consults: dpkg, apk, rpm (three containers). */
#include <string.h>

#include "scan-internal.h"

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] && !strchr(path + n, '/');
}

static int dpkg_wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode, (void)size;
	if (!strcmp(path, "var/lib/dpkg/status"))
		return 1;
	/* distroless: one file per package; its .md5sums siblings are not paragraphs. */
	return under(path, "var/lib/dpkg/status.d/") && !wharf_str_has_suffix(path, ".md5sums");
}

static int apk_wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode, (void)size;
	return !strcmp(path, "lib/apk/db/installed");
}

static bool rpm_dir(const char *path, const char *file)
{
	static const char *const dirs[] = {"var/lib/rpm/", "usr/lib/sysimage/rpm/"};
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(dirs[i]);
		if (!strncmp(path, dirs[i], n) && !strcmp(path + n, file))
			return true;
	}
	return false;
}

static int rpm_sqlite_wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode, (void)size;
	return rpm_dir(path, "rpmdb.sqlite");
}

static int rpm_bdb_wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode, (void)size;
	return rpm_dir(path, "Packages");
}

static int rpm_ndb_wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode, (void)size;
	return rpm_dir(path, "Packages.db");
}

static const struct wharf_cataloger dpkg = {"dpkg", 64u << 20, dpkg_wants, wharf_dpkg_parse};
static const struct wharf_cataloger apk = {"apk", 64u << 20, apk_wants, wharf_apk_parse};
static const struct wharf_cataloger rpm_sqlite = {"rpm-sqlite", 512u << 20, rpm_sqlite_wants, wharf_rpmdb_sqlite_parse};
static const struct wharf_cataloger rpm_bdb = {"rpm-bdb", 512u << 20, rpm_bdb_wants, wharf_rpmdb_bdb_parse};
static const struct wharf_cataloger rpm_ndb = {"rpm-ndb", 512u << 20, rpm_ndb_wants, wharf_rpmdb_ndb_parse};

const struct wharf_cataloger *const wharf_os_catalogers[] = {
	&dpkg, &apk, &rpm_sqlite, &rpm_bdb, &rpm_ndb, NULL,
};
