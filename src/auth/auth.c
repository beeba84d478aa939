#include <stdio.h>
#include <string.h>

#include "wharf/auth.h"

struct wharf_auth {
	int mode; /* 0: allow all */
};

struct wharf_auth *wharf_auth_allow_all(void)
{
	return wharf_xcalloc(1, sizeof(struct wharf_auth));
}

void wharf_auth_free(struct wharf_auth *a)
{
	free(a);
}

const char *wharf_action_name(enum wharf_action action)
{
	switch (action) {
	case WHARF_ACTION_PULL: return "pull";
	case WHARF_ACTION_PUSH: return "push";
	case WHARF_ACTION_DELETE: return "delete";
	case WHARF_ACTION_CATALOG: return "catalog";
	case WHARF_ACTION_ADMIN: return "admin";
	}
	return "unknown";
}

void wharf_auth_decide(struct wharf_auth *a, const struct wharf_access *access,
		       struct wharf_auth_decision *out)
{
	(void)a;
	memset(out, 0, sizeof(*out));
	out->allowed = true;
	snprintf(out->subject, sizeof(out->subject), "anonymous");
	snprintf(out->reason, sizeof(out->reason), "allow-all: %s on %s", wharf_action_name(access->action),
		 access->repository ? access->repository : "registry");
}
