/* TUF specification-format repositories hosted by wharfd, per GUN, under
 * /v2/<gun>/_trust/spec/. The owner signs every role (wharf tuf repo); wharfd checks an upload
 * exactly as a spec client would (it runs the spec client over the stored and uploaded files,
 * trusting what it stored before, or the uploaded 1.root.json on first upload) and serves the
 * files and, as targets, the registry's blobs by hash. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wharf/digest.h"
#include "wharf/store.h"
#include "wharf/trust.h"
#include "wharf/tufspec.h"

#define SPEC_PREFIX "spec:"
#define SPEC_FILES_MAX 64

struct view {
	const struct wharf_tuf_upload *files;
	size_t n;
	struct wharf_trust *t;
	const char *gun;
};

/* A metadata file name as a spec repository names it: letters, digits, '.', '_', '-'. */
bool wharf_trust_spec_valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n < 6 || n > 200 || strcmp(name + n - 5, ".json") != 0 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || strchr("._-", name[i])))
			return false;
	return true;
}

static int stored(struct wharf_trust *t, const char *gun, const char *name, char **data, size_t *len,
		  struct wharf_error *err)
{
	_cleanup_free_ char *role = wharf_xasprintf(SPEC_PREFIX "%s", name);
	return wharf_meta_tuf_get(wharf_trust_meta(t), gun, role, 0, NULL, data, len, NULL, err);
}

/* The spec client's fetch over "mem:/<name>": uploaded files first, then stored ones. */
static int view_fetch(void *ctx, const char *url, size_t limit, struct wharf_buf *out, struct wharf_error *err)
{
	struct view *v = ctx;
	const char *name = wharf_str_has_prefix(url, "mem:/") ? url + 5 : url;
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->files[i].role, name) != 0)
			continue;
		if (v->files[i].len > limit)
			return wharf_error_set(err, WHARF_ETOOBIG, "%s is %zu bytes, over the limit of %zu", name,
					       v->files[i].len, limit);
		wharf_buf_append(out, v->files[i].data, v->files[i].len);
		return 0;
	}
	char *data = NULL;
	size_t len = 0;
	int r = stored(v->t, v->gun, name, &data, &len, err);
	if (r == 0 && len > limit)
		r = wharf_error_set(err, WHARF_ETOOBIG, "%s is %zu bytes, over the limit of %zu", name, len, limit);
	if (r == 0)
		wharf_buf_append(out, data, len);
	free(data);
	return r;
}

/* The trusted state a client would hold: the stored root.json, timestamp.json, snapshot.json
 * and targets.json of the last accepted upload; or, on the first upload, its 1.root.json. */
static int seed_trusted(struct wharf_trust *t, const char *gun, const char *dir, const struct view *v,
			struct wharf_error *err)
{
	static const char *const names[] = {"root.json", "timestamp.json", "snapshot.json", "targets.json"};
	char *data = NULL;
	size_t len = 0;
	int r = stored(t, gun, "trusted/root.json", &data, &len, err);
	if (r == -WHARF_ENOTFOUND) {
		struct wharf_buf first;
		wharf_buf_init(&first);
		r = view_fetch((void *)v, "mem:/1.root.json", WHARF_TUFSPEC_ROOT_MAX, &first, err);
		if (r == 0)
			r = wharf_tufspec_init(dir, first.data, first.len, err);
		else if (r == -WHARF_ENOTFOUND)
			r = wharf_error_set(err, WHARF_EINVAL, "the first upload of %s must include 1.root.json", gun);
		wharf_buf_free(&first);
		return r;
	}
	free(data);
	for (size_t i = 0; r == 0 && i < 4; i++) {
		_cleanup_free_ char *key = wharf_xasprintf("trusted/%s", names[i]);
		if (stored(t, gun, key, &data, &len, NULL) < 0)
			continue;
		_cleanup_free_ char *path = wharf_xasprintf("%s/%s", dir, names[i]);
		r = wharf_atomic_write(path, data, len, 0600, err);
		free(data);
	}
	return r;
}

