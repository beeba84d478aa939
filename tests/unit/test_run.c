/* run: safe unpacking (escapes, whiteouts, limits, diff IDs), chain IDs, image config, the id
 * pool and the bundle config. Layers are built in memory with libarchive's writer. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zlib.h>

#include "wharf/run.h"
#include "wharf_test.h"

/* ---- building layers ---- */

struct layer {
	struct archive *a;
	char buf[1 << 20];
	size_t used;
};

static void layer_begin(struct layer *l)
{
	l->a = archive_write_new();
	archive_write_set_format_pax_restricted(l->a);
	archive_write_set_bytes_in_last_block(l->a, 1);
	assert_int_equal(archive_write_open_memory(l->a, l->buf, sizeof(l->buf), &l->used), ARCHIVE_OK);
}

static void add(struct layer *l, const char *name, mode_t type, mode_t perm, const char *data, const char *link)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, 1000);
	archive_entry_set_gid(e, 1001);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, link);
	else if (link)
		archive_entry_set_hardlink(e, link);
	archive_entry_set_size(e, data && !link ? (la_int64_t)strlen(data) : 0);
	if (type == AE_IFCHR)
		archive_entry_set_rdev(e, makedev(1, 3));
	assert_int_equal(archive_write_header(l->a, e), ARCHIVE_OK);
	if (data && !link)
		archive_write_data(l->a, data, strlen(data));
	archive_entry_free(e);
}

static void layer_end(struct layer *l)
{
	archive_write_close(l->a);
	archive_write_free(l->a);
}

static char *tmp;

static int setup(void **s)
{
	(void)s;
	tmp = test_mkdtemp();
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	test_rmtree(tmp);
	return 0;
}

/* A fresh root directory under a fresh parent: returns the root fd, *parent set. */
static int fresh_root(char **parent)
{
	static int n;
	*parent = wharf_xasprintf("%s/case%d", tmp, n++);
	assert_int_equal(mkdir(*parent, 0755), 0);
	char *root = wharf_xasprintf("%s/root", *parent);
	assert_int_equal(mkdir(root, 0755), 0);
	int fd = open(root, O_RDONLY | O_DIRECTORY);
	free(root);
	assert_true(fd >= 0);
	return fd;
}

