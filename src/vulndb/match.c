/* wharf_vulndb_match: packages against their own ecosystem's advisories.
 * Distro packages: only their distribution's advisories, by source package and release,
 * with the distribution's version ordering (so backported fixes count). Language packages:
 * OSV ranges of their ecosystem by normalised name. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "wharf/version.h"

/* What one match found, before enrichment. */
struct hit {
	const char *id;
	const char *fixed;    /* NULL: no fix */
	const char *status;   /* "fixed", "affected", "under_investigation" */
	const char *severity; /* the distro's, may be NULL */
	const char *severity_source;
};

/* ---- the release an image's OS is ---- */

static const struct {
	const char *version, *codename;
} debian_codenames[] = {
	{"8", "jessie"}, {"9", "stretch"}, {"10", "buster"}, {"11", "bullseye"}, {"12", "bookworm"}, {"13", "trixie"},
};

/* "debian" with its codename, "alpine" with its branch ("v3.18", "edge"), else NULL. */
static const char *os_release(const struct wharf_os *os, char *buf, size_t len)
{
	if (!os->id)
		return NULL;
	if (!strcmp(os->id, "debian")) {
		if (os->codename && *os->codename)
			return os->codename;
		if (!os->version_id)
			return NULL;
		for (size_t i = 0; i < sizeof(debian_codenames) / sizeof(debian_codenames[0]); i++)
			if (!strcmp(os->version_id, debian_codenames[i].version) ||
			    (wharf_str_has_prefix(os->version_id, debian_codenames[i].version) &&
			     os->version_id[strlen(debian_codenames[i].version)] == '.'))
				return debian_codenames[i].codename;
		return NULL;
	}
	if (!strcmp(os->id, "alpine") && os->version_id) {
		if (strstr(os->version_id, "_alpha") || strstr(os->version_id, "edge"))
			return "edge";
		const char *dot = strchr(os->version_id, '.');
		size_t n = dot ? strcspn(dot + 1, ".") + (size_t)(dot + 1 - os->version_id) : strlen(os->version_id);
		snprintf(buf, len, "v%.*s", (int)n, os->version_id);
		return buf;
	}
	return NULL;
}

/* ---- prepared queries ---- */

static const char *const query_sql[Q__COUNT] = {
	/* id and its aliases both ways, each an index lookup */
	[Q_VULN_INFO] = ("SELECT source, title, description, severity, cvss_score, cvss_vector, primary_url, id=?1 "
			 "FROM vulns WHERE id IN (SELECT ?1 UNION SELECT alias FROM aliases WHERE id=?1 "
			 "UNION SELECT id FROM aliases WHERE alias=?1) "
			 "ORDER BY CASE source WHEN 'nvd' THEN 0 WHEN 'ghsa' THEN 1 WHEN 'osv' THEN 2 ELSE 3 END, id=?1 DESC"),
	[Q_ALIASES] = "SELECT alias FROM aliases WHERE id=?1 UNION SELECT id FROM aliases WHERE alias=?1",
	[Q_DISTRO] = "SELECT vuln, fixed, status, severity FROM distro_adv WHERE distro=? AND release=? AND pkg=? ORDER BY vuln",
	/* the ecosystem's own IDs before GitHub's, so aliases are reported under the former */
	[Q_OSV] = ("SELECT vuln, ranges, versions FROM osv_affected WHERE ecosystem=? AND name=? "
		   "ORDER BY vuln LIKE 'GHSA-%', vuln"),
};

/* The statement q, prepared on first use and reset for this one. */
static sqlite3_stmt *query(struct wharf_vulndb *db, enum vulndb_query q, struct wharf_error *err)
{
	if (!db->q[q] && sqlite3_prepare_v2(db->db, query_sql[q], -1, &db->q[q], NULL) != SQLITE_OK) {
		vulndb_sqlite_error(err, db->db, query_sql[q]);
		return NULL;
	}
	sqlite3_reset(db->q[q]);
	sqlite3_clear_bindings(db->q[q]);
	return db->q[q];
}

