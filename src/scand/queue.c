/* The persistent scan queue: one SQLite file (<data>/scan.db) of its own, so the scanner's
 * writes never contend with the registry's metadata transactions and the file can be dropped
 * to rescan everything. One connection, serialized by q->lock. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS scan_jobs ("
	" digest TEXT PRIMARY KEY, repo TEXT NOT NULL, state INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0, enqueued_at INTEGER NOT NULL, started_at INTEGER,"
	" scanned_at INTEGER, generation TEXT, report TEXT, error TEXT,"
	" c_unknown INTEGER NOT NULL DEFAULT 0, c_low INTEGER NOT NULL DEFAULT 0,"
	" c_medium INTEGER NOT NULL DEFAULT 0, c_high INTEGER NOT NULL DEFAULT 0,"
	" c_critical INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS scan_jobs_queue ON scan_jobs(state, enqueued_at);"
	"PRAGMA user_version=1;";

const char *wharf_scand_state_name(enum wharf_scand_state s)
{
	switch (s) {
	case WHARF_SCAND_QUEUED: return "queued";
	case WHARF_SCAND_RUNNING: return "running";
	case WHARF_SCAND_DONE: return "done";
	case WHARF_SCAND_FAILED: return "failed";
	default: return "unknown";
	}
}

static int db_error(struct wharf_scand *q, struct wharf_error *err, const char *what)
{
	int code = sqlite3_errcode(q->db);
	return wharf_error_set(err, code == SQLITE_BUSY ? WHARF_EBUSY : WHARF_EIO, "scan queue %s/scan.db: %s: %s",
			       q->data_dir, what, sqlite3_errmsg(q->db));
}

static int exec_sql(struct wharf_scand *q, const char *sql, struct wharf_error *err)
{
	if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(q, err, "statement");
	return 0;
}

/* Prepare sql; on failure fill err. */
static sqlite3_stmt *prepare(struct wharf_scand *q, const char *sql, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(q, err, "prepare");
		return NULL;
	}
	return st;
}

/* Run a statement with text parameters to its end; returns the changed rows or an error. */
static int run_text(struct wharf_scand *q, const char *sql, const char *const *args, size_t nargs,
		    struct wharf_error *err)
{
	sqlite3_stmt *st = prepare(q, sql, err);
	if (!st)
		return -WHARF_EIO;
	for (size_t i = 0; i < nargs; i++)
		sqlite3_bind_text(st, (int)i + 1, args[i], -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_DONE ? sqlite3_changes(q->db) : db_error(q, err, "step");
	sqlite3_finalize(st);
	return r;
}

/* A killed process leaves jobs running: give them back to the queue, unless they have
 * crashed it too often (then the image is probably what kills it). */
static int recover_running(struct wharf_scand *q, struct wharf_error *err)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "UPDATE scan_jobs SET state=%d, error='the scan was interrupted %d times (server stopped or crashed)'"
		 " WHERE state=%d AND attempts>=%d;"
		 "UPDATE scan_jobs SET state=%d WHERE state=%d;",
		 WHARF_SCAND_FAILED, WHARF_SCAND_MAX_ATTEMPTS, WHARF_SCAND_RUNNING, WHARF_SCAND_MAX_ATTEMPTS,
		 WHARF_SCAND_QUEUED, WHARF_SCAND_RUNNING);
	return exec_sql(q, sql, err);
}

static void scand_free(struct wharf_scand *q)
{
	if (q->db)
		sqlite3_close_v2(q->db);
	pthread_mutex_destroy(&q->lock);
	pthread_mutex_destroy(&q->wake_lock);
	pthread_cond_destroy(&q->wake);
	free(q->data_dir);
	free(q->vulndb_path);
	free(q->cache_dir);
	free(q->last_generation);
	free(q->threads);
	free(q);
}

