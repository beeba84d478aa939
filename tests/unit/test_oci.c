/* oci: repository names, tags, image references and manifest parsing. */
#include <jansson.h>

#include "wharf_test.h"
#include "wharf/oci.h"

/* ---- repository names --------------------------------------------------------------------- */

static int check_name(const char *name, struct wharf_error *err)
{
	return wharf_oci_check_repo_name(name, strlen(name), err);
}

static void repo_names_valid(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a", "a/b", "a-b__c.d/e", "library/ubuntu", "0", "a1/b2/c3/d4", "a---b", "a_b", "a.b.c",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		struct wharf_error err = {0};
		int r = check_name(good[i], &err);
		if (r != 0)
			fail_msg("'%s' should be a valid repository name: %s", good[i], err.message);
	}
}

static void repo_names_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"../x", "A", "a//b", "a/", "/a", "a--", "-a", "", "a/B", "a..b", "a___b", "a._b",
		"a b", "a:b", "a@b", "./a", "a/.", "a/..", "_a", "a_",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct wharf_error err = {0};
		int r = check_name(bad[i], &err);
		if (r != -WHARF_EINVAL)
			fail_msg("'%s' should be rejected as a repository name, got %d", bad[i], r);
		assert_int_equal(err.code, WHARF_EINVAL);
		if (bad[i][0]) {
			char quoted[64];
			snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
			assert_contains(err.message, quoted);
		}
	}
}

static void repo_name_length_limit(void **state)
{
	(void)state;
	/* "aa/aa/..." so the name is valid at every length that does not end in '/'. */
	char name[WHARF_REPO_NAME_MAX + 2];
	for (size_t i = 0; i < sizeof(name); i++)
		name[i] = i % 3 == 2 ? '/' : 'a';
	name[WHARF_REPO_NAME_MAX - 1] = 'b'; /* the 255th character */
	name[WHARF_REPO_NAME_MAX] = 'b';     /* the 256th */
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_oci_check_repo_name(name, 255, &err), err);
	assert_wharf_err(wharf_oci_check_repo_name(name, 256, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "256");

	char one[300];
	memset(one, 'z', sizeof(one));
	assert_wharf_ok(wharf_oci_check_repo_name(one, 255, &err), err);
	assert_wharf_err(wharf_oci_check_repo_name(one, 256, &err), err, WHARF_EINVAL);
}

static void repo_name_honours_len(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	/* Only the first len bytes are the name, as in a URL path. */
	assert_wharf_ok(wharf_oci_check_repo_name("abc/manifests/latest", 3, &err), err);
	assert_wharf_err(wharf_oci_check_repo_name("abc/", 4, &err), err, WHARF_EINVAL);
}

/* ---- tags --------------------------------------------------------------------------------- */

static void tags_length_and_first_character(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	char tag[WHARF_TAG_MAX + 2];
	memset(tag, 'v', sizeof(tag));
	tag[WHARF_TAG_MAX] = '\0';
	assert_wharf_ok(wharf_oci_check_tag(tag, &err), err);
	tag[WHARF_TAG_MAX] = 'v';
	tag[WHARF_TAG_MAX + 1] = '\0';
	assert_wharf_err(wharf_oci_check_tag(tag, &err), err, WHARF_EINVAL);

	static const char *const good[] = {"latest", "v1.2.3", "_x", "A-b_c.D", "1", "a..b", "a--"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		int r = wharf_oci_check_tag(good[i], &err);
		if (r != 0)
			fail_msg("tag '%s' should be valid: %s", good[i], err.message);
	}
	static const char *const bad[] = {".a", "-a", "", "a:b", "a/b", "a b", "a@b", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int r = wharf_oci_check_tag(bad[i], &err);
		if (r != -WHARF_EINVAL)
			fail_msg("tag '%s' should be rejected, got %d", bad[i], r);
		char quoted[32];
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_contains(err.message, quoted);
	}
}

static void ref_is_digest_tells_digests_from_tags(void **state)
{
	(void)state;
	assert_true(wharf_oci_ref_is_digest("sha256:abc"));
	assert_false(wharf_oci_ref_is_digest("latest"));
}