/* ---- enrichment: what the database knows of a vulnerability ---- */

struct vuln_info {
	char *title, *description, *primary_url, *cvss_vector;
	char *severity, *severity_source;
	double cvss_score;
	const char *cvss_source;
};

/* The static name of a source, for wharf_finding.cvss_source. */
static const char *static_source(const char *source)
{
	static const char *const names[] = {"nvd", "ghsa", "osv", "debian", "alpine"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (source && !strcmp(source, names[i]))
			return names[i];
	return NULL;
}

static void vuln_info_free(struct vuln_info *v)
{
	free(v->title);
	free(v->description);
	free(v->primary_url);
	free(v->cvss_vector);
	free(v->severity);
	free(v->severity_source);
}

static char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? wharf_xstrdup((const char *)s) : NULL;
}

static void set_once(char **dst, char *src)
{
	if (!*dst && src && *src)
		*dst = src;
	else
		free(src);
}

/* The rows of id and of its aliases (both directions), NVD first, then GHSA, OSV, Debian. */
static int vuln_info(struct wharf_vulndb *db, const char *id, struct vuln_info *out, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = query(db, Q_VULN_INFO, err);
	if (!st)
		return -err->code;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	char *own_title = NULL, *own_desc = NULL, *adv_desc = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *source = (const char *)sqlite3_column_text(st, 0);
		bool own = sqlite3_column_int(st, 7);
		/* The advisory's own words describe the package's issue best, then an alias's
		 * advisory, then the NVD's. */
		if (own)
			set_once(&own_title, col(st, 1));
		set_once(&out->title, col(st, 1));
		if (own && strcmp(source, "nvd"))
			set_once(&own_desc, col(st, 2));
		else if (strcmp(source, "nvd"))
			set_once(&adv_desc, col(st, 2));
		else
			set_once(&out->description, col(st, 2));
		char *sev = col(st, 3);
		if (!out->severity && sev && strcmp(sev, "UNKNOWN")) {
			out->severity = sev;
			out->severity_source = wharf_xstrdup(source);
		} else {
			free(sev);
		}
		if (out->cvss_score <= 0 && sqlite3_column_type(st, 4) != SQLITE_NULL) {
			out->cvss_score = sqlite3_column_double(st, 4);
			free(out->cvss_vector);
			out->cvss_vector = col(st, 5);
			out->cvss_source = static_source(source);
		}
		set_once(&out->primary_url, col(st, 6));
	}
	sqlite3_reset(st);
	if (own_title) {
		free(out->title);
		out->title = own_title;
	}
	if (own_desc || adv_desc) {
		free(out->description);
		out->description = own_desc ? own_desc : adv_desc;
		if (own_desc)
			free(adv_desc);
	}
	return 0;
}

/* ---- findings ---- */

struct pkg_seen {
	struct wharf_strv ids; /* reported IDs and their aliases */
};

