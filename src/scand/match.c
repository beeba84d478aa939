/* Match a scanned image against the vulnerability database (when there is one) and render the
 * Trivy-format JSON report, with a "WharfScan" object added that says which database
 * generation made it (readers of Trivy reports ignore keys they do not know). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "internal.h"
#include "wharf/json.h"
#include "wharf/vulndb.h"

int scand_current_generation(struct wharf_scand *q, char **out, struct wharf_error *err)
{
	struct stat sb;
	if (stat(q->vulndb_path, &sb) < 0) {
		*out = wharf_xstrdup("");
		return 0;
	}
	struct wharf_vulndb *db = NULL;
	int r = wharf_vulndb_open(&db, q->vulndb_path, err);
	if (r == 0)
		r = wharf_vulndb_generation(db, out, err);
	wharf_vulndb_close(db);
	if (r == 0 && !*out)
		*out = wharf_xstrdup("");
	return r;
}

static json_t *pkg_json(const struct wharf_pkg *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "Ecosystem", p->ecosystem ? p->ecosystem : "", "Name",
			      p->name ? p->name : "", "Version", p->version ? p->version : "");
	if (p->source_name)
		json_object_set_new(o, "SrcName", json_string(p->source_name));
	if (p->source_version)
		json_object_set_new(o, "SrcVersion", json_string(p->source_version));
	if (p->path)
		json_object_set_new(o, "FilePath", json_string(p->path));
	if (p->layer_digest)
		json_object_set_new(o, "Layer", json_pack("{s:s, s:s?}", "Digest", p->layer_digest, "DiffID",
							   p->layer_diffid));
	return o;
}

static int render(const struct wharf_scan_result *r, char **out, struct wharf_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return wharf_error_sys(err, "report buffer");
	int rc = wharf_report_write(f, "json", r, NULL, err);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* Add "WharfScan": {"VulnDB": "present"|"absent", "Generation", "ScannedAt", "Packages"} to the
 * report: the image's packages ride along (Trivy lists them only on request), so a report made
 * without a database still says what the image holds. */
static int annotate(char **report, const struct wharf_scan_result *r, bool have_db, const char *generation,
		    int64_t now, struct wharf_error *err)
{
	json_t *root = NULL;
	if (wharf_json_parse(&root, *report, strlen(*report), 512u << 20, err) < 0)
		return wharf_error_prefix(err, "report writer output");
	json_t *ws = json_pack("{s:s, s:s, s:I}", "VulnDB", have_db ? "present" : "absent", "Generation", generation,
			       "ScannedAt", (json_int_t)now);
	if (!have_db)
		json_object_set_new(ws, "Note", json_string("no vulnerability database: packages and secrets only"));
	json_t *pkgs = json_array();
	for (size_t i = 0; i < r->pkgs.n; i++)
		json_array_append_new(pkgs, pkg_json(&r->pkgs.v[i]));
	json_object_set_new(ws, "Packages", pkgs);
	json_object_set_new(root, "WharfScan", ws);
	free(*report);
	*report = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return 0;
}

int scand_match_and_report(struct wharf_scand *q, struct wharf_scan_result *r, char **report, char **generation,
			   unsigned counts[5], struct wharf_error *err)
{
	struct stat sb;
	bool have_db = stat(q->vulndb_path, &sb) == 0;
	_cleanup_free_ char *gen = NULL;
	int rc = 0;
	if (have_db) {
		struct wharf_vulndb *db = NULL;
		rc = wharf_vulndb_open(&db, q->vulndb_path, err);
		if (rc == 0)
			rc = wharf_vulndb_generation(db, &gen, err);
		if (rc == 0)
			rc = wharf_vulndb_match(db, r, err);
		wharf_vulndb_close(db);
		if (rc < 0)
			return wharf_error_prefix(err, "vulnerability database %s", q->vulndb_path);
	}
	memset(counts, 0, 5 * sizeof(unsigned));
	for (size_t i = 0; i < r->findings.n; i++) {
		int s = wharf_severity_from_name(r->findings.v[i].severity);
		counts[s < 0 ? 0 : s]++;
	}
	rc = render(r, report, err);
	if (rc == 0)
		rc = annotate(report, r, have_db, gen ? gen : "", wharf_now(), err);
	if (rc == 0)
		*generation = wharf_xstrdup(gen ? gen : "");
	return rc;
}
