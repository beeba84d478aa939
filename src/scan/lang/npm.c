/* npm: package-lock.json / npm-shrinkwrap.json (lockfile versions 1, 2 and 3) and the
 * package.json of every installed package under node_modules/.
 *
 * Double counting: a lock file reports what it locks, with the lock's path; an installed
 * node_modules/.../package.json reports itself with its own path. The same name@version can
 * therefore appear once per file that records it (as in Trivy), never twice from one file: a
 * v1 lock that nests one name@version at several places reports it once. The hidden lock
 * node_modules/.package-lock.json is not read, since it only repeats node_modules. */
#include <jansson.h>
#include <string.h>

#include "wharf/json.h"

#include "lang_internal.h"

#define NPM_LOCK_MAX (64u << 20)
#define NPM_PACKAGE_MAX (4u << 20)
#define NPM_V1_DEPTH 24

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}

/* A scoped name "@scope/name" needs no splitting: its purl is pkg:npm/%40scope/name@version. */
static void add_npm(struct wharf_pkg_list *out, const char *path, const char *name, const char *version)
{
	lang_pkg_add(out, WHARF_ECO_NPM, path, "npm", NULL, name, version);
}

static bool seen(const struct wharf_pkg_list *out, size_t from, const char *name, const char *version)
{
	for (size_t i = from; i < out->n; i++)
		if (strcmp(out->v[i].name, name) == 0 && strcmp(out->v[i].version, version) == 0)
			return true;
	return false;
}

static void add_once(struct wharf_pkg_list *out, size_t from, const char *path, const char *name,
		     const char *version)
{
	if (name && version && !seen(out, from, name, version))
		add_npm(out, path, name, version);
}

/* v2/v3: "packages": {"": root, "node_modules/a": {...}, "node_modules/a/node_modules/@s/b": {...}} */
static void lock_packages(const char *path, json_t *packages, struct wharf_pkg_list *out, size_t from)
{
	const char *key;
	json_t *v;
	json_object_foreach(packages, key, v) {
		const char *nm = NULL;
		for (const char *p = key; (p = strstr(p, "node_modules/")) != NULL; p += 13)
			if (p == key || p[-1] == '/')
				nm = p + 13;
		if (!nm || !*nm || !json_is_object(v))
			continue; /* the root "" and workspace folders are the application itself */
		if (json_is_true(json_object_get(v, "link")))
			continue; /* a symlink to a workspace folder, not an installed package */
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *version = json_string_value(json_object_get(v, "version"));
		add_once(out, from, path, name ? name : nm, version);
	}
}

/* v1: "dependencies": {"a": {"version": .., "dependencies": {...}}} nested. */
static void lock_deps_v1(const char *path, json_t *deps, int depth, struct wharf_pkg_list *out, size_t from)
{
	if (!json_is_object(deps) || depth > NPM_V1_DEPTH)
		return;
	const char *key;
	json_t *v;
	json_object_foreach(deps, key, v) {
		if (!json_is_object(v))
			continue;
		const char *version = json_string_value(json_object_get(v, "version"));
		add_once(out, from, path, key, version);
		lock_deps_v1(path, json_object_get(v, "dependencies"), depth + 1, out, from);
	}
}

static int parse_lock(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		      struct wharf_error *err)
{
	_cleanup_(json_decref_p) json_t *root = NULL;
	int r = wharf_json_parse(&root, (const char *)data, len, NPM_LOCK_MAX, err);
	if (r < 0)
		return wharf_error_prefix(err, "npm lock file %s", path);
	if (!json_is_object(root))
		return wharf_error_set(err, WHARF_EINVAL, "npm lock file %s: top level is not an object", path);
	size_t from = out->n;
	json_t *packages = json_object_get(root, "packages");
	if (json_is_object(packages)) {
		lock_packages(path, packages, out, from);
		return 0;
	}
	lock_deps_v1(path, json_object_get(root, "dependencies"), 0, out, from);
	return 0;
}

static int wants_lock(const char *path, mode_t mode, uint64_t size)
{
	(void)mode;
	const char *base = lang_basename(path);
	if (size > NPM_LOCK_MAX || lang_path_has_dir(path, "node_modules"))
		return 0;
	return strcmp(base, "package-lock.json") == 0 || strcmp(base, "npm-shrinkwrap.json") == 0;
}

const struct wharf_cataloger wharf_cataloger_npm_lock = {
	.name = "npm-lock",
	.max_size = NPM_LOCK_MAX,
	.wants = wants_lock,
	.parse = parse_lock,
};

/* node_modules/<name>/package.json or node_modules/@scope/<name>/package.json: only the
 * manifest of the package folder itself, not package.json files deeper inside a package. */
static int wants_package(const char *path, mode_t mode, uint64_t size)
{
	(void)mode;
	if (size > NPM_PACKAGE_MAX || strcmp(lang_basename(path), "package.json") != 0)
		return 0;
	const char *nm = NULL;
	for (const char *p = path; (p = strstr(p, "node_modules/")) != NULL; p += 13)
		if (p == path || p[-1] == '/')
			nm = p + 13;
	if (!nm)
		return 0;
	const char *rest = nm;
	if (*rest == '@') {
		rest = strchr(rest, '/');
		if (!rest)
			return 0;
		rest++;
	}
	const char *slash = strchr(rest, '/');
	return slash && slash > rest && strcmp(slash, "/package.json") == 0;
}

static int parse_package(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			 struct wharf_error *err)
{
	_cleanup_(json_decref_p) json_t *root = NULL;
	int r = wharf_json_parse(&root, (const char *)data, len, NPM_PACKAGE_MAX, err);
	if (r < 0)
		return wharf_error_prefix(err, "npm package.json %s", path);
	if (!json_is_object(root))
		return wharf_error_set(err, WHARF_EINVAL, "npm package.json %s: top level is not an object", path);
	const char *name = json_string_value(json_object_get(root, "name"));
	const char *version = json_string_value(json_object_get(root, "version"));
	if (name && version)
		add_npm(out, path, name, version);
	return 0;
}

const struct wharf_cataloger wharf_cataloger_npm_package = {
	.name = "npm-package",
	.max_size = NPM_PACKAGE_MAX,
	.wants = wants_package,
	.parse = parse_package,
};
