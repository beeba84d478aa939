/* NVD CVE API 2.0 JSON ({"vulnerabilities": [{"cve": {...}}]}): descriptions and CVSS, which
 * enrich findings whose advisory has none. */
#include <string.h>

#include "internal.h"

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The first metric of kind, preferring the NVD's own ("Primary") one. */
static const json_t *pick_metric(const json_t *metrics, const char *kind)
{
	const json_t *arr = json_object_get(metrics, kind), *first = NULL;
	size_t i;
	json_t *m;
	json_array_foreach(arr, i, m) {
		if (!json_is_object(json_object_get(m, "cvssData")))
			continue;
		if (!first)
			first = m;
		const char *type = jstr(m, "type");
		if (type && !strcmp(type, "Primary"))
			return m;
	}
	return first;
}

static void nvd_cvss(const json_t *cve, struct vulndb_vuln *v)
{
	static const char *const kinds[] = {"cvssMetricV31", "cvssMetricV30", "cvssMetricV2"};
	const json_t *metrics = json_object_get(cve, "metrics");
	for (size_t k = 0; k < 3; k++) {
		const json_t *m = pick_metric(metrics, kinds[k]);
		if (!m)
			continue;
		const json_t *data = json_object_get(m, "cvssData");
		v->cvss_vector = jstr(data, "vectorString");
		v->cvss_score = json_number_value(json_object_get(data, "baseScore"));
		double computed;
		/* v3 scores are recomputed from the vector: the vector is what the NVD publishes. */
		if (k < 2 && v->cvss_vector && wharf_cvss3_base_score(v->cvss_vector, &computed, NULL) == 0)
			v->cvss_score = computed;
		const char *sev = jstr(data, "baseSeverity");
		if (!sev)
			sev = jstr(m, "baseSeverity"); /* v2 keeps it beside cvssData */
		v->severity = vulndb_severity_word(sev);
		if (!v->severity && v->cvss_score > 0)
			v->severity = wharf_severity_name(wharf_severity_from_cvss(v->cvss_score));
		return;
	}
}

static const char *english_description(const json_t *cve)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(cve, "descriptions"), i, d) {
		const char *lang = jstr(d, "lang");
		if (lang && !strcmp(lang, "en"))
			return jstr(d, "value");
	}
	return NULL;
}

static int nvd_cve(struct vulndb_writer *w, const char *name, size_t i, const json_t *item, struct wharf_error *err)
{
	const json_t *cve = json_object_get(item, "cve");
	const char *id = jstr(cve, "id");
	if (!id || strlen(id) > 64 || strncmp(id, "CVE-", 4))
		return wharf_error_set(err, WHARF_EINVAL, "%s: vulnerabilities[%zu].cve.id missing or not a CVE ID", name, i);
	struct vulndb_vuln v = {.id = id, .source = "nvd", .description = english_description(cve)};
	v.primary_url = NULL;
	char *url = wharf_xasprintf("https://nvd.nist.gov/vuln/detail/%s", id);
	v.primary_url = url;
	nvd_cvss(cve, &v);
	int r = vulndb_put_vuln(w, &v, err);
	free(url);
	if (r == 0)
		w->stats.advisories++;
	return r;
}

int vulndb_import_nvd(struct vulndb_writer *w, const char *name, const char *data, size_t len, struct wharf_error *err)
{
	json_t *doc = NULL;
	int r = vulndb_parse_document(name, data, len, &doc, err);
	if (r < 0)
		return r;
	const json_t *vulns = json_object_get(doc, "vulnerabilities");
	if (!json_is_array(vulns))
		r = wharf_error_set(err, WHARF_EINVAL, "%s: NVD CVE JSON 2.0 needs a \"vulnerabilities\" array", name);
	size_t i;
	json_t *item;
	json_array_foreach(r == 0 ? vulns : NULL, i, item) {
		if ((r = nvd_cve(w, name, i, item, err)) < 0)
			break;
	}
	json_decref(doc);
	return r;
}
