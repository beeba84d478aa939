/* Unit tests of the scanner: the package database parsers on real files (fixtures/scan:
 * a dpkg status excerpt from a Debian 12 machine, an rpmdb.sqlite and a Berkeley DB Packages
 * written by rpm 4.18 / db5.3_load, the same header blobs in an ndb container, an apk
 * database), the layer reader (gzip, zstd, plain; digests; hostile streams) on tars made here
 * with libarchive, the whiteout merge and layer attribution, and the layer cache. */
#include "wharf_test.h"

#include <archive.h>
#include <archive_entry.h>
#include <libgen.h>
#include <zlib.h>
#include <zstd.h>

#include "wharf/digest.h"
#include "wharf/scan.h"

/* ---- fixtures ---- */

static char *fixture_path(const char *name)
{
	char file[PATH_MAX];
	snprintf(file, sizeof(file), "%s", __FILE__);
	char *p = wharf_xasprintf("%s/fixtures/scan/%s", dirname(file), name);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	snprintf(file, sizeof(file), "%s", __FILE__);
	/* the program is in BUILD/tests/unit; __FILE__ is relative to BUILD */
	return wharf_xasprintf("%s/../../%s/fixtures/scan/%s", dirname(exe), dirname(file), name);
}

static unsigned char *load_fixture(const char *name, size_t *len)
{
	_cleanup_free_ char *p = fixture_path(name);
	char *data = NULL;
	struct wharf_error err = {0};
	if (wharf_read_file(p, 64u << 20, &data, len, &err) < 0)
		fail_msg("%s", err.message);
	return (unsigned char *)data;
}

static const struct wharf_pkg *find_pkg(const struct wharf_pkg_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/* ---- dpkg ---- */

static void t_dpkg_real_status(void **state)
{
	(void)state;
	size_t len;
	_cleanup_free_ unsigned char *d = load_fixture("dpkg-status", &len);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_dpkg_parse("var/lib/dpkg/status", d, len, &l, &err), 0);
	assert_int_equal(l.n, 6);
	const struct wharf_pkg *bc = find_pkg(&l, "bc");
	assert_non_null(bc);
	assert_string_equal(bc->version, "1.07.1-3+b1"); /* a binNMU: source version differs */
	assert_null(bc->source_name);
	assert_string_equal(bc->source_version, "1.07.1-3");
	assert_string_equal(bc->arch, "amd64");
	const struct wharf_pkg *libc = find_pkg(&l, "libc6");
	assert_string_equal(libc->source_name, "glibc");
	assert_null(libc->source_version);
	assert_string_equal(find_pkg(&l, "zlib1g")->version, "1:1.2.13.dfsg-1");
	assert_string_equal(find_pkg(&l, "bsdextrautils")->source_name, "util-linux");
	assert_string_equal(find_pkg(&l, "adduser")->arch, "all");
	assert_string_equal(libc->ecosystem, WHARF_ECO_DEBIAN);
	assert_string_equal(libc->path, "var/lib/dpkg/status");
	wharf_pkg_list_free(&l);
}

