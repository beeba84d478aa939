/* The vulnerability database file: schema, import transactions, opening for matching, status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS sources(format TEXT PRIMARY KEY, imported_at INTEGER NOT NULL,"
	"  files INTEGER NOT NULL, records INTEGER NOT NULL);"
	/* What a source says about a vulnerability: text, severity, CVSS. */
	"CREATE TABLE IF NOT EXISTS vulns(id TEXT NOT NULL, source TEXT NOT NULL, title TEXT, description TEXT,"
	"  severity TEXT, cvss_score REAL, cvss_vector TEXT, primary_url TEXT, PRIMARY KEY(id, source)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS aliases(id TEXT NOT NULL, alias TEXT NOT NULL, PRIMARY KEY(id, alias)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS aliases_alias ON aliases(alias);"
	/* Distribution advisories by source package and release; fixed NULL: no fix yet. */
	"CREATE TABLE IF NOT EXISTS distro_adv(distro TEXT NOT NULL, release TEXT NOT NULL, pkg TEXT NOT NULL,"
	"  vuln TEXT NOT NULL, fixed TEXT, status TEXT NOT NULL, severity TEXT,"
	"  PRIMARY KEY(distro, release, pkg, vuln)) WITHOUT ROWID;"
	/* OSV affected[] entries: ranges and versions as JSON arrays. */
	"CREATE TABLE IF NOT EXISTS osv_affected(vuln TEXT NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL,"
	"  ranges TEXT NOT NULL, versions TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS osv_pkg ON osv_affected(ecosystem, name);"
	"CREATE INDEX IF NOT EXISTS osv_vuln ON osv_affected(vuln);";

static const char *const stmt_sql[ST__COUNT] = {
	[ST_PUT_VULN] = "INSERT OR REPLACE INTO vulns VALUES(?,?,?,?,?,?,?,?)",
	[ST_PUT_ALIAS] = "INSERT OR IGNORE INTO aliases VALUES(?,?)",
	[ST_DEL_ALIASES] = "DELETE FROM aliases WHERE id=?",
	[ST_PUT_DISTRO] = "INSERT OR REPLACE INTO distro_adv VALUES(?,?,?,?,?,?,?)",
	[ST_DEL_DISTRO] = "DELETE FROM distro_adv WHERE distro=? AND release=? AND pkg=? AND vuln=?",
	[ST_PUT_OSV] = "INSERT INTO osv_affected VALUES(?,?,?,?,?)",
	[ST_DEL_OSV] = "DELETE FROM osv_affected WHERE vuln=?",
};

int vulndb_sqlite_error(struct wharf_error *err, sqlite3 *db, const char *what)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;
	return wharf_error_set(err, code == SQLITE_BUSY ? WHARF_EBUSY : WHARF_EIO, "vulnerability database: %s: %s",
			       what, db ? sqlite3_errmsg(db) : "out of memory");
}

int vulndb_exec(sqlite3 *db, const char *sql, struct wharf_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(db) == SQLITE_BUSY ? WHARF_EBUSY : WHARF_EIO;
		int r = wharf_error_set(err, code, "vulnerability database: %.50s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

char *wharf_vulndb_default_path(const char *home)
{
	return wharf_xasprintf("%s/vulndb.sqlite", home);
}

static void writer_free(struct vulndb_writer *w)
{
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(w->st[i]);
	sqlite3_close_v2(w->db);
	free(w);
}

static int check_schema_version(sqlite3 *db, const char *path, bool allow_new, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &st, NULL) != SQLITE_OK) {
		/* A new database may be created only where nothing else lives. */
		if (allow_new && sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master", -1, &st, NULL) == SQLITE_OK) {
			int rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc == SQLITE_DONE)
				return 0;
		}
		return wharf_error_set(err, WHARF_EINVAL, "%s is not a wharf vulnerability database", path);
	}
	int r = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		int v = sqlite3_column_int(st, 0);
		if (v != VULNDB_SCHEMA_VERSION)
			r = wharf_error_set(err, WHARF_EINVAL, "%s has schema version %d, this wharf reads %d: import again into a new file",
					    path, v, VULNDB_SCHEMA_VERSION);
	} else if (!allow_new) {
		r = wharf_error_set(err, WHARF_EINVAL, "%s is not a wharf vulnerability database (no schema version)", path);
	}
	sqlite3_finalize(st);
	return r;
}

int vulndb_writer_open(struct vulndb_writer **out, const char *path, struct wharf_error *err)
{
	struct vulndb_writer *w = wharf_xcalloc(1, sizeof(*w));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &w->db, flags, NULL) != SQLITE_OK) {
		int r = vulndb_sqlite_error(err, w->db, path);
		writer_free(w);
		return r;
	}
	sqlite3_busy_timeout(w->db, 15000);
	int r = vulndb_exec(w->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; BEGIN IMMEDIATE", err);
	if (r == 0)
		r = check_schema_version(w->db, path, true, err);
	if (r == 0)
		r = vulndb_exec(w->db, schema_sql, err);
	if (r == 0) {
		char sql[128];
		snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO meta VALUES('schema_version','%d')", VULNDB_SCHEMA_VERSION);
		r = vulndb_exec(w->db, sql, err);
	}
	for (int i = 0; r == 0 && i < ST__COUNT; i++)
		if (sqlite3_prepare_v2(w->db, stmt_sql[i], -1, &w->st[i], NULL) != SQLITE_OK)
			r = vulndb_sqlite_error(err, w->db, stmt_sql[i]);
	if (r < 0) {
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		writer_free(w);
		return r;
	}
	*out = w;
	return 0;
}

