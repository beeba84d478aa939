#include <stdio.h>
#include <fnmatch.h>
#include <string.h>

#include <jansson.h>

#include "wharf/registry.h"
#include "wharf/scand.h"

void wharf_config_init(struct wharf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_host = wharf_xstrdup("127.0.0.1");
	cfg->listen_port = 5000;
	cfg->data_dir = wharf_xstrdup("data");
	cfg->access_log = true;
	cfg->log_level = wharf_xstrdup("info");
	cfg->gc_interval = 0;
	cfg->gc_grace = 3600;
	cfg->upload_ttl = 86400;
	cfg->delete_enabled = true;
	wharf_auth_config_init(&cfg->auth);
	cfg->scan_workers = 1;
	cfg->scan_block_unscanned = -1;
}

void wharf_config_free(struct wharf_config *cfg)
{
	free(cfg->listen_host);
	free(cfg->data_dir);
	free(cfg->log_level);
	cfg->listen_host = cfg->data_dir = cfg->log_level = NULL;
	wharf_strv_free(&cfg->require_signed);
	wharf_auth_config_free(&cfg->auth);
	free(cfg->vulndb_path);
	free(cfg->scan_policy);
	free(cfg->scan_block_severity);
	cfg->vulndb_path = cfg->scan_policy = cfg->scan_block_severity = NULL;
}

bool wharf_config_requires_signed(const struct wharf_config *cfg, const char *repo)
{
	for (size_t i = 0; i < cfg->require_signed.n; i++)
		if (fnmatch(cfg->require_signed.v[i], repo, 0) == 0)
			return true;
	return false;
}

static int set_patterns(struct wharf_strv *dst, json_t *v, const char *key, struct wharf_error *err)
{
	size_t i;
	json_t *p;
	if (!json_is_array(v))
		return wharf_error_set(err, WHARF_EINVAL, "config key '%s' must be an array of repository patterns", key);
	json_array_foreach(v, i, p) {
		if (!json_is_string(p) || !json_string_length(p))
			return wharf_error_set(err, WHARF_EINVAL, "config key '%s': entry %zu is not a pattern", key, i);
	}
	wharf_strv_free(dst);
	json_array_foreach(v, i, p)
		wharf_strv_push(dst, json_string_value(p));
	return 0;
}

int wharf_config_set_listen(struct wharf_config *cfg, const char *hostport, struct wharf_error *err)
{
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport)
		return wharf_error_set(err, WHARF_EINVAL, "listen address '%s' is not HOST:PORT", hostport);
	uint64_t port;
	if (!wharf_parse_u64(colon + 1, strlen(colon + 1), &port) || port > 65535)
		return wharf_error_set(err, WHARF_EINVAL, "listen address '%s': port must be 0-65535", hostport);
	const char *host = hostport;
	size_t hlen = (size_t)(colon - hostport);
	if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']')
		host++, hlen -= 2; /* [::1]:5000 */
	free(cfg->listen_host);
	cfg->listen_host = wharf_xstrndup(host, hlen);
	cfg->listen_port = (uint16_t)port;
	return 0;
}

static int set_string(char **dst, json_t *v, const char *key, struct wharf_error *err)
{
	if (!json_is_string(v))
		return wharf_error_set(err, WHARF_EINVAL, "config key '%s' must be a string", key);
	free(*dst);
	*dst = wharf_xstrdup(json_string_value(v));
	return 0;
}

static int set_duration(int64_t *dst, json_t *v, const char *key, struct wharf_error *err)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*dst = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return wharf_error_set(err, WHARF_EINVAL, "config key '%s' must be a duration like \"30m\" or seconds", key);
	int r = wharf_parse_duration(json_string_value(v), dst, err);
	return r < 0 ? wharf_error_prefix(err, "config key '%s'", key) : 0;
}

static int set_uint(unsigned *dst, json_t *v, const char *key, struct wharf_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
		return wharf_error_set(err, WHARF_EINVAL, "config key '%s' must be an integer from 0 to 1000000", key);
	*dst = (unsigned)json_integer_value(v);
	return 0;
}

