/* The second authorization pass of a manifest read (docs/auth-extensions.md, "What the server
 * passes, and when"). The auth stage runs before the manifest is known, so the policy's scan,
 * signed and labels conditions (and the plugins' X-Wharf-Scan-Max-Severity / X-Wharf-Signed)
 * cannot be answered there. Once reg_manifest_get has resolved the digest, and only when a plugin
 * or a rule needs image attributes, the plugins and the policy are asked again with them; each
 * attribute is looked up only when something needs it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"
#include "wharf/http.h"
#include "wharf/json.h"
#include "wharf/vulndb.h"

#define CONFIG_LABELS_MAX (4u << 20) /* image configs larger than this give no labels */

/* The highest severity of one image manifest's stored scan result: 0..4 (enum wharf_severity,
 * UNKNOWN 0 also standing for clean) with *scanned set, or *scanned false when it has none
 * (queued, failed, never queued: "not scanned" is never "clean"). */
static int digest_max_severity(struct wharf_registry *reg, const char *digest, bool *scanned)
{
	struct wharf_scand_job job = {0};
	struct wharf_error err;
	int max = -1;
	*scanned = false;
	if (wharf_scand_get(reg->scand, digest, false, &job, &err) < 0)
		wharf_log(WHARF_LOG_ERROR, "policy: scan result of %s: %s", digest, err.message);
	else if (job.has_result) {
		*scanned = true;
		for (int sev = WHARF_SEV_UNKNOWN; sev <= WHARF_SEV_CRITICAL; sev++)
			if (job.counts[sev])
				max = sev;
	}
	wharf_scand_job_free(&job);
	return max;
}

/* An index is as bad as its worst image, and unscanned while any of its images is. */
static int index_max_severity(struct wharf_registry *reg, const struct wharf_meta_manifest *mm, bool *scanned)
{
	struct wharf_error err = {0};
	struct wharf_digest md;
	_cleanup_free_ char *raw = NULL;
	size_t len = 0;
	struct wharf_manifest *man = NULL;
	int max = -1;
	*scanned = false;
	if (wharf_digest_parse(&md, mm->digest, &err) < 0 ||
	    wharf_store_blob_read(reg->store, &md, WHARF_MANIFEST_MAX, &raw, &len, &err) < 0 ||
	    wharf_manifest_parse(&man, mm->media_type, raw, len, &err) < 0) {
		wharf_log(WHARF_LOG_ERROR, "policy: scan result of index %s: %s", mm->digest, err.message);
		return -1;
	}
	size_t images = 0;
	bool all = true;
	for (size_t i = 0; all && i < man->n_refs; i++) {
		if (wharf_oci_manifest_kind(man->refs[i].media_type) != WHARF_MANIFEST_IMAGE)
			continue;
		bool one = false;
		int sev = digest_max_severity(reg, man->refs[i].digest.str, &one);
		all = one;
		max = sev > max ? sev : max;
		images++;
	}
	wharf_manifest_free(man);
	*scanned = images > 0 && all;
	return max;
}

/* The max severity name the policy and plugins see: NONE when clean, NULL when not scanned. */
static const char *image_scan_max_severity(struct wharf_registry *reg, const struct wharf_meta_manifest *mm)
{
	enum wharf_manifest_kind kind = wharf_oci_manifest_kind(mm->media_type);
	if (!reg->scand || (kind != WHARF_MANIFEST_IMAGE && kind != WHARF_MANIFEST_INDEX))
		return NULL;
	bool scanned = false;
	int max = kind == WHARF_MANIFEST_IMAGE ? digest_max_severity(reg, mm->digest, &scanned)
					       : index_max_severity(reg, mm, &scanned);
	if (!scanned)
		return NULL;
	return max < 0 ? "NONE" : wharf_severity_name(max);
}

/* Is tag signed as this manifest in the repository's trust data? The same check as
 * --require-signed. 1 yes, 0 no, -1 unknown (a pull by digest names no tag; a lookup error). */
