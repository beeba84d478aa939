/* The image merge: which cataloged files survive the layers above them (whiteouts, opaque
 * directories, newer copies), which packages they hold, and which layer introduced each package
 * at its current version. */
#include <string.h>

#include "scan-internal.h"

/* path is dir or below it ("" is the root). */
static bool at_or_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 0)
		return true;
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

static bool strictly_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 0)
		return path[0] != 0;
	return !strncmp(path, dir, n) && path[n] == '/';
}

/* Does a layer in (lo, hi] delete path (whiteout of it or a parent, or an opaque parent)? */
static bool deleted_in(const struct wharf_layer_analysis *l, size_t lo, size_t hi, const char *path)
{
	for (size_t j = lo + 1; j <= hi; j++) {
		for (size_t i = 0; i < l[j].whiteouts.n; i++)
			if (at_or_under(path, l[j].whiteouts.v[i]))
				return true;
		for (size_t i = 0; i < l[j].opaque.n; i++)
			if (strictly_under(path, l[j].opaque.v[i]))
				return true;
	}
	return false;
}

static bool has_file(const struct wharf_layer_analysis *a, const char *path)
{
	for (size_t i = 0; i < a->files.n; i++)
		if (!strcmp(a->files.v[i], path))
			return true;
	return false;
}

static bool streq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_pkg(const struct wharf_pkg *a, const struct wharf_pkg *b)
{
	return streq(a->ecosystem, b->ecosystem) && streq(a->name, b->name) && streq(a->version, b->version) &&
	       streq(a->arch, b->arch) && streq(a->path, b->path);
}

static bool layer_has_pkg(const struct wharf_layer_analysis *a, const struct wharf_pkg *p)
{
	for (size_t i = 0; i < a->pkgs.n; i++)
		if (same_pkg(&a->pkgs.v[i], p))
			return true;
	return false;
}

/* The lowest layer from which p (read from path in layer top) is continuously present. */
static size_t introduced_by(const struct wharf_layer_analysis *l, size_t top, const struct wharf_pkg *p)
{
	size_t cur = top;
	while (cur > 0) {
		size_t lower = cur;
		while (lower > 0 && !has_file(&l[lower - 1], p->path))
			lower--;
		if (lower == 0)
			break;
		lower--;
		if (deleted_in(l, lower, cur, p->path) || !layer_has_pkg(&l[lower], p))
			break;
		cur = lower;
	}
	return cur;
}

struct final_file {
	const char *path;
	size_t layer;
};

/* Every cataloged path once, with the layer of its visible copy (SIZE_MAX when deleted). */
static struct final_file *final_files(const struct wharf_layer_analysis *l, size_t n, size_t *count)
{
	size_t cap = 0;
	for (size_t i = 0; i < n; i++)
		cap += l[i].files.n;
	struct final_file *f = wharf_xcalloc(cap ? cap : 1, sizeof(*f));
	size_t k = 0;
	for (size_t L = n; L-- > 0;) {
		for (size_t i = 0; i < l[L].files.n; i++) {
			const char *p = l[L].files.v[i];
			bool seen = false;
			for (size_t j = 0; j < k && !seen; j++)
				seen = !strcmp(f[j].path, p);
			if (seen)
				continue;
			f[k].path = p;
			f[k].layer = deleted_in(l, L, n - 1, p) ? SIZE_MAX : L;
			k++;
		}
	}
	*count = k;
	return f;
}

static void copy_str(char **dst, const char *src)
{
	*dst = src ? wharf_xstrdup(src) : NULL;
}

static void set_os(struct wharf_os *dst, const struct wharf_os *src)
{
	copy_str(&dst->id, src->id);
	copy_str(&dst->version_id, src->version_id);
	copy_str(&dst->codename, src->codename);
	copy_str(&dst->pretty_name, src->pretty_name);
}

static const struct final_file *find_final(const struct final_file *f, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].layer != SIZE_MAX && !strcmp(f[i].path, path))
			return &f[i];
	return NULL;
}

static void merge_os(const struct wharf_layer_analysis *l, const struct final_file *f, size_t nf, struct wharf_os *os)
{
	static const char *const paths[] = {"etc/os-release", "usr/lib/os-release"};
	for (int i = 0; i < 2 && !os->id; i++) {
		const struct final_file *ff = find_final(f, nf, paths[i]);
		if (ff && l[ff->layer].os_found[i])
			set_os(os, &l[ff->layer].os[i]);
	}
	bool status = find_final(f, nf, "var/lib/dpkg/status") != NULL, statusd = false;
	for (size_t i = 0; i < nf; i++)
		if (f[i].layer != SIZE_MAX && wharf_str_has_prefix(f[i].path, "var/lib/dpkg/status.d/"))
			statusd = true;
	os->distroless = statusd && !status;
}

