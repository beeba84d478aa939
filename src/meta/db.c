#include <stdio.h>
#include <pthread.h>
#include <string.h>

#include <sqlite3.h>

#include "internal.h"

int meta_db_error(struct wharf_error *err, sqlite3 *db, const char *what)
{
	int code = sqlite3_errcode(db);
	return wharf_error_set(err, code == SQLITE_BUSY ? WHARF_EBUSY : WHARF_EIO, "metadata database: %s: %s",
			       what, sqlite3_errmsg(db));
}

static int conn_exec(struct conn *c, const char *sql, struct wharf_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int r = wharf_error_set(err, WHARF_EIO, "metadata database: %.60s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	for (size_t i = 0; i < c->nslots; i++)
		sqlite3_finalize(c->slots[i].st);
	sqlite3_close_v2(c->db);
	free(c);
}

static struct conn *conn_open(struct wharf_meta *m, struct wharf_error *err)
{
	struct conn *c = wharf_xcalloc(1, sizeof(*c));
	c->meta = m;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(m->path, &c->db, flags, NULL) != SQLITE_OK) {
		meta_db_error(err, c->db, m->path);
		conn_close(c);
		return NULL;
	}
	sqlite3_busy_timeout(c->db, 15000);
	/* WAL: readers run beside the writer. synchronous=FULL: an acknowledged commit survives
	 * power loss, not only a crash of the process. */
	if (conn_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;", err) < 0) {
		conn_close(c);
		return NULL;
	}
	return c;
}

struct conn *meta_conn_get(struct wharf_meta *m, struct wharf_error *err)
{
	pthread_mutex_lock(&m->lock);
	struct conn *c = m->idle;
	if (c)
		m->idle = c->next;
	pthread_mutex_unlock(&m->lock);
	return c ? c : conn_open(m, err);
}

void meta_conn_put(struct conn *c)
{
	if (!c)
		return;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	struct wharf_meta *m = c->meta;
	pthread_mutex_lock(&m->lock);
	c->next = m->idle;
	m->idle = c;
	pthread_mutex_unlock(&m->lock);
}

void meta_conn_putp(struct conn **c)
{
	meta_conn_put(*c);
}

void meta_stmt_resetp(sqlite3_stmt **st)
{
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
}

sqlite3_stmt *meta_prep(struct conn *c, const char *sql, struct wharf_error *err)
{
	for (size_t i = 0; i < c->nslots; i++)
		if (c->slots[i].sql == sql)
			return c->slots[i].st;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		meta_db_error(err, c->db, "prepare");
		return NULL;
	}
	if (c->nslots < sizeof(c->slots) / sizeof(*c->slots)) {
		c->slots[c->nslots].sql = sql;
		c->slots[c->nslots].st = st;
		c->nslots++;
	} else {
		abort(); /* more distinct statements than slots: raise the limit */
	}
	return st;
}

void meta_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Run a statement that returns no rows. */
int meta_run(struct conn *c, const char *sql, struct wharf_error *err, const char *fmt, ...)
{
	sqlite3_stmt *st = meta_prep(c, sql, err);
	if (!st)
		return -WHARF_EIO;
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			meta_bind_text(st, i + 1, va_arg(ap, const char *));
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	int rc = sqlite3_step(st);
	int r = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : meta_db_error(err, c->db, sql);
	meta_stmt_resetp(&st);
	return r;
}

int meta_tx_begin(struct conn *c, struct wharf_error *err)
{
	return meta_run(c, "BEGIN IMMEDIATE", err, "");
}

int meta_tx_commit(struct conn *c, struct wharf_error *err)
{
	return meta_run(c, "COMMIT", err, "");
}

static int migrate(struct conn *c, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return meta_db_error(err, c->db, "read schema version");
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (version > wharf_meta_schema_version)
		return wharf_error_set(err, WHARF_EUNSUPPORTED,
				       "metadata database has schema version %d; this wharfd knows up to %d",
				       version, wharf_meta_schema_version);
	for (int v = version; v < wharf_meta_schema_version; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d;", v + 1);
		int r = conn_exec(c, "BEGIN IMMEDIATE", err);
		if (r == 0)
			r = conn_exec(c, wharf_meta_schema[v], err);
		if (r == 0)
			r = conn_exec(c, pragma, err);
		if (r == 0)
			r = conn_exec(c, "COMMIT", err);
		if (r < 0) {
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	return 0;
}

/* SQLite's memory statistics take a global mutex on every allocation; nothing reads them. */
static pthread_once_t sqlite_config_once = PTHREAD_ONCE_INIT;

static void configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int wharf_meta_open(struct wharf_meta **out, const char *path, struct wharf_error *err)
{
	pthread_once(&sqlite_config_once, configure_sqlite);
	struct wharf_meta *m = wharf_xcalloc(1, sizeof(*m));
	m->path = wharf_xstrdup(path);
	pthread_mutex_init(&m->lock, NULL);
	struct conn *c = conn_open(m, err);
	int r = c ? migrate(c, err) : -WHARF_EIO;
	if (r < 0) {
		if (c)
			conn_close(c);
		wharf_meta_close(m);
		return r;
	}
	meta_conn_put(c);
	*out = m;
	return 0;
}

void wharf_meta_close(struct wharf_meta *m)
{
	if (!m)
		return;
	while (m->idle) {
		struct conn *c = m->idle;
		m->idle = c->next;
		conn_close(c);
	}
	pthread_mutex_destroy(&m->lock);
	free(m->path);
	free(m);
}

