/* meta: repositories, blobs, uploads, manifests, tags, referrers and GC rows in SQLite. */
#include <inttypes.h>

#include <jansson.h>
#include <sqlite3.h>

#include "wharf_test.h"
#include "wharf/meta.h"

#define CONFIG_MT "application/vnd.oci.image.config.v1+json"
#define LAYER_MT "application/vnd.oci.image.layer.v1.tar+gzip"

struct ctx {
	char *dir;
	char *db;
	struct wharf_meta *m;
};

static int setup(void **state)
{
	struct ctx *c = wharf_xcalloc(1, sizeof(*c));
	c->dir = test_mkdtemp();
	c->db = wharf_xasprintf("%s/meta.db", c->dir);
	struct wharf_error err = {0};
	if (wharf_meta_open(&c->m, c->db, &err) < 0)
		fail_msg("wharf_meta_open(%s): %s", c->db, err.message);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	wharf_meta_close(c->m);
	free(c->db);
	test_rmtree(c->dir);
	free(c);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* Record content as a blob of repo; its digest goes to *d. */
static void add_blob(struct wharf_meta *m, const char *repo, const char *content, struct wharf_digest *d)
{
	struct wharf_error err = {0};
	wharf_digest_buffer(WHARF_SHA256, content, strlen(content), d);
	int r = wharf_meta_blob_add(m, repo, d->str, strlen(content), &err);
	if (r < 0)
		fail_msg("blob_add %s to %s: %s", d->str, repo, err.message);
}

/* An OCI image manifest. subject and artifact_type may be NULL. */
static char *image_json(const struct wharf_digest *config, size_t config_size, const struct wharf_digest *layer,
			size_t layer_size, const char *subject, const char *artifact_type, const char *annotations)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_printf(&b, "{\"schemaVersion\":2,\"mediaType\":\"%s\",", WHARF_MT_OCI_MANIFEST);
	if (artifact_type)
		wharf_buf_printf(&b, "\"artifactType\":\"%s\",", artifact_type);
	wharf_buf_printf(&b, "\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
			 artifact_type ? WHARF_MT_OCI_EMPTY : CONFIG_MT, config->str, config_size);
	if (layer)
		wharf_buf_printf(&b, "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}", LAYER_MT,
				 layer->str, layer_size);
	wharf_buf_puts(&b, "]");
	if (subject)
		wharf_buf_printf(&b, ",\"subject\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":100}",
				 WHARF_MT_OCI_MANIFEST, subject);
	if (annotations)
		wharf_buf_printf(&b, ",\"annotations\":%s", annotations);
	wharf_buf_puts(&b, "}");
	return wharf_buf_steal(&b);
}

/* Parse json and put it into repo (tag may be NULL). Returns the result of manifest_put. */
static int put_manifest(struct wharf_meta *m, const char *repo, const char *json, const char *tag,
			struct wharf_digest *d, struct wharf_error *err)
{
	struct wharf_manifest *man = NULL;
	int r = wharf_manifest_parse(&man, NULL, json, strlen(json), err);
	if (r < 0)
		fail_msg("test manifest does not parse: %s\n%s", err->message, json);
	wharf_digest_buffer(WHARF_SHA256, json, strlen(json), d);
	r = wharf_meta_manifest_put(m, repo, d->str, strlen(json), man, tag, err);
	wharf_manifest_free(man);
	return r;
}

/* A small image in repo: config + one layer + manifest, tagged. */
static void put_image(struct wharf_meta *m, const char *repo, const char *salt, const char *tag,
		      struct wharf_digest *out)
{
	struct wharf_digest config, layer;
	char *cfg = wharf_xasprintf("{\"config\":\"%s\"}", salt);
	char *lay = wharf_xasprintf("layer-%s", salt);
	add_blob(m, repo, cfg, &config);
	add_blob(m, repo, lay, &layer);
	char *json = image_json(&config, strlen(cfg), &layer, strlen(lay), NULL, NULL, NULL);
	struct wharf_error err = {0};
	int r = put_manifest(m, repo, json, tag, out, &err);
	if (r < 0)
		fail_msg("manifest_put in %s: %s", repo, err.message);
	free(json);
	free(cfg);
	free(lay);
}

static bool strv_has(const struct wharf_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		fail_msg("sqlite3_open %s", path);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

static int sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("cannot run %s on %s", sql, path);
	int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ---- blobs -------------------------------------------------------------------------------- */

static void blob_add_then_in_repo(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest d;
	add_blob(c->m, "team/app", "some layer bytes", &d);
	uint64_t size = 0;
	assert_wharf_ok(wharf_meta_blob_in_repo(c->m, "team/app", d.str, &size, &err), err);
	assert_int_equal(size, strlen("some layer bytes"));
	bool known = false;
	assert_wharf_ok(wharf_meta_blob_known(c->m, d.str, &known, &err), err);
	assert_true(known);

	/* Another repository does not see it. */
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "team/other", d.str, &size, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, d.str);
	assert_contains(err.message, "team/other");

	/* A blob nobody stored is unknown. */
	struct wharf_digest none;
	wharf_digest_buffer(WHARF_SHA256, "never", 5, &none);
	assert_wharf_ok(wharf_meta_blob_known(c->m, none.str, &known, &err), err);
	assert_false(known);
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "team/app", none.str, &size, &err), err, WHARF_ENOTFOUND);

	/* Adding it again (a second push) is fine. */
	assert_wharf_ok(wharf_meta_blob_add(c->m, "team/app", d.str, strlen("some layer bytes"), &err), err);
}