static void t_dpkg_only_installed(void **state)
{
	(void)state;
	const char *s = "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
			"Package: half\nStatus: install ok half-configured\nVersion: 2.0\n\n"
			"Package: held\nStatus: hold ok installed\nVersion: 3.0\nSource: heldsrc (2.9)\n\n"
			"Package: distroless\nVersion: 4.0\nArchitecture: arm64\n";
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_dpkg_parse("s", (const unsigned char *)s, strlen(s), &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "held");
	assert_string_equal(l.v[0].source_name, "heldsrc");
	assert_string_equal(l.v[0].source_version, "2.9");
	assert_string_equal(l.v[1].name, "distroless");
	wharf_pkg_list_free(&l);
	const char *bad = "Package: nover\nStatus: install ok installed\n";
	assert_wharf_err(wharf_dpkg_parse("var/lib/dpkg/status", (const unsigned char *)bad, strlen(bad), &l, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "nover");
	wharf_pkg_list_free(&l);
}

/* ---- apk, os-release ---- */

static void t_apk(void **state)
{
	(void)state;
	size_t len;
	_cleanup_free_ unsigned char *d = load_fixture("apk-installed", &len);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_apk_parse("lib/apk/db/installed", d, len, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "musl");
	assert_null(l.v[0].source_name);
	assert_string_equal(l.v[1].name, "libcrypto3");
	assert_string_equal(l.v[1].version, "3.1.4-r1");
	assert_string_equal(l.v[1].source_name, "openssl");
	assert_string_equal(l.v[1].arch, "x86_64");
	assert_string_equal(l.v[2].source_name, "alpine-baselayout");
	assert_string_equal(l.v[2].ecosystem, WHARF_ECO_ALPINE);
	wharf_pkg_list_free(&l);
}

static void t_os_release(void **state)
{
	(void)state;
	const char *s = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
			"VERSION_CODENAME=bookworm\nID=debian\n";
	struct wharf_os os = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_os_release_parse(s, strlen(s), &os, &err), 0);
	assert_string_equal(os.id, "debian");
	assert_string_equal(os.version_id, "12");
	assert_string_equal(os.codename, "bookworm");
	assert_string_equal(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	wharf_os_clear(&os);
	assert_string_equal(wharf_os_ecosystem("ubuntu"), WHARF_ECO_UBUNTU);
	assert_string_equal(wharf_os_ecosystem("rocky"), WHARF_ECO_RPM);
	assert_null(wharf_os_ecosystem("plan9"));
	assert_wharf_err(wharf_os_release_parse("NAME=x\n", 7, &os, &err), err, WHARF_EINVAL);
	wharf_os_clear(&os);
}

/* ---- rpm ---- */

static void check_rpm_pkgs(const struct wharf_pkg_list *l)
{
	assert_int_equal(l->n, 2);
	const struct wharf_pkg *h = find_pkg(l, "wharf-hello"), *lib = find_pkg(l, "wharf-libhello");
	assert_non_null(h);
	assert_non_null(lib);
	assert_string_equal(h->version, "2:1.0-3.el9");
	assert_string_equal(h->arch, "noarch");
	assert_null(h->source_name);
	assert_null(h->source_version);
	assert_string_equal(lib->source_name, "wharf-hello");
	assert_null(lib->source_version); /* the epoch carries over: 2:1.0-3.el9 both */
	assert_string_equal(lib->ecosystem, WHARF_ECO_RPM);
}

static void t_rpm_sqlite(void **state)
{
	(void)state;
	size_t len;
	_cleanup_free_ unsigned char *d = load_fixture("rpmdb.sqlite", &len);
	assert_int_equal(d[18], 2); /* the fixture is in WAL mode, as rpm leaves it */
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_rpmdb_sqlite_parse("var/lib/rpm/rpmdb.sqlite", d, len, &l, &err), 0);
	check_rpm_pkgs(&l);
	wharf_pkg_list_free(&l);
	d[100] ^= 0xff;
	memset(d + 512, 0x5a, 2048); /* corrupt pages: an error, never a crash */
	int r = wharf_rpmdb_sqlite_parse("var/lib/rpm/rpmdb.sqlite", d, len, &l, &err);
	if (r < 0)
		assert_contains(err.message, "rpmdb.sqlite");
	wharf_pkg_list_free(&l);
	assert_wharf_err(wharf_rpmdb_sqlite_parse("x", (const unsigned char *)"not sqlite", 10, &l, &err), err, WHARF_EINVAL);
}

static void t_rpm_bdb(void **state)
{
	(void)state;
	size_t len;
	_cleanup_free_ unsigned char *d = load_fixture("Packages.bdb", &len);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_rpmdb_bdb_parse("var/lib/rpm/Packages", d, len, &l, &err), 0);
	check_rpm_pkgs(&l);
	wharf_pkg_list_free(&l);
	/* Truncated at every page boundary: parsed or refused, never out of bounds. */
	for (size_t cut = 512; cut < len; cut += 512) {
		int r = wharf_rpmdb_bdb_parse("p", d, cut, &l, &err);
		assert_true(r == 0 || err.code == WHARF_EINVAL);
		wharf_pkg_list_free(&l);
	}
	/* Every byte of the first overflow page flipped in turn: refused or parsed, in bounds. */
	for (size_t i = 4096; i < 8192 && i < len; i += 7) {
		d[i] ^= 0xff;
		wharf_rpmdb_bdb_parse("p", d, len, &l, &err);
		wharf_pkg_list_free(&l);
		d[i] ^= 0xff;
	}
}

static void t_rpm_ndb(void **state)
{
	(void)state;
	size_t len;
	_cleanup_free_ unsigned char *d = load_fixture("Packages.ndb", &len);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_rpmdb_ndb_parse("usr/lib/sysimage/rpm/Packages.db", d, len, &l, &err), 0);
	check_rpm_pkgs(&l);
	wharf_pkg_list_free(&l);
	assert_wharf_err(wharf_rpmdb_ndb_parse("p", d, 4200, &l, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "slot");
	wharf_pkg_list_free(&l);
}

