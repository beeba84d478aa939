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

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Layers' files and packages are sorted first (by sort_layer), so lookups are binary searches:
 * an image with tens of thousands of language packages merges in n log n. */
static bool has_file(const struct wharf_layer_analysis *a, const char *path)
{
	return a->files.n && bsearch(&path, a->files.v, a->files.n, sizeof(char *), strp_cmp) != NULL;
}

static int cmpnull(const char *a, const char *b)
{
	return a == b ? 0 : !a ? -1 : !b ? 1 : strcmp(a, b);
}

/* The identity of a package in a layer: where it was read, and what it is. */
static int pkg_key_cmp(const void *pa, const void *pb)
{
	const struct wharf_pkg *a = pa, *b = pb;
	int c = cmpnull(a->path, b->path);
	if (!c)
		c = cmpnull(a->name, b->name);
	if (!c)
		c = cmpnull(a->version, b->version);
	if (!c)
		c = cmpnull(a->arch, b->arch);
	if (!c)
		c = cmpnull(a->ecosystem, b->ecosystem);
	return c;
}

static void sort_layer(struct wharf_layer_analysis *a)
{
	if (a->files.n)
		qsort(a->files.v, a->files.n, sizeof(char *), strp_cmp);
	if (a->pkgs.n)
		qsort(a->pkgs.v, a->pkgs.n, sizeof(*a->pkgs.v), pkg_key_cmp);
}

static bool layer_has_pkg(const struct wharf_layer_analysis *a, const struct wharf_pkg *p)
{
	return a->pkgs.n && bsearch(p, a->pkgs.v, a->pkgs.n, sizeof(*a->pkgs.v), pkg_key_cmp) != NULL;
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

static int final_cmp(const void *pa, const void *pb)
{
	const struct final_file *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);
	return c ? c : a->layer < b->layer ? 1 : a->layer > b->layer ? -1 : 0; /* topmost first */
}

/* Every cataloged path once, with the layer of its visible copy (SIZE_MAX when deleted). */
static struct final_file *final_files(const struct wharf_layer_analysis *l, size_t n, size_t *count)
{
	size_t all = 0;
	for (size_t i = 0; i < n; i++)
		all += l[i].files.n;
	struct final_file *f = wharf_xcalloc(all ? all : 1, sizeof(*f));
	size_t k = 0;
	for (size_t L = 0; L < n; L++)
		for (size_t i = 0; i < l[L].files.n; i++)
			f[k++] = (struct final_file){l[L].files.v[i], L};
	if (k)
		qsort(f, k, sizeof(*f), final_cmp);
	size_t out = 0;
	for (size_t i = 0; i < k; i++) {
		if (out && !strcmp(f[out - 1].path, f[i].path))
			continue; /* a lower copy of a path already decided */
		f[out] = f[i];
		if (deleted_in(l, f[out].layer, n - 1, f[out].path))
			f[out].layer = SIZE_MAX;
		out++;
	}
	*count = out;
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

/* The first package read from path in a's sorted list (a->pkgs.n when none). */
static size_t first_pkg_of(const struct wharf_layer_analysis *a, const char *path)
{
	size_t lo = 0, hi = a->pkgs.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(a->pkgs.v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int wharf_scan_merge(struct wharf_layer_analysis *l, size_t n, struct wharf_scan_result *r, struct wharf_error *err)
{
	(void)err;
	for (size_t i = 0; i < n; i++)
		sort_layer(&l[i]);
	size_t nf;
	struct final_file *f = final_files(l, n, &nf);
	merge_os(l, f, nf, &r->os);
	for (size_t i = 0; i < nf; i++) {
		if (f[i].layer == SIZE_MAX)
			continue;
		const struct wharf_layer_analysis *a = &l[f[i].layer];
		for (size_t k = first_pkg_of(a, f[i].path); k < a->pkgs.n; k++) {
			const struct wharf_pkg *src = &a->pkgs.v[k];
			if (strcmp(src->path, f[i].path) != 0)
				break;
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