static void blob_mount_links_across_repos(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest d;
	add_blob(c->m, "src", "shared base layer", &d);
	uint64_t size = 0;
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "dst", d.str, &size, &err), err, WHARF_ENOTFOUND);

	size = 0;
	assert_wharf_ok(wharf_meta_blob_mount(c->m, "dst", "src", d.str, &size, &err), err);
	assert_int_equal(size, strlen("shared base layer"));
	size = 0;
	assert_wharf_ok(wharf_meta_blob_in_repo(c->m, "dst", d.str, &size, &err), err);
	assert_int_equal(size, strlen("shared base layer"));
	/* The source keeps it. */
	assert_wharf_ok(wharf_meta_blob_in_repo(c->m, "src", d.str, NULL, &err), err);
}

static void blob_mount_from_repo_lacking_it(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest d, elsewhere;
	add_blob(c->m, "has-it", "private layer", &d);
	add_blob(c->m, "poor", "something else", &elsewhere);
	uint64_t size = 0;
	/* Knowing a digest is not enough: the source repository must hold it. */
	assert_wharf_err(wharf_meta_blob_mount(c->m, "thief", "poor", d.str, &size, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, d.str);
	assert_contains(err.message, "poor");
	assert_wharf_err(wharf_meta_blob_mount(c->m, "thief", "no-such-repo", d.str, &size, &err), err,
			 WHARF_ENOTFOUND);
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "thief", d.str, &size, &err), err, WHARF_ENOTFOUND);
	/* The failed mount did not create the target repository either. */
	struct wharf_strv repos = {0};
	bool more;
	assert_wharf_ok(wharf_meta_catalog(c->m, NULL, 0, &repos, &more, &err), err);
	assert_false(strv_has(&repos, "thief"));
	wharf_strv_free(&repos);
}

static void blob_unlink(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest d;
	add_blob(c->m, "a", "layer", &d);
	uint64_t size;
	assert_wharf_ok(wharf_meta_blob_mount(c->m, "b", "a", d.str, &size, &err), err);
	assert_wharf_ok(wharf_meta_blob_unlink(c->m, "a", d.str, &err), err);
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "a", d.str, &size, &err), err, WHARF_ENOTFOUND);
	/* Only that repository's link went away. */
	assert_wharf_ok(wharf_meta_blob_in_repo(c->m, "b", d.str, &size, &err), err);
	assert_wharf_err(wharf_meta_blob_unlink(c->m, "a", d.str, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, d.str);
	assert_wharf_err(wharf_meta_blob_unlink(c->m, "nope", d.str, &err), err, WHARF_ENOTFOUND);
}

/* ---- uploads ------------------------------------------------------------------------------ */

