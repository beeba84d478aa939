/* The trust client re-signs root before it expires: the same content as a new version. */
#include <string.h>

#include "wharf/trust.h"

int wharf_trust_root_resign(struct wharf_buf *out, const struct wharf_trust_repo *r, struct wharf_key *const *signers,
			    size_t nsigners, int64_t expires, struct wharf_error *err)
{
	ssize_t idx = wharf_trust_repo_find(r, "root");
	if (idx < 0 || nsigners == 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: a new root needs the trusted root and a signing key",
				       wharf_trust_repo_gun(r));
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	json_t *s = json_deep_copy(ri.meta->signed_obj);
	char exp[32];
	wharf_time_format_rfc3339(expires, exp);
	json_object_set_new(s, "version", json_integer(ri.meta->version + 1));
	json_object_set_new(s, "expires", json_string(exp));
	return wharf_trust_sign_signed(s, signers, nsigners, out, err);
}