static int aliases_of(struct wharf_vulndb *db, const char *id, struct wharf_strv *out, struct wharf_error *err)
{
	sqlite3_stmt *st = query(db, Q_ALIASES, err);
	if (!st)
		return -err->code;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		wharf_strv_push(out, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return 0;
}

static bool strv_has(const struct wharf_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static int add_finding(struct wharf_vulndb *db, struct wharf_scan_result *r, size_t pi, const struct hit *h,
		       struct pkg_seen *seen, struct wharf_error *err)
{
	/* One finding per vulnerability: an advisory whose ID or alias was already reported for
	 * this package (GO-... and GHSA-... for the same CVE) adds nothing. */
	struct wharf_strv names = {0};
	wharf_strv_push(&names, h->id);
	int rc = aliases_of(db, h->id, &names, err);
	bool dup = false;
	for (size_t i = 0; rc == 0 && i < names.n; i++)
		dup = dup || strv_has(&seen->ids, names.v[i]);
	if (rc < 0 || dup) {
		wharf_strv_free(&names);
		return rc;
	}
	for (size_t i = 0; i < names.n; i++)
		wharf_strv_push(&seen->ids, names.v[i]);
	wharf_strv_free(&names);

	struct vuln_info vi;
	if ((rc = vuln_info(db, h->id, &vi, err)) < 0)
		return rc;
	const struct wharf_pkg *p = &r->pkgs.v[pi];
	struct wharf_finding *f = wharf_finding_list_add(&r->findings);
	f->id = wharf_xstrdup(h->id);
	f->pkg_name = wharf_xstrdup(p->name);
	f->installed = wharf_xstrdup(p->version ? p->version : "");
	f->fixed = h->fixed ? wharf_xstrdup(h->fixed) : NULL;
	f->status = wharf_xstrdup(h->status);
	/* Severity: the distribution's own assessment first, then the advisory's or NVD's. */
	if (h->severity && strcmp(h->severity, "UNKNOWN")) {
		f->severity = wharf_xstrdup(h->severity);
		f->severity_source = wharf_xstrdup(h->severity_source);
	} else if (vi.severity) {
		f->severity = steal_pointer(&vi.severity);
		f->severity_source = steal_pointer(&vi.severity_source);
	} else if (vi.cvss_score > 0) {
		f->severity = wharf_xstrdup(wharf_severity_name(wharf_severity_from_cvss(vi.cvss_score)));
		f->severity_source = wharf_xstrdup(vi.cvss_source ? vi.cvss_source : "osv");
	} else {
		f->severity = wharf_xstrdup("UNKNOWN");
		f->severity_source = NULL;
	}
	f->title = steal_pointer(&vi.title);
	f->description = steal_pointer(&vi.description);
	f->cvss_score = vi.cvss_score;
	f->cvss_vector = steal_pointer(&vi.cvss_vector);
	f->cvss_source = vi.cvss_source;
	f->primary_url = steal_pointer(&vi.primary_url);
	if (!f->primary_url && !strncmp(h->id, "CVE-", 4))
		f->primary_url = wharf_xasprintf("https://nvd.nist.gov/vuln/detail/%s", h->id);
	f->pkg = pi;
	vuln_info_free(&vi);
	return 0;
}

/* ---- distro packages ---- */

static int match_distro(struct wharf_vulndb *db, struct wharf_scan_result *r, size_t pi, const char *distro,
			const char *release, struct pkg_seen *seen, struct wharf_error *err)
{
	const struct wharf_pkg *p = &r->pkgs.v[pi];
	/* Advisories name source packages; a binary's source version is what they fix. */
	const char *src = p->source_name ? p->source_name : p->name;
	const char *ver = p->source_version ? p->source_version : p->version;
	const char *eco = !strcmp(distro, "debian") ? WHARF_ECO_DEBIAN : WHARF_ECO_ALPINE;
	if (!src || !ver || !wharf_version_valid(eco, ver, NULL))
		return 0;
	sqlite3_stmt *st = query(db, Q_DISTRO, err);
	if (!st)
		return -err->code;
	sqlite3_bind_text(st, 1, distro, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, release, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, src, -1, SQLITE_STATIC);
	int rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		struct hit h = {(const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
				(const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3), distro};
		if (h.fixed) {
			int c;
			/* Installed at or after the fix (a backport included): not affected. */
			if (wharf_version_compare(eco, ver, h.fixed, &c, NULL) < 0 || c >= 0)
				continue;
		}
		rc = add_finding(db, r, pi, &h, seen, err);
	}
	sqlite3_reset(st);
	return rc;
}

/* ---- language packages: OSV ranges ---- */

struct event {
	int kind; /* 0 introduced, 1 fixed, 2 last_affected, 3 limit */
	const char *v;
	bool zero; /* introduced "0": before everything */
};

static const char *range_scheme(const char *ecosystem, const char *type)
{
	if (!strcmp(type, "SEMVER") && strcmp(ecosystem, WHARF_ECO_GO))
		return "SEMVER";
	return ecosystem;
}

static int cmp_events(const char *scheme, const struct event *a, const struct event *b)
{
	if (a->zero || b->zero)
		return a->zero == b->zero ? 0 : (a->zero ? -1 : 1);
	int c = 0;
	if (wharf_version_compare(scheme, a->v, b->v, &c, NULL) < 0)
		return strcmp(a->v, b->v);
	return c;
}

static void sort_events(const char *scheme, struct event *ev, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp_events(scheme, &ev[j - 1], &ev[j]) > 0; j--) {
			struct event t = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = t;
		}
}

/* RustSec's form: affected unless a patched or unaffected requirement matches; the fix is
 * the lowest patched lower bound above v. */
static bool cargo_affected(const json_t *range, const char *v, const char **fixed, char *fixbuf, size_t fixlen)
{
	static const char *const lists[] = {"patched", "unaffected"};
	fixbuf[0] = 0;
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *req;
		json_array_foreach(json_object_get(range, lists[l]), i, req) {
			bool m = false;
			char lower[WHARF_VERSION_MAX + 64];
			if (vulndb_cargo_req_matches(json_string_value(req), v, &m, lower, sizeof(lower)) < 0)
				continue;
			if (m)
				return false;
			int c = 0;
			if (l == 0 && lower[0] && wharf_version_compare("SEMVER", lower, v, &c, NULL) == 0 && c > 0) {
				int c2 = 0;
				if (!fixbuf[0] || (wharf_version_compare("SEMVER", lower, fixbuf, &c2, NULL) == 0 && c2 < 0))
					snprintf(fixbuf, fixlen, "%s", lower);
			}
		}
	}
	*fixed = fixbuf[0] ? fixbuf : NULL;
	return true;
}

