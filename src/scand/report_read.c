/* Read a Trivy-format JSON report (what wharfd's vulnerabilities API serves) back into a scan
 * result, so `wharf scan --remote` can render it as a table, SARIF or CycloneDX. The report
 * comes from the network: size-limited, every field type-checked, unknown fields ignored. */
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "wharf/json.h"

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static char *dup_or_null(const char *s)
{
	return s ? wharf_xstrdup(s) : NULL;
}

/* Trivy's Result.Type ("debian", "npm", "python-pkg", ...) to an OSV ecosystem name. */
static const char *ecosystem_of(const char *type)
{
	static const char *const map[][2] = {
		{"debian", WHARF_ECO_DEBIAN}, {"ubuntu", WHARF_ECO_UBUNTU}, {"alpine", WHARF_ECO_ALPINE},
		{"redhat", WHARF_ECO_RPM},    {"centos", WHARF_ECO_RPM},    {"rocky", WHARF_ECO_RPM},
		{"npm", WHARF_ECO_NPM},       {"node-pkg", WHARF_ECO_NPM},  {"python-pkg", WHARF_ECO_PYPI},
		{"pip", WHARF_ECO_PYPI},      {"gobinary", WHARF_ECO_GO},   {"gomod", WHARF_ECO_GO},
		{"jar", WHARF_ECO_MAVEN},     {"pom", WHARF_ECO_MAVEN},     {"cargo", WHARF_ECO_CARGO},
		{"rust-binary", WHARF_ECO_CARGO}, {"gemspec", WHARF_ECO_GEM}, {"bundler", WHARF_ECO_GEM},
		{"composer", WHARF_ECO_COMPOSER},
	};
	for (size_t i = 0; type && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(type, map[i][0]))
			return map[i][1];
	return type ? type : "unknown";
}

static int layer_of(struct wharf_scan_result *r, json_t *layer)
{
	const char *d = jstr(layer, "Digest");
	for (size_t i = 0; d && i < r->nlayers; i++)
		if (r->layers[i].digest && !strcmp(r->layers[i].digest, d))
			return (int)i;
	return -1;
}

/* Every layer named by a finding, in order of first appearance (the report has no layer list). */
static void note_layer(struct wharf_scan_result *r, json_t *layer)
{
	const char *d = jstr(layer, "Digest");
	if (!d || layer_of(r, layer) >= 0)
		return;
	r->layers = wharf_xrealloc(r->layers, (r->nlayers + 1) * sizeof(*r->layers));
	memset(&r->layers[r->nlayers], 0, sizeof(*r->layers));
	r->layers[r->nlayers].digest = wharf_xstrdup(d);
	r->layers[r->nlayers].diffid = dup_or_null(jstr(layer, "DiffID"));
	r->nlayers++;
}

static int read_vuln(struct wharf_scan_result *r, json_t *v, const char *eco, const char *target, size_t i,
		     struct wharf_error *err)
{
	const char *id = jstr(v, "VulnerabilityID"), *name = jstr(v, "PkgName"), *inst = jstr(v, "InstalledVersion");
	if (!id || !name || !inst)
		return wharf_error_set(err, WHARF_EINVAL,
				       "report: %s: Vulnerabilities[%zu] lacks VulnerabilityID, PkgName or InstalledVersion",
				       target, i);
	json_t *layer = json_object_get(v, "Layer");
	note_layer(r, layer);
	struct wharf_pkg *p = wharf_pkg_list_add(&r->pkgs);
	p->ecosystem = wharf_xstrdup(eco);
	p->name = wharf_xstrdup(name);
	p->version = wharf_xstrdup(inst);
	p->path = dup_or_null(jstr(v, "PkgPath"));
	p->layer = layer_of(r, layer);
	p->layer_digest = dup_or_null(jstr(layer, "Digest"));
	p->layer_diffid = dup_or_null(jstr(layer, "DiffID"));
	struct wharf_finding *f = wharf_finding_list_add(&r->findings);
	const char *fixed = jstr(v, "FixedVersion");
	f->id = wharf_xstrdup(id);
	f->pkg_name = wharf_xstrdup(name);
	f->installed = wharf_xstrdup(inst);
	f->fixed = fixed && *fixed ? wharf_xstrdup(fixed) : NULL;
	f->status = wharf_xstrdup(jstr(v, "Status") ? jstr(v, "Status") : f->fixed ? "fixed" : "affected");
	f->severity = wharf_xstrdup(jstr(v, "Severity") ? jstr(v, "Severity") : "UNKNOWN");
	f->severity_source = dup_or_null(jstr(v, "SeveritySource"));
	f->title = dup_or_null(jstr(v, "Title"));
	f->description = dup_or_null(jstr(v, "Description"));
	f->primary_url = dup_or_null(jstr(v, "PrimaryURL"));
	f->pkg = r->pkgs.n - 1;
	return 0;
}