static void upload_lifecycle(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	const char *id = "00112233445566778899aabbccddeeff";
	assert_wharf_ok(wharf_meta_upload_add(c->m, "repo", id, &err), err);
	uint64_t off = 99;
	assert_wharf_ok(wharf_meta_upload_get(c->m, "repo", id, &off, &err), err);
	assert_int_equal(off, 0);
	assert_wharf_ok(wharf_meta_upload_set_offset(c->m, id, 1234567, &err), err);
	assert_wharf_ok(wharf_meta_upload_get(c->m, "repo", id, &off, &err), err);
	assert_int_equal(off, 1234567);
	bool known = false;
	assert_wharf_ok(wharf_meta_upload_known(c->m, id, &known, &err), err);
	assert_true(known);

	/* The id alone does not open another repository's upload. */
	assert_wharf_err(wharf_meta_upload_get(c->m, "other", id, &off, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, id);

	/* An upload that was just written to is not stale; with a future cutoff it is. */
	struct wharf_strv stale = {0};
	int64_t now = wharf_now();
	assert_wharf_ok(wharf_meta_stale_uploads(c->m, now - 60, &stale, &err), err);
	assert_false(strv_has(&stale, id));
	wharf_strv_free(&stale);
	assert_wharf_ok(wharf_meta_stale_uploads(c->m, now + 60, &stale, &err), err);
	assert_true(strv_has(&stale, id));
	wharf_strv_free(&stale);

	assert_wharf_ok(wharf_meta_upload_remove(c->m, id, &err), err);
	assert_wharf_err(wharf_meta_upload_get(c->m, "repo", id, &off, &err), err, WHARF_ENOTFOUND);
	assert_wharf_ok(wharf_meta_upload_known(c->m, id, &known, &err), err);
	assert_false(known);

	/* An upload alone does not make a repository appear in the catalog. */
	struct wharf_strv repos = {0};
	bool more;
	assert_wharf_ok(wharf_meta_catalog(c->m, NULL, 0, &repos, &more, &err), err);
	assert_false(strv_has(&repos, "repo"));
	wharf_strv_free(&repos);
}

/* ---- manifests ---------------------------------------------------------------------------- */

static void manifest_put_and_get(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest config, layer, md;
	add_blob(c->m, "app", "{\"architecture\":\"amd64\"}", &config);
	add_blob(c->m, "app", "layer-data", &layer);
	char *json = image_json(&config, strlen("{\"architecture\":\"amd64\"}"), &layer, 10, NULL, NULL, NULL);
	assert_wharf_ok(put_manifest(c->m, "app", json, "v1", &md, &err), err);

	struct wharf_meta_manifest got;
	memset(&got, 0, sizeof(got));
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", "v1", &got, &err), err);
	assert_string_equal(got.digest, md.str);
	assert_string_equal(got.media_type, WHARF_MT_OCI_MANIFEST);
	assert_int_equal(got.size, strlen(json));
	memset(&got, 0, sizeof(got));
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", md.str, &got, &err), err);
	assert_string_equal(got.digest, md.str);

	/* Not visible from another repository, nor under another tag. */
	assert_wharf_err(wharf_meta_manifest_get(c->m, "other", md.str, &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", "v2", &got, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, "v2");
	free(json);
}

static void manifest_tag_moves(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest one, two;
	put_image(c->m, "app", "one", "latest", &one);
	put_image(c->m, "app", "two", "latest", &two);
	struct wharf_meta_manifest got;
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", "latest", &got, &err), err);
	assert_string_equal(got.digest, two.str);
	/* The first manifest is still there by digest. */
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", one.str, &got, &err), err);
	assert_string_equal(got.digest, one.str);
}

static void manifest_put_missing_layer_changes_nothing(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest old;
	put_image(c->m, "app", "old", "latest", &old);

	struct wharf_digest config, missing, md;
	add_blob(c->m, "app", "{\"new\":1}", &config);
	wharf_digest_buffer(WHARF_SHA256, "never uploaded", 14, &missing);
	char *json = image_json(&config, strlen("{\"new\":1}"), &missing, 14, NULL, NULL, NULL);
	int r = put_manifest(c->m, "app", json, "latest", &md, &err);
	assert_wharf_err(r, err, WHARF_ENOTFOUND);
	assert_contains(err.message, missing.str);

	/* No manifest row, no tag row: "latest" still names the old image. */
	struct wharf_meta_manifest got;
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", md.str, &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", "latest", &got, &err), err);
	assert_string_equal(got.digest, old.str);
	/* The manifest's own bytes were not registered as a blob either. */
	bool known = true;
	assert_wharf_ok(wharf_meta_blob_known(c->m, md.str, &known, &err), err);
	assert_false(known);

	/* Same with a new tag in a new repository: neither the tag nor the repository appears. */
	r = put_manifest(c->m, "fresh", json, "v1", &md, &err);
	assert_wharf_err(r, err, WHARF_ENOTFOUND);
	assert_wharf_err(wharf_meta_manifest_get(c->m, "fresh", "v1", &got, &err), err, WHARF_ENOTFOUND);
	struct wharf_strv tags = {0};
	bool more;
	assert_wharf_err(wharf_meta_tags(c->m, "fresh", NULL, 0, &tags, &more, &err), err, WHARF_ENOTFOUND);
	assert_int_equal(tags.n, 0);
	free(json);
}

static void manifest_put_blob_of_other_repo_is_missing(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	/* The layer exists, but in another repository: pushing a manifest must not link it. */
	struct wharf_digest config, layer, md;
	add_blob(c->m, "mine", "{\"c\":1}", &config);
	add_blob(c->m, "theirs", "their secret layer", &layer);
	char *json = image_json(&config, strlen("{\"c\":1}"), &layer, strlen("their secret layer"), NULL, NULL, NULL);
	assert_wharf_err(put_manifest(c->m, "mine", json, "x", &md, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, layer.str);
	uint64_t size;
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "mine", layer.str, &size, &err), err, WHARF_ENOTFOUND);
	free(json);
}

static void manifest_put_size_mismatch(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest config, layer, md;
	add_blob(c->m, "app", "{\"c\":2}", &config);
	add_blob(c->m, "app", "0123456789", &layer); /* 10 bytes */
	char *json = image_json(&config, strlen("{\"c\":2}"), &layer, 11, NULL, NULL, NULL);
	assert_wharf_err(put_manifest(c->m, "app", json, "bad", &md, &err), err, WHARF_EINVAL);
	assert_contains(err.message, layer.str);
	assert_contains(err.message, "10");
	assert_contains(err.message, "11");
	struct wharf_meta_manifest got;
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", "bad", &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", md.str, &got, &err), err, WHARF_ENOTFOUND);
	free(json);
}