/* Every target an uploaded delegated role lists must resolve through the delegation tree. */
static int check_delegated(struct wharf_tufspec_client *c, const struct wharf_tuf_upload *f, struct wharf_error *err)
{
	struct wharf_tufspec_meta m;
	int r = wharf_tufspec_parse(&m, "targets", f->role, f->data, f->len, WHARF_TUFSPEC_TARGETS_MAX, err);
	if (r < 0)
		return r;
	const char *name;
	json_t *tgt;
	json_object_foreach(json_object_get(m.signed_obj, "targets"), name, tgt) {
		const json_t *info = NULL;
		const char *role = NULL;
		if ((r = wharf_tufspec_target_info(c, name, &info, &role, err)) < 0)
			break;
	}
	wharf_tufspec_meta_free(&m);
	return r;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = wharf_xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static bool is_top_level(const char *name)
{
	static const char *const kinds[] = {"root.json", "timestamp.json", "snapshot.json", "targets.json"};
	const char *dot = strchr(name, '.');
	const char *base = name;
	if (dot && dot > name && strspn(name, "0123456789") == (size_t)(dot - name))
		base = dot + 1; /* N.role.json */
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(base, kinds[i]))
			return true;
	return false;
}

/* The files to store: the uploads, and the new trusted state the verification produced. */
static int store_upload(struct wharf_trust *t, const char *gun, const struct wharf_tuf_upload *files, size_t n,
			const char *dir, struct wharf_error *err)
{
	static const char *const names[] = {"root.json", "timestamp.json", "snapshot.json", "targets.json"};
	struct wharf_meta_tuf_file out[SPEC_FILES_MAX + 4];
	char *trusted[4] = {0};
	char roles[SPEC_FILES_MAX + 4][256];
	size_t k = 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* One version for everything this upload stores; newer uploads sort after older ones. */
	int64_t version = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	for (size_t i = 0; i < n + 4; i++) {
		const char *data;
		size_t len;
		if (i < n) {
			snprintf(roles[k], sizeof(roles[k]), SPEC_PREFIX "%s", files[i].role);
			data = files[i].data;
			len = files[i].len;
		} else {
			_cleanup_free_ char *path = wharf_xasprintf("%s/%s", dir, names[i - n]);
			if (wharf_read_file(path, WHARF_TUF_FILE_MAX, &trusted[i - n], &len, NULL) < 0)
				continue;
			snprintf(roles[k], sizeof(roles[k]), SPEC_PREFIX "trusted/%s", names[i - n]);
			data = trusted[i - n];
		}
		struct wharf_digest d;
		wharf_digest_buffer(WHARF_SHA256, data, len, &d);
		out[k] = (struct wharf_meta_tuf_file){.role = roles[k], .version = version, .data = data, .len = len};
		snprintf(out[k].sha256, sizeof(out[k].sha256), "%s", wharf_digest_hex(&d));
		k++;
	}
	int r = wharf_meta_tuf_store(wharf_trust_meta(t), gun, out, k, "spec-update", err);
	if (r == -WHARF_EEXIST)
		r = wharf_error_set(err, WHARF_EBUSY, "another upload to %s came in the same second; try again", gun);
	for (size_t i = 0; i < 4; i++)
		free(trusted[i]);
	return r;
}

int wharf_trust_spec_publish(struct wharf_trust *t, const char *gun, const struct wharf_tuf_upload *files,
			     size_t n, struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	if (r < 0)
		return r;
	if (n == 0 || n > SPEC_FILES_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "an upload holds 1 to %d metadata files", SPEC_FILES_MAX);
	for (size_t i = 0; i < n; i++)
		if (!wharf_trust_spec_valid_name(files[i].role))
			return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a metadata file name", files[i].role);
	char dir[] = "/tmp/wharf-spec-XXXXXX";
	if (!mkdtemp(dir))
		return wharf_error_sys(err, "cannot make a scratch directory");
	struct view v = {files, n, t, gun};
	pthread_mutex_t *lock = wharf_trust_gun_lock(t, gun);
	pthread_mutex_lock(lock);
	r = seed_trusted(t, gun, dir, &v, err);
	struct wharf_tufspec_client *c = NULL;
	if (r == 0) {
		struct wharf_tufspec_opts o = {.metadata_dir = dir, .metadata_url = "mem:", .fetch = view_fetch,
					       .fetch_ctx = &v};
		r = wharf_tufspec_refresh(&c, &o, err);
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!is_top_level(files[i].role))
			r = check_delegated(c, &files[i], err);
	wharf_tufspec_client_free(c);
	if (r == 0)
		r = store_upload(t, gun, files, n, dir, err);
	pthread_mutex_unlock(lock);
	remove_tree(dir);
	return r;
}

int wharf_trust_spec_get(struct wharf_trust *t, const char *gun, const char *name, char **data, size_t *len,
			 struct wharf_error *err)
{
	int r = wharf_tuf_check_gun(gun, err);
	if (r < 0)
		return r;
	if (!wharf_trust_spec_valid_name(name))
		return wharf_error_set(err, WHARF_EINVAL, "'%.100s' is not a metadata file name", name);
	return stored(t, gun, name, data, len, err);
}