static int read_secret(struct wharf_scan_result *r, json_t *s, const char *target, size_t i, struct wharf_error *err)
{
	const char *rule = jstr(s, "RuleID");
	if (!rule)
		return wharf_error_set(err, WHARF_EINVAL, "report: %s: Secrets[%zu] lacks RuleID", target, i);
	json_t *layer = json_object_get(s, "Layer");
	note_layer(r, layer);
	struct wharf_secret_finding *f = wharf_secret_list_add(&r->secrets);
	f->rule_id = wharf_xstrdup(rule);
	f->category = dup_or_null(jstr(s, "Category"));
	f->severity = wharf_xstrdup(jstr(s, "Severity") ? jstr(s, "Severity") : "UNKNOWN");
	f->title = dup_or_null(jstr(s, "Title"));
	f->path = wharf_xstrdup(target);
	json_t *line = json_object_get(s, "StartLine");
	f->line = json_is_integer(line) && json_integer_value(line) > 0 && json_integer_value(line) < INT32_MAX
			  ? (int)json_integer_value(line) : 0;
	f->match = dup_or_null(jstr(s, "Match"));
	f->layer = layer_of(r, layer);
	f->layer_digest = dup_or_null(jstr(layer, "Digest"));
	f->layer_diffid = dup_or_null(jstr(layer, "DiffID"));
	return 0;
}

static int read_result(struct wharf_scan_result *r, json_t *res, size_t ri, struct wharf_error *err)
{
	if (!json_is_object(res))
		return wharf_error_set(err, WHARF_EINVAL, "report: Results[%zu] is not an object", ri);
	const char *target = jstr(res, "Target") ? jstr(res, "Target") : "";
	const char *eco = ecosystem_of(jstr(res, "Type"));
	json_t *arr = json_object_get(res, "Vulnerabilities"), *item;
	size_t i;
	if (arr && !json_is_array(arr) && !json_is_null(arr))
		return wharf_error_set(err, WHARF_EINVAL, "report: %s: Vulnerabilities is not an array", target);
	json_array_foreach(arr, i, item) {
		int rc = read_vuln(r, item, eco, target, i, err);
		if (rc < 0)
			return rc;
	}
	arr = json_object_get(res, "Secrets");
	if (arr && !json_is_array(arr) && !json_is_null(arr))
		return wharf_error_set(err, WHARF_EINVAL, "report: %s: Secrets is not an array", target);
	json_array_foreach(arr, i, item) {
		int rc = read_secret(r, item, target, i, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void read_metadata(struct wharf_scan_result *r, json_t *root)
{
	json_t *md = json_object_get(root, "Metadata");
	json_t *os = json_object_get(md, "OS");
	r->os.id = dup_or_null(jstr(os, "Family"));
	r->os.version_id = dup_or_null(jstr(os, "Name"));
	r->config_digest = dup_or_null(jstr(md, "ImageID"));
	json_t *digests = json_object_get(md, "RepoDigests");
	const char *rd = json_string_value(json_array_get(digests, 0));
	const char *at = rd ? strchr(rd, '@') : NULL;
	r->manifest_digest = at ? wharf_xstrdup(at + 1) : NULL;
	r->artifact = wharf_xstrdup(jstr(root, "ArtifactName") ? jstr(root, "ArtifactName") : "");
	json_t *ws = json_object_get(root, "WharfScan");
	json_t *t = json_object_get(ws, "ScannedAt");
	r->created = json_is_integer(t) ? (int64_t)json_integer_value(t) : 0;
}

int wharf_scand_report_read(const char *json, size_t len, struct wharf_scan_result *r, struct wharf_error *err)
{
	json_t *root = NULL;
	if (wharf_json_parse(&root, json, len, WHARF_SCAND_REPORT_MAX, err) < 0)
		return wharf_error_prefix(err, "report");
	int rc = 0;
	json_t *results = json_object_get(root, "Results");
	if (!json_is_object(root) || !json_is_integer(json_object_get(root, "SchemaVersion")))
		rc = wharf_error_set(err, WHARF_EINVAL, "report: not a Trivy-format report (no SchemaVersion)");
	else if (results && !json_is_array(results) && !json_is_null(results))
		rc = wharf_error_set(err, WHARF_EINVAL, "report: Results is not an array");
	if (rc == 0)
		read_metadata(r, root);
	size_t i;
	json_t *res;
	json_array_foreach(results, i, res) {
		if (rc < 0)
			break;
		rc = read_result(r, res, i, err);
	}
	json_decref(root);
	return rc;
}