/* Is version v inside the range? The OSV evaluation: walk the sorted events; an introduced
 * at or below v opens, a fixed at or below v (or a last_affected below v) closes. *fixed is
 * the fix that closes the interval v is in, NULL when none does. */
static bool in_range(const char *ecosystem, const json_t *range, const char *v, const char **fixed, char *fixbuf,
		     size_t fixlen)
{
	const char *type = json_string_value(json_object_get(range, "type"));
	if (type && !strcmp(type, "CARGO_REQ"))
		return cargo_affected(range, v, fixed, fixbuf, fixlen);
	const json_t *events = json_object_get(range, "events");
	static const char *const kinds[] = {"introduced", "fixed", "last_affected", "limit"};
	size_t n = json_array_size(events);
	if (!type || n == 0 || n > 1024)
		return false;
	const char *scheme = range_scheme(ecosystem, type);
	struct event *ev = wharf_xcalloc(n, sizeof(*ev));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(events, i);
		for (int k = 0; k < 4; k++) {
			const char *s = json_string_value(json_object_get(e, kinds[k]));
			if (!s)
				continue;
			bool zero = k == 0 && !strcmp(s, "0");
			/* An event whose version this ecosystem cannot order is left out. */
			if (!zero && !wharf_version_valid(scheme, s, NULL))
				break;
			ev[m++] = (struct event){k, s, zero};
			break;
		}
	}
	sort_events(scheme, ev, m);
	bool affected = false;
	*fixed = NULL;
	for (size_t i = 0; i < m; i++) {
		int c = 0;
		if (!ev[i].zero)
			wharf_version_compare(scheme, v, ev[i].v, &c, NULL);
		if (ev[i].kind == 0 && (ev[i].zero || c >= 0))
			affected = true;
		else if (ev[i].kind == 1 && c >= 0)
			affected = false;
		else if (ev[i].kind == 2 && c > 0)
			affected = false;
		else if (ev[i].kind == 1 && c < 0 && affected && !*fixed)
			*fixed = ev[i].v;
	}
	if (!affected)
		*fixed = NULL;
	free(ev);
	return affected;
}

static bool in_versions(const json_t *versions, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(versions, i, x) {
		if (json_string_value(x) && !strcmp(json_string_value(x), v))
			return true;
	}
	return false;
}

