#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Find or create the repository row; call inside a write transaction. */
static int repo_ensure(struct conn *c, const char *repo, int64_t *id, struct wharf_error *err)
{
	int r = meta_run(c, "INSERT OR IGNORE INTO repos(name, created) VALUES(?, ?)", err, "si", repo, wharf_now());
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, "SELECT id FROM repos WHERE name = ?", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, repo);
	if (sqlite3_step(st) != SQLITE_ROW)
		return meta_db_error(err, c->db, "find repository");
	*id = sqlite3_column_int64(st, 0);
	return 0;
}

static int repo_find(struct conn *c, const char *repo, int64_t *id, struct wharf_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, "SELECT id FROM repos WHERE name = ?", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, repo);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return wharf_error_set(err, WHARF_ENOTFOUND, "repository %s is not known", repo);
	if (rc != SQLITE_ROW)
		return meta_db_error(err, c->db, "find repository");
	*id = sqlite3_column_int64(st, 0);
	return 0;
}

/* The size of a blob as seen in repo; WHARF_ENOTFOUND when the repository does not have it. */
static int blob_size_in_repo(struct conn *c, const char *repo, const char *digest, uint64_t *size,
			     struct wharf_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT b.size FROM repos r JOIN repo_blobs rb ON rb.repo_id = r.id "
		"JOIN blobs b ON b.digest = rb.digest WHERE r.name = ? AND rb.digest = ?", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, repo);
	meta_bind_text(st, 2, digest);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return wharf_error_set(err, WHARF_ENOTFOUND, "blob %s is not in repository %s", digest, repo);
	if (rc != SQLITE_ROW)
		return meta_db_error(err, c->db, "find blob");
	if (size)
		*size = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

int wharf_meta_blob_in_repo(struct wharf_meta *m, const char *repo, const char *digest,
			    uint64_t *size, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	return blob_size_in_repo(c, repo, digest, size, err);
}

static int link_blob(struct conn *c, int64_t repo_id, const char *digest, struct wharf_error *err)
{
	return meta_run(c, "INSERT OR IGNORE INTO repo_blobs(repo_id, digest) VALUES(?, ?)", err, "is", repo_id, digest);
}

static int upsert_blob(struct conn *c, const char *digest, uint64_t size, struct wharf_error *err)
{
	return meta_run(c, "INSERT INTO blobs(digest, size, last_used) VALUES(?, ?, ?) "
		      "ON CONFLICT(digest) DO UPDATE SET last_used = excluded.last_used",
		   err, "sii", digest, (int64_t)size, wharf_now());
}

int wharf_meta_blob_add(struct wharf_meta *m, const char *repo, const char *digest, uint64_t size,
			struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int64_t repo_id;
	int r = meta_tx_begin(c, err);
	if (r == 0)
		r = repo_ensure(c, repo, &repo_id, err);
	if (r == 0)
		r = upsert_blob(c, digest, size, err);
	if (r == 0)
		r = link_blob(c, repo_id, digest, err);
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

int wharf_meta_blob_mount(struct wharf_meta *m, const char *repo, const char *from, const char *digest,
			  uint64_t *size, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int64_t repo_id;
	int r = meta_tx_begin(c, err);
	if (r == 0)
		r = blob_size_in_repo(c, from, digest, size, err);
	if (r == 0)
		r = repo_ensure(c, repo, &repo_id, err);
	if (r == 0)
		r = link_blob(c, repo_id, digest, err);
	if (r == 0)
		r = meta_run(c, "UPDATE blobs SET last_used = ? WHERE digest = ?", err, "is", wharf_now(), digest);
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

static int changes_or_notfound(struct conn *c, struct wharf_error *err, const char *what,
			       const char *name, const char *repo)
{
	if (sqlite3_changes(c->db) == 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s %s is not in repository %s", what, name, repo);
	return 0;
}

int wharf_meta_blob_unlink(struct wharf_meta *m, const char *repo, const char *digest,
			   struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int r = meta_run(c, "DELETE FROM repo_blobs WHERE digest = ? AND repo_id = (SELECT id FROM repos WHERE name = ?)",
		    err, "ss", digest, repo);
	return r < 0 ? r : changes_or_notfound(c, err, "blob", digest, repo);
}

int wharf_meta_blob_touch(struct wharf_meta *m, const char *digest, int64_t min_age,
			  struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int64_t now = wharf_now();
	{
		_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, "SELECT last_used FROM blobs WHERE digest = ?", err);
		if (!st)
			return -WHARF_EIO;
		meta_bind_text(st, 1, digest);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) > now - min_age)
			return 0;
	}
	return meta_run(c, "UPDATE blobs SET last_used = ? WHERE digest = ?", err, "is", now, digest);
}

