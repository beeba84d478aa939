/* Report options: the ignore file, the filter, and the dispatch to the report formats. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "report.h"

/* ---- ignore files ---- */

#define IGNORE_MAX_FILE (1u << 20)
#define IGNORE_MAX_ENTRIES 10000

void wharf_ignore_list_free(struct wharf_ignore_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].pkg);
		free(l->v[i].reason);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* "YYYY-MM-DD" to the last second of that day, UTC. */
static int parse_day(const char *s, int64_t *out)
{
	struct tm tm = {0};
	if (!s || strlen(s) != 10)
		return -1;
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || *end)
		return -1;
	tm.tm_hour = 23;
	tm.tm_min = 59;
	tm.tm_sec = 59;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int add_entry(struct wharf_ignore_list *l, const char *name, int line, const char *id, const char *pkg,
		     const char *reason, const char *expires, struct wharf_error *err)
{
	if (!id || !*id)
		return wharf_error_set(err, WHARF_EINVAL, "%s:%d: entry without an ID", name, line);
	if (!reason || !*reason)
		return wharf_error_set(err, WHARF_EINVAL, "%s:%d: %s: every entry needs a reason", name, line, id);
	if (!expires)
		return wharf_error_set(err, WHARF_EINVAL, "%s:%d: %s: every entry needs an expiry (expires=YYYY-MM-DD)", name,
				       line, id);
	int64_t t;
	if (parse_day(expires, &t) < 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s:%d: %s: expiry \"%s\" is not a date YYYY-MM-DD", name, line, id,
				       expires);
	if (l->n == IGNORE_MAX_ENTRIES)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %d entries", name, IGNORE_MAX_ENTRIES);
	l->v = wharf_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = (struct wharf_ignore_entry){wharf_xstrdup(id), pkg ? wharf_xstrdup(pkg) : NULL,
						   wharf_xstrdup(reason), t, line};
	return 0;
}

/* Plain lines: "ID reason words... expires=YYYY-MM-DD [pkg=NAME]"; a line starting with '#'
 * is a comment ('#' inside a reason, "see #123", is text). */
static int parse_plain_line(struct wharf_ignore_list *l, const char *name, int lineno, char *line,
			    struct wharf_error *err)
{
	char *save = NULL, *id = strtok_r(line, " \t\r", &save);
	if (!id || id[0] == '#')
		return 0;
	const char *expires = NULL, *pkg = NULL;
	struct wharf_buf reason;
	wharf_buf_init(&reason);
	for (char *tok = strtok_r(NULL, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
		if (wharf_str_has_prefix(tok, "expires="))
			expires = tok + 8;
		else if (wharf_str_has_prefix(tok, "exp:"))
			expires = tok + 4;
		else if (wharf_str_has_prefix(tok, "pkg="))
			pkg = tok + 4;
		else {
			if (reason.len)
				wharf_buf_puts(&reason, " ");
			wharf_buf_puts(&reason, tok);
		}
	}
	int r = add_entry(l, name, lineno, id, pkg, reason.data, expires, err);
	wharf_buf_free(&reason);
	return r;
}

static int parse_plain(const char *name, const char *data, size_t len, struct wharf_ignore_list *out,
		       struct wharf_error *err)
{
	char *copy = wharf_xstrndup(data, len), *save = NULL;
	int lineno = 0, r = 0;
	char *p = copy;
	while (r == 0 && p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		r = parse_plain_line(out, name, lineno, p, err);
		p = nl ? nl + 1 : NULL;
	}
	(void)save;
	free(copy);
	return r;
}

static int parse_yaml(const char *name, const char *data, size_t len, struct wharf_ignore_list *out,
		      struct wharf_error *err)
{
	json_t *doc = NULL;
	int r = vulndb_yaml_to_json(name, data, len, &doc, err);
	if (r < 0)
		return r;
	const json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "ignore");
	if (!json_is_array(list)) {
		json_decref(doc);
		return wharf_error_set(err, WHARF_EINVAL, "%s: expected a list of entries under \"ignore:\"", name);
	}
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *pkg = json_string_value(json_object_get(e, "package"));
		const char *reason = json_string_value(json_object_get(e, "reason"));
		const char *exp = json_string_value(json_object_get(e, "expires"));
		char where[32];
		snprintf(where, sizeof(where), "entry %zu", i + 1);
		if (!json_is_object(e)) {
			r = wharf_error_set(err, WHARF_EINVAL, "%s: %s is not a mapping", name, where);
			break;
		}
		if ((r = add_entry(out, name, (int)i + 1, id, pkg, reason, exp, err)) < 0)
			break;
	}
	json_decref(doc);
	return r;
}

/* YAML when the first line that says something starts a mapping key or a list item. */
static bool looks_yaml(const char *data, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && isspace((unsigned char)data[i]))
			i++;
		if (i < len && data[i] == '#') {
			while (i < len && data[i] != '\n')
				i++;
			continue;
		}
		break;
	}
	if (i >= len)
		return false;
	if (data[i] == '-' || !strncmp(data + i, "---", len - i < 3 ? len - i : 3))
		return true;
	return len - i >= 7 && !strncmp(data + i, "ignore:", 7);
}

int wharf_ignore_parse(const char *name, const char *data, size_t len, struct wharf_ignore_list *out,
		       struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len > IGNORE_MAX_FILE)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: larger than %u bytes", name, IGNORE_MAX_FILE);
	if (memchr(data, 0, len))
		return wharf_error_set(err, WHARF_EINVAL, "%s: contains a NUL byte", name);
	int r = looks_yaml(data, len) ? parse_yaml(name, data, len, out, err) : parse_plain(name, data, len, out, err);
	if (r < 0)
		wharf_ignore_list_free(out);
	return r;
}