/* ---- references --------------------------------------------------------------------------- */

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void ref_parse_full(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_oci_ref ref;
	assert_wharf_ok(wharf_oci_ref_parse(&ref, "127.0.0.1:5000/a/b:tag@sha256:" HEX64, &err), err);
	assert_string_equal(ref.registry, "127.0.0.1:5000");
	assert_string_equal(ref.repository, "a/b");
	assert_string_equal(ref.tag, "tag");
	assert_true(ref.has_digest);
	assert_string_equal(ref.digest.str, "sha256:" HEX64);
	wharf_oci_ref_free(&ref);
	assert_null(ref.repository);
}

static void ref_parse_short_forms(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_oci_ref ref;

	assert_wharf_ok(wharf_oci_ref_parse(&ref, "localhost/x", &err), err);
	assert_string_equal(ref.registry, "localhost");
	assert_string_equal(ref.repository, "x");
	assert_null(ref.tag);
	assert_false(ref.has_digest);
	wharf_oci_ref_free(&ref);

	assert_wharf_ok(wharf_oci_ref_parse(&ref, "x:y", &err), err);
	assert_null(ref.registry);
	assert_string_equal(ref.repository, "x");
	assert_string_equal(ref.tag, "y");
	wharf_oci_ref_free(&ref);

	/* A port is not a tag. */
	assert_wharf_ok(wharf_oci_ref_parse(&ref, "localhost:5000/team/app", &err), err);
	assert_string_equal(ref.registry, "localhost:5000");
	assert_string_equal(ref.repository, "team/app");
	assert_null(ref.tag);
	wharf_oci_ref_free(&ref);

	/* A first component without '.', ':' or "localhost" is part of the repository. */
	assert_wharf_ok(wharf_oci_ref_parse(&ref, "library/ubuntu:22.04", &err), err);
	assert_null(ref.registry);
	assert_string_equal(ref.repository, "library/ubuntu");
	assert_string_equal(ref.tag, "22.04");
	wharf_oci_ref_free(&ref);

	assert_wharf_ok(wharf_oci_ref_parse(&ref, "registry.example.com/x@sha256:" HEX64, &err), err);
	assert_string_equal(ref.registry, "registry.example.com");
	assert_string_equal(ref.repository, "x");
	assert_null(ref.tag);
	assert_true(ref.has_digest);
	wharf_oci_ref_free(&ref);

	assert_wharf_ok(wharf_oci_ref_parse(&ref, "[::1]:5000/x:v1", &err), err);
	assert_string_equal(ref.registry, "[::1]:5000");
	assert_string_equal(ref.repository, "x");
	assert_string_equal(ref.tag, "v1");
	wharf_oci_ref_free(&ref);
}

static void ref_parse_rejects_bad_references(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"UPPER/case",
		"x:",
		"x:-tag",
		"x@sha256:abc",
		"x@",
		"x@md5:d41d8cd98f00b204e9800998ecf8427e",
		"localhost/",
		"example.com/",
		"a//b",
		"a/b:c/d",
		"bad_host!.com/x",
		"x:tag:more",
		"/x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct wharf_error err = {0};
		struct wharf_oci_ref ref;
		int r = wharf_oci_ref_parse(&ref, bad[i], &err);
		if (r >= 0) {
			fail_msg("reference '%s' should be rejected (repo '%s')", bad[i],
				 ref.repository ? ref.repository : "");
		}
		assert_int_equal(err.code, -r);
		if (bad[i][0]) {
			char quoted[64];
			snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
			assert_contains(err.message, quoted);
		}
		/* Nothing is left allocated on failure. */
		assert_null(ref.registry);
		assert_null(ref.repository);
		assert_null(ref.tag);
	}
}

/* ---- manifests ---------------------------------------------------------------------------- */

struct fixture {
	struct wharf_digest config, layer1, layer2, foreign, child1, child2, subject;
};

static struct fixture fx;

