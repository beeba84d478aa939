/* The access control model in its own SQLite file: users, organizations and their owners, teams,
 * per-repository team grants, public repositories, robot accounts and refresh tokens. One
 * connection behind a mutex: every query is a point lookup, and decisions are cached above. */
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <string.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "internal.h"

struct auth_model {
	sqlite3 *db;
	pthread_mutex_t lock;
	uint64_t generation;
};

static const char *schema[] = {
	"CREATE TABLE users (name TEXT PRIMARY KEY, password TEXT, source TEXT NOT NULL DEFAULT 'local',"
	" admin INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE orgs (name TEXT PRIMARY KEY, created INTEGER NOT NULL);"
	"CREATE TABLE org_owners (org TEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE,"
	" user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, PRIMARY KEY (org, user));"
	"CREATE TABLE teams (org TEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE, name TEXT NOT NULL,"
	" PRIMARY KEY (org, name));"
	"CREATE TABLE team_members (org TEXT NOT NULL, team TEXT NOT NULL,"
	" user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, PRIMARY KEY (org, team, user),"
	" FOREIGN KEY (org, team) REFERENCES teams(org, name) ON DELETE CASCADE);"
	"CREATE TABLE team_repos (org TEXT NOT NULL, team TEXT NOT NULL, repo TEXT NOT NULL,"
	" perm INTEGER NOT NULL, PRIMARY KEY (org, team, repo),"
	" FOREIGN KEY (org, team) REFERENCES teams(org, name) ON DELETE CASCADE);"
	"CREATE TABLE public_repos (repo TEXT PRIMARY KEY);"
	"CREATE TABLE robots (name TEXT PRIMARY KEY, secret TEXT NOT NULL, repos TEXT NOT NULL,"
	" actions INTEGER NOT NULL, expires INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE refresh_tokens (hash TEXT PRIMARY KEY, subject TEXT NOT NULL, expires INTEGER NOT NULL);",
};

static int db_error(struct wharf_error *err, sqlite3 *db, const char *what)
{
	return wharf_error_set(err, WHARF_EIO, "auth.db: %s: %s", what, sqlite3_errmsg(db));
}

