#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Keys made within one second must still sort by age. */
static int64_t now_micros(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int take_blob(sqlite3_stmt *st, int col, char **data, size_t *len)
{
	int n = sqlite3_column_bytes(st, col);
	const void *p = sqlite3_column_blob(st, col);
	*data = wharf_xmalloc((size_t)n + 1);
	if (n)
		memcpy(*data, p, (size_t)n);
	(*data)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

int wharf_meta_tuf_get(struct wharf_meta *m, const char *gun, const char *role, int64_t version,
		       const char *sha256hex, char **data, size_t *len, int64_t *out_version,
		       struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	const char *sql = sha256hex ? "SELECT data, version FROM tuf_files WHERE gun = ?1 AND role = ?2 AND sha256 = ?3"
		: version ? "SELECT data, version FROM tuf_files WHERE gun = ?1 AND role = ?2 AND version = ?4"
			  : "SELECT data, version FROM tuf_files WHERE gun = ?1 AND role = ?2 ORDER BY version DESC LIMIT 1";
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, sql, err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, gun);
	meta_bind_text(st, 2, role);
	if (sha256hex)
		meta_bind_text(st, 3, sha256hex);
	else if (version)
		sqlite3_bind_int64(st, 4, version);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no %s metadata%s", gun, role,
				       sha256hex ? " with that checksum" : version ? " of that version" : "");
	if (rc != SQLITE_ROW)
		return meta_db_error(err, c->db, "read trust metadata");
	if (out_version)
		*out_version = sqlite3_column_int64(st, 1);
	return take_blob(st, 0, data, len);
}

static int insert_file(struct conn *c, const char *gun, const struct wharf_meta_tuf_file *f,
		       struct wharf_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"INSERT INTO tuf_files(gun, role, version, sha256, data, created) VALUES(?, ?, ?, ?, ?, ?)", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, gun);
	meta_bind_text(st, 2, f->role);
	sqlite3_bind_int64(st, 3, f->version);
	meta_bind_text(st, 4, f->sha256);
	sqlite3_bind_blob(st, 5, f->data, (int)f->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, wharf_now());
	int rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT)
		return wharf_error_set(err, WHARF_EEXIST, "%s %s version %lld is already stored", gun, f->role,
				       (long long)f->version);
	return rc == SQLITE_DONE ? 0 : meta_db_error(err, c->db, "store trust metadata");
}

int wharf_meta_tuf_store(struct wharf_meta *m, const char *gun, const struct wharf_meta_tuf_file *files,
			 size_t n, const char *category, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int r = meta_tx_begin(c, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = insert_file(c, gun, &files[i], err);
	/* The changefeed records the timestamp's version and checksum, as Notary's does. */
	const struct wharf_meta_tuf_file *ts = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i].role, "timestamp"))
			ts = &files[i];
	if (r == 0)
		r = meta_run(c, "INSERT INTO tuf_changes(gun, version, sha256, category, created) VALUES(?, ?, ?, ?, ?)",
			     err, "sissi", gun, ts ? ts->version : 0, ts ? ts->sha256 : "", category, wharf_now());
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

int wharf_meta_tuf_delete(struct wharf_meta *m, const char *gun, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int r = meta_tx_begin(c, err);
	if (r == 0)
		r = meta_run(c, "DELETE FROM tuf_files WHERE gun = ?", err, "s", gun);
	if (r == 0)
		r = meta_run(c, "DELETE FROM tuf_keys WHERE gun = ?", err, "s", gun);
	if (r == 0)
		r = meta_run(c, "DELETE FROM tuf_pending WHERE gun = ?", err, "s", gun);
	if (r == 0)
		r = meta_run(c, "INSERT INTO tuf_changes(gun, version, sha256, category, created) VALUES(?, 0, '', 'deletion', ?)",
			     err, "si", gun, wharf_now());
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

int wharf_meta_tuf_key_get(struct wharf_meta *m, const char *gun, const char *role, const char *keyid,
			   char **public_json, char **private_pem, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT public, private_pem FROM tuf_keys WHERE gun = ?1 AND role = ?2 AND (?3 IS NULL OR keyid = ?3) "
		"ORDER BY created DESC LIMIT 1", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, gun);
	meta_bind_text(st, 2, role);
	meta_bind_text(st, 3, keyid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no server-held %s key", gun, role);
	if (rc != SQLITE_ROW)
		return meta_db_error(err, c->db, "read trust key");
	*public_json = wharf_xstrdup((const char *)sqlite3_column_text(st, 0));
	if (private_pem)
		*private_pem = wharf_xstrdup((const char *)sqlite3_column_text(st, 1));
	return 0;
}

int wharf_meta_tuf_key_put(struct wharf_meta *m, const char *gun, const char *role, const char *keyid,
			   const char *public_json, const char *private_pem, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	return meta_run(c, "INSERT INTO tuf_keys(gun, role, keyid, public, private_pem, created) VALUES(?, ?, ?, ?, ?, ?)",
			err, "sssssi", gun, role, keyid, public_json, private_pem, now_micros());
}

int wharf_meta_tuf_roles(struct wharf_meta *m, const char *gun, struct wharf_strv *out, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, "SELECT DISTINCT role FROM tuf_files WHERE gun = ? ORDER BY role", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, gun);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		wharf_strv_push(out, (const char *)sqlite3_column_text(st, 0));
	return rc == SQLITE_DONE ? 0 : meta_db_error(err, c->db, "list roles");
}