static int make_fixture(void **state)
{
	(void)state;
	wharf_digest_buffer(WHARF_SHA256, "config", 6, &fx.config);
	wharf_digest_buffer(WHARF_SHA256, "layer1", 6, &fx.layer1);
	wharf_digest_buffer(WHARF_SHA512, "layer2", 6, &fx.layer2);
	wharf_digest_buffer(WHARF_SHA256, "foreign", 7, &fx.foreign);
	wharf_digest_buffer(WHARF_SHA256, "child1", 6, &fx.child1);
	wharf_digest_buffer(WHARF_SHA256, "child2", 6, &fx.child2);
	wharf_digest_buffer(WHARF_SHA256, "subject", 7, &fx.subject);
	return 0;
}

static char *oci_manifest_json(void)
{
	return wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":6},"
		"\"layers\":["
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":100},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"%s\",\"size\":0,"
		"\"annotations\":{\"k\":\"v\"}}]}",
		fx.config.str, fx.layer1.str, fx.layer2.str);
}

static int parse_str(struct wharf_manifest **m, const char *ct, const char *json, struct wharf_error *err)
{
	*m = NULL;
	return wharf_manifest_parse(m, ct, json, strlen(json), err);
}

static void manifest_oci_image(void **state)
{
	(void)state;
	char *json = oci_manifest_json();
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_ok(parse_str(&m, WHARF_MT_OCI_MANIFEST, json, &err), err);
	assert_int_equal(m->kind, WHARF_MANIFEST_IMAGE);
	assert_string_equal(m->media_type, WHARF_MT_OCI_MANIFEST);
	assert_int_equal(m->n_refs, 3);
	assert_string_equal(m->refs[0].digest.str, fx.config.str);
	assert_string_equal(m->refs[0].media_type, "application/vnd.oci.image.config.v1+json");
	assert_int_equal(m->refs[0].size, 6);
	assert_string_equal(m->refs[1].digest.str, fx.layer1.str);
	assert_int_equal(m->refs[1].size, 100);
	assert_string_equal(m->refs[2].digest.str, fx.layer2.str);
	assert_int_equal(m->refs[2].digest.alg, WHARF_SHA512);
	for (size_t i = 0; i < m->n_refs; i++)
		assert_int_equal(m->refs[i].kind, WHARF_REF_BLOB);
	/* Without artifactType, the referrers API reports the config media type. */
	assert_string_equal(m->artifact_type, "application/vnd.oci.image.config.v1+json");
	assert_false(m->has_subject);
	assert_null(m->annotations_json);
	wharf_manifest_free(m);

	/* Without a Content-Type, the body's mediaType decides. */
	assert_wharf_ok(parse_str(&m, NULL, json, &err), err);
	assert_string_equal(m->media_type, WHARF_MT_OCI_MANIFEST);
	wharf_manifest_free(m);
	free(json);
}

static void manifest_without_media_type_is_told_by_fields(void **state)
{
	(void)state;
	char *img = wharf_xasprintf(
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"%s\",\"size\":6},\"layers\":[]}", fx.config.str);
	char *idx = wharf_xasprintf(
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\","
		"\"digest\":\"%s\",\"size\":10}]}", fx.child1.str);
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_ok(parse_str(&m, NULL, img, &err), err);
	assert_int_equal(m->kind, WHARF_MANIFEST_IMAGE);
	assert_int_equal(m->n_refs, 1);
	wharf_manifest_free(m);
	assert_wharf_ok(parse_str(&m, NULL, idx, &err), err);
	assert_int_equal(m->kind, WHARF_MANIFEST_INDEX);
	assert_string_equal(m->media_type, WHARF_MT_OCI_INDEX);
	wharf_manifest_free(m);
	free(img);
	free(idx);
}

