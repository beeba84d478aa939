/* LDAP / Active Directory authentication: search (as the service account) then bind as the user,
 * and read group membership in one of three schemas. The user name only ever reaches the
 * directory RFC 4515-escaped, and an empty password is refused before any bind (a simple bind
 * with a DN and no password is an "unauthenticated bind" that many servers answer with success). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <ldap.h>

#include "wharf/authx.h"
#include "wharf/json.h"

#define LDAP_MAX_NAME 256
#define LDAP_MAX_GROUPS 4096
#define LDAP_CONFIG_MAX (64 * 1024)

/* ---------------------------------------------------------------- filters */

char *wharf_ldap_escape_filter(const char *value)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '*' || *p == '(' || *p == ')' || *p == '\\' || *p >= 0x80 || *p < 0x20)
			wharf_buf_printf(&b, "\\%02x", *p);
		else
			wharf_buf_append(&b, p, 1);
	}
	if (!b.data)
		wharf_buf_puts(&b, "");
	return wharf_buf_steal(&b);
}

char *wharf_ldap_format_filter(const char *tmpl, const char *value)
{
	_cleanup_free_ char *esc = wharf_ldap_escape_filter(value);
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			wharf_buf_puts(&b, esc);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			wharf_buf_puts(&b, "%");
			p++;
		} else {
			wharf_buf_append(&b, p, 1);
		}
	}
	if (!b.data)
		wharf_buf_puts(&b, "");
	return wharf_buf_steal(&b);
}

/* ---------------------------------------------------------------- configuration */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void wharf_ldap_config_free(struct wharf_ldap_config *c)
{
	char **strs[] = {&c->uri,        &c->ca_file,      &c->bind_dn,         &c->bind_password,
			 &c->user_base,  &c->user_filter,  &c->group_base,      &c->group_filter,
			 &c->group_name_attr, &c->display_attr, &c->disabled_filter};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < c->nmap; i++) {
		free(c->map_groups[i]);
		free(c->map_teams[i]);
	}
	free(c->map_groups);
	free(c->map_teams);
	c->map_groups = c->map_teams = NULL;
	c->nmap = 0;
}

static void map_add(struct wharf_ldap_config *c, const char *group, const char *team)
{
	c->map_groups = wharf_xrealloc(c->map_groups, (c->nmap + 1) * sizeof(char *));
	c->map_teams = wharf_xrealloc(c->map_teams, (c->nmap + 1) * sizeof(char *));
	c->map_groups[c->nmap] = wharf_xstrdup(group);
	c->map_teams[c->nmap++] = wharf_xstrdup(team);
}

/* A team is "org/team": two non-empty parts, one slash. */
static bool team_name_ok(const char *t)
{
	const char *slash = strchr(t, '/');
	return slash && slash != t && slash[1] && !strchr(slash + 1, '/') && strlen(t) <= 255;
}

static int config_team_map(struct wharf_ldap_config *c, json_t *v, struct wharf_error *err)
{
	if (!json_is_object(v) || json_object_size(v) > LDAP_MAX_GROUPS)
		return wharf_error_set(err, WHARF_EINVAL, "ldap config: team_map: must be an object of group: team(s)");
	const char *group;
	json_t *t;
	json_object_foreach(v, group, t) {
		size_t n = json_is_array(t) ? json_array_size(t) : 1;
		for (size_t i = 0; i < n; i++) {
			const char *team = json_string_value(json_is_array(t) ? json_array_get(t, i) : t);
			if (!team || !team_name_ok(team))
				return wharf_error_set(err, WHARF_EINVAL,
						       "ldap config: team_map: %s: teams are \"org/team\" strings", group);
			map_add(c, group, team);
		}
	}
	return 0;
}

static int config_string(struct wharf_ldap_config *c, const char *key, json_t *v, struct wharf_error *err)
{
	struct { const char *name; char **field; } map[] = {
		{"uri", &c->uri},               {"ca_file", &c->ca_file},
		{"bind_dn", &c->bind_dn},       {"bind_password", &c->bind_password},
		{"user_base", &c->user_base},   {"user_filter", &c->user_filter},
		{"group_base", &c->group_base}, {"group_filter", &c->group_filter},
		{"group_name_attr", &c->group_name_attr}, {"display_attr", &c->display_attr},
		{"disabled_filter", &c->disabled_filter},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(key, map[i].name))
			continue;
		if (!json_is_string(v))
			return wharf_error_set(err, WHARF_EINVAL, "ldap config: %s: must be a string", key);
		free(*map[i].field);
		*map[i].field = wharf_xstrdup(json_string_value(v));
		return 0;
	}
	return wharf_error_set(err, WHARF_ENOTFOUND, "ldap config: %s: unknown key", key);
}

