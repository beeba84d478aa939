/* One handle over the extensions, so the auth core wires LDAP, the authorization chain and the
 * audit log with a few calls. */
#include <stdio.h>
#include <string.h>

#include "wharf/authx.h"

struct wharf_authx {
	bool have_ldap;
	struct wharf_ldap_config ldap;
	struct wharf_authz_chain *chain;
	struct wharf_audit *audit;
};

void wharf_authx_config_free(struct wharf_authx_config *cfg)
{
	free(cfg->ldap_config);
	free(cfg->policy_file);
	free(cfg->audit_log);
	wharf_strv_free(&cfg->plugins);
	memset(cfg, 0, sizeof(*cfg));
}

static int path_value(const char *key, const json_t *v, char **out, struct wharf_error *err)
{
	if (!json_is_string(v) || !*json_string_value(v))
		return wharf_error_set(err, WHARF_EINVAL, "access_extensions: %s: must be a file path", key);
	free(*out);
	*out = wharf_xstrdup(json_string_value(v));
	return 0;
}

static int plugins_value(const json_t *v, struct wharf_strv *out, struct wharf_error *err)
{
	size_t i;
	const json_t *e;
	if (!json_is_array(v))
		return wharf_error_set(err, WHARF_EINVAL, "access_extensions: authz_plugins: must be an array of sockets");
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !*json_string_value(e))
			return wharf_error_set(err, WHARF_EINVAL, "access_extensions: authz_plugins[%zu]: must be a path", i);
		wharf_strv_push(out, json_string_value(e));
	}
	return 0;
}

int wharf_authx_config_from_json(struct wharf_authx_config *out, const json_t *obj, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return wharf_error_set(err, WHARF_EINVAL, "access_extensions: must be an object");
	const char *key;
	const json_t *v;
	int r = 0;
	json_object_foreach((json_t *)obj, key, v) {
		if (!strcmp(key, "ldap"))
			r = path_value(key, v, &out->ldap_config, err);
		else if (!strcmp(key, "policy"))
			r = path_value(key, v, &out->policy_file, err);
		else if (!strcmp(key, "audit_log"))
			r = path_value(key, v, &out->audit_log, err);
		else if (!strcmp(key, "authz_plugins"))
			r = plugins_value(v, &out->plugins, err);
		else
			r = wharf_error_set(err, WHARF_EINVAL,
					    "access_extensions: %s: unknown key (ldap, authz_plugins, policy, audit_log)", key);
		if (r < 0) {
			wharf_authx_config_free(out);
			return r;
		}
	}
	return 0;
}

int wharf_authx_open(struct wharf_authx **out, const struct wharf_authx_config *cfg, struct wharf_error *err)
{
	*out = NULL;
	struct wharf_authx *x = wharf_xcalloc(1, sizeof(*x));
	int r = 0;
	if (cfg->ldap_config && (r = wharf_ldap_config_load(&x->ldap, cfg->ldap_config, err)) == 0)
		x->have_ldap = true;
	if (r == 0 && (cfg->plugins.n || cfg->policy_file))
		r = wharf_authz_chain_new(&x->chain, (const char *const *)cfg->plugins.v, cfg->plugins.n, cfg->policy_file,
					  err);
	if (r == 0 && cfg->audit_log)
		r = wharf_audit_open(&x->audit, cfg->audit_log, err);
	if (r < 0) {
		wharf_authx_free(x);
		return r;
	}
	*out = x;
	return 0;
}

void wharf_authx_free(struct wharf_authx *x)
{
	if (!x)
		return;
	if (x->have_ldap)
		wharf_ldap_config_free(&x->ldap);
	wharf_authz_chain_free(x->chain);
	wharf_audit_close(x->audit);
	free(x);
}

const struct wharf_ldap_config *wharf_authx_ldap(const struct wharf_authx *x)
{
	return x && x->have_ldap ? &x->ldap : NULL;
}

int wharf_authx_audit(struct wharf_authx *x, json_t *event, struct wharf_error *err)
{
	if (!x || !x->audit) {
		json_decref(event);
		return 0;
	}
	return wharf_audit_append(x->audit, event, err);
}

bool wharf_authx_audit_enabled(const struct wharf_authx *x)
{
	return x && x->audit;
}

unsigned wharf_authx_image_needs(const struct wharf_authx *x)
{
	return x ? wharf_authz_chain_image_needs(x->chain) : 0;
}

/* The second pass's attributes go into its audit record, so the log shows what was decided on. */
static void audit_image_fields(json_t *ev, const struct wharf_authz_request *req)
{
	if (req->image == WHARF_IMAGE_PENDING)
		json_object_set_new(ev, "image", json_string("pending"));
	if (!req->digest)
		return;
	json_object_set_new(ev, "digest", json_string(req->digest));
	json_object_set_new(ev, "scan_max_severity", req->scan_max_severity ? json_string(req->scan_max_severity)
									     : json_string("unscanned"));
	if (req->signed_status >= 0)
		json_object_set_new(ev, "signed", json_boolean(req->signed_status));
}

int wharf_authx_authorize(struct wharf_authx *x, const struct wharf_authz_request *req, bool *allowed, char *reason,
			  size_t reason_len, struct wharf_error *err)
{
	*allowed = true;
	if (reason_len)
		reason[0] = 0;
	if (x->chain && wharf_authz_chain_check(x->chain, req, allowed, reason, reason_len, err) < 0) {
		*allowed = false;
		return -err->code;
	}
	json_t *ev = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:b,s:s}", "type", "authz", "user", req->user, "action",
			       req->action, "repository", req->repository, "tag", req->tag, "remote", req->remote,
			       "allowed", *allowed, "reason", reason_len ? reason : "");
	audit_image_fields(ev, req);
	if (wharf_authx_audit(x, ev, err) < 0) {
		*allowed = false;
		return wharf_error_prefix(err, "the decision could not be recorded");
	}
	return 0;
}