static void manifest_index_needs_its_children(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest child, absent, idx;
	put_image(c->m, "multi", "amd64", NULL, &child);
	struct wharf_meta_manifest cm;
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "multi", child.str, &cm, &err), err);

	char *good = wharf_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
				     "\"digest\":\"%s\",\"size\":%" PRIu64 "}]}",
				     WHARF_MT_OCI_INDEX, WHARF_MT_OCI_MANIFEST, child.str, cm.size);
	assert_wharf_ok(put_manifest(c->m, "multi", good, "latest", &idx, &err), err);
	struct wharf_meta_manifest got;
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "multi", "latest", &got, &err), err);
	assert_string_equal(got.media_type, WHARF_MT_OCI_INDEX);

	wharf_digest_buffer(WHARF_SHA256, "not pushed", 10, &absent);
	char *bad = wharf_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
				    "\"digest\":\"%s\",\"size\":10}]}",
				    WHARF_MT_OCI_INDEX, WHARF_MT_OCI_MANIFEST, absent.str);
	assert_wharf_err(put_manifest(c->m, "multi", bad, "broken", &idx, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, absent.str);
	assert_contains(err.message, "manifest");
	free(good);
	free(bad);
}

static void manifest_foreign_layer_need_not_be_pushed(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest config, foreign, md;
	add_blob(c->m, "win", "{\"os\":\"windows\"}", &config);
	wharf_digest_buffer(WHARF_SHA256, "windows base layer", 18, &foreign);
	char *json = wharf_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
		"\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar\","
		"\"digest\":\"%s\",\"size\":18,\"urls\":[\"https://example.com/base\"]}]}",
		WHARF_MT_DOCKER_MANIFEST, config.str, strlen("{\"os\":\"windows\"}"), foreign.str);
	assert_wharf_ok(put_manifest(c->m, "win", json, "ltsc", &md, &err), err);
	struct wharf_meta_manifest got;
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "win", "ltsc", &got, &err), err);
	assert_string_equal(got.media_type, WHARF_MT_DOCKER_MANIFEST);
	free(json);
}

static void manifest_delete_removes_its_tags(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest doomed, kept;
	put_image(c->m, "app", "doomed", "v1", &doomed);
	/* A second tag on the same manifest. */
	{
		struct wharf_digest config, layer, again;
		add_blob(c->m, "app", "{\"config\":\"doomed\"}", &config);
		add_blob(c->m, "app", "layer-doomed", &layer);
		char *json = image_json(&config, strlen("{\"config\":\"doomed\"}"), &layer, strlen("layer-doomed"),
					NULL, NULL, NULL);
		assert_wharf_ok(put_manifest(c->m, "app", json, "stable", &again, &err), err);
		assert_string_equal(again.str, doomed.str);
		free(json);
	}
	put_image(c->m, "app", "kept", "v2", &kept);

	assert_wharf_ok(wharf_meta_manifest_delete(c->m, "app", doomed.str, &err), err);
	struct wharf_meta_manifest got;
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", doomed.str, &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", "v1", &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", "stable", &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", "v2", &got, &err), err);
	assert_string_equal(got.digest, kept.str);

	struct wharf_strv tags = {0};
	bool more;
	assert_wharf_ok(wharf_meta_tags(c->m, "app", NULL, 0, &tags, &more, &err), err);
	assert_int_equal(tags.n, 1);
	assert_string_equal(tags.v[0], "v2");
	wharf_strv_free(&tags);

	/* Deleting again, or in a repository that does not exist, is not found. */
	assert_wharf_err(wharf_meta_manifest_delete(c->m, "app", doomed.str, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, doomed.str);
	assert_wharf_err(wharf_meta_manifest_delete(c->m, "ghost", doomed.str, &err), err, WHARF_ENOTFOUND);
}

