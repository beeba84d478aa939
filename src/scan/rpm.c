/* rpm databases: the header blob format (parsed here, every offset bounds-checked) inside its
 * three containers: sqlite (rpmdb.sqlite, rpm >= 4.16), Berkeley DB hash (Packages) and ndb
 * (Packages.db, SUSE). The whole database is in memory: sqlite reads it through
 * sqlite3_deserialize, nothing is written to disk. */
#include <string.h>

#include <sqlite3.h>

#include "scan-internal.h"

#define RPM_MAX_PKGS 200000
#define RPM_MAX_INDEX 0x10000u
#define RPM_MAX_DATA (256u << 20)

enum { TAG_NAME = 1000, TAG_VERSION = 1001, TAG_RELEASE = 1002, TAG_EPOCH = 1003, TAG_ARCH = 1022,
       TAG_SOURCERPM = 1044 };
enum { TYPE_INT32 = 4, TYPE_STRING = 6, TYPE_I18NSTRING = 9 };

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

struct rpm_fields {
	const char *name, *version, *release, *arch, *sourcerpm;
	uint32_t epoch;
	bool has_epoch;
};

/* A string in the data store: NUL-terminated before the store ends. */
static const char *store_string(const unsigned char *store, uint32_t dl, uint32_t off)
{
	if (off >= dl || !memchr(store + off, 0, dl - off))
		return NULL;
	return (const char *)store + off;
}

static int header_fields(const char *path, const unsigned char *d, size_t len, struct rpm_fields *f,
			 struct wharf_error *err)
{
	if (len < 8)
		return wharf_error_set(err, WHARF_EINVAL, "%s: rpm header shorter than 8 bytes", path);
	uint32_t il = be32(d), dl = be32(d + 4);
	if (il == 0 || il > RPM_MAX_INDEX || dl > RPM_MAX_DATA)
		return wharf_error_set(err, WHARF_EINVAL, "%s: rpm header with %u entries and %u data bytes", path, il, dl);
	uint64_t need = 8 + (uint64_t)il * 16 + dl;
	if (need > len)
		return wharf_error_set(err, WHARF_EINVAL, "%s: rpm header needs %llu bytes, has %zu", path,
				       (unsigned long long)need, len);
	const unsigned char *store = d + 8 + (size_t)il * 16;
	memset(f, 0, sizeof(*f));
	for (uint32_t i = 0; i < il; i++) {
		const unsigned char *e = d + 8 + (size_t)i * 16;
		uint32_t tag = be32(e), type = be32(e + 4), off = be32(e + 8), count = be32(e + 12);
		const char **slot = NULL;
		switch (tag) {
		case TAG_NAME: slot = &f->name; break;
		case TAG_VERSION: slot = &f->version; break;
		case TAG_RELEASE: slot = &f->release; break;
		case TAG_ARCH: slot = &f->arch; break;
		case TAG_SOURCERPM: slot = &f->sourcerpm; break;
		case TAG_EPOCH:
			if (type == TYPE_INT32 && count >= 1 && off <= dl && dl - off >= 4) {
				f->epoch = be32(store + off);
				f->has_epoch = true;
			}
			continue;
		default: continue;
		}
		if (type != TYPE_STRING && type != TYPE_I18NSTRING)
			continue;
		*slot = store_string(store, dl, off);
	}
	if (!f->name || !f->version)
		return wharf_error_set(err, WHARF_EINVAL, "%s: rpm header without NAME or VERSION", path);
	return 0;
}

/* "bash-5.1.8-6.el9.src.rpm" -> name "bash", version "5.1.8-6.el9". */
static bool split_srpm(const char *srpm, char **name, char **ver)
{
	size_t n = strlen(srpm);
	if (n > 8 && !strcmp(srpm + n - 8, ".src.rpm"))
		n -= 8;
	else if (n > 10 && !strcmp(srpm + n - 10, ".nosrc.rpm"))
		n -= 10;
	else
		return false;
	const char *rel = memrchr(srpm, '-', n);
	if (!rel || rel == srpm)
		return false;
	const char *ver_dash = memrchr(srpm, '-', (size_t)(rel - srpm));
	if (!ver_dash || ver_dash == srpm)
		return false;
	*name = wharf_xstrndup(srpm, (size_t)(ver_dash - srpm));
	*ver = wharf_xstrndup(ver_dash + 1, n - (size_t)(ver_dash - srpm) - 1);
	return true;
}

