/* The decision stage: who is asking (anonymous, Basic credentials, a Bearer token), what may they
 * do on the repository, and, when the answer is no, the challenge that tells a Docker client where
 * to get a token. Verified tokens and checked Basic credentials are cached by the SHA-256 of the
 * Authorization header, so neither ECDSA nor argon2 runs on every request. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "wharf/http.h"
#include "internal.h"

#define CACHE_SLOTS 1024
#define BASIC_CACHE_SECONDS 60
#define LEEWAY 30

struct cache_entry {
	unsigned char key[32]; /* SHA-256 of Basic credentials; FNV-1a of a Bearer token */
	char *token;           /* Bearer entries: the token itself, compared whole */
	bool used;
	bool bearer;
	int64_t expires;
	uint64_t generation; /* of the model, for Basic entries */
	struct subject who;
	json_t *claims;      /* Bearer entries */
};

struct auth_cache {
	pthread_rwlock_t lock; /* lookups share it: a cached token costs no lock wait */
	struct cache_entry slots[CACHE_SLOTS];
};

void wharf_auth_config_init(struct wharf_auth_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->token_ttl = 300;
	cfg->ldap_sync_interval = 900;
	cfg->service = wharf_xstrdup("wharf");
	cfg->issuer = wharf_xstrdup("wharf");
}

void wharf_auth_config_free(struct wharf_auth_config *cfg)
{
	free(cfg->admin_user);
	free(cfg->admin_password_file);
	free(cfg->service);
	free(cfg->issuer);
	free(cfg->realm);
	wharf_authx_config_free(&cfg->ext);
	memset(cfg, 0, sizeof(*cfg));
}

static void config_copy(struct wharf_auth_config *dst, const struct wharf_auth_config *src)
{
	*dst = *src;
	dst->admin_user = src->admin_user ? wharf_xstrdup(src->admin_user) : NULL;
	dst->admin_password_file = src->admin_password_file ? wharf_xstrdup(src->admin_password_file) : NULL;
	dst->service = wharf_xstrdup(src->service ? src->service : "wharf");
	dst->issuer = wharf_xstrdup(src->issuer ? src->issuer : "wharf");
	dst->realm = src->realm ? wharf_xstrdup(src->realm) : NULL;
	dst->ext = (struct wharf_authx_config){0};
	const struct wharf_authx_config *e = &src->ext;
	dst->ext.ldap_config = e->ldap_config ? wharf_xstrdup(e->ldap_config) : NULL;
	dst->ext.policy_file = e->policy_file ? wharf_xstrdup(e->policy_file) : NULL;
	dst->ext.audit_log = e->audit_log ? wharf_xstrdup(e->audit_log) : NULL;
	for (size_t i = 0; i < e->plugins.n; i++)
		wharf_strv_push(&dst->ext.plugins, e->plugins.v[i]);
}

static bool have_extensions(const struct wharf_authx_config *e)
{
	return e->ldap_config || e->policy_file || e->audit_log || e->plugins.n;
}

static int config_string(char **dst, json_t *v, const char *key, struct wharf_error *err)
{
	if (!json_is_string(v) || !json_string_length(v))
		return wharf_error_set(err, WHARF_EINVAL, "config key 'auth.%s' must be a non-empty string", key);
	free(*dst);
	*dst = wharf_xstrdup(json_string_value(v));
	return 0;
}