static void tag_delete_keeps_manifest(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest md;
	put_image(c->m, "app", "t", "gone", &md);
	assert_wharf_ok(wharf_meta_tag_delete(c->m, "app", "gone", &err), err);
	struct wharf_meta_manifest got;
	assert_wharf_err(wharf_meta_manifest_get(c->m, "app", "gone", &got, &err), err, WHARF_ENOTFOUND);
	assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", md.str, &got, &err), err);
	assert_wharf_err(wharf_meta_tag_delete(c->m, "app", "gone", &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, "gone");
}

/* ---- listing ------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Page through with page size n and check the pages join up to want, in order. */
static void expect_pages(struct wharf_meta *m, const char *repo, const char *const *want, size_t nwant, uint64_t n)
{
	struct wharf_error err = {0};
	size_t seen = 0;
	char *last = NULL;
	for (int guard = 0; guard < 100; guard++) {
		struct wharf_strv page = {0};
		bool more = true;
		int r = repo ? wharf_meta_tags(m, repo, last, n, &page, &more, &err)
			     : wharf_meta_catalog(m, last, n, &page, &more, &err);
		assert_wharf_ok(r, err);
		assert_true(page.n <= n);
		for (size_t i = 0; i < page.n; i++, seen++) {
			if (seen >= nwant)
				fail_msg("page size %" PRIu64 ": extra entry '%s'", n, page.v[i]);
			if (strcmp(page.v[i], want[seen]) != 0)
				fail_msg("page size %" PRIu64 ": entry %zu is '%s', want '%s'", n, seen, page.v[i],
					 want[seen]);
		}
		/* more is true exactly when entries remain. */
		if (more != (seen < nwant))
			fail_msg("page size %" PRIu64 ": more=%d after %zu of %zu", n, more, seen, nwant);
		free(last);
		last = page.n ? wharf_xstrdup(page.v[page.n - 1]) : NULL;
		wharf_strv_free(&page);
		if (!more)
			break;
	}
	free(last);
	assert_int_equal(seen, nwant);
}

static void tags_in_byte_order_with_paging(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	const char *names[] = {"latest", "v1.10", "v1.9", "V2", "_private", "10", "9", "a-b", "a.b", "A"};
	size_t n = sizeof(names) / sizeof(*names);
	struct wharf_digest md;
	put_image(c->m, "app", "tags", names[0], &md);
	struct wharf_manifest *man = NULL;
	char *json = NULL;
	{
		struct wharf_digest config, layer;
		add_blob(c->m, "app", "{\"config\":\"tags\"}", &config);
		add_blob(c->m, "app", "layer-tags", &layer);
		json = image_json(&config, strlen("{\"config\":\"tags\"}"), &layer, strlen("layer-tags"), NULL, NULL, NULL);
		assert_wharf_ok(wharf_manifest_parse(&man, NULL, json, strlen(json), &err), err);
	}
	for (size_t i = 1; i < n; i++)
		assert_wharf_ok(wharf_meta_manifest_put(c->m, "app", md.str, strlen(json), man, names[i], &err), err);
	wharf_manifest_free(man);
	free(json);

	/* Byte order: what strcmp says, not locale or natural order. */
	const char **sorted = wharf_xmalloc(n * sizeof(*sorted));
	memcpy(sorted, names, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);

	struct wharf_strv all = {0};
	bool more = true;
	assert_wharf_ok(wharf_meta_tags(c->m, "app", NULL, 0, &all, &more, &err), err);
	assert_false(more);
	assert_int_equal(all.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(all.v[i], sorted[i]);
	wharf_strv_free(&all);

	for (uint64_t page = 1; page <= n + 1; page++)
		expect_pages(c->m, "app", sorted, n, page);

	/* After the last tag, nothing; after a name between tags, the rest. */
	assert_wharf_ok(wharf_meta_tags(c->m, "app", sorted[n - 1], 5, &all, &more, &err), err);
	assert_int_equal(all.n, 0);
	assert_false(more);
	wharf_strv_free(&all);
	assert_wharf_ok(wharf_meta_tags(c->m, "app", "b", 0, &all, &more, &err), err);
	for (size_t i = 0; i < all.n; i++)
		assert_true(strcmp(all.v[i], "b") > 0);
	wharf_strv_free(&all);

	assert_wharf_err(wharf_meta_tags(c->m, "no/such/repo", NULL, 0, &all, &more, &err), err, WHARF_ENOTFOUND);
	assert_contains(err.message, "no/such/repo");
	free(sorted);
}

static void catalog_paging(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	const char *repos[] = {"zeta", "alpha/one", "alpha", "alpha-two", "beta/x/y", "b"};
	size_t n = sizeof(repos) / sizeof(*repos);
	for (size_t i = 0; i < n; i++) {
		struct wharf_digest d;
		add_blob(c->m, repos[i], repos[i], &d);
	}
	/* Present in the database, but holding nothing. */
	assert_wharf_ok(wharf_meta_upload_add(c->m, "empty", "ffffffffffffffffffffffffffffffff", &err), err);

	const char **sorted = wharf_xmalloc(n * sizeof(*sorted));
	memcpy(sorted, repos, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (uint64_t page = 1; page <= n + 1; page++)
		expect_pages(c->m, NULL, sorted, n, page);
	expect_pages(c->m, NULL, sorted, n, 1000);
	free(sorted);
}

/* ---- referrers ---------------------------------------------------------------------------- */

static json_t *referrers(struct wharf_meta *m, const char *repo, const char *subject, const char *type)
{
	struct wharf_error err = {0};
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "[");
	int r = wharf_meta_referrers(m, repo, subject, type, &b, &err);
	if (r < 0)
		fail_msg("referrers: %s", err.message);
	wharf_buf_puts(&b, "]");
	json_error_t jerr;
	json_t *arr = json_loads(b.data, 0, &jerr);
	if (!arr)
		fail_msg("referrers output is not JSON (%s): %s", jerr.text, b.data);
	wharf_buf_free(&b);
	return arr;
}

static json_t *find_by_digest(json_t *arr, const char *digest)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "digest")), digest))
			return v;
	return NULL;
}