int wharf_meta_upload_add(struct wharf_meta *m, const char *repo, const char *id, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int64_t repo_id, now = wharf_now();
	int r = meta_tx_begin(c, err);
	if (r == 0)
		r = repo_ensure(c, repo, &repo_id, err);
	if (r == 0)
		r = meta_run(c, "INSERT INTO uploads(id, repo_id, started, updated, offset) VALUES(?, ?, ?, ?, 0)",
			err, "siii", id, repo_id, now, now);
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

int wharf_meta_upload_get(struct wharf_meta *m, const char *repo, const char *id, uint64_t *offset,
			  struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT u.offset FROM uploads u JOIN repos r ON r.id = u.repo_id WHERE u.id = ? AND r.name = ?", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, id);
	meta_bind_text(st, 2, repo);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return wharf_error_set(err, WHARF_ENOTFOUND, "upload %.40s is not an upload of repository %s", id, repo);
	if (rc != SQLITE_ROW)
		return meta_db_error(err, c->db, "find upload");
	*offset = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

int wharf_meta_upload_set_offset(struct wharf_meta *m, const char *id, uint64_t offset,
				 struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	/* An upload's offset need not survive power loss: the final digest check guards the bytes,
	 * and an offset that went back only makes the client resend. So this commit skips the WAL
	 * fsync (the next FULL commit carries it), which a chunked push pays once per PATCH. */
	int r = meta_run(c, "PRAGMA synchronous=NORMAL", err, "");
	if (r == 0)
		r = meta_run(c, "UPDATE uploads SET offset = ?, updated = ? WHERE id = ?", err, "iis", (int64_t)offset,
			     wharf_now(), id);
	int r2 = meta_run(c, "PRAGMA synchronous=FULL", err, "");
	return r < 0 ? r : r2;
}

int wharf_meta_upload_remove(struct wharf_meta *m, const char *id, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	return meta_run(c, "DELETE FROM uploads WHERE id = ?", err, "s", id);
}

static int check_refs(struct conn *c, int64_t repo_id, const struct wharf_manifest *man,
		      struct wharf_error *err)
{
	for (size_t i = 0; i < man->n_refs; i++) {
		const struct wharf_descriptor *d = &man->refs[i];
		if (d->kind == WHARF_REF_FOREIGN)
			continue;
		const char *sql = d->kind == WHARF_REF_MANIFEST
			? "SELECT size FROM manifests WHERE repo_id = ? AND digest = ?"
			: "SELECT b.size FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest "
			  "WHERE rb.repo_id = ? AND rb.digest = ?";
		_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, sql, err);
		if (!st)
			return -WHARF_EIO;
		sqlite3_bind_int64(st, 1, repo_id);
		meta_bind_text(st, 2, d->digest.str);
		int rc = sqlite3_step(st);
		const char *what = d->kind == WHARF_REF_MANIFEST ? "manifest" : "blob";
		if (rc == SQLITE_DONE)
			return wharf_error_set(err, WHARF_ENOTFOUND, "%s %s (reference %zu) is not in this repository",
					       what, d->digest.str, i);
		if (rc != SQLITE_ROW)
			return meta_db_error(err, c->db, "check reference");
		if ((uint64_t)sqlite3_column_int64(st, 0) != d->size)
			return wharf_error_set(err, WHARF_EINVAL,
					       "%s %s (reference %zu) has size %llu, but the manifest says %llu",
					       what, d->digest.str, i,
					       (unsigned long long)sqlite3_column_int64(st, 0),
					       (unsigned long long)d->size);
	}
	return 0;
}

static int insert_manifest(struct conn *c, int64_t repo_id, const char *digest, uint64_t size,
			   const struct wharf_manifest *man, struct wharf_error *err)
{
	int r = meta_run(c, "INSERT OR IGNORE INTO manifests(repo_id, digest, media_type, size, artifact_type, subject,"
		       " annotations, created) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
		    err, "ississsi", repo_id, digest, man->media_type, (int64_t)size, man->artifact_type,
		    man->has_subject ? man->subject.str : NULL, man->annotations_json, wharf_now());
	for (size_t i = 0; r == 0 && i < man->n_refs; i++)
		r = meta_run(c, "INSERT OR IGNORE INTO manifest_refs(repo_id, manifest, child) VALUES(?, ?, ?)", err,
			"iss", repo_id, digest, man->refs[i].digest.str);
	return r;
}

int wharf_meta_manifest_put(struct wharf_meta *m, const char *repo, const char *digest, uint64_t size,
			    const struct wharf_manifest *man, const char *tag, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int64_t repo_id;
	int r = meta_tx_begin(c, err);
	if (r == 0)
		r = repo_ensure(c, repo, &repo_id, err);
	if (r == 0)
		r = check_refs(c, repo_id, man, err);
	if (r == 0)
		r = upsert_blob(c, digest, size, err);
	if (r == 0)
		r = link_blob(c, repo_id, digest, err);
	if (r == 0)
		r = insert_manifest(c, repo_id, digest, size, man, err);
	if (r == 0 && tag)
		r = meta_run(c, "INSERT INTO tags(repo_id, name, digest, updated) VALUES(?, ?, ?, ?) "
			   "ON CONFLICT(repo_id, name) DO UPDATE SET digest = excluded.digest, updated = excluded.updated",
			err, "issi", repo_id, tag, digest, wharf_now());
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

int wharf_meta_manifest_get(struct wharf_meta *m, const char *repo, const char *reference,
			    struct wharf_meta_manifest *out, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	bool by_digest = wharf_oci_ref_is_digest(reference);
	const char *sql = by_digest
		? "SELECT m.digest, m.media_type, m.size FROM manifests m JOIN repos r ON r.id = m.repo_id "
		  "WHERE r.name = ? AND m.digest = ?"
		: "SELECT m.digest, m.media_type, m.size FROM repos r JOIN tags t ON t.repo_id = r.id "
		  "JOIN manifests m ON m.repo_id = r.id AND m.digest = t.digest WHERE r.name = ? AND t.name = ?";
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, sql, err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, repo);
	meta_bind_text(st, 2, reference);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return wharf_error_set(err, WHARF_ENOTFOUND, "manifest %s is not in repository %s", reference, repo);
	if (rc != SQLITE_ROW)
		return meta_db_error(err, c->db, "find manifest");
	snprintf(out->digest, sizeof(out->digest), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(out->media_type, sizeof(out->media_type), "%s", (const char *)sqlite3_column_text(st, 1));
	out->size = (uint64_t)sqlite3_column_int64(st, 2);
	return 0;
}

int wharf_meta_manifest_delete(struct wharf_meta *m, const char *repo, const char *digest,
			       struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int64_t repo_id;
	int r = meta_tx_begin(c, err);
	if (r == 0)
		r = repo_find(c, repo, &repo_id, err);
	if (r == 0)
		r = meta_run(c, "DELETE FROM manifests WHERE repo_id = ? AND digest = ?", err, "is", repo_id, digest);
	if (r == 0)
		r = changes_or_notfound(c, err, "manifest", digest, repo);
	if (r == 0)
		r = meta_run(c, "DELETE FROM tags WHERE repo_id = ? AND digest = ?", err, "is", repo_id, digest);
	if (r == 0)
		r = meta_run(c, "DELETE FROM manifest_refs WHERE repo_id = ? AND manifest = ?", err, "is", repo_id, digest);
	if (r == 0)
		r = meta_run(c, "DELETE FROM repo_blobs WHERE repo_id = ? AND digest = ?", err, "is", repo_id, digest);
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

int wharf_meta_tag_delete(struct wharf_meta *m, const char *repo, const char *tag, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int r = meta_run(c, "DELETE FROM tags WHERE name = ? AND repo_id = (SELECT id FROM repos WHERE name = ?)",
		    err, "ss", tag, repo);
	return r < 0 ? r : changes_or_notfound(c, err, "tag", tag, repo);
}

static int collect_names(sqlite3_stmt *st, struct conn *c, uint64_t n, struct wharf_strv *out, bool *more,
			 struct wharf_error *err)
{
	int rc;
	*more = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n && out->n == n) {
			*more = true;
			break;
		}
		wharf_strv_push(out, (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return meta_db_error(err, c->db, "list");
	return 0;
}

int wharf_meta_tags(struct wharf_meta *m, const char *repo, const char *last, uint64_t n,
		    struct wharf_strv *out, bool *more, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int64_t repo_id;
	int r = repo_find(c, repo, &repo_id, err);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT name FROM tags WHERE repo_id = ? AND name > ? ORDER BY name LIMIT ?", err);
	if (!st)
		return -WHARF_EIO;
	sqlite3_bind_int64(st, 1, repo_id);
	meta_bind_text(st, 2, last ? last : "");
	sqlite3_bind_int64(st, 3, n ? (int64_t)(n > INT64_MAX - 1 ? INT64_MAX - 1 : n) + 1 : -1);
	return collect_names(st, c, n, out, more, err);
}

int wharf_meta_catalog(struct wharf_meta *m, const char *last, uint64_t n, struct wharf_strv *out,
		       bool *more, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	/* A repository shows once something lives in it: a manifest or a blob. */
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT name FROM repos r WHERE name > ? AND (EXISTS(SELECT 1 FROM manifests m WHERE m.repo_id = r.id)"
		" OR EXISTS(SELECT 1 FROM repo_blobs b WHERE b.repo_id = r.id)) ORDER BY name LIMIT ?", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, last ? last : "");
	sqlite3_bind_int64(st, 2, n ? (int64_t)(n > INT64_MAX - 1 ? INT64_MAX - 1 : n) + 1 : -1);
	return collect_names(st, c, n, out, more, err);
}

static void append_descriptor(struct wharf_buf *json, sqlite3_stmt *st)
{
	if (json->len && json->data[json->len - 1] != '[')
		wharf_buf_puts(json, ",");
	wharf_buf_puts(json, "{\"mediaType\":");
	wharf_buf_json_string(json, (const char *)sqlite3_column_text(st, 1));
	wharf_buf_puts(json, ",\"digest\":");
	wharf_buf_json_string(json, (const char *)sqlite3_column_text(st, 0));
	wharf_buf_printf(json, ",\"size\":%lld", (long long)sqlite3_column_int64(st, 2));
	if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
		wharf_buf_puts(json, ",\"artifactType\":");
		wharf_buf_json_string(json, (const char *)sqlite3_column_text(st, 3));
	}
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		wharf_buf_puts(json, ",\"annotations\":");
		wharf_buf_puts(json, (const char *)sqlite3_column_text(st, 4)); /* stored as compact JSON */
	}
	wharf_buf_puts(json, "}");
}

int wharf_meta_referrers(struct wharf_meta *m, const char *repo, const char *subject,
			 const char *artifact_type, struct wharf_buf *json, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c,
		"SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations FROM manifests m "
		"JOIN repos r ON r.id = m.repo_id WHERE r.name = ? AND m.subject = ? "
		"AND (?3 IS NULL OR m.artifact_type = ?3) ORDER BY m.created, m.digest", err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, repo);
	meta_bind_text(st, 2, subject);
	meta_bind_text(st, 3, artifact_type);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		append_descriptor(json, st);
	return rc == SQLITE_DONE ? 0 : meta_db_error(err, c->db, "list referrers");
}

/* A blob is live when some manifest is it or references it. */
#define GC_CANDIDATE_WHERE                                                        \
	" b.last_used < ?1 AND NOT EXISTS(SELECT 1 FROM manifests m WHERE m.digest = b.digest)" \
	" AND NOT EXISTS(SELECT 1 FROM manifest_refs f WHERE f.child = b.digest)"

int wharf_meta_gc_candidates(struct wharf_meta *m, int64_t cutoff, struct wharf_strv *out,
			     struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, "SELECT b.digest FROM blobs b WHERE" GC_CANDIDATE_WHERE, err);
	if (!st)
		return -WHARF_EIO;
	sqlite3_bind_int64(st, 1, cutoff);
	bool more;
	return collect_names(st, c, 0, out, &more, err);
}