static void manifest_artifact_subject_annotations(void **state)
{
	(void)state;
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\","
		"\"artifactType\":\"application/vnd.example.sbom.v1+json\","
		"\"config\":{\"mediaType\":\"" WHARF_MT_OCI_EMPTY "\",\"digest\":\"%s\",\"size\":2},"
		"\"layers\":[{\"mediaType\":\"application/spdx+json\",\"digest\":\"%s\",\"size\":100}],"
		"\"subject\":{\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":500},"
		"\"annotations\":{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\",\"a\":\"q\\\"uote\"}}",
		fx.config.str, fx.layer1.str, fx.subject.str);
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_ok(parse_str(&m, WHARF_MT_OCI_MANIFEST, json, &err), err);
	assert_string_equal(m->artifact_type, "application/vnd.example.sbom.v1+json");
	assert_true(m->has_subject);
	assert_string_equal(m->subject.str, fx.subject.str);
	assert_non_null(m->annotations_json);
	/* Compact JSON with the same content. */
	assert_null(strchr(m->annotations_json, '\n'));
	json_t *ann = json_loads(m->annotations_json, 0, NULL);
	assert_non_null(ann);
	assert_int_equal(json_object_size(ann), 2);
	assert_string_equal(json_string_value(json_object_get(ann, "org.opencontainers.image.created")),
			    "2024-01-01T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(ann, "a")), "q\"uote");
	json_decref(ann);
	/* The subject is not one of the references the manifest needs present. */
	assert_int_equal(m->n_refs, 2);
	for (size_t i = 0; i < m->n_refs; i++)
		assert_string_not_equal(m->refs[i].digest.str, fx.subject.str);
	wharf_manifest_free(m);
	free(json);
}

static void manifest_oci_index(void **state)
{
	(void)state;
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_INDEX "\",\"manifests\":["
		"{\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":500,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
		"{\"mediaType\":\"" WHARF_MT_OCI_INDEX "\",\"digest\":\"%s\",\"size\":300}]}",
		fx.child1.str, fx.child2.str);
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_ok(parse_str(&m, WHARF_MT_OCI_INDEX, json, &err), err);
	assert_int_equal(m->kind, WHARF_MANIFEST_INDEX);
	assert_string_equal(m->media_type, WHARF_MT_OCI_INDEX);
	assert_int_equal(m->n_refs, 2);
	assert_int_equal(m->refs[0].kind, WHARF_REF_MANIFEST);
	assert_int_equal(m->refs[1].kind, WHARF_REF_MANIFEST);
	assert_string_equal(m->refs[0].digest.str, fx.child1.str);
	assert_int_equal(m->refs[0].size, 500);
	assert_string_equal(m->refs[1].digest.str, fx.child2.str);
	assert_null(m->artifact_type);
	wharf_manifest_free(m);
	free(json);
}

static void manifest_index_entries_must_be_manifests(void **state)
{
	(void)state;
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_INDEX "\",\"manifests\":["
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":5}]}",
		fx.layer1.str);
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_err(parse_str(&m, NULL, json, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "manifests[0]");
	free(json);
}

static void manifest_docker_schema2(void **state)
{
	(void)state;
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_DOCKER_MANIFEST "\","
		"\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"%s\",\"size\":6},"
		"\"layers\":["
		"{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"%s\",\"size\":100},"
		"{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\"digest\":\"%s\","
		"\"size\":7,\"urls\":[\"https://example.com/layer\"]}]}",
		fx.config.str, fx.layer1.str, fx.foreign.str);
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_ok(parse_str(&m, WHARF_MT_DOCKER_MANIFEST, json, &err), err);
	assert_int_equal(m->kind, WHARF_MANIFEST_IMAGE);
	assert_string_equal(m->media_type, WHARF_MT_DOCKER_MANIFEST);
	assert_int_equal(m->n_refs, 3);
	assert_int_equal(m->refs[0].kind, WHARF_REF_BLOB);
	assert_int_equal(m->refs[1].kind, WHARF_REF_BLOB);
	/* The foreign layer lives at its URL, not in this registry. */
	assert_int_equal(m->refs[2].kind, WHARF_REF_FOREIGN);
	assert_string_equal(m->refs[2].digest.str, fx.foreign.str);
	wharf_manifest_free(m);
	free(json);
}

