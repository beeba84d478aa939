/* The trust service's own files: what server.c shares with pending.c. */
#ifndef WHARF_TRUST_INTERNAL_H
#define WHARF_TRUST_INTERNAL_H

#include "wharf/trust.h"

/* wharf_trust_publish for a caller that already holds the GUN's lock. */
int trust_publish_locked(struct wharf_trust *t, const char *gun, const struct wharf_tuf_upload *files, size_t n,
			 struct wharf_error *err);

/* Does this server hold a key of role (snapshot, timestamp) that root lists? */
bool trust_holds_key(struct wharf_trust *t, const char *gun, const char *role, const struct wharf_tuf_meta *root);

/* The audit hook (wharf_trust_set_audit): is it set, and record one event (fields stolen). */
bool trust_audit_enabled(const struct wharf_trust *t);
void trust_audit(struct wharf_trust *t, struct wharf_http_request *req, const char *type, json_t *fields);

#endif
