/* OSV records (https://ossf.github.io/osv-schema/), JSON or YAML: one record per file, or an
 * array of records. */
#include <string.h>

#include "internal.h"

#define OSV_MAX_ID 128

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (!n || n > OSV_MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
			return false;
	return true;
}

/* The first reference of type ADVISORY, else the database's URL, else the first WEB one. */
static const char *primary_url(const json_t *rec)
{
	const json_t *refs = json_object_get(rec, "references");
	const char *web = NULL;
	size_t i;
	json_t *ref;
	json_array_foreach(refs, i, ref) {
		const char *type = jstr(ref, "type"), *url = jstr(ref, "url");
		if (!url)
			continue;
		if (type && !strcmp(type, "ADVISORY"))
			return url;
		if (!web && type && !strcmp(type, "WEB"))
			web = url;
	}
	const char *db_url = jstr(json_object_get(rec, "database_specific"), "url");
	return db_url ? db_url : web;
}

/* severity[]: the CVSS v3 vector and its score (v4 vectors are kept only without a v3 one). */
static void osv_cvss(const json_t *rec, struct vulndb_vuln *v)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(rec, "severity"), i, s) {
		const char *type = jstr(s, "type"), *score = jstr(s, "score");
		if (!type || !score)
			continue;
		double d;
		if (!strcmp(type, "CVSS_V3") && wharf_cvss3_base_score(score, &d, NULL) == 0) {
			v->cvss_vector = score;
			v->cvss_score = d;
			return;
		}
		if (!strcmp(type, "CVSS_V4") && !v->cvss_vector)
			v->cvss_vector = score;
	}
}

static int check_events(const char *name, const char *id, size_t ai, size_t ri, const json_t *events,
			struct wharf_error *err)
{
	static const char *const kinds[] = {"introduced", "fixed", "last_affected", "limit"};
	if (!json_is_array(events) || json_array_size(events) == 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s: affected[%zu].ranges[%zu].events must be a non-empty array",
				       name, id, ai, ri);
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		int found = 0;
		for (size_t k = 0; k < 4; k++) {
			json_t *val = json_object_get(ev, kinds[k]);
			if (val && !json_is_string(val))
				return wharf_error_set(err, WHARF_EINVAL, "%s: %s: affected[%zu].ranges[%zu].events[%zu].%s is not a string",
						       name, id, ai, ri, i, kinds[k]);
			found += val != NULL;
		}
		if (!json_is_object(ev) || found != 1)
			return wharf_error_set(err, WHARF_EINVAL,
					       "%s: %s: affected[%zu].ranges[%zu].events[%zu] must have exactly one of introduced, fixed, last_affected, limit",
					       name, id, ai, ri, i);
	}
	return 0;
}

/* The ECOSYSTEM and SEMVER ranges of one affected[] entry (GIT ranges name commits, which
 * installed packages do not carry). */
static int osv_ranges(const char *name, const char *id, size_t ai, const json_t *aff, json_t **out,
		      struct wharf_error *err)
{
	json_t *keep = json_array();
	const json_t *ranges = json_object_get(aff, "ranges");
	if (ranges && !json_is_array(ranges)) {
		json_decref(keep);
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s: affected[%zu].ranges is not an array", name, id, ai);
	}
	size_t i;
	json_t *rg;
	json_array_foreach(ranges, i, rg) {
		const char *type = jstr(rg, "type");
		if (!type) {
			json_decref(keep);
			return wharf_error_set(err, WHARF_EINVAL, "%s: %s: affected[%zu].ranges[%zu] has no type", name, id, ai, i);
		}
		int r = check_events(name, id, ai, i, json_object_get(rg, "events"), err);
		if (r < 0) {
			json_decref(keep);
			return r;
		}
		if (!strcmp(type, "ECOSYSTEM") || !strcmp(type, "SEMVER")) {
			json_t *o = json_object();
			json_object_set_new(o, "type", json_string(type));
			json_object_set(o, "events", json_object_get(rg, "events"));
			json_array_append_new(keep, o);
		}
	}
	*out = keep;
	return 0;
}

