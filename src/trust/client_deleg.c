/* Delegations in Notary's dialect: a targets role's "delegations" object lists, per delegated
 * role, its key IDs, threshold and path prefixes, with the keys themselves in delegations.keys.
 * Editing a delegation changes the delegator's metadata only; the delegated role's own metadata
 * stays as it was (it is judged by whatever keys the delegator now lists). */
#include <stdio.h>
#include <string.h>

#include "wharf/json.h"
#include "wharf/trust.h"

void wharf_trust_deleg_parent(const char *role, char *out, size_t n)
{
	snprintf(out, n, "%s", role);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
}

static bool is_targets_role(const char *role)
{
	return !strcmp(role, "targets") || wharf_str_has_prefix(role, "targets/");
}

json_t *wharf_trust_deleg_edit_begin(const struct wharf_trust_repo *r, const char *role)
{
	ssize_t idx = wharf_trust_repo_find(r, role);
	if (idx < 0 || !is_targets_role(role))
		return NULL;
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	return json_deep_copy(ri.meta->signed_obj);
}

/* delegations of a targets signed object, made well-formed ({keys:{}, roles:[]}) when missing. */
static json_t *delegations_of(json_t *signed_obj)
{
	json_t *d = json_object_get(signed_obj, "delegations");
	if (!json_is_object(d)) {
		d = json_object();
		json_object_set_new(signed_obj, "delegations", d);
	}
	if (!json_is_object(json_object_get(d, "keys")))
		json_object_set_new(d, "keys", json_object());
	if (!json_is_array(json_object_get(d, "roles")))
		json_object_set_new(d, "roles", json_array());
	return d;
}

json_t *wharf_trust_deleg_find(const json_t *signed_obj, const char *role)
{
	json_t *roles = json_object_get(json_object_get(signed_obj, "delegations"), "roles");
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name && !strcmp(name, role))
			return d;
	}
	return NULL;
}

int wharf_trust_deleg_add_keys(json_t *signed_obj, const char *role, struct wharf_key *const *keys, size_t n,
			       const json_t *paths, int64_t threshold, struct wharf_error *err)
{
	if (!wharf_tuf_valid_role(role) || !wharf_str_has_prefix(role, "targets/"))
		return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a delegated role name (targets/NAME)", role);
	json_t *dels = delegations_of(signed_obj);
	json_t *d = wharf_trust_deleg_find(signed_obj, role);
	if (!d) {
		d = json_pack("{s:s, s:[], s:i, s:[s]}", "name", role, "keyids", "threshold", 1, "paths", "");
		json_array_append_new(json_object_get(dels, "roles"), d);
	}
	json_t *ids = json_object_get(d, "keyids");
	if (!json_is_array(ids)) {
		ids = json_array();
		json_object_set_new(d, "keyids", ids);
	}
	for (size_t i = 0; i < n; i++) {
		char id[65];
		wharf_key_id(keys[i], WHARF_DIALECT_NOTARY, id);
		json_object_set_new(json_object_get(dels, "keys"), id, wharf_key_to_json(keys[i], WHARF_DIALECT_NOTARY));
		if (!wharf_json_array_has_string(ids, id))
			json_array_append_new(ids, json_string(id));
	}
	if (paths)
		json_object_set_new(d, "paths", json_deep_copy(paths));
	if (threshold > 0)
		json_object_set_new(d, "threshold", json_integer(threshold));
	json_int_t th = json_integer_value(json_object_get(d, "threshold"));
	if (th < 1 || (size_t)th > json_array_size(ids))
		return wharf_error_set(err, WHARF_EINVAL, "%s: a threshold of %lld needs at least that many keys (it has %zu)",
				       role, (long long)th, json_array_size(ids));
	return 0;
}

/* Drop the keys of delegations.keys that no delegated role lists. */
static void prune_keys(json_t *dels)
{
	json_t *keys = json_object_get(dels, "keys");
	json_t *roles = json_object_get(dels, "roles");
	const char *id;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(keys, tmp, id, v) {
		bool used = false;
		size_t i;
		json_t *d;
		json_array_foreach(roles, i, d)
			used = used || wharf_json_array_has_string(json_object_get(d, "keyids"), id);
		if (!used)
			json_object_del(keys, id);
	}
}

int wharf_trust_deleg_remove_keys(json_t *signed_obj, const char *role, const char *const *keyids, size_t n,
				  bool *removed_role, struct wharf_error *err)
{
	*removed_role = false;
	json_t *d = wharf_trust_deleg_find(signed_obj, role);
	if (!d)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%.100s is not delegated", role);
	json_t *ids = json_object_get(d, "keyids");
	size_t before = json_array_size(ids);
	if (n == 0)
		json_array_clear(ids);
	for (size_t k = 0; k < n; k++) {
		for (size_t i = json_array_size(ids); i-- > 0;)
			if (!strcmp(json_string_value(json_array_get(ids, i)) ? json_string_value(json_array_get(ids, i)) : "",
				    keyids[k]))
				json_array_remove(ids, i);
	}
	if (n > 0 && json_array_size(ids) == before)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s lists none of the keys to remove", role);
	json_t *dels = json_object_get(signed_obj, "delegations");
	size_t left = json_array_size(ids);
	if (left == 0) {
		json_t *roles = json_object_get(dels, "roles");
		for (size_t i = 0; i < json_array_size(roles); i++)
			if (json_array_get(roles, i) == d) {
				json_array_remove(roles, i);
				break;
			}
		*removed_role = true;
	} else if (json_integer_value(json_object_get(d, "threshold")) > (json_int_t)left) {
		/* Revocation must not be blocked by a threshold the remaining keys cannot meet. */
		json_object_set_new(d, "threshold", json_integer((json_int_t)left));
	}
	prune_keys(dels);
	return 0;
}