static int migrate(sqlite3 *db, struct wharf_error *err)
{
	sqlite3_stmt *st = NULL;
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	for (int v = version; v < (int)(sizeof(schema) / sizeof(schema[0])); v++) {
		_cleanup_free_ char *sql = wharf_xasprintf("BEGIN IMMEDIATE;%sPRAGMA user_version=%d;COMMIT;", schema[v], v + 1);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			int r = db_error(err, db, "migration");
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	return 0;
}

int model_open(struct auth_model **out, const char *path, struct wharf_error *err)
{
	/* password hashes live here: 0600 from the start (SQLite gives its -wal and -shm files the same mode) */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return wharf_error_sys(err, "cannot open %s", path);
	close(fd);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK) {
		int r = wharf_error_set(err, WHARF_EIO, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
	int r = migrate(db, err);
	if (r < 0) {
		sqlite3_close(db);
		return r;
	}
	struct auth_model *m = wharf_xcalloc(1, sizeof(*m));
	m->db = db;
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return 0;
}

void model_close(struct auth_model *m)
{
	if (!m)
		return;
	sqlite3_close(m->db);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

uint64_t model_generation(struct auth_model *m)
{
	return __atomic_load_n(&m->generation, __ATOMIC_ACQUIRE);
}

static void bump(struct auth_model *m)
{
	__atomic_add_fetch(&m->generation, 1, __ATOMIC_RELEASE);
}

/* Prepare sql and bind parameters: fmt has one letter per parameter, s text, i int64. */
static sqlite3_stmt *prep(struct auth_model *m, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	return st;
}

/* Run a change; *changes gets the rows touched. */
static int run(struct auth_model *m, int *changes, struct wharf_error *err, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(err, m->db, "prepare");
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return wharf_error_set(err, WHARF_EEXIST, "already exists or refers to something missing");
	if (rc != SQLITE_DONE)
		return db_error(err, m->db, "update");
	if (changes)
		*changes = sqlite3_changes(m->db);
	bump(m);
	return 0;
}

static bool exists(struct auth_model *m, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = b ? prep(m, sql, "ss", a, b) : prep(m, sql, "s", a);
	bool found = st && sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

bool auth_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

void auth_repo_org(const char *repo, char *org, size_t len)
{
	size_t n = strcspn(repo, "/");
	if (!repo[n]) /* a one-component name has no organization */
		n = 0;
	snprintf(org, len, "%.*s", (int)n, repo);
}

int model_user_count(struct auth_model *m, int64_t *out, struct wharf_error *err)
{
	sqlite3_stmt *st = prep(m, "SELECT count(*) FROM users", "");
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_error(err, m->db, "count users");
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int bad_credentials(struct wharf_error *err)
{
	return wharf_error_set(err, WHARF_EINVAL, "invalid credentials");
}

static int robot_authenticate(struct auth_model *m, const char *name, const char *password, struct subject *out,
			      struct wharf_error *err)
{
	sqlite3_stmt *st = prep(m, "SELECT secret, expires FROM robots WHERE name = ?", "s", name);
	bool ok = st && sqlite3_step(st) == SQLITE_ROW;
	if (ok) {
		int64_t expires = sqlite3_column_int64(st, 1);
		ok = (expires == 0 || expires > wharf_now()) &&
		     wharf_password_verify((const char *)sqlite3_column_text(st, 0), password);
	}
	sqlite3_finalize(st);
	if (!ok)
		return bad_credentials(err);
	*out = (struct subject){.kind = SUBJECT_ROBOT};
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
}

int model_authenticate(struct auth_model *m, const char *name, const char *password, struct subject *out,
		       struct wharf_error *err)
{
	if (strlen(name) >= sizeof(out->name))
		return bad_credentials(err);
	sqlite3_stmt *st = prep(m, "SELECT password, admin, disabled FROM users WHERE name = ?", "s", name);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return robot_authenticate(m, name, password, out, err);
	}
	bool ok = !sqlite3_column_int(st, 2) && wharf_password_verify((const char *)sqlite3_column_text(st, 0), password);
	bool admin = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	if (!ok)
		return bad_credentials(err);
	*out = (struct subject){.kind = SUBJECT_USER, .sysadmin = admin};
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
}

int model_subject(struct auth_model *m, const char *name, struct subject *out, struct wharf_error *err)
{
	sqlite3_stmt *st = prep(m, "SELECT admin, disabled FROM users WHERE name = ?", "s", name);
	bool ok = st && sqlite3_step(st) == SQLITE_ROW && !sqlite3_column_int(st, 1);
	bool admin = ok && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!ok || strlen(name) >= sizeof(out->name))
		return wharf_error_set(err, WHARF_EINVAL, "user '%.64s' is gone or disabled", name);
	*out = (struct subject){.kind = SUBJECT_USER, .sysadmin = admin};
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
}

bool model_repo_public(struct auth_model *m, const char *repo)
{
	return exists(m, "SELECT 1 FROM public_repos WHERE repo = ?", repo, NULL);
}

bool model_org_owner(struct auth_model *m, const struct subject *s, const char *org)
{
	if (!s || s->kind != SUBJECT_USER)
		return false;
	if (s->sysadmin)
		return true;
	return org[0] && exists(m, "SELECT 1 FROM org_owners WHERE org = ? AND user = ?", org, s->name);
}

static unsigned perm_actions(int perm)
{
	switch (perm) {
	case PERM_READ: return WHARF_ACT_PULL;
	case PERM_WRITE: return WHARF_ACT_PULL | WHARF_ACT_PUSH;
	case PERM_ADMIN: return WHARF_ACT_REPO_ALL;
	default: return 0;
	}
}

static int team_perm(struct auth_model *m, const char *user, const char *org, const char *repo)
{
	sqlite3_stmt *st = prep(m,
				"SELECT max(r.perm) FROM team_repos r JOIN team_members t"
				" ON t.org = r.org AND t.team = r.team WHERE r.org = ? AND r.repo = ? AND t.user = ?",
				"sss", org, repo, user);
	int perm = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return perm;
}

static unsigned robot_actions(struct auth_model *m, const char *name, const char *repo)
{
	sqlite3_stmt *st = prep(m, "SELECT repos, actions, expires FROM robots WHERE name = ?", "s", name);
	unsigned bits = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		int64_t expires = sqlite3_column_int64(st, 2);
		_cleanup_free_ char *pats = wharf_xstrdup((const char *)sqlite3_column_text(st, 0));
		unsigned acts = (unsigned)sqlite3_column_int(st, 1);
		char *save = NULL;
		for (char *p = strtok_r(pats, " \n", &save); p && (expires == 0 || expires > wharf_now());
		     p = strtok_r(NULL, " \n", &save))
			if (fnmatch(p, repo, 0) == 0)
				bits = acts;
	}
	sqlite3_finalize(st);
	return bits;
}

unsigned model_repo_actions(struct auth_model *m, const struct subject *s, const char *repo)
{
	unsigned bits = model_repo_public(m, repo) ? WHARF_ACT_PULL : 0;
	if (!s || s->kind == SUBJECT_ANONYMOUS)
		return bits;
	if (s->kind == SUBJECT_ROBOT)
		return bits | robot_actions(m, s->name, repo);
	if (s->sysadmin)
		return WHARF_ACT_REPO_ALL;
	char org[256];
	auth_repo_org(repo, org, sizeof(org));
	if (!org[0])
		return bits;
	if (!strcmp(org, s->name) || model_org_owner(m, s, org)) /* a user's own namespace, or an owned org */
		return WHARF_ACT_REPO_ALL;
	return bits | perm_actions(team_perm(m, s->name, org, repo));
}

static int check_name(const char *what, const char *name, struct wharf_error *err)
{
	if (!auth_name_ok(name))
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s name '%.64s' must be 1-64 of a-z 0-9 . _ - starting with a letter or digit",
				       what, name);
	return 0;
}

static int not_found(int changes, struct wharf_error *err, const char *what, const char *name)
{
	return changes ? 0 : wharf_error_set(err, WHARF_ENOTFOUND, "%s '%.100s' does not exist", what, name);
}

int model_user_add(struct auth_model *m, const char *name, const char *password, bool admin,
		   struct wharf_error *err)
{
	int r = check_name("user", name, err);
	if (r < 0)
		return r;
	if (exists(m, "SELECT 1 FROM robots WHERE name = ?", name, NULL))
		return wharf_error_set(err, WHARF_EEXIST, "'%s' is a robot account", name);
	_cleanup_free_ char *hash = NULL;
	r = wharf_password_hash(password, &hash, err);
	if (r < 0)
		return r;
	r = run(m, NULL, err, "INSERT INTO users (name, password, admin, created) VALUES (?, ?, ?, ?)", "ssii", name,
		hash, (int64_t)admin, wharf_now());
	return r == -WHARF_EEXIST ? wharf_error_set(err, WHARF_EEXIST, "user '%s' exists", name) : r;
}

int model_user_rm(struct auth_model *m, const char *name, struct wharf_error *err)
{
	int changes = 0;
	int r = run(m, &changes, err, "DELETE FROM users WHERE name = ?", "s", name);
	return r < 0 ? r : not_found(changes, err, "user", name);
}

int model_user_passwd(struct auth_model *m, const char *name, const char *password, struct wharf_error *err)
{
	_cleanup_free_ char *hash = NULL;
	int r = wharf_password_hash(password, &hash, err);
	int changes = 0;
	if (r == 0)
		r = run(m, &changes, err, "UPDATE users SET password = ? WHERE name = ?", "ss", hash, name);
	return r < 0 ? r : not_found(changes, err, "user", name);
}

int model_user_disable(struct auth_model *m, const char *name, bool disabled, struct wharf_error *err)
{
	int changes = 0;
	int r = run(m, &changes, err, "UPDATE users SET disabled = ? WHERE name = ?", "is", (int64_t)disabled, name);
	if (r == 0 && changes)
		run(m, NULL, err, "DELETE FROM refresh_tokens WHERE subject = ?", "s", name);
	return r < 0 ? r : not_found(changes, err, "user", name);
}

static json_t *rows_json(sqlite3_stmt *st, const char *const *cols)
{
	json_t *arr = json_array();
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; cols[i]; i++) {
			json_t *v;
			if (cols[i][0] == '?')
				v = json_boolean(sqlite3_column_int(st, i));
			else if (cols[i][0] == '#')
				v = json_integer(sqlite3_column_int64(st, i));
			else if (sqlite3_column_type(st, i) == SQLITE_NULL)
				v = json_null();
			else
				v = json_string((const char *)sqlite3_column_text(st, i));
			json_object_set_new(o, cols[i] + (cols[i][0] == '?' || cols[i][0] == '#'), v);
		}
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	return arr;
}