void vulndb_writer_abort(struct vulndb_writer *w)
{
	if (!w)
		return;
	sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	writer_free(w);
}

static int set_meta(sqlite3 *db, const char *key, const char *value, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES(?,?)", -1, &st, NULL) != SQLITE_OK)
		return vulndb_sqlite_error(err, db, "meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : vulndb_sqlite_error(err, db, "meta");
	sqlite3_finalize(st);
	return r;
}

static int record_source(struct vulndb_writer *w, const char *format, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO sources VALUES(?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		return vulndb_sqlite_error(err, w->db, "sources");
	sqlite3_bind_text(st, 1, format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, wharf_now());
	sqlite3_bind_int64(st, 3, (sqlite3_int64)w->stats.files);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)w->stats.advisories);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : vulndb_sqlite_error(err, w->db, "sources");
	sqlite3_finalize(st);
	return r;
}

int vulndb_writer_commit(struct vulndb_writer *w, const char *format, struct wharf_error *err)
{
	char gen[33], now[32];
	int r = wharf_random_hex(gen, 16, err);
	snprintf(now, sizeof(now), "%lld", (long long)wharf_now());
	if (r == 0)
		r = record_source(w, format, err);
	if (r == 0)
		r = set_meta(w->db, "generation", gen, err);
	if (r == 0)
		r = set_meta(w->db, "built_at", now, err);
	if (r == 0)
		r = vulndb_exec(w->db, "COMMIT", err);
	if (r < 0) {
		vulndb_writer_abort(w);
		return r;
	}
	writer_free(w);
	return 0;
}

/* ---- rows ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int run(struct vulndb_writer *w, enum vulndb_stmt which, struct wharf_error *err)
{
	sqlite3_stmt *st = w->st[which];
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return vulndb_sqlite_error(err, w->db, stmt_sql[which]);
	return 0;
}

int vulndb_put_vuln(struct vulndb_writer *w, const struct vulndb_vuln *v, struct wharf_error *err)
{
	sqlite3_stmt *st = w->st[ST_PUT_VULN];
	bind_text(st, 1, v->id);
	bind_text(st, 2, v->source);
	bind_text(st, 3, v->title);
	bind_text(st, 4, v->description);
	bind_text(st, 5, v->severity);
	if (v->cvss_score > 0)
		sqlite3_bind_double(st, 6, v->cvss_score);
	else
		sqlite3_bind_null(st, 6);
	bind_text(st, 7, v->cvss_vector);
	bind_text(st, 8, v->primary_url);
	return run(w, ST_PUT_VULN, err);
}

int vulndb_put_alias(struct vulndb_writer *w, const char *id, const char *alias, struct wharf_error *err)
{
	bind_text(w->st[ST_PUT_ALIAS], 1, id);
	bind_text(w->st[ST_PUT_ALIAS], 2, alias);
	return run(w, ST_PUT_ALIAS, err);
}

int vulndb_del_aliases(struct vulndb_writer *w, const char *id, struct wharf_error *err)
{
	bind_text(w->st[ST_DEL_ALIASES], 1, id);
	return run(w, ST_DEL_ALIASES, err);
}

int vulndb_put_distro(struct vulndb_writer *w, const char *distro, const char *release, const char *pkg,
		      const char *vuln, const char *fixed, const char *status, const char *severity,
		      struct wharf_error *err)
{
	sqlite3_stmt *st = w->st[ST_PUT_DISTRO];
	const char *v[] = {distro, release, pkg, vuln, fixed, status, severity};
	for (int i = 0; i < 7; i++)
		bind_text(st, i + 1, v[i]);
	return run(w, ST_PUT_DISTRO, err);
}

int vulndb_del_distro(struct vulndb_writer *w, const char *distro, const char *release, const char *pkg,
		      const char *vuln, struct wharf_error *err)
{
	sqlite3_stmt *st = w->st[ST_DEL_DISTRO];
	const char *v[] = {distro, release, pkg, vuln};
	for (int i = 0; i < 4; i++)
		bind_text(st, i + 1, v[i]);
	return run(w, ST_DEL_DISTRO, err);
}

int vulndb_put_osv(struct vulndb_writer *w, const char *vuln, const char *ecosystem, const char *name,
		   const char *ranges, const char *versions, struct wharf_error *err)
{
	sqlite3_stmt *st = w->st[ST_PUT_OSV];
	const char *v[] = {vuln, ecosystem, name, ranges, versions};
	for (int i = 0; i < 5; i++)
		bind_text(st, i + 1, v[i]);
	return run(w, ST_PUT_OSV, err);
}

int vulndb_del_osv(struct vulndb_writer *w, const char *vuln, struct wharf_error *err)
{
	bind_text(w->st[ST_DEL_OSV], 1, vuln);
	return run(w, ST_DEL_OSV, err);
}

/* ---- reading ---- */

