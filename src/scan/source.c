/* Image sources: an OCI image layout, a docker-archive tar, or a registry. Each yields the
 * manifest's layer descriptors and the config bytes (verified against their digests) and then
 * streams the layers the cache does not already know. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "source.h"
#include "wharf/client.h"
#include "wharf/json.h"
#include "wharf/oci.h"

#define CONFIG_MAX (8u << 20)

void image_source_free(struct image_source *s)
{
	free(s->artifact);
	free(s->manifest_digest);
	free(s->config_digest);
	free(s->repo_tags);
	free(s->config);
	for (size_t i = 0; i < s->nlayers; i++) {
		free(s->layers[i].digest);
		free(s->layers[i].media_type);
		free(s->layers[i].archive_path);
	}
	free(s->layers);
	free(s->dir);
	free(s->config_path);
	free(s->base);
	free(s->repo);
	memset(s, 0, sizeof(*s));
}

/* ---- manifests ---- */

static bool is_index(const json_t *m)
{
	const char *mt = json_string_value(json_object_get(m, "mediaType"));
	if (mt)
		return !strcmp(mt, WHARF_MT_OCI_INDEX) || !strcmp(mt, WHARF_MT_DOCKER_LIST);
	return json_is_array(json_object_get(m, "manifests"));
}

/* The entry of an index for os/arch: its digest. */
static int pick_platform(const json_t *idx, const char *os, const char *arch, struct wharf_digest *out,
			 struct wharf_error *err)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(idx, "manifests"), i, e) {
		const json_t *p = json_object_get(e, "platform");
		const char *po = json_string_value(json_object_get(p, "os"));
		const char *pa = json_string_value(json_object_get(p, "architecture"));
		if (po && pa && !strcmp(po, os) && !strcmp(pa, arch))
			return wharf_digest_parse(out, json_string_value(json_object_get(e, "digest")), err);
	}
	return wharf_error_set(err, WHARF_ENOTFOUND, "the image index has no %s/%s image", os, arch);
}

static int parse_descriptor(const json_t *d, char **digest, char **mt, uint64_t *size, struct wharf_error *err)
{
	struct wharf_digest dg;
	if (!json_is_object(d) || wharf_digest_parse(&dg, json_string_value(json_object_get(d, "digest")), err) < 0)
		return wharf_error_set(err, WHARF_EINVAL, "manifest: a descriptor without a valid digest");
	json_int_t sz = json_integer_value(json_object_get(d, "size"));
	*digest = wharf_xstrdup(dg.str);
	const char *m = json_string_value(json_object_get(d, "mediaType"));
	*mt = m ? wharf_xstrdup(m) : NULL;
	*size = sz > 0 ? (uint64_t)sz : 0;
	return 0;
}

/* Layers and config digest from an image manifest. */
int image_source_set_manifest(struct image_source *s, const char *data, size_t len, struct wharf_error *err)
{
	json_t *m = NULL;
	if (wharf_json_parse(&m, data, len, WHARF_MANIFEST_MAX, err) < 0)
		return wharf_error_prefix(err, "manifest");
	int r = 0;
	char *cmt = NULL;
	json_t *layers = json_object_get(m, "layers");
	if (!json_is_array(layers) || json_array_size(layers) > 4096)
		r = wharf_error_set(err, WHARF_EINVAL, "manifest: no layers array (or more than 4096 layers)");
	if (r == 0)
		r = parse_descriptor(json_object_get(m, "config"), &s->config_digest, &cmt, &s->config_size, err);
	free(cmt);
	if (r == 0) {
		s->nlayers = json_array_size(layers);
		s->layers = wharf_xcalloc(s->nlayers ? s->nlayers : 1, sizeof(*s->layers));
		for (size_t i = 0; r == 0 && i < s->nlayers; i++)
			r = parse_descriptor(json_array_get(layers, i), &s->layers[i].digest, &s->layers[i].media_type,
					     &s->layers[i].size, err);
	}
	json_decref(m);
	return r;
}

/* ---- OCI image layout ---- */

static int oci_read_blob(const struct image_source *s, const char *digest, size_t limit, char **out, size_t *len,
			 struct wharf_error *err)
{
	struct wharf_digest d, got;
	if (wharf_digest_parse(&d, digest, err) < 0)
		return -err->code;
	_cleanup_free_ char *path = wharf_xasprintf("%s/blobs/%s/%s", s->dir, wharf_digest_alg_name(d.alg), wharf_digest_hex(&d));
	if (wharf_read_file(path, limit, out, len, err) < 0)
		return -err->code;
	wharf_digest_buffer(d.alg, *out, *len, &got);
	if (!wharf_digest_equal(&d, &got)) {
		free(*out);
		*out = NULL;
		return wharf_error_set(err, WHARF_EDIGEST, "%s: content hashes to %s", path, got.str);
	}
	return 0;
}