/* Does the affected[] entry (its ranges and versions) cover v? */
static bool osv_affects(const char *ecosystem, const char *ranges_json, const char *versions_json, const char *v,
			char **fixed)
{
	json_t *ranges = json_loads(ranges_json, 0, NULL), *versions = json_loads(versions_json, 0, NULL);
	bool hit = in_versions(versions, v);
	const char *fx = NULL;
	size_t i;
	json_t *rg;
	json_array_foreach(ranges, i, rg) {
		const char *f = NULL;
		char fixbuf[WHARF_VERSION_MAX + 64];
		if (in_range(ecosystem, rg, v, &f, fixbuf, sizeof(fixbuf))) {
			hit = true;
			if (f && !fx)
				fx = wharf_xstrdup(f);
		}
	}
	*fixed = (char *)fx;
	json_decref(ranges);
	json_decref(versions);
	return hit;
}

static bool is_language(const char *eco)
{
	static const char *const langs[] = {WHARF_ECO_NPM,   WHARF_ECO_PYPI,  WHARF_ECO_GO,      WHARF_ECO_MAVEN,
					    WHARF_ECO_CARGO, WHARF_ECO_GEM,   WHARF_ECO_COMPOSER};
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (!strcmp(eco, langs[i]))
			return true;
	return false;
}

/* The OSV advisories of ecosystem (as stored: "Go", "Debian:12", "Ubuntu:22.04:LTS") for
 * package name at version. */
static int match_osv_as(struct wharf_vulndb *db, struct wharf_scan_result *r, size_t pi, const char *ecosystem,
			const char *pkgname, const char *version, struct pkg_seen *seen, struct wharf_error *err)
{
	if (!pkgname || !version || !wharf_version_valid(ecosystem, version, NULL))
		return 0;
	char *base = vulndb_ecosystem_base(ecosystem);
	char *name = vulndb_normalize_name(base, pkgname);
	free(base);
	sqlite3_stmt *st = query(db, Q_OSV, err);
	if (!st) {
		free(name);
		return -err->code;
	}
	sqlite3_bind_text(st, 1, ecosystem, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		char *fixed = NULL;
		if (!osv_affects(ecosystem, (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
				 version, &fixed))
			continue;
		struct hit h = {(const char *)sqlite3_column_text(st, 0), fixed, fixed ? "fixed" : "affected", NULL, NULL};
		rc = add_finding(db, r, pi, &h, seen, err);
		free(fixed);
	}
	sqlite3_reset(st);
	free(name);
	return rc;
}

static int match_osv(struct wharf_vulndb *db, struct wharf_scan_result *r, size_t pi, struct pkg_seen *seen,
		     struct wharf_error *err)
{
	const struct wharf_pkg *p = &r->pkgs.v[pi];
	return match_osv_as(db, r, pi, p->ecosystem, p->name, p->version, seen, err);
}

/* OSV's names for the image's release: "Debian:12", "Ubuntu:22.04" (and ":LTS"),
 * "Alpine:v3.18". Returns how many were written to out. */
static size_t osv_distro_ecosystems(const struct wharf_os *os, const char *release, char out[][64])
{
	if (!os->id || !os->version_id)
		return 0;
	if (!strcmp(os->id, "debian")) {
		snprintf(out[0], 64, "Debian:%.*s", (int)strcspn(os->version_id, "."), os->version_id);
		return 1;
	}
	if (!strcmp(os->id, "ubuntu")) {
		snprintf(out[0], 64, "Ubuntu:%.40s", os->version_id);
		snprintf(out[1], 64, "Ubuntu:%.40s:LTS", os->version_id);
		return 2;
	}
	if (!strcmp(os->id, "alpine") && release) {
		snprintf(out[0], 64, "Alpine:%.40s", release);
		return 1;
	}
	/* RPM family: OSV names the major release ("AlmaLinux:9", "Rocky Linux:8"). */
	int major = (int)strcspn(os->version_id, ".");
	if (!strcmp(os->id, "almalinux")) {
		snprintf(out[0], 64, "AlmaLinux:%.*s", major, os->version_id);
		return 1;
	}
	if (!strcmp(os->id, "rocky")) {
		snprintf(out[0], 64, "Rocky Linux:%.*s", major, os->version_id);
		return 1;
	}
	return 0;
}

/* A distro package against OSV records of its release (Debian DSAs/DLAs, Ubuntu USNs, Alpine),
 * by source package and source version, after the distro's own feed. */
static int match_distro_osv(struct wharf_vulndb *db, struct wharf_scan_result *r, size_t pi, const char *release,
			    struct pkg_seen *seen, struct wharf_error *err)
{
	char ecos[2][64];
	size_t n = osv_distro_ecosystems(&r->os, release, ecos);
	const struct wharf_pkg *p = &r->pkgs.v[pi];
	const char *src = p->source_name ? p->source_name : p->name;
	const char *ver = p->source_version ? p->source_version : p->version;
	bool rpm = !strcmp(p->ecosystem, WHARF_ECO_RPM);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = match_osv_as(db, r, pi, ecos[i], src, ver, seen, err);
		/* RPM advisories may name binary packages too; aliases keep findings single. */
		if (rc == 0 && rpm && p->source_name && strcmp(p->source_name, p->name))
			rc = match_osv_as(db, r, pi, ecos[i], p->name, p->version, seen, err);
	}
	return rc;
}