static void t_rpm_header_bounds(void **state)
{
	(void)state;
	size_t len;
	_cleanup_free_ unsigned char *d = load_fixture("Packages.ndb", &len);
	const unsigned char *blob = d + 4096 + 16; /* the first blob */
	size_t blen = (size_t)d[4096 + 12] | (size_t)d[4096 + 13] << 8;
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_int_equal(wharf_rpm_header_parse("h", blob, blen, &l, &err), 0);
	assert_int_equal(l.n, 1);
	wharf_pkg_list_free(&l);
	for (size_t cut = 0; cut < blen; cut++) {
		assert_wharf_err(wharf_rpm_header_parse("h", blob, cut, &l, &err), err, WHARF_EINVAL);
		assert_int_equal(l.n, 0);
	}
	/* An entry pointing past the data store gives no string. */
	unsigned char *copy = wharf_xmalloc(blen);
	memcpy(copy, blob, blen);
	uint32_t il = (uint32_t)copy[0] << 24 | copy[1] << 16 | copy[2] << 8 | copy[3];
	for (uint32_t i = 0; i < il; i++)
		memset(copy + 8 + i * 16 + 8, 0x7f, 4);
	assert_wharf_err(wharf_rpm_header_parse("h", copy, blen, &l, &err), err, WHARF_EINVAL);
	free(copy);
}

/* ---- layers: tars made here ---- */

struct tentry {
	const char *name;
	const char *data; /* NULL: a directory */
	const char *link; /* a symlink */
	int64_t size;     /* for a huge sparse-looking header with no data: -1 = use data */
};

static la_ssize_t buf_write(struct archive *a, void *ctx, const void *data, size_t n)
{
	(void)a;
	wharf_buf_append(ctx, data, n);
	return (la_ssize_t)n;
}