int wharf_scand_open(struct wharf_scand **out, const struct wharf_scand_options *o, struct wharf_error *err)
{
	struct wharf_scand *q = wharf_xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	pthread_mutex_init(&q->wake_lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	q->data_dir = wharf_xstrdup(o->data_dir);
	q->vulndb_path = o->vulndb_path ? wharf_xstrdup(o->vulndb_path) : wharf_xasprintf("%s/vulndb.sqlite", o->data_dir);
	q->cache_dir = wharf_xasprintf("%s/scan-cache", o->data_dir);
	q->nworkers = o->workers;
	q->poll_ms = o->poll_ms ? o->poll_ms : 2000;
	q->store = o->store;
	_cleanup_free_ char *path = wharf_xasprintf("%s/scan.db", o->data_dir);
	int r = wharf_mkdir_p(q->cache_dir, 0700, err);
	if (r == 0 && sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				      NULL) != SQLITE_OK)
		r = db_error(q, err, "open");
	if (r == 0) {
		sqlite3_busy_timeout(q->db, 15000);
		r = exec_sql(q, schema, err);
	}
	if (r == 0)
		r = recover_running(q, err);
	if (r < 0) {
		scand_free(q);
		return r;
	}
	*out = q;
	return 0;
}

void wharf_scand_close(struct wharf_scand *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->wake_lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->wake_lock);
	for (size_t i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	/* A job a worker abandoned mid-scan stays "running" until recover_running at the next
	 * open; put it back now, so an orderly stop costs no attempt. */
	pthread_mutex_lock(&q->lock);
	char sql[128];
	snprintf(sql, sizeof(sql), "UPDATE scan_jobs SET state=%d, attempts=MAX(attempts-1,0) WHERE state=%d;",
		 WHARF_SCAND_QUEUED, WHARF_SCAND_RUNNING);
	sqlite3_exec(q->db, sql, NULL, NULL, NULL);
	pthread_mutex_unlock(&q->lock);
	scand_free(q);
}

static void wake_workers(struct wharf_scand *q)
{
	pthread_mutex_lock(&q->wake_lock);
	q->work_pending = true;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->wake_lock);
}

int wharf_scand_enqueue(struct wharf_scand *q, const char *digest, const char *repo, struct wharf_error *err)
{
	char sql[320];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO scan_jobs(digest, repo, state, enqueued_at) VALUES(?1, ?2, %d, %lld)"
		 " ON CONFLICT(digest) DO UPDATE SET state=%d, attempts=0, error=NULL, enqueued_at=excluded.enqueued_at"
		 " WHERE state=%d",
		 WHARF_SCAND_QUEUED, (long long)wharf_now(), WHARF_SCAND_QUEUED, WHARF_SCAND_FAILED);
	const char *args[] = {digest, repo};
	pthread_mutex_lock(&q->lock);
	int r = run_text(q, sql, args, 2, err);
	pthread_mutex_unlock(&q->lock);
	if (r < 0)
		return r;
	if (r > 0) {
		wharf_log(WHARF_LOG_INFO, "scan queued: %s (%s)", digest, repo);
		wake_workers(q);
	}
	return 0;
}

int wharf_scand_requeue_stale(struct wharf_scand *q, const char *generation, struct wharf_error *err)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "UPDATE scan_jobs SET state=%d, enqueued_at=%lld WHERE state=%d AND generation IS NOT ?1",
		 WHARF_SCAND_QUEUED, (long long)wharf_now(), WHARF_SCAND_DONE);
	const char *args[] = {generation};
	pthread_mutex_lock(&q->lock);
	int r = run_text(q, sql, args, 1, err);
	pthread_mutex_unlock(&q->lock);
	if (r > 0) {
		wharf_log(WHARF_LOG_INFO, "vulnerability database generation %s: %d images queued for a rescan",
			  generation[0] ? generation : "(none)", r);
		wake_workers(q);
	}
	return r;
}

/* Pick the oldest queued job and mark it running, in one transaction. */
int queue_claim(struct wharf_scand *q, struct claimed_job *job, struct wharf_error *err)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "UPDATE scan_jobs SET state=%d, attempts=attempts+1, started_at=%lld WHERE digest="
		 "(SELECT digest FROM scan_jobs WHERE state=%d ORDER BY enqueued_at, digest LIMIT 1)"
		 " RETURNING digest, repo",
		 WHARF_SCAND_RUNNING, (long long)wharf_now(), WHARF_SCAND_QUEUED);
	pthread_mutex_lock(&q->lock);
	int r = 0;
	sqlite3_stmt *st = prepare(q, sql, err);
	if (!st) {
		r = -WHARF_EIO;
	} else {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			job->digest = wharf_xstrdup((const char *)sqlite3_column_text(st, 0));
			job->repo = wharf_xstrdup((const char *)sqlite3_column_text(st, 1));
			r = 1;
			rc = sqlite3_step(st);
		}
		if (rc != SQLITE_DONE)
			r = db_error(q, err, "claim");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