int wharf_meta_gc_remove_blob(struct wharf_meta *m, const char *digest, int64_t cutoff, bool *removed,
			      struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	int r = meta_tx_begin(c, err);
	if (r == 0)
		r = meta_run(c, "DELETE FROM blobs AS b WHERE b.digest = ?2 AND" GC_CANDIDATE_WHERE, err, "is",
			cutoff, digest);
	*removed = r == 0 && sqlite3_changes(c->db) > 0;
	if (r == 0 && *removed)
		r = meta_run(c, "DELETE FROM repo_blobs WHERE digest = ?", err, "s", digest);
	if (r == 0)
		r = meta_tx_commit(c, err);
	return r;
}

static int exists_query(struct wharf_meta *m, const char *sql, const char *key, bool *found,
			struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, sql, err);
	if (!st)
		return -WHARF_EIO;
	meta_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return meta_db_error(err, c->db, "lookup");
	*found = rc == SQLITE_ROW;
	return 0;
}

int wharf_meta_blob_known(struct wharf_meta *m, const char *digest, bool *known, struct wharf_error *err)
{
	return exists_query(m, "SELECT 1 FROM blobs WHERE digest = ?", digest, known, err);
}

int wharf_meta_upload_known(struct wharf_meta *m, const char *id, bool *known, struct wharf_error *err)
{
	return exists_query(m, "SELECT 1 FROM uploads WHERE id = ?", id, known, err);
}

int wharf_meta_stale_uploads(struct wharf_meta *m, int64_t cutoff, struct wharf_strv *out,
			     struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, "SELECT id FROM uploads WHERE updated < ?", err);
	if (!st)
		return -WHARF_EIO;
	sqlite3_bind_int64(st, 1, cutoff);
	bool more;
	return collect_names(st, c, 0, out, &more, err);
}

int wharf_meta_storage_bytes(struct wharf_meta *m, uint64_t *bytes, uint64_t *blobs, struct wharf_error *err)
{
	_cleanup_conn_ struct conn *c = meta_conn_get(m, err);
	if (!c)
		return -WHARF_EIO;
	_cleanup_stmt_ sqlite3_stmt *st = meta_prep(c, "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM blobs", err);
	if (!st)
		return -WHARF_EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return meta_db_error(err, c->db, "sum blob sizes");
	*bytes = (uint64_t)sqlite3_column_int64(st, 0);
	*blobs = (uint64_t)sqlite3_column_int64(st, 1);
	return 0;
}
