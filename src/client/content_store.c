/* The local content store: an OCI image layout under one directory. Blobs are written only
 * whole and verified (temp file under ingest/, fsync, rename, fsync of the directory), and
 * index.json is replaced atomically, so a crash or a bad download leaves the layout as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <jansson.h>

#include "wharf/client.h"

#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
#define INDEX_MAX (64u * 1024 * 1024)
#define REF_NAME "org.opencontainers.image.ref.name"

struct wharf_content_store {
	char *root;
};

int wharf_content_store_open(struct wharf_content_store **out, const char *root, struct wharf_error *err)
{
	_cleanup_free_ char *blobs = wharf_xasprintf("%s/blobs/sha256", root);
	_cleanup_free_ char *ingest = wharf_xasprintf("%s/ingest", root);
	_cleanup_free_ char *layout = wharf_xasprintf("%s/oci-layout", root);
	int r = wharf_mkdir_p(blobs, 0755, err);
	if (r == 0)
		r = wharf_mkdir_p(ingest, 0700, err);
	if (r == 0 && access(layout, F_OK) != 0)
		r = wharf_atomic_write(layout, LAYOUT_FILE, strlen(LAYOUT_FILE), 0644, err);
	if (r < 0)
		return wharf_error_prefix(err, "content store %s", root);
	struct wharf_content_store *cs = wharf_xcalloc(1, sizeof(*cs));
	cs->root = wharf_xstrdup(root);
	*out = cs;
	return 0;
}

void wharf_content_store_free(struct wharf_content_store *cs)
{
	if (!cs)
		return;
	free(cs->root);
	free(cs);
}

const char *wharf_content_store_root(const struct wharf_content_store *cs)
{
	return cs->root;
}

char *wharf_content_store_blob_path(const struct wharf_content_store *cs, const struct wharf_digest *d)
{
	return wharf_xasprintf("%s/blobs/%s/%s", cs->root, wharf_digest_alg_name(d->alg), wharf_digest_hex(d));
}

bool wharf_content_store_has(const struct wharf_content_store *cs, const struct wharf_digest *d, uint64_t size)
{
	_cleanup_free_ char *path = wharf_content_store_blob_path(cs, d);
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

static char *alg_dir(const struct wharf_content_store *cs, const struct wharf_digest *d, struct wharf_error *err)
{
	char *dir = wharf_xasprintf("%s/blobs/%s", cs->root, wharf_digest_alg_name(d->alg));
	if (wharf_mkdir_p(dir, 0755, err) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

int wharf_content_store_put(struct wharf_content_store *cs, const struct wharf_digest *d, const void *data,
			    size_t len, struct wharf_error *err)
{
	struct wharf_digest got;
	wharf_digest_buffer(d->alg, data, len, &got);
	if (!wharf_digest_equal(&got, d))
		return wharf_error_set(err, WHARF_EDIGEST, "blob %s: its bytes hash to %s", d->str, got.str);
	if (wharf_content_store_has(cs, d, len))
		return 0;
	_cleanup_free_ char *dir = alg_dir(cs, d, err);
	if (!dir)
		return -err->code;
	_cleanup_free_ char *path = wharf_content_store_blob_path(cs, d);
	return wharf_atomic_write(path, data, len, 0644, err);
}

/* A fresh temporary file under ingest/, opened for writing. */
static int ingest_open(const struct wharf_content_store *cs, char **path, struct wharf_error *err)
{
	char rnd[17];
	int r = wharf_random_hex(rnd, 8, err);
	if (r < 0)
		return r;
	char *p = wharf_xasprintf("%s/ingest/%s.tmp", cs->root, rnd);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = wharf_error_sys(err, "cannot create %s", p);
		free(p);
		return r;
	}
	*path = p;
	return fd;
}

int wharf_content_store_fetch(struct wharf_content_store *cs, const char *base, const char *repo,
			      const struct wharf_digest *d, uint64_t size, wharf_progress_fn progress,
			      void *progress_ctx, bool *fetched, struct wharf_error *err)
{
	*fetched = false;
	if (wharf_content_store_has(cs, d, size))
		return 0;
	_cleanup_free_ char *dir = alg_dir(cs, d, err);
	if (!dir)
		return -err->code;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = ingest_open(cs, &tmp, err);
	if (fd < 0)
		return fd;
	int r = wharf_registry_get_blob(base, repo, d, size, fd, progress, progress_ctx, err);
	if (r == 0 && fsync(fd) < 0)
		r = wharf_error_sys(err, "cannot fsync %s", tmp);
	_cleanup_free_ char *path = wharf_content_store_blob_path(cs, d);
	if (r == 0 && rename(tmp, path) < 0)
		r = wharf_error_sys(err, "cannot rename %s to %s", tmp, path);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	*fetched = true;
	return wharf_fsync_dir(dir, err);
}

/* index.json as a JSON object; a missing file is an empty index. */
static int index_load(const struct wharf_content_store *cs, json_t **out, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/index.json", cs->root);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, INDEX_MAX, &data, &len, err);
	if (r == -WHARF_ENOTFOUND) {
		*out = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType", WHARF_MT_OCI_INDEX, "manifests");
		return 0;
	}
	if (r < 0)
		return r;
	json_error_t je;
	json_t *doc = json_loadb(data, len, 0, &je);
	if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "manifests"))) {
		json_decref(doc);
		return wharf_error_set(err, WHARF_EINVAL, "%s: not an OCI image index (%s)", path,
				       doc ? "no manifests array" : je.text);
	}
	*out = doc;
	return 0;
}

static const char *entry_name(const json_t *entry)
{
	return json_string_value(json_object_get(json_object_get(entry, "annotations"), REF_NAME));
}

int wharf_content_store_tag(struct wharf_content_store *cs, const char *name, const char *media_type,
			    const struct wharf_digest *d, uint64_t size, struct wharf_error *err)
{
	/* Two pulls at once must not lose each other's entry: the read-modify-write of index.json
	 * happens under a lock on the layout directory itself (no extra file in the layout). */
	_cleanup_close_ int lock = open(cs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return wharf_error_sys(err, "cannot lock %s", cs->root);
	json_t *doc = NULL;
	int r = index_load(cs, &doc, err);
	if (r < 0)
		return r;
	json_t *list = json_object_get(doc, "manifests");
	for (size_t i = json_array_size(list); i-- > 0;) {
		const char *n = entry_name(json_array_get(list, i));
		if (n && !strcmp(n, name))
			json_array_remove(list, i);
	}
	json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:{s:s}}", "mediaType", media_type, "digest", d->str,
					      "size", (json_int_t)size, "annotations", REF_NAME, name));
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	_cleanup_free_ char *path = wharf_xasprintf("%s/index.json", cs->root);
	r = wharf_atomic_write(path, text, strlen(text), 0644, err);
	free(text);
	return r;
}

int wharf_content_store_lookup(struct wharf_content_store *cs, const char *name, struct wharf_digest *out,
			       struct wharf_error *err)
{
	json_t *doc = NULL;
	int r = index_load(cs, &doc, err);
	if (r < 0)
		return r;
	r = wharf_error_set(err, WHARF_ENOTFOUND, "%s: no image named %s", cs->root, name);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "manifests"), i, e) {
		const char *n = entry_name(e);
		const char *dg = json_string_value(json_object_get(e, "digest"));
		if (n && dg && !strcmp(n, name)) {
			r = wharf_digest_parse(out, dg, err);
			break;
		}
	}
	json_decref(doc);
	return r;
}
