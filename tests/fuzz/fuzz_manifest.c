/* wharf_manifest_parse on hostile bytes (the body of PUT /v2/<name>/manifests/<ref>).
 *
 * Input: one selector byte, then the manifest body. The body is parsed once with no
 * Content-Type and once with the Content-Type chosen by selector % 5: the four manifest
 * media types, or a type that is not a manifest (which must be refused). Seed files start
 * with 'i' (OCI manifest), 'j' (OCI index), 'k' (Docker manifest), 'l' (Docker list) or
 * 'm' (application/json). */
#include <jansson.h>

#include "wharf/oci.h"

#include "fuzz.h"

static const char *const content_types[] = {
	WHARF_MT_OCI_MANIFEST,    /* 'i' */
	WHARF_MT_OCI_INDEX,       /* 'j' */
	WHARF_MT_DOCKER_MANIFEST, /* 'k' */
	WHARF_MT_DOCKER_LIST,     /* 'l' */
	"application/json",       /* 'm' */
};

static bool is_manifest_constant(const char *mt)
{
	return mt && (!strcmp(mt, WHARF_MT_OCI_MANIFEST) || !strcmp(mt, WHARF_MT_OCI_INDEX) ||
		      !strcmp(mt, WHARF_MT_DOCKER_MANIFEST) || !strcmp(mt, WHARF_MT_DOCKER_LIST));
}

static void check_digest(const struct wharf_digest *d)
{
	struct wharf_digest again;
	struct wharf_error err = {0};
	FUZZ_CHECK(wharf_digest_parse(&again, d->str, &err) == 0);
	FUZZ_CHECK(wharf_digest_equal(&again, d));
	size_t hex = strlen(wharf_digest_hex(d));
	FUZZ_CHECK(hex == (d->alg == WHARF_SHA512 ? 128u : 64u));
}

static void check_manifest(const struct wharf_manifest *m)
{
	FUZZ_CHECK(is_manifest_constant(m->media_type));
	FUZZ_CHECK(m->kind != WHARF_MANIFEST_NONE);
	FUZZ_CHECK(m->kind == wharf_oci_manifest_kind(m->media_type));
	FUZZ_CHECK(m->n_refs == 0 || m->refs != NULL);
	if (m->kind == WHARF_MANIFEST_IMAGE) {
		/* refs[0] is the config; an image always has one, and an artifact type. */
		FUZZ_CHECK(m->n_refs >= 1);
		FUZZ_CHECK(m->refs[0].kind == WHARF_REF_BLOB);
		FUZZ_CHECK(m->artifact_type != NULL);
	}
	if (m->artifact_type)
		FUZZ_CHECK(wharf_oci_valid_media_type(m->artifact_type));
	for (size_t i = 0; i < m->n_refs; i++) {
		const struct wharf_descriptor *d = &m->refs[i];
		FUZZ_CHECK(d->media_type != NULL);
		FUZZ_CHECK(wharf_oci_valid_media_type(d->media_type));
		check_digest(&d->digest);
		if (m->kind == WHARF_MANIFEST_INDEX) {
			FUZZ_CHECK(d->kind == WHARF_REF_MANIFEST);
			FUZZ_CHECK(wharf_oci_manifest_kind(d->media_type) != WHARF_MANIFEST_NONE);
		} else {
			FUZZ_CHECK(d->kind == WHARF_REF_BLOB || d->kind == WHARF_REF_FOREIGN);
		}
		FUZZ_CHECK(d->size <= (uint64_t)INT64_MAX);
	}
	if (m->has_subject)
		check_digest(&m->subject);
	if (m->annotations_json) {
		json_t *ann = json_loads(m->annotations_json, 0, NULL);
		FUZZ_CHECK(json_is_object(ann));
		json_decref(ann);
	}
}

static void check_failure(int r, const struct wharf_error *err)
{
	FUZZ_CHECK(r < 0);
	FUZZ_CHECK(err->code != 0 && r == -err->code);
	FUZZ_CHECK(err->message[0] != '\0');
	FUZZ_CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
}

/* Two parses of the same body must describe the same manifest. */
static void check_same(const struct wharf_manifest *a, const struct wharf_manifest *b)
{
	FUZZ_CHECK(a->kind == b->kind);
	FUZZ_CHECK(!strcmp(a->media_type, b->media_type));
	FUZZ_CHECK(a->n_refs == b->n_refs);
	for (size_t i = 0; i < a->n_refs; i++) {
		FUZZ_CHECK(wharf_digest_equal(&a->refs[i].digest, &b->refs[i].digest));
		FUZZ_CHECK(a->refs[i].size == b->refs[i].size);
		FUZZ_CHECK(a->refs[i].kind == b->refs[i].kind);
		FUZZ_CHECK(!strcmp(a->refs[i].media_type, b->refs[i].media_type));
	}
	FUZZ_CHECK(a->has_subject == b->has_subject);
	if (a->has_subject)
		FUZZ_CHECK(wharf_digest_equal(&a->subject, &b->subject));
	FUZZ_CHECK(!a->artifact_type == !b->artifact_type);
	if (a->artifact_type)
		FUZZ_CHECK(!strcmp(a->artifact_type, b->artifact_type));
	FUZZ_CHECK(!a->annotations_json == !b->annotations_json);
	if (a->annotations_json)
		FUZZ_CHECK(!strcmp(a->annotations_json, b->annotations_json));
}

/* Parse body; check the result either way and hand back the manifest, or NULL. */
static struct wharf_manifest *parse(const char *content_type, const char *body, size_t len)
{
	struct wharf_manifest *m = NULL;
	struct wharf_error err = {0};
	int r = wharf_manifest_parse(&m, content_type, body, len, &err);
	if (r < 0) {
		check_failure(r, &err);
		return NULL;
	}
	FUZZ_CHECK(r == 0 && m != NULL);
	check_manifest(m);
	if (content_type) {
		if (wharf_oci_manifest_kind(content_type) == WHARF_MANIFEST_NONE)
			FUZZ_CHECK(!"a non-manifest Content-Type was accepted");
		FUZZ_CHECK(!strcmp(m->media_type, content_type));
	}
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *ct = content_types[data[0] % 5];
	/* An exact-size heap copy: ASan catches any read past the body's end. */
	size_t len = size - 1;
	char *body = malloc(len ? len : 1);
	if (!body)
		abort();
	memcpy(body, data + 1, len);

	struct wharf_manifest *untyped = parse(NULL, body, len);
	struct wharf_manifest *typed = parse(ct, body, len);
	if (untyped) {
		/* Whatever type the body declared (or implied) must also be accepted when the
		 * client names that same type in Content-Type, with the same result. */
		struct wharf_manifest *again = parse(untyped->media_type, body, len);
		FUZZ_CHECK(again != NULL);
		check_same(untyped, again);
		wharf_manifest_free(again);
	}
	if (untyped && typed && !strcmp(untyped->media_type, typed->media_type))
		check_same(untyped, typed);
	wharf_manifest_free(typed);
	wharf_manifest_free(untyped);
	free(body);
	return 0;
}