int model_user_list(struct auth_model *m, json_t **out, struct wharf_error *err)
{
	(void)err;
	static const char *const cols[] = {"name", "source", "?admin", "?disabled", "#created", NULL};
	*out = rows_json(prep(m, "SELECT name, source, admin, disabled, created FROM users ORDER BY name", ""), cols);
	return 0;
}

int model_org_add(struct auth_model *m, const char *org, const char *owner, struct wharf_error *err)
{
	int r = check_name("organization", org, err);
	if (r < 0)
		return r;
	if (owner && !exists(m, "SELECT 1 FROM users WHERE name = ?", owner, NULL))
		return wharf_error_set(err, WHARF_ENOTFOUND, "owner '%.64s' is not a user", owner);
	r = run(m, NULL, err, "INSERT INTO orgs (name, created) VALUES (?, ?)", "si", org, wharf_now());
	if (r == -WHARF_EEXIST)
		return wharf_error_set(err, WHARF_EEXIST, "organization '%s' exists", org);
	if (r == 0 && owner)
		r = run(m, NULL, err, "INSERT INTO org_owners (org, user) VALUES (?, ?)", "ss", org, owner);
	return r;
}

int model_org_rm(struct auth_model *m, const char *org, struct wharf_error *err)
{
	int changes = 0;
	int r = run(m, &changes, err, "DELETE FROM orgs WHERE name = ?", "s", org);
	return r < 0 ? r : not_found(changes, err, "organization", org);
}

