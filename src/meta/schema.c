#include "wharf/meta.h"

/* Migration i brings the database from user_version i to i+1. Append, never edit. */
const char *const wharf_meta_schema[] = {
	"CREATE TABLE repos(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
	"CREATE TABLE blobs(digest TEXT PRIMARY KEY, size INTEGER NOT NULL, last_used INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE repo_blobs(repo_id INTEGER NOT NULL, digest TEXT NOT NULL,"
	"  PRIMARY KEY(repo_id, digest)) WITHOUT ROWID;"
	"CREATE INDEX repo_blobs_digest ON repo_blobs(digest);"
	"CREATE TABLE manifests(repo_id INTEGER NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,"
	"  size INTEGER NOT NULL, artifact_type TEXT, subject TEXT, annotations TEXT, created INTEGER NOT NULL,"
	"  PRIMARY KEY(repo_id, digest)) WITHOUT ROWID;"
	"CREATE INDEX manifests_subject ON manifests(repo_id, subject) WHERE subject IS NOT NULL;"
	"CREATE INDEX manifests_digest ON manifests(digest);"
	"CREATE TABLE manifest_refs(repo_id INTEGER NOT NULL, manifest TEXT NOT NULL, child TEXT NOT NULL,"
	"  PRIMARY KEY(repo_id, manifest, child)) WITHOUT ROWID;"
	"CREATE INDEX manifest_refs_child ON manifest_refs(child);"
	"CREATE TABLE tags(repo_id INTEGER NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL,"
	"  updated INTEGER NOT NULL, PRIMARY KEY(repo_id, name)) WITHOUT ROWID;"
	"CREATE INDEX tags_digest ON tags(repo_id, digest);"
	"CREATE TABLE uploads(id TEXT PRIMARY KEY, repo_id INTEGER NOT NULL, started INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL, offset INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;",
	/* 2: content trust (TUF metadata per GUN, server-held keys, the changefeed). */
	"CREATE TABLE tuf_files(gun TEXT NOT NULL, role TEXT NOT NULL, version INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL, data BLOB NOT NULL, created INTEGER NOT NULL,"
	"  PRIMARY KEY(gun, role, version)) WITHOUT ROWID;"
	"CREATE INDEX tuf_files_sha256 ON tuf_files(gun, role, sha256);"
	"CREATE TABLE tuf_keys(gun TEXT NOT NULL, role TEXT NOT NULL, keyid TEXT NOT NULL, public TEXT NOT NULL,"
	"  private_pem TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY(gun, role, keyid)) WITHOUT ROWID;"
	"CREATE TABLE tuf_changes(id INTEGER PRIMARY KEY AUTOINCREMENT, gun TEXT NOT NULL, version INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL, category TEXT NOT NULL, created INTEGER NOT NULL);",
	/* 3: staged trust changes waiting for a threshold of signatures (state: pending, published,
	 * outdated). data is the metadata file with the signatures gathered so far. */
	"CREATE TABLE tuf_pending(id INTEGER PRIMARY KEY AUTOINCREMENT, gun TEXT NOT NULL, role TEXT NOT NULL,"
	"  version INTEGER NOT NULL, data BLOB NOT NULL, proposer TEXT NOT NULL, state TEXT NOT NULL,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE INDEX tuf_pending_gun ON tuf_pending(gun, state);",
	NULL,
};

const int wharf_meta_schema_version = 3;
