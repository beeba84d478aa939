/* auth: the one stage every request passes before a handler runs, and the access control model
 * behind it: users, organizations, teams, robot accounts, public repositories (kept in
 * <data>/auth.db), the Docker registry token protocol (/token, ES256 JWTs) and the admin API
 * (/api/v1/admin/...). With access control off (the default) every request is allowed. */
#ifndef WHARF_AUTH_H
#define WHARF_AUTH_H

#include <jansson.h>

#include "wharf/authx.h"
#include "wharf/util.h"

enum wharf_action {
	WHARF_ACTION_PULL,
	WHARF_ACTION_PUSH,
	WHARF_ACTION_DELETE,
	WHARF_ACTION_CATALOG,
	WHARF_ACTION_ADMIN,
};

/* Sets of actions on one repository, as bits. */
enum {
	WHARF_ACT_PULL = 1u << WHARF_ACTION_PULL,
	WHARF_ACT_PUSH = 1u << WHARF_ACTION_PUSH,
	WHARF_ACT_DELETE = 1u << WHARF_ACTION_DELETE,
	WHARF_ACT_CATALOG = 1u << WHARF_ACTION_CATALOG,
	WHARF_ACT_ADMIN = 1u << WHARF_ACTION_ADMIN,
	WHARF_ACT_REPO_ALL = WHARF_ACT_PULL | WHARF_ACT_PUSH | WHARF_ACT_DELETE | WHARF_ACT_ADMIN,
};

struct wharf_access {
	const char *repository;    /* NULL for registry-wide actions */
	enum wharf_action action;
	const char *authorization; /* the request's Authorization header, or NULL */
	const char *remote;        /* client address */
	const char *host;          /* the request's Host header, for the token realm; may be NULL */
	bool tls;                  /* the request came over HTTPS: the realm is https:// too */
	const char *method;        /* HTTP method and path, for authorization plugins; may be NULL */
	const char *uri;
	bool sign;                 /* a trust data publish (the plugins' and policy's "sign" action) */
	const char *tag;           /* the tag a manifest request names (not a digest); may be NULL */
	bool manifest_read;        /* a manifest GET/HEAD: decided again once resolved (wharf_auth_decide_image) */
};

/* What a manifest read resolved, for the second authorization pass. Strings borrowed. */
struct wharf_image_attrs {
	const char *digest;            /* the manifest's digest */
	const char *scan_max_severity; /* NONE, UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL; NULL: not scanned */
	int signed_status;             /* 1 the trust data signs the tag as this digest, 0 not, -1 unknown */
	json_t *labels;                /* image labels, or NULL when not resolved */
};

struct wharf_auth_decision {
	bool allowed;
	unsigned status;              /* 401 or 403 when not allowed */
	char www_authenticate[512];   /* for 401 */
	char subject[128];            /* who, for the access log ("anonymous" when nobody) */
	char reason[256];
};

struct wharf_auth_config {
	bool enabled;               /* false: allow every request (the default) */
	char *admin_user;           /* first system administrator, created on first start */
	char *admin_password_file;  /* its password; else $WHARF_ADMIN_PASSWORD */
	int64_t token_ttl;          /* seconds a token lives (default 300) */
	char *service;              /* the token audience (default "wharf") */
	char *issuer;               /* the token issuer (default "wharf") */
	char *realm;                /* token endpoint URL; NULL: http://<Host>/token */
	int64_t ldap_sync_interval; /* seconds between directory syncs of LDAP users (default 900; 0: off) */
	struct wharf_authx_config ext; /* LDAP, authorization plugins, policy, audit log (authx.h) */
};

void wharf_auth_config_init(struct wharf_auth_config *cfg);
void wharf_auth_config_free(struct wharf_auth_config *cfg);
/* Apply the config file's "auth" object over cfg; unknown keys are errors. */
int wharf_auth_config_load(struct wharf_auth_config *cfg, const json_t *obj, struct wharf_error *err);

struct wharf_auth;
/* The allow-all stage (access control off). */
struct wharf_auth *wharf_auth_allow_all(void);
/* Access control on: open <data_dir>/auth.db and the token key <data_dir>/auth/token.key
 * (both made on first start), and create cfg->admin_user when there is no user yet. */
int wharf_auth_open(struct wharf_auth **out, const struct wharf_auth_config *cfg, const char *data_dir,
		    struct wharf_error *err);
void wharf_auth_free(struct wharf_auth *a);
bool wharf_auth_enabled(const struct wharf_auth *a);
const char *wharf_action_name(enum wharf_action action);
void wharf_auth_decide(struct wharf_auth *a, const struct wharf_access *access,
		       struct wharf_auth_decision *out);