int wharf_auth_config_load(struct wharf_auth_config *cfg, const json_t *obj, struct wharf_error *err)
{
	if (!json_is_object(obj))
		return wharf_error_set(err, WHARF_EINVAL, "config key 'auth' must be an object");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		int r = 0;
		if (!strcmp(key, "enabled")) {
			if (!json_is_boolean(v))
				return wharf_error_set(err, WHARF_EINVAL, "config key 'auth.enabled' must be true or false");
			cfg->enabled = json_is_true(v);
		} else if (!strcmp(key, "token_ttl")) {
			if (json_is_integer(v))
				cfg->token_ttl = json_integer_value(v);
			else if (!json_is_string(v) || wharf_parse_duration(json_string_value(v), &cfg->token_ttl, err) < 0)
				return wharf_error_set(err, WHARF_EINVAL, "config key 'auth.token_ttl' must be a duration");
			if (cfg->token_ttl < 10 || cfg->token_ttl > 86400)
				return wharf_error_set(err, WHARF_EINVAL, "config key 'auth.token_ttl' must be 10s to 24h");
		} else if (!strcmp(key, "ldap_sync_interval")) {
			if (json_is_integer(v) && json_integer_value(v) >= 0)
				cfg->ldap_sync_interval = json_integer_value(v);
			else if (!json_is_string(v) || wharf_parse_duration(json_string_value(v), &cfg->ldap_sync_interval, err) < 0)
				return wharf_error_set(err, WHARF_EINVAL, "config key 'auth.ldap_sync_interval' must be a duration");
		} else if (!strcmp(key, "admin_user"))
			r = config_string(&cfg->admin_user, v, key, err);
		else if (!strcmp(key, "admin_password_file"))
			r = config_string(&cfg->admin_password_file, v, key, err);
		else if (!strcmp(key, "service"))
			r = config_string(&cfg->service, v, key, err);
		else if (!strcmp(key, "issuer"))
			r = config_string(&cfg->issuer, v, key, err);
		else if (!strcmp(key, "realm"))
			r = config_string(&cfg->realm, v, key, err);
		else
			return wharf_error_set(err, WHARF_EINVAL, "config key 'auth.%s' is not known (see docs/auth.md)", key);
		if (r < 0)
			return r;
	}
	return 0;
}

struct wharf_auth *wharf_auth_allow_all(void)
{
	struct wharf_auth *a = wharf_xcalloc(1, sizeof(struct wharf_auth));
	wharf_auth_config_init(&a->cfg);
	return a;
}

static int read_admin_password(const struct wharf_auth_config *cfg, char **out, struct wharf_error *err)
{
	if (cfg->admin_password_file) {
		size_t len = 0;
		int r = wharf_read_file(cfg->admin_password_file, 4096, out, &len, err);
		if (r < 0)
			return wharf_error_prefix(err, "admin password file");
		while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
			(*out)[--len] = 0;
		return 0;
	}
	const char *env = getenv("WHARF_ADMIN_PASSWORD");
	if (!env || !*env)
		return wharf_error_set(err, WHARF_EINVAL,
				       "the first administrator '%s' needs a password: set WHARF_ADMIN_PASSWORD or "
				       "--admin-password-file", cfg->admin_user);
	*out = wharf_xstrdup(env);
	return 0;
}

/* On first start (no user yet), create the configured administrator. */
static int bootstrap_admin(struct wharf_auth *a, struct wharf_error *err)
{
	int64_t n = 0;
	int r = model_user_count(a->model, &n, err);
	if (r == 0 && n == 0 && !a->cfg.admin_user)
		wharf_log(WHARF_LOG_WARN, "auth: access control is on but there is no user: only anonymous pulls of "
					  "public repositories will work; start once with --admin-user NAME");
	if (r < 0 || n > 0 || !a->cfg.admin_user)
		return r;
	_cleanup_free_ char *pw = NULL;
	r = read_admin_password(&a->cfg, &pw, err);
	if (r == 0)
		r = model_user_add(a->model, a->cfg.admin_user, pw, true, err);
	if (r == 0)
		wharf_log(WHARF_LOG_INFO, "auth: created the first administrator '%s'", a->cfg.admin_user);
	return r;
}