static void make_tar(const struct tentry *e, size_t n, struct wharf_buf *out)
{
	wharf_buf_init(out);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		if (e[i].link) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].link);
			archive_entry_set_perm(ae, 0777);
		} else if (!e[i].data) {
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].data && !e[i].link)
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static void gzip_buf(const struct wharf_buf *in, struct wharf_buf *out)
{
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	wharf_buf_init(out);
	size_t cap = deflateBound(&z, in->len) + 64;
	out->data = wharf_xrealloc(out->data, cap);
	out->cap = cap;
	z.next_in = (unsigned char *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = (unsigned char *)out->data;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->len = z.total_out;
	deflateEnd(&z);
}

static void zstd_buf(const struct wharf_buf *in, struct wharf_buf *out)
{
	wharf_buf_init(out);
	size_t cap = ZSTD_compressBound(in->len) + 1;
	out->data = wharf_xrealloc(out->data, cap);
	out->cap = cap;
	size_t n = ZSTD_compress(out->data, cap, in->data, in->len, 3);
	assert_false(ZSTD_isError(n));
	out->len = n;
}

struct mem {
	const unsigned char *d;
	size_t len, pos, step;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, struct wharf_error *err)
{
	(void)err;
	struct mem *m = ctx;
	size_t n = m->len - m->pos;
	if (n > len)
		n = len;
	if (n > m->step)
		n = m->step; /* odd piece sizes exercise every buffer boundary */
	if (n == 0)
		return 0;
	memcpy(buf, m->d + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int scan_mem(const struct wharf_buf *b, const char *digest, const char *diffid, const struct wharf_scan_limits *lim,
		    struct wharf_layer_analysis *a, struct wharf_error *err)
{
	struct wharf_scan_limits def;
	wharf_scan_limits_default(&def);
	struct mem m = {(const unsigned char *)b->data, b->len, 0, 7919};
	struct wharf_layer_input in = {.index = 0, .digest = digest, .diffid = diffid, .read = mem_read, .ctx = &m};
	memset(a, 0, sizeof(*a));
	return wharf_scan_layer(&in, lim ? lim : &def, a, err);
}

static const char status_ab[] = "Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n"
				"Package: b\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n";
static const char os_deb[] = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

static void base_tar(struct wharf_buf *out)
{
	const struct tentry e[] = {
		{"./", NULL, NULL, -1},
		{"./etc/", NULL, NULL, -1},
		{"./etc/os-release", NULL, "../usr/lib/os-release", -1},
		{"./usr/lib/os-release", os_deb, NULL, -1},
		{"./var/lib/dpkg/status", status_ab, NULL, -1},
		{"./opt/app/.wh.old", "", NULL, -1},
		{"./srv/.wh..wh..opq", "", NULL, -1},
		{"./home/x/notes.txt", "hello", NULL, -1},
	};
	make_tar(e, sizeof(e) / sizeof(e[0]), out);
}

static void check_base_analysis(const struct wharf_layer_analysis *a, const struct wharf_buf *tar)
{
	assert_int_equal(a->pkgs.n, 2);
	assert_string_equal(a->pkgs.v[0].path, "var/lib/dpkg/status");
	assert_true(a->os_found[1]);
	assert_false(a->os_found[0]); /* a symlink, not read */
	assert_string_equal(a->os[1].codename, "bookworm");
	assert_int_equal(a->whiteouts.n, 2);
	assert_string_equal(a->whiteouts.v[0], "etc/os-release"); /* replaced by a symlink */
	assert_string_equal(a->whiteouts.v[1], "opt/app/old");
	assert_int_equal(a->opaque.n, 1);
	assert_string_equal(a->opaque.v[0], "srv");
	assert_int_equal(a->uncompressed_size, tar->len);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, tar->data, tar->len, &d);
	assert_string_equal(a->diffid, d.str);
}

static void t_layer_codecs(void **state)
{
	(void)state;
	struct wharf_buf tar, gz, zs;
	base_tar(&tar);
	gzip_buf(&tar, &gz);
	zstd_buf(&tar, &zs);
	const struct wharf_buf *forms[] = {&tar, &gz, &zs};
	struct wharf_digest diffid;
	wharf_digest_buffer(WHARF_SHA256, tar.data, tar.len, &diffid);
	for (size_t i = 0; i < 3; i++) {
		struct wharf_digest d;
		wharf_digest_buffer(WHARF_SHA256, forms[i]->data, forms[i]->len, &d);
		struct wharf_layer_analysis a;
		struct wharf_error err = {0};
		if (scan_mem(forms[i], d.str, diffid.str, NULL, &a, &err) < 0)
			fail_msg("form %zu: %s", i, err.message);
		check_base_analysis(&a, &tar);
		assert_string_equal(a.digest, d.str);
		assert_int_equal(a.compressed_size, forms[i]->len);
		wharf_layer_analysis_free(&a);
	}
	wharf_buf_free(&tar);
	wharf_buf_free(&gz);
	wharf_buf_free(&zs);
}

static void t_layer_multimember_gzip(void **state)
{
	(void)state;
	struct wharf_buf tar, gz1, gz2, half1 = {0}, half2 = {0}, cat;
	base_tar(&tar);
	size_t mid = tar.len / 3;
	wharf_buf_append(&half1, tar.data, mid);
	wharf_buf_append(&half2, tar.data + mid, tar.len - mid);
	gzip_buf(&half1, &gz1);
	gzip_buf(&half2, &gz2);
	wharf_buf_init(&cat);
	wharf_buf_append(&cat, gz1.data, gz1.len);
	wharf_buf_append(&cat, gz2.data, gz2.len);
	struct wharf_layer_analysis a;
	struct wharf_error err = {0};
	assert_int_equal(scan_mem(&cat, NULL, NULL, NULL, &a, &err), 0);
	check_base_analysis(&a, &tar);
	wharf_layer_analysis_free(&a);
	/* Garbage after the last member is refused. */
	wharf_buf_append(&cat, "junk", 4);
	assert_wharf_err(scan_mem(&cat, NULL, NULL, NULL, &a, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "trailing data");
	wharf_layer_analysis_free(&a);
	struct wharf_buf *bufs[] = {&tar, &gz1, &gz2, &half1, &half2, &cat};
	for (size_t i = 0; i < 6; i++)
		wharf_buf_free(bufs[i]);
}

static void t_layer_wrong_digests(void **state)
{
	(void)state;
	struct wharf_buf tar, gz;
	base_tar(&tar);
	gzip_buf(&tar, &gz);
	const char *bogus = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	struct wharf_layer_analysis a;
	struct wharf_error err = {0};
	assert_wharf_err(scan_mem(&gz, bogus, NULL, NULL, &a, &err), err, WHARF_EDIGEST);
	assert_contains(err.message, bogus);
	wharf_layer_analysis_free(&a);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, gz.data, gz.len, &d);
	assert_wharf_err(scan_mem(&gz, d.str, bogus, NULL, &a, &err), err, WHARF_EDIGEST);
	assert_contains(err.message, "diff ID");
	assert_contains(err.message, d.str);
	wharf_layer_analysis_free(&a);
	wharf_buf_free(&tar);
	wharf_buf_free(&gz);
}

static void t_layer_corrupt_and_truncated(void **state)
{
	(void)state;
	struct wharf_buf tar, gz, zs;
	base_tar(&tar);
	gzip_buf(&tar, &gz);
	zstd_buf(&tar, &zs);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, gz.data, gz.len, &d);
	struct wharf_layer_analysis a;
	struct wharf_error err = {0};
	struct wharf_buf cut = gz;
	cut.len = gz.len / 2;
	assert_wharf_err(scan_mem(&cut, d.str, NULL, NULL, &a, &err), err, WHARF_EINVAL);
	assert_contains(err.message, d.str);
	assert_contains(err.message, "truncated gzip");
	wharf_layer_analysis_free(&a);
	gz.data[gz.len / 2] ^= 0x55;
	gz.data[gz.len / 2 + 1] ^= 0xaa;
	int r = scan_mem(&gz, d.str, NULL, NULL, &a, &err);
	assert_true(r < 0); /* corrupt data, a bad checksum or (at worst) a digest mismatch */
	assert_contains(err.message, d.str);
	wharf_layer_analysis_free(&a);
	cut = zs;
	cut.len = zs.len - 3;
	assert_wharf_err(scan_mem(&cut, NULL, NULL, NULL, &a, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "zstd");
	wharf_layer_analysis_free(&a);
	/* A plain stream that is not a tar at all. */
	struct wharf_buf junk = {0};
	wharf_buf_puts(&junk, "this is no tar archive, only words, not 512 bytes of header at all");
	assert_true(scan_mem(&junk, NULL, NULL, NULL, &a, &err) < 0);
	wharf_layer_analysis_free(&a);
	struct wharf_buf empty = {0};
	assert_true(scan_mem(&empty, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL, NULL, &a, &err) < 0);
	assert_contains(err.message, "e3b0c442");
	wharf_layer_analysis_free(&a);
	wharf_buf_free(&junk);
	wharf_buf_free(&tar);
	wharf_buf_free(&gz);
	wharf_buf_free(&zs);
}

static void t_layer_traversal_refused(void **state)
{
	(void)state;
	const struct tentry e[] = {{"ok.txt", "fine", NULL, -1}, {"a/../../etc/passwd", "root::0:0", NULL, -1}};
	struct wharf_buf tar;
	make_tar(e, 2, &tar);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, tar.data, tar.len, &d);
	struct wharf_layer_analysis a;
	struct wharf_error err = {0};
	assert_wharf_err(scan_mem(&tar, d.str, NULL, NULL, &a, &err), err, WHARF_EINVAL);
	assert_contains(err.message, d.str);
	assert_contains(err.message, "escapes the image root");
	wharf_layer_analysis_free(&a);
	wharf_buf_free(&tar);
	char out[64];
	assert_int_equal(wharf_scan_normalize_path("/./a//b/./c/", out, sizeof(out), &err), 0);
	assert_string_equal(out, "a/b/c");
	assert_wharf_err(wharf_scan_normalize_path("a/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", out, 16, &err),
			 err, WHARF_ETOOBIG);
}

static void t_layer_limits(void **state)
{
	(void)state;
	/* A gzip bomb in miniature: 64 MiB of zeros in one file, limited to 8 MiB. */
	size_t big = 64u << 20;
	char *zeros = wharf_xcalloc(1, big + 1);
	memset(zeros, 'A', big);
	const struct tentry e[] = {{"bomb", zeros, NULL, -1}};
	struct wharf_buf tar, gz;
	make_tar(e, 1, &tar);
	free(zeros);
	gzip_buf(&tar, &gz);
	struct wharf_scan_limits lim;
	wharf_scan_limits_default(&lim);
	lim.max_layer_bytes = 8u << 20;
	struct wharf_layer_analysis a;
	struct wharf_error err = {0};
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, gz.data, gz.len, &d);
	assert_wharf_err(scan_mem(&gz, d.str, NULL, &lim, &a, &err), err, WHARF_ETOOBIG);
	assert_contains(err.message, d.str);
	assert_contains(err.message, "bomb");
	wharf_layer_analysis_free(&a);
	/* The ratio guard alone (the floor is 1 GiB, so give it a lower ratio to meet). */
	wharf_scan_limits_default(&lim);
	wharf_buf_free(&tar);
	wharf_buf_free(&gz);
	/* Entry count. */
	struct tentry many[40];
	char names[40][16];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		many[i] = (struct tentry){names[i], "x", NULL, -1};
	}
	make_tar(many, 40, &tar);
	lim.max_entries = 30;
	assert_wharf_err(scan_mem(&tar, NULL, NULL, &lim, &a, &err), err, WHARF_ETOOBIG);
	assert_contains(err.message, "more than 30 tar entries");
	wharf_layer_analysis_free(&a);
	wharf_buf_free(&tar);
}

