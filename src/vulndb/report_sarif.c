/* SARIF 2.1.0 (OASIS): one rule per vulnerability or secret rule, one result per finding,
 * located at the file the package was read from (or the image itself for distro packages). */
#include <string.h>

#include "report.h"
#include "wharf-config.h"

static const char *sarif_level(const char *severity)
{
	int s = wharf_severity_from_name(severity);
	if (s >= WHARF_SEV_HIGH)
		return "error";
	if (s == WHARF_SEV_MEDIUM)
		return "warning";
	return "note";
}

/* The index of rule id in rules, adding it when new. */
static size_t rule_index(json_t *rules, const char *id, const char *title, const char *desc, const char *url,
			 const char *severity, double score)
{
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule) {
		if (!strcmp(json_string_value(json_object_get(rule, "id")), id))
			return i;
	}
	rule = json_object();
	json_object_set_new(rule, "id", json_string(id));
	json_object_set_new(rule, "name", json_string(id));
	json_object_set_new(rule, "shortDescription", json_pack("{s:s}", "text", title ? title : id));
	json_object_set_new(rule, "fullDescription", json_pack("{s:s}", "text", desc ? desc : (title ? title : id)));
	if (url)
		json_object_set_new(rule, "helpUri", json_string(url));
	char *help = wharf_xasprintf("%s\nSeverity: %s%s%s", id, severity ? severity : "UNKNOWN", url ? "\n" : "",
				     url ? url : "");
	json_object_set_new(rule, "help", json_pack("{s:s}", "text", help));
	free(help);
	json_object_set_new(rule, "defaultConfiguration", json_pack("{s:s}", "level", sarif_level(severity)));
	json_t *props = json_pack("{s:[s,s,s]}", "tags", "vulnerability", "security", severity ? severity : "UNKNOWN");
	if (score > 0) {
		char s[16];
		snprintf(s, sizeof(s), "%.1f", score);
		json_object_set_new(props, "security-severity", json_string(s));
	}
	json_object_set_new(rule, "properties", props);
	json_array_append_new(rules, rule);
	return json_array_size(rules) - 1;
}

static json_t *location(const char *uri, int line, const char *msg)
{
	json_t *phys = json_pack("{s:{s:s,s:s}}", "artifactLocation", "uri", uri, "uriBaseId", "ROOTPATH");
	int l = line > 0 ? line : 1;
	json_object_set_new(phys, "region", json_pack("{s:i,s:i,s:i,s:i}", "startLine", l, "endLine", l, "startColumn", 1,
						      "endColumn", 1));
	return json_pack("{s:o,s:{s:s}}", "physicalLocation", phys, "message", "text", msg);
}

static json_t *result(size_t idx, const char *rule, const char *severity, const char *text, json_t *loc)
{
	return json_pack("{s:s,s:I,s:s,s:{s:s},s:[o]}", "ruleId", rule, "ruleIndex", (json_int_t)idx, "level",
			 sarif_level(severity), "message", "text", text, "locations", loc);
}

int report_write_sarif(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
		       struct wharf_error *err)
{
	json_t *rules = json_array(), *results = json_array();
	const char *image = r->artifact ? r->artifact : "image";
	for (size_t i = 0; i < r->findings.n; i++) {
		const struct wharf_finding *f = &r->findings.v[i];
		if (!wharf_report_keeps(r, f, opt))
			continue;
		const struct wharf_pkg *p = f->pkg < r->pkgs.n ? &r->pkgs.v[f->pkg] : NULL;
		size_t idx = rule_index(rules, f->id, f->title, f->description, f->primary_url, f->severity, f->cvss_score);
		char *text = wharf_xasprintf("Package: %s\nInstalled Version: %s\nVulnerability %s\nSeverity: %s\nFixed Version: %s\nLink: %s",
					     f->pkg_name, f->installed ? f->installed : "", f->id,
					     f->severity ? f->severity : "UNKNOWN", f->fixed ? f->fixed : "",
					     f->primary_url ? f->primary_url : "");
		const char *uri = p && p->path ? p->path : image;
		char *msg = wharf_xasprintf("%s: %s@%s", image, f->pkg_name, f->installed ? f->installed : "");
		json_array_append_new(results, result(idx, f->id, f->severity, text, location(uri, 1, msg)));
		free(text);
		free(msg);
	}
	for (size_t i = 0; i < r->secrets.n; i++) {
		const struct wharf_secret_finding *s = &r->secrets.v[i];
		if (!report_keeps_secret(s, opt) || !s->rule_id)
			continue;
		size_t idx = rule_index(rules, s->rule_id, s->title, s->title, NULL, s->severity, 0);
		char *text = wharf_xasprintf("Secret %s\nSeverity: %s\nMatch: %s", s->title ? s->title : s->rule_id,
					     s->severity ? s->severity : "UNKNOWN", s->match ? s->match : "");
		json_array_append_new(results, result(idx, s->rule_id, s->severity, text,
						      location(s->path ? s->path : image, s->line, image)));
		free(text);
	}
	json_t *driver = json_pack("{s:s,s:s,s:s,s:o}", "name", "wharf", "fullName", "wharf vulnerability scanner",
				   "version", WHARF_VERSION, "rules", rules);
	json_t *run = json_pack("{s:{s:o},s:o,s:s,s:s,s:{s:{s:s}}}", "tool", "driver", driver, "results", results,
				"columnKind", "utf16CodeUnits", "language", "en-US",
				"originalUriBaseIds", "ROOTPATH", "uri", "file:///");
	json_t *root = json_pack("{s:s,s:s,s:[o]}", "version", "2.1.0", "$schema",
				 "https://json.schemastore.org/sarif-2.1.0.json", "runs", run);
	int rc = report_dump(out, root, err);
	json_decref(root);
	return rc;
}
