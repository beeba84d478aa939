/* Java archives (.jar, .war, .ear, and .jar files nested in them up to 4 levels).
 *
 * Each archive reports every META-INF/maven/<group>/<artifact>/pom.properties it holds
 * (groupId, artifactId, version: name "group:artifact"); an archive without any reports what
 * its META-INF/MANIFEST.MF main section says instead (Implementation-Vendor-Id and
 * Implementation-Title or Bundle-SymbolicName; Implementation-Version or Bundle-Version).
 * Packages from nested archives carry the outer file's path (the file in the image), so the
 * image merge can attribute and delete them with it. One file reports a group:artifact@version
 * once. */
#include <ctype.h>
#include <string.h>

#include "lang_internal.h"
#include "zip.h"

#define JAVA_ARCHIVE_MAX (512ull << 20)
#define JAVA_NESTED_MAX (64u << 20)
#define JAVA_TOTAL_MAX (512u << 20)
#define JAVA_META_MAX (1u << 20)
#define JAVA_DEPTH_MAX 4

struct java_ctx {
	const char *path; /* the image file */
	struct wharf_pkg_list *out;
	size_t from;         /* first package of this file */
	size_t inflated;     /* bytes inflated so far for this file: the bomb budget */
};

static bool ends_with_ci(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

static bool is_archive_name(const char *s, size_t len)
{
	return ends_with_ci(s, len, ".jar") || ends_with_ci(s, len, ".war") || ends_with_ci(s, len, ".ear");
}

static int wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode;
	return size <= JAVA_ARCHIVE_MAX && is_archive_name(path, strlen(path));
}

static void add_maven(struct java_ctx *c, const char *group, const char *artifact, const char *version)
{
	if (!artifact || !*artifact || !version || !*version)
		return;
	_cleanup_free_ char *name = group && *group ? wharf_xasprintf("%s:%s", group, artifact)
						    : wharf_xstrdup(artifact);
	for (size_t i = c->from; i < c->out->n; i++)
		if (strcmp(c->out->v[i].name, name) == 0 && strcmp(c->out->v[i].version, version) == 0)
			return;
	if (lang_pkg_add(c->out, WHARF_ECO_MAVEN, c->path, "maven", group && *group ? group : NULL, artifact,
			 version)) {
		struct wharf_pkg *p = &c->out->v[c->out->n - 1];
		free(p->name);
		p->name = wharf_steal(&name);
	}
}

/* Java properties subset: "key=value" or "key: value" lines, '#'/'!' comments. */
static char *prop_get(const unsigned char *d, size_t len, const char *key)
{
	const char *p = (const char *)d, *end = p + len;
	size_t klen = strlen(key);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(le - p) > klen && memcmp(p, key, klen) == 0) {
			const char *q = p + klen;
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q < le && (*q == '=' || *q == ':')) {
				q++;
				while (q < le && (*q == ' ' || *q == '\t'))
					q++;
				const char *e = le;
				while (e > q && isspace((unsigned char)e[-1]))
					e--;
				return wharf_xstrndup(q, (size_t)(e - q));
			}
		}
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

/* MANIFEST.MF main section: "Key: value" with 72-byte lines continued by a leading space. */
static char *manifest_get(const unsigned char *d, size_t len, const char *key)
{
	const char *p = (const char *)d, *end = p + len;
	size_t klen = strlen(key);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le == p || (le - p == 1 && *p == '\r'))
			return NULL; /* end of the main section */
		if ((size_t)(le - p) > klen + 1 && strncasecmp(p, key, klen) == 0 && p[klen] == ':') {
			struct wharf_buf v;
			wharf_buf_init(&v);
			const char *q = p + klen + 1;
			if (q < le && *q == ' ')
				q++;
			for (;;) {
				const char *e = le;
				if (e > q && e[-1] == '\r')
					e--;
				wharf_buf_append(&v, q, (size_t)(e - q));
				if (!nl || nl + 1 >= end || nl[1] != ' ' || v.len > 4096)
					break;
				q = nl + 2;
				nl = memchr(q, '\n', (size_t)(end - q));
				le = nl ? nl : end;
			}
			return wharf_buf_steal(&v);
		}
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

