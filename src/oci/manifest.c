#include <stdio.h>
#include <ctype.h>
#include <string.h>

#include <jansson.h>

#include "wharf/oci.h"

static const char *const known_manifest_types[] = {
	WHARF_MT_OCI_MANIFEST, WHARF_MT_DOCKER_MANIFEST, WHARF_MT_OCI_INDEX, WHARF_MT_DOCKER_LIST};

enum wharf_manifest_kind wharf_oci_manifest_kind(const char *media_type)
{
	if (!media_type)
		return WHARF_MANIFEST_NONE;
	if (!strcmp(media_type, WHARF_MT_OCI_MANIFEST) || !strcmp(media_type, WHARF_MT_DOCKER_MANIFEST))
		return WHARF_MANIFEST_IMAGE;
	if (!strcmp(media_type, WHARF_MT_OCI_INDEX) || !strcmp(media_type, WHARF_MT_DOCKER_LIST))
		return WHARF_MANIFEST_INDEX;
	return WHARF_MANIFEST_NONE;
}

static const char *canonical_type(const char *media_type)
{
	for (size_t i = 0; i < sizeof(known_manifest_types) / sizeof(*known_manifest_types); i++)
		if (!strcmp(media_type, known_manifest_types[i]))
			return known_manifest_types[i];
	return NULL;
}

static bool media_type_char(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$&-^_.+", c);
}

bool wharf_oci_valid_media_type(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || slash[1] == '\0' || strlen(s) > 255)
		return false;
	for (const char *p = s; *p; p++)
		if (p != slash && !media_type_char(*p))
			return false;
	return true;
}

void wharf_manifest_free(struct wharf_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_refs; i++)
		free(m->refs[i].media_type);
	free(m->refs);
	free(m->artifact_type);
	free(m->annotations_json);
	free(m);
}

static int parse_descriptor(json_t *d, const char *where, struct wharf_descriptor *out,
			    struct wharf_error *err)
{
	if (!json_is_object(d))
		return wharf_error_set(err, WHARF_EINVAL, "%s is not a JSON object", where);
	json_t *mt = json_object_get(d, "mediaType");
	json_t *dg = json_object_get(d, "digest");
	json_t *sz = json_object_get(d, "size");
	if (!json_is_string(mt) || !wharf_oci_valid_media_type(json_string_value(mt)))
		return wharf_error_set(err, WHARF_EINVAL, "%s: mediaType is missing or not a media type", where);
	if (!json_is_string(dg))
		return wharf_error_set(err, WHARF_EINVAL, "%s: digest is missing or not a string", where);
	int r = wharf_digest_parse(&out->digest, json_string_value(dg), err);
	if (r < 0)
		return wharf_error_prefix(err, "%s", where);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: size is missing or not a non-negative integer",
				       where);
	json_t *ann = json_object_get(d, "annotations");
	if (ann && !json_is_object(ann))
		return wharf_error_set(err, WHARF_EINVAL, "%s: annotations is not an object", where);
	out->size = (uint64_t)json_integer_value(sz);
	out->media_type = wharf_xstrdup(json_string_value(mt));
	out->kind = WHARF_REF_BLOB;
	return 0;
}

/* Layers that live elsewhere (Docker foreign layers, OCI non-distributable) need not be here. */
static bool is_foreign_layer(json_t *d, const char *media_type)
{
	json_t *urls = json_object_get(d, "urls");
	return json_is_array(urls) && json_array_size(urls) > 0 &&
	       (strstr(media_type, "foreign") || strstr(media_type, "nondistributable"));
}

static int parse_descriptor_array(json_t *arr, const char *field, struct wharf_manifest *m,
				  enum wharf_ref_kind kind, struct wharf_error *err)
{
	if (!json_is_array(arr))
		return wharf_error_set(err, WHARF_EINVAL, "%s is missing or not an array", field);
	size_t n = json_array_size(arr);
	m->refs = wharf_xrealloc(m->refs, (m->n_refs + n) * sizeof(*m->refs));
	for (size_t i = 0; i < n; i++) {
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]", field, i);
		json_t *d = json_array_get(arr, i);
		struct wharf_descriptor *out = &m->refs[m->n_refs];
		int r = parse_descriptor(d, where, out, err);
		if (r < 0)
			return r;
		m->n_refs++;
		out->kind = kind;
		if (kind == WHARF_REF_BLOB && is_foreign_layer(d, out->media_type))
			out->kind = WHARF_REF_FOREIGN;
		if (kind == WHARF_REF_MANIFEST && wharf_oci_manifest_kind(out->media_type) == WHARF_MANIFEST_NONE)
			return wharf_error_set(err, WHARF_EINVAL, "%s: mediaType '%s' is not a manifest media type",
					       where, out->media_type);
	}
	return 0;
}

