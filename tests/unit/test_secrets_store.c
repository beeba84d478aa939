/* The secret store: round trips, the AEAD binding of name, id and version, tampering, the master
 * key's mode, size and name rules, and materialising onto a tmpfs. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "wharf/secrets.h"
#include "wharf_test.h"

struct fixture {
	char *home;
	struct wharf_secrets *s;
};

static int setup(void **state)
{
	struct fixture *f = wharf_xcalloc(1, sizeof(*f));
	struct wharf_error err = {0};
	f->home = test_subdir();
	if (wharf_secrets_init(f->home, NULL, &err) < 0 || wharf_secrets_open(&f->s, f->home, &err) < 0)
		fail_msg("cannot make a store: %s", err.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	wharf_secrets_close(f->s);
	free(f->home);
	free(f);
	return 0;
}

static char *secret_path(const struct fixture *f, const char *name)
{
	return wharf_xasprintf("%s/secrets/%s.secret", f->home, name);
}

static void create(struct fixture *f, const char *name, const char *value)
{
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_secrets_create(f->s, name, (const unsigned char *)value, strlen(value), NULL, &err), err);
}

static void assert_value(struct fixture *f, const char *name, const char *want)
{
	struct wharf_error err = {0};
	unsigned char *data = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_secrets_get(f->s, name, &data, &len, &err), err);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
	OPENSSL_cleanse(data, len);
	free(data);
}

/* Not inlined: GCC's -O3 dangling-pointer analysis mistakes the read buffer for a local. */
__attribute__((noinline)) static unsigned char *read_all(const char *path, size_t *len)
{
	char *data = NULL;
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_read_file(path, 1 << 21, &data, len, &err), err);
	return (unsigned char *)data;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct wharf_error err = {0};
	struct wharf_secret_info info;
	const unsigned char bin[] = {0, 1, 2, 0xff, 0, 'x'};
	assert_wharf_ok(wharf_secrets_create(f->s, "db.password", bin, sizeof(bin), &info, &err), err);
	assert_string_equal(info.name, "db.password");
	assert_int_equal(strlen(info.id), 32);
	assert_int_equal(info.version, 1);
	assert_int_equal(info.size, sizeof(bin));
	unsigned char *data = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_secrets_get(f->s, "db.password", &data, &len, &err), err);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(data, bin, len);
	free(data);
	create(f, "empty", "");
	assert_value(f, "empty", "");

	/* The file holds no plaintext. */
	create(f, "plain", "correct horse battery staple");
	_cleanup_free_ char *path = secret_path(f, "plain");
	size_t flen = 0;
	_cleanup_free_ unsigned char *file = read_all(path, &flen);
	assert_null(memmem(file, flen, "correct horse", 13));

	/* A second open of the same store reads it too. */
	struct wharf_secrets *again = NULL;
	assert_wharf_ok(wharf_secrets_open(&again, f->home, &err), err);
	assert_wharf_ok(wharf_secrets_get(again, "plain", &data, &len, &err), err);
	assert_memory_equal(data, "correct horse battery staple", len);
	free(data);
	wharf_secrets_close(again);
}

static void test_exists_and_missing(void **state)
{
	struct fixture *f = *state;
	struct wharf_error err = {0};
	create(f, "a", "1");
	assert_wharf_err(wharf_secrets_create(f->s, "a", (const unsigned char *)"2", 1, NULL, &err), err,
			 WHARF_EEXIST);
	assert_value(f, "a", "1");
	unsigned char *data = NULL;
	size_t len = 0;
	assert_wharf_err(wharf_secrets_get(f->s, "nope", &data, &len, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, "nope");
	assert_wharf_err(wharf_secrets_rotate(f->s, "nope", (const unsigned char *)"x", 1, NULL, &err), err,
			 WHARF_ENOTFOUND);
	assert_wharf_err(wharf_secrets_remove(f->s, "nope", &err), err, WHARF_ENOTFOUND);
	assert_wharf_err(wharf_secrets_init(f->home, NULL, &err), err, WHARF_EEXIST);
}

static void test_rotate_list_remove(void **state)
{
	struct fixture *f = *state;
	struct wharf_error err = {0};
	struct wharf_secret_info first, second;
	assert_wharf_ok(wharf_secrets_create(f->s, "tok", (const unsigned char *)"old-value", 9, &first, &err), err);
	create(f, "b-other", "x");
	assert_wharf_ok(wharf_secrets_rotate(f->s, "tok", (const unsigned char *)"new", 3, &second, &err), err);
	assert_string_equal(first.id, second.id);
	assert_int_equal(second.version, 2);
	assert_int_equal(second.size, 3);
	assert_true(second.updated >= first.created);
	assert_value(f, "tok", "new");

	struct wharf_secret_info *v = NULL;
	size_t n = 0;
	assert_wharf_ok(wharf_secrets_list(f->s, &v, &n, &err), err);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "b-other");
	assert_string_equal(v[1].name, "tok");
	assert_int_equal(v[1].version, 2);
	free(v);

	assert_wharf_ok(wharf_secrets_remove(f->s, "tok", &err), err);
	_cleanup_free_ char *path = secret_path(f, "tok");
	assert_int_equal(access(path, F_OK), -1);
	assert_wharf_ok(wharf_secrets_list(f->s, &v, &n, &err), err);
	assert_int_equal(n, 1);
	free(v);
}