static void manifest_foreign_layer_needs_urls(void **state)
{
	(void)state;
	/* Without urls a "foreign" layer has nowhere else to come from: it must be here. */
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":6},"
		"\"layers\":["
		"{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip\",\"digest\":\"%s\",\"size\":7},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip\",\"digest\":\"%s\","
		"\"size\":7,\"urls\":[\"https://example.com/l\"]},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":7,"
		"\"urls\":[\"https://example.com/l\"]}]}",
		fx.config.str, fx.foreign.str, fx.layer1.str, fx.child1.str);
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_ok(parse_str(&m, NULL, json, &err), err);
	assert_int_equal(m->n_refs, 4);
	assert_int_equal(m->refs[1].kind, WHARF_REF_BLOB);
	assert_int_equal(m->refs[2].kind, WHARF_REF_FOREIGN);
	/* urls on an ordinary layer do not excuse it from being pushed. */
	assert_int_equal(m->refs[3].kind, WHARF_REF_BLOB);
	wharf_manifest_free(m);
	free(json);
}

static void manifest_docker_list(void **state)
{
	(void)state;
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_DOCKER_LIST "\",\"manifests\":["
		"{\"mediaType\":\"" WHARF_MT_DOCKER_MANIFEST "\",\"digest\":\"%s\",\"size\":528,"
		"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}]}",
		fx.child1.str);
	struct wharf_error err = {0};
	struct wharf_manifest *m;
	assert_wharf_ok(parse_str(&m, WHARF_MT_DOCKER_LIST, json, &err), err);
	assert_int_equal(m->kind, WHARF_MANIFEST_INDEX);
	assert_string_equal(m->media_type, WHARF_MT_DOCKER_LIST);
	assert_int_equal(m->n_refs, 1);
	assert_int_equal(m->refs[0].kind, WHARF_REF_MANIFEST);
	assert_int_equal(m->refs[0].size, 528);
	wharf_manifest_free(m);
	free(json);
}

static void expect_manifest_error(const char *ct, const char *json, size_t len, int code, const char *needle)
{
	struct wharf_error err = {0};
	struct wharf_manifest *m = NULL;
	int r = wharf_manifest_parse(&m, ct, json, len, &err);
	if (r != -code)
		fail_msg("expected %s for %.200s, got %d (%s)", wharf_errc_name(code), json, r, err.message);
	assert_int_equal(err.code, code);
	assert_null(m);
	if (needle)
		assert_contains(err.message, needle);
}

static void manifest_rejects_bad_json(void **state)
{
	(void)state;
	const char *notjson = "{\"schemaVersion\":2,";
	expect_manifest_error(NULL, notjson, strlen(notjson), WHARF_EINVAL, "JSON");
	const char *arr = "[1,2]";
	expect_manifest_error(NULL, arr, strlen(arr), WHARF_EINVAL, "object");
	expect_manifest_error(NULL, "", 0, WHARF_EINVAL, "JSON");
	const char *trailing = "{\"schemaVersion\":2} x";
	expect_manifest_error(NULL, trailing, strlen(trailing), WHARF_EINVAL, "JSON");
}

static void manifest_rejects_duplicate_keys(void **state)
{
	(void)state;
	/* Two readers could pick different layers: refuse the ambiguity. */
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":6},"
		"\"layers\":[],\"layers\":[]}", fx.config.str);
	expect_manifest_error(NULL, json, strlen(json), WHARF_EINVAL, "layers");
	free(json);
}

static void manifest_rejects_schema_version_1(void **state)
{
	(void)state;
	const char *v1 = "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"latest\",\"fsLayers\":[]}";
	expect_manifest_error(NULL, v1, strlen(v1), WHARF_EINVAL, "schemaVersion");
	const char *str = "{\"schemaVersion\":\"2\"}";
	expect_manifest_error(NULL, str, strlen(str), WHARF_EINVAL, "schemaVersion");
	const char *none = "{\"layers\":[]}";
	expect_manifest_error(NULL, none, strlen(none), WHARF_EINVAL, "schemaVersion");
}

static void manifest_content_type_must_match_body(void **state)
{
	(void)state;
	char *json = oci_manifest_json();
	expect_manifest_error(WHARF_MT_DOCKER_MANIFEST, json, strlen(json), WHARF_EINVAL,
			      WHARF_MT_DOCKER_MANIFEST);
	expect_manifest_error(WHARF_MT_OCI_INDEX, json, strlen(json), WHARF_EINVAL, WHARF_MT_OCI_MANIFEST);
	free(json);
}