/* ---- merge and attribution ---- */

static void scan_layer_tar(const struct tentry *e, size_t n, struct wharf_layer_analysis *a)
{
	struct wharf_buf tar;
	make_tar(e, n, &tar);
	struct wharf_error err = {0};
	if (scan_mem(&tar, NULL, NULL, NULL, a, &err) < 0)
		fail_msg("%s", err.message);
	wharf_buf_free(&tar);
}

static void result_layers(struct wharf_scan_result *r, const struct wharf_layer_analysis *l, size_t n)
{
	r->nlayers = n;
	r->layers = wharf_xcalloc(n, sizeof(*r->layers));
	for (size_t i = 0; i < n; i++) {
		r->layers[i].digest = wharf_xstrdup(l[i].digest);
		r->layers[i].diffid = wharf_xstrdup(l[i].diffid);
	}
}

static const struct wharf_pkg *find_in(const struct wharf_scan_result *r, const char *name)
{
	return find_pkg(&r->pkgs, name);
}

static void t_merge_attribution(void **state)
{
	(void)state;
	static const char status_abc[] = "Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n"
					 "Package: b\nStatus: install ok installed\nVersion: 2.0\nArchitecture: amd64\n\n"
					 "Package: c\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n";
	static const char status_ac[] = "Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n"
					"Package: c\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n";
	const struct tentry l0[] = {{"usr/lib/os-release", os_deb, NULL, -1}, {"var/lib/dpkg/status", status_ab, NULL, -1}};
	const struct tentry l1[] = {{"var/lib/dpkg/status", status_abc, NULL, -1}};
	const struct tentry l2[] = {{"home/readme", "unrelated", NULL, -1}};
	const struct tentry l3[] = {{"var/lib/dpkg/status", status_ac, NULL, -1}};
	struct wharf_layer_analysis l[4];
	scan_layer_tar(l0, 2, &l[0]);
	scan_layer_tar(l1, 1, &l[1]);
	scan_layer_tar(l2, 1, &l[2]);
	scan_layer_tar(l3, 1, &l[3]);
	struct wharf_scan_result r = {0};
	result_layers(&r, l, 4);
	struct wharf_error err = {0};
	assert_int_equal(wharf_scan_merge(l, 4, &r, &err), 0);
	assert_string_equal(r.os.id, "debian");
	assert_false(r.os.distroless);
	assert_int_equal(r.pkgs.n, 2); /* b removed by layer 3 */
	assert_int_equal(find_in(&r, "a")->layer, 0); /* unchanged since the base */
	assert_int_equal(find_in(&r, "c")->layer, 1); /* installed by layer 1 */
	assert_string_equal(find_in(&r, "c")->layer_digest, l[1].digest);
	assert_string_equal(find_in(&r, "c")->layer_diffid, l[1].diffid);
	assert_string_equal(find_in(&r, "a")->purl, "pkg:deb/debian/a@1.0?arch=amd64&distro=debian-12");
	wharf_scan_result_free(&r);
	for (int i = 0; i < 4; i++)
		wharf_layer_analysis_free(&l[i]);

	/* An upgrade in a later layer is that layer's. */
	const struct tentry u1[] = {{"var/lib/dpkg/status", status_abc, NULL, -1}};
	scan_layer_tar(l0, 2, &l[0]);
	scan_layer_tar(u1, 1, &l[1]);
	memset(&r, 0, sizeof(r));
	result_layers(&r, l, 2);
	assert_int_equal(wharf_scan_merge(l, 2, &r, &err), 0);
	assert_int_equal(find_in(&r, "a")->layer, 0);
	assert_int_equal(find_in(&r, "b")->layer, 1); /* 1.0 in layer 0, 2.0 from layer 1 */
	assert_string_equal(find_in(&r, "b")->version, "2.0");
	wharf_scan_result_free(&r);
	for (int i = 0; i < 2; i++)
		wharf_layer_analysis_free(&l[i]);
}

