/* wharf_scan_image: open the source, take each layer's analysis from the cache or stream the
 * layer once, merge, and search the image config for secrets. */
#include <string.h>

#include <jansson.h>

#include "source.h"
#include "wharf/digest.h"
#include "wharf/json.h"

#define CONFIG_MAX (8u << 20)

int layer_job_run(struct layer_job *job, struct wharf_error *err)
{
	int r = wharf_scan_layer(&job->in, job->lim, job->out, err);
	job->done = true;
	return r;
}

struct config_info {
	json_t *root;
	json_t *diff_ids;
};

static int config_parse(const struct image_source *s, struct config_info *c, struct wharf_error *err)
{
	if (wharf_json_parse(&c->root, s->config, s->config_len, CONFIG_MAX, err) < 0)
		return wharf_error_prefix(err, "image config %s", s->config_digest);
	c->diff_ids = json_object_get(json_object_get(c->root, "rootfs"), "diff_ids");
	if (!json_is_array(c->diff_ids) || json_array_size(c->diff_ids) != s->nlayers)
		return wharf_error_set(err, WHARF_EINVAL, "image config %s: rootfs.diff_ids has %zu entries for %zu layers",
				       s->config_digest, json_array_size(c->diff_ids), s->nlayers);
	for (size_t i = 0; i < s->nlayers; i++) {
		struct wharf_digest d;
		if (wharf_digest_parse(&d, json_string_value(json_array_get(c->diff_ids, i)), err) < 0)
			return wharf_error_prefix(err, "image config %s: diff_ids[%zu]", s->config_digest, i);
	}
	return 0;
}

/* The history entries that made layers (empty_layer ones did not), in order. */
static void fill_layers(const struct image_source *s, const struct config_info *c, struct wharf_scan_result *r)
{
	r->nlayers = s->nlayers;
	r->layers = wharf_xcalloc(s->nlayers ? s->nlayers : 1, sizeof(*r->layers));
	size_t li = 0, i;
	json_t *h;
	json_array_foreach(json_object_get(c->root, "history"), i, h) {
		if (json_is_true(json_object_get(h, "empty_layer")))
			continue;
		const char *cb = json_string_value(json_object_get(h, "created_by"));
		if (li < s->nlayers && cb)
			r->layers[li].created_by = wharf_xstrdup(cb);
		li++;
	}
	for (i = 0; i < s->nlayers; i++) {
		r->layers[i].diffid = wharf_xstrdup(json_string_value(json_array_get(c->diff_ids, i)));
		r->layers[i].media_type = s->layers[i].media_type ? wharf_xstrdup(s->layers[i].media_type) : NULL;
		r->layers[i].size = s->layers[i].size;
	}
}

static void scan_config_text(const char *path, struct wharf_buf *b, struct wharf_scan_result *r)
{
	struct wharf_error e = {0};
	if (b->len && wharf_secrets_scan_buffer(path, (const unsigned char *)b->data, b->len, -1, &r->secrets, &e) < 0)
		wharf_log(WHARF_LOG_WARN, "secrets in %s: %s", path, e.message);
	b->len = 0;
}

void wharf_scan_config_secrets(struct json_t *config, struct wharf_scan_result *r)
{
	json_t *cfg = json_object_get(config, "config");
	struct wharf_buf b;
	wharf_buf_init(&b);
	static const char *const arrays[][2] = {{"Env", "config:Env"}, {"Cmd", "config:Cmd"},
						{"Entrypoint", "config:Entrypoint"}};
	for (size_t k = 0; k < 3; k++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(cfg, arrays[k][0]), i, v) {
			if (json_is_string(v))
				wharf_buf_printf(&b, "%s%s", json_string_value(v), k == 0 ? "\n" : " ");
		}
		scan_config_text(arrays[k][1], &b, r);
	}
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(cfg, "Labels"), key, v) {
		if (json_is_string(v))
			wharf_buf_printf(&b, "%s=%s\n", key, json_string_value(v));
	}
	scan_config_text("config:Labels", &b, r);
	wharf_buf_free(&b);
}

static void clone_analysis(const struct wharf_layer_analysis *src, struct wharf_layer_analysis *dst)
{
	_cleanup_free_ char *j = wharf_layer_analysis_to_json(src);
	struct wharf_error e = {0};
	if (wharf_layer_analysis_from_json(j, strlen(j), dst, &e) < 0)
		abort(); /* our own output always parses */
}

