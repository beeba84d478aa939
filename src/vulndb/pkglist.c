/* A package list as JSON, for `wharf db match`: matching without an image (an inventory from
 * elsewhere, or tests). */
#include <string.h>

#include "internal.h"

#define PKGLIST_MAX_FILE (64u << 20)
#define PKGLIST_MAX_FIELD 4096

static int field(const json_t *o, const char *key, bool required, char **out, const char *name, size_t i,
		 struct wharf_error *err)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return wharf_error_set(err, WHARF_EINVAL, "%s: packages[%zu] needs \"%s\"", name, i, key);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > PKGLIST_MAX_FIELD)
		return wharf_error_set(err, WHARF_EINVAL, "%s: packages[%zu].%s must be a non-empty string of at most %d bytes",
				       name, i, key, PKGLIST_MAX_FIELD);
	*out = wharf_xstrdup(s);
	return 0;
}

static int load_os(const json_t *os, struct wharf_os *out, const char *name, struct wharf_error *err)
{
	if (!os || json_is_null(os))
		return 0;
	if (!json_is_object(os))
		return wharf_error_set(err, WHARF_EINVAL, "%s: \"os\" must be an object", name);
	static const char *const keys[] = {"id", "version_id", "codename"};
	char **dst[] = {&out->id, &out->version_id, &out->codename};
	for (size_t k = 0; k < 3; k++) {
		const json_t *v = json_object_get(os, keys[k]);
		if (!v)
			continue;
		if (!json_is_string(v) || json_string_length(v) > 256)
			return wharf_error_set(err, WHARF_EINVAL, "%s: os.%s must be a short string", name, keys[k]);
		*dst[k] = wharf_xstrdup(json_string_value(v));
	}
	return 0;
}

int wharf_vulndb_load_pkglist(const char *name, const char *data, size_t len, struct wharf_scan_result *r,
			      struct wharf_error *err)
{
	if (len > PKGLIST_MAX_FILE)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: larger than %u bytes", name, PKGLIST_MAX_FILE);
	json_error_t je;
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not valid JSON: %s at line %d", name, je.text, je.line);
	const json_t *pkgs = json_object_get(doc, "packages");
	int rc = json_is_array(pkgs) ? 0 : wharf_error_set(err, WHARF_EINVAL, "%s: needs a \"packages\" array", name);
	if (rc == 0)
		rc = load_os(json_object_get(doc, "os"), &r->os, name, err);
	const char *artifact = json_string_value(json_object_get(doc, "artifact"));
	if (rc == 0 && !r->artifact)
		r->artifact = wharf_xstrdup(artifact ? artifact : name);
	size_t i;
	json_t *p;
	json_array_foreach(rc == 0 ? pkgs : NULL, i, p) {
		if (!json_is_object(p)) {
			rc = wharf_error_set(err, WHARF_EINVAL, "%s: packages[%zu] is not an object", name, i);
			break;
		}
		struct wharf_pkg *pk = wharf_pkg_list_add(&r->pkgs);
		if ((rc = field(p, "ecosystem", true, &pk->ecosystem, name, i, err)) < 0 ||
		    (rc = field(p, "name", true, &pk->name, name, i, err)) < 0 ||
		    (rc = field(p, "version", true, &pk->version, name, i, err)) < 0 ||
		    (rc = field(p, "source_name", false, &pk->source_name, name, i, err)) < 0 ||
		    (rc = field(p, "source_version", false, &pk->source_version, name, i, err)) < 0 ||
		    (rc = field(p, "path", false, &pk->path, name, i, err)) < 0 ||
		    (rc = field(p, "purl", false, &pk->purl, name, i, err)) < 0 ||
		    (rc = field(p, "layer_digest", false, &pk->layer_digest, name, i, err)) < 0 ||
		    (rc = field(p, "layer_diffid", false, &pk->layer_diffid, name, i, err)) < 0)
			break;
	}
	json_decref(doc);
	return rc;
}