static void copy_pkg(struct wharf_pkg *d, const struct wharf_pkg *s)
{
	copy_str(&d->ecosystem, s->ecosystem);
	copy_str(&d->name, s->name);
	copy_str(&d->version, s->version);
	copy_str(&d->source_name, s->source_name);
	copy_str(&d->source_version, s->source_version);
	copy_str(&d->arch, s->arch);
	copy_str(&d->path, s->path);
	copy_str(&d->purl, s->purl);
}

/* Distro packages: the ecosystem by the OS (dpkg serves Debian and Ubuntu) and a package URL. */
static void distro_fixup(struct wharf_pkg *p, const struct wharf_os *os)
{
	const char *type = NULL;
	if (!strcmp(p->ecosystem, WHARF_ECO_DEBIAN)) {
		type = "deb";
		if (os->id && !strcmp(os->id, "ubuntu")) {
			free(p->ecosystem);
			p->ecosystem = wharf_xstrdup(WHARF_ECO_UBUNTU);
		}
	} else if (!strcmp(p->ecosystem, WHARF_ECO_ALPINE)) {
		type = "apk";
	} else if (!strcmp(p->ecosystem, WHARF_ECO_RPM)) {
		type = "rpm";
	}
	if (!type || p->purl)
		return;
	_cleanup_free_ char *ver = wharf_url_escape(p->version);
	_cleanup_free_ char *name = wharf_url_escape(p->name);
	const char *ns = os->id ? os->id : !strcmp(type, "deb") ? "debian" : !strcmp(type, "apk") ? "alpine" : "redhat";
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_printf(&b, "pkg:%s/%s/%s@%s", type, ns, name, ver);
	char sep = '?';
	if (p->arch) {
		wharf_buf_printf(&b, "%carch=%s", sep, p->arch);
		sep = '&';
	}
	if (os->version_id)
		wharf_buf_printf(&b, "%cdistro=%s-%s", sep, ns, os->version_id);
	p->purl = wharf_buf_steal(&b);
}

static int pkg_cmp(const void *a, const void *b)
{
	const struct wharf_pkg *x = a, *y = b;
	int c = strcmp(x->ecosystem, y->ecosystem);
	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->version, y->version);
	if (!c)
		c = strcmp(x->path, y->path);
	return c;
}

int wharf_scan_merge(struct wharf_layer_analysis *l, size_t n, struct wharf_scan_result *r, struct wharf_error *err)
{
	(void)err;
	size_t nf;
	struct final_file *f = final_files(l, n, &nf);
	merge_os(l, f, nf, &r->os);
	for (size_t i = 0; i < nf; i++) {
		if (f[i].layer == SIZE_MAX)
			continue;
		const struct wharf_layer_analysis *a = &l[f[i].layer];
		for (size_t k = 0; k < a->pkgs.n; k++) {
			const struct wharf_pkg *src = &a->pkgs.v[k];
			if (strcmp(src->path, f[i].path) != 0)
				continue;
			struct wharf_pkg *p = wharf_pkg_list_add(&r->pkgs);
			copy_pkg(p, src);
			size_t L = introduced_by(l, f[i].layer, src);
			p->layer = (int)L;
			if (L < r->nlayers) {
				copy_str(&p->layer_digest, r->layers[L].digest);
				copy_str(&p->layer_diffid, r->layers[L].diffid);
			}
			distro_fixup(p, &r->os);
		}
	}
	free(f);
	if (r->pkgs.n)
		qsort(r->pkgs.v, r->pkgs.n, sizeof(*r->pkgs.v), pkg_cmp);
	for (size_t L = 0; L < n; L++) {
		for (size_t k = 0; k < l[L].secrets.n; k++) {
			struct wharf_secret_finding *s = &l[L].secrets.v[k], *d = wharf_secret_list_add(&r->secrets);
			*d = *s;
			memset(s, 0, sizeof(*s)); /* moved: the analysis no longer owns these strings */
			d->layer = (int)L;
			if (L < r->nlayers) {
				copy_str(&d->layer_digest, r->layers[L].digest);
				copy_str(&d->layer_diffid, r->layers[L].diffid);
			}
		}
	}
	return 0;
}