static int config_password_file(struct wharf_ldap_config *c, json_t *v, struct wharf_error *err)
{
	if (!json_is_string(v))
		return wharf_error_set(err, WHARF_EINVAL, "ldap config: bind_password_file: must be a string");
	char *data = NULL;
	size_t len;
	if (wharf_read_file(json_string_value(v), 4096, &data, &len, err) < 0)
		return wharf_error_prefix(err, "ldap config: bind_password_file");
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = 0;
	free(c->bind_password);
	c->bind_password = data;
	return 0;
}

static int config_group_mode(struct wharf_ldap_config *c, json_t *v, struct wharf_error *err)
{
	const char *s = json_string_value(v);
	if (s && !strcmp(s, "memberOf"))
		c->group_mode = WHARF_LDAP_GROUPS_MEMBEROF;
	else if (s && !strcmp(s, "member"))
		c->group_mode = WHARF_LDAP_GROUPS_MEMBER;
	else if (s && !strcmp(s, "memberUid"))
		c->group_mode = WHARF_LDAP_GROUPS_MEMBERUID;
	else
		return wharf_error_set(err, WHARF_EINVAL, "ldap config: group_mode: memberOf, member or memberUid");
	return 0;
}

static int config_key(struct wharf_ldap_config *c, const char *key, json_t *v, struct wharf_error *err)
{
	if (!strcmp(key, "starttls")) {
		if (!json_is_boolean(v))
			return wharf_error_set(err, WHARF_EINVAL, "ldap config: starttls: must be true or false");
		c->starttls = json_is_true(v);
		return 0;
	}
	if (!strcmp(key, "timeout_ms")) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 600000)
			return wharf_error_set(err, WHARF_EINVAL, "ldap config: timeout_ms: an integer 1..600000");
		c->timeout_ms = (int)json_integer_value(v);
		return 0;
	}
	if (!strcmp(key, "group_mode"))
		return config_group_mode(c, v, err);
	if (!strcmp(key, "bind_password_file"))
		return config_password_file(c, v, err);
	if (!strcmp(key, "team_map"))
		return config_team_map(c, v, err);
	int r = config_string(c, key, v, err);
	if (r == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_EINVAL, "ldap config: %s: unknown key", key);
	return r;
}

int wharf_ldap_config_from_json(struct wharf_ldap_config *out, json_t *obj, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	out->timeout_ms = 5000;
	if (!json_is_object(obj))
		return wharf_error_set(err, WHARF_EINVAL, "ldap config: must be a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		if (config_key(out, key, v, err) < 0) {
			wharf_ldap_config_free(out);
			return -err->code;
		}
	}
	const char *missing = !out->uri ? "uri" : !out->user_base ? "user_base" : NULL;
	if (!missing && out->group_mode != WHARF_LDAP_GROUPS_MEMBEROF && !out->group_base)
		missing = "group_base (needed by group_mode member and memberUid)";
	if (missing) {
		wharf_ldap_config_free(out);
		return wharf_error_set(err, WHARF_EINVAL, "ldap config: %s: missing", missing);
	}
	if (!out->user_filter)
		out->user_filter = wharf_xstrdup("(uid=%s)");
	if (!out->group_name_attr)
		out->group_name_attr = wharf_xstrdup("cn");
	if (!out->display_attr)
		out->display_attr = wharf_xstrdup("cn");
	if (!strstr(out->user_filter, "%s")) {
		wharf_ldap_config_free(out);
		return wharf_error_set(err, WHARF_EINVAL, "ldap config: user_filter: must contain %%s for the user name");
	}
	return 0;
}

int wharf_ldap_config_load(struct wharf_ldap_config *out, const char *path, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *data = NULL;
	size_t len;
	json_t *doc = NULL;
	if (wharf_read_file(path, LDAP_CONFIG_MAX, &data, &len, err) < 0 ||
	    wharf_json_parse(&doc, data, len, LDAP_CONFIG_MAX, err) < 0)
		return wharf_error_prefix(err, "%s", path);
	int r = wharf_ldap_config_from_json(out, doc, err);
	json_decref(doc);
	return r < 0 ? wharf_error_prefix(err, "%s", path) : 0;
}