int wharf_auth_open(struct wharf_auth **out, const struct wharf_auth_config *cfg, const char *data_dir,
		    struct wharf_error *err)
{
	struct wharf_auth *a = wharf_xcalloc(1, sizeof(*a));
	config_copy(&a->cfg, cfg);
	a->enabled = true;
	a->cache = wharf_xcalloc(1, sizeof(*a->cache));
	pthread_rwlock_init(&a->cache->lock, NULL);
	_cleanup_free_ char *dir = wharf_xasprintf("%s/auth", data_dir);
	_cleanup_free_ char *db = wharf_xasprintf("%s/auth.db", data_dir);
	_cleanup_free_ char *key = wharf_xasprintf("%s/auth/token.key", data_dir);
	int r = wharf_mkdir_p(dir, 0700, err);
	if (r == 0)
		r = model_open(&a->model, db, err);
	if (r == 0)
		r = wharf_jwt_key_load_or_create(&a->key, key, err);
	if (r == 0)
		r = bootstrap_admin(a, err);
	if (r == 0 && have_extensions(&a->cfg.ext))
		r = wharf_authx_open(&a->x, &a->cfg.ext, err);
	if (r == 0)
		auth_ldap_sync_start(a);
	if (r < 0) {
		wharf_auth_free(a);
		return r;
	}
	*out = a;
	return 0;
}

void wharf_auth_free(struct wharf_auth *a)
{
	if (!a)
		return;
	auth_ldap_sync_stop(a);
	if (a->cache) {
		for (size_t i = 0; i < CACHE_SLOTS; i++) {
			json_decref(a->cache->slots[i].claims);
			free(a->cache->slots[i].token);
		}
		pthread_rwlock_destroy(&a->cache->lock);
		free(a->cache);
	}
	model_close(a->model);
	wharf_authx_free(a->x);
	wharf_jwt_key_free(a->key);
	wharf_auth_config_free(&a->cfg);
	free(a);
}