static void referrers_filtered_by_artifact_type(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest subject, other, empty, sbom_blob, sig_blob;
	put_image(c->m, "app", "subject", "v1", &subject);
	put_image(c->m, "app", "other", "v2", &other);
	add_blob(c->m, "app", "{}", &empty);
	add_blob(c->m, "app", "{\"spdxVersion\":\"SPDX-2.3\"}", &sbom_blob);
	add_blob(c->m, "app", "signature-bytes", &sig_blob);

	char *sbom = image_json(&empty, 2, &sbom_blob, strlen("{\"spdxVersion\":\"SPDX-2.3\"}"), subject.str,
				"application/spdx+json", "{\"org.example.tool\":\"syft \\\"1.0\\\"\"}");
	char *sig = image_json(&empty, 2, &sig_blob, strlen("signature-bytes"), subject.str,
			       "application/vnd.dev.cosign.artifact.sig.v1+json", NULL);
	char *plain_ref = image_json(&empty, 2, NULL, 0, subject.str, "application/vnd.example.note", NULL);
	char *other_ref = image_json(&empty, 2, &sig_blob, strlen("signature-bytes"), other.str,
				     "application/vnd.dev.cosign.artifact.sig.v1+json", NULL);
	struct wharf_digest d_sbom, d_sig, d_plain, d_other;
	assert_wharf_ok(put_manifest(c->m, "app", sbom, NULL, &d_sbom, &err), err);
	assert_wharf_ok(put_manifest(c->m, "app", sig, NULL, &d_sig, &err), err);
	assert_wharf_ok(put_manifest(c->m, "app", plain_ref, NULL, &d_plain, &err), err);
	assert_wharf_ok(put_manifest(c->m, "app", other_ref, NULL, &d_other, &err), err);

	json_t *all = referrers(c->m, "app", subject.str, NULL);
	assert_int_equal(json_array_size(all), 3);
	json_t *e = find_by_digest(all, d_sbom.str);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "mediaType")), WHARF_MT_OCI_MANIFEST);
	assert_int_equal(json_integer_value(json_object_get(e, "size")), strlen(sbom));
	assert_string_equal(json_string_value(json_object_get(e, "artifactType")), "application/spdx+json");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "annotations"), "org.example.tool")),
			    "syft \"1.0\"");
	assert_non_null(find_by_digest(all, d_sig.str));
	assert_non_null(find_by_digest(all, d_plain.str));
	assert_null(find_by_digest(all, d_other.str));
	json_decref(all);

	json_t *sigs = referrers(c->m, "app", subject.str, "application/vnd.dev.cosign.artifact.sig.v1+json");
	assert_int_equal(json_array_size(sigs), 1);
	assert_non_null(find_by_digest(sigs, d_sig.str));
	json_decref(sigs);

	json_t *none = referrers(c->m, "app", subject.str, "application/vnd.example.nothing");
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);

	/* Referrers belong to their repository. */
	json_t *elsewhere = referrers(c->m, "other-repo", subject.str, NULL);
	assert_int_equal(json_array_size(elsewhere), 0);
	json_decref(elsewhere);

	/* Each subject has its own referrers. */
	json_t *of_other = referrers(c->m, "app", other.str, NULL);
	assert_int_equal(json_array_size(of_other), 1);
	json_decref(of_other);

	free(sbom);
	free(sig);
	free(plain_ref);
	free(other_ref);
}

/* ---- garbage collection ------------------------------------------------------------------- */