int model_org_list(struct auth_model *m, json_t **out, struct wharf_error *err)
{
	(void)err;
	static const char *const cols[] = {"name", "owners", "teams", NULL};
	*out = rows_json(prep(m,
			      "SELECT o.name, (SELECT group_concat(user, ' ') FROM org_owners WHERE org = o.name),"
			      " (SELECT group_concat(name, ' ') FROM teams WHERE org = o.name) FROM orgs o ORDER BY o.name",
			      ""),
			 cols);
	return 0;
}

int model_team_add(struct auth_model *m, const char *org, const char *team, struct wharf_error *err)
{
	int r = check_name("team", team, err);
	if (r < 0)
		return r;
	if (!exists(m, "SELECT 1 FROM orgs WHERE name = ?", org, NULL))
		return wharf_error_set(err, WHARF_ENOTFOUND, "organization '%.64s' does not exist", org);
	r = run(m, NULL, err, "INSERT INTO teams (org, name) VALUES (?, ?)", "ss", org, team);
	return r == -WHARF_EEXIST ? wharf_error_set(err, WHARF_EEXIST, "team '%s/%s' exists", org, team) : r;
}

int model_team_rm(struct auth_model *m, const char *org, const char *team, struct wharf_error *err)
{
	int changes = 0;
	int r = run(m, &changes, err, "DELETE FROM teams WHERE org = ? AND name = ?", "ss", org, team);
	return r < 0 ? r : not_found(changes, err, "team", team);
}

static int need_team(struct auth_model *m, const char *org, const char *team, struct wharf_error *err)
{
	if (!exists(m, "SELECT 1 FROM teams WHERE org = ? AND name = ?", org, team))
		return wharf_error_set(err, WHARF_ENOTFOUND, "team '%.64s/%.64s' does not exist", org, team);
	return 0;
}