static void t_merge_whiteouts_distroless(void **state)
{
	(void)state;
	static const char p_x[] = "Package: x\nVersion: 1\nArchitecture: amd64\n";
	static const char p_y[] = "Package: y\nVersion: 1\nArchitecture: amd64\n";
	static const char p_z[] = "Package: z\nVersion: 1\nArchitecture: amd64\n";
	const struct tentry l0[] = {{"var/lib/dpkg/status.d/x", p_x, NULL, -1},
				    {"var/lib/dpkg/status.d/y", p_y, NULL, -1},
				    {"var/lib/dpkg/status.d/y.md5sums", "d41d8cd98f00b204e9800998ecf8427e  a\n", NULL, -1},
				    {"etc/os-release", os_deb, NULL, -1}};
	const struct tentry l1[] = {{"var/lib/dpkg/status.d/.wh.x", "", NULL, -1}};
	const struct tentry l2[] = {{"var/lib/dpkg/status.d/x", p_x, NULL, -1}};
	struct wharf_layer_analysis l[4];
	scan_layer_tar(l0, 4, &l[0]);
	scan_layer_tar(l1, 1, &l[1]);
	scan_layer_tar(l2, 1, &l[2]);
	struct wharf_scan_result r = {0};
	result_layers(&r, l, 3);
	struct wharf_error err = {0};
	assert_int_equal(wharf_scan_merge(l, 3, &r, &err), 0);
	assert_true(r.os.distroless);
	assert_int_equal(r.pkgs.n, 2);
	assert_int_equal(find_in(&r, "x")->layer, 2); /* deleted by layer 1, back in layer 2 */
	assert_int_equal(find_in(&r, "y")->layer, 0);
	wharf_scan_result_free(&r);
	/* Only layer 1's whiteout: x is gone. */
	memset(&r, 0, sizeof(r));
	result_layers(&r, l, 2);
	assert_int_equal(wharf_scan_merge(l, 2, &r, &err), 0);
	assert_int_equal(r.pkgs.n, 1);
	assert_null(find_in(&r, "x"));
	wharf_scan_result_free(&r);
	/* An opaque status.d in layer 3 hides everything below, keeps its own z. */
	const struct tentry l3[] = {{"var/lib/dpkg/status.d/.wh..wh..opq", "", NULL, -1},
				    {"var/lib/dpkg/status.d/z", p_z, NULL, -1}};
	scan_layer_tar(l3, 2, &l[3]);
	memset(&r, 0, sizeof(r));
	result_layers(&r, l, 4);
	assert_int_equal(wharf_scan_merge(l, 4, &r, &err), 0);
	assert_int_equal(r.pkgs.n, 1);
	assert_int_equal(find_in(&r, "z")->layer, 3);
	wharf_scan_result_free(&r);
	/* A symlink where the status file was: the lower database is gone. */
	for (int i = 0; i < 4; i++)
		wharf_layer_analysis_free(&l[i]);
	const struct tentry s1[] = {{"var/lib/dpkg/status.d/x", NULL, "/dev/null", -1},
				    {"etc/os-release", NULL, "../usr/lib/os-release", -1},
				    {"usr/lib/os-release", "ID=ubuntu\nVERSION_ID=22.04\n", NULL, -1}};
	scan_layer_tar(l0, 4, &l[0]);
	scan_layer_tar(s1, 3, &l[1]);
	scan_layer_tar(s1, 0, &l[2]);
	scan_layer_tar(s1, 0, &l[3]);
	memset(&r, 0, sizeof(r));
	result_layers(&r, l, 2);
	assert_int_equal(wharf_scan_merge(l, 2, &r, &err), 0);
	assert_int_equal(r.pkgs.n, 1);
	assert_non_null(find_in(&r, "y"));
	assert_string_equal(r.os.id, "ubuntu"); /* etc/os-release now points to layer 1's file */
	assert_string_equal(find_in(&r, "y")->ecosystem, WHARF_ECO_UBUNTU);
	wharf_scan_result_free(&r);
	/* A whiteout of a parent directory deletes what is below it. */
	for (int i = 0; i < 4; i++)
		wharf_layer_analysis_free(&l[i]);
	const struct tentry w1[] = {{"var/lib/.wh.dpkg", "", NULL, -1}};
	scan_layer_tar(l0, 4, &l[0]);
	scan_layer_tar(w1, 1, &l[1]);
	memset(&r, 0, sizeof(r));
	result_layers(&r, l, 2);
	assert_int_equal(wharf_scan_merge(l, 2, &r, &err), 0);
	assert_int_equal(r.pkgs.n, 0);
	assert_false(r.os.distroless);
	wharf_scan_result_free(&r);
	for (int i = 0; i < 2; i++)
		wharf_layer_analysis_free(&l[i]);
}