struct scan_state {
	struct image_source src;
	struct config_info cfg;
	struct wharf_layer_analysis *an;
	struct layer_job *jobs;
	size_t *dup_of;
	size_t njobs;
};

static void state_free(struct scan_state *st)
{
	for (size_t i = 0; i < st->src.nlayers && st->an; i++)
		wharf_layer_analysis_free(&st->an[i]);
	free(st->an);
	free(st->jobs);
	free(st->dup_of);
	json_decref(st->cfg.root);
	image_source_free(&st->src);
}

/* Decide per layer: cached, a duplicate of an earlier layer, or to be read. */
static void plan_layers(struct scan_state *st, const struct wharf_scan_opts *o, struct wharf_scan_result *r)
{
	size_t n = st->src.nlayers;
	st->an = wharf_xcalloc(n ? n : 1, sizeof(*st->an));
	st->jobs = wharf_xcalloc(n ? n : 1, sizeof(*st->jobs));
	st->dup_of = wharf_xcalloc(n ? n : 1, sizeof(*st->dup_of));
	for (size_t i = 0; i < n; i++) {
		const char *diffid = r->layers[i].diffid;
		const char *key = st->src.layers[i].digest ? st->src.layers[i].digest : diffid;
		st->dup_of[i] = SIZE_MAX;
		for (size_t j = 0; j < i && st->dup_of[i] == SIZE_MAX; j++) {
			const char *kj = st->src.layers[j].digest ? st->src.layers[j].digest : r->layers[j].diffid;
			if (!strcmp(kj, key))
				st->dup_of[i] = j;
		}
		if (st->dup_of[i] != SIZE_MAX)
			continue;
		struct wharf_error e = {0};
		if (o->cache_dir && wharf_scan_cache_load(o->cache_dir, key, &st->an[i], &e) == 0) {
			if (st->an[i].diffid && !strcmp(st->an[i].diffid, diffid))
				continue;
			wharf_layer_analysis_free(&st->an[i]);
		}
		struct layer_job *job = &st->jobs[st->njobs++];
		job->index = i;
		job->lim = &o->limits;
		job->out = &st->an[i];
		job->in.index = (int)i;
		job->in.digest = st->src.layers[i].digest;
		job->in.diffid = diffid;
		job->in.size = st->src.layers[i].size;
		job->in.progress = o->progress;
		job->in.progress_ctx = o->progress_ctx;
	}
}

static void store_analyses(struct scan_state *st, const struct wharf_scan_opts *o)
{
	for (size_t j = 0; o->cache_dir && j < st->njobs; j++) {
		struct wharf_error e = {0};
		if (wharf_scan_cache_store(o->cache_dir, &st->an[st->jobs[j].index], &e) < 0)
			wharf_log(WHARF_LOG_WARN, "scan cache: %s", e.message);
	}
}

int wharf_scan_image(const char *ref, const struct wharf_scan_opts *o, struct wharf_scan_result *r,
		     struct wharf_error *err)
{
	struct scan_state st = {0};
	int rc = image_source_open(&st.src, ref, o, err);
	if (rc == 0)
		rc = config_parse(&st.src, &st.cfg, err);
	if (rc == 0) {
		r->artifact = wharf_xstrdup(ref);
		r->manifest_digest = st.src.manifest_digest ? wharf_xstrdup(st.src.manifest_digest) : NULL;
		r->config_digest = wharf_xstrdup(st.src.config_digest);
		r->repo_tags = st.src.repo_tags ? wharf_xstrdup(st.src.repo_tags) : NULL;
		r->created = wharf_now();
		fill_layers(&st.src, &st.cfg, r);
		plan_layers(&st, o, r);
		rc = image_source_read_layers(&st.src, st.jobs, st.njobs, err);
	}
	if (rc == 0) {
		store_analyses(&st, o);
		for (size_t i = 0; i < st.src.nlayers; i++) {
			if (st.dup_of[i] != SIZE_MAX)
				clone_analysis(&st.an[st.dup_of[i]], &st.an[i]);
			r->layers[i].digest = wharf_xstrdup(st.an[i].digest);
			for (size_t k = 0; k < st.an[i].warnings.n; k++)
				wharf_log(WHARF_LOG_WARN, "layer %s: %s", st.an[i].digest, st.an[i].warnings.v[k]);
		}
		rc = wharf_scan_merge(st.an, st.src.nlayers, r, err);
	}
	if (rc == 0)
		wharf_scan_config_secrets(st.cfg.root, r);
	state_free(&st);
	return rc;
}
