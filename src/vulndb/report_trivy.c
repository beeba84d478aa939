/* The JSON report, in the shape of Trivy's (SchemaVersion 2), so tools that read Trivy
 * reports read ours. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "report.h"

json_t *report_str(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

void report_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)(t ? t : wharf_now());
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int report_dump(FILE *out, json_t *j, struct wharf_error *err)
{
	int r = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (r == 0 && fputc('\n', out) == EOF)
		r = -1;
	if (r == 0 && fflush(out) != 0)
		r = -1;
	if (r < 0)
		return wharf_error_sys(err, "cannot write the report");
	return 0;
}

const char *report_short_digest(const char *digest, char *buf, size_t len)
{
	if (!digest || !*digest)
		return "-";
	const char *hex = strchr(digest, ':');
	snprintf(buf, len, "%.12s", hex ? hex + 1 : digest);
	return buf;
}

bool report_is_os_pkg(const struct wharf_pkg *p)
{
	static const char *const os[] = {WHARF_ECO_DEBIAN, WHARF_ECO_UBUNTU, WHARF_ECO_ALPINE, WHARF_ECO_RPM};
	for (size_t i = 0; i < 4; i++)
		if (p->ecosystem && !strcmp(p->ecosystem, os[i]))
			return true;
	return false;
}

const char *report_pkg_type(const struct wharf_pkg *p)
{
	const char *e = p->ecosystem ? p->ecosystem : "";
	const char *path = p->path ? p->path : "";
	if (!strcmp(e, WHARF_ECO_DEBIAN))
		return "debian";
	if (!strcmp(e, WHARF_ECO_UBUNTU))
		return "ubuntu";
	if (!strcmp(e, WHARF_ECO_ALPINE))
		return "alpine";
	if (!strcmp(e, WHARF_ECO_RPM))
		return "redhat";
	if (!strcmp(e, WHARF_ECO_NPM))
		return wharf_str_has_suffix(path, "package-lock.json") ? "npm" : "node-pkg";
	if (!strcmp(e, WHARF_ECO_PYPI))
		return "python-pkg";
	if (!strcmp(e, WHARF_ECO_GO))
		return "gobinary";
	if (!strcmp(e, WHARF_ECO_MAVEN))
		return "jar";
	if (!strcmp(e, WHARF_ECO_CARGO))
		return wharf_str_has_suffix(path, "Cargo.lock") ? "cargo" : "rustbinary";
	if (!strcmp(e, WHARF_ECO_GEM))
		return "gemspec";
	if (!strcmp(e, WHARF_ECO_COMPOSER))
		return "composer";
	return "unknown";
}

/* Trivy names the targets of installed-package types by language, lock files by path. */
static const char *lang_target(const char *type)
{
	static const char *const map[][2] = {
		{"node-pkg", "Node.js"}, {"python-pkg", "Python"}, {"jar", "Java"}, {"gemspec", "Ruby"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(type, map[i][0]))
			return map[i][1];
	return NULL;
}

/* Percent-encode what the purl specification does not allow as is in a segment. */
static void purl_escape(struct wharf_buf *b, const char *s, bool keep_slash)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr(".-_~", c) || (keep_slash && c == '/'))
			wharf_buf_append(b, s, 1);
		else
			wharf_buf_printf(b, "%%%02X", c);
	}
}

char *report_purl(const struct wharf_scan_result *r, const struct wharf_pkg *p)
{
	static const char *const types[][3] = {
		/* ecosystem, purl type, namespace (NULL: from the name) */
		{WHARF_ECO_DEBIAN, "deb", "debian"}, {WHARF_ECO_UBUNTU, "deb", "ubuntu"}, {WHARF_ECO_ALPINE, "apk", "alpine"},
		{WHARF_ECO_RPM, "rpm", NULL},         {WHARF_ECO_NPM, "npm", NULL},        {WHARF_ECO_PYPI, "pypi", NULL},
		{WHARF_ECO_GO, "golang", NULL},       {WHARF_ECO_MAVEN, "maven", NULL},    {WHARF_ECO_CARGO, "cargo", NULL},
		{WHARF_ECO_GEM, "gem", NULL},         {WHARF_ECO_COMPOSER, "composer", NULL},
	};
	if (p->purl)
		return wharf_xstrdup(p->purl);
	if (!p->ecosystem || !p->name || !p->version)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(p->ecosystem, types[i][0]))
			continue;
		struct wharf_buf b;
		wharf_buf_init(&b);
		wharf_buf_printf(&b, "pkg:%s/", types[i][1]);
		if (!strcmp(types[i][1], "rpm") && r->os.id)
			wharf_buf_printf(&b, "%s/", r->os.id);
		if (types[i][2])
			wharf_buf_printf(&b, "%s/", types[i][2]);
		if (!strcmp(types[i][1], "maven")) {
			/* group:artifact -> group/artifact */
			char *n = wharf_xstrdup(p->name), *colon = strchr(n, ':');
			if (colon)
				*colon = '/';
			purl_escape(&b, n, true);
			free(n);
		} else {
			/* Go module paths and npm scopes keep their slashes as namespaces. */
			purl_escape(&b, p->name, true);
		}
		wharf_buf_puts(&b, "@");
		purl_escape(&b, p->version, false);
		const char *sep = "?";
		if (p->arch) {
			wharf_buf_printf(&b, "%sarch=", sep);
			purl_escape(&b, p->arch, false);
			sep = "&";
		}
		if (report_is_os_pkg(p) && r->os.id)
			wharf_buf_printf(&b, "%sdistro=%s-%s", sep, r->os.id, r->os.version_id ? r->os.version_id : "");
		return wharf_buf_steal(&b);
	}
	return NULL;
}

