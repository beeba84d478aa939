/* authx: the access-control extensions around the auth core (issue 7): LDAP / Active Directory
 * authentication, Docker authorization plugins, the attribute-based policy file, the hash-chained
 * audit log. The core (users, tokens, enforcement) in auth.h calls these; none of them keeps
 * global state. */
#ifndef WHARF_AUTHX_H
#define WHARF_AUTHX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wharf/util.h"

/* ---------------------------------------------------------------- LDAP */

/* How group membership is found. */
enum wharf_ldap_group_mode {
	WHARF_LDAP_GROUPS_MEMBEROF,  /* the user entry's memberOf attribute (AD, slapd memberof overlay) */
	WHARF_LDAP_GROUPS_MEMBER,    /* groups (groupOfNames) whose `member` holds the user's DN */
	WHARF_LDAP_GROUPS_MEMBERUID, /* groups (posixGroup) whose `memberUid` holds the user name */
};

struct wharf_ldap_config {
	char *uri;            /* ldap://host:389 or ldaps://host:636 (several, space separated) */
	bool starttls;        /* ldap:// upgraded with StartTLS; required to succeed when set */
	char *ca_file;        /* CA bundle for ldaps:// and StartTLS; NULL: the system's */
	char *bind_dn;        /* service account for the search; NULL: anonymous search */
	char *bind_password;
	char *user_base;      /* e.g. ou=people,dc=example,dc=org */
	char *user_filter;    /* e.g. (uid=%s) or (sAMAccountName=%s); %s gets the RFC 4515-escaped name */
	char *group_base;     /* e.g. ou=groups,dc=example,dc=org (MEMBER / MEMBERUID modes) */
	enum wharf_ldap_group_mode group_mode;
	char *group_filter;   /* extra filter ANDed with the membership test, e.g. (objectClass=groupOfNames) */
	char *group_name_attr; /* the attribute naming a group, default "cn" */
	char *display_attr;   /* default "cn" */
	char *disabled_filter; /* users matching it are disabled, e.g. (pwdAccountLockedTime=*) or AD's
				* (userAccountControl:1.2.840.113556.1.4.803:=2); NULL: none */
	int timeout_ms;       /* network and operation timeout, default 5000 */
	/* "team_map": {"<ldap group>": "org/team" | ["org/team", ...]}: pairs, group i -> team i */
	char **map_groups;
	char **map_teams;
	size_t nmap;
};

struct wharf_ldap_user {
	char *dn;
	char *display;
	char **groups; /* group names (group_name_attr values), sorted, unique */
	size_t ngroups;
	bool disabled; /* set by wharf_ldap_lookup; wharf_ldap_authenticate refuses disabled users */
};

/* Error codes of wharf_ldap_authenticate / wharf_ldap_lookup (negated on return):
 *   WHARF_EINVAL     bad credentials (wrong or empty password), or a disabled account
 *   WHARF_ENOTFOUND  no such user (or the name matched several entries)
 *   WHARF_EIO        the directory is unreachable, timed out, or refused the service bind / StartTLS
 *   WHARF_EUNSUPPORTED  a configuration the library cannot serve */
#define WHARF_LDAP_EBADCRED WHARF_EINVAL
#define WHARF_LDAP_ENOUSER WHARF_ENOTFOUND
#define WHARF_LDAP_EUNREACHABLE WHARF_EIO

/* Read a JSON configuration file (keys: uri, starttls, ca_file, bind_dn, bind_password or
 * bind_password_file, user_base, user_filter, group_base, group_mode "memberOf"|"member"|"memberUid",
 * group_filter, group_name_attr, display_attr, disabled_filter, timeout_ms, team_map). Unknown keys
 * are refused. */
int wharf_ldap_config_load(struct wharf_ldap_config *out, const char *path, struct wharf_error *err);
/* Same from a parsed JSON object (borrowed). */
int wharf_ldap_config_from_json(struct wharf_ldap_config *out, json_t *obj, struct wharf_error *err);
void wharf_ldap_config_free(struct wharf_ldap_config *cfg);

/* Authenticate: service bind, search user_base with user_filter (the name RFC 4515-escaped),
 * exactly one entry required, refuse an empty password (an unauthenticated bind would
 * "succeed"), simple bind as the entry's DN, then read the groups (as the service account).
 * Fills *out (free with wharf_ldap_user_free). */
int wharf_ldap_authenticate(const struct wharf_ldap_config *cfg, const char *user, const char *password,
			    struct wharf_ldap_user *out, struct wharf_error *err);
/* Look a user up without a password, for scheduled group sync: WHARF_ENOTFOUND when removed,
 * out->disabled when the disabled filter matches. */
int wharf_ldap_lookup(const struct wharf_ldap_config *cfg, const char *user, struct wharf_ldap_user *out,
		      struct wharf_error *err);
