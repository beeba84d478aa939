/* The attribute-based policy file: ordered rules, the first one that matches decides.
 * Format (docs/auth-extensions.md):
 *   {"default": "allow"|"deny",
 *    "rules": [{"name": "..", "effect": "allow"|"deny", "actions": [..], "users": [globs],
 *               "teams": [globs], "repositories": [globs], "tags": [globs], "labels": {key: glob},
 *               "time": {"weekdays": ["mon",..], "hours": {"from": H, "to": H}},
 *               "scan": {"severity_at_least": "HIGH", "scanned": bool}, "signed": bool}, ...]}
 * Every field of a rule is a condition; a rule matches when all its conditions do; within a list
 * any entry may match. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wharf/authx.h"
#include "wharf/json.h"

#define POLICY_MAX_RULES 10000
#define POLICY_MAX_LIST 1000
#define POLICY_MAX_STRING 1024

struct label_cond {
	char *key;
	char *glob;
};

struct rule {
	char *name;
	bool allow;
	struct wharf_strv actions, users, teams, repositories, tags;
	struct label_cond *labels;
	size_t nlabels;
	unsigned weekdays;   /* bit per day, Sunday = bit 0; 0: any day */
	int hour_from, hour_to; /* -1: any hour; from <= h < to, wrapping past midnight when from > to */
	int severity_at_least; /* -1: no condition */
	int scanned;          /* -1 no condition, else 0/1 */
	int is_signed;        /* -1 no condition, else 0/1 */
};

struct wharf_policy {
	bool default_allow;
	struct rule *rules;
	size_t nrules;
};

static const char *const actions_known[] = {"pull", "push", "delete", "sign", "admin", "catalog", "*"};
static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

int wharf_severity_rank(const char *s)
{
	static const char *const names[] = {"NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
	if (!s)
		return -1;
	if (!strcasecmp(s, "UNKNOWN") || !strcasecmp(s, "NEGLIGIBLE"))
		return 0;
	for (int i = 0; i < 5; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	return -1;
}

static void rule_free(struct rule *r)
{
	free(r->name);
	wharf_strv_free(&r->actions);
	wharf_strv_free(&r->users);
	wharf_strv_free(&r->teams);
	wharf_strv_free(&r->repositories);
	wharf_strv_free(&r->tags);
	for (size_t i = 0; i < r->nlabels; i++) {
		free(r->labels[i].key);
		free(r->labels[i].glob);
	}
	free(r->labels);
}

void wharf_policy_free(struct wharf_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p);
}

/* ---------------------------------------------------------------- parsing */

static int bad(struct wharf_error *err, size_t idx, const char *field, const char *what)
{
	return wharf_error_set(err, WHARF_EINVAL, "policy: rule %zu: %s: %s", idx, field, what);
}

static int parse_string(json_t *v, size_t idx, const char *field, const char **out, struct wharf_error *err)
{
	*out = json_string_value(v);
	if (!*out)
		return bad(err, idx, field, "must be a string");
	if (strlen(*out) > POLICY_MAX_STRING || strlen(*out) != json_string_length(v))
		return bad(err, idx, field, "string too long or holds a NUL");
	return 0;
}

static int parse_list(json_t *v, size_t idx, const char *field, struct wharf_strv *out, struct wharf_error *err)
{
	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad(err, idx, field, "must be a non-empty array of strings");
	if (json_array_size(v) > POLICY_MAX_LIST)
		return bad(err, idx, field, "more than 1000 entries");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		const char *s;
		if (parse_string(e, idx, field, &s, err) < 0)
			return -err->code;
		if (!*s)
			return bad(err, idx, field, "an entry is empty");
		wharf_strv_push(out, s);
	}
	return 0;
}

static int parse_actions(json_t *v, size_t idx, struct rule *r, struct wharf_error *err)
{
	if (parse_list(v, idx, "actions", &r->actions, err) < 0)
		return -err->code;
	for (size_t i = 0; i < r->actions.n; i++) {
		bool known = false;
		for (size_t k = 0; k < sizeof(actions_known) / sizeof(actions_known[0]); k++)
			known = known || !strcmp(r->actions.v[i], actions_known[k]);
		if (!known)
			return bad(err, idx, "actions",
				   "unknown action (pull, push, delete, sign, admin, catalog or *)");
	}
	return 0;
}

static int parse_labels(json_t *v, size_t idx, struct rule *r, struct wharf_error *err)
{
	if (!json_is_object(v) || json_object_size(v) == 0)
		return bad(err, idx, "labels", "must be a non-empty object of label: glob");
	if (json_object_size(v) > POLICY_MAX_LIST)
		return bad(err, idx, "labels", "more than 1000 entries");
	r->labels = wharf_xcalloc(json_object_size(v), sizeof(*r->labels));
	const char *key;
	json_t *g;
	json_object_foreach(v, key, g) {
		const char *s;
		if (parse_string(g, idx, "labels", &s, err) < 0)
			return -err->code;
		r->labels[r->nlabels].key = wharf_xstrdup(key);
		r->labels[r->nlabels++].glob = wharf_xstrdup(s);
	}
	return 0;
}