static void manifest_unknown_media_type(void **state)
{
	(void)state;
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example.thing+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":6},"
		"\"layers\":[]}", fx.config.str);
	expect_manifest_error(NULL, json, strlen(json), WHARF_EUNSUPPORTED, "application/vnd.example.thing+json");
	free(json);
	/* A schema 1 media type in the Content-Type is not accepted either. */
	char *ok = oci_manifest_json();
	struct wharf_error err = {0};
	struct wharf_manifest *m = NULL;
	int r = wharf_manifest_parse(&m, "application/vnd.docker.distribution.manifest.v1+prettyjws", ok,
				     strlen(ok), &err);
	assert_true(r < 0);
	assert_null(m);
	free(ok);
}

static char *manifest_with_layer(const char *layer)
{
	return wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":6},"
		"\"layers\":[%s]}", fx.config.str, layer);
}

static void manifest_rejects_bad_descriptors(void **state)
{
	(void)state;
	static const char *const bad_layers[] = {
		/* digest not a digest */
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:1234\",\"size\":1}",
		/* upper-case hex */
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" 
		"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789\",\"size\":1}",
		/* negative size */
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" HEX64 "\",\"size\":-1}",
		/* size not an integer */
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" HEX64 "\",\"size\":1.5}",
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" HEX64 "\",\"size\":\"1\"}",
		/* missing size, missing digest, missing media type, bad media type */
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" HEX64 "\"}",
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":1}",
		"{\"digest\":\"sha256:" HEX64 "\",\"size\":1}",
		"{\"mediaType\":\"not a media type\",\"digest\":\"sha256:" HEX64 "\",\"size\":1}",
		/* not an object */
		"\"sha256:" HEX64 "\"",
		/* annotations must be an object */
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" HEX64 "\","
		"\"size\":1,\"annotations\":[]}",
	};
	for (size_t i = 0; i < sizeof(bad_layers) / sizeof(*bad_layers); i++) {
		char *json = manifest_with_layer(bad_layers[i]);
		expect_manifest_error(NULL, json, strlen(json), WHARF_EINVAL, "layers[0]");
		free(json);
	}
	/* The config descriptor is checked the same way. */
	const char *badcfg = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"sha256:00\","
			     "\"size\":1},\"layers\":[]}";
	expect_manifest_error(NULL, badcfg, strlen(badcfg), WHARF_EINVAL, "config");
	/* An image manifest needs a config and a layers array. */
	const char *nocfg = "{\"schemaVersion\":2,\"layers\":[]}";
	expect_manifest_error(NULL, nocfg, strlen(nocfg), WHARF_EINVAL, "config");
	char *nolayers = wharf_xasprintf("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"%s\","
					 "\"size\":1}}", fx.config.str);
	expect_manifest_error(NULL, nolayers, strlen(nolayers), WHARF_EINVAL, "layers");
	free(nolayers);
}

static void manifest_rejects_bad_subject_and_annotations(void **state)
{
	(void)state;
	char *bad_subject = wharf_xasprintf(
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"%s\",\"size\":1},\"layers\":[],"
		"\"subject\":{\"mediaType\":\"" WHARF_MT_OCI_MANIFEST "\",\"digest\":\"sha256:xyz\",\"size\":1}}",
		fx.config.str);
	expect_manifest_error(NULL, bad_subject, strlen(bad_subject), WHARF_EINVAL, "subject");
	free(bad_subject);
	char *bad_ann = wharf_xasprintf(
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":\"%s\",\"size\":1},\"layers\":[],"
		"\"annotations\":{\"n\":5}}", fx.config.str);
	expect_manifest_error(NULL, bad_ann, strlen(bad_ann), WHARF_EINVAL, "'n'");
	free(bad_ann);
	char *bad_at = wharf_xasprintf(
		"{\"schemaVersion\":2,\"artifactType\":\"nope\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"%s\","
		"\"size\":1},\"layers\":[]}", fx.config.str);
	expect_manifest_error(NULL, bad_at, strlen(bad_at), WHARF_EINVAL, "artifactType");
	free(bad_at);
}