static void gc_candidates_respect_cutoff_and_references(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest config, layer, orphan, md;
	add_blob(c->m, "app", "{\"gc\":1}", &config);
	add_blob(c->m, "app", "gc layer", &layer);
	add_blob(c->m, "app", "orphan upload", &orphan);
	char *json = image_json(&config, strlen("{\"gc\":1}"), &layer, strlen("gc layer"), NULL, NULL, NULL);
	assert_wharf_ok(put_manifest(c->m, "app", json, "v1", &md, &err), err);

	int64_t now = wharf_now();
	struct wharf_strv cand = {0};
	/* Everything was used just now: nothing is older than a past cutoff. */
	assert_wharf_ok(wharf_meta_gc_candidates(c->m, now - 60, &cand, &err), err);
	assert_int_equal(cand.n, 0);
	wharf_strv_free(&cand);

	/* With a future cutoff, only the unreferenced blob qualifies. */
	assert_wharf_ok(wharf_meta_gc_candidates(c->m, now + 60, &cand, &err), err);
	assert_int_equal(cand.n, 1);
	assert_string_equal(cand.v[0], orphan.str);
	wharf_strv_free(&cand);

	/* The same manifest in a second repository keeps its blobs alive after it leaves the first. */
	uint64_t size;
	assert_wharf_ok(wharf_meta_blob_mount(c->m, "copy", "app", config.str, &size, &err), err);
	assert_wharf_ok(wharf_meta_blob_mount(c->m, "copy", "app", layer.str, &size, &err), err);
	struct wharf_digest md2;
	assert_wharf_ok(put_manifest(c->m, "copy", json, "v1", &md2, &err), err);
	assert_wharf_ok(wharf_meta_manifest_delete(c->m, "app", md.str, &err), err);
	assert_wharf_ok(wharf_meta_gc_candidates(c->m, now + 60, &cand, &err), err);
	assert_false(strv_has(&cand, config.str));
	assert_false(strv_has(&cand, layer.str));
	assert_false(strv_has(&cand, md.str));
	assert_true(strv_has(&cand, orphan.str));
	wharf_strv_free(&cand);

	/* Once no manifest anywhere refers to them, the config, the layer and the manifest go. */
	assert_wharf_ok(wharf_meta_manifest_delete(c->m, "copy", md2.str, &err), err);
	assert_wharf_ok(wharf_meta_gc_candidates(c->m, now + 60, &cand, &err), err);
	assert_int_equal(cand.n, 4);
	assert_true(strv_has(&cand, config.str));
	assert_true(strv_has(&cand, layer.str));
	assert_true(strv_has(&cand, md.str));
	assert_true(strv_has(&cand, orphan.str));
	wharf_strv_free(&cand);
	free(json);
}

static void gc_remove_blob(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest md, orphan, config;
	put_image(c->m, "app", "live", "v1", &md);
	add_blob(c->m, "app", "{\"config\":\"live\"}", &config); /* the image's config, re-added */
	add_blob(c->m, "app", "orphan", &orphan);
	uint64_t size;
	assert_wharf_ok(wharf_meta_blob_mount(c->m, "other", "app", orphan.str, &size, &err), err);
	int64_t now = wharf_now();

	bool removed = true;
	/* Too young for this cutoff: kept. */
	assert_wharf_ok(wharf_meta_gc_remove_blob(c->m, orphan.str, now - 60, &removed, &err), err);
	assert_false(removed);
	assert_wharf_ok(wharf_meta_blob_in_repo(c->m, "app", orphan.str, &size, &err), err);

	/* Referenced: kept whatever the cutoff. */
	assert_wharf_ok(wharf_meta_gc_remove_blob(c->m, config.str, now + 60, &removed, &err), err);
	assert_false(removed);
	assert_wharf_ok(wharf_meta_blob_in_repo(c->m, "app", config.str, &size, &err), err);
	assert_wharf_ok(wharf_meta_gc_remove_blob(c->m, md.str, now + 60, &removed, &err), err);
	assert_false(removed);

	/* A candidate: gone from every repository. */
	assert_wharf_ok(wharf_meta_gc_remove_blob(c->m, orphan.str, now + 60, &removed, &err), err);
	assert_true(removed);
	bool known = true;
	assert_wharf_ok(wharf_meta_blob_known(c->m, orphan.str, &known, &err), err);
	assert_false(known);
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "app", orphan.str, &size, &err), err, WHARF_ENOTFOUND);
	assert_wharf_err(wharf_meta_blob_in_repo(c->m, "other", orphan.str, &size, &err), err, WHARF_ENOTFOUND);

	/* Removing it again reports nothing removed. */
	assert_wharf_ok(wharf_meta_gc_remove_blob(c->m, orphan.str, now + 60, &removed, &err), err);
	assert_false(removed);
}

static void blob_touch_respects_min_age(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest d;
	add_blob(c->m, "app", "touch me", &d);
	int64_t now = wharf_now();
	/* Pretend it was last used 1000 seconds ago. */
	char *sql = wharf_xasprintf("UPDATE blobs SET last_used = %" PRId64 " WHERE digest = '%s'", now - 1000, d.str);
	sql_exec(c->db, sql);
	free(sql);
	struct wharf_strv cand = {0};
	assert_wharf_ok(wharf_meta_gc_candidates(c->m, now - 500, &cand, &err), err);
	assert_true(strv_has(&cand, d.str));
	wharf_strv_free(&cand);

	/* Used 1000 s ago, min_age one hour: recent enough, left as it is. */
	assert_wharf_ok(wharf_meta_blob_touch(c->m, d.str, 3600, &err), err);
	assert_wharf_ok(wharf_meta_gc_candidates(c->m, now - 500, &cand, &err), err);
	assert_true(strv_has(&cand, d.str));
	wharf_strv_free(&cand);

	/* min_age 100 s: stale, so the touch refreshes it and the collector spares it. */
	assert_wharf_ok(wharf_meta_blob_touch(c->m, d.str, 100, &err), err);
	assert_wharf_ok(wharf_meta_gc_candidates(c->m, now - 500, &cand, &err), err);
	assert_false(strv_has(&cand, d.str));
	wharf_strv_free(&cand);

	/* Touching an unknown blob is harmless. */
	assert_wharf_ok(wharf_meta_blob_touch(c->m, "sha256:" "0000000000000000000000000000000000000000000000000000000000000000",
					      0, &err), err);
}

