/* The client's half of staged k-of-n changes: one signature over a signed object, what a change
 * changes (for a signer to see before approving), and root edits of a role's keys and threshold. */
#include <stdio.h>
#include <string.h>

#include "wharf/json.h"
#include "wharf/trust.h"

int wharf_trust_signature_of(const json_t *signed_obj, struct wharf_key *key, json_t **out, struct wharf_error *err)
{
	*out = NULL;
	struct wharf_buf doc;
	wharf_buf_init(&doc);
	json_t *parsed = NULL;
	int r = wharf_tuf_sign(signed_obj, &key, 1, &doc, err);
	if (r == 0)
		r = wharf_json_parse(&parsed, doc.data, doc.len, WHARF_TUF_FILE_MAX, err);
	if (r == 0) {
		*out = json_incref(json_array_get(json_object_get(parsed, "signatures"), 0));
		json_decref(parsed);
	}
	wharf_buf_free(&doc);
	return r;
}

/* Names in object a not in b (or, with both, whose values differ) appended to out. */
static void object_diff(const json_t *a, const json_t *b, bool changed, json_t *out)
{
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)a, name, v) {
		json_t *w = json_object_get(b, name);
		if ((!changed && !w) || (changed && w && !json_equal(v, w)))
			json_array_append_new(out, json_string(name));
	}
}

static json_t *by_name(const json_t *roles)
{
	json_t *o = json_object();
	size_t i;
	json_t *d;
	json_array_foreach(roles, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name)
			json_object_set(o, name, d);
	}
	return o;
}

static json_t *keyids_diff(const json_t *old_ids, const json_t *new_ids, bool added)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(added ? new_ids : old_ids, i, v)
		if (json_is_string(v) && !wharf_json_array_has_string(added ? old_ids : new_ids, json_string_value(v)))
			json_array_append(out, v);
	return out;
}

/* {role: {threshold: [old, new], keys_added, keys_removed}} for roles (root's "roles" object, or
 * delegations by name) that differ. */
static json_t *roles_diff(const json_t *old_roles, const json_t *new_roles)
{
	json_t *out = json_object();
	const char *name;
	json_t *n;
	json_object_foreach((json_t *)new_roles, name, n) {
		json_t *o = json_object_get(old_roles, name);
		if (!o || json_equal(o, n))
			continue;
		json_t *d = json_pack("{s:[O,O], s:o, s:o}", "threshold", json_object_get(o, "threshold"),
				      json_object_get(n, "threshold"), "keys_added",
				      keyids_diff(json_object_get(o, "keyids"), json_object_get(n, "keyids"), true),
				      "keys_removed",
				      keyids_diff(json_object_get(o, "keyids"), json_object_get(n, "keyids"), false));
		if (!json_equal(json_object_get(o, "paths"), json_object_get(n, "paths")) && json_object_get(n, "paths"))
			json_object_set(d, "paths", json_object_get(n, "paths"));
		json_object_set_new(out, name, d);
	}
	return out;
}

json_t *wharf_trust_change_diff(const json_t *old_signed, const json_t *new_signed)
{
	json_t *out = json_object();
	if (json_object_get(new_signed, "targets")) {
		const json_t *ot = json_object_get(old_signed, "targets"), *nt = json_object_get(new_signed, "targets");
		json_t *t = json_pack("{s:[], s:[], s:[]}", "added", "removed", "changed");
		object_diff(nt, ot, false, json_object_get(t, "added"));
		object_diff(ot, nt, false, json_object_get(t, "removed"));
		object_diff(nt, ot, true, json_object_get(t, "changed"));
		json_object_set_new(out, "targets", t);
		json_t *od = by_name(json_object_get(json_object_get(old_signed, "delegations"), "roles"));
		json_t *nd = by_name(json_object_get(json_object_get(new_signed, "delegations"), "roles"));
		json_t *d = json_pack("{s:[], s:[], s:o}", "added", "removed", "changed", roles_diff(od, nd));
		object_diff(nd, od, false, json_object_get(d, "added"));
		object_diff(od, nd, false, json_object_get(d, "removed"));
		json_object_set_new(out, "delegations", d);
		json_decref(od);
		json_decref(nd);
	} else {
		json_object_set_new(out, "roles", roles_diff(json_object_get(old_signed, "roles"),
							     json_object_get(new_signed, "roles")));
	}
	return out;
}

