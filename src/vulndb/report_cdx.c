/* CycloneDX 1.5 JSON: the image's packages as components and the findings as
 * vulnerabilities, with ratings and the components they affect. */
#include <string.h>

#include "report.h"
#include "wharf-config.h"

static const char *cdx_severity(const char *severity)
{
	switch (wharf_severity_from_name(severity)) {
	case WHARF_SEV_CRITICAL:
		return "critical";
	case WHARF_SEV_HIGH:
		return "high";
	case WHARF_SEV_MEDIUM:
		return "medium";
	case WHARF_SEV_LOW:
		return "low";
	default:
		return "unknown";
	}
}

static char *bom_ref(const struct wharf_scan_result *r, size_t i)
{
	const struct wharf_pkg *p = &r->pkgs.v[i];
	/* purls can repeat (one package in two places): the index keeps refs unique. */
	return wharf_xasprintf("pkg:%zu:%s@%s", i, p->name ? p->name : "", p->version ? p->version : "");
}

static json_t *component(const struct wharf_scan_result *r, size_t i)
{
	const struct wharf_pkg *p = &r->pkgs.v[i];
	char *ref = bom_ref(r, i);
	json_t *c = json_pack("{s:s,s:s,s:s,s:s}", "bom-ref", ref, "type", "library", "name", p->name ? p->name : "",
			      "version", p->version ? p->version : "");
	free(ref);
	char *purl = report_purl(r, p);
	if (purl)
		json_object_set_new(c, "purl", json_string(purl));
	free(purl);
	json_t *props = json_array();
	if (p->ecosystem)
		json_array_append_new(props, json_pack("{s:s,s:s}", "name", "wharf:package:ecosystem", "value", p->ecosystem));
	if (p->path)
		json_array_append_new(props, json_pack("{s:s,s:s}", "name", "wharf:package:path", "value", p->path));
	if (p->layer_digest)
		json_array_append_new(props, json_pack("{s:s,s:s}", "name", "wharf:layer:digest", "value", p->layer_digest));
	if (p->layer_diffid)
		json_array_append_new(props, json_pack("{s:s,s:s}", "name", "wharf:layer:diff_id", "value", p->layer_diffid));
	if (p->source_name)
		json_array_append_new(props, json_pack("{s:s,s:s}", "name", "wharf:package:source", "value", p->source_name));
	json_object_set_new(c, "properties", props);
	return c;
}

static json_t *rating(const struct wharf_finding *f)
{
	json_t *rt = json_object();
	const char *src = f->cvss_source ? f->cvss_source : f->severity_source;
	json_object_set_new(rt, "source", json_pack("{s:s}", "name", src ? src : "wharf"));
	if (f->cvss_score > 0)
		json_object_set_new(rt, "score", json_real(f->cvss_score));
	json_object_set_new(rt, "severity", json_string(cdx_severity(f->severity)));
	if (f->cvss_vector) {
		const char *method = !strncmp(f->cvss_vector, "CVSS:3.1", 8) ? "CVSSv31"
				     : !strncmp(f->cvss_vector, "CVSS:3.0", 8) ? "CVSSv3"
				     : !strncmp(f->cvss_vector, "CVSS:4", 6) ? "CVSSv4"
									       : "CVSSv2";
		json_object_set_new(rt, "method", json_string(method));
		json_object_set_new(rt, "vector", json_string(f->cvss_vector));
	}
	return rt;
}

/* The vulnerability entry for f->id, made on first sight; later findings add affects. */
static json_t *vuln_for(json_t *vulns, const struct wharf_finding *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(vulns, i, v) {
		if (!strcmp(json_string_value(json_object_get(v, "id")), f->id))
			return v;
	}
	v = json_object();
	json_object_set_new(v, "bom-ref", json_string(f->id));
	json_object_set_new(v, "id", json_string(f->id));
	if (f->primary_url)
		json_object_set_new(v, "source", json_pack("{s:s,s:s}", "name", f->severity_source ? f->severity_source : "wharf",
							   "url", f->primary_url));
	json_object_set_new(v, "ratings", json_pack("[o]", rating(f)));
	if (f->description)
		json_object_set_new(v, "description", json_string(f->description));
	if (f->title)
		json_object_set_new(v, "detail", json_string(f->title));
	if (f->fixed) {
		char *rec = wharf_xasprintf("Upgrade %s to %s or later", f->pkg_name, f->fixed);
		json_object_set_new(v, "recommendation", json_string(rec));
		free(rec);
	}
	if (f->primary_url)
		json_object_set_new(v, "advisories", json_pack("[{s:s}]", "url", f->primary_url));
	json_object_set_new(v, "affects", json_array());
	json_array_append_new(vulns, v);
	return v;
}

static void uuid_v4(char out[37])
{
	char hex[33];
	if (wharf_random_hex(hex, 16, NULL) < 0)
		memset(hex, '0', 32);
	hex[12] = '4';
	hex[16] = "89ab"[hex[16] % 4];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int report_write_cyclonedx(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
			   struct wharf_error *err)
{
	json_t *components = json_array(), *vulns = json_array();
	for (size_t i = 0; i < r->pkgs.n; i++)
		json_array_append_new(components, component(r, i));
	if (r->os.id)
		json_array_append_new(components, json_pack("{s:s,s:s,s:s,s:s}", "bom-ref", "os", "type", "operating-system",
							     "name", r->os.id, "version", r->os.version_id ? r->os.version_id : ""));
	for (size_t i = 0; i < r->findings.n; i++) {
		const struct wharf_finding *f = &r->findings.v[i];
		if (f->pkg >= r->pkgs.n || !wharf_report_keeps(r, f, opt))
			continue;
		json_t *v = vuln_for(vulns, f);
		char *ref = bom_ref(r, f->pkg);
		json_array_append_new(json_object_get(v, "affects"),
				      json_pack("{s:s,s:[{s:s,s:s}]}", "ref", ref, "versions", "version",
						f->installed ? f->installed : "", "status", "affected"));
		free(ref);
	}
	char when[32], serial[37 + 9];
	report_time(r->created, when, sizeof(when));
	uuid_v4(serial + 9);
	memcpy(serial, "urn:uuid:", 9);
	json_t *image = json_pack("{s:s,s:s,s:s}", "bom-ref", "image", "type", "container", "name",
				  r->artifact ? r->artifact : "image");
	if (r->manifest_digest)
		json_object_set_new(image, "version", json_string(r->manifest_digest));
	json_t *meta = json_pack("{s:s,s:{s:[{s:s,s:s,s:s}]},s:o}", "timestamp", when, "tools", "components", "type",
				 "application", "name", "wharf", "version", WHARF_VERSION, "component", image);
	json_t *root = json_pack("{s:s,s:s,s:s,s:i,s:o,s:o,s:o}", "bomFormat", "CycloneDX", "specVersion", "1.5",
				 "serialNumber", serial, "version", 1, "metadata", meta, "components", components,
				 "vulnerabilities", vulns);
	int rc = report_dump(out, root, err);
	json_decref(root);
	return rc;
}