static json_t *layer_obj(const char *digest, const char *diffid)
{
	json_t *l = json_object();
	if (digest)
		json_object_set_new(l, "Digest", json_string(digest));
	if (diffid)
		json_object_set_new(l, "DiffID", json_string(diffid));
	return l;
}

static json_t *vuln_obj(const struct wharf_scan_result *r, const struct wharf_finding *f)
{
	const struct wharf_pkg *p = f->pkg < r->pkgs.n ? &r->pkgs.v[f->pkg] : NULL;
	json_t *v = json_object();
	json_object_set_new(v, "VulnerabilityID", json_string(f->id));
	char *pkgid = wharf_xasprintf("%s@%s", f->pkg_name, f->installed ? f->installed : "");
	json_object_set_new(v, "PkgID", json_string(pkgid));
	free(pkgid);
	json_object_set_new(v, "PkgName", json_string(f->pkg_name));
	if (p && !report_is_os_pkg(p) && p->path)
		json_object_set_new(v, "PkgPath", json_string(p->path));
	char *purl = p ? report_purl(r, p) : NULL;
	if (purl)
		json_object_set_new(v, "PkgIdentifier", json_pack("{s:s}", "PURL", purl));
	free(purl);
	json_object_set_new(v, "InstalledVersion", report_str(f->installed));
	if (f->fixed)
		json_object_set_new(v, "FixedVersion", json_string(f->fixed));
	json_object_set_new(v, "Status", report_str(f->status));
	json_object_set_new(v, "Layer", layer_obj(p ? p->layer_digest : NULL, p ? p->layer_diffid : NULL));
	if (f->severity_source)
		json_object_set_new(v, "SeveritySource", json_string(f->severity_source));
	if (f->primary_url)
		json_object_set_new(v, "PrimaryURL", json_string(f->primary_url));
	if (f->title)
		json_object_set_new(v, "Title", json_string(f->title));
	if (f->description)
		json_object_set_new(v, "Description", json_string(f->description));
	json_object_set_new(v, "Severity", report_str(f->severity));
	if (f->cvss_vector || f->cvss_score > 0) {
		bool v3 = f->cvss_vector && !strncmp(f->cvss_vector, "CVSS:3", 6);
		json_t *c = json_object();
		if (f->cvss_vector)
			json_object_set_new(c, v3 ? "V3Vector" : "V2Vector", json_string(f->cvss_vector));
		if (f->cvss_score > 0)
			json_object_set_new(c, v3 || !f->cvss_vector ? "V3Score" : "V2Score", json_real(f->cvss_score));
		/* Trivy keys CVSS by the source that scored it. */
		const char *src = f->cvss_source ? f->cvss_source : "nvd";
		json_object_set_new(v, "CVSS", json_pack("{s:o}", src, c));
	}
	return v;
}

static json_t *secret_obj(const struct wharf_secret_finding *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "RuleID", report_str(s->rule_id));
	json_object_set_new(o, "Category", report_str(s->category));
	json_object_set_new(o, "Severity", report_str(s->severity));
	json_object_set_new(o, "Title", report_str(s->title));
	json_object_set_new(o, "StartLine", json_integer(s->line));
	json_object_set_new(o, "EndLine", json_integer(s->line));
	json_object_set_new(o, "Match", report_str(s->match));
	json_object_set_new(o, "Layer", layer_obj(s->layer_digest, s->layer_diffid));
	return o;
}

/* Find or make the result of (target, class, type). */
static json_t *result_for(json_t *results, const char *target, const char *class, const char *type)
{
	size_t i;
	json_t *res;
	json_array_foreach(results, i, res) {
		if (!strcmp(json_string_value(json_object_get(res, "Target")), target) &&
		    !strcmp(json_string_value(json_object_get(res, "Class")), class) &&
		    (!type || !strcmp(json_string_value(json_object_get(res, "Type")), type)))
			return res;
	}
	res = json_object();
	json_object_set_new(res, "Target", json_string(target));
	json_object_set_new(res, "Class", json_string(class));
	if (type)
		json_object_set_new(res, "Type", json_string(type));
	json_array_append_new(results, res);
	return res;
}