void wharf_ldap_user_free(struct wharf_ldap_user *u);
/* The teams ("org/team", sorted, unique) the user's groups map to through team_map. */
void wharf_ldap_map_teams(const struct wharf_ldap_config *cfg, const struct wharf_ldap_user *u,
			  struct wharf_strv *teams);
/* RFC 4515 escape of a filter value: * ( ) \ NUL and bytes >= 0x80 as \XX. Caller frees. */
char *wharf_ldap_escape_filter(const char *value);
/* Substitute every %s of tmpl with the escaped value (%% is a literal %). Caller frees. */
char *wharf_ldap_format_filter(const char *tmpl, const char *value);

/* ---------------------------------------------------------------- authorization */

/* One request to authorize, in the terms both the plugins and the policy file use. Strings are
 * borrowed; NULL means "not known / not applicable". */
struct wharf_authz_request {
	const char *user;             /* "" or NULL for anonymous */
	const char **teams;           /* "org/team" names */
	size_t nteams;
	const char *repository;
	const char *action;           /* pull, push, delete, sign, admin, catalog */
	const char *method;           /* HTTP method */
	const char *uri;              /* request URI */
	const char *tag;              /* tag being pushed or pulled, when the request names one */
	json_t *labels;               /* image config labels (object), borrowed; may be NULL */
	const char *scan_max_severity; /* "NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"; NULL: not scanned */
	int signed_status;            /* 1 signed (trust data names it), 0 unsigned, -1 unknown */
	int64_t now;                  /* seconds since the epoch; 0: wharf_now() */
	const char *remote;           /* client address */
	const char *authn_method;     /* "password", "token", "ldap", ""; the plugins' UserAuthNMethod */
	/* What is known of the image (docs/auth-extensions.md, "What the server passes"): KNOWN (the
	 * default) takes scan_max_severity, signed_status and labels as given (a NULL severity is "not
	 * scanned"); UNKNOWN (wharfd's auth stage, no manifest resolved) makes every rule with a scan,
	 * signed or labels condition not match; PENDING (the first pass of a manifest read, which
	 * wharfd decides again once resolved) makes the first such rule whose other conditions match
	 * defer the decision (allow this pass) to the second pass. */
	enum wharf_image_state {
		WHARF_IMAGE_KNOWN = 0,
		WHARF_IMAGE_UNKNOWN,
		WHARF_IMAGE_PENDING,
	} image;
	const char *digest;           /* the resolved manifest digest (second pass); NULL otherwise */
};

/* What a policy or chain needs to know of the image itself, as bits: the second pass over a
 * resolved manifest runs only when this is not 0. */
enum {
	WHARF_IMAGE_NEEDS_SCAN = 1u << 0,   /* scan.severity_at_least / scan.scanned conditions */
	WHARF_IMAGE_NEEDS_SIGNED = 1u << 1, /* signed conditions */
	WHARF_IMAGE_NEEDS_LABELS = 1u << 2, /* labels conditions */
	WHARF_IMAGE_NEEDS_ALL = 7u,         /* authorization plugins: their needs cannot be known */
};

/* ----- the attribute-based policy file (format in docs/auth-extensions.md) */
struct wharf_policy;
#define WHARF_POLICY_MAX_BYTES (1024 * 1024)
/* Parse a policy document (strict: unknown keys, wrong types and bad values are refused with
 * "rule N: field: ..."). */
int wharf_policy_parse(struct wharf_policy **out, const char *data, size_t len, struct wharf_error *err);
int wharf_policy_load(struct wharf_policy **out, const char *path, struct wharf_error *err);
/* Evaluate: the first rule whose conditions all match decides; else the default effect.
 * reason names the rule ("policy rule 2 (no-critical): deny"). */
void wharf_policy_evaluate(const struct wharf_policy *p, const struct wharf_authz_request *req, bool *allowed,
			   char *reason, size_t reason_len);
void wharf_policy_free(struct wharf_policy *p);
/* Which image attributes (WHARF_IMAGE_NEEDS_* bits) any rule's conditions use; 0 for none. */
unsigned wharf_policy_image_needs(const struct wharf_policy *p);
/* Severity rank: NONE 0, UNKNOWN 0, LOW 1, MEDIUM 2, HIGH 3, CRITICAL 4; -1 for anything else. */
int wharf_severity_rank(const char *s);

/* ----- Docker authorization plugins */
#define WHARF_AUTHZ_MAX_RESPONSE (64 * 1024)
/* Parse a plugin's AuthZReq / AuthZRes answer {"Allow":bool,"Msg":str,"Err":str}. A non-empty Err,
 * or anything not JSON of that shape, is an error (the caller denies). */
int wharf_authz_parse_response(const char *data, size_t len, bool *allow, char *msg, size_t msg_len,
			       struct wharf_error *err);