static int oci_find(const struct image_source *s, const char *tag, struct wharf_digest *out, struct wharf_error *err)
{
	_cleanup_free_ char *ipath = wharf_xasprintf("%s/index.json", s->dir);
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (wharf_read_file(ipath, WHARF_MANIFEST_MAX, &data, &len, err) < 0)
		return -err->code;
	json_t *idx = NULL;
	if (wharf_json_parse(&idx, data, len, WHARF_MANIFEST_MAX, err) < 0)
		return wharf_error_prefix(err, "%s", ipath);
	json_t *ms = json_object_get(idx, "manifests"), *e, *hit = NULL;
	size_t i;
	json_array_foreach(ms, i, e) {
		const char *name = json_string_value(json_object_get(json_object_get(e, "annotations"),
								     "org.opencontainers.image.ref.name"));
		if (tag ? (name && !strcmp(name, tag)) : json_array_size(ms) == 1)
			hit = e;
	}
	int r;
	if (!hit)
		r = tag ? wharf_error_set(err, WHARF_ENOTFOUND, "%s: no image tagged %s", ipath, tag)
			: wharf_error_set(err, WHARF_EINVAL, "%s: %zu images; name one as oci:DIR:TAG", ipath, json_array_size(ms));
	else
		r = wharf_digest_parse(out, json_string_value(json_object_get(hit, "digest")), err);
	json_decref(idx);
	return r;
}

static int oci_open(struct image_source *s, const char *spec, const struct wharf_scan_opts *o, struct wharf_error *err)
{
	/* oci:DIR[:TAG]: the tag is what follows the last ':' unless that names a directory. */
	const char *colon = strrchr(spec, ':');
	_cleanup_free_ char *tag = NULL;
	s->dir = wharf_xstrdup(spec);
	if (colon && !strchr(colon, '/')) {
		_cleanup_free_ char *d = wharf_xasprintf("%s/index.json", spec);
		if (access(d, F_OK) != 0) {
			s->dir[colon - spec] = 0;
			tag = wharf_xstrdup(colon + 1);
		}
	}
	s->kind = SRC_OCI;
	struct wharf_digest d;
	if (oci_find(s, tag, &d, err) < 0)
		return -err->code;
	for (int depth = 0; depth < 2; depth++) {
		_cleanup_free_ char *m = NULL;
		size_t len;
		if (oci_read_blob(s, d.str, WHARF_MANIFEST_MAX, &m, &len, err) < 0)
			return -err->code;
		json_t *j = NULL;
		if (wharf_json_parse(&j, m, len, WHARF_MANIFEST_MAX, err) < 0)
			return wharf_error_prefix(err, "manifest %s", d.str);
		bool idx = is_index(j);
		int r = idx ? pick_platform(j, o->platform_os, o->platform_arch, &d, err) : 0;
		json_decref(j);
		if (r < 0)
			return r;
		if (idx)
			continue;
		s->manifest_digest = wharf_xstrdup(d.str);
		if (image_source_set_manifest(s, m, len, err) < 0)
			return wharf_error_prefix(err, "%s", d.str);
		if (tag)
			s->repo_tags = wharf_xstrdup(tag);
		return oci_read_blob(s, s->config_digest, CONFIG_MAX, &s->config, &s->config_len, err);
	}
	return wharf_error_set(err, WHARF_EINVAL, "%s: an index inside an index inside an index", spec);
}

/* ---- docker-archive ---- */

