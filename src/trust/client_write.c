/* The trust client's writing half: new roots, targets edits and snapshots in Notary's dialect,
 * built over verified metadata and signed with the client's keys. */
#include <stdio.h>
#include <string.h>

#include "wharf/json.h"
#include "wharf/trust.h"

static char *expires_str(int64_t t)
{
	char s[32];
	wharf_time_format_rfc3339(t, s);
	return wharf_xstrdup(s);
}

/* Sign (taking signed_obj) with one key into out, in the byte form Notary's client uploads:
 * {"signed":<canonical>,"signatures":[{"keyid","method","sig"}]} in Go's field order. notary-server
 * hashes its own re-encoding of root and targets when it makes a first snapshot; bytes in any
 * other order would not match that snapshot. */
static int sign_one(json_t *signed_obj, struct wharf_key *key, struct wharf_buf *out, struct wharf_error *err)
{
	struct wharf_buf canon, sig;
	wharf_buf_init(&canon);
	wharf_buf_init(&sig);
	const char *method = NULL;
	int r = wharf_json_canonical(signed_obj, WHARF_CANON_NOTARY, &canon, err);
	if (r == 0)
		r = wharf_key_sign(key, WHARF_DIALECT_NOTARY, canon.data, canon.len, &sig, &method, err);
	if (r == 0) {
		char id[65];
		wharf_key_id(key, WHARF_DIALECT_NOTARY, id);
		_cleanup_free_ char *b64 = wharf_base64_encode(sig.data, sig.len);
		wharf_buf_puts(out, "{\"signed\":");
		wharf_buf_append(out, canon.data, canon.len);
		wharf_buf_printf(out, ",\"signatures\":[{\"keyid\":\"%s\",\"method\":", id);
		wharf_buf_json_string(out, method);
		wharf_buf_printf(out, ",\"sig\":\"%s\"}]}", b64);
	}
	wharf_buf_free(&canon);
	wharf_buf_free(&sig);
	json_decref(signed_obj);
	return r;
}

static json_t *role_of(json_t *keys, const struct wharf_key *k)
{
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	json_object_set_new(keys, id, wharf_key_to_json(k, WHARF_DIALECT_NOTARY));
	return json_pack("{s:[s], s:i}", "keyids", id, "threshold", 1);
}

int wharf_trust_root_new(struct wharf_buf *out, struct wharf_key *root, const struct wharf_key *targets,
			 const struct wharf_key *snapshot, const struct wharf_key *timestamp, int64_t expires,
			 struct wharf_error *err)
{
	if (wharf_key_type(root) != WHARF_KEY_ECDSA_X509 && wharf_key_type(root) != WHARF_KEY_RSA_X509)
		return wharf_error_set(err, WHARF_EINVAL, "a root key must be a certificate key, not %s",
				       wharf_key_type_name(wharf_key_type(root)));
	json_t *keys = json_object();
	json_t *roles = json_object();
	json_object_set_new(roles, "root", role_of(keys, root));
	json_object_set_new(roles, "targets", role_of(keys, targets));
	json_object_set_new(roles, "snapshot", role_of(keys, snapshot));
	json_object_set_new(roles, "timestamp", role_of(keys, timestamp));
	_cleanup_free_ char *exp = expires_str(expires);
	json_t *s = json_pack("{s:s, s:b, s:s, s:o, s:o, s:i}", "_type", "Root", "consistent_snapshot", 0, "expires", exp,
			      "keys", keys, "roles", roles, "version", 1);
	return sign_one(s, root, out, err);
}

int wharf_trust_targets_new(struct wharf_buf *out, struct wharf_key *key, int64_t expires, struct wharf_error *err)
{
	_cleanup_free_ char *exp = expires_str(expires);
	json_t *s = json_pack("{s:s, s:{s:{}, s:[]}, s:s, s:{}, s:i}", "_type", "Targets", "delegations", "keys", "roles",
			      "expires", exp, "targets", "version", 1);
	return sign_one(s, key, out, err);
}