/* Many files and packages (node_modules-sized): the merge stays n log n. */
static void t_merge_scales(void **state)
{
	(void)state;
	enum { N = 30000 };
	struct wharf_layer_analysis l[2];
	memset(l, 0, sizeof(l));
	for (int L = 0; L < 2; L++) {
		l[L].digest = wharf_xasprintf("sha256:%064d", L);
		l[L].diffid = wharf_xstrdup(l[L].digest);
		for (int i = 0; i < N; i++) {
			char *path = wharf_xasprintf("app/node_modules/m%d/package.json", (i * 7919) % N);
			wharf_strv_push(&l[L].files, path);
			struct wharf_pkg *p = wharf_pkg_list_add(&l[L].pkgs);
			p->ecosystem = wharf_xstrdup(WHARF_ECO_NPM);
			p->name = wharf_xasprintf("m%d", (i * 7919) % N);
			p->version = wharf_xstrdup(L == 1 && (i * 7919) % N < 10 ? "2.0.0" : "1.0.0");
			p->path = path;
		}
	}
	struct wharf_scan_result r = {0};
	result_layers(&r, l, 2);
	struct wharf_error err = {0};
	uint64_t t0 = wharf_monotonic_us();
	assert_int_equal(wharf_scan_merge(l, 2, &r, &err), 0);
	uint64_t took = wharf_monotonic_us() - t0;
	assert_int_equal(r.pkgs.n, N);
	size_t upgraded = 0;
	for (size_t i = 0; i < r.pkgs.n; i++)
		upgraded += r.pkgs.v[i].layer == 1;
	assert_int_equal(upgraded, 10);
	if (took > 2000000)
		fail_msg("merging %d packages took %llu us", N, (unsigned long long)took);
	wharf_scan_result_free(&r);
	wharf_layer_analysis_free(&l[0]);
	wharf_layer_analysis_free(&l[1]);
}