static int archive_open(const char *file, struct archive **out, struct wharf_error *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, file, 1 << 16) != ARCHIVE_OK) {
		int r = wharf_error_set(err, WHARF_EINVAL, "%s: %s", file, archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*out = a;
	return 0;
}

static char *normalized_entry(struct archive_entry *e)
{
	const char *n = archive_entry_pathname(e);
	char buf[4096];
	if (!n || wharf_scan_normalize_path(n, buf, sizeof(buf), NULL) < 0)
		return NULL;
	return wharf_xstrdup(buf);
}

/* The bytes of entry path in the archive (at most limit). */
static int archive_slurp(const char *file, const char *path, size_t limit, char **out, size_t *len, struct wharf_error *err)
{
	struct archive *a = NULL;
	if (archive_open(file, &a, err) < 0)
		return -err->code;
	struct archive_entry *e;
	int r = wharf_error_set(err, WHARF_ENOTFOUND, "%s: no entry %s", file, path);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		_cleanup_free_ char *n = normalized_entry(e);
		if (!n || strcmp(n, path))
			continue;
		int64_t sz = archive_entry_size(e);
		if (sz < 0 || (uint64_t)sz > limit) {
			r = wharf_error_set(err, WHARF_ETOOBIG, "%s: %s is larger than %zu bytes", file, path, limit);
			break;
		}
		char *buf = wharf_xmalloc((size_t)sz + 1);
		la_ssize_t got = archive_read_data(a, buf, (size_t)sz);
		if (got != (la_ssize_t)sz) {
			free(buf);
			r = wharf_error_set(err, WHARF_EINVAL, "%s: %s is truncated", file, path);
			break;
		}
		buf[sz] = 0;
		*out = buf;
		*len = (size_t)sz;
		r = 0;
		break;
	}
	archive_read_free(a);
	return r;
}

static int archive_manifest(struct image_source *s, const char *data, size_t len, struct wharf_error *err)
{
	json_t *m = NULL;
	if (wharf_json_parse(&m, data, len, WHARF_MANIFEST_MAX, err) < 0)
		return wharf_error_prefix(err, "%s: manifest.json", s->dir);
	json_t *img = json_array_get(m, 0);
	json_t *layers = json_object_get(img, "Layers");
	const char *config = json_string_value(json_object_get(img, "Config"));
	int r = 0;
	if (json_array_size(m) != 1 || !config || !json_is_array(layers) || json_array_size(layers) > 4096)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: manifest.json must describe one image with Config and Layers",
				    s->dir);
	const char *tag = json_string_value(json_array_get(json_object_get(img, "RepoTags"), 0));
	if (tag)
		s->repo_tags = wharf_xstrdup(tag);
	char buf[4096];
	if (r == 0 && wharf_scan_normalize_path(config, buf, sizeof(buf), err) < 0)
		r = wharf_error_prefix(err, "%s: manifest.json Config", s->dir);
	if (r == 0) {
		s->config_path = wharf_xstrdup(buf);
		s->nlayers = json_array_size(layers);
		s->layers = wharf_xcalloc(s->nlayers ? s->nlayers : 1, sizeof(*s->layers));
	}
	for (size_t i = 0; r == 0 && i < s->nlayers; i++) {
		const char *p = json_string_value(json_array_get(layers, i));
		if (!p || wharf_scan_normalize_path(p, buf, sizeof(buf), err) < 0)
			r = wharf_error_set(err, WHARF_EINVAL, "%s: manifest.json layer %zu is not a path", s->dir, i);
		else
			s->layers[i].archive_path = wharf_xstrdup(buf);
	}
	json_decref(m);
	return r;
}

/* "blobs/sha256/<hex>" names its digest; a legacy "<id>/layer.tar" does not. */
static char *digest_of_path(const char *path)
{
	struct wharf_digest d;
	if (!wharf_str_has_prefix(path, "blobs/sha256/"))
		return NULL;
	_cleanup_free_ char *s = wharf_xasprintf("sha256:%s", path + 13);
	return wharf_digest_parse(&d, s, NULL) == 0 ? wharf_xstrdup(d.str) : NULL;
}

static int archive_src_open(struct image_source *s, const char *file, struct wharf_error *err)
{
	s->kind = SRC_ARCHIVE;
	s->dir = wharf_xstrdup(file);
	_cleanup_free_ char *m = NULL;
	size_t len;
	if (archive_slurp(file, "manifest.json", WHARF_MANIFEST_MAX, &m, &len, err) < 0)
		return -err->code;
	if (archive_manifest(s, m, len, err) < 0)
		return -err->code;
	if (archive_slurp(file, s->config_path, CONFIG_MAX, &s->config, &s->config_len, err) < 0)
		return -err->code;
	struct wharf_digest cd;
	wharf_digest_buffer(WHARF_SHA256, s->config, s->config_len, &cd);
	s->config_digest = wharf_xstrdup(cd.str);
	for (size_t i = 0; i < s->nlayers; i++)
		s->layers[i].digest = digest_of_path(s->layers[i].archive_path); /* NULL: the diff ID, later */
	return 0;
}

struct archive_reader {
	struct archive *a;
	const char *file;
};

