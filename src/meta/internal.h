/* Shared inside the meta module: pooled SQLite connections with cached statements. */
#ifndef WHARF_META_INTERNAL_H
#define WHARF_META_INTERNAL_H

#include <pthread.h>

#include <sqlite3.h>

#include "wharf/meta.h"

struct stmt_slot {
	const char *sql; /* string literals: compared by address */
	sqlite3_stmt *st;
};

struct conn {
	struct wharf_meta *meta;
	sqlite3 *db;
	struct stmt_slot slots[64];
	size_t nslots;
	struct conn *next;
};

struct wharf_meta {
	char *path;
	pthread_mutex_t lock;
	struct conn *idle;
};

int meta_db_error(struct wharf_error *err, sqlite3 *db, const char *what);
/* A connection from the pool (opened on demand); give it back with meta_conn_put. */
struct conn *meta_conn_get(struct wharf_meta *m, struct wharf_error *err);
/* Rolls back an open transaction, then returns the connection to the pool. */
void meta_conn_put(struct conn *c);
void meta_conn_putp(struct conn **c);
void meta_stmt_resetp(sqlite3_stmt **st);
#define _cleanup_conn_ _cleanup_(meta_conn_putp)
#define _cleanup_stmt_ _cleanup_(meta_stmt_resetp)
/* A prepared statement cached on the connection; sql must be a string literal. */
sqlite3_stmt *meta_prep(struct conn *c, const char *sql, struct wharf_error *err);
void meta_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Run a statement that returns no rows; fmt has one letter per parameter: s text, i int64. */
int meta_run(struct conn *c, const char *sql, struct wharf_error *err, const char *fmt, ...);
int meta_tx_begin(struct conn *c, struct wharf_error *err);
int meta_tx_commit(struct conn *c, struct wharf_error *err);

#endif