int wharf_vulndb_open(struct wharf_vulndb **out, const char *path, struct wharf_error *err)
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return wharf_error_set(err, WHARF_ENOTFOUND,
					       "vulnerability database %s does not exist: run `wharf db import` first", path);
		return wharf_error_sys(err, "vulnerability database %s", path);
	}
	struct wharf_vulndb *db = wharf_xcalloc(1, sizeof(*db));
	db->path = wharf_xstrdup(path);
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		int r = vulndb_sqlite_error(err, db->db, path);
		wharf_vulndb_close(db);
		return r;
	}
	sqlite3_busy_timeout(db->db, 15000);
	/* One read transaction for the handle's life: its generation and its matches come from
	 * the same snapshot even while an import commits. */
	int r = vulndb_exec(db->db, "BEGIN", err);
	if (r == 0)
		r = check_schema_version(db->db, path, false, err);
	if (r < 0) {
		wharf_vulndb_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void wharf_vulndb_close(struct wharf_vulndb *db)
{
	if (!db)
		return;
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(db->q[i]);
	sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close_v2(db->db);
	free(db->path);
	free(db);
}

static int meta_value(sqlite3 *db, const char *key, char **out, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL) != SQLITE_OK)
		return vulndb_sqlite_error(err, db, "meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	*out = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = wharf_xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return 0;
}

int wharf_vulndb_generation(struct wharf_vulndb *db, char **out, struct wharf_error *err)
{
	int r = meta_value(db->db, "generation", out, err);
	if (r == 0 && !*out)
		*out = wharf_xstrdup("");
	return r;
}

/* ---- status ---- */

static int query_into(sqlite3 *db, const char *sql, json_t *arr, const char *const *cols, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return vulndb_sqlite_error(err, db, sql);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; cols[i]; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				json_object_set_new(o, cols[i], json_integer(sqlite3_column_int64(st, i)));
			else if (sqlite3_column_type(st, i) == SQLITE_NULL)
				json_object_set_new(o, cols[i], json_null());
			else
				json_object_set_new(o, cols[i], json_string((const char *)sqlite3_column_text(st, i)));
		}
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return vulndb_sqlite_error(err, db, sql);
	return 0;
}

int wharf_vulndb_status_json(const char *db_path, char **out, struct wharf_error *err)
{
	struct wharf_vulndb *db = NULL;
	int r = wharf_vulndb_open(&db, db_path, err);
	if (r < 0)
		return r;
	json_t *root = json_object();
	json_t *sources = json_array(), *ecos = json_array();
	static const char *const src_cols[] = {"format", "imported_at", "files", "records", NULL};
	static const char *const eco_cols[] = {"source", "ecosystem", "advisories", "packages", NULL};
	r = query_into(db->db, "SELECT format, imported_at, files, records FROM sources ORDER BY format", sources, src_cols,
		       err);
	if (r == 0)
		r = query_into(db->db,
			       "SELECT 'osv', ecosystem, COUNT(DISTINCT vuln), COUNT(DISTINCT name) FROM osv_affected GROUP BY ecosystem "
			       "UNION ALL SELECT distro, distro || ':' || release, COUNT(DISTINCT vuln), COUNT(DISTINCT pkg) "
			       "FROM distro_adv GROUP BY distro, release ORDER BY 1, 2",
			       ecos, eco_cols, err);
	json_t *nvd = json_array();
	static const char *const n_cols[] = {"source", "vulnerabilities", NULL};
	if (r == 0)
		r = query_into(db->db, "SELECT source, COUNT(*) FROM vulns GROUP BY source ORDER BY source", nvd, n_cols, err);
	char *gen = NULL, *built = NULL;
	if (r == 0)
		r = meta_value(db->db, "generation", &gen, err);
	if (r == 0)
		r = meta_value(db->db, "built_at", &built, err);
	if (r == 0) {
		json_object_set_new(root, "path", json_string(db_path));
		json_object_set_new(root, "schema_version", json_integer(VULNDB_SCHEMA_VERSION));
		json_object_set_new(root, "generation", json_string(gen ? gen : ""));
		json_object_set_new(root, "built_at", json_integer(built ? strtoll(built, NULL, 10) : 0));
		json_object_set_new(root, "sources", sources);
		json_object_set_new(root, "ecosystems", ecos);
		json_object_set_new(root, "vulnerability_records", nvd);
		*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	} else {
		json_decref(sources);
		json_decref(ecos);
		json_decref(nvd);
	}
	free(gen);
	free(built);
	json_decref(root);
	wharf_vulndb_close(db);
	return r;
}
