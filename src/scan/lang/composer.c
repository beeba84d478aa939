/* PHP: composer.lock, the "packages" and "packages-dev" arrays of {"name": "vendor/name",
 * "version": "v1.2.3"}. Versions are reported as written (Composer keeps a leading "v" when the
 * tag had one; Packagist advisories are matched after normalisation by vulndb). */
#include <jansson.h>
#include <string.h>

#include "wharf/json.h"

#include "lang_internal.h"

#define COMPOSER_LOCK_MAX (32u << 20)

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}

static int wants(const char *path, mode_t mode, uint64_t size)
{
	(void)mode;
	return size <= COMPOSER_LOCK_MAX && strcmp(lang_basename(path), "composer.lock") == 0;
}

static void add_array(const char *path, json_t *arr, struct wharf_pkg_list *out)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *version = json_string_value(json_object_get(v, "version"));
		lang_pkg_add(out, WHARF_ECO_COMPOSER, path, "composer", NULL, name, version);
	}
}

static int parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		 struct wharf_error *err)
{
	_cleanup_(json_decref_p) json_t *root = NULL;
	int r = wharf_json_parse(&root, (const char *)data, len, COMPOSER_LOCK_MAX, err);
	if (r < 0)
		return wharf_error_prefix(err, "composer.lock %s", path);
	if (!json_is_object(root))
		return wharf_error_set(err, WHARF_EINVAL, "composer.lock %s: top level is not an object", path);
	add_array(path, json_object_get(root, "packages"), out);
	add_array(path, json_object_get(root, "packages-dev"), out);
	return 0;
}

const struct wharf_cataloger wharf_cataloger_composer = {
	.name = "composer",
	.max_size = COMPOSER_LOCK_MAX,
	.wants = wants,
	.parse = parse,
};