int wharf_rpm_header_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			   struct wharf_error *err)
{
	struct rpm_fields f;
	if (header_fields(path, data, len, &f, err) < 0)
		return -err->code;
	if (!strcmp(f.name, "gpg-pubkey"))
		return 0; /* an imported signing key, not software */
	if (out->n >= RPM_MAX_PKGS)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %d packages", path, RPM_MAX_PKGS);
	struct wharf_pkg *k = wharf_pkg_list_add(out);
	k->ecosystem = wharf_xstrdup(WHARF_ECO_RPM);
	k->name = wharf_xstrdup(f.name);
	char epoch[16] = "";
	if (f.has_epoch && f.epoch)
		snprintf(epoch, sizeof(epoch), "%u:", f.epoch);
	k->version = f.release ? wharf_xasprintf("%s%s-%s", epoch, f.version, f.release)
			       : wharf_xasprintf("%s%s", epoch, f.version);
	if (f.arch)
		k->arch = wharf_xstrdup(f.arch);
	k->path = wharf_xstrdup(path);
	char *sn = NULL, *sv = NULL;
	if (f.sourcerpm && split_srpm(f.sourcerpm, &sn, &sv)) {
		char *full = wharf_xasprintf("%s%s", epoch, sv);
		free(sv);
		if (strcmp(sn, k->name))
			k->source_name = sn;
		else
			free(sn);
		if (strcmp(full, k->version))
			k->source_version = full;
		else
			free(full);
	}
	return 0;
}

/* ---- sqlite: table Packages(hnum, blob) ---- */