static void test_names_and_size(void **state)
{
	struct fixture *f = *state;
	struct wharf_error err = {0};
	const char *bad[] = {"", ".hidden", "-x", "a/b", "../up", "a b", "tab\t", "é",
			     "a123456789012345678901234567890123456789012345678901234567890123x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_wharf_err(wharf_secrets_create(f->s, bad[i], (const unsigned char *)"v", 1, NULL, &err), err,
				 WHARF_EINVAL);
		assert_contains(err.message, "secret name");
	}
	const char *good[] = {"a", "A.b_c-d", "0", "a123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_wharf_ok(wharf_secret_name_check(good[i], &err), err);

	size_t max = WHARF_SECRET_MAX_SIZE;
	unsigned char *big = wharf_xcalloc(max + 1, 1);
	assert_wharf_err(wharf_secrets_create(f->s, "big", big, max + 1, NULL, &err), err, WHARF_ETOOBIG);
	assert_contains(err.message, "limit");
	big[max - 1] = 'z';
	assert_wharf_ok(wharf_secrets_create(f->s, "big", big, max, NULL, &err), err);
	unsigned char *data = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_secrets_get(f->s, "big", &data, &len, &err), err);
	assert_int_equal(len, max);
	assert_int_equal(data[max - 1], 'z');
	free(data);
	assert_wharf_err(wharf_secrets_rotate(f->s, "big", big, max + 1, NULL, &err), err, WHARF_ETOOBIG);
	free(big);
}

/* Flip one byte at off of name's file and expect get to fail with want, the message containing what. */
static void expect_tamper(struct fixture *f, const char *name, size_t off, int want, const char *what)
{
	_cleanup_free_ char *path = secret_path(f, name);
	size_t len = 0;
	_cleanup_free_ unsigned char *file = read_all(path, &len);
	assert_true(off < len);
	file[off] ^= 0x01;
	test_write_file(path, file, len);
	struct wharf_error err = {0};
	unsigned char *data = NULL;
	size_t dlen = 0;
	assert_wharf_err(wharf_secrets_get(f->s, name, &data, &dlen, &err), err, want);
	assert_contains(err.message, what);
	assert_null(data);
	file[off] ^= 0x01; /* restore: the file reads again */
	test_write_file(path, file, len);
	assert_wharf_ok(wharf_secrets_get(f->s, name, &data, &dlen, &err), err);
	free(data);
}