static int parse_hour(json_t *v, size_t idx, const char *field, int *out, struct wharf_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 24)
		return bad(err, idx, field, "must be an integer hour 0..24 (UTC)");
	*out = (int)json_integer_value(v);
	return 0;
}

static int parse_time(json_t *v, size_t idx, struct rule *r, struct wharf_error *err)
{
	if (!json_is_object(v))
		return bad(err, idx, "time", "must be an object with weekdays and/or hours");
	const char *key;
	json_t *f;
	json_object_foreach(v, key, f) {
		if (!strcmp(key, "weekdays")) {
			struct wharf_strv days = {0};
			int rc = parse_list(f, idx, "time.weekdays", &days, err);
			for (size_t i = 0; rc == 0 && i < days.n; i++) {
				int d = -1;
				for (int k = 0; k < 7; k++)
					if (!strcasecmp(days.v[i], weekday_names[k]))
						d = k;
				if (d < 0)
					rc = bad(err, idx, "time.weekdays", "days are sun, mon, tue, wed, thu, fri, sat");
				else
					r->weekdays |= 1u << d;
			}
			wharf_strv_free(&days);
			if (rc < 0)
				return rc;
		} else if (!strcmp(key, "hours")) {
			json_t *from = json_object_get(f, "from"), *to = json_object_get(f, "to");
			if (!json_is_object(f) || json_object_size(f) != 2 || !from || !to)
				return bad(err, idx, "time.hours", "must be {\"from\": H, \"to\": H}");
			if (parse_hour(from, idx, "time.hours.from", &r->hour_from, err) < 0 ||
			    parse_hour(to, idx, "time.hours.to", &r->hour_to, err) < 0)
				return -err->code;
			if (r->hour_from == r->hour_to)
				return bad(err, idx, "time.hours", "from and to are equal (an empty window)");
		} else {
			return bad(err, idx, "time", "unknown field (weekdays, hours)");
		}
	}
	return 0;
}