static void storage_bytes_sums_blobs(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	uint64_t bytes = 1, blobs = 1;
	assert_wharf_ok(wharf_meta_storage_bytes(c->m, &bytes, &blobs, &err), err);
	assert_int_equal(bytes, 0);
	assert_int_equal(blobs, 0);
	struct wharf_digest a, b;
	add_blob(c->m, "x", "12345", &a);
	add_blob(c->m, "y", "1234567", &b);
	uint64_t size;
	assert_wharf_ok(wharf_meta_blob_mount(c->m, "z", "x", a.str, &size, &err), err); /* counted once */
	assert_wharf_ok(wharf_meta_storage_bytes(c->m, &bytes, &blobs, &err), err);
	assert_int_equal(bytes, 12);
	assert_int_equal(blobs, 2);
}

/* ---- the database file -------------------------------------------------------------------- */

static void reopen_keeps_data(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	struct wharf_digest md, blob;
	put_image(c->m, "app", "persist", "v1", &md);
	add_blob(c->m, "app", "loose blob", &blob);
	wharf_meta_close(c->m);
	c->m = NULL;

	for (int round = 0; round < 2; round++) {
		assert_wharf_ok(wharf_meta_open(&c->m, c->db, &err), err);
		struct wharf_meta_manifest got;
		assert_wharf_ok(wharf_meta_manifest_get(c->m, "app", "v1", &got, &err), err);
		assert_string_equal(got.digest, md.str);
		uint64_t size;
		assert_wharf_ok(wharf_meta_blob_in_repo(c->m, "app", blob.str, &size, &err), err);
		assert_int_equal(size, strlen("loose blob"));
		wharf_meta_close(c->m);
		c->m = NULL;
		/* The schema version stays at the current one: migrations ran once. */
		assert_int_equal(sql_int(c->db, "PRAGMA user_version"), wharf_meta_schema_version);
	}
	assert_wharf_ok(wharf_meta_open(&c->m, c->db, &err), err);
}

static void newer_schema_is_refused(void **state)
{
	struct ctx *c = *state;
	char *path = wharf_xasprintf("%s/future.db", c->dir);
	char *sql = wharf_xasprintf("PRAGMA user_version=%d;", wharf_meta_schema_version + 1);
	sql_exec(path, sql);
	struct wharf_error err = {0};
	struct wharf_meta *m = NULL;
	int r = wharf_meta_open(&m, path, &err);
	free(sql);
	free(path);
	/* A database written by a newer wharfd is not ours to touch; the caller hears why. */
	assert_wharf_err(r, err, WHARF_EUNSUPPORTED);
	char ver[16];
	snprintf(ver, sizeof(ver), "%d", wharf_meta_schema_version + 1);
	assert_contains(err.message, ver);
}

static void open_in_missing_directory_fails(void **state)
{
	struct ctx *c = *state;
	char *path = wharf_xasprintf("%s/no/such/dir/meta.db", c->dir);
	struct wharf_error err = {0};
	struct wharf_meta *m = NULL;
	int r = wharf_meta_open(&m, path, &err);
	assert_true(r < 0);
	assert_int_equal(err.code, -r);
	assert_contains(err.message, path);
	free(path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(blob_add_then_in_repo),
		T(blob_mount_links_across_repos),
		T(blob_mount_from_repo_lacking_it),
		T(blob_unlink),
		T(upload_lifecycle),
		T(manifest_put_and_get),
		T(manifest_tag_moves),
		T(manifest_put_missing_layer_changes_nothing),
		T(manifest_put_blob_of_other_repo_is_missing),
		T(manifest_put_size_mismatch),
		T(manifest_index_needs_its_children),
		T(manifest_foreign_layer_need_not_be_pushed),
		T(manifest_delete_removes_its_tags),
		T(tag_delete_keeps_manifest),
		T(tags_in_byte_order_with_paging),
		T(catalog_paging),
		T(referrers_filtered_by_artifact_type),
		T(gc_candidates_respect_cutoff_and_references),
		T(gc_remove_blob),
		T(blob_touch_respects_min_age),
		T(storage_bytes_sums_blobs),
		T(reopen_keeps_data),
		T(newer_schema_is_refused),
		T(open_in_missing_directory_fails),
	};
	return cmocka_run_group_tests_name("meta", tests, NULL, NULL);
}
