/* The pull policy (refuse images with findings at or above a severity) and the severity
 * filter of stored reports. */
#include <fnmatch.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "wharf/json.h"
#include "wharf/vulndb.h"

#define REPORT_MAX (512u << 20)

void wharf_scan_policy_init(struct wharf_scan_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->def.block_severity = -1;
}

void wharf_scan_policy_free(struct wharf_scan_policy *p)
{
	wharf_strv_free(&p->patterns);
	free(p->rules);
	wharf_scan_policy_init(p);
}

static int load_rule(struct wharf_scan_rule *rule, json_t *v, const char *where, struct wharf_error *err)
{
	if (!json_is_object(v))
		return wharf_error_set(err, WHARF_EINVAL, "scan_policy %s must be an object", where);
	const char *key;
	json_t *x;
	json_object_foreach(v, key, x) {
		if (!strcmp(key, "block_severity")) {
			int s = json_is_null(x) ? -1 : wharf_severity_from_name(json_string_value(x));
			if (!json_is_null(x) && s < 0)
				return wharf_error_set(err, WHARF_EINVAL,
						       "scan_policy %s.block_severity must be CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN or null",
						       where);
			rule->block_severity = s;
		} else if (!strcmp(key, "block_unscanned")) {
			if (!json_is_boolean(x))
				return wharf_error_set(err, WHARF_EINVAL, "scan_policy %s.block_unscanned must be true or false",
						       where);
			rule->block_unscanned = json_is_true(x);
		} else {
			return wharf_error_set(err, WHARF_EINVAL, "scan_policy %s: key '%s' is not known", where, key);
		}
	}
	return 0;
}

static int load_repositories(struct wharf_scan_policy *p, json_t *repos, struct wharf_error *err)
{
	if (!json_is_object(repos))
		return wharf_error_set(err, WHARF_EINVAL, "scan_policy.repositories must be an object of pattern: rule");
	const char *pattern;
	json_t *v;
	size_t n = 0;
	p->rules = wharf_xcalloc(json_object_size(repos) + 1, sizeof(*p->rules));
	json_object_foreach(repos, pattern, v) {
		_cleanup_free_ char *where = wharf_xasprintf("repositories['%s']", pattern);
		p->rules[n] = p->def; /* a repository rule starts from the default */
		int r = load_rule(&p->rules[n], v, where, err);
		if (r < 0)
			return r;
		wharf_strv_push(&p->patterns, pattern);
		n++;
	}
	return 0;
}

int wharf_scan_policy_load(struct wharf_scan_policy *p, const char *json_text, struct wharf_error *err)
{
	json_t *root = NULL;
	if (wharf_json_parse(&root, json_text, strlen(json_text), 1u << 20, err) < 0)
		return wharf_error_prefix(err, "scan_policy");
	int r = 0;
	if (!json_is_object(root))
		r = wharf_error_set(err, WHARF_EINVAL, "scan_policy must be an object with 'default' and 'repositories'");
	const char *key;
	json_t *v;
	/* The default first, so the repository rules inherit from it. */
	if (r == 0 && (v = json_object_get(root, "default")))
		r = load_rule(&p->def, v, "default", err);
	json_object_foreach(root, key, v) {
		if (r < 0)
			break;
		if (!strcmp(key, "repositories"))
			r = load_repositories(p, v, err);
		else if (strcmp(key, "default"))
			r = wharf_error_set(err, WHARF_EINVAL, "scan_policy: key '%s' is not known (default, repositories)",
					    key);
	}
	if (r == 0)
		p->set = true;
	json_decref(root);
	return r;
}

const struct wharf_scan_rule *wharf_scan_policy_rule(const struct wharf_scan_policy *p, const char *repo)
{
	for (size_t i = 0; i < p->patterns.n; i++)
		if (fnmatch(p->patterns.v[i], repo, 0) == 0)
			return &p->rules[i];
	return &p->def;
}

static int blocked_by_findings(const struct wharf_scand_job *j, int threshold, const char *digest, char **why)
{
	unsigned n = 0;
	for (int s = threshold; s <= WHARF_SEV_CRITICAL; s++)
		n += j->counts[s];
	if (n == 0)
		return 0;
	*why = wharf_xasprintf("image %s has %u vulnerabilit%s of severity %s or higher (the scan policy blocks %s)",
			       digest, n, n == 1 ? "y" : "ies", wharf_severity_name(threshold),
			       wharf_severity_name(threshold));
	return 1;
}

int wharf_scand_policy_check(struct wharf_scand *q, const struct wharf_scan_policy *p, const char *repo,
			     const char *digest, char **why, struct wharf_error *err)
{
	*why = NULL;
	const struct wharf_scan_rule *rule = wharf_scan_policy_rule(p, repo);
	if (rule->block_severity < 0 && !rule->block_unscanned)
		return 0;
	struct wharf_scand_job j;
	int r = wharf_scand_get(q, digest, false, &j, err);
	if (r < 0)
		return r;
	if (!j.has_result) {
		if (rule->block_unscanned)
			*why = wharf_xasprintf("image %s has no scan result yet (%s) and the scan policy blocks unscanned images",
					       digest, wharf_scand_state_name(j.state));
		r = rule->block_unscanned ? 1 : 0;
	} else {
		r = rule->block_severity < 0 ? 0 : blocked_by_findings(&j, rule->block_severity, digest, why);
	}
	wharf_scand_job_free(&j);
	return r;
}

static bool keep(json_t *item, unsigned mask)
{
	int s = wharf_severity_from_name(json_string_value(json_object_get(item, "Severity")));
	return (mask & WHARF_SEV_BIT(s < 0 ? WHARF_SEV_UNKNOWN : s)) != 0;
}

static void filter_array(json_t *arr, unsigned mask)
{
	for (size_t i = json_array_size(arr); i-- > 0;)
		if (!keep(json_array_get(arr, i), mask))
			json_array_remove(arr, i);
}

int wharf_scand_report_filter(const char *report, unsigned mask, char **out, struct wharf_error *err)
{
	json_t *root = NULL;
	if (wharf_json_parse(&root, report, strlen(report), REPORT_MAX, err) < 0)
		return wharf_error_prefix(err, "scan report");
	size_t i;
	json_t *res;
	json_array_foreach(json_object_get(root, "Results"), i, res) {
		filter_array(json_object_get(res, "Vulnerabilities"), mask);
		filter_array(json_object_get(res, "Secrets"), mask);
	}
	*out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return 0;
}