bool wharf_auth_enabled(const struct wharf_auth *a)
{
	return a && a->enabled;
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

/* Answer q from a token's claims. */
static void query_claims(struct auth_query *q, const json_t *claims)
{
	if (!q)
		return;
	q->has_token = claims != NULL;
	q->bits = claims && q->type ? wharf_jwt_access_actions(claims, q->type, q->name) : 0;
}

/* Cache: a hit copies the subject out and answers q from the cached claims, under the read lock. */
static struct cache_entry *cache_slot(struct auth_cache *c, const unsigned char key[32])
{
	size_t i = ((size_t)key[0] | (size_t)key[1] << 8) % CACHE_SLOTS;
	return &c->slots[i];
}

static bool cache_get(struct wharf_auth *a, const unsigned char key[32], const char *token, struct subject *who,
		      struct auth_query *q)
{
	bool hit = false;
	pthread_rwlock_rdlock(&a->cache->lock);
	struct cache_entry *e = cache_slot(a->cache, key);
	if (e->used && memcmp(e->key, key, 32) == 0 && (!token) == (!e->token) && (!token || !strcmp(token, e->token)) &&
	    e->expires >= wharf_now() &&
	    (e->bearer || e->generation == model_generation(a->model))) {
		*who = e->who;
		query_claims(q, e->claims);
		hit = true;
	}
	pthread_rwlock_unlock(&a->cache->lock);
	return hit;
}

static void cache_put(struct wharf_auth *a, const unsigned char key[32], const char *token, const struct subject *who,
		      json_t *claims, int64_t expires, uint64_t generation)
{
	char *copy = token ? wharf_xstrdup(token) : NULL;
	pthread_rwlock_wrlock(&a->cache->lock);
	struct cache_entry *e = cache_slot(a->cache, key);
	json_decref(e->claims);
	free(e->token);
	*e = (struct cache_entry){.used = true, .bearer = claims != NULL, .expires = expires, .token = copy,
				  .generation = generation, .who = *who, .claims = json_incref(claims)};
	memcpy(e->key, key, 32);
	pthread_rwlock_unlock(&a->cache->lock);
}

void auth_audit(struct wharf_auth *a, json_t *event)
{
	struct wharf_error err;
	if (wharf_authx_audit(a->x, event, &err) < 0)
		wharf_log(WHARF_LOG_ERROR, "audit log: %s", err.message);
}

bool wharf_auth_audit_enabled(const struct wharf_auth *a)
{
	return a && wharf_authx_audit_enabled(a->x);
}

void wharf_auth_audit_event(struct wharf_auth *a, const char *type, const char *subject, const char *remote,
			    json_t *fields)
{
	if (!wharf_auth_audit_enabled(a)) {
		json_decref(fields);
		return;
	}
	json_t *ev = json_pack("{s:s,s:s,s:s}", "type", type, "user", subject ? subject : "", "remote",
			       remote ? remote : "-");
	if (!ev) {
		json_decref(fields);
		return;
	}
	if (fields)
		json_object_update_missing(ev, fields);
	json_decref(fields);
	auth_audit(a, ev);
}

static int ldap_login(struct wharf_auth *a, const struct wharf_ldap_config *ldap, const char *user,
		      const char *password, struct subject *out, struct wharf_error *err)
{
	struct wharf_ldap_user lu = {0};
	int r = wharf_ldap_authenticate(ldap, user, password, &lu, err);
	if (r == 0) {
		struct wharf_strv teams = {0};
		wharf_ldap_map_teams(ldap, &lu, &teams);
		r = model_ldap_sync(a->model, user, &teams, err);
		wharf_strv_free(&teams);
	}
	wharf_ldap_user_free(&lu);
	if (r == 0)
		r = model_subject(a->model, user, out, err);
	if (r == -WHARF_EINVAL || r == -WHARF_ENOTFOUND)
		r = wharf_error_set(err, WHARF_EINVAL, "invalid credentials");
	return r;
}

int auth_login(struct wharf_auth *a, const char *user, const char *password, struct subject *out,
	       struct wharf_error *err)
{
	const char *method = "password";
	int r = model_authenticate(a->model, user, password, out, err);
	const struct wharf_ldap_config *ldap = wharf_authx_ldap(a->x);
	bool disabled = false;
	int source = r < 0 && ldap ? model_user_source(a->model, user, &disabled) : 0;
	if (r < 0 && ldap && (source == 0 || source == 2) && !disabled) {
		method = "ldap";
		r = ldap_login(a, ldap, user, password, out, err);
	}
	if (a->x)
		auth_audit(a, json_pack("{s:s,s:s,s:s,s:b,s:s}", "type", "authn", "user", user, "method", method, "ok", r == 0,
					"reason", r == 0 ? "" : err->message));
	return r;
}

static int identify_basic(struct wharf_auth *a, const char *header, struct subject *who, struct wharf_error *err)
{
	_cleanup_free_ char *user = NULL;
	_cleanup_free_ char *password = NULL;
	int r = wharf_basic_parse(header, &user, &password, err);
	if (r < 0)
		return r;
	return auth_login(a, user, password, who, err);
}

static int identify_bearer(struct wharf_auth *a, const char *token, struct subject *who, json_t **claims,
			   struct wharf_error *err)
{
	json_t *c = NULL;
	int r = wharf_jwt_verify(a->key, token, &c, err);
	if (r == 0)
		r = wharf_jwt_check_claims(c, a->cfg.issuer, a->cfg.service, wharf_now(), LEEWAY, err);
	const char *sub = json_string_value(json_object_get(c, "sub"));
	if (r == 0 && (!sub || strlen(sub) >= sizeof(who->name)))
		r = wharf_error_set(err, WHARF_EINVAL, "token has no subject");
	if (r < 0) {
		json_decref(c);
		return r;
	}
	const char *kind = json_string_value(json_object_get(c, "wharf_kind"));
	*who = (struct subject){.kind = !*sub ? SUBJECT_ANONYMOUS
				      : kind && !strcmp(kind, "robot") ? SUBJECT_ROBOT : SUBJECT_USER,
				.sysadmin = json_is_true(json_object_get(c, "wharf_admin"))};
	snprintf(who->name, sizeof(who->name), "%s", sub);
	*claims = c;
	return 0;
}

int auth_identify(struct wharf_auth *a, const char *authorization, struct subject *who, struct auth_query *q,
		  struct wharf_error *err)
{
	query_claims(q, NULL);
	*who = (struct subject){.kind = SUBJECT_ANONYMOUS};
	if (!authorization)
		return 0;
	bool bearer = strncasecmp(authorization, "Bearer ", 7) == 0;
	if (!bearer && strncasecmp(authorization, "Basic ", 6) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "Authorization scheme is not Basic or Bearer");
	if (strlen(authorization) > 8192)
		return wharf_error_set(err, WHARF_ETOOBIG, "Authorization header longer than 8192 bytes");
	/* A token is checked whole against the cached one, so a fast hash picks the slot; Basic
	 * credentials are kept only as their SHA-256. */
	unsigned char key[32] = {0};
	const char *token = bearer ? authorization + 7 : NULL;
	if (bearer) {
		/* the tail is the signature: random-looking and unique per token */
		size_t tlen = strlen(token);
		uint64_t h = 1469598103934665603ull;
		for (const char *p = token + (tlen > 24 ? tlen - 24 : 0); *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		memcpy(key, &h, sizeof(h));
	} else {
		unsigned int klen = 0;
		EVP_Digest(authorization, strlen(authorization), key, &klen, EVP_sha256(), NULL);
	}
	if (cache_get(a, key, token, who, q))
		return 0;
	uint64_t gen = model_generation(a->model);
	json_t *claims = NULL;
	int r = bearer ? identify_bearer(a, authorization + 7, who, &claims, err)
		       : identify_basic(a, authorization, who, err);
	if (r < 0)
		return r;
	int64_t expires = bearer ? json_integer_value(json_object_get(claims, "exp")) + LEEWAY
				 : wharf_now() + BASIC_CACHE_SECONDS;
	query_claims(q, claims);
	cache_put(a, key, token, who, claims, expires, gen);
	json_decref(claims);
	return 0;
}

/* The actions the caller holds on the access's repository (or registry-wide). */
static unsigned granted_actions(struct wharf_auth *a, const struct subject *who, const struct auth_query *q,
				const struct wharf_access *acc)
{
	if (acc->action == WHARF_ACTION_CATALOG) {
		if (q->has_token)
			return q->bits & WHARF_ACT_CATALOG;
		return who->kind != SUBJECT_ANONYMOUS ? WHARF_ACT_CATALOG : 0;
	}
	if (!acc->repository) {
		/* /v2/ itself: any authenticated caller; registry administration: system administrators */
		if (acc->action == WHARF_ACTION_PULL)
			return who->kind != SUBJECT_ANONYMOUS || q->has_token ? WHARF_ACT_PULL : 0;
		return who->sysadmin ? WHARF_ACT_ADMIN : 0;
	}
	if (q->has_token)
		return q->bits;
	return model_repo_actions(a->model, who, acc->repository);
}

static const char *scope_actions(enum wharf_action action)
{
	switch (action) {
	case WHARF_ACTION_PUSH: return "pull,push";
	case WHARF_ACTION_DELETE: return "delete";
	case WHARF_ACTION_ADMIN: return "*";
	default: return "pull";
	}
}

/* Only plain host and repository characters go into the quoted challenge parameters. */
static bool header_safe(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

static void challenge(struct wharf_auth *a, const struct wharf_access *acc, const char *error,
		      struct wharf_auth_decision *out)
{
	const char *host = acc->host && header_safe(acc->host, ".-:[]") ? acc->host : "localhost";
	_cleanup_free_ char *realm = a->cfg.realm ? wharf_xstrdup(a->cfg.realm)
						  : wharf_xasprintf("%s://%.200s/token", acc->tls ? "https" : "http", host);
	int n = snprintf(out->www_authenticate, sizeof(out->www_authenticate), "Bearer realm=\"%s\",service=\"%s\"",
			 realm, a->cfg.service);
	size_t off = n > 0 && (size_t)n < sizeof(out->www_authenticate) ? (size_t)n : 0;
	if (acc->action == WHARF_ACTION_CATALOG)
		off += (size_t)snprintf(out->www_authenticate + off, sizeof(out->www_authenticate) - off,
					",scope=\"registry:catalog:*\"");
	else if (acc->repository && strlen(acc->repository) < 256 && header_safe(acc->repository, "._-/"))
		off += (size_t)snprintf(out->www_authenticate + off, sizeof(out->www_authenticate) - off,
					",scope=\"repository:%s:%s\"", acc->repository, scope_actions(acc->action));
	if (error && off < sizeof(out->www_authenticate))
		snprintf(out->www_authenticate + off, sizeof(out->www_authenticate) - off, ",error=\"%s\"", error);
	out->status = 401;
}

static const char *authz_action_name(const struct wharf_access *acc)
{
	if (acc->sign && acc->action == WHARF_ACTION_PUSH)
		return "sign";
	return wharf_action_name(acc->action);
}

/* Access control allowed (or refused) the request: ask the plugins and the policy too, when
 * allowed, and record the decision in the audit log either way. */
static void extensions_decide(struct wharf_auth *a, const struct subject *who, bool has_token,
			      const struct wharf_access *acc, const struct wharf_image_attrs *img,
			      struct wharf_auth_decision *out)
{
	const char *user = who->kind == SUBJECT_ANONYMOUS ? "" : who->name;
	if (!out->allowed) {
		auth_audit(a, json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s?,s:b,s:s}", "type", "authz", "user", user, "action",
					authz_action_name(acc), "repository", acc->repository, "tag", acc->tag, "remote",
					acc->remote, "allowed", 0, "reason", "no permission"));
		return;
	}
	struct wharf_strv teams = {0};
	if (who->kind == SUBJECT_USER)
		model_user_teams(a->model, who->name, &teams);
	struct wharf_authz_request req = {
		.user = user, .teams = (const char **)teams.v, .nteams = teams.n, .repository = acc->repository,
		.action = authz_action_name(acc), .method = acc->method, .uri = acc->uri, .signed_status = -1, .tag = acc->tag,
		.remote = acc->remote, .authn_method = has_token ? "token" : who->kind == SUBJECT_ANONYMOUS ? "" : "password",
		/* no image before a manifest resolves; a manifest read is asked again once it has */
		.image = img ? WHARF_IMAGE_KNOWN
		       : acc->manifest_read && wharf_authx_image_needs(a->x) ? WHARF_IMAGE_PENDING : WHARF_IMAGE_UNKNOWN,
	};
	if (img) {
		req.digest = img->digest;
		req.scan_max_severity = img->scan_max_severity;
		req.signed_status = img->signed_status;
		req.labels = img->labels;
	}
	bool allowed = false;
	char reason[200] = "";
	struct wharf_error err;
	if (wharf_authx_authorize(a->x, &req, &allowed, reason, sizeof(reason), &err) < 0)
		snprintf(reason, sizeof(reason), "%s", err.message);
	wharf_strv_free(&teams);
	if (!allowed) {
		out->allowed = false;
		snprintf(out->reason, sizeof(out->reason), "%s", reason[0] ? reason : "refused by authorization plugin");
	}
}

static void decide_enabled(struct wharf_auth *a, const struct wharf_access *acc, struct wharf_auth_decision *out)
{
	struct subject who;
	struct auth_query q = {.type = acc->action == WHARF_ACTION_CATALOG ? "registry" : acc->repository ? "repository" : NULL,
			       .name = acc->action == WHARF_ACTION_CATALOG ? "catalog" : acc->repository};
	struct wharf_error err;
	const char *target = acc->repository ? acc->repository : "registry";
	if (auth_identify(a, acc->authorization, &who, &q, &err) < 0) {
		snprintf(out->subject, sizeof(out->subject), "anonymous");
		snprintf(out->reason, sizeof(out->reason), "authentication failed: %s", err.message);
		challenge(a, acc, "invalid_token", out);
		return;
	}
	snprintf(out->subject, sizeof(out->subject), "%s", who.kind == SUBJECT_ANONYMOUS ? "anonymous" : who.name);
	unsigned granted = granted_actions(a, &who, &q, acc);
	bool has_token = q.has_token;
	out->allowed = (granted & (1u << acc->action)) != 0;
	if (a->x)
		extensions_decide(a, &who, has_token, acc, NULL, out);
	if (out->allowed) /* the reason is for refusals; the hot path skips formatting it */
		return;
	if (out->reason[0]) { /* a plugin or policy refused */
		out->status = 403;
		return;
	}
	snprintf(out->reason, sizeof(out->reason), "%s may not %s on %.200s", out->subject,
		 wharf_action_name(acc->action), target);
	/* No credentials, or a token without the scope: a Docker client fetches a (new) token. */
	if (who.kind == SUBJECT_ANONYMOUS || has_token)
		challenge(a, acc, has_token ? "insufficient_scope" : NULL, out);
	else
		out->status = 403;
}

void wharf_auth_decide(struct wharf_auth *a, const struct wharf_access *access,
		       struct wharf_auth_decision *out)
{
	memset(out, 0, sizeof(*out));
	if (a && a->enabled) {
		decide_enabled(a, access, out);
		return;
	}
	out->allowed = true;
	snprintf(out->subject, sizeof(out->subject), "anonymous");
	snprintf(out->reason, sizeof(out->reason), "allow-all: %s on %s", wharf_action_name(access->action),
		 access->repository ? access->repository : "registry");
}

unsigned wharf_auth_image_needs(const struct wharf_auth *a)
{
	return a && a->enabled ? wharf_authx_image_needs(a->x) : 0;
}

void wharf_auth_decide_image(struct wharf_auth *a, const struct wharf_access *access,
			     const struct wharf_image_attrs *img, struct wharf_auth_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->allowed = true;
	snprintf(out->subject, sizeof(out->subject), "anonymous");
	if (!wharf_auth_image_needs(a))
		return;
	/* The first pass identified the caller and checked its permissions; identification is
	 * cached, so this costs a cache lookup. */
	struct subject who;
	struct auth_query q = {.type = "repository", .name = access->repository};
	struct wharf_error err;
	if (auth_identify(a, access->authorization, &who, &q, &err) < 0) {
		out->allowed = false;
		out->status = 403;
		snprintf(out->reason, sizeof(out->reason), "authentication failed: %s", err.message);
		return;
	}
	snprintf(out->subject, sizeof(out->subject), "%s", who.kind == SUBJECT_ANONYMOUS ? "anonymous" : who.name);
	extensions_decide(a, &who, q.has_token, access, img, out);
	if (!out->allowed)
		out->status = 403;
}

bool wharf_auth_can_see(struct wharf_auth *a, const char *authorization, const char *repo)
{
	if (!a || !a->enabled)
		return true;
	struct subject who;
	struct wharf_error err;
	if (auth_identify(a, authorization, &who, NULL, &err) < 0)
		return false;
	return (model_repo_actions(a->model, &who, repo) & WHARF_ACT_PULL) != 0;
}

bool wharf_auth_handle(struct wharf_auth *a, struct wharf_http_request *req)
{
	if (!a || !a->enabled)
		return false;
	const char *path = wharf_http_path(req);
	if (!strcmp(path, "/token")) {
		wharf_http_set_route(req, "token");
		auth_serve_token(a, req);
		return true;
	}
	if (wharf_str_has_prefix(path, "/api/v1/admin/")) {
		wharf_http_set_route(req, "admin-api");
		auth_serve_admin(a, req);
		return true;
	}
	return false;
}