/* A chain: every plugin (unix socket paths, consulted in order) and then the policy file (may be
 * NULL) must allow. Plugins are activated (POST /Plugin.Activate must list "authz") here. */
struct wharf_authz_chain;
int wharf_authz_chain_new(struct wharf_authz_chain **out, const char *const *plugin_sockets, size_t n,
			  const char *policy_file, struct wharf_error *err);
/* Ask the chain. Returns 0 with *allowed set (reason filled on deny, naming the plugin or rule);
 * an unreachable plugin, a plugin Err, or a malformed answer is a deny (fail closed), also 0. */
int wharf_authz_chain_check(struct wharf_authz_chain *c, const struct wharf_authz_request *req, bool *allowed,
			    char *reason, size_t reason_len, struct wharf_error *err);
/* The response phase (AuthZPlugin.AuthZRes) with the status the handler produced. */
int wharf_authz_chain_check_response(struct wharf_authz_chain *c, const struct wharf_authz_request *req,
				     int status, bool *allowed, char *reason, size_t reason_len,
				     struct wharf_error *err);
void wharf_authz_chain_free(struct wharf_authz_chain *c);
/* WHARF_IMAGE_NEEDS_ALL when the chain has plugins, else the policy's needs (0: none). */
unsigned wharf_authz_chain_image_needs(const struct wharf_authz_chain *c);

/* ---------------------------------------------------------------- audit */

/* Append-only JSON lines; every record is
 *   {"seq":N,"time":"RFC 3339","prev":"sha256:<hash of previous record>",...event...,"hash":"sha256:..."}
 * where hash = sha256(canonical JSON of the record without "hash") and prev of record 1 is
 * sha256 of the empty string. Safe for concurrent use from several threads. */
struct wharf_audit;
/* Open (creating, mode 0600) and resume the chain from the last line; a damaged last line fails. */
int wharf_audit_open(struct wharf_audit **out, const char *path, struct wharf_error *err);
/* Append one event (an object; keys seq, time, prev, hash are reserved). Steals event. Written
 * with one write(2) on an O_APPEND fd and fsync'd before returning. */
int wharf_audit_append(struct wharf_audit *a, json_t *event, struct wharf_error *err);
void wharf_audit_close(struct wharf_audit *a);
/* Verify a whole file. 0 and *records on success; on the first broken record (modified, deleted,
 * reordered, truncated) WHARF_EDIGEST with the seq / line in the message, and *records the number
 * of good records before it. */
int wharf_audit_verify(const char *path, size_t *records, struct wharf_error *err);
/* Like wharf_audit_verify, also reporting the line number and seq of the first bad record
 * (0 when none). */
int wharf_audit_verify_at(const char *path, size_t *records, size_t *bad_line, int64_t *bad_seq,
			  struct wharf_error *err);

/* ---------------------------------------------------------------- one handle for the core */

/* The extensions wharfd runs, from the config file's "access_extensions" object:
 *   {"ldap": "FILE", "authz_plugins": ["SOCKET", ...], "policy": "FILE", "audit_log": "FILE"}
 * every key optional. */
struct wharf_authx_config {
	char *ldap_config;   /* LDAP configuration file (wharf_ldap_config_load) */
	struct wharf_strv plugins;
	char *policy_file;
	char *audit_log;
};
void wharf_authx_config_free(struct wharf_authx_config *cfg);
int wharf_authx_config_from_json(struct wharf_authx_config *out, const json_t *obj, struct wharf_error *err);

struct wharf_authx;
/* Load the LDAP configuration, activate the plugins, parse the policy, open the audit log. */
int wharf_authx_open(struct wharf_authx **out, const struct wharf_authx_config *cfg, struct wharf_error *err);
void wharf_authx_free(struct wharf_authx *x);
/* The LDAP configuration, or NULL when none is configured. */
const struct wharf_ldap_config *wharf_authx_ldap(const struct wharf_authx *x);
/* Ask the plugins and the policy (allowed when neither is configured) and record the decision
 * in the audit log ({"type":"authz",user,action,repository,tag,remote,allowed,reason}). An audit
 * write failure is returned as an error with *allowed false: no unrecorded access. */
int wharf_authx_authorize(struct wharf_authx *x, const struct wharf_authz_request *req, bool *allowed, char *reason,
			  size_t reason_len, struct wharf_error *err);
/* The image attributes the plugins and policy need (WHARF_IMAGE_NEEDS_* bits); 0 without them,
 * and then a manifest read is decided in one pass. NULL-safe. */
unsigned wharf_authx_image_needs(const struct wharf_authx *x);
/* Append an event (stolen) to the audit log; a no-op (0) without one. */
int wharf_authx_audit(struct wharf_authx *x, json_t *event, struct wharf_error *err);
/* Is an audit log open? NULL-safe. */
bool wharf_authx_audit_enabled(const struct wharf_authx *x);

#endif