void wharf_ldap_user_free(struct wharf_ldap_user *u)
{
	free(u->dn);
	free(u->display);
	for (size_t i = 0; i < u->ngroups; i++)
		free(u->groups[i]);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

void wharf_ldap_map_teams(const struct wharf_ldap_config *cfg, const struct wharf_ldap_user *u,
			  struct wharf_strv *teams)
{
	for (size_t m = 0; m < cfg->nmap; m++) {
		bool member = false;
		for (size_t g = 0; g < u->ngroups && !member; g++)
			member = !strcmp(u->groups[g], cfg->map_groups[m]);
		bool have = false;
		for (size_t t = 0; t < teams->n && !have; t++)
			have = !strcmp(teams->v[t], cfg->map_teams[m]);
		if (member && !have)
			wharf_strv_push(teams, cfg->map_teams[m]);
	}
	if (teams->n > 1)
		qsort(teams->v, teams->n, sizeof(char *), cmp_strp);
}

/* ---------------------------------------------------------------- connection */

static bool unreachable(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMELIMIT_EXCEEDED ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

static int ldap_fail(struct wharf_error *err, int rc, const char *what)
{
	return wharf_error_set(err, unreachable(rc) ? WHARF_EIO : WHARF_EINVAL, "ldap: %s: %s", what,
			       ldap_err2string(rc));
}

static void set_timeouts(LDAP *ld, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	int secs = timeout_ms / 1000 ? timeout_ms / 1000 : 1;
	ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &secs);
}

static int set_tls(LDAP *ld, const struct wharf_ldap_config *cfg, struct wharf_error *err)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	if (cfg->ca_file && ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file) != LDAP_OPT_SUCCESS)
		return wharf_error_set(err, WHARF_EINVAL, "ldap: ca_file %s refused", cfg->ca_file);
	ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	/* Options set on a handle take effect only in a new TLS context. */
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS)
		return wharf_error_set(err, WHARF_EIO, "ldap: cannot create a TLS context (ca_file %s)",
				       cfg->ca_file ? cfg->ca_file : "system");
	return 0;
}

static int simple_bind(LDAP *ld, const char *dn, const char *password)
{
	struct berval cred = {.bv_val = (char *)(password ? password : ""), .bv_len = password ? strlen(password) : 0};
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* Connect, StartTLS when asked, and bind as the service account (or stay anonymous). */
static int ldap_open(const struct wharf_ldap_config *cfg, LDAP **out, struct wharf_error *err)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, cfg->uri);
	if (rc != LDAP_SUCCESS)
		return wharf_error_set(err, WHARF_EINVAL, "ldap: uri %s: %s", cfg->uri, ldap_err2string(rc));
	int v3 = LDAP_VERSION3;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	set_timeouts(ld, cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000);
	bool tls = cfg->starttls || wharf_str_has_prefix(cfg->uri, "ldaps://");
	int r = 0;
	if (tls && set_tls(ld, cfg, err) < 0)
		r = -err->code;
	else if (cfg->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS)
		r = wharf_error_set(err, WHARF_EIO, "ldap: %s: StartTLS failed: %s", cfg->uri, ldap_err2string(rc));
	else if (cfg->bind_dn && (rc = simple_bind(ld, cfg->bind_dn, cfg->bind_password)) != LDAP_SUCCESS)
		/* A refused service bind is the administrator's problem, not the user's: EIO. */
		r = wharf_error_set(err, WHARF_EIO, "ldap: %s: service bind as %s: %s", cfg->uri, cfg->bind_dn,
				    ldap_err2string(rc));
	if (r < 0) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return r;
	}
	*out = ld;
	return 0;
}

static int search(LDAP *ld, const struct wharf_ldap_config *cfg, const char *base, int scope, const char *filter,
		  char **attrs, int sizelimit, LDAPMessage **res, struct wharf_error *err)
{
	struct timeval tv = {.tv_sec = cfg->timeout_ms > 0 ? cfg->timeout_ms / 1000 : 5, .tv_usec = 0};
	if (tv.tv_sec == 0)
		tv.tv_sec = 1;
	*res = NULL;
	int rc = ldap_search_ext_s(ld, base, scope, filter, attrs, 0, NULL, NULL, &tv, sizelimit, res);
	if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED)
		return rc == LDAP_SIZELIMIT_EXCEEDED ? 1 : 0;
	if (*res)
		ldap_msgfree(*res);
	*res = NULL;
	if (rc == LDAP_NO_SUCH_OBJECT)
		return 0; /* the base itself is missing: no entries */
	return ldap_fail(err, rc, filter);
}

