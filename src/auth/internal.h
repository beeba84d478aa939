/* Shared inside the auth module: the access control model in <data>/auth.db. */
#ifndef WHARF_AUTH_INTERNAL_H
#define WHARF_AUTH_INTERNAL_H

#include <pthread.h>

#include "wharf/auth.h"

enum perm { PERM_NONE = 0, PERM_READ = 1, PERM_WRITE = 2, PERM_ADMIN = 3 };

enum subject_kind { SUBJECT_ANONYMOUS, SUBJECT_USER, SUBJECT_ROBOT };

/* Who made a request, once authenticated. */
struct subject {
	enum subject_kind kind;
	char name[128];
	bool sysadmin;
};

struct auth_model;

int model_open(struct auth_model **out, const char *path, struct wharf_error *err);
void model_close(struct auth_model *m);
/* Bumped by every change, so caches of decisions can tell they are stale. */
uint64_t model_generation(struct auth_model *m);
/* Number of users (for the first-start administrator). */
int model_user_count(struct auth_model *m, int64_t *out, struct wharf_error *err);

/* Check a user's or robot's password; WHARF_EINVAL "invalid credentials" on any mismatch
 * (unknown name, wrong password, disabled, expired robot). */
int model_authenticate(struct auth_model *m, const char *name, const char *password, struct subject *out,
		       struct wharf_error *err);
/* Where a name comes from: 0 unknown, 1 a local user, 2 an LDAP user, 3 a robot; *disabled for users. */
int model_user_source(struct auth_model *m, const char *name, bool *disabled);
/* An LDAP user logged in: create it (source ldap, no password) when new, and make its team
 * memberships exactly teams ("org/team"; teams that do not exist are skipped). */
int model_ldap_sync(struct auth_model *m, const char *name, const struct wharf_strv *teams, struct wharf_error *err);
/* The names of all LDAP users. */
void model_ldap_users(struct auth_model *m, struct wharf_strv *out);
/* The teams ("org/team") name belongs to. */
void model_user_teams(struct auth_model *m, const char *name, struct wharf_strv *out);
/* Look a subject up again by name (refresh tokens): fails when gone or disabled. */
int model_subject(struct auth_model *m, const char *name, struct subject *out, struct wharf_error *err);
/* The actions s (NULL: anonymous) may take on repo. */
unsigned model_repo_actions(struct auth_model *m, const struct subject *s, const char *repo);
/* Is repo public? */
bool model_repo_public(struct auth_model *m, const char *repo);
/* Does s own org (or administer the system)? */
bool model_org_owner(struct auth_model *m, const struct subject *s, const char *org);

/* Administration. Each validates names and fails with WHARF_EEXIST / WHARF_ENOTFOUND clearly. */
int model_user_add(struct auth_model *m, const char *name, const char *password, bool admin,
		   struct wharf_error *err);
int model_user_rm(struct auth_model *m, const char *name, struct wharf_error *err);
int model_user_passwd(struct auth_model *m, const char *name, const char *password, struct wharf_error *err);
int model_user_disable(struct auth_model *m, const char *name, bool disabled, struct wharf_error *err);
int model_user_list(struct auth_model *m, json_t **out, struct wharf_error *err);
int model_org_add(struct auth_model *m, const char *org, const char *owner, struct wharf_error *err);
int model_org_rm(struct auth_model *m, const char *org, struct wharf_error *err);
int model_org_list(struct auth_model *m, json_t **out, struct wharf_error *err);
int model_team_add(struct auth_model *m, const char *org, const char *team, struct wharf_error *err);
int model_team_rm(struct auth_model *m, const char *org, const char *team, struct wharf_error *err);
int model_team_member(struct auth_model *m, const char *org, const char *team, const char *user, bool add,
		      struct wharf_error *err);
int model_team_grant(struct auth_model *m, const char *org, const char *team, const char *repo, enum perm p,
		     struct wharf_error *err);
int model_team_list(struct auth_model *m, const char *org, json_t **out, struct wharf_error *err);
int model_repo_set_public(struct auth_model *m, const char *repo, bool pub, struct wharf_error *err);
/* A robot allowed actions on repositories matching patterns (fnmatch), until expires (0: never).
 * *secret is shown once; only its hash is kept. */
int model_robot_add(struct auth_model *m, const char *name, const char *patterns, unsigned actions,
		    int64_t expires, char **secret, struct wharf_error *err);
int model_robot_rm(struct auth_model *m, const char *name, struct wharf_error *err);
int model_robot_list(struct auth_model *m, json_t **out, struct wharf_error *err);
/* OAuth2 refresh tokens: random, stored hashed, bound to a subject. */
int model_refresh_issue(struct auth_model *m, const char *name, int64_t ttl, char **out, struct wharf_error *err);
int model_refresh_use(struct auth_model *m, const char *token, struct subject *out, struct wharf_error *err);

/* Names of users, organizations, teams: [a-z0-9] then [a-z0-9._-], at most 64. */
bool auth_name_ok(const char *s);
/* The organization of repo: its first path component. */
void auth_repo_org(const char *repo, char *org, size_t len);

struct wharf_auth {
	bool enabled;
	struct wharf_auth_config cfg;
	struct auth_model *model;
	struct wharf_jwt_key *key;
	struct auth_cache *cache;
	struct wharf_authx *x; /* LDAP, plugins, policy, audit; NULL when none is configured */
	/* the scheduled LDAP sync (ldap_sync.c) */
	pthread_t sync;
	bool sync_ready, sync_started, stopping;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
};

/* Look every LDAP user up again now (ldap_sync.c). */
void auth_ldap_sync_once(struct wharf_auth *a);
/* Start (when LDAP is configured and auth.ldap_sync_interval > 0) and stop the sync thread. */
void auth_ldap_sync_start(struct wharf_auth *a);
void auth_ldap_sync_stop(struct wharf_auth *a);

/* Check a name and password: local users and robots first, then the directory (when LDAP is
 * configured) for names that are not local. Records the attempt in the audit log. */
int auth_login(struct wharf_auth *a, const char *user, const char *password, struct subject *out,
	       struct wharf_error *err);
/* Append an event (stolen) to the audit log, if there is one; failures are logged. */
void auth_audit(struct wharf_auth *a, json_t *event);

/* For Bearer tokens: what the token grants on (type, name) ("repository", NAME or "registry",
 * "catalog"; type NULL asks nothing). */
struct auth_query {
	const char *type;
	const char *name;
	bool has_token; /* out: the caller presented a valid token */
	unsigned bits;  /* out: the actions the token grants on (type, name) */
};

/* Who the Authorization header names: anonymous (no header), a user or robot (Basic, Bearer);
 * q (may be NULL) is answered from a Bearer token's verified claims. */
int auth_identify(struct wharf_auth *a, const char *authorization, struct subject *who, struct auth_query *q,
		  struct wharf_error *err);

/* The HTTP endpoints (token.c, admin_api.c). */
void auth_serve_token(struct wharf_auth *a, struct wharf_http_request *req);
void auth_serve_admin(struct wharf_auth *a, struct wharf_http_request *req);
/* Answer {"errors":[...]} with status. */
void auth_respond_error(struct wharf_http_request *req, unsigned status, const char *code, const char *msg);
void auth_respond_json(struct wharf_http_request *req, unsigned status, json_t *body);
/* A token for s with the granted scopes (JSON array of access entries, stolen). */
int auth_issue_token(struct wharf_auth *a, const struct subject *s, json_t *access, char **out,
		     struct wharf_error *err);

#endif
