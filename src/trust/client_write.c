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

/* Sign (taking signed_obj) with keys into out, in the byte form Notary's client uploads:
 * {"signed":<canonical>,"signatures":[{"keyid","method","sig"},..]} in Go's field order. notary-server
 * hashes its own re-encoding of root and targets when it makes a first snapshot; bytes in any
 * other order would not match that snapshot. */
static int sign_keys(json_t *signed_obj, struct wharf_key *const *keys, size_t n, struct wharf_buf *out,
		     struct wharf_error *err)
{
	struct wharf_buf canon, sig, sigs;
	wharf_buf_init(&canon);
	wharf_buf_init(&sig);
	wharf_buf_init(&sigs);
	int r = wharf_json_canonical(signed_obj, WHARF_CANON_NOTARY, &canon, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *method = NULL;
		sig.len = 0;
		r = wharf_key_sign(keys[i], WHARF_DIALECT_NOTARY, canon.data, canon.len, &sig, &method, err);
		if (r < 0)
			break;
		char id[65];
		wharf_key_id(keys[i], WHARF_DIALECT_NOTARY, id);
		_cleanup_free_ char *b64 = wharf_base64_encode(sig.data, sig.len);
		wharf_buf_printf(&sigs, "%s{\"keyid\":\"%s\",\"method\":", i ? "," : "", id);
		wharf_buf_json_string(&sigs, method);
		wharf_buf_printf(&sigs, ",\"sig\":\"%s\"}", b64);
	}
	if (r == 0) {
		wharf_buf_puts(out, "{\"signed\":");
		wharf_buf_append(out, canon.data, canon.len);
		wharf_buf_puts(out, ",\"signatures\":[");
		wharf_buf_append(out, sigs.data ? sigs.data : "", sigs.len);
		wharf_buf_puts(out, "]}");
	}
	wharf_buf_free(&canon);
	wharf_buf_free(&sig);
	wharf_buf_free(&sigs);
	json_decref(signed_obj);
	return r;
}

static int sign_one(json_t *signed_obj, struct wharf_key *key, struct wharf_buf *out, struct wharf_error *err)
{
	return sign_keys(signed_obj, &key, 1, out, err);
}

int wharf_trust_sign_signed(json_t *signed_obj, struct wharf_key *const *keys, size_t n, struct wharf_buf *out,
			    struct wharf_error *err)
{
	return sign_keys(signed_obj, keys, n, out, err);
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
	if (wharf_json_array_has_string(ri->keyids, id))
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
	/* A role needing k > 1 signatures gets this one; the others come by `wharf trust approve`. */
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

/* The next version of a role's signed object: a copy with version+1 and a new expiry. */
static json_t *next_signed(const struct wharf_trust_role_info *ri, int64_t expires)
{
	json_t *s = json_deep_copy(ri->meta->signed_obj);
	_cleanup_free_ char *exp = expires_str(expires);
	json_object_set_new(s, "version", json_integer(ri->meta->version + 1));
	json_object_set_new(s, "expires", json_string(exp));
	return s;
}

int wharf_trust_role_resign(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
			    const struct wharf_tuf_upload *changed, size_t n, struct wharf_key *key, int64_t expires,
			    struct wharf_error *err)
{
	ssize_t idx = wharf_trust_repo_find(r, role);
	if (idx < 0 || !strcmp(role, "root") || !strcmp(role, "timestamp"))
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s has no %s role this client can re-sign",
				       wharf_trust_repo_gun(r), role);
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	json_t *s = next_signed(&ri, expires);
	json_t *meta = json_object_get(s, "meta");
	for (size_t i = 0; meta && !strcmp(role, "snapshot") && i < n; i++)
		json_object_set_new(meta, changed[i].role, wharf_tuf_file_meta(changed[i].data, changed[i].len));
	return sign_one(s, key, out, err);
}

/* Drop the keys no role lists any more, as Notary does after a rotation. */
static void prune_keys(json_t *keys, const json_t *roles)
{
	const char *id;
	json_t *v, *role;
	void *tmp;
	json_object_foreach_safe(keys, tmp, id, v) {
		bool used = false;
		const char *name;
		json_object_foreach((json_t *)roles, name, role) {
			size_t i;
			json_t *k;
			json_array_foreach(json_object_get(role, "keyids"), i, k)
				used = used || (json_is_string(k) && !strcmp(json_string_value(k), id));
		}
		if (!used)
			json_object_del(keys, id);
	}
}

int wharf_trust_root_rotate(struct wharf_buf *out, const struct wharf_trust_repo *r, const char *role,
			    const struct wharf_key *new_key, struct wharf_key *const *signers, size_t nsigners,
			    int64_t expires, struct wharf_error *err)
{
	static const char *const top[] = {"root", "targets", "snapshot", "timestamp"};
	bool known = false;
	for (size_t i = 0; i < 4; i++)
		known = known || !strcmp(role, top[i]);
	if (!known)
		return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a role root lists", role);
	enum wharf_key_type t = wharf_key_type(new_key);
	if (!strcmp(role, "root") && t != WHARF_KEY_ECDSA_X509 && t != WHARF_KEY_RSA_X509)
		return wharf_error_set(err, WHARF_EINVAL, "a root key must be a certificate key, not %s",
				       wharf_key_type_name(t));
	ssize_t idx = wharf_trust_repo_find(r, "root");
	if (idx < 0 || nsigners == 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: a new root needs the trusted root and a signing key",
				       wharf_trust_repo_gun(r));
	struct wharf_trust_role_info ri;
	wharf_trust_repo_role(r, (size_t)idx, &ri);
	json_t *s = next_signed(&ri, expires);
	json_t *keys = json_object_get(s, "keys"), *roles = json_object_get(s, "roles");
	if (!json_is_object(keys) || !json_is_object(roles)) {
		json_decref(s);
		return wharf_error_set(err, WHARF_EINVAL, "root version %lld has no keys or roles", (long long)ri.meta->version);
	}
	json_object_set_new(roles, role, role_of(keys, new_key));
	prune_keys(keys, roles);
	return sign_keys(s, signers, nsigners, out, err);
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
	return wharf_trust_role_resign(out, r, "snapshot", changed, n, key, expires, err);
}