static void test_tamper(void **state)
{
	struct fixture *f = *state;
	create(f, "t", "some secret value");
	_cleanup_free_ char *path = secret_path(f, "t");
	size_t len = 0;
	free(read_all(path, &len));
	size_t hlen = 11 + 1 + 16 + 4 + 8 + 8 + 4 + 12;
	assert_int_equal(len, hlen + 17 + 16);
	expect_tamper(f, "t", 0, WHARF_EINVAL, "not a wharf secret file");
	expect_tamper(f, "t", 8, WHARF_EUNSUPPORTED, "format");
	expect_tamper(f, "t", 12, WHARF_EDIGEST, "authentication failed"); /* the id: AAD */
	expect_tamper(f, "t", 12 + 16 + 2, WHARF_EDIGEST, "authentication failed"); /* version */
	expect_tamper(f, "t", hlen - 1, WHARF_EDIGEST, "authentication failed");    /* nonce */
	expect_tamper(f, "t", hlen + 3, WHARF_EDIGEST, "authentication failed");    /* ciphertext */
	expect_tamper(f, "t", len - 1, WHARF_EDIGEST, "authentication failed");     /* tag */
	expect_tamper(f, "t", hlen - 13, WHARF_EINVAL, "bytes, but the header says"); /* size field */

	/* Truncation. */
	_cleanup_free_ unsigned char *file = read_all(path, &len);
	test_write_file(path, file, len - 1);
	struct wharf_error err = {0};
	unsigned char *data = NULL;
	size_t dlen = 0;
	assert_wharf_err(wharf_secrets_get(f->s, "t", &data, &dlen, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "t.secret");
}

static void test_swap(void **state)
{
	struct fixture *f = *state;
	create(f, "alpha", "value-of-alpha");
	create(f, "beta", "value-of-beta");
	_cleanup_free_ char *a = secret_path(f, "alpha");
	_cleanup_free_ char *b = secret_path(f, "beta");
	/* beta's file under alpha's name: the header names beta. */
	size_t len = 0;
	_cleanup_free_ unsigned char *bfile = read_all(b, &len);
	test_write_file(a, bfile, len);
	struct wharf_error err = {0};
	unsigned char *data = NULL;
	size_t dlen = 0;
	assert_wharf_err(wharf_secrets_get(f->s, "alpha", &data, &dlen, &err), err, WHARF_EDIGEST);
	assert_contains(err.message, "holds secret \"beta\"");

	/* A header rewritten to name another secret of the same name length ("beta" -> "alph")
	 * over beta's ciphertext, under that secret's file name: the AAD differs, so GCM refuses. */
	create(f, "alph", "value-of-alph");
	_cleanup_free_ char *alph = secret_path(f, "alph");
	memcpy(bfile + 11, "alph", 4);
	test_write_file(alph, bfile, len);
	assert_wharf_err(wharf_secrets_get(f->s, "alph", &data, &dlen, &err), err, WHARF_EDIGEST);
	assert_contains(err.message, "authentication failed");
	/* beta itself is untouched. */
	assert_value(f, "beta", "value-of-beta");
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	create(f, "k", "value");
	_cleanup_free_ char *other = test_subdir();
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_secrets_init(other, NULL, &err), err);
	/* Put the other store's master key in this store. */
	_cleanup_free_ char *src = wharf_xasprintf("%s/secrets/master.key", other);
	_cleanup_free_ char *dst = wharf_xasprintf("%s/secrets/master.key", f->home);
	size_t len = 0;
	_cleanup_free_ unsigned char *key = read_all(src, &len);
	assert_int_equal(len, 32);
	test_write_file(dst, key, len);
	chmod(dst, 0600);
	struct wharf_secrets *s = NULL;
	assert_wharf_err(wharf_secrets_open(&s, f->home, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "does not match the store");
	/* And with the key check moved along too, the secret itself refuses the key. */
	_cleanup_free_ char *csrc = wharf_xasprintf("%s/secrets/keycheck", other);
	_cleanup_free_ char *cdst = wharf_xasprintf("%s/secrets/keycheck", f->home);
	_cleanup_free_ unsigned char *check = read_all(csrc, &len);
	test_write_file(cdst, check, len);
	assert_wharf_ok(wharf_secrets_open(&s, f->home, &err), err);
	unsigned char *data = NULL;
	size_t dlen = 0;
	assert_wharf_err(wharf_secrets_get(s, "k", &data, &dlen, &err), err, WHARF_EDIGEST);
	assert_contains(err.message, "another master key");
	wharf_secrets_close(s);
}

static void test_master_key_mode(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = wharf_xasprintf("%s/secrets/master.key", f->home);
	struct stat st;
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	_cleanup_free_ char *dir = wharf_xasprintf("%s/secrets", f->home);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	struct wharf_error err = {0};
	struct wharf_secrets *s = NULL;
	assert_int_equal(chmod(key, 0640), 0);
	assert_wharf_err(wharf_secrets_open(&s, f->home, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "mode 0640");
	assert_contains(err.message, "group or other");
	assert_int_equal(chmod(key, 0604), 0);
	assert_wharf_err(wharf_secrets_open(&s, f->home, &err), err, WHARF_EINVAL);
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(chmod(dir, 0750), 0);
	assert_wharf_err(wharf_secrets_open(&s, f->home, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "chmod 700");
	assert_int_equal(chmod(dir, 0700), 0);
	assert_wharf_ok(wharf_secrets_open(&s, f->home, &err), err);
	wharf_secrets_close(s);
	/* A symlinked master key is refused. */
	_cleanup_free_ char *moved = wharf_xasprintf("%s/real.key", f->home);
	assert_int_equal(rename(key, moved), 0);
	assert_int_equal(symlink(moved, key), 0);
	assert_true(wharf_secrets_open(&s, f->home, &err) < 0);
	/* No store at all. */
	_cleanup_free_ char *none = test_subdir();
	assert_wharf_err(wharf_secrets_open(&s, none, &err), err, WHARF_ENOTFOUND);
}

/* Mount a tmpfs on a new directory (root only); NULL with a message when we cannot. */
static char *mount_tmpfs(void)
{
	if (geteuid() != 0) {
		print_message("# skipped the tmpfs case: mounting a tmpfs needs root\n");
		return NULL;
	}
	char *dir = test_subdir();
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=0700") != 0) {
		print_message("# skipped the tmpfs case: mount tmpfs failed: %s\n", strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static const char *disk_dir_path;
static void remove_disk_dir(void)
{
	if (disk_dir_path)
		rmdir(disk_dir_path);
}

/* A new directory on a filesystem that is not a tmpfs: the test's temp directory, else the
 * working directory (the build tree); NULL with a message when both are tmpfs. */
static char *disk_dir(void)
{
	char *dir = test_subdir();
	struct statfs fs;
	if (statfs(dir, &fs) == 0 && (unsigned long)fs.f_type != (unsigned long)TMPFS_MAGIC)
		return dir;
	free(dir);
	char tmpl[] = "wharf-unit-disk-XXXXXX";
	if (statfs(".", &fs) == 0 && (unsigned long)fs.f_type != (unsigned long)TMPFS_MAGIC && mkdtemp(tmpl)) {
		static char kept[64];
		snprintf(kept, sizeof(kept), "%s", tmpl);
		atexit(remove_disk_dir);
		disk_dir_path = kept;
		return wharf_xstrdup(tmpl);
	}
	print_message("# skipped the on-disk refusal case: no non-tmpfs directory found\n");
	return NULL;
}

static void test_materialize(void **state)
{
	struct fixture *f = *state;
	struct wharf_error err = {0};
	create(f, "api-key", "s3cr3t-api-key");
	/* A directory on a disk (not tmpfs) is refused, whatever the target. */
	_cleanup_free_ char *disk = disk_dir();
	_cleanup_close_ int dfd = open(disk ? disk : ".", O_RDONLY | O_DIRECTORY);
	if (disk) {
		assert_wharf_err(wharf_secrets_materialize(f->s, dfd, "api-key", "api-key", (uid_t)-1, (gid_t)-1,
							   0400, &err),
				 err, WHARF_EINVAL);
		assert_contains(err.message, "not on a tmpfs");
		assert_int_equal(test_count_entries(disk), 0);
	}
	const char *bad[] = {"a/b", "..", ".", "", "../x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_wharf_err(wharf_secrets_materialize(f->s, dfd, "api-key", bad[i], (uid_t)-1, (gid_t)-1, 0400,
							   &err),
				 err, WHARF_EINVAL);
		assert_contains(err.message, "single file name");
	}

	_cleanup_free_ char *tmp = mount_tmpfs();
	if (!tmp)
		return;
	_cleanup_close_ int tfd = open(tmp, O_RDONLY | O_DIRECTORY);
	assert_wharf_ok(wharf_secrets_materialize(f->s, tfd, "api-key", "token", 1234, 5678, 0440, &err), err);
	_cleanup_free_ char *p = wharf_xasprintf("%s/token", tmp);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0440);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);
	size_t len = 0;
	_cleanup_free_ unsigned char *v = read_all(p, &len);
	assert_int_equal(len, 14);
	assert_memory_equal(v, "s3cr3t-api-key", 14);
	/* Never over an existing file or through a symlink. */
	_cleanup_free_ char *link = wharf_xasprintf("%s/link", tmp);
	assert_int_equal(symlink("/etc/passwd-wharf-test", link), 0);
	assert_wharf_err(wharf_secrets_materialize(f->s, tfd, "api-key", "link", (uid_t)-1, (gid_t)-1, 0400, &err),
			 err, WHARF_EIO);
	assert_int_equal(access("/etc/passwd-wharf-test", F_OK), -1);
	assert_wharf_err(wharf_secrets_materialize(f->s, tfd, "api-key", "token", (uid_t)-1, (gid_t)-1, 0400, &err),
			 err, WHARF_EIO);
	assert_wharf_err(wharf_secrets_materialize(f->s, tfd, "missing", "m", (uid_t)-1, (gid_t)-1, 0400, &err),
			 err, WHARF_ENOTFOUND);
	assert_int_equal(umount2(tmp, MNT_DETACH), 0);
}

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* A SoftHSM2 token in dir (SOFTHSM2_CONF set for this process); false with a message when
 * SoftHSM2 is not installed. */
static bool softhsm_token(const char *dir, const char *label)
{
	if (access(SOFTHSM_MODULE, R_OK) != 0 || system("command -v softhsm2-util >/dev/null") != 0) {
		print_message("# skipped the PKCS#11 case: softhsm2 is not installed\n");
		return false;
	}
	_cleanup_free_ char *tokens = wharf_xasprintf("%s/tokens", dir);
	_cleanup_free_ char *conf = wharf_xasprintf("%s/softhsm2.conf", dir);
	_cleanup_free_ char *text =
		wharf_xasprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
	assert_int_equal(mkdir(tokens, 0700), 0);
	test_write_file(conf, text, strlen(text));
	setenv("SOFTHSM2_CONF", conf, 1);
	_cleanup_free_ char *cmd = wharf_xasprintf(
		"softhsm2-util --init-token --free --label %s --pin 1234 --so-pin 5678 >/dev/null", label);
	assert_int_equal(system(cmd), 0);
	return true;
}

static void test_pkcs11_wrapped(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = test_subdir();
	if (!softhsm_token(dir, "unit-token"))
		return;
	struct wharf_error err = {0};
	struct wharf_secrets_init_opts o = {.pkcs11_module = SOFTHSM_MODULE, .token = "unit-token", .pin = "1234",
					    .key_label = "unit-wrap"};
	assert_wharf_ok(wharf_secrets_init(dir, &o, &err), err);
	assert_true(wharf_secrets_uses_pkcs11(dir));
	_cleanup_free_ char *plain = wharf_xasprintf("%s/secrets/master.key", dir);
	assert_int_equal(access(plain, F_OK), -1);
	/* A second init, even with another key label, does not replace the key. */
	o.key_label = "unit-wrap-2";
	assert_wharf_err(wharf_secrets_init(dir, &o, &err), err, WHARF_EEXIST);

	struct wharf_secrets *s = NULL;
	unsetenv("WHARF_PKCS11_PIN");
	assert_wharf_err(wharf_secrets_open(&s, dir, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "WHARF_PKCS11_PIN");
	assert_wharf_err(wharf_secrets_open_pin(&s, dir, "0000", &err), err, WHARF_EINVAL);
	assert_contains(err.message, "wrong PIN");

	assert_wharf_ok(wharf_secrets_open_pin(&s, dir, "1234", &err), err);
	assert_wharf_ok(wharf_secrets_create(s, "hsm", (const unsigned char *)"on-the-token", 12, NULL, &err), err);
	wharf_secrets_close(s);
	setenv("WHARF_PKCS11_PIN", "1234", 1);
	assert_wharf_ok(wharf_secrets_open(&s, dir, &err), err);
	unsetenv("WHARF_PKCS11_PIN");
	unsigned char *data = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_secrets_get(s, "hsm", &data, &len, &err), err);
	assert_int_equal(len, 12);
	assert_memory_equal(data, "on-the-token", 12);
	free(data);
	wharf_secrets_close(s);

	/* An altered wrapped key does not unwrap. */
	_cleanup_free_ char *rec = wharf_xasprintf("%s/secrets/master.key.p11", dir);
	size_t rlen = 0;
	_cleanup_free_ unsigned char *text = read_all(rec, &rlen);
	char *w = strstr((char *)text, "\"wrapped\": \"");
	assert_non_null(w);
	w += strlen("\"wrapped\": \"");
	*w = *w == '0' ? '1' : '0';
	test_write_file(rec, text, rlen);
	assert_wharf_err(wharf_secrets_open_pin(&s, dir, "1234", &err), err, WHARF_EDIGEST);
	assert_contains(err.message, "does not open the wrapped data");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exists_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_list_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_and_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_key_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_materialize, setup, teardown),
		cmocka_unit_test(test_pkcs11_wrapped),
	};
	return cmocka_run_group_tests(tests, test_group_setup, test_group_teardown);
}