int wharf_trust_snapshot_new(struct wharf_buf *out, const char *root, size_t root_len, const char *targets,
			     size_t targets_len, struct wharf_key *key, int64_t expires, struct wharf_error *err)
{
	_cleanup_free_ char *exp = expires_str(expires);
	json_t *s = json_pack("{s:s, s:s, s:{s:o, s:o}, s:i}", "_type", "Snapshot", "expires", exp, "meta", "root",
			      wharf_tuf_file_meta(root, root_len), "targets", wharf_tuf_file_meta(targets, targets_len),
			      "version", 1);
	return sign_one(s, key, out, err);
}

/* Is key one of the role's keys? The message names the role and the key. */
static int check_key_of(const struct wharf_trust_role_info *ri, const struct wharf_key *key, struct wharf_error *err)
{
	char id[65];
	wharf_key_id(key, WHARF_DIALECT_NOTARY, id);
	size_t i;
	json_t *v;
	json_array_foreach(ri->keyids, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), id))
			return 0;
	return wharf_error_set(err, WHARF_EINVAL, "key %.16s is not a key of %s (its keys: %zu; threshold %lld)", id,
			       ri->name, json_array_size(ri->keyids), (long long)ri->threshold);
}

int wharf_trust_targets_edit(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
			     const char *name, const char *sha256hex, uint64_t length, struct wharf_key *key,
			     int64_t expires, struct wharf_error *err)
{
	ssize_t idx = wharf_trust_repo_find(r, role);
	if (idx < 0 || (strcmp(role, "targets") != 0 && !wharf_str_has_prefix(role, "targets/")))
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no %s role with published metadata",
				       wharf_trust_repo_gun(r), role);
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	if (ri.threshold > 1)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "%s needs %lld signatures; signing with one key is not enough",
				       role, (long long)ri.threshold);
	int rc = check_key_of(&ri, key, err);
	if (rc < 0)
		return rc;
	json_t *s = json_deep_copy(ri.meta->signed_obj);
	json_t *targets = json_object_get(s, "targets");
	if (sha256hex) {
		struct wharf_buf raw;
		wharf_buf_init(&raw);
		rc = wharf_hex_decode(sha256hex, &raw, err);
		if (rc >= 0 && raw.len != 32)
			rc = wharf_error_set(err, WHARF_EINVAL, "a sha256 digest is 64 hex digits, not '%.80s'", sha256hex);
		if (rc >= 0) {
			_cleanup_free_ char *b64 = wharf_base64_encode(raw.data, raw.len);
			json_object_set_new(targets, name, json_pack("{s:I, s:{s:s}}", "length", (json_int_t)length, "hashes",
								     "sha256", b64));
			rc = 0;
		}
		wharf_buf_free(&raw);
	} else if (json_object_del(targets, name) != 0) {
		rc = wharf_error_set(err, WHARF_ENOTFOUND, "%s does not sign a target '%.200s'", role, name);
	}
	if (rc < 0) {
		json_decref(s);
		return rc;
	}
	_cleanup_free_ char *exp = expires_str(expires);
	json_object_set_new(s, "version", json_integer(ri.meta->version + 1));
	json_object_set_new(s, "expires", json_string(exp));
	return sign_one(s, key, out, err);
}

int wharf_trust_snapshot_next(struct wharf_buf *out, const struct wharf_trust_repo *r,
			      const struct wharf_tuf_upload *changed, size_t n, struct wharf_key *key, int64_t expires,
			      struct wharf_error *err)
{
	ssize_t idx = wharf_trust_repo_find(r, "snapshot");
	if (idx < 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no snapshot", wharf_trust_repo_gun(r));
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	int rc = check_key_of(&ri, key, err);
	if (rc < 0)
		return rc;
	json_t *s = json_deep_copy(ri.meta->signed_obj);
	json_t *meta = json_object_get(s, "meta");
	for (size_t i = 0; i < n; i++)
		json_object_set_new(meta, changed[i].role, wharf_tuf_file_meta(changed[i].data, changed[i].len));
	_cleanup_free_ char *exp = expires_str(expires);
	json_object_set_new(s, "version", json_integer(ri.meta->version + 1));
	json_object_set_new(s, "expires", json_string(exp));
	return sign_one(s, key, out, err);
}