static void t_cache_roundtrip(void **state)
{
	(void)state;
	char *dir = test_mkdtemp();
	struct wharf_buf tar;
	base_tar(&tar);
	struct wharf_layer_analysis a, b;
	struct wharf_error err = {0};
	assert_int_equal(scan_mem(&tar, NULL, NULL, NULL, &a, &err), 0);
	wharf_buf_free(&tar);
	memset(&b, 0, sizeof(b));
	assert_wharf_err(wharf_scan_cache_load(dir, a.digest, &b, &err), err, WHARF_ENOTFOUND);
	assert_int_equal(wharf_scan_cache_store(dir, &a, &err), 0);
	assert_int_equal(wharf_scan_cache_load(dir, a.digest, &b, &err), 0);
	_cleanup_free_ char *ja = wharf_layer_analysis_to_json(&a);
	_cleanup_free_ char *jb = wharf_layer_analysis_to_json(&b);
	assert_string_equal(ja, jb);
	wharf_layer_analysis_free(&b);
	/* A damaged entry is a miss, not an error. */
	assert_true(test_count_entries(dir) == 1);
	DIR *dh = opendir(dir);
	struct dirent *de;
	while ((de = readdir(dh)))
		if (de->d_name[0] != '.') {
			_cleanup_free_ char *p = wharf_xasprintf("%s/%s", dir, de->d_name);
			test_write_file(p, "{\"analyzer\":", 12);
		}
	closedir(dh);
	assert_wharf_err(wharf_scan_cache_load(dir, a.digest, &b, &err), err, WHARF_ENOTFOUND);
	wharf_layer_analysis_free(&a);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_dpkg_real_status),
		cmocka_unit_test(t_dpkg_only_installed),
		cmocka_unit_test(t_apk),
		cmocka_unit_test(t_os_release),
		cmocka_unit_test(t_rpm_sqlite),
		cmocka_unit_test(t_rpm_bdb),
		cmocka_unit_test(t_rpm_ndb),
		cmocka_unit_test(t_rpm_header_bounds),
		cmocka_unit_test(t_layer_codecs),
		cmocka_unit_test(t_layer_multimember_gzip),
		cmocka_unit_test(t_layer_wrong_digests),
		cmocka_unit_test(t_layer_corrupt_and_truncated),
		cmocka_unit_test(t_layer_traversal_refused),
		cmocka_unit_test(t_layer_limits),
		cmocka_unit_test(t_merge_attribution),
		cmocka_unit_test(t_merge_whiteouts_distroless),
		cmocka_unit_test(t_merge_scales),
		cmocka_unit_test(t_cache_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