static int parse_bool(json_t *v, size_t idx, const char *field, int *out, struct wharf_error *err)
{
	if (!json_is_boolean(v))
		return bad(err, idx, field, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int parse_scan(json_t *v, size_t idx, struct rule *r, struct wharf_error *err)
{
	if (!json_is_object(v) || json_object_size(v) == 0)
		return bad(err, idx, "scan", "must be an object with severity_at_least and/or scanned");
	const char *key;
	json_t *f;
	json_object_foreach(v, key, f) {
		if (!strcmp(key, "severity_at_least")) {
			const char *s;
			if (parse_string(f, idx, "scan.severity_at_least", &s, err) < 0)
				return -err->code;
			r->severity_at_least = wharf_severity_rank(s);
			if (r->severity_at_least < 0)
				return bad(err, idx, "scan.severity_at_least", "not one of NONE, LOW, MEDIUM, HIGH, CRITICAL");
		} else if (!strcmp(key, "scanned")) {
			if (parse_bool(f, idx, "scan.scanned", &r->scanned, err) < 0)
				return -err->code;
		} else {
			return bad(err, idx, "scan", "unknown field (severity_at_least, scanned)");
		}
	}
	return 0;
}

static int parse_field(const char *key, json_t *f, size_t idx, struct rule *r, bool *have_effect,
		       struct wharf_error *err)
{
	const char *s;
	if (!strcmp(key, "name")) {
		if (parse_string(f, idx, "name", &s, err) < 0)
			return -err->code;
		r->name = wharf_xstrdup(s);
		return 0;
	}
	if (!strcmp(key, "effect")) {
		if (parse_string(f, idx, "effect", &s, err) < 0)
			return -err->code;
		if (strcmp(s, "allow") && strcmp(s, "deny"))
			return bad(err, idx, "effect", "must be \"allow\" or \"deny\"");
		r->allow = !strcmp(s, "allow");
		*have_effect = true;
		return 0;
	}
	if (!strcmp(key, "actions"))
		return parse_actions(f, idx, r, err);
	if (!strcmp(key, "users"))
		return parse_list(f, idx, key, &r->users, err);
	if (!strcmp(key, "teams"))
		return parse_list(f, idx, key, &r->teams, err);
	if (!strcmp(key, "repositories"))
		return parse_list(f, idx, key, &r->repositories, err);
	if (!strcmp(key, "tags"))
		return parse_list(f, idx, key, &r->tags, err);
	if (!strcmp(key, "labels"))
		return parse_labels(f, idx, r, err);
	if (!strcmp(key, "time"))
		return parse_time(f, idx, r, err);
	if (!strcmp(key, "scan"))
		return parse_scan(f, idx, r, err);
	if (!strcmp(key, "signed"))
		return parse_bool(f, idx, key, &r->is_signed, err);
	return bad(err, idx, key,
		   "unknown field (name, effect, actions, users, teams, repositories, tags, labels, time, scan, signed)");
}

static int parse_rule(json_t *v, size_t idx, struct rule *r, struct wharf_error *err)
{
	r->hour_from = r->hour_to = -1;
	r->severity_at_least = r->scanned = r->is_signed = -1;
	if (!json_is_object(v))
		return wharf_error_set(err, WHARF_EINVAL, "policy: rule %zu: must be an object", idx);
	bool have_effect = false;
	const char *key;
	json_t *f;
	json_object_foreach(v, key, f) {
		if (parse_field(key, f, idx, r, &have_effect, err) < 0)
			return -err->code;
	}
	if (!have_effect)
		return bad(err, idx, "effect", "missing (\"allow\" or \"deny\")");
	return 0;
}

static int parse_top(json_t *doc, struct wharf_policy *p, struct wharf_error *err)
{
	if (!json_is_object(doc))
		return wharf_error_set(err, WHARF_EINVAL, "policy: the document must be a JSON object");
	const char *key;
	json_t *v;
	json_t *rules = NULL;
	bool have_default = false;
	json_object_foreach(doc, key, v) {
		if (!strcmp(key, "default")) {
			const char *s = json_string_value(v);
			if (!s || (strcmp(s, "allow") && strcmp(s, "deny")))
				return wharf_error_set(err, WHARF_EINVAL, "policy: default: must be \"allow\" or \"deny\"");
			p->default_allow = !strcmp(s, "allow");
			have_default = true;
		} else if (!strcmp(key, "rules")) {
			rules = v;
		} else if (strcmp(key, "version") || !json_is_integer(v) || json_integer_value(v) != 1) {
			return wharf_error_set(err, WHARF_EINVAL,
					       "policy: %s: unknown top-level field (version: 1, default, rules)", key);
		}
	}
	if (!have_default)
		return wharf_error_set(err, WHARF_EINVAL, "policy: default: missing (\"allow\" or \"deny\")");
	if (!rules)
		return 0;
	if (!json_is_array(rules))
		return wharf_error_set(err, WHARF_EINVAL, "policy: rules: must be an array");
	if (json_array_size(rules) > POLICY_MAX_RULES)
		return wharf_error_set(err, WHARF_ETOOBIG, "policy: rules: more than %d", POLICY_MAX_RULES);
	p->rules = wharf_xcalloc(json_array_size(rules) + 1, sizeof(*p->rules));
	for (size_t i = 0; i < json_array_size(rules); i++) {
		p->nrules++;
		if (parse_rule(json_array_get(rules, i), i, &p->rules[i], err) < 0)
			return -err->code;
	}
	return 0;
}

int wharf_policy_parse(struct wharf_policy **out, const char *data, size_t len, struct wharf_error *err)
{
	*out = NULL;
	json_t *doc = NULL;
	if (wharf_json_parse(&doc, data, len, WHARF_POLICY_MAX_BYTES, err) < 0)
		return wharf_error_prefix(err, "policy");
	struct wharf_policy *p = wharf_xcalloc(1, sizeof(*p));
	int r = parse_top(doc, p, err);
	json_decref(doc);
	if (r < 0) {
		wharf_policy_free(p);
		return r;
	}
	*out = p;
	return 0;
}

int wharf_policy_load(struct wharf_policy **out, const char *path, struct wharf_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	*out = NULL;
	if (wharf_read_file(path, WHARF_POLICY_MAX_BYTES, &data, &len, err) < 0)
		return wharf_error_prefix(err, "policy file %s", path);
	if (wharf_policy_parse(out, data, len, err) < 0)
		return wharf_error_prefix(err, "%s", path);
	return 0;
}

/* ---------------------------------------------------------------- evaluation */

static bool glob_any(const struct wharf_strv *globs, const char *value)
{
	if (!value)
		return false;
	for (size_t i = 0; i < globs->n; i++)
		if (fnmatch(globs->v[i], value, 0) == 0)
			return true;
	return false;
}

static bool teams_match(const struct rule *r, const struct wharf_authz_request *req)
{
	for (size_t i = 0; i < req->nteams; i++)
		if (glob_any(&r->teams, req->teams[i]))
			return true;
	return false;
}

static bool labels_match(const struct rule *r, const struct wharf_authz_request *req)
{
	for (size_t i = 0; i < r->nlabels; i++) {
		const char *v = json_string_value(json_object_get(req->labels, r->labels[i].key));
		if (!v || fnmatch(r->labels[i].glob, v, 0) != 0)
			return false;
	}
	return true;
}

static bool time_matches(const struct rule *r, int64_t now)
{
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	if (r->weekdays && !(r->weekdays & (1u << tm.tm_wday)))
		return false;
	if (r->hour_from < 0)
		return true;
	if (r->hour_from < r->hour_to)
		return tm.tm_hour >= r->hour_from && tm.tm_hour < r->hour_to;
	return tm.tm_hour >= r->hour_from || tm.tm_hour < r->hour_to;
}

static bool action_matches(const struct rule *r, const char *action)
{
	for (size_t i = 0; i < r->actions.n; i++)
		if (!strcmp(r->actions.v[i], "*") || (action && !strcmp(r->actions.v[i], action)))
			return true;
	return false;
}

static bool scan_matches(const struct rule *r, const struct wharf_authz_request *req)
{
	int rank = wharf_severity_rank(req->scan_max_severity);
	if (r->scanned >= 0 && (rank >= 0) != (r->scanned == 1))
		return false;
	if (r->severity_at_least >= 0 && (rank < 0 || rank < r->severity_at_least))
		return false;
	return true;
}

/* The conditions on the request itself: who, what, where, when. */
static bool request_conditions_match(const struct rule *r, const struct wharf_authz_request *req, int64_t now)
{
	const char *user = req->user && *req->user ? req->user : "anonymous";
	if (r->actions.n && !action_matches(r, req->action))
		return false;
	if (r->users.n && !glob_any(&r->users, user))
		return false;
	if (r->teams.n && !teams_match(r, req))
		return false;
	if (r->repositories.n && !glob_any(&r->repositories, req->repository))
		return false;
	if (r->tags.n && !glob_any(&r->tags, req->tag))
		return false;
	if ((r->weekdays || r->hour_from >= 0) && !time_matches(r, now))
		return false;
	return true;
}

/* Which image attributes the rule's conditions use (WHARF_IMAGE_NEEDS_* bits). */
static unsigned rule_image_needs(const struct rule *r)
{
	unsigned needs = 0;
	if (r->severity_at_least >= 0 || r->scanned >= 0)
		needs |= WHARF_IMAGE_NEEDS_SCAN;
	if (r->is_signed >= 0)
		needs |= WHARF_IMAGE_NEEDS_SIGNED;
	if (r->nlabels)
		needs |= WHARF_IMAGE_NEEDS_LABELS;
	return needs;
}

/* The conditions on the image: labels, scan result, signature. */
static bool image_conditions_match(const struct rule *r, const struct wharf_authz_request *req)
{
	if (r->nlabels && !labels_match(r, req))
		return false;
	if (!scan_matches(r, req))
		return false;
	if (r->is_signed >= 0 && req->signed_status != r->is_signed)
		return false;
	return true;
}

unsigned wharf_policy_image_needs(const struct wharf_policy *p)
{
	unsigned needs = 0;
	for (size_t i = 0; p && i < p->nrules; i++)
		needs |= rule_image_needs(&p->rules[i]);
	return needs;
}

static void rule_reason(const struct rule *r, size_t i, const char *outcome, char *reason, size_t reason_len)
{
	if (reason_len)
		snprintf(reason, reason_len, "policy rule %zu%s%s%s: %s", i, r->name ? " (" : "", r->name ? r->name : "",
			 r->name ? ")" : "", outcome);
}

void wharf_policy_evaluate(const struct wharf_policy *p, const struct wharf_authz_request *req, bool *allowed,
			   char *reason, size_t reason_len)
{
	int64_t now = req->now ? req->now : wharf_now();
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if (!request_conditions_match(r, req, now))
			continue;
		/* The image is not resolved yet and the second pass will see it: this rule (and so the
		 * whole decision) waits for it. Every rule before it failed on request conditions
		 * alone, so the second pass reaches this rule again. */
		if (req->image == WHARF_IMAGE_PENDING && rule_image_needs(r)) {
			*allowed = true;
			rule_reason(r, i, "deferred until the manifest resolves", reason, reason_len);
			return;
		}
		/* No image here (a blob, an upload, the catalog): "unknown" is not "unscanned" */
		if (req->image == WHARF_IMAGE_UNKNOWN && rule_image_needs(r))
			continue;
		if (!image_conditions_match(r, req))
			continue;
		*allowed = r->allow;
		rule_reason(r, i, r->allow ? "allow" : "deny", reason, reason_len);
		return;
	}
	*allowed = p->default_allow;
	if (reason_len)
		snprintf(reason, reason_len, "policy default: %s", p->default_allow ? "allow" : "deny");
}