static void append_to(json_t *res, const char *key, json_t *item)
{
	json_t *arr = json_object_get(res, key);
	if (!arr) {
		arr = json_array();
		json_object_set_new(res, key, arr);
	}
	json_array_append_new(arr, item);
}

static char *os_target(const struct wharf_scan_result *r)
{
	return wharf_xasprintf("%s (%s %s)", r->artifact ? r->artifact : "image", r->os.id ? r->os.id : "unknown",
			       r->os.version_id ? r->os.version_id : "");
}

static char *pkg_target(const struct wharf_scan_result *r, const struct wharf_pkg *p, const char **class)
{
	if (report_is_os_pkg(p)) {
		*class = "os-pkgs";
		return os_target(r);
	}
	*class = "lang-pkgs";
	const char *t = lang_target(report_pkg_type(p));
	return wharf_xstrdup(t ? t : (p->path ? p->path : "unknown"));
}

static json_t *metadata(const struct wharf_scan_result *r)
{
	json_t *m = json_object();
	if (r->os.id)
		json_object_set_new(m, "OS", json_pack("{s:s,s:s}", "Family", r->os.id, "Name",
						       r->os.version_id ? r->os.version_id : ""));
	if (r->config_digest)
		json_object_set_new(m, "ImageID", json_string(r->config_digest));
	json_t *diffids = json_array(), *history = json_array();
	for (size_t i = 0; i < r->nlayers; i++) {
		if (r->layers[i].diffid)
			json_array_append_new(diffids, json_string(r->layers[i].diffid));
		if (r->layers[i].created_by)
			json_array_append_new(history, json_pack("{s:s}", "created_by", r->layers[i].created_by));
	}
	json_object_set_new(m, "DiffIDs", diffids);
	json_t *tags = json_array(), *digests = json_array();
	if (r->repo_tags) {
		json_array_append_new(tags, json_string(r->repo_tags));
		if (r->manifest_digest) {
			/* repo@digest: the tag's repository without the tag */
			const char *slash = strrchr(r->repo_tags, '/');
			const char *colon = strrchr(slash ? slash : r->repo_tags, ':');
			size_t n = colon ? (size_t)(colon - r->repo_tags) : strlen(r->repo_tags);
			char *d = wharf_xasprintf("%.*s@%s", (int)n, r->repo_tags, r->manifest_digest);
			json_array_append_new(digests, json_string(d));
			free(d);
		}
	}
	json_object_set_new(m, "RepoTags", tags);
	json_object_set_new(m, "RepoDigests", digests);
	/* What the scan result knows of the image config. */
	json_t *cfg = json_object();
	if (r->os.id)
		json_object_set_new(cfg, "os", json_string("linux"));
	json_object_set_new(cfg, "rootfs", json_pack("{s:s,s:O}", "type", "layers", "diff_ids", diffids));
	json_object_set_new(cfg, "history", history);
	json_object_set_new(m, "ImageConfig", cfg);
	return m;
}

int report_write_trivy(FILE *out, const struct wharf_scan_result *r, const struct wharf_report_options *opt,
		       struct wharf_error *err)
{
	json_t *root = json_object();
	char when[32];
	report_time(r->created, when, sizeof(when));
	json_object_set_new(root, "SchemaVersion", json_integer(2));
	json_object_set_new(root, "CreatedAt", json_string(when));
	json_object_set_new(root, "ArtifactName", report_str(r->artifact));
	json_object_set_new(root, "ArtifactType", json_string("container_image"));
	json_object_set_new(root, "Metadata", metadata(r));
	json_t *results = json_array();
	/* Every target with packages appears, with or without vulnerabilities, as in Trivy. */
	for (size_t i = 0; i < r->pkgs.n; i++) {
		const char *class;
		char *target = pkg_target(r, &r->pkgs.v[i], &class);
		result_for(results, target, class, report_pkg_type(&r->pkgs.v[i]));
		free(target);
	}
	for (size_t i = 0; i < r->findings.n; i++) {
		const struct wharf_finding *f = &r->findings.v[i];
		if (f->pkg >= r->pkgs.n || !wharf_report_keeps(r, f, opt))
			continue;
		const char *class;
		char *target = pkg_target(r, &r->pkgs.v[f->pkg], &class);
		append_to(result_for(results, target, class, report_pkg_type(&r->pkgs.v[f->pkg])), "Vulnerabilities",
			  vuln_obj(r, f));
		free(target);
	}
	for (size_t i = 0; i < r->secrets.n; i++) {
		const struct wharf_secret_finding *s = &r->secrets.v[i];
		if (!report_keeps_secret(s, opt))
			continue;
		append_to(result_for(results, s->path ? s->path : "unknown", "secret", NULL), "Secrets", secret_obj(s));
	}
	json_object_set_new(root, "Results", results);
	int rc = report_dump(out, root, err);
	json_decref(root);
	return rc;
}