static ssize_t archive_entry_read(void *ctx, void *buf, size_t len, struct wharf_error *err)
{
	struct archive_reader *ar = ctx;
	la_ssize_t n = archive_read_data(ar->a, buf, len);
	if (n < 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: %s", ar->file, archive_error_string(ar->a));
	return n;
}

int image_source_archive_layers(struct image_source *s, struct layer_job *jobs, size_t njobs, struct wharf_error *err)
{
	struct archive *a = NULL;
	if (archive_open(s->dir, &a, err) < 0)
		return -err->code;
	struct archive_reader ar = {.a = a, .file = s->dir};
	struct archive_entry *e;
	size_t done = 0;
	int r = 0;
	while (r == 0 && done < njobs && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		_cleanup_free_ char *n = normalized_entry(e);
		for (size_t j = 0; n && r == 0 && j < njobs; j++) {
			struct layer_job *job = &jobs[j];
			if (job->done || strcmp(n, s->layers[job->index].archive_path))
				continue;
			job->in.read = archive_entry_read;
			job->in.ctx = &ar;
			r = layer_job_run(job, err);
			done++;
			break; /* the entry's data is consumed; duplicates need their own entry */
		}
	}
	archive_read_free(a);
	for (size_t j = 0; r == 0 && j < njobs; j++)
		if (!jobs[j].done)
			r = wharf_error_set(err, WHARF_ENOTFOUND, "%s: layer %s is not in the archive", s->dir,
					    s->layers[jobs[j].index].archive_path);
	return r;
}

/* ---- registry ---- */

static bool is_loopback(const char *host)
{
	return wharf_str_has_prefix(host, "127.0.0.1") || wharf_str_has_prefix(host, "localhost") ||
	       wharf_str_has_prefix(host, "[::1]");
}

static int fetch_small_blob(const struct image_source *s, const char *digest, uint64_t size, char **out, size_t *len,
			    struct wharf_error *err)
{
	struct wharf_digest d;
	if (wharf_digest_parse(&d, digest, err) < 0)
		return -err->code;
	if (size > CONFIG_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "config %s is larger than %u bytes", digest, CONFIG_MAX);
	_cleanup_close_ int fd = memfd_create("wharf-config", MFD_CLOEXEC);
	if (fd < 0)
		return wharf_error_sys(err, "memfd_create");
	if (wharf_registry_get_blob(s->base, s->repo, &d, size, fd, NULL, NULL, err) < 0)
		return -err->code;
	char *buf = wharf_xmalloc(size + 1);
	if (pread(fd, buf, size, 0) != (ssize_t)size) {
		free(buf);
		return wharf_error_sys(err, "reading config %s back", digest);
	}
	buf[size] = 0;
	*out = buf;
	*len = size;
	return 0;
}

static int registry_open(struct image_source *s, const char *spec, const struct wharf_scan_opts *o,
			 struct wharf_error *err)
{
	s->kind = SRC_REGISTRY;
	struct wharf_oci_ref ref = {0};
	if (wharf_oci_ref_parse(&ref, spec, err) < 0)
		return wharf_error_prefix(err, "docker://%s", spec);
	int r = 0;
	if (!ref.registry)
		r = wharf_error_set(err, WHARF_EINVAL, "docker://%s: name the registry (docker://HOST[:PORT]/REPO:TAG)", spec);
	if (r == 0) {
		s->base = wharf_xasprintf("%s://%s", is_loopback(ref.registry) ? "http" : "https", ref.registry);
		s->repo = wharf_xstrdup(ref.repository);
		if (ref.tag)
			s->repo_tags = wharf_xasprintf("%s:%s", ref.repository, ref.tag);
	}
	struct wharf_buf body;
	wharf_buf_init(&body);
	char *ct = NULL;
	if (r == 0 && ref.has_digest)
		r = wharf_registry_get_manifest_verified(s->base, s->repo, &ref.digest, UINT64_MAX, &body, &ct, err);
	else if (r == 0)
		r = wharf_registry_get_manifest(s->base, s->repo, ref.tag ? ref.tag : "latest", WHARF_MANIFEST_MAX, &body,
						&ct, err);
	json_t *j = NULL;
	struct wharf_digest d;
	if (r == 0)
		wharf_digest_buffer(WHARF_SHA256, body.data, body.len, &d);
	if (r == 0 && ref.has_digest)
		d = ref.digest;
	if (r == 0 && wharf_json_parse(&j, body.data, body.len, WHARF_MANIFEST_MAX, err) < 0)
		r = -err->code;
	if (r == 0 && is_index(j)) {
		r = pick_platform(j, o->platform_os, o->platform_arch, &d, err);
		free(ct);
		ct = NULL;
		body.len = 0;
		if (r == 0)
			r = wharf_registry_get_manifest_verified(s->base, s->repo, &d, UINT64_MAX, &body, &ct, err);
	}
	json_decref(j);
	free(ct);
	if (r == 0) {
		s->manifest_digest = wharf_xstrdup(d.str);
		r = image_source_set_manifest(s, body.data, body.len, err);
	}
	wharf_buf_free(&body);
	wharf_oci_ref_free(&ref);
	return r;
}

/* The config, after the manifest gave its digest and size. */
static int registry_config(struct image_source *s, uint64_t size, struct wharf_error *err)
{
	return fetch_small_blob(s, s->config_digest, size, &s->config, &s->config_len, err);
}

struct pipe_feed {
	struct image_source *s;
	struct wharf_digest d;
	uint64_t size;
	int fd;
	int r;
	struct wharf_error err;
};

static void *feed_thread(void *arg)
{
	struct pipe_feed *f = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* a reader that stops early gives EPIPE, not a signal */
	f->r = wharf_registry_get_blob(f->s->base, f->s->repo, &f->d, f->size, f->fd, NULL, NULL, &f->err);
	close(f->fd);
	return NULL;
}

struct fd_reader {
	int fd;
	const char *what;
};

ssize_t image_source_fd_read(void *ctx, void *buf, size_t len, struct wharf_error *err)
{
	struct fd_reader *r = ctx;
	for (;;) {
		ssize_t n = read(r->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return wharf_error_sys(err, "reading %s", r->what);
	}
}

static int registry_layer(struct image_source *s, struct layer_job *job, struct wharf_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return wharf_error_sys(err, "pipe");
	struct pipe_feed f = {.s = s, .size = s->layers[job->index].size, .fd = p[1]};
	if (wharf_digest_parse(&f.d, s->layers[job->index].digest, err) < 0) {
		close(p[0]);
		close(p[1]);
		return -err->code;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, feed_thread, &f) != 0) {
		close(p[0]);
		close(p[1]);
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot start a download thread");
	}
	struct fd_reader rd = {.fd = p[0], .what = s->layers[job->index].digest};
	job->in.read = image_source_fd_read;
	job->in.ctx = &rd;
	int r = layer_job_run(job, err);
	close(p[0]); /* the writer, if still going, now fails with EPIPE */
	pthread_join(t, NULL);
	if (r == 0 && f.r < 0) {
		*err = f.err;
		r = f.r;
	}
	return r;
}

static int oci_layer(struct image_source *s, struct layer_job *job, struct wharf_error *err)
{
	struct wharf_digest d;
	if (wharf_digest_parse(&d, s->layers[job->index].digest, err) < 0)
		return -err->code;
	_cleanup_free_ char *path = wharf_xasprintf("%s/blobs/%s/%s", s->dir, wharf_digest_alg_name(d.alg), wharf_digest_hex(&d));
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return wharf_error_sys(err, "layer %s: cannot open %s", d.str, path);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct fd_reader rd = {.fd = fd, .what = path};
	job->in.read = image_source_fd_read;
	job->in.ctx = &rd;
	return layer_job_run(job, err);
}

int image_source_read_layers(struct image_source *s, struct layer_job *jobs, size_t njobs, struct wharf_error *err)
{
	if (s->kind == SRC_ARCHIVE)
		return image_source_archive_layers(s, jobs, njobs, err);
	for (size_t j = 0; j < njobs; j++) {
		int r = s->kind == SRC_OCI ? oci_layer(s, &jobs[j], err) : registry_layer(s, &jobs[j], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int image_source_open(struct image_source *s, const char *ref, const struct wharf_scan_opts *o, struct wharf_error *err)
{
	s->artifact = wharf_xstrdup(ref);
	if (wharf_str_has_prefix(ref, "oci:"))
		return oci_open(s, ref + 4, o, err);
	if (wharf_str_has_prefix(ref, "docker-archive:"))
		return archive_src_open(s, ref + 15, err);
	if (wharf_str_has_prefix(ref, "docker://")) {
		if (registry_open(s, ref + 9, o, err) < 0)
			return -err->code;
		return registry_config(s, s->config_size, err);
	}
	return wharf_error_set(err, WHARF_EINVAL,
			       "%s: name the image as oci:DIR[:TAG], docker-archive:FILE or docker://HOST/REPO[:TAG|@DIGEST]", ref);
}
