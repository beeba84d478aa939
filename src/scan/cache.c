/* The per-layer cache: one JSON file per layer digest and analyzer, written atomically, so a base
 * layer shared by many images is analysed once and a warm scan reads no layer. A cache file that
 * does not parse is treated as absent (the layer is analysed again and the file replaced). */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "scan-internal.h"
#include "wharf/digest.h"
#include "wharf/json.h"

#define CACHE_MAX (512u << 20)

const char *wharf_scan_analyzer_id(void)
{
	static char id[32];
	if (id[0])
		return id;
	/* The catalogers' names: adding one (a new language) makes old entries stale. */
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_printf(&b, "v%d", WHARF_SCAN_ANALYZER_VERSION);
	for (size_t i = 0; wharf_os_catalogers[i]; i++)
		wharf_buf_printf(&b, ",%s", wharf_os_catalogers[i]->name);
	for (size_t i = 0; wharf_lang_catalogers[i]; i++)
		wharf_buf_printf(&b, ",%s", wharf_lang_catalogers[i]->name);
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, b.data, b.len, &d);
	wharf_buf_free(&b);
	snprintf(id, sizeof(id), "a%d-%.12s", WHARF_SCAN_ANALYZER_VERSION, wharf_digest_hex(&d));
	return id;
}

static void put_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static json_t *strv_json(const struct wharf_strv *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *os_json(const struct wharf_os *os)
{
	json_t *o = json_object();
	put_str(o, "id", os->id);
	put_str(o, "version_id", os->version_id);
	put_str(o, "codename", os->codename);
	put_str(o, "pretty_name", os->pretty_name);
	return o;
}

static json_t *pkg_json(const struct wharf_pkg *p)
{
	json_t *o = json_object();
	put_str(o, "ecosystem", p->ecosystem);
	put_str(o, "name", p->name);
	put_str(o, "version", p->version);
	put_str(o, "source_name", p->source_name);
	put_str(o, "source_version", p->source_version);
	put_str(o, "arch", p->arch);
	put_str(o, "path", p->path);
	put_str(o, "purl", p->purl);
	return o;
}

static json_t *secret_json(const struct wharf_secret_finding *s)
{
	json_t *o = json_object();
	put_str(o, "rule_id", s->rule_id);
	put_str(o, "category", s->category);
	put_str(o, "severity", s->severity);
	put_str(o, "title", s->title);
	put_str(o, "path", s->path);
	json_object_set_new(o, "line", json_integer(s->line));
	put_str(o, "match", s->match);
	return o;
}

char *wharf_layer_analysis_to_json(const struct wharf_layer_analysis *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "analyzer", json_string(wharf_scan_analyzer_id()));
	put_str(o, "digest", a->digest);
	put_str(o, "diffid", a->diffid);
	json_object_set_new(o, "compressed_size", json_integer((json_int_t)a->compressed_size));
	json_object_set_new(o, "uncompressed_size", json_integer((json_int_t)a->uncompressed_size));
	json_object_set_new(o, "whiteouts", strv_json(&a->whiteouts));
	json_object_set_new(o, "opaque", strv_json(&a->opaque));
	json_object_set_new(o, "files", strv_json(&a->files));
	json_object_set_new(o, "warnings", strv_json(&a->warnings));
	json_t *pk = json_array();
	for (size_t i = 0; i < a->pkgs.n; i++)
		json_array_append_new(pk, pkg_json(&a->pkgs.v[i]));
	json_object_set_new(o, "packages", pk);
	json_t *os = json_array();
	for (int i = 0; i < 2; i++)
		json_array_append_new(os, a->os_found[i] ? os_json(&a->os[i]) : json_null());
	json_object_set_new(o, "os", os);
	json_t *se = json_array();
	for (size_t i = 0; i < a->secrets.n; i++)
		json_array_append_new(se, secret_json(&a->secrets.v[i]));
	json_object_set_new(o, "secrets", se);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static char *get_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? wharf_xstrdup(s) : NULL;
}

static int get_strv(const json_t *o, const char *k, struct wharf_strv *out)
{
	json_t *a = json_object_get(o, k);
	if (!json_is_array(a))
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return -1;
		wharf_strv_push(out, json_string_value(v));
	}
	return 0;
}

