/* The tar walk of one layer: whiteouts, os-release, and each regular file offered to the
 * catalogers that want it and (when it is small text) to the secrets detector. One reusable
 * buffer holds the file being read; nothing is allocated per entry in the common case. */
#include <string.h>
#include <sys/stat.h>

#include <archive_entry.h>

#include "scan-internal.h"

#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"
#define TEXT_SNIFF 1024

struct walker {
	const char *name;
	int index;
	const struct wharf_scan_limits *lim;
	struct wharf_layer_analysis *out;
	struct wharf_error *err;
	char *path;
	unsigned char *buf;
	size_t cap;
};

int wharf_scan_normalize_path(const char *name, char *out, size_t outsz, struct wharf_error *err)
{
	size_t o = 0;
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return wharf_error_set(err, WHARF_EINVAL, "entry \"%.200s\" has a \"..\" component (escapes the image root)", name);
		if (o + n + 2 > outsz)
			return wharf_error_set(err, WHARF_ETOOBIG, "entry \"%.200s...\" has a path longer than %zu bytes", name, outsz - 1);
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* ".wh.NAME" deletes NAME below; ".wh..wh..opq" hides everything below in its directory. */
static bool whiteout(struct walker *w, const char *path)
{
	const char *b = base_name(path);
	if (strncmp(b, WHITEOUT, strlen(WHITEOUT)) != 0)
		return false;
	size_t dirlen = (size_t)(b - path);
	if (!strcmp(b, OPAQUE)) {
		wharf_strv_push_owned(&w->out->opaque, wharf_xstrndup(path, dirlen ? dirlen - 1 : 0));
		return true;
	}
	wharf_strv_push_owned(&w->out->whiteouts, wharf_xasprintf("%.*s%s", (int)dirlen, path, b + strlen(WHITEOUT)));
	return true;
}

static int os_release_index(const char *path)
{
	if (!strcmp(path, "etc/os-release"))
		return 0;
	if (!strcmp(path, "usr/lib/os-release"))
		return 1;
	return -1;
}

/* Read up to want bytes of the current entry into the walker's buffer. */
static int read_entry(struct walker *w, struct archive *a, size_t want, size_t *got, const bool *stream_failed)
{
	if (want + 1 > w->cap) {
		w->cap = want + 1;
		w->buf = wharf_xrealloc(w->buf, w->cap);
	}
	size_t n = 0;
	while (n < want) {
		la_ssize_t r = archive_read_data(a, w->buf + n, want - n);
		if (r < 0) {
			if (*stream_failed)
				return -w->err->code;
			return wharf_error_set(w->err, WHARF_EINVAL, "layer %s: entry %s: %s", w->name, w->path,
					       archive_error_string(a));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	w->buf[n] = 0;
	*got = n;
	return 0;
}

static bool looks_like_text(const unsigned char *d, size_t n)
{
	return memchr(d, 0, n < TEXT_SNIFF ? n : TEXT_SNIFF) == NULL;
}

static void catalog(struct walker *w, const struct wharf_cataloger *c, size_t len)
{
	struct wharf_layer_analysis *o = w->out;
	size_t before = o->pkgs.n;
	struct wharf_error e = {0};
	if (c->parse(w->path, w->buf, len, &o->pkgs, &e) < 0) {
		wharf_strv_push_owned(&o->warnings, wharf_xasprintf("%s (%s): %s", w->path, c->name, e.message));
		for (size_t i = before; i < o->pkgs.n; i++)
			wharf_pkg_clear(&o->pkgs.v[i]);
		o->pkgs.n = before;
		return;
	}
	for (size_t i = before; i < o->pkgs.n; i++)
		if (!o->pkgs.v[i].path)
			o->pkgs.v[i].path = wharf_xstrdup(w->path);
	if (!o->files.n || strcmp(o->files.v[o->files.n - 1], w->path) != 0)
		wharf_strv_push(&o->files, w->path);
}

/* Which catalogers want this file, and how much of it they need: each reads at most its
 * max_size (the contract in pkg.h), and nothing past the walker's own read limit. */
static size_t wanted(const struct wharf_cataloger *const *list, const char *path, mode_t mode, uint64_t size,
		     uint64_t cap, const struct wharf_cataloger **picked, size_t *npicked, size_t maxpick)
{
	uint64_t need = 0;
	for (size_t i = 0; list[i]; i++) {
		const struct wharf_cataloger *c = list[i];
		if (*npicked >= maxpick || !c->wants(path, mode, size))
			continue;
		uint64_t n = size < c->max_size ? size : c->max_size;
		if (n > cap)
			continue; /* larger than anything the walker holds in memory */
		picked[(*npicked)++] = c;
		if (n > need)
			need = n;
	}
	return (size_t)need;
}

static int regular_file(struct walker *w, struct archive *a, struct archive_entry *e, const bool *stream_failed)
{
	uint64_t size = (uint64_t)archive_entry_size(e);
	mode_t mode = archive_entry_perm(e) | S_IFREG;
	const struct wharf_cataloger *picked[16];
	size_t np = 0;
	size_t need = wanted(wharf_os_catalogers, w->path, mode, size, w->lim->max_file_read, picked, &np, 16);
	size_t need2 = wanted(wharf_lang_catalogers, w->path, mode, size, w->lim->max_file_read, picked, &np, 16);
	if (need2 > need)
		need = need2;
	int osi = os_release_index(w->path);
	bool secrets = size > 0 && size <= w->lim->max_secret_file;
	if (osi >= 0 && size <= 64 * 1024 && size > need)
		need = (size_t)size;
	if (secrets && size > need)
		need = (size_t)size;
	if (need == 0)
		return 0;
	size_t len = 0;
	int r = read_entry(w, a, need, &len, stream_failed);
	if (r < 0)
		return r;
	for (size_t i = 0; i < np; i++)
		catalog(w, picked[i], len < picked[i]->max_size ? len : (size_t)picked[i]->max_size);
	if (osi >= 0) {
		struct wharf_error oe = {0};
		wharf_os_clear(&w->out->os[osi]);
		w->out->os_found[osi] = wharf_os_release_parse((const char *)w->buf, len, &w->out->os[osi], &oe) == 0;
		if (w->out->os_found[osi])
			wharf_strv_push(&w->out->files, w->path);
	}
	if (secrets && looks_like_text(w->buf, len)) {
		struct wharf_error se = {0};
		if (wharf_secrets_scan_buffer(w->path, w->buf, len, w->index, &w->out->secrets, &se) < 0)
			wharf_strv_push_owned(&w->out->warnings, wharf_xasprintf("%s (secrets): %s", w->path, se.message));
	}
	return 0;
}

static bool any_wants(const struct wharf_cataloger *const *list, const char *path, mode_t mode)
{
	for (size_t i = 0; list[i]; i++)
		if (list[i]->wants(path, mode, 0))
			return true;
	return false;
}

/* A symlink (or hard link, device, fifo) where a package database or os-release was: the lower
 * layers' file is gone from the image, as with a whiteout. Links are never followed. */
static void replaced_by_link(struct walker *w, struct archive_entry *e)
{
	if (archive_entry_filetype(e) == AE_IFDIR)
		return;
	mode_t mode = archive_entry_filetype(e) | archive_entry_perm(e);
	if (os_release_index(w->path) >= 0 || any_wants(wharf_os_catalogers, w->path, mode) ||
	    any_wants(wharf_lang_catalogers, w->path, mode))
		wharf_strv_push(&w->out->whiteouts, w->path);
}

static int entry(struct walker *w, struct archive *a, struct archive_entry *e, const bool *stream_failed)
{
	const char *name = archive_entry_pathname(e);
	if (!name)
		name = archive_entry_pathname_utf8(e);
	if (!name)
		return wharf_error_set(w->err, WHARF_EINVAL, "layer %s: an entry without a readable name", w->name);
	if (wharf_scan_normalize_path(name, w->path, w->lim->max_path + 1, w->err) < 0)
		return wharf_error_prefix(w->err, "layer %s", w->name);
	if (!w->path[0] || whiteout(w, w->path))
		return 0;
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
		replaced_by_link(w, e);
		return 0;
	}
	return regular_file(w, a, e, stream_failed);
}

int wharf_scan_walk_tar(struct archive *a, const char *name, int index, const struct wharf_scan_limits *lim,
			const bool *stream_failed, struct wharf_layer_analysis *out, struct wharf_error *err)
{
	struct walker w = {.name = name, .index = index, .lim = lim, .out = out, .err = err};
	w.path = wharf_xmalloc(lim->max_path + 1);
	struct archive_entry *e;
	uint64_t count = 0;
	int r = 0, ar;
	while (r == 0 && (ar = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (ar == ARCHIVE_FATAL || ar == ARCHIVE_FAILED || ar == ARCHIVE_RETRY) {
			r = *stream_failed ? -err->code
					   : wharf_error_set(err, WHARF_EINVAL, "layer %s: corrupt tar stream after %llu entries (%s)",
							     name, (unsigned long long)count, archive_error_string(a));
			break;
		}
		if (++count > lim->max_entries) {
			r = wharf_error_set(err, WHARF_ETOOBIG, "layer %s: more than %llu tar entries", name,
					    (unsigned long long)lim->max_entries);
			break;
		}
		r = entry(&w, a, e, stream_failed);
	}
	free(w.path);
	free(w.buf);
	return r;
}

void wharf_scan_limits_default(struct wharf_scan_limits *l)
{
	l->max_layer_bytes = 64ull << 30;
	l->max_ratio = 200;
	l->max_entries = 2000000;
	l->max_path = 4096;
	l->max_file_read = 256u << 20;
	l->max_secret_file = 1u << 20;
}

void wharf_layer_analysis_free(struct wharf_layer_analysis *a)
{
	free(a->digest);
	free(a->diffid);
	wharf_strv_free(&a->whiteouts);
	wharf_strv_free(&a->opaque);
	wharf_strv_free(&a->files);
	wharf_pkg_list_free(&a->pkgs);
	wharf_os_clear(&a->os[0]);
	wharf_os_clear(&a->os[1]);
	wharf_secret_list_free(&a->secrets);
	wharf_strv_free(&a->warnings);
	memset(a, 0, sizeof(*a));
}