int queue_finish(struct wharf_scand *q, const char *digest, const char *report, const char *generation,
		 const unsigned counts[5], struct wharf_error *err)
{
	char sql[400];
	snprintf(sql, sizeof(sql),
		 "UPDATE scan_jobs SET state=%d, report=?2, generation=?3, error=NULL, attempts=0, scanned_at=%lld,"
		 " c_unknown=%u, c_low=%u, c_medium=%u, c_high=%u, c_critical=%u WHERE digest=?1",
		 WHARF_SCAND_DONE, (long long)wharf_now(), counts[0], counts[1], counts[2], counts[3], counts[4]);
	const char *args[] = {digest, report, generation};
	pthread_mutex_lock(&q->lock);
	int r = run_text(q, sql, args, 3, err);
	pthread_mutex_unlock(&q->lock);
	return r < 0 ? r : 0;
}

int queue_fail(struct wharf_scand *q, const char *digest, const char *message, bool transient,
	       struct wharf_error *err)
{
	/* A transient failure (the database busy past its timeout) goes back to the queue until
	 * the job has used its attempts. */
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "UPDATE scan_jobs SET state=CASE WHEN %d AND attempts<%d THEN %d ELSE %d END, error=?2, scanned_at=%lld"
		 " WHERE digest=?1",
		 transient ? 1 : 0, WHARF_SCAND_MAX_ATTEMPTS, WHARF_SCAND_QUEUED, WHARF_SCAND_FAILED, (long long)wharf_now());
	const char *args[] = {digest, message};
	pthread_mutex_lock(&q->lock);
	int r = run_text(q, sql, args, 2, err);
	pthread_mutex_unlock(&q->lock);
	return r < 0 ? r : 0;
}

void wharf_scand_job_free(struct wharf_scand_job *j)
{
	free(j->report);
	free(j->generation);
	free(j->error);
	memset(j, 0, sizeof(*j));
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? wharf_xstrdup((const char *)t) : NULL;
}

static void job_from_row(sqlite3_stmt *st, bool with_report, struct wharf_scand_job *j)
{
	j->state = (enum wharf_scand_state)sqlite3_column_int(st, 0);
	j->attempts = (unsigned)sqlite3_column_int(st, 1);
	j->scanned_at = sqlite3_column_int64(st, 2);
	j->generation = column_dup(st, 3);
	j->has_result = sqlite3_column_int(st, 4) != 0;
	j->error = column_dup(st, 5);
	for (int i = 0; i < 5; i++)
		j->counts[i] = (unsigned)sqlite3_column_int(st, 6 + i);
	if (with_report)
		j->report = column_dup(st, 11);
}

int wharf_scand_get(struct wharf_scand *q, const char *digest, bool with_report, struct wharf_scand_job *j,
		    struct wharf_error *err)
{
	memset(j, 0, sizeof(*j));
	const char *sql = "SELECT state, attempts, scanned_at, generation, report IS NOT NULL, error,"
			  " c_unknown, c_low, c_medium, c_high, c_critical, report FROM scan_jobs WHERE digest=?1";
	pthread_mutex_lock(&q->lock);
	int r = 0;
	sqlite3_stmt *st = prepare(q, sql, err);
	if (!st) {
		r = -WHARF_EIO;
	} else {
		sqlite3_bind_text(st, 1, digest, -1, SQLITE_TRANSIENT);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			job_from_row(st, with_report, j);
		else if (rc != SQLITE_DONE)
			r = db_error(q, err, "lookup");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

int wharf_scand_counts(struct wharf_scand *q, unsigned counts[5], struct wharf_error *err)
{
	memset(counts, 0, 5 * sizeof(unsigned));
	pthread_mutex_lock(&q->lock);
	int r = 0;
	sqlite3_stmt *st = prepare(q, "SELECT state, COUNT(*) FROM scan_jobs GROUP BY state", err);
	if (!st) {
		r = -WHARF_EIO;
	} else {
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int s = sqlite3_column_int(st, 0);
			if (s >= 0 && s < 5)
				counts[s] = (unsigned)sqlite3_column_int(st, 1);
		}
		if (rc != SQLITE_DONE)
			r = db_error(q, err, "counts");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}
