/* auth: the one stage every request passes before a handler runs. Today it allows all;
 * access control (issue: users, teams, tokens, plugins) plugs in here without touching handlers. */
#ifndef WHARF_AUTH_H
#define WHARF_AUTH_H

#include "wharf/util.h"

enum wharf_action {
	WHARF_ACTION_PULL,
	WHARF_ACTION_PUSH,
	WHARF_ACTION_DELETE,
	WHARF_ACTION_CATALOG,
	WHARF_ACTION_ADMIN,
};

struct wharf_access {
	const char *repository;    /* NULL for registry-wide actions */
	enum wharf_action action;
	const char *authorization; /* the request's Authorization header, or NULL */
	const char *remote;        /* client address */
};

struct wharf_auth_decision {
	bool allowed;
	unsigned status;              /* 401 or 403 when not allowed */
	char www_authenticate[512];   /* for 401 */
	char subject[128];            /* who, for the access log ("anonymous" today) */
	char reason[256];
};

struct wharf_auth;
struct wharf_auth *wharf_auth_allow_all(void);
void wharf_auth_free(struct wharf_auth *a);
const char *wharf_action_name(enum wharf_action action);
void wharf_auth_decide(struct wharf_auth *a, const struct wharf_access *access,
		       struct wharf_auth_decision *out);

#endif