int wharf_rpmdb_sqlite_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			     struct wharf_error *err)
{
	if (len < 100 || memcmp(data, "SQLite format 3", 16) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not an SQLite database", path);
	/* Our own copy: sqlite may keep pointers, and a WAL-mode file must read as rollback mode
	 * (bytes 18-19), since there is no -wal file beside it in memory. */
	unsigned char *copy = sqlite3_malloc64(len);
	if (!copy)
		return wharf_error_set(err, WHARF_EINTERNAL, "%s: out of memory", path);
	memcpy(copy, data, len);
	copy[18] = copy[19] = 1;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_free(copy);
		sqlite3_close(db);
		return wharf_error_set(err, WHARF_EINTERNAL, "%s: cannot open sqlite", path);
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	int rc = sqlite3_deserialize(db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
				     SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
	sqlite3_stmt *st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT blob FROM Packages", -1, &st, NULL);
	int r = 0;
	if (rc != SQLITE_OK)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: no rpm Packages table (%s)", path, sqlite3_errmsg(db));
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *b = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (b && n > 0)
			r = wharf_rpm_header_parse(path, b, (size_t)n, out, err);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: corrupt sqlite database (%s)", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* ---- Berkeley DB hash: values are header blobs, mostly on overflow pages ---- */

#define BDB_HASH_MAGIC 0x061561u
#define BDB_PAGE_HDR 26
enum { P_HASH_UNSORTED = 2, P_OVERFLOW = 7, P_HASH = 13 };
enum { H_KEYDATA = 1, H_OFFPAGE = 3 };

struct bdb {
	const unsigned char *d;
	size_t len;
	uint32_t pagesize, npages;
	bool swap;
};

static uint32_t bdb32(const struct bdb *b, const unsigned char *p)
{
	return b->swap ? be32(p) : le32(p);
}

static uint16_t bdb16(const struct bdb *b, const unsigned char *p)
{
	return b->swap ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* Follow an overflow chain of tlen bytes from page pgno into buf. */
static int bdb_overflow(const struct bdb *b, uint32_t pgno, uint32_t tlen, struct wharf_buf *buf, const char *path,
			struct wharf_error *err)
{
	buf->len = 0;
	uint32_t hops = 0;
	while (buf->len < tlen) {
		if (pgno == 0 || pgno >= b->npages || ++hops > b->npages)
			return wharf_error_set(err, WHARF_EINVAL, "%s: broken overflow chain", path);
		const unsigned char *pg = b->d + (size_t)pgno * b->pagesize;
		if (pg[25] != P_OVERFLOW)
			return wharf_error_set(err, WHARF_EINVAL, "%s: page %u is not an overflow page", path, pgno);
		uint32_t n = bdb16(b, pg + 22);
		if (n > b->pagesize - BDB_PAGE_HDR || n > tlen - buf->len)
			return wharf_error_set(err, WHARF_EINVAL, "%s: overflow page %u claims %u bytes", path, pgno, n);
		wharf_buf_append(buf, pg + BDB_PAGE_HDR, n);
		pgno = bdb32(b, pg + 16);
		if (n == 0 && buf->len < tlen)
			return wharf_error_set(err, WHARF_EINVAL, "%s: empty overflow page %u", path, pgno);
	}
	return 0;
}

static int bdb_page(const struct bdb *b, uint32_t pgno, struct wharf_buf *buf, const char *path,
		    struct wharf_pkg_list *out, struct wharf_error *err)
{
	const unsigned char *pg = b->d + (size_t)pgno * b->pagesize;
	if (pg[25] != P_HASH && pg[25] != P_HASH_UNSORTED)
		return 0;
	uint32_t entries = bdb16(b, pg + 20);
	if (BDB_PAGE_HDR + (size_t)entries * 2 > b->pagesize)
		return wharf_error_set(err, WHARF_EINVAL, "%s: hash page %u claims %u entries", path, pgno, entries);
	for (uint32_t i = 1; i < entries; i += 2) { /* key, value, key, value... */
		uint32_t off = bdb16(b, pg + BDB_PAGE_HDR + i * 2);
		uint32_t prev = bdb16(b, pg + BDB_PAGE_HDR + (i - 1) * 2);
		if (off >= b->pagesize || prev > b->pagesize || off + 12 > b->pagesize)
			continue;
		const unsigned char *item = pg + off;
		if (item[0] == H_OFFPAGE) {
			uint32_t opg = bdb32(b, item + 4), tlen = bdb32(b, item + 8);
			if (tlen > RPM_MAX_DATA)
				return wharf_error_set(err, WHARF_EINVAL, "%s: value of %u bytes", path, tlen);
			if (bdb_overflow(b, opg, tlen, buf, path, err) < 0)
				return -err->code;
			if (wharf_rpm_header_parse(path, (const unsigned char *)buf->data, buf->len, out, err) < 0)
				return -err->code;
		} else if (item[0] == H_KEYDATA && prev > off + 1 + 8) {
			/* Small values live on the page; a 4-byte one is rpm's package counter. */
			if (wharf_rpm_header_parse(path, item + 1, prev - off - 1, out, err) < 0)
				return -err->code;
		}
	}
	return 0;
}

int wharf_rpmdb_bdb_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			  struct wharf_error *err)
{
	struct bdb b = {.d = data, .len = len};
	if (len < 512)
		return wharf_error_set(err, WHARF_EINVAL, "%s: too short for a Berkeley DB", path);
	if (le32(data + 12) == BDB_HASH_MAGIC)
		b.swap = false;
	else if (be32(data + 12) == BDB_HASH_MAGIC)
		b.swap = true;
	else
		return wharf_error_set(err, WHARF_EINVAL, "%s: not a Berkeley DB hash database", path);
	b.pagesize = bdb32(&b, data + 20);
	if (b.pagesize < 512 || b.pagesize > 65536 || (b.pagesize & (b.pagesize - 1)))
		return wharf_error_set(err, WHARF_EINVAL, "%s: page size %u", path, b.pagesize);
	if (data[24] != 0)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "%s: encrypted Berkeley DB", path);
	b.npages = (uint32_t)(len / b.pagesize);
	struct wharf_buf buf;
	wharf_buf_init(&buf);
	int r = 0;
	for (uint32_t p = 1; r == 0 && p < b.npages; p++)
		r = bdb_page(&b, p, &buf, path, out, err);
	wharf_buf_free(&buf);
	return r;
}

/* ---- ndb (rpm's own format): header, slot pages, 16-byte blocks holding blobs ---- */

#define NDB_MAGIC ('R' | 'p' << 8 | 'm' << 16 | (uint32_t)'P' << 24)
#define NDB_SLOT_MAGIC ('S' | 'l' << 8 | 'o' << 16 | (uint32_t)'t' << 24)
#define NDB_BLOB_MAGIC ('B' | 'l' << 8 | 'b' << 16 | (uint32_t)'S' << 24)
#define NDB_PAGE 4096u
#define NDB_HDR 32u

int wharf_rpmdb_ndb_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			  struct wharf_error *err)
{
	if (len < NDB_HDR || le32(data) != NDB_MAGIC)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not an rpm ndb database", path);
	uint32_t slotpages = le32(data + 12);
	if (slotpages == 0 || (uint64_t)slotpages * NDB_PAGE > len)
		return wharf_error_set(err, WHARF_EINVAL, "%s: %u slot pages do not fit in %zu bytes", path, slotpages, len);
	size_t nslots = ((size_t)slotpages * NDB_PAGE - NDB_HDR) / 16;
	for (size_t i = 0; i < nslots; i++) {
		const unsigned char *s = data + NDB_HDR + i * 16;
		if (le32(s) != NDB_SLOT_MAGIC || le32(s + 4) == 0)
			continue;
		uint64_t off = (uint64_t)le32(s + 8) * 16;
		if (off + 16 > len)
			return wharf_error_set(err, WHARF_EINVAL, "%s: slot %zu points past the end", path, i);
		const unsigned char *bh = data + off;
		uint32_t blen = le32(bh + 12);
		if (le32(bh) != NDB_BLOB_MAGIC || le32(bh + 4) != le32(s + 4) || blen > len - off - 16)
			return wharf_error_set(err, WHARF_EINVAL, "%s: slot %zu has a bad blob header", path, i);
		if (wharf_rpm_header_parse(path, bh + 16, blen, out, err) < 0)
			return -err->code;
	}
	return 0;
}