static char *first_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	char *s = vals && vals[0] ? wharf_xstrndup(vals[0]->bv_val, vals[0]->bv_len) : NULL;
	ldap_value_free_len(vals);
	return s;
}

/* ---------------------------------------------------------------- groups */

static void add_group(struct wharf_strv *groups, const char *name, size_t len)
{
	if (len && groups->n < LDAP_MAX_GROUPS)
		wharf_strv_push_owned(groups, wharf_xstrndup(name, len));
}

/* The value of a group DN's first RDN (cn=release,ou=groups,... -> release), or NULL. */
static void add_group_dn(struct wharf_strv *groups, const char *dn, const struct wharf_ldap_config *cfg)
{
	if (cfg->group_base) {
		size_t dl = strlen(dn), bl = strlen(cfg->group_base);
		if (dl <= bl || strcasecmp(dn + dl - bl, cfg->group_base) || dn[dl - bl - 1] != ',')
			return; /* outside the configured group subtree */
	}
	LDAPDN ldn = NULL;
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !ldn || !ldn[0] || !ldn[0][0])
		goto out;
	LDAPAVA *ava = ldn[0][0];
	if (!strncasecmp(ava->la_attr.bv_val, cfg->group_name_attr, ava->la_attr.bv_len) &&
	    strlen(cfg->group_name_attr) == ava->la_attr.bv_len)
		add_group(groups, ava->la_value.bv_val, ava->la_value.bv_len);
out:
	if (ldn)
		ldap_dnfree(ldn);
}

static int groups_memberof(LDAP *ld, LDAPMessage *entry, const struct wharf_ldap_config *cfg, struct wharf_strv *groups)
{
	struct berval **vals = ldap_get_values_len(ld, entry, "memberOf");
	for (size_t i = 0; vals && vals[i]; i++) {
		_cleanup_free_ char *dn = wharf_xstrndup(vals[i]->bv_val, vals[i]->bv_len);
		add_group_dn(groups, dn, cfg);
	}
	ldap_value_free_len(vals);
	return 0;
}

static int groups_search(LDAP *ld, const struct wharf_ldap_config *cfg, const char *user, const char *dn,
			 struct wharf_strv *groups, struct wharf_error *err)
{
	bool by_dn = cfg->group_mode == WHARF_LDAP_GROUPS_MEMBER;
	_cleanup_free_ char *test = wharf_ldap_format_filter(by_dn ? "(member=%s)" : "(memberUid=%s)", by_dn ? dn : user);
	_cleanup_free_ char *filter = wharf_xasprintf("(&%s%s)", test, cfg->group_filter ? cfg->group_filter : "");
	char *attrs[] = {cfg->group_name_attr, NULL};
	LDAPMessage *res = NULL;
	int r = search(ld, cfg, cfg->group_base, LDAP_SCOPE_SUBTREE, filter, attrs, LDAP_MAX_GROUPS, &res, err);
	if (r < 0)
		return wharf_error_prefix(err, "group search");
	for (LDAPMessage *e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
		struct berval **vals = ldap_get_values_len(ld, e, cfg->group_name_attr);
		if (vals && vals[0])
			add_group(groups, vals[0]->bv_val, vals[0]->bv_len);
		ldap_value_free_len(vals);
	}
	ldap_msgfree(res);
	return 0;
}

static void groups_finish(struct wharf_strv *groups, struct wharf_ldap_user *out)
{
	if (groups->n > 1)
		qsort(groups->v, groups->n, sizeof(char *), cmp_strp);
	size_t k = 0;
	for (size_t i = 0; i < groups->n; i++) {
		if (k && !strcmp(groups->v[k - 1], groups->v[i]))
			free(groups->v[i]);
		else
			groups->v[k++] = groups->v[i];
	}
	out->groups = groups->v;
	out->ngroups = k;
	groups->v = NULL;
	groups->n = 0;
}

/* ---------------------------------------------------------------- users */