/* Is the package of the image's own distribution? */
static bool own_distro(const struct wharf_os *os, const char *eco)
{
	if (!os->id)
		return false;
	return (!strcmp(os->id, "debian") && !strcmp(eco, WHARF_ECO_DEBIAN)) ||
	       (!strcmp(os->id, "ubuntu") && !strcmp(eco, WHARF_ECO_UBUNTU)) ||
	       (!strcmp(os->id, "alpine") && !strcmp(eco, WHARF_ECO_ALPINE)) ||
	       ((!strcmp(os->id, "almalinux") || !strcmp(os->id, "rocky")) && !strcmp(eco, WHARF_ECO_RPM));
}

int wharf_vulndb_match(struct wharf_vulndb *db, struct wharf_scan_result *r, struct wharf_error *err)
{
	char buf[64];
	const char *release = os_release(&r->os, buf, sizeof(buf));
	const char *distro = r->os.id && release ? r->os.id : NULL;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->pkgs.n; i++) {
		const struct wharf_pkg *p = &r->pkgs.v[i];
		struct pkg_seen seen = {0};
		if (!p->ecosystem)
			continue;
		if (own_distro(&r->os, p->ecosystem)) {
			/* The distribution's feed first (its severity, its statuses), then OSV's records
			 * of the release; aliases keep one finding per vulnerability. */
			if (distro && (!strcmp(distro, "debian") || !strcmp(distro, "alpine")))
				rc = match_distro(db, r, i, distro, release, &seen, err);
			if (rc == 0)
				rc = match_distro_osv(db, r, i, release, &seen, err);
		} else if (is_language(p->ecosystem)) {
			rc = match_osv(db, r, i, &seen, err);
		}
		wharf_strv_free(&seen.ids);
	}
	return rc;
}

int wharf_vulndb_expand_ignore(struct wharf_vulndb *db, struct wharf_ignore_list *l, struct wharf_error *err)
{
	size_t n = l->n;
	for (size_t i = 0; i < n; i++) {
		struct wharf_strv names = {0};
		int rc = aliases_of(db, l->v[i].id, &names, err);
		for (size_t k = 0; rc == 0 && k < names.n; k++) {
			bool have = false;
			for (size_t j = 0; j < l->n && !have; j++)
				have = !strcmp(l->v[j].id, names.v[k]) && !l->v[j].pkg == !l->v[i].pkg &&
				       (!l->v[i].pkg || !strcmp(l->v[j].pkg, l->v[i].pkg));
			if (have)
				continue;
			l->v = wharf_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
			struct wharf_ignore_entry *src = &l->v[i];
			l->v[l->n++] = (struct wharf_ignore_entry){wharf_xstrdup(names.v[k]),
								   src->pkg ? wharf_xstrdup(src->pkg) : NULL,
								   wharf_xstrdup(src->reason), src->expires, src->line};
		}
		wharf_strv_free(&names);
		if (rc < 0)
			return rc;
	}
	return 0;
}