/* Put key into root's keys and role's keyids (once). */
static void add_root_key(json_t *keys, json_t *entry, const struct wharf_key *k)
{
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	json_object_set_new(keys, id, wharf_key_to_json(k, WHARF_DIALECT_NOTARY));
	json_t *ids = json_object_get(entry, "keyids");
	if (!wharf_json_array_has_string(ids, id))
		json_array_append_new(ids, json_string(id));
}

/* Take the key with ID (or unique ID prefix) id out of a role entry's keyids. */
static int remove_keyid(json_t *entry, const char *role, const char *id, struct wharf_error *err)
{
	json_t *ids = json_object_get(entry, "keyids");
	ssize_t found = -1;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v) || !wharf_str_has_prefix(json_string_value(v), id))
			continue;
		if (found >= 0)
			return wharf_error_set(err, WHARF_EINVAL, "key ID prefix %.64s names more than one key of %s", id, role);
		found = (ssize_t)i;
	}
	if (found < 0 || !*id)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no key %.64s", role, id);
	json_array_remove(ids, (size_t)found);
	return 0;
}

/* Drop the keys no role of root lists any more. */
static void prune_root_keys(json_t *s)
{
	json_t *keys = json_object_get(s, "keys"), *roles = json_object_get(s, "roles");
	const char *id;
	json_t *v, *tmp;
	json_object_foreach_safe(keys, tmp, id, v) {
		bool used = false;
		const char *name;
		json_t *entry;
		json_object_foreach(roles, name, entry)
			used = used || wharf_json_array_has_string(json_object_get(entry, "keyids"), id);
		if (!used)
			json_object_del(keys, id);
	}
}

int wharf_trust_root_set_role(json_t **out, const struct wharf_trust_repo *r, const char *role,
			      struct wharf_key *const *add, size_t n, const char *const *remove, size_t nremove,
			      int64_t threshold, int64_t expires, struct wharf_error *err)
{
	*out = NULL;
	if (strcmp(role, "root") != 0 && strcmp(role, "targets") != 0 && strcmp(role, "snapshot") != 0 &&
	    strcmp(role, "timestamp") != 0)
		return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a role root lists", role);
	ssize_t idx = wharf_trust_repo_find(r, "root");
	if (idx < 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s has no trusted root", wharf_trust_repo_gun(r));
	for (size_t i = 0; i < n; i++) {
		enum wharf_key_type t = wharf_key_type(add[i]);
		if (!strcmp(role, "root") && t != WHARF_KEY_ECDSA_X509 && t != WHARF_KEY_RSA_X509)
			return wharf_error_set(err, WHARF_EINVAL, "a root key must be a certificate key (CN=%s), not %s",
					       wharf_trust_repo_gun(r), wharf_key_type_name(t));
	}
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	json_t *s = json_deep_copy(ri.meta->signed_obj);
	json_t *keys = json_object_get(s, "keys");
	json_t *entry = json_object_get(json_object_get(s, "roles"), role);
	if (!json_is_object(keys) || !json_is_object(entry) || !json_is_array(json_object_get(entry, "keyids"))) {
		json_decref(s);
		return wharf_error_set(err, WHARF_EINVAL, "root version %lld has no %s role", (long long)ri.meta->version, role);
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nremove; i++)
		rc = remove_keyid(entry, role, remove[i], err);
	if (rc < 0) {
		json_decref(s);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		add_root_key(keys, entry, add[i]);
	prune_root_keys(s);
	size_t nkeys = json_array_size(json_object_get(entry, "keyids"));
	if (threshold > 0)
		json_object_set_new(entry, "threshold", json_integer(threshold));
	json_int_t th = json_integer_value(json_object_get(entry, "threshold"));
	if (th < 1 || (size_t)th > nkeys) {
		json_decref(s);
		return wharf_error_set(err, WHARF_EINVAL, "%s: a threshold of %lld needs at least that many keys (it has %zu)",
				       role, (long long)th, nkeys);
	}
	char exp[32];
	wharf_time_format_rfc3339(expires, exp);
	json_object_set_new(s, "version", json_integer(ri.meta->version + 1));
	json_object_set_new(s, "expires", json_string(exp));
	*out = s;
	return 0;
}