static void manifest_size_limit(void **state)
{
	(void)state;
	/* A valid manifest padded with whitespace to exactly the limit is accepted... */
	char *json = oci_manifest_json();
	size_t jlen = strlen(json);
	size_t max = WHARF_MANIFEST_MAX;
	char *big = wharf_xmalloc(max + 2);
	memcpy(big, json, jlen);
	memset(big + jlen, ' ', max + 1 - jlen);
	big[max + 1] = '\0';
	struct wharf_error err = {0};
	struct wharf_manifest *m = NULL;
	assert_wharf_ok(wharf_manifest_parse(&m, NULL, big, max, &err), err);
	wharf_manifest_free(m);
	/* ... and one byte more is too big, before any parsing. */
	m = NULL;
	assert_wharf_err(wharf_manifest_parse(&m, NULL, big, max + 1, &err), err, WHARF_ETOOBIG);
	assert_null(m);
	char limit[32];
	snprintf(limit, sizeof(limit), "%zu", max);
	assert_contains(err.message, limit);
	free(big);
	free(json);
}

static void media_type_helpers(void **state)
{
	(void)state;
	assert_int_equal(wharf_oci_manifest_kind(WHARF_MT_OCI_MANIFEST), WHARF_MANIFEST_IMAGE);
	assert_int_equal(wharf_oci_manifest_kind(WHARF_MT_DOCKER_MANIFEST), WHARF_MANIFEST_IMAGE);
	assert_int_equal(wharf_oci_manifest_kind(WHARF_MT_OCI_INDEX), WHARF_MANIFEST_INDEX);
	assert_int_equal(wharf_oci_manifest_kind(WHARF_MT_DOCKER_LIST), WHARF_MANIFEST_INDEX);
	assert_int_equal(wharf_oci_manifest_kind("application/json"), WHARF_MANIFEST_NONE);
	assert_int_equal(wharf_oci_manifest_kind(NULL), WHARF_MANIFEST_NONE);
	assert_true(wharf_oci_valid_media_type("application/vnd.oci.image.layer.v1.tar+gzip"));
	assert_false(wharf_oci_valid_media_type("application"));
	assert_false(wharf_oci_valid_media_type("/json"));
	assert_false(wharf_oci_valid_media_type("application/"));
	assert_false(wharf_oci_valid_media_type("application/json; charset=utf-8"));
	assert_false(wharf_oci_valid_media_type("text/plain\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(repo_names_valid),
		cmocka_unit_test(repo_names_invalid),
		cmocka_unit_test(repo_name_length_limit),
		cmocka_unit_test(repo_name_honours_len),
		cmocka_unit_test(tags_length_and_first_character),
		cmocka_unit_test(ref_is_digest_tells_digests_from_tags),
		cmocka_unit_test(ref_parse_full),
		cmocka_unit_test(ref_parse_short_forms),
		cmocka_unit_test(ref_parse_rejects_bad_references),
		cmocka_unit_test(manifest_oci_image),
		cmocka_unit_test(manifest_without_media_type_is_told_by_fields),
		cmocka_unit_test(manifest_artifact_subject_annotations),
		cmocka_unit_test(manifest_oci_index),
		cmocka_unit_test(manifest_index_entries_must_be_manifests),
		cmocka_unit_test(manifest_docker_schema2),
		cmocka_unit_test(manifest_foreign_layer_needs_urls),
		cmocka_unit_test(manifest_docker_list),
		cmocka_unit_test(manifest_rejects_bad_json),
		cmocka_unit_test(manifest_rejects_duplicate_keys),
		cmocka_unit_test(manifest_rejects_schema_version_1),
		cmocka_unit_test(manifest_content_type_must_match_body),
		cmocka_unit_test(manifest_unknown_media_type),
		cmocka_unit_test(manifest_rejects_bad_descriptors),
		cmocka_unit_test(manifest_rejects_bad_subject_and_annotations),
		cmocka_unit_test(manifest_size_limit),
		cmocka_unit_test(media_type_helpers),
	};
	return cmocka_run_group_tests_name("oci", tests, make_fixture, NULL);
}