int model_team_member(struct auth_model *m, const char *org, const char *team, const char *user, bool add,
		      struct wharf_error *err)
{
	int r = need_team(m, org, team, err);
	if (r < 0)
		return r;
	if (!add) {
		int changes = 0;
		r = run(m, &changes, err, "DELETE FROM team_members WHERE org = ? AND team = ? AND user = ?", "sss", org,
			team, user);
		return r < 0 ? r : not_found(changes, err, "team member", user);
	}
	if (!exists(m, "SELECT 1 FROM users WHERE name = ?", user, NULL))
		return wharf_error_set(err, WHARF_ENOTFOUND, "user '%.64s' does not exist", user);
	return run(m, NULL, err, "INSERT OR IGNORE INTO team_members (org, team, user) VALUES (?, ?, ?)", "sss", org,
		   team, user);
}

int model_team_grant(struct auth_model *m, const char *org, const char *team, const char *repo, enum perm p,
		     struct wharf_error *err)
{
	int r = need_team(m, org, team, err);
	if (r < 0)
		return r;
	char repo_org[256];
	auth_repo_org(repo, repo_org, sizeof(repo_org));
	if (strcmp(repo_org, org) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "repository '%.200s' is not in organization '%s'", repo, org);
	if (p == PERM_NONE)
		return run(m, NULL, err, "DELETE FROM team_repos WHERE org = ? AND team = ? AND repo = ?", "sss", org, team,
			   repo);
	return run(m, NULL, err, "INSERT OR REPLACE INTO team_repos (org, team, repo, perm) VALUES (?, ?, ?, ?)", "sssi",
		   org, team, repo, (int64_t)p);
}

int model_team_list(struct auth_model *m, const char *org, json_t **out, struct wharf_error *err)
{
	(void)err;
	static const char *const cols[] = {"name", "members", "grants", NULL};
	*out = rows_json(prep(m,
			      "SELECT t.name, (SELECT group_concat(user, ' ') FROM team_members WHERE org = t.org AND team = t.name),"
			      " (SELECT group_concat(repo || ':' || CASE perm WHEN 1 THEN 'read' WHEN 2 THEN 'write' ELSE 'admin' END, ' ')"
			      " FROM team_repos WHERE org = t.org AND team = t.name) FROM teams t WHERE t.org = ? ORDER BY t.name",
			      "s", org),
			 cols);
	return 0;
}

int model_repo_set_public(struct auth_model *m, const char *repo, bool pub, struct wharf_error *err)
{
	if (pub)
		return run(m, NULL, err, "INSERT OR IGNORE INTO public_repos (repo) VALUES (?)", "s", repo);
	return run(m, NULL, err, "DELETE FROM public_repos WHERE repo = ?", "s", repo);
}

int model_robot_add(struct auth_model *m, const char *name, const char *patterns, unsigned actions,
		    int64_t expires, char **secret, struct wharf_error *err)
{
	int r = check_name("robot", name, err);
	if (r < 0)
		return r;
	if (exists(m, "SELECT 1 FROM users WHERE name = ?", name, NULL))
		return wharf_error_set(err, WHARF_EEXIST, "'%s' is a user", name);
	char raw[65];
	r = wharf_random_hex(raw, 32, err);
	_cleanup_free_ char *hash = NULL;
	if (r == 0)
		r = wharf_password_hash(raw, &hash, err);
	if (r == 0)
		r = run(m, NULL, err,
			"INSERT INTO robots (name, secret, repos, actions, expires, created) VALUES (?, ?, ?, ?, ?, ?)",
			"sssiii", name, hash, patterns, (int64_t)actions, expires, wharf_now());
	if (r == -WHARF_EEXIST)
		return wharf_error_set(err, WHARF_EEXIST, "robot '%s' exists", name);
	if (r == 0)
		*secret = wharf_xstrdup(raw);
	return r;
}