static void from_pom_properties(struct java_ctx *c, const unsigned char *d, size_t len)
{
	_cleanup_free_ char *g = prop_get(d, len, "groupId");
	_cleanup_free_ char *a = prop_get(d, len, "artifactId");
	_cleanup_free_ char *v = prop_get(d, len, "version");
	add_maven(c, g, a, v);
}

static void from_manifest(struct java_ctx *c, const unsigned char *d, size_t len)
{
	_cleanup_free_ char *vendor = manifest_get(d, len, "Implementation-Vendor-Id");
	_cleanup_free_ char *title = manifest_get(d, len, "Implementation-Title");
	_cleanup_free_ char *bsn = manifest_get(d, len, "Bundle-SymbolicName");
	_cleanup_free_ char *version = manifest_get(d, len, "Implementation-Version");
	_cleanup_free_ char *bversion = manifest_get(d, len, "Bundle-Version");
	if (bsn)
		bsn[strcspn(bsn, ";")] = '\0'; /* "name;singleton:=true" */
	/* a title with spaces is prose ("Apache Commons CLI"), not an artifact id */
	const char *artifact = title && !strchr(title, ' ') ? title : bsn ? bsn : NULL;
	add_maven(c, vendor, artifact, version ? version : bversion);
}

static bool is_pom_properties(const char *n, size_t len)
{
	if (len < 15 + 15 || memcmp(n, "META-INF/maven/", 15) != 0 || !ends_with_ci(n, len, "/pom.properties"))
		return false;
	int slashes = 0;
	for (size_t i = 15; i < len; i++)
		slashes += n[i] == '/';
	return slashes == 2;
}

static int read_entry(struct java_ctx *c, const struct lang_zip *z, const struct lang_zip_entry *e,
		      size_t limit, unsigned char **d, size_t *dlen, struct wharf_error *err)
{
	size_t budget = JAVA_TOTAL_MAX - c->inflated;
	int r = lang_zip_read(z, e, limit < budget ? limit : budget, d, dlen, err);
	if (r == 0)
		c->inflated += *dlen;
	return r;
}

static int scan_archive(struct java_ctx *c, const char *what, const unsigned char *data, size_t len, int depth,
			struct wharf_error *err)
{
	struct lang_zip z;
	int r = lang_zip_open(&z, what, data, len, err);
	if (r < 0)
		return r;
	size_t pos = 0;
	bool own = false; /* this archive has pom.properties of its own */
	_cleanup_free_ unsigned char *manifest = NULL;
	size_t manifest_len = 0;
	struct lang_zip_entry e;
	while ((r = lang_zip_next(&z, &pos, &e, err)) == 1) {
		bool mf = e.name_len == 20 && memcmp(e.name, "META-INF/MANIFEST.MF", 20) == 0;
		bool pom = is_pom_properties(e.name, e.name_len);
		bool nested = depth < JAVA_DEPTH_MAX && is_archive_name(e.name, e.name_len);
		if (!mf && !pom && !nested)
			continue;
		unsigned char *d = NULL;
		size_t dlen = 0;
		r = read_entry(c, &z, &e, nested ? JAVA_NESTED_MAX : JAVA_META_MAX, &d, &dlen, err);
		if (r < 0) {
			if (nested && r != -WHARF_ETOOBIG)
				continue; /* a damaged inner archive does not hide the rest */
			return r;
		}
		if (mf && !manifest) {
			manifest = d, manifest_len = dlen;
			continue;
		}
		if (pom) {
			from_pom_properties(c, d, dlen);
			own = true;
		} else if (nested) {
			_cleanup_free_ char *inner = wharf_xasprintf("%s!%.*s", what, (int)e.name_len, e.name);
			struct wharf_error ierr = {0};
			r = scan_archive(c, inner, d, dlen, depth + 1, &ierr);
			if (r == -WHARF_ETOOBIG) {
				free(d);
				*err = ierr;
				return r;
			}
		}
		free(d);
	}
	if (r < 0)
		return r;
	if (!own && manifest)
		from_manifest(c, manifest, manifest_len);
	return 0;
}

static int parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		 struct wharf_error *err)
{
	struct java_ctx c = {.path = path, .out = out, .from = out->n};
	return scan_archive(&c, path, data, len, 1, err);
}

const struct wharf_cataloger wharf_cataloger_java = {
	.name = "java",
	.max_size = JAVA_ARCHIVE_MAX,
	.wants = wants,
	.parse = parse,
};