int wharf_meta_tuf_changes(struct wharf_meta *m, const char *gun, int64_t after, int64_t n,
			   struct wharf_buf *json, size_t *count, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT id, gun, version, sha256, category, created FROM tuf_changes "
		"WHERE id > ?1 AND (?2 IS NULL OR gun = ?2) ORDER BY id LIMIT ?3", err);
	if (!st)
		return -WHARF_EIO;
	sqlite3_bind_int64(st, 1, after);
	meta_bind_text(st, 2, gun);
	sqlite3_bind_int64(st, 3, n);
	int rc;
	*count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((*count)++)
			wharf_buf_puts(json, ",");
		char when[32];
		time_t t = (time_t)sqlite3_column_int64(st, 5);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		wharf_buf_printf(json, "{\"ID\":\"%lld\",\"CreatedAt\":\"%s\",\"GUN\":", (long long)sqlite3_column_int64(st, 0), when);
		wharf_buf_json_string(json, (const char *)sqlite3_column_text(st, 1));
		wharf_buf_printf(json, ",\"Version\":%lld,\"SHA256\":", (long long)sqlite3_column_int64(st, 2));
		wharf_buf_json_string(json, (const char *)sqlite3_column_text(st, 3));
		wharf_buf_puts(json, ",\"Category\":");
		wharf_buf_json_string(json, (const char *)sqlite3_column_text(st, 4));
		wharf_buf_puts(json, "}");
	}
	return rc == SQLITE_DONE ? 0 : meta_db_error(err, c->db, "read changefeed");
}

int wharf_meta_tuf_guns_of(struct wharf_meta *m, const char *repo, struct wharf_strv *out, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	/* A host has no '/', so "HOST/repo" is a GUN of repo exactly when what precedes "/repo"
	 * holds no '/'. */
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT DISTINCT gun FROM tuf_files WHERE role = 'targets' AND (gun = ?1 OR "
		"(substr(gun, -length(?1) - 1) = '/' || ?1 AND instr(substr(gun, 1, length(gun) - length(?1) - 1), '/') = 0))",
		err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, repo);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		wharf_strv_push(out, (const char *)sqlite3_column_text(st, 0));
	return rc == SQLITE_DONE ? 0 : meta_db_error(err, c->db, "find GUNs of a repository");
}

void wharf_meta_tuf_pending_clear(struct wharf_meta_tuf_pending *p)
{
	free(p->role);
	free(p->data);
	free(p->proposer);
	free(p->state);
	memset(p, 0, sizeof(*p));
}

int wharf_meta_tuf_pending_add(struct wharf_meta *m, const char *gun, const struct wharf_meta_tuf_pending *p,
			       int64_t *id, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"INSERT INTO tuf_pending(gun, role, version, data, proposer, state, created, updated) "
		"VALUES(?, ?, ?, ?, ?, 'pending', ?, ?)", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, gun);
	meta_bind_text(st, 2, p->role);
	sqlite3_bind_int64(st, 3, p->version);
	sqlite3_bind_blob(st, 4, p->data, (int)p->len, SQLITE_STATIC);
	meta_bind_text(st, 5, p->proposer);
	sqlite3_bind_int64(st, 6, wharf_now());
	sqlite3_bind_int64(st, 7, wharf_now());
	if (sqlite3_step(st) != SQLITE_DONE)
		return meta_db_error(err, c->db, "store a pending trust change");
	*id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int wharf_meta_tuf_pending_update(struct wharf_meta *m, const char *gun, int64_t id, const char *data, size_t len,
				  const char *state, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"UPDATE tuf_pending SET data = ?1, state = ?2, updated = ?3 WHERE gun = ?4 AND id = ?5", err);
	if (!st)
		return -WHARF_EIO;
	sqlite3_bind_blob(st, 1, data, (int)len, SQLITE_STATIC);
	meta_bind_text(st, 2, state);
	sqlite3_bind_int64(st, 3, wharf_now());
	meta_bind_text(st, 4, gun);
	sqlite3_bind_int64(st, 5, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return meta_db_error(err, c->db, "update a pending trust change");
	if (sqlite3_changes(c->db) == 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no pending change %lld", gun, (long long)id);
	return 0;
}

int wharf_meta_tuf_pending_list(struct wharf_meta *m, const char *gun, int64_t id, const char *state,
				struct wharf_meta_tuf_pending **out, size_t *n, struct wharf_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT id, role, version, data, proposer, state, created, updated FROM tuf_pending "
		"WHERE gun = ?1 AND (?2 = 0 OR id = ?2) AND (?3 IS NULL OR state = ?3) ORDER BY id LIMIT 1000", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, gun);
	sqlite3_bind_int64(st, 2, id);
	meta_bind_text(st, 3, state);
	int rc;
	struct wharf_meta_tuf_pending *v = NULL;
	size_t count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = wharf_xrealloc(v, (count + 1) * sizeof(*v));
		struct wharf_meta_tuf_pending *p = &v[count++];
		p->id = sqlite3_column_int64(st, 0);
		p->role = wharf_xstrdup((const char *)sqlite3_column_text(st, 1));
		p->version = sqlite3_column_int64(st, 2);
		take_blob(st, 3, &p->data, &p->len);
		p->proposer = wharf_xstrdup((const char *)sqlite3_column_text(st, 4));
		p->state = wharf_xstrdup((const char *)sqlite3_column_text(st, 5));
		p->created = sqlite3_column_int64(st, 6);
		p->updated = sqlite3_column_int64(st, 7);
	}
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < count; i++)
			wharf_meta_tuf_pending_clear(&v[i]);
		free(v);
		return meta_db_error(err, c->db, "list pending trust changes");
	}
	if (id && !count)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no pending change %lld", gun, (long long)id);
	*out = v;
	*n = count;
	return 0;
}