int model_robot_rm(struct auth_model *m, const char *name, struct wharf_error *err)
{
	int changes = 0;
	int r = run(m, &changes, err, "DELETE FROM robots WHERE name = ?", "s", name);
	return r < 0 ? r : not_found(changes, err, "robot", name);
}

int model_robot_list(struct auth_model *m, json_t **out, struct wharf_error *err)
{
	(void)err;
	static const char *const cols[] = {"name", "repositories", "#actions", "#expires", "#created", NULL};
	*out = rows_json(prep(m, "SELECT name, repos, actions, expires, created FROM robots ORDER BY name", ""), cols);
	return 0;
}

int model_refresh_issue(struct auth_model *m, const char *name, int64_t ttl, char **out, struct wharf_error *err)
{
	char raw[65], hash[65];
	int r = wharf_random_hex(raw, 32, err);
	if (r < 0)
		return r;
	sha256_hex(raw, hash);
	run(m, NULL, err, "DELETE FROM refresh_tokens WHERE expires < ?", "i", wharf_now());
	r = run(m, NULL, err, "INSERT INTO refresh_tokens (hash, subject, expires) VALUES (?, ?, ?)", "ssi", hash, name,
		wharf_now() + ttl);
	if (r == 0)
		*out = wharf_xstrdup(raw);
	return r;
}

int model_refresh_use(struct auth_model *m, const char *token, struct subject *out, struct wharf_error *err)
{
	char hash[65];
	sha256_hex(token, hash);
	sqlite3_stmt *st = prep(m, "SELECT subject FROM refresh_tokens WHERE hash = ? AND expires >= ?", "si", hash,
				wharf_now());
	_cleanup_free_ char *name = NULL;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		name = wharf_xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!name)
		return wharf_error_set(err, WHARF_EINVAL, "refresh token unknown or expired");
	return model_subject(m, name, out, err);
}

int model_user_source(struct auth_model *m, const char *name, bool *disabled)
{
	*disabled = false;
	sqlite3_stmt *st = prep(m, "SELECT source, disabled FROM users WHERE name = ?", "s", name);
	int src = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		src = strcmp((const char *)sqlite3_column_text(st, 0), "ldap") == 0 ? 2 : 1;
		*disabled = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (src == 0 && exists(m, "SELECT 1 FROM robots WHERE name = ?", name, NULL))
		src = 3;
	return src;
}

int model_ldap_sync(struct auth_model *m, const char *name, const struct wharf_strv *teams, struct wharf_error *err)
{
	int r = check_name("user", name, err);
	if (r == 0)
		r = run(m, NULL, err, "INSERT OR IGNORE INTO users (name, password, source, created) VALUES (?, NULL, 'ldap', ?)",
			"si", name, wharf_now());
	if (r == 0)
		r = run(m, NULL, err, "DELETE FROM team_members WHERE user = ?", "s", name);
	for (size_t i = 0; r == 0 && i < teams->n; i++) {
		char org[128];
		const char *slash = strchr(teams->v[i], '/');
		if (!slash || (size_t)(slash - teams->v[i]) >= sizeof(org))
			continue;
		snprintf(org, sizeof(org), "%.*s", (int)(slash - teams->v[i]), teams->v[i]);
		if (exists(m, "SELECT 1 FROM teams WHERE org = ? AND name = ?", org, slash + 1))
			r = run(m, NULL, err, "INSERT OR IGNORE INTO team_members (org, team, user) VALUES (?, ?, ?)", "sss", org,
				slash + 1, name);
	}
	return r;
}

void model_user_teams(struct auth_model *m, const char *name, struct wharf_strv *out)
{
	sqlite3_stmt *st = prep(m, "SELECT org || '/' || team FROM team_members WHERE user = ? ORDER BY 1", "s", name);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		wharf_strv_push(out, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

void model_ldap_users(struct auth_model *m, struct wharf_strv *out)
{
	sqlite3_stmt *st = prep(m, "SELECT name FROM users WHERE source = 'ldap' ORDER BY name", "");
	while (st && sqlite3_step(st) == SQLITE_ROW)
		wharf_strv_push(out, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}