static bool exists_in(const char *parent, const char *rel)
{
	char *p = wharf_xasprintf("%s/%s", parent, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static void test_unpack_basic(void **s)
{
	(void)s;
	struct layer *l = wharf_xcalloc(1, sizeof(*l));
	layer_begin(l);
	add(l, "./etc/", AE_IFDIR, 0755, NULL, NULL);
	add(l, "etc/hello", AE_IFREG, 0644, "hi\n", NULL);
	add(l, "bin/suid", AE_IFREG, 04755, "x", NULL);
	add(l, "hard", AE_IFREG, 0644, NULL, "etc/hello");
	add(l, "link", AE_IFLNK, 0777, NULL, "/etc/hello");
	add(l, "dev/null", AE_IFCHR, 0666, NULL, NULL);
	layer_end(l);
	char *parent;
	int fd = fresh_root(&parent);
	struct wharf_error err;
	struct wharf_digest d, want;
	assert_wharf_ok(wharf_unpack_layer_mem(fd, l->buf, l->used, WHARF_LAYER_TAR, NULL, "t", &d, &err), err);
	wharf_digest_buffer(WHARF_SHA256, l->buf, l->used, &want);
	assert_string_equal(d.str, want.str);
	struct stat st;
	assert_int_equal(fstatat(fd, "etc/hello", &st, 0), 0);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fstatat(fd, "bin/suid", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755); /* setuid stripped */
	struct stat h1, h2;
	assert_int_equal(fstatat(fd, "hard", &h1, 0), 0);
	assert_int_equal(fstatat(fd, "etc/hello", &h2, 0), 0);
	assert_int_equal(h1.st_ino, h2.st_ino);
	char target[64] = {0};
	assert_int_equal(readlinkat(fd, "link", target, sizeof(target) - 1), 10);
	assert_string_equal(target, "/etc/hello");
	assert_int_equal(fstatat(fd, "dev/null", &st, AT_SYMLINK_NOFOLLOW), -1); /* device dropped */
	close(fd);
	free(parent);
	free(l);
}

static void test_unpack_keep_suid(void **s)
{
	(void)s;
	struct layer *l = wharf_xcalloc(1, sizeof(*l));
	layer_begin(l);
	add(l, "suid", AE_IFREG, 06755, "x", NULL);
	layer_end(l);
	char *parent;
	int fd = fresh_root(&parent);
	struct wharf_error err;
	struct wharf_unpack_opts o = {.keep_suid = true};
	assert_wharf_ok(wharf_unpack_layer_mem(fd, l->buf, l->used, WHARF_LAYER_TAR, &o, "t", NULL, &err), err);
	struct stat st;
	assert_int_equal(fstatat(fd, "suid", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 06755);
	close(fd);
	free(parent);
	free(l);
}

static void test_unpack_dotdot_refused(void **s)
{
	(void)s;
	struct layer *l = wharf_xcalloc(1, sizeof(*l));
	layer_begin(l);
	add(l, "a/../../escaped", AE_IFREG, 0644, "x", NULL);
	layer_end(l);
	char *parent;
	int fd = fresh_root(&parent);
	struct wharf_error err;
	assert_wharf_err(wharf_unpack_layer_mem(fd, l->buf, l->used, WHARF_LAYER_TAR, NULL, "evil layer", NULL, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "evil layer");
	assert_contains(err.message, "'..'");
	assert_false(exists_in(parent, "escaped"));
	close(fd);
	free(parent);
	free(l);
}

/* Symlinks pointing out (absolute and relative), then writes through them: all land inside. */
static void test_unpack_symlink_escape(void **s)
{
	(void)s;
	struct layer *l = wharf_xcalloc(1, sizeof(*l));
	layer_begin(l);
	add(l, "abs", AE_IFLNK, 0777, NULL, "/");
	add(l, "rel", AE_IFLNK, 0777, NULL, "../../../../..");
	add(l, "abs/pwned-abs", AE_IFREG, 0644, "x", NULL);
	add(l, "rel/pwned-rel", AE_IFREG, 0644, "x", NULL);
	add(l, "rel/sub/pwned-dir", AE_IFREG, 0644, "x", NULL);
	add(l, "hl", AE_IFREG, 0644, NULL, "/abs/pwned-abs");
	layer_end(l);
	char *parent;
	int fd = fresh_root(&parent);
	struct wharf_error err;
	assert_wharf_ok(wharf_unpack_layer_mem(fd, l->buf, l->used, WHARF_LAYER_TAR, NULL, "t", NULL, &err), err);
	assert_false(exists_in(parent, "pwned-abs"));
	assert_false(exists_in(parent, "pwned-rel"));
	assert_false(exists_in(parent, "sub"));
	assert_true(exists_in(parent, "root/pwned-abs"));
	assert_true(exists_in(parent, "root/pwned-rel"));
	assert_true(exists_in(parent, "root/sub/pwned-dir"));
	assert_true(exists_in(parent, "root/hl"));
	close(fd);
	free(parent);
	free(l);
}

/* A hard link to a file outside the root cannot be made: the target resolves inside. */
static void test_unpack_hardlink_outside(void **s)
{
	(void)s;
	struct layer *l = wharf_xcalloc(1, sizeof(*l));
	layer_begin(l);
	add(l, "steal", AE_IFREG, 0644, NULL, "/secret-outside");
	layer_end(l);
	char *parent;
	int fd = fresh_root(&parent);
	char *outside = wharf_xasprintf("%s/secret-outside", parent);
	FILE *f = fopen(outside, "w");
	fputs("host", f);
	fclose(f);
	struct wharf_error err;
	assert_true(wharf_unpack_layer_mem(fd, l->buf, l->used, WHARF_LAYER_TAR, NULL, "t", NULL, &err) < 0);
	assert_contains(err.message, "hard link");
	assert_false(exists_in(parent, "root/steal"));
	close(fd);
	free(outside);
	free(parent);
	free(l);
}

static void test_unpack_whiteouts(void **s)
{
	(void)s;
	struct layer *l1 = wharf_xcalloc(1, sizeof(*l1)), *l2 = wharf_xcalloc(1, sizeof(*l2));
	layer_begin(l1);
	add(l1, "a/x", AE_IFREG, 0644, "1", NULL);
	add(l1, "a/y", AE_IFREG, 0644, "1", NULL);
	add(l1, "b/z", AE_IFREG, 0644, "1", NULL);
	add(l1, "c", AE_IFREG, 0644, "1", NULL);
	layer_end(l1);
	layer_begin(l2);
	add(l2, "a/.wh.x", AE_IFREG, 0644, "", NULL);
	add(l2, "b/early", AE_IFREG, 0644, "2", NULL); /* before the marker: this layer's, kept */
	add(l2, "b/.wh..wh..opq", AE_IFREG, 0644, "", NULL);
	add(l2, "b/new", AE_IFREG, 0644, "2", NULL);
	add(l2, "d", AE_IFREG, 0644, "2", NULL);
	add(l2, ".wh.d", AE_IFREG, 0644, "", NULL); /* hides lower layers only */
	add(l2, ".wh.c", AE_IFREG, 0644, "", NULL);
	layer_end(l2);
	char *parent;
	int fd = fresh_root(&parent);
	struct wharf_error err;
	assert_wharf_ok(wharf_unpack_layer_mem(fd, l1->buf, l1->used, WHARF_LAYER_TAR, NULL, "l1", NULL, &err), err);
	assert_wharf_ok(wharf_unpack_layer_mem(fd, l2->buf, l2->used, WHARF_LAYER_TAR, NULL, "l2", NULL, &err), err);
	assert_false(exists_in(parent, "root/a/x"));
	assert_true(exists_in(parent, "root/a/y"));
	assert_false(exists_in(parent, "root/b/z"));
	assert_true(exists_in(parent, "root/b/new"));
	assert_true(exists_in(parent, "root/b/early"));
	assert_true(exists_in(parent, "root/d"));
	assert_false(exists_in(parent, "root/c"));
	assert_false(exists_in(parent, "root/a/.wh.x"));
	close(fd);
	free(parent);
	free(l1);
	free(l2);
}

static void test_unpack_limits(void **s)
{
	(void)s;
	struct layer *l = wharf_xcalloc(1, sizeof(*l));
	layer_begin(l);
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		add(l, name, AE_IFREG, 0644, "0123456789", NULL);
	}
	layer_end(l);
	char *parent;
	int fd = fresh_root(&parent);
	struct wharf_error err;
	struct wharf_unpack_opts o = {.limits = {.max_entries = 5}};
	assert_wharf_err(wharf_unpack_layer_mem(fd, l->buf, l->used, WHARF_LAYER_TAR, &o, "big", NULL, &err), err,
			 WHARF_ETOOBIG);
	assert_contains(err.message, "entries");
	struct wharf_unpack_opts o2 = {.limits = {.max_bytes = 4096}};
	assert_wharf_err(wharf_unpack_layer_mem(fd, l->buf, l->used, WHARF_LAYER_TAR, &o2, "big", NULL, &err), err,
			 WHARF_ETOOBIG);
	assert_contains(err.message, "uncompressed bytes");
	close(fd);
	free(parent);
	free(l);
}

static void test_unpack_gzip_diff_id(void **s)
{
	(void)s;
	struct layer *l = wharf_xcalloc(1, sizeof(*l));
	layer_begin(l);
	add(l, "f", AE_IFREG, 0644, "gzip me", NULL);
	layer_end(l);
	/* gzip it with zlib */
	unsigned char *gz = wharf_xmalloc(l->used + 1024);
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)l->buf;
	z.avail_in = (uInt)l->used;
	z.next_out = gz;
	z.avail_out = (uInt)(l->used + 1024);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t gzlen = z.total_out;
	deflateEnd(&z);
	char *parent;
	int fd = fresh_root(&parent);
	struct wharf_error err;
	struct wharf_digest d, want;
	assert_wharf_ok(wharf_unpack_layer_mem(fd, gz, gzlen, WHARF_LAYER_GZIP, NULL, "gz", &d, &err), err);
	wharf_digest_buffer(WHARF_SHA256, l->buf, l->used, &want);
	assert_string_equal(d.str, want.str);
	assert_true(exists_in(parent, "root/f"));
	/* truncated gzip: a clear error */
	assert_wharf_err(wharf_unpack_layer_mem(fd, gz, gzlen / 2, WHARF_LAYER_GZIP, NULL, "gz", &d, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "gz");
	close(fd);
	free(gz);
	free(parent);
	free(l);
}

static void test_chain_id(void **s)
{
	(void)s;
	struct wharf_digest ids[2], c;
	struct wharf_error err;
	assert_wharf_ok(wharf_digest_parse(&ids[0], "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4", &err), err);
	assert_wharf_ok(wharf_digest_parse(&ids[1], "sha256:4fc242d58285699eca05db3cc7c7122a2b8e014d9481f323bd9277baacfa0628", &err), err);
	wharf_chain_id(ids, 1, &c);
	assert_string_equal(c.str, ids[0].str);
	wharf_chain_id(ids, 2, &c);
	struct wharf_digest want;
	char *s2 = wharf_xasprintf("%s %s", ids[0].str, ids[1].str);
	wharf_digest_buffer(WHARF_SHA256, s2, strlen(s2), &want);
	assert_string_equal(c.str, want.str);
	free(s2);
}

static void test_image_config(void **s)
{
	(void)s;
	const char *good = "{\"config\":{\"Env\":[\"A=1\"],\"Entrypoint\":[\"/e\"],\"Cmd\":[\"x\",\"y\"],\"WorkingDir\":\"/w\","
			   "\"User\":\"1:2\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
			   "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4\"]}}";
	struct wharf_image_config c;
	struct wharf_error err;
	assert_wharf_ok(wharf_image_config_parse(&c, good, strlen(good), &err), err);
	assert_int_equal(c.cmd.n, 2);
	assert_string_equal(c.entrypoint.v[0], "/e");
	assert_string_equal(c.working_dir, "/w");
	assert_string_equal(c.user, "1:2");
	assert_int_equal(c.n_diff_ids, 1);
	wharf_image_config_free(&c);
	const char *bad = "{\"config\":{\"Cmd\":\"not an array\"},\"rootfs\":{\"diff_ids\":[]}}";
	assert_wharf_err(wharf_image_config_parse(&c, bad, strlen(bad), &err), err, WHARF_EINVAL);
	assert_contains(err.message, "config.Cmd");
	const char *nodiff = "{\"config\":{}}";
	assert_wharf_err(wharf_image_config_parse(&c, nodiff, strlen(nodiff), &err), err, WHARF_EINVAL);
	assert_contains(err.message, "diff_ids");
}

static void test_userns_pool(void **s)
{
	(void)s;
	char *home = wharf_xasprintf("%s/home", tmp);
	/* the transient file goes to the run directory: a tmpfs, so nothing is mounted here */
	char rundir[] = "/dev/shm/wharf-test-run-XXXXXX";
	assert_non_null(mkdtemp(rundir));
	setenv("WHARF_RUN_DIR", rundir, 1);
	setenv("WHARF_USERNS_BASE", "2000000000", 1);
	setenv("WHARF_USERNS_COUNT", "3", 1);
	struct wharf_error err;
	uint32_t a, b, t, again, c;
	assert_wharf_ok(wharf_userns_alloc(home, "ca", false, &a, &err), err);
	assert_wharf_ok(wharf_userns_alloc(home, "cb", false, &b, &err), err);
	assert_true(a != b);
	assert_true(a + WHARF_USERNS_SIZE <= b || b + WHARF_USERNS_SIZE <= a);
	assert_wharf_ok(wharf_userns_alloc(home, "ca", false, &again, &err), err);
	assert_int_equal(again, a);
	/* a transient range: distinct from the durable ones, recorded only in the run directory */
	assert_wharf_ok(wharf_userns_alloc(home, "ct", true, &t, &err), err);
	assert_true(t != a && t != b);
	char *pool = wharf_xasprintf("%s/userns/pool", home), *data = NULL;
	size_t len;
	assert_wharf_ok(wharf_read_file(pool, 4096, &data, &len, &err), err);
	assert_null(strstr(data, " ct\n"));
	assert_non_null(strstr(data, " ca\n"));
	free(data);
	DIR *d = opendir(rundir);
	struct dirent *de;
	char *tfile = NULL;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "userns-pool.", 12) && !strstr(de->d_name, ".tmp"))
			tfile = wharf_xasprintf("%s/%s", rundir, de->d_name);
	closedir(d);
	assert_non_null(tfile);
	assert_wharf_ok(wharf_read_file(tfile, 4096, &data, &len, &err), err);
	char want[64];
	snprintf(want, sizeof(want), "%u ct\n", t);
	assert_string_equal(data, want);
	free(data);
	/* every range is taken, durable or transient */
	assert_wharf_err(wharf_userns_alloc(home, "cc", false, &c, &err), err, WHARF_EBUSY);
	assert_wharf_err(wharf_userns_alloc(home, "cc", true, &c, &err), err, WHARF_EBUSY);
	assert_wharf_ok(wharf_userns_release(home, "ct", &err), err);
	assert_int_equal(access(tfile, F_OK), -1); /* empty: removed */
	assert_wharf_ok(wharf_userns_alloc(home, "cc", false, &c, &err), err);
	assert_int_equal(c, t);
	assert_wharf_ok(wharf_userns_release(home, "ca", &err), err);
	assert_wharf_ok(wharf_userns_alloc(home, "cd", true, &c, &err), err);
	assert_int_equal(c, a);
	uint32_t base, size;
	assert_wharf_ok(wharf_userns_parse_range("300000:1000", &base, &size, &err), err);
	assert_int_equal(base, 300000);
	assert_int_equal(size, 1000);
	assert_wharf_err(wharf_userns_parse_range("0", &base, &size, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_userns_parse_range("5:70000", &base, &size, &err), err, WHARF_EINVAL);
	unsetenv("WHARF_USERNS_BASE");
	unsetenv("WHARF_USERNS_COUNT");
	unsetenv("WHARF_RUN_DIR");
	unlink(tfile);
	free(tfile);
	free(pool);
	rmdir(rundir);
	free(home);
}

static void test_bundle_config(void **s)
{
	(void)s;
	struct wharf_run_spec sp = {.id = "x", .hostname = "h", .rootfs = "/r", .userns = true, .uid_base = 1000000000,
				    .uid_size = 65536, .cwd = "/", .secrets_dir = "/s"};
	wharf_strv_push(&sp.args, "/bin/true");
	char *j = wharf_bundle_config(&sp);
	json_t *o = json_loads(j, 0, NULL);
	assert_non_null(o);
	json_t *lx = json_object_get(o, "linux");
	assert_int_equal(json_array_size(json_object_get(lx, "namespaces")), 6);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(lx, "uidMappings"), 0), "hostID")),
			 1000000000);
	json_t *caps = json_object_get(json_object_get(o, "process"), "capabilities");
	assert_int_equal(json_array_size(json_object_get(caps, "bounding")), 0);
	assert_true(json_is_true(json_object_get(json_object_get(o, "process"), "noNewPrivileges")));
	assert_contains(j, "\"/proc/kcore\"");
	assert_contains(j, "\"/run/secrets\"");
	/* the seccomp allowlist has none of the forbidden calls */
	json_t *sc = json_object_get(lx, "seccomp");
	assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
	json_t *names = json_object_get(json_array_get(json_object_get(sc, "syscalls"), 0), "names");
	const char *forbidden[] = {"mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "ptrace",
				   "bpf", "clone3", "open_tree", "move_mount", "mount_setattr"};
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden); i++) {
		size_t k;
		json_t *n;
		json_array_foreach(names, k, n) assert_string_not_equal(json_string_value(n), forbidden[i]);
	}
	json_decref(o);
	free(j);
	wharf_strv_free(&sp.args);
	char *canon = NULL;
	assert_true(wharf_cap_valid("net_bind_service", &canon));
	assert_string_equal(canon, "CAP_NET_BIND_SERVICE");
	free(canon);
	assert_false(wharf_cap_valid("CAP_MAKE_ME_ROOT", &canon));
}

