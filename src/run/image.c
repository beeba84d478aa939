/* The image config: the parts `wharf run` uses (Env, Entrypoint, Cmd, WorkingDir, User, diff IDs). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "wharf/run.h"

/* Here rather than in unpack.c: the run path of a cached image needs it, and not libarchive. */
void wharf_chain_id(const struct wharf_digest *diff_ids, size_t n, struct wharf_digest *out)
{
	*out = diff_ids[0];
	for (size_t i = 1; i < n; i++) {
		_cleanup_free_ char *s = wharf_xasprintf("%s %s", out->str, diff_ids[i].str);
		wharf_digest_buffer(WHARF_SHA256, s, strlen(s), out);
	}
}

static int str_array(const json_t *v, const char *field, struct wharf_strv *out, struct wharf_error *err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return wharf_error_set(err, WHARF_EINVAL, "image config: %s is not an array of strings", field);
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return wharf_error_set(err, WHARF_EINVAL, "image config: %s[%zu] is not a string", field, i);
		wharf_strv_push(out, json_string_value(x));
	}
	return 0;
}

static int opt_string(const json_t *v, const char *field, char **out, struct wharf_error *err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return wharf_error_set(err, WHARF_EINVAL, "image config: %s is not a string", field);
	if (*json_string_value(v))
		*out = wharf_xstrdup(json_string_value(v));
	return 0;
}

static int diff_ids(const json_t *root, struct wharf_image_config *c, struct wharf_error *err)
{
	const json_t *ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids");
	if (!json_is_array(ids))
		return wharf_error_set(err, WHARF_EINVAL, "image config: rootfs.diff_ids is missing or not an array");
	c->n_diff_ids = json_array_size(ids);
	c->diff_ids = wharf_xcalloc(c->n_diff_ids ? c->n_diff_ids : 1, sizeof(*c->diff_ids));
	for (size_t i = 0; i < c->n_diff_ids; i++) {
		const char *s = json_string_value(json_array_get(ids, i));
		if (!s || wharf_digest_parse(&c->diff_ids[i], s, err) < 0)
			return wharf_error_set(err, WHARF_EINVAL, "image config: rootfs.diff_ids[%zu] is not a digest", i);
	}
	return 0;
}

int wharf_image_config_parse(struct wharf_image_config *c, const char *data, size_t len, struct wharf_error *err)
{
	memset(c, 0, sizeof(*c));
	if (len > WHARF_IMAGE_CONFIG_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "image config: %zu bytes, more than the limit of %u", len,
				       WHARF_IMAGE_CONFIG_MAX);
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return wharf_error_set(err, WHARF_EINVAL, "image config: not a JSON object (%s)", root ? "" : je.text);
	}
	const json_t *cfg = json_object_get(root, "config");
	int r = 0;
	if (cfg && !json_is_null(cfg) && !json_is_object(cfg))
		r = wharf_error_set(err, WHARF_EINVAL, "image config: config is not an object");
	if (r == 0)
		r = str_array(json_object_get(cfg, "Env"), "config.Env", &c->env, err);
	if (r == 0)
		r = str_array(json_object_get(cfg, "Entrypoint"), "config.Entrypoint", &c->entrypoint, err);
	if (r == 0)
		r = str_array(json_object_get(cfg, "Cmd"), "config.Cmd", &c->cmd, err);
	if (r == 0)
		r = opt_string(json_object_get(cfg, "WorkingDir"), "config.WorkingDir", &c->working_dir, err);
	if (r == 0)
		r = opt_string(json_object_get(cfg, "User"), "config.User", &c->user, err);
	if (r == 0)
		r = diff_ids(root, c, err);
	json_decref(root);
	if (r < 0)
		wharf_image_config_free(c);
	return r;
}

void wharf_image_config_free(struct wharf_image_config *c)
{
	wharf_strv_free(&c->env);
	wharf_strv_free(&c->entrypoint);
	wharf_strv_free(&c->cmd);
	free(c->working_dir);
	free(c->user);
	free(c->diff_ids);
	memset(c, 0, sizeof(*c));
}

/* A file of the image's root file system, read with every path component resolved inside it. */
static int read_in_root(const char *rootfs, const char *path, char **out, size_t *len, struct wharf_error *err)
{
	_cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return wharf_error_sys(err, "open %s", rootfs);
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, rfd, path, &how, sizeof(how));
	if (fd < 0)
		return errno == ENOENT ? wharf_error_set(err, WHARF_ENOTFOUND, "the image has no %s", path)
				       : wharf_error_sys(err, "open %s in the image", path);
	struct wharf_buf b;
	wharf_buf_init(&b);
	char tmp[8192];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		wharf_buf_append(&b, tmp, (size_t)n);
		if (b.len > (4u << 20)) {
			wharf_buf_free(&b);
			return wharf_error_set(err, WHARF_ETOOBIG, "%s in the image is larger than 4 MiB", path);
		}
	}
	*len = b.len;
	*out = b.data ? wharf_buf_steal(&b) : wharf_xstrdup("");
	return 0;
}

/* The id of name in an /etc/passwd- or /etc/group-style file (field 3). */
static int lookup_id(const char *rootfs, const char *file, const char *name, uint32_t *id, uint32_t *gid,
		     struct wharf_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = read_in_root(rootfs, file, &data, &len, err);
	if (r < 0)
		return r;
	size_t nl = strlen(name);
	for (char *save = NULL, *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, name, nl) || line[nl] != ':')
			continue;
		unsigned long u, g = 0;
		char *p = strchr(line + nl + 1, ':');
		if (!p || sscanf(p + 1, "%lu:%lu", &u, &g) < 1)
			break;
		*id = (uint32_t)u;
		if (gid)
			*gid = (uint32_t)g;
		return 0;
	}
	return wharf_error_set(err, WHARF_ENOTFOUND, "user or group '%s' is not in the image's %s", name, file);
}

static bool numeric(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!wharf_parse_u64(s, strlen(s), &v) || v >= WHARF_USERNS_SIZE)
		return false;
	*out = (uint32_t)v;
	return true;
}

int wharf_user_resolve(const char *rootfs, const char *spec, uint32_t *uid, uint32_t *gid, struct wharf_error *err)
{
	*uid = *gid = 0;
	if (!spec || !*spec)
		return 0;
	_cleanup_free_ char *u = wharf_xstrdup(spec);
	char *g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	int r = 0;
	uint32_t pw_gid = 0;
	if (!numeric(u, uid)) {
		r = lookup_id(rootfs, "/etc/passwd", u, uid, &pw_gid, err);
		if (r == 0 && *uid >= WHARF_USERNS_SIZE)
			r = wharf_error_set(err, WHARF_EINVAL, "user %s has uid %u, outside the container's 65536 ids", u, *uid);
		*gid = pw_gid;
	}
	if (r == 0 && g && !numeric(g, gid))
		r = lookup_id(rootfs, "/etc/group", g, gid, NULL, err);
	return r;
}
