/* vulndb internals: the SQLite schema, the import writer and the format parsers. */
#ifndef WHARF_VULNDB_INTERNAL_H
#define WHARF_VULNDB_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "wharf/vulndb.h"

#define VULNDB_SCHEMA_VERSION 1

/* Deepest nesting and most nodes a YAML document may have. */
#define VULNDB_YAML_MAX_DEPTH 64
#define VULNDB_YAML_MAX_NODES 1000000

enum vulndb_stmt {
	ST_PUT_VULN,
	ST_PUT_ALIAS,
	ST_DEL_ALIASES,
	ST_PUT_DISTRO,
	ST_DEL_DISTRO,
	ST_PUT_OSV,
	ST_DEL_OSV,
	ST__COUNT,
};

/* One import: a transaction on the database with its statements. */
struct vulndb_writer {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	struct wharf_vulndb_import_stats stats;
};

/* Statements a match runs once per package or finding, prepared once per handle. */
enum vulndb_query { Q_VULN_INFO, Q_ALIASES, Q_DISTRO, Q_OSV, Q__COUNT };

struct wharf_vulndb {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *q[Q__COUNT];
};

int vulndb_sqlite_error(struct wharf_error *err, sqlite3 *db, const char *what);
int vulndb_exec(sqlite3 *db, const char *sql, struct wharf_error *err);

/* Open (creating when missing) the database at path and begin the import's transaction. */
int vulndb_writer_open(struct vulndb_writer **out, const char *path, struct wharf_error *err);
/* Record the source's import, a new generation and commit; frees w either way. */
int vulndb_writer_commit(struct vulndb_writer *w, const char *format, struct wharf_error *err);
/* Roll back and free. */
void vulndb_writer_abort(struct vulndb_writer *w);

/* Rows. Strings may be NULL where the column allows it. */
struct vulndb_vuln {
	const char *id, *source, *title, *description, *severity, *cvss_vector, *primary_url;
	double cvss_score;
};
int vulndb_put_vuln(struct vulndb_writer *w, const struct vulndb_vuln *v, struct wharf_error *err);
int vulndb_put_alias(struct vulndb_writer *w, const char *id, const char *alias, struct wharf_error *err);
int vulndb_del_aliases(struct vulndb_writer *w, const char *id, struct wharf_error *err);
/* A distro advisory: fixed NULL means no fix (status says "affected", "under_investigation",
 * "will_not_fix", "fix_deferred"). */
int vulndb_put_distro(struct vulndb_writer *w, const char *distro, const char *release, const char *pkg,
		      const char *vuln, const char *fixed, const char *status, const char *severity,
		      struct wharf_error *err);
int vulndb_del_distro(struct vulndb_writer *w, const char *distro, const char *release, const char *pkg,
		      const char *vuln, struct wharf_error *err);
/* An OSV affected[] entry: ranges and versions are JSON text (arrays). */
int vulndb_put_osv(struct vulndb_writer *w, const char *vuln, const char *ecosystem, const char *name,
		   const char *ranges, const char *versions, struct wharf_error *err);
int vulndb_del_osv(struct vulndb_writer *w, const char *vuln, struct wharf_error *err);

/* The parsers: data (len bytes) read from the file name, into w. */
int vulndb_import_osv(struct vulndb_writer *w, const char *name, const char *data, size_t len,
		      struct wharf_error *err);
int vulndb_import_debian(struct vulndb_writer *w, const char *name, const char *data, size_t len,
			 struct wharf_error *err);
int vulndb_import_alpine(struct vulndb_writer *w, const char *name, const char *data, size_t len,
			 struct wharf_error *err);
int vulndb_import_nvd(struct vulndb_writer *w, const char *name, const char *data, size_t len,
		      struct wharf_error *err);
int vulndb_import_rustsec(struct vulndb_writer *w, const char *name, const char *data, size_t len,
			  struct wharf_error *err);
/* Does semver v satisfy the Cargo requirement req (comparators separated by commas)? lower
 * (may be NULL) gets the greatest lower bound the requirement names, "" when none. -1 when
 * req or v cannot be read. */
int vulndb_cargo_req_matches(const char *req, const char *v, bool *match, char *lower, size_t lowerlen);
/* Dispatch on format; WHARF_EINVAL for an unknown one. */
int vulndb_import_buffer(struct vulndb_writer *w, const char *format, const char *name, const char *data,
			 size_t len, struct wharf_error *err);

/* JSON, or YAML when the data does not start with '{' or '[' (every scalar a string). */
int vulndb_parse_document(const char *name, const char *data, size_t len, json_t **out, struct wharf_error *err);
int vulndb_yaml_to_json(const char *name, const char *data, size_t len, json_t **out, struct wharf_error *err);

/* Walk the members of a top-level JSON object one at a time (each value parsed on its own),
 * so a large feed never becomes one tree in memory. Stops at fn's first error. */
typedef int (*vulndb_member_fn)(void *ctx, const char *key, json_t *value, struct wharf_error *err);
int vulndb_json_members(const char *name, const char *data, size_t len, vulndb_member_fn fn, void *ctx,
			struct wharf_error *err);

/* Package names as advisories and catalogers agree on them: PyPI's normalisation (lower
 * case, runs of -_. as '-'), lower case for Packagist; others as they are. Caller frees. */
char *vulndb_normalize_name(const char *ecosystem, const char *name);
/* The ecosystem without an OSV release suffix ("Debian:12" -> "Debian"). Caller frees. */
char *vulndb_ecosystem_base(const char *ecosystem);
/* GHSA/NVD/Debian/Alpine severity words to ours ("MODERATE" -> "MEDIUM"); NULL if unknown. */
const char *vulndb_severity_word(const char *word);

#endif