static int parse_image(json_t *root, struct wharf_manifest *m, struct wharf_error *err)
{
	json_t *config = json_object_get(root, "config");
	if (!config)
		return wharf_error_set(err, WHARF_EINVAL, "an image manifest needs a config descriptor");
	m->refs = wharf_xcalloc(1, sizeof(*m->refs));
	int r = parse_descriptor(config, "config", &m->refs[0], err);
	if (r < 0)
		return r;
	m->n_refs = 1;
	r = parse_descriptor_array(json_object_get(root, "layers"), "layers", m, WHARF_REF_BLOB, err);
	if (r < 0)
		return r;
	if (!m->artifact_type)
		m->artifact_type = wharf_xstrdup(m->refs[0].media_type);
	return 0;
}

static int parse_common(json_t *root, struct wharf_manifest *m, struct wharf_error *err)
{
	json_t *at = json_object_get(root, "artifactType");
	if (at) {
		if (!json_is_string(at) || !wharf_oci_valid_media_type(json_string_value(at)))
			return wharf_error_set(err, WHARF_EINVAL, "artifactType is not a media type");
		m->artifact_type = wharf_xstrdup(json_string_value(at));
	}
	json_t *subject = json_object_get(root, "subject");
	if (subject) {
		struct wharf_descriptor d = {0};
		int r = parse_descriptor(subject, "subject", &d, err);
		free(d.media_type);
		if (r < 0)
			return r;
		m->has_subject = true;
		m->subject = d.digest;
	}
	json_t *ann = json_object_get(root, "annotations");
	if (ann) {
		if (!json_is_object(ann))
			return wharf_error_set(err, WHARF_EINVAL, "annotations is not an object");
		const char *k;
		json_t *v;
		json_object_foreach(ann, k, v) {
			if (!json_is_string(v))
				return wharf_error_set(err, WHARF_EINVAL, "annotation '%.64s' is not a string", k);
		}
		m->annotations_json = json_dumps(ann, JSON_COMPACT | JSON_SORT_KEYS);
	}
	return 0;
}

static int pick_media_type(json_t *root, const char *content_type, struct wharf_manifest *m,
			   struct wharf_error *err)
{
	json_t *mt = json_object_get(root, "mediaType");
	if (mt && !json_is_string(mt))
		return wharf_error_set(err, WHARF_EINVAL, "mediaType is not a string");
	const char *body_type = mt ? json_string_value(mt) : NULL;
	if (content_type && body_type && strcmp(content_type, body_type) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "Content-Type '%.100s' differs from the mediaType '%.100s' in the body",
				       content_type, body_type);
	const char *type = content_type ? content_type : body_type;
	if (!type) {
		/* OCI 1.0 made mediaType optional; tell the kinds apart by their fields. */
		type = json_object_get(root, "manifests") ? WHARF_MT_OCI_INDEX : WHARF_MT_OCI_MANIFEST;
	}
	m->media_type = canonical_type(type);
	if (!m->media_type)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "media type '%.100s' is not a manifest type this registry accepts (OCI image manifest or index, Docker schema 2 manifest or manifest list)",
				       type);
	m->kind = wharf_oci_manifest_kind(m->media_type);
	return 0;
}

int wharf_manifest_parse(struct wharf_manifest **out, const char *content_type, const char *data,
			 size_t len, struct wharf_error *err)
{
	if (len > WHARF_MANIFEST_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "manifest is %zu bytes, over the limit of %u",
				       len, WHARF_MANIFEST_MAX);
	json_error_t jerr;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return wharf_error_set(err, WHARF_EINVAL, "manifest is not valid JSON: %s at line %d column %d",
				       jerr.text, jerr.line, jerr.column);
	struct wharf_manifest *m = wharf_xcalloc(1, sizeof(*m));
	int r;
	json_t *sv = json_object_get(root, "schemaVersion");
	if (!json_is_object(root))
		r = wharf_error_set(err, WHARF_EINVAL, "manifest is not a JSON object");
	else if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		r = wharf_error_set(err, WHARF_EINVAL, "manifest schemaVersion must be the integer 2");
	else if ((r = pick_media_type(root, content_type, m, err)) < 0)
		;
	else if ((r = parse_common(root, m, err)) < 0)
		;
	else if (m->kind == WHARF_MANIFEST_INDEX)
		r = parse_descriptor_array(json_object_get(root, "manifests"), "manifests", m,
					   WHARF_REF_MANIFEST, err);
	else
		r = parse_image(root, m, err);
	json_decref(root);
	if (r < 0) {
		wharf_manifest_free(m);
		return r;
	}
	*out = m;
	return 0;
}
