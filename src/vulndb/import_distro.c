/* Distribution advisories: the Debian security tracker's JSON export and Alpine's secdb. */
#include <ctype.h>
#include <string.h>

#include "internal.h"
#include "wharf/version.h"

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool valid_token(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* ---- Debian: {source package: {CVE: {description, releases: {codename: {status,
 * fixed_version, urgency}}}}} ---- */

static int debian_release(struct vulndb_writer *w, const char *name, const char *pkg, const char *cve,
			  const char *codename, const json_t *rel, struct wharf_error *err)
{
	if (!json_is_object(rel))
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s/%s/releases/%s is not an object", name, pkg, cve, codename);
	if (!valid_token(codename, 64))
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s/%s: invalid release name", name, pkg, cve);
	const char *status = jstr(rel, "status"), *fixed = jstr(rel, "fixed_version");
	const char *sev = vulndb_severity_word(jstr(rel, "urgency"));
	if (!status)
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s/%s/releases/%s has no status", name, pkg, cve, codename);
	if (!strcmp(status, "resolved")) {
		if (!fixed)
			return wharf_error_set(err, WHARF_EINVAL, "%s: %s/%s/releases/%s is resolved without fixed_version", name,
					       pkg, cve, codename);
		/* "0": this release never had the vulnerable code. */
		if (!strcmp(fixed, "0"))
			return vulndb_del_distro(w, "debian", codename, pkg, cve, err);
		if (!wharf_version_valid(WHARF_ECO_DEBIAN, fixed, NULL)) {
			w->stats.skipped++;
			return 0;
		}
		return vulndb_put_distro(w, "debian", codename, pkg, cve, fixed, "fixed", sev, err);
	}
	if (!strcmp(status, "open")) {
		/* The security team's decision not to fix it in a DSA, when recorded. */
		const char *nodsa = jstr(rel, "nodsa_reason");
		const char *st = nodsa && !strcmp(nodsa, "ignored")     ? "will_not_fix"
				 : nodsa && !strcmp(nodsa, "postponed") ? "fix_deferred"
									: "affected";
		return vulndb_put_distro(w, "debian", codename, pkg, cve, NULL, st, sev, err);
	}
	if (!strcmp(status, "undetermined"))
		return vulndb_put_distro(w, "debian", codename, pkg, cve, NULL, "under_investigation", sev, err);
	return wharf_error_set(err, WHARF_EINVAL, "%s: %s/%s/releases/%s: unknown status \"%.40s\"", name, pkg, cve, codename,
			       status);
}

static int debian_cve(struct vulndb_writer *w, const char *name, const char *pkg, const char *cve, const json_t *e,
		      struct wharf_error *err)
{
	if (!valid_token(cve, 128) || !json_is_object(e))
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s: entry \"%.60s\" must be an object named by a vulnerability ID",
				       name, pkg, cve);
	const json_t *rels = json_object_get(e, "releases");
	if (!json_is_object(rels))
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s/%s has no \"releases\" object", name, pkg, cve);
	const char *codename;
	json_t *rel;
	json_object_foreach((json_t *)rels, codename, rel) {
		int r = debian_release(w, name, pkg, cve, codename, rel, err);
		if (r < 0)
			return r;
	}
	const char *desc = jstr(e, "description");
	if (desc) {
		struct vulndb_vuln v = {.id = cve, .source = "debian", .description = desc};
		int r = vulndb_put_vuln(w, &v, err);
		if (r < 0)
			return r;
	}
	w->stats.advisories++;
	return 0;
}

struct debian_ctx {
	struct vulndb_writer *w;
	const char *name;
};