/* Which image attributes (WHARF_IMAGE_NEEDS_* of authx.h) the plugins and policy need; 0 when
 * none (then manifest reads are decided in the one pass of wharf_auth_decide). */
unsigned wharf_auth_image_needs(const struct wharf_auth *a);
/* The second pass of a manifest read (access->manifest_read), once the manifest is found: ask
 * the plugins and the policy again with the image's attributes and record the decision in the
 * audit log. A deny is out->status 403 with the plugin's or rule's reason. */
void wharf_auth_decide_image(struct wharf_auth *a, const struct wharf_access *access,
			     const struct wharf_image_attrs *img, struct wharf_auth_decision *out);
/* May the caller with this Authorization header (NULL: anonymous) see repo in the catalog? */
bool wharf_auth_can_see(struct wharf_auth *a, const char *authorization, const char *repo);

/* Is an audit log configured? Callers skip building event fields when not. NULL-safe. */
bool wharf_auth_audit_enabled(const struct wharf_auth *a);
/* Record a completed event (push, delete, sign; docs/auth-extensions.md) in the audit log:
 * {"type":type,"user":subject,"remote":remote,...fields}. fields (an object, may be NULL) is
 * stolen. A no-op without an audit log; a write failure is logged, not returned, because the
 * event already happened. */
void wharf_auth_audit_event(struct wharf_auth *a, const char *type, const char *subject, const char *remote,
			    json_t *fields);

struct wharf_http_request;
/* Serve /token and /api/v1/admin/... when the request is for them; false when it is not. */
bool wharf_auth_handle(struct wharf_auth *a, struct wharf_http_request *req);

/* Scopes ("repository:NAME:pull,push", "registry:catalog:*"), as the token protocol writes them. */
struct wharf_scope {
	char type[32];   /* "repository" or "registry" */
	char name[256];
	unsigned actions; /* WHARF_ACT_* bits; "*" sets all */
	bool star;        /* "*" was asked */
};
/* Parse one scope; WHARF_EINVAL naming the rule broken. Unknown action names are ignored
 * (docker asks for some we never grant). */
int wharf_scope_parse(const char *s, struct wharf_scope *out, struct wharf_error *err);
/* Parse action names "pull,push" or a JSON-array style list into bits. */
unsigned wharf_actions_parse(const char *list, size_t len);

/* Passwords: argon2id in PHC string form. */
int wharf_password_hash(const char *password, char **out, struct wharf_error *err);
bool wharf_password_verify(const char *encoded, const char *password);

/* JSON Web Tokens signed with ES256 by a P-256 key, the only algorithm accepted. */
struct wharf_jwt_key;
/* Load the PEM private key at path, or make one (0600) when there is none. */
int wharf_jwt_key_load_or_create(struct wharf_jwt_key **out, const char *path, struct wharf_error *err);
/* Load a key from PEM text (private or public). */
int wharf_jwt_key_from_pem(struct wharf_jwt_key **out, const char *pem, size_t len, struct wharf_error *err);
void wharf_jwt_key_free(struct wharf_jwt_key *k);
/* The key ID put in the header ("kid"). */
const char *wharf_jwt_key_id(const struct wharf_jwt_key *k);
/* Sign claims (a JSON object) into a compact JWS. */
int wharf_jwt_sign(const struct wharf_jwt_key *k, const json_t *claims, char **out, struct wharf_error *err);
/* Verify a compact JWS: header alg must be ES256, signature by k; returns its claims (new
 * reference). Checks of iss/aud/exp are the caller's (wharf_jwt_check_claims). */
int wharf_jwt_verify(const struct wharf_jwt_key *k, const char *token, json_t **claims, struct wharf_error *err);
/* iss, aud (string or array containing aud), exp, nbf and iat against now with leeway seconds. */
int wharf_jwt_check_claims(const json_t *claims, const char *iss, const char *aud, int64_t now, int64_t leeway,
			   struct wharf_error *err);
/* The actions the "access" claim grants on (type, name). */
unsigned wharf_jwt_access_actions(const json_t *claims, const char *type, const char *name);

/* Decode base64url without padding (RFC 7515; wharf_b64url_encode is in wharf/keys.h). Fails on
 * bad characters. */
int wharf_b64url_decode(const char *s, size_t len, unsigned char **out, size_t *out_len);
/* The first value of key in an application/x-www-form-urlencoded body (NUL-terminated, the
 * caller bounds its size), %-decoded and with '+' as space; NULL when absent. Caller frees. */
char *wharf_form_value(const char *body, const char *key);
/* Decode an "Authorization: Basic ..." value into user and password (caller frees both). */
int wharf_basic_parse(const char *header, char **user, char **password, struct wharf_error *err);

#endif