static int osv_affected(struct vulndb_writer *w, const char *name, const char *id, size_t ai, const json_t *aff,
			struct wharf_error *err)
{
	const json_t *pkg = json_object_get(aff, "package");
	const char *eco = jstr(pkg, "ecosystem"), *pname = jstr(pkg, "name");
	if (!pkg)
		return 0; /* OSV allows entries without a package (e.g. only GIT ranges of a repository) */
	if (!eco || !pname || !*eco || !*pname)
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s: affected[%zu].package needs ecosystem and name", name, id, ai);
	const json_t *versions = json_object_get(aff, "versions");
	if (versions && !json_is_array(versions))
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s: affected[%zu].versions is not an array", name, id, ai);
	size_t i;
	json_t *v;
	json_array_foreach(versions, i, v) {
		if (!json_is_string(v))
			return wharf_error_set(err, WHARF_EINVAL, "%s: %s: affected[%zu].versions[%zu] is not a string", name, id,
					       ai, i);
	}
	json_t *ranges = NULL;
	int r = osv_ranges(name, id, ai, aff, &ranges, err);
	if (r < 0)
		return r;
	char *eco_base = vulndb_ecosystem_base(eco);
	char *norm = vulndb_normalize_name(eco_base, pname);
	char *rj = json_dumps(ranges, JSON_COMPACT);
	char *vj = versions ? json_dumps(versions, JSON_COMPACT) : wharf_xstrdup("[]");
	if (json_array_size(ranges) || json_array_size(versions))
		r = vulndb_put_osv(w, id, eco, norm, rj, vj, err);
	free(rj);
	free(vj);
	free(norm);
	free(eco_base);
	json_decref(ranges);
	return r;
}

static int osv_record(struct vulndb_writer *w, const char *name, const json_t *rec, struct wharf_error *err)
{
	if (!json_is_object(rec))
		return wharf_error_set(err, WHARF_EINVAL, "%s: an OSV record must be an object", name);
	const char *id = jstr(rec, "id");
	if (!valid_id(id))
		return wharf_error_set(err, WHARF_EINVAL, "%s: OSV record has no valid \"id\" (printable, at most %d bytes)", name,
				       OSV_MAX_ID);
	const json_t *affected = json_object_get(rec, "affected");
	if (affected && !json_is_array(affected))
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s: \"affected\" is not an array", name, id);
	int r = vulndb_del_osv(w, id, err);
	if (r == 0)
		r = vulndb_del_aliases(w, id, err);
	if (r < 0)
		return r;
	if (json_object_get(rec, "withdrawn")) {
		w->stats.skipped++;
		return 0;
	}
	struct vulndb_vuln v = {.id = id, .source = "osv", .title = jstr(rec, "summary"),
				.description = jstr(rec, "details"), .primary_url = primary_url(rec)};
	osv_cvss(rec, &v);
	/* GitHub's advisories carry a severity word; OSV databases of others leave it to CVSS. */
	const char *word = vulndb_severity_word(jstr(json_object_get(rec, "database_specific"), "severity"));
	if (word) {
		v.severity = word;
		v.source = "ghsa";
	} else if (v.cvss_score > 0) {
		v.severity = wharf_severity_name(wharf_severity_from_cvss(v.cvss_score));
	}
	r = vulndb_put_vuln(w, &v, err);
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(rec, "aliases"), i, a) {
		if (r == 0 && valid_id(json_string_value(a)))
			r = vulndb_put_alias(w, id, json_string_value(a), err);
	}
	json_array_foreach(affected, i, a) {
		if (r == 0)
			r = osv_affected(w, name, id, i, a, err);
	}
	if (r == 0)
		w->stats.advisories++;
	return r;
}

int vulndb_import_osv(struct vulndb_writer *w, const char *name, const char *data, size_t len, struct wharf_error *err)
{
	json_t *doc = NULL;
	int r = vulndb_parse_document(name, data, len, &doc, err);
	if (r < 0)
		return r;
	if (json_is_array(doc)) {
		size_t i;
		json_t *rec;
		json_array_foreach(doc, i, rec) {
			if ((r = osv_record(w, name, rec, err)) < 0)
				break;
		}
	} else {
		r = osv_record(w, name, doc, err);
	}
	json_decref(doc);
	return r;
}