static int debian_package(void *ctx, const char *pkg, json_t *cves, struct wharf_error *err)
{
	struct debian_ctx *c = ctx;
	if (!valid_token(pkg, 128) || !json_is_object(cves))
		return wharf_error_set(err, WHARF_EINVAL, "%s: package \"%.60s\" must name an object of vulnerabilities",
				       c->name, pkg);
	const char *cve;
	json_t *e;
	json_object_foreach(cves, cve, e) {
		int r = debian_cve(c->w, c->name, pkg, cve, e, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The tracker's export is tens of megabytes: read it package by package. */
int vulndb_import_debian(struct vulndb_writer *w, const char *name, const char *data, size_t len,
			 struct wharf_error *err)
{
	struct debian_ctx c = {w, name};
	size_t i = 0;
	while (i < len && isspace((unsigned char)data[i]))
		i++;
	if (i < len && data[i] == '{')
		return vulndb_json_members(name, data, len, debian_package, &c, err);
	json_t *doc = NULL;
	int r = vulndb_parse_document(name, data, len, &doc, err);
	if (r < 0)
		return r;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return wharf_error_set(err, WHARF_EINVAL, "%s: the tracker export must be an object of source packages", name);
	}
	const char *pkg;
	json_t *cves;
	json_object_foreach(doc, pkg, cves) {
		if ((r = debian_package(&c, pkg, cves, err)) < 0)
			break;
	}
	json_decref(doc);
	return r;
}

/* ---- Alpine secdb: {distroversion: "v3.18", packages: [{pkg: {name, secfixes: {version:
 * [CVE...]}}}]} ---- */

static int alpine_fix(struct vulndb_writer *w, const char *name, const char *branch, const char *pkg, const char *ver,
		      const json_t *ids, struct wharf_error *err)
{
	if (json_is_null(ids)) /* a version with nothing under it */
		return 0;
	if (!json_is_array(ids))
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s: secfixes[%s] is not a list", name, pkg, ver);
	bool not_affected = !strcmp(ver, "0");
	/* Real secdb files carry the odd typo ("2.7.16-33"): such an entry cannot be compared, so
	 * it is counted as skipped rather than failing the branch. */
	if (!not_affected && !wharf_version_valid(WHARF_ECO_ALPINE, ver, NULL)) {
		w->stats.skipped++;
		return 0;
	}
	size_t i;
	json_t *idj;
	json_array_foreach(ids, i, idj) {
		const char *s = json_string_value(idj);
		if (!s)
			return wharf_error_set(err, WHARF_EINVAL, "%s: %s: secfixes[%s][%zu] is not a string", name, pkg, ver, i);
		/* Entries are IDs, sometimes several separated by spaces ("CVE-1 CVE-2"). */
		char *copy = wharf_xstrdup(s), *save = NULL;
		int r = 0;
		for (char *tok = strtok_r(copy, " \t", &save); tok && r == 0; tok = strtok_r(NULL, " \t", &save)) {
			if (!valid_token(tok, 128))
				continue;
			if (not_affected)
				r = vulndb_del_distro(w, "alpine", branch, pkg, tok, err);
			else
				r = vulndb_put_distro(w, "alpine", branch, pkg, tok, ver, "fixed", NULL, err);
			if (r == 0)
				w->stats.advisories++;
		}
		free(copy);
		if (r < 0)
			return r;
	}
	return 0;
}

int vulndb_import_alpine(struct vulndb_writer *w, const char *name, const char *data, size_t len,
			 struct wharf_error *err)
{
	json_t *doc = NULL;
	int r = vulndb_parse_document(name, data, len, &doc, err);
	if (r < 0)
		return r;
	const char *branch = jstr(doc, "distroversion");
	const json_t *pkgs = json_object_get(doc, "packages");
	if (!branch || !valid_token(branch, 32) || branch[0] != 'v' || !isdigit((unsigned char)branch[1]))
		r = wharf_error_set(err, WHARF_EINVAL, "%s: secdb needs \"distroversion\" like \"v3.18\"", name);
	else if (!json_is_array(pkgs) && !json_is_null(pkgs)) /* "packages:" with nothing under it is null */
		r = wharf_error_set(err, WHARF_EINVAL, "%s: secdb needs a \"packages\" list", name);
	size_t i;
	json_t *p;
	json_array_foreach(r == 0 ? pkgs : NULL, i, p) {
		const json_t *pkg = json_object_get(p, "pkg");
		const char *pname = jstr(pkg, "name");
		const json_t *fixes = json_object_get(pkg, "secfixes");
		if (!valid_token(pname, 128)) {
			r = wharf_error_set(err, WHARF_EINVAL, "%s: packages[%zu].pkg.name missing or invalid", name, i);
			break;
		}
		if (fixes && !json_is_object(fixes)) {
			r = wharf_error_set(err, WHARF_EINVAL, "%s: %s: secfixes is not a mapping", name, pname);
			break;
		}
		const char *ver;
		json_t *ids;
		json_object_foreach((json_t *)fixes, ver, ids) {
			if ((r = alpine_fix(w, name, branch, pname, ver, ids, err)) < 0)
				break;
		}
		if (r < 0)
			break;
	}
	json_decref(doc);
	return r;
}