static int image_signed_status(struct wharf_registry *reg, const char *name, const char *tag,
			       const struct wharf_meta_manifest *mm)
{
	if (!tag || !reg->trust)
		return -1;
	if (!wharf_str_has_prefix(mm->digest, "sha256:"))
		return 0; /* trust data signs sha256 digests only */
	struct wharf_error err;
	int r = wharf_trust_check_signed(reg->trust, name, tag, mm->digest + 7, mm->size, &err);
	if (r == -WHARF_ENOTFOUND)
		return 0;
	if (r < 0)
		wharf_log(WHARF_LOG_ERROR, "policy: signature of %s:%s: %s", name, tag, err.message);
	return r == 0 ? 1 : -1;
}

/* Copy the string members of src (an object, or NULL) into dst, keeping what dst has. */
static void merge_strings(json_t *dst, json_t *src)
{
	const char *key;
	json_t *v;
	json_object_foreach(src, key, v) {
		if (json_is_string(v) && !json_object_get(dst, key))
			json_object_set(dst, key, v);
	}
}

/* The image's labels: the config's config.Labels, then the manifest's annotations for keys the
 * labels lack. A new object (empty when there are none), or NULL for an index or on a read
 * error (then `labels` rules do not match). */
static json_t *image_labels(struct wharf_registry *reg, const struct wharf_meta_manifest *mm)
{
	if (wharf_oci_manifest_kind(mm->media_type) != WHARF_MANIFEST_IMAGE)
		return NULL;
	struct wharf_error err = {0};
	struct wharf_digest md;
	_cleanup_free_ char *raw = NULL;
	_cleanup_free_ char *cfg = NULL;
	size_t len = 0, cfg_len = 0;
	struct wharf_manifest *man = NULL;
	json_t *labels = NULL, *doc = NULL, *ann = NULL;
	if (wharf_digest_parse(&md, mm->digest, &err) < 0 ||
	    wharf_store_blob_read(reg->store, &md, WHARF_MANIFEST_MAX, &raw, &len, &err) < 0 ||
	    wharf_manifest_parse(&man, mm->media_type, raw, len, &err) < 0 || man->n_refs < 1 ||
	    wharf_store_blob_read(reg->store, &man->refs[0].digest, CONFIG_LABELS_MAX, &cfg, &cfg_len, &err) < 0 ||
	    wharf_json_parse(&doc, cfg, cfg_len, CONFIG_LABELS_MAX, &err) < 0) {
		wharf_log(WHARF_LOG_ERROR, "policy: labels of %s: %s", mm->digest, err.code ? err.message : "the manifest names no config");
		wharf_manifest_free(man);
		return NULL;
	}
	labels = json_object();
	merge_strings(labels, json_object_get(json_object_get(doc, "config"), "Labels"));
	if (man->annotations_json && wharf_json_parse(&ann, man->annotations_json, strlen(man->annotations_json),
						      WHARF_MANIFEST_MAX, &err) == 0)
		merge_strings(labels, ann);
	json_decref(ann);
	json_decref(doc);
	wharf_manifest_free(man);
	return labels;
}

bool reg_image_policy_allowed(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			      const char *tag, const struct wharf_meta_manifest *mm)
{
	unsigned needs = wharf_auth_image_needs(reg->auth);
	if (!needs) /* the fast path: nothing asks about the image */
		return true;
	json_t *labels = needs & WHARF_IMAGE_NEEDS_LABELS ? image_labels(reg, mm) : NULL;
	struct wharf_image_attrs img = {
		.digest = mm->digest,
		.scan_max_severity = needs & WHARF_IMAGE_NEEDS_SCAN ? image_scan_max_severity(reg, mm) : NULL,
		.signed_status = needs & WHARF_IMAGE_NEEDS_SIGNED ? image_signed_status(reg, name, tag, mm) : -1,
		.labels = labels,
	};
	struct wharf_access access = {
		.repository = name,
		.action = WHARF_ACTION_PULL,
		.authorization = wharf_http_header(req, "Authorization"),
		.host = wharf_http_header(req, "Host"),
		.tls = wharf_http_is_tls(req),
		.method = wharf_http_method(req),
		.uri = wharf_http_path(req),
		.tag = tag,
		.manifest_read = true,
	};
	struct wharf_auth_decision d;
	wharf_auth_decide_image(reg->auth, &access, &img, &d);
	json_decref(labels);
	if (d.allowed)
		return true;
	wharf_http_log_field(req, "auth", d.reason);
	reg_error(req, 403, "DENIED", "%s", d.reason);
	return false;
}