/* Find exactly one entry for user; fill dn, display, disabled, groups. */
static int find_user(LDAP *ld, const struct wharf_ldap_config *cfg, const char *user, struct wharf_ldap_user *out,
		     struct wharf_error *err)
{
	if (!user || !*user || strlen(user) > LDAP_MAX_NAME)
		return wharf_error_set(err, WHARF_ENOTFOUND, "ldap: no such user (empty or over %d bytes)", LDAP_MAX_NAME);
	_cleanup_free_ char *filter = wharf_ldap_format_filter(cfg->user_filter, user);
	char *attrs[] = {cfg->display_attr, "memberOf", NULL};
	LDAPMessage *res = NULL;
	int r = search(ld, cfg, cfg->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, 2, &res, err);
	if (r < 0)
		return wharf_error_prefix(err, "user search");
	int n = res ? ldap_count_entries(ld, res) : 0;
	if (n != 1 || r == 1) {
		ldap_msgfree(res);
		return wharf_error_set(err, WHARF_ENOTFOUND, "ldap: user %s: %s", user,
				       n == 0 ? "no such user" : "the name matches several entries");
	}
	LDAPMessage *e = ldap_first_entry(ld, res);
	char *dn = ldap_get_dn(ld, e);
	out->dn = wharf_xstrdup(dn);
	ldap_memfree(dn);
	out->display = first_value(ld, e, cfg->display_attr);
	struct wharf_strv groups = {0};
	if (cfg->group_mode == WHARF_LDAP_GROUPS_MEMBEROF)
		r = groups_memberof(ld, e, cfg, &groups);
	else
		r = groups_search(ld, cfg, user, out->dn, &groups, err);
	ldap_msgfree(res);
	groups_finish(&groups, out);
	wharf_strv_free(&groups);
	return r;
}

static int check_disabled(LDAP *ld, const struct wharf_ldap_config *cfg, struct wharf_ldap_user *u,
			  struct wharf_error *err)
{
	if (!cfg->disabled_filter)
		return 0;
	char *attrs[] = {"1.1", NULL};
	LDAPMessage *res = NULL;
	int r = search(ld, cfg, u->dn, LDAP_SCOPE_BASE, cfg->disabled_filter, attrs, 1, &res, err);
	if (r < 0)
		return wharf_error_prefix(err, "disabled check");
	u->disabled = res && ldap_count_entries(ld, res) > 0;
	ldap_msgfree(res);
	return 0;
}

static int lookup_on(LDAP *ld, const struct wharf_ldap_config *cfg, const char *user, struct wharf_ldap_user *out,
		     struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	int r = find_user(ld, cfg, user, out, err);
	if (r == 0)
		r = check_disabled(ld, cfg, out, err);
	if (r < 0)
		wharf_ldap_user_free(out);
	return r;
}

int wharf_ldap_lookup(const struct wharf_ldap_config *cfg, const char *user, struct wharf_ldap_user *out,
		      struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	LDAP *ld = NULL;
	if (ldap_open(cfg, &ld, err) < 0)
		return -err->code;
	int r = lookup_on(ld, cfg, user, out, err);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return r;
}

int wharf_ldap_authenticate(const struct wharf_ldap_config *cfg, const char *user, const char *password,
			    struct wharf_ldap_user *out, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!password || !*password)
		return wharf_error_set(err, WHARF_EINVAL, "ldap: user %s: empty password refused",
				       user && strlen(user) <= LDAP_MAX_NAME ? user : "?");
	LDAP *ld = NULL;
	if (ldap_open(cfg, &ld, err) < 0)
		return -err->code;
	int r = lookup_on(ld, cfg, user, out, err);
	if (r == 0 && out->disabled)
		r = wharf_error_set(err, WHARF_EINVAL, "ldap: user %s: account disabled", user);
	int rc;
	/* Bind last: groups and the disabled check were read with the service account's rights. */
	if (r == 0 && (rc = simple_bind(ld, out->dn, password)) != LDAP_SUCCESS)
		r = rc == LDAP_INVALID_CREDENTIALS ? wharf_error_set(err, WHARF_EINVAL, "ldap: user %s: invalid credentials", user)
						   : ldap_fail(err, rc, "user bind");
	ldap_unbind_ext_s(ld, NULL, NULL);
	if (r < 0)
		wharf_ldap_user_free(out);
	return r;
}