static int set_bool(bool *dst, json_t *v, const char *key, struct wharf_error *err)
{
	if (!json_is_boolean(v))
		return wharf_error_set(err, WHARF_EINVAL, "config key '%s' must be true or false", key);
	*dst = json_is_true(v);
	return 0;
}

/* Checked here (so a bad policy stops the start), kept as text for the registry. */
static int set_scan_policy(struct wharf_config *cfg, json_t *v, struct wharf_error *err)
{
	_cleanup_free_ char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	struct wharf_scan_policy p;
	wharf_scan_policy_init(&p);
	int r = wharf_scan_policy_load(&p, text ? text : "", err);
	wharf_scan_policy_free(&p);
	if (r < 0)
		return r;
	free(cfg->scan_policy);
	cfg->scan_policy = wharf_steal(&text);
	return 0;
}

static int apply_key(struct wharf_config *cfg, const char *key, json_t *v, struct wharf_error *err)
{
	if (!strcmp(key, "listen")) {
		if (!json_is_string(v))
			return wharf_error_set(err, WHARF_EINVAL, "config key 'listen' must be a string HOST:PORT");
		return wharf_config_set_listen(cfg, json_string_value(v), err);
	}
	if (!strcmp(key, "data"))
		return set_string(&cfg->data_dir, v, key, err);
	if (!strcmp(key, "log_level"))
		return set_string(&cfg->log_level, v, key, err);
	if (!strcmp(key, "access_log"))
		return set_bool(&cfg->access_log, v, key, err);
	if (!strcmp(key, "delete_enabled"))
		return set_bool(&cfg->delete_enabled, v, key, err);
	if (!strcmp(key, "threads"))
		return set_uint(&cfg->threads, v, key, err);
	if (!strcmp(key, "max_connections"))
		return set_uint(&cfg->max_connections, v, key, err);
	if (!strcmp(key, "idle_timeout"))
		return set_uint(&cfg->idle_timeout, v, key, err);
	if (!strcmp(key, "gc_interval"))
		return set_duration(&cfg->gc_interval, v, key, err);
	if (!strcmp(key, "gc_grace"))
		return set_duration(&cfg->gc_grace, v, key, err);
	if (!strcmp(key, "upload_ttl"))
		return set_duration(&cfg->upload_ttl, v, key, err);
	if (!strcmp(key, "require_signed"))
		return set_patterns(&cfg->require_signed, v, key, err);
	if (!strcmp(key, "auth"))
		return wharf_auth_config_load(&cfg->auth, v, err);
	if (!strcmp(key, "access_extensions")) {
		wharf_authx_config_free(&cfg->auth.ext);
		return wharf_authx_config_from_json(&cfg->auth.ext, v, err);
	}
	if (!strcmp(key, "scan_workers"))
		return set_uint(&cfg->scan_workers, v, key, err);
	if (!strcmp(key, "vulndb"))
		return set_string(&cfg->vulndb_path, v, key, err);
	if (!strcmp(key, "scan_policy"))
		return set_scan_policy(cfg, v, err);
	return wharf_error_set(err, WHARF_EINVAL, "config key '%s' is not known (see docs/configuration.md)", key);
}

int wharf_config_load(struct wharf_config *cfg, const char *path, struct wharf_error *err)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return wharf_error_set(err, WHARF_EINVAL, "config file %s: %s (line %d)", path, jerr.text, jerr.line);
	int r = 0;
	if (!json_is_object(root)) {
		r = wharf_error_set(err, WHARF_EINVAL, "config file %s must hold a JSON object", path);
	} else {
		const char *key;
		json_t *v;
		json_object_foreach(root, key, v) {
			if ((r = apply_key(cfg, key, v, err)) < 0) {
				wharf_error_prefix(err, "config file %s", path);
				break;
			}
		}
	}
	json_decref(root);
	return r;
}