static char *expires_str(int64_t t)
{
	char s[32];
	wharf_time_format_rfc3339(t, s);
	return wharf_xstrdup(s);
}

static int key_listed(const json_t *keyids, const struct wharf_key *key, const char *role, int64_t threshold,
		      struct wharf_error *err)
{
	char id[65];
	wharf_key_id(key, WHARF_DIALECT_NOTARY, id);
	if (!wharf_json_array_has_string(keyids, id))
		return wharf_error_set(err, WHARF_EINVAL, "key %.16s is not a key of %s (its keys: %zu; threshold %lld)", id,
				       role, json_array_size(keyids), (long long)threshold);
	return 0; /* with a threshold k > 1 this is the first of k signatures (a staged change) */
}

int wharf_trust_deleg_edit_finish(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
				  json_t *signed_obj, struct wharf_key *key, int64_t expires, struct wharf_error *err)
{
	ssize_t idx = wharf_trust_repo_find(r, role);
	if (idx < 0 || !is_targets_role(role)) {
		json_decref(signed_obj);
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no %s role with published metadata",
				       wharf_trust_repo_gun(r), role);
	}
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	int rc = key_listed(ri.keyids, key, role, ri.threshold, err);
	if (rc < 0) {
		json_decref(signed_obj);
		return rc;
	}
	_cleanup_free_ char *exp = expires_str(expires);
	json_object_set_new(signed_obj, "version", json_integer(ri.meta->version + 1));
	json_object_set_new(signed_obj, "expires", json_string(exp));
	return wharf_trust_sign_signed(signed_obj, &key, 1, out, err);
}

/* A delegated role with no verified metadata (none published yet, or only by keys its delegator
 * no longer lists), holding one target. */
static int deleg_first(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role, const char *name,
		       const char *sha256hex, uint64_t length, struct wharf_key *key, int64_t version, int64_t expires,
		       struct wharf_error *err)
{
	char parent[256];
	wharf_trust_deleg_parent(role, parent, sizeof(parent));
	ssize_t pidx = wharf_trust_repo_find(r, parent);
	json_t *d = NULL;
	struct wharf_trust_role_info pi;
	if (pidx >= 0) {
		wharf_trust_repo_role(r, (size_t)pidx, &pi);
		d = wharf_trust_deleg_find(pi.meta->signed_obj, role);
	}
	if (!d)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s does not delegate %s (add a signer first)",
				       pidx >= 0 ? parent : wharf_trust_repo_gun(r), role);
	if (!sha256hex)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s does not sign a target '%.200s'", role, name);
	int rc = key_listed(json_object_get(d, "keyids"), key, role, json_integer_value(json_object_get(d, "threshold")),
			    err);
	struct wharf_buf raw;
	wharf_buf_init(&raw);
	if (rc == 0 && (rc = wharf_hex_decode(sha256hex, &raw, err)) >= 0)
		rc = raw.len == 32 ? 0 : wharf_error_set(err, WHARF_EINVAL, "a sha256 digest is 64 hex digits");
	if (rc < 0) {
		wharf_buf_free(&raw);
		return rc;
	}
	_cleanup_free_ char *b64 = wharf_base64_encode(raw.data, raw.len);
	wharf_buf_free(&raw);
	_cleanup_free_ char *exp = expires_str(expires);
	json_t *s = json_pack("{s:s, s:{s:{}, s:[]}, s:s, s:{s:{s:I, s:{s:s}}}, s:I}", "_type", "Targets", "delegations",
			      "keys", "roles", "expires", exp, "targets", name, "length", (json_int_t)length, "hashes",
			      "sha256", b64, "version", (json_int_t)(version > 0 ? version : 1));
	return wharf_trust_sign_signed(s, &key, 1, out, err);
}

int wharf_trust_deleg_sign_target(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
				  const char *name, const char *sha256hex, uint64_t length, struct wharf_key *key,
				  int64_t first_version, int64_t expires, struct wharf_error *err)
{
	if (!wharf_tuf_valid_role(role) || !wharf_str_has_prefix(role, "targets/"))
		return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a delegated role name (targets/NAME)", role);
	if (wharf_trust_repo_find(r, role) >= 0)
		return wharf_trust_targets_edit(out, r, role, name, sha256hex, length, key, expires, err);
	return deleg_first(out, r, role, name, sha256hex, length, key, first_version, expires, err);
}