static void test_policy_hook(void **s)
{
	(void)s;
	char *home = wharf_xasprintf("%s/policy", tmp);
	char *scan = wharf_xasprintf("%s/scan", home);
	struct wharf_error err;
	assert_wharf_ok(wharf_mkdir_p(scan, 0700, &err), err);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "m", 1, &d);
	assert_wharf_ok(wharf_run_policy_check(home, &d, &err), err); /* no report: allowed */
	char *report = wharf_xasprintf("%s/%s.json", scan, wharf_digest_hex(&d));
	assert_wharf_ok(wharf_atomic_write(report, "{\"policy\":\"pass\"}", 17, 0600, &err), err);
	assert_wharf_ok(wharf_run_policy_check(home, &d, &err), err);
	assert_wharf_ok(wharf_atomic_write(report, "{\"policy\":\"fail\"}", 17, 0600, &err), err);
	assert_wharf_err(wharf_run_policy_check(home, &d, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "scan policy refuses");
	assert_wharf_ok(wharf_atomic_write(report, "not json", 8, 0600, &err), err);
	assert_wharf_err(wharf_run_policy_check(home, &d, &err), err, WHARF_EINVAL);
	free(report);
	free(scan);
	free(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpack_basic),       cmocka_unit_test(test_unpack_keep_suid),
		cmocka_unit_test(test_unpack_dotdot_refused), cmocka_unit_test(test_unpack_symlink_escape),
		cmocka_unit_test(test_unpack_hardlink_outside), cmocka_unit_test(test_unpack_whiteouts),
		cmocka_unit_test(test_unpack_limits),      cmocka_unit_test(test_unpack_gzip_diff_id),
		cmocka_unit_test(test_chain_id),           cmocka_unit_test(test_image_config),
		cmocka_unit_test(test_userns_pool),        cmocka_unit_test(test_bundle_config),
		cmocka_unit_test(test_policy_hook),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