static int from_json(const json_t *o, struct wharf_layer_analysis *a)
{
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "digest")))
		return -1;
	a->digest = get_str(o, "digest");
	a->diffid = get_str(o, "diffid");
	a->compressed_size = (uint64_t)json_integer_value(json_object_get(o, "compressed_size"));
	a->uncompressed_size = (uint64_t)json_integer_value(json_object_get(o, "uncompressed_size"));
	if (get_strv(o, "whiteouts", &a->whiteouts) || get_strv(o, "opaque", &a->opaque) ||
	    get_strv(o, "files", &a->files) || get_strv(o, "warnings", &a->warnings))
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, "packages"), i, v) {
		struct wharf_pkg *p = wharf_pkg_list_add(&a->pkgs);
		p->ecosystem = get_str(v, "ecosystem");
		p->name = get_str(v, "name");
		p->version = get_str(v, "version");
		p->source_name = get_str(v, "source_name");
		p->source_version = get_str(v, "source_version");
		p->arch = get_str(v, "arch");
		p->path = get_str(v, "path");
		p->purl = get_str(v, "purl");
		if (!p->ecosystem || !p->name || !p->version || !p->path)
			return -1;
	}
	json_array_foreach(json_object_get(o, "os"), i, v) {
		if (i >= 2 || !json_is_object(v))
			continue;
		a->os_found[i] = true;
		a->os[i].id = get_str(v, "id");
		a->os[i].version_id = get_str(v, "version_id");
		a->os[i].codename = get_str(v, "codename");
		a->os[i].pretty_name = get_str(v, "pretty_name");
	}
	json_array_foreach(json_object_get(o, "secrets"), i, v) {
		struct wharf_secret_finding *s = wharf_secret_list_add(&a->secrets);
		s->rule_id = get_str(v, "rule_id");
		s->category = get_str(v, "category");
		s->severity = get_str(v, "severity");
		s->title = get_str(v, "title");
		s->path = get_str(v, "path");
		s->line = (int)json_integer_value(json_object_get(v, "line"));
		s->match = get_str(v, "match");
	}
	return 0;
}

int wharf_layer_analysis_from_json(const char *text, size_t len, struct wharf_layer_analysis *out,
				   struct wharf_error *err)
{
	json_t *o = NULL;
	if (wharf_json_parse(&o, text, len, CACHE_MAX, err) < 0)
		return -err->code;
	const char *an = json_string_value(json_object_get(o, "analyzer"));
	int r = 0;
	if (!an || strcmp(an, wharf_scan_analyzer_id()) != 0)
		r = wharf_error_set(err, WHARF_ENOTFOUND, "layer cache entry from another analyzer");
	else if (from_json(o, out) < 0)
		r = wharf_error_set(err, WHARF_EINVAL, "layer cache entry is malformed");
	json_decref(o);
	if (r < 0)
		wharf_layer_analysis_free(out);
	return r;
}

static char *cache_path(const char *dir, const char *digest)
{
	const char *hex = strchr(digest, ':');
	hex = hex ? hex + 1 : digest;
	return wharf_xasprintf("%s/%.128s-%s.json", dir, hex, wharf_scan_analyzer_id());
}

int wharf_scan_cache_load(const char *dir, const char *digest, struct wharf_layer_analysis *out,
			  struct wharf_error *err)
{
	struct wharf_digest d;
	if (wharf_digest_parse(&d, digest, err) < 0)
		return -err->code;
	_cleanup_free_ char *path = cache_path(dir, digest);
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (wharf_read_file(path, CACHE_MAX, &data, &len, err) < 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s: not cached", digest);
	if (wharf_layer_analysis_from_json(data, len, out, err) < 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s: cache entry unusable", digest);
	if (!out->digest || strcmp(out->digest, digest) != 0) {
		wharf_layer_analysis_free(out);
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s: cache entry names another layer", digest);
	}
	return 0;
}

int wharf_scan_cache_store(const char *dir, const struct wharf_layer_analysis *a, struct wharf_error *err)
{
	if (wharf_mkdir_p(dir, 0700, err) < 0)
		return -err->code;
	_cleanup_free_ char *path = cache_path(dir, a->digest);
	_cleanup_free_ char *json = wharf_layer_analysis_to_json(a);
	return wharf_atomic_write(path, json, strlen(json), 0600, err);
}