int wharf_ignore_load(const char *path, struct wharf_ignore_list *out, struct wharf_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, IGNORE_MAX_FILE, &data, &len, err);
	if (r < 0)
		return r;
	r = wharf_ignore_parse(path, data, len, out, err);
	free(data);
	return r;
}

/* ---- the filter ---- */

static int64_t opt_now(const struct wharf_report_options *opt)
{
	return opt && opt->now ? opt->now : wharf_now();
}

/* The ignore entry matching id (and pkg), or NULL; *expired says whether it ran out. */
static const struct wharf_ignore_entry *ignore_match(const struct wharf_report_options *opt, const char *id,
						     const char *pkg, bool *expired)
{
	*expired = false;
	if (!opt || !opt->ignore)
		return NULL;
	const struct wharf_ignore_entry *hit = NULL;
	for (size_t i = 0; i < opt->ignore->n; i++) {
		const struct wharf_ignore_entry *e = &opt->ignore->v[i];
		if (strcmp(e->id, id) || (e->pkg && (!pkg || strcmp(e->pkg, pkg))))
			continue;
		if (e->expires >= opt_now(opt))
			return e;
		hit = e;
	}
	*expired = hit != NULL;
	return hit;
}

static bool severity_kept(const struct wharf_report_options *opt, const char *severity)
{
	if (!opt || !opt->severities)
		return true;
	int s = wharf_severity_from_name(severity);
	return (opt->severities & WHARF_SEV_BIT(s < 0 ? WHARF_SEV_UNKNOWN : s)) != 0;
}

bool wharf_report_keeps(const struct wharf_scan_result *r, const struct wharf_finding *f,
			const struct wharf_report_options *opt)
{
	(void)r;
	if (!opt)
		return true;
	if (!severity_kept(opt, f->severity))
		return false;
	if (opt->ignore_unfixed && !f->fixed)
		return false;
	bool expired;
	return !ignore_match(opt, f->id, f->pkg_name, &expired) || expired;
}

bool report_keeps_secret(const struct wharf_secret_finding *s, const struct wharf_report_options *opt)
{
	if (!opt)
		return true;
	if (!severity_kept(opt, s->severity))
		return false;
	bool expired;
	return !ignore_match(opt, s->rule_id, NULL, &expired) || expired;
}

static void warn_expired(const struct wharf_report_options *opt, const char *id, const char *pkg, bool *warned)
{
	bool expired;
	const struct wharf_ignore_entry *e = ignore_match(opt, id, pkg, &expired);
	if (!e || !expired)
		return;
	size_t idx = (size_t)(e - opt->ignore->v);
	if (warned[idx])
		return;
	warned[idx] = true;
	char day[16];
	time_t t = (time_t)e->expires;
	strftime(day, sizeof(day), "%Y-%m-%d", gmtime(&t));
	fprintf(opt->warnings ? opt->warnings : stderr,
		"warning: ignore entry %s (line %d) expired on %s and no longer applies\n", e->id, e->line, day);
}

size_t wharf_report_filter(struct wharf_scan_result *r, const struct wharf_report_options *opt)
{
	if (!opt)
		return 0;
	bool *warned = wharf_xcalloc(opt->ignore && opt->ignore->n ? opt->ignore->n : 1, sizeof(bool));
	size_t removed = 0, w = 0;
	for (size_t i = 0; i < r->findings.n; i++) {
		struct wharf_finding *f = &r->findings.v[i];
		warn_expired(opt, f->id, f->pkg_name, warned);
		if (wharf_report_keeps(r, f, opt)) {
			r->findings.v[w++] = *f;
			continue;
		}
		/* Free it through the list's own free, so every field it owns goes. */
		struct wharf_finding_list one = {wharf_xmalloc(sizeof(*f)), 1, 1};
		one.v[0] = *f;
		wharf_finding_list_free(&one);
		removed++;
	}
	r->findings.n = w;
	w = 0;
	for (size_t i = 0; i < r->secrets.n; i++) {
		struct wharf_secret_finding *s = &r->secrets.v[i];
		warn_expired(opt, s->rule_id, NULL, warned);
		if (report_keeps_secret(s, opt)) {
			r->secrets.v[w++] = *s;
			continue;
		}
		struct wharf_secret_list one = {wharf_xmalloc(sizeof(*s)), 1, 1};
		one.v[0] = *s;
		wharf_secret_list_free(&one);
		removed++;
	}
	r->secrets.n = w;
	free(warned);
	return removed;
}

int wharf_report_max_severity(const struct wharf_scan_result *r)
{
	int max = -1;
	for (size_t i = 0; i < r->findings.n; i++) {
		int s = wharf_severity_from_name(r->findings.v[i].severity);
		if ((s < 0 ? 0 : s) > max)
			max = s < 0 ? 0 : s;
	}
	for (size_t i = 0; i < r->secrets.n; i++) {
		int s = wharf_severity_from_name(r->secrets.v[i].severity);
		if ((s < 0 ? 0 : s) > max)
			max = s < 0 ? 0 : s;
	}
	return max;
}

int wharf_report_write(FILE *out, const char *format, const struct wharf_scan_result *r,
		       const struct wharf_report_options *opt, struct wharf_error *err)
{
	if (!format || !strcmp(format, "table"))
		return report_write_table(out, r, opt, err);
	if (!strcmp(format, "json"))
		return report_write_trivy(out, r, opt, err);
	if (!strcmp(format, "sarif"))
		return report_write_sarif(out, r, opt, err);
	if (!strcmp(format, "cyclonedx"))
		return report_write_cyclonedx(out, r, opt, err);
	return wharf_error_set(err, WHARF_EINVAL, "unknown report format \"%s\" (table, json, sarif, cyclonedx)", format);
}
