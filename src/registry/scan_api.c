/* The scan results API (GET /api/v1/repositories/<name>/manifests/<digest>/vulnerabilities),
 * the enqueue-on-push hook and the pull policy gate. The queue itself is src/scand/. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "wharf/vulndb.h"

#define API_PREFIX "/api/v1/repositories/"
#define API_SUFFIX "/vulnerabilities"

bool reg_scan_api_route(const char *path, char *name, size_t namesz, size_t *name_len, char *digest, size_t digestsz)
{
	if (!wharf_str_has_prefix(path, API_PREFIX) || !wharf_str_has_suffix(path, API_SUFFIX))
		return false;
	const char *rest = path + strlen(API_PREFIX);
	size_t rest_len = strlen(rest) - strlen(API_SUFFIX);
	/* The name may hold "manifests" itself: the last "/manifests/" before the digest splits. */
	const char *mark = NULL;
	const size_t word = strlen("/manifests/");
	for (const char *p = rest; (p = strstr(p, "/manifests/")) && p + word <= rest + rest_len; p++)
		mark = p;
	if (!mark || mark == rest)
		return false;
	*name_len = (size_t)(mark - rest);
	snprintf(name, namesz, "%.*s", (int)*name_len, rest);
	const char *d = mark + word;
	snprintf(digest, digestsz, "%.*s", (int)(rest + rest_len - d), d);
	return true;
}

void reg_scan_enqueue(struct wharf_registry *reg, const char *repo, const char *digest,
		      const struct wharf_manifest *man)
{
	if (!reg->scand)
		return;
	struct wharf_error err;
	if (man->kind == WHARF_MANIFEST_IMAGE) {
		if (wharf_scand_enqueue(reg->scand, digest, repo, &err) < 0)
			wharf_log(WHARF_LOG_ERROR, "scan queue: %s", err.message);
		return;
	}
	for (size_t i = 0; man->kind == WHARF_MANIFEST_INDEX && i < man->n_refs; i++) {
		if (wharf_oci_manifest_kind(man->refs[i].media_type) != WHARF_MANIFEST_IMAGE)
			continue;
		if (wharf_scand_enqueue(reg->scand, man->refs[i].digest.str, repo, &err) < 0)
			wharf_log(WHARF_LOG_ERROR, "scan queue: %s", err.message);
	}
}

bool reg_scan_pull_allowed(struct wharf_registry *reg, struct wharf_http_request *req, const char *repo,
			   const struct wharf_meta_manifest *mm)
{
	if (!reg->scand || !reg->scan_policy.set || wharf_oci_manifest_kind(mm->media_type) != WHARF_MANIFEST_IMAGE)
		return true;
	_cleanup_free_ char *why = NULL;
	struct wharf_error err;
	int r = wharf_scand_policy_check(reg->scand, &reg->scan_policy, repo, mm->digest, &why, &err);
	if (r < 0) {
		reg_error_from(req, &err, "MANIFEST_UNKNOWN");
		return false;
	}
	if (r == 1) {
		wharf_log(WHARF_LOG_INFO, "pull of %s@%s refused: %s", repo, mm->digest, why);
		reg_error(req, 403, "DENIED", "%s", why);
		return false;
	}
	return true;
}

/* 202 while the first scan is pending, with the state as JSON. */
static void respond_pending(struct wharf_http_request *req, const char *digest, const struct wharf_scand_job *j)
{
	char *body = wharf_xasprintf("{\"digest\":\"%s\",\"status\":\"%s\"}\n", digest, wharf_scand_state_name(j->state));
	struct wharf_http_response *r = wharf_http_response_owned(202, body, strlen(body));
	wharf_http_response_header(r, "Content-Type", "application/json");
	wharf_http_response_header(r, "Retry-After", "1");
	wharf_http_respond(req, r);
}

static void respond_failed(struct wharf_http_request *req, const char *digest, const struct wharf_scand_job *j)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "digest", digest, "status", "failed", "error",
			      j->error ? j->error : "unknown");
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	reg_respond_json(req, 422, "application/json", body, strlen(body));
}

static void respond_report(struct wharf_http_request *req, const struct wharf_scand_job *j, char *body)
{
	struct wharf_http_response *r = wharf_http_response_owned(200, body, strlen(body));
	wharf_http_response_header(r, "Content-Type", "application/json");
	/* A rescan for a new database is pending: the report is the previous generation's. */
	wharf_http_response_header(r, "Wharf-Scan-Status", j->state == WHARF_SCAND_DONE     ? "current"
							   : j->state == WHARF_SCAND_FAILED ? "rescan-failed"
											    : "rescanning");
	wharf_http_response_header(r, "Wharf-Vulndb-Generation", j->generation ? j->generation : "");
	wharf_http_respond(req, r);
}

void reg_scan_vulnerabilities(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			      const char *ref)
{
	struct wharf_error err;
	struct wharf_digest d;
	if (wharf_digest_parse(&d, ref, &err) < 0) {
		reg_error(req, 400, "DIGEST_INVALID", "%s", err.message);
		return;
	}
	unsigned mask = 0;
	const char *sev = wharf_http_query(req, "severity");
	if (sev && wharf_severity_parse_list(sev, &mask, &err) < 0) {
		reg_error(req, 400, "INVALID_PARAMETER", "severity: %s", err.message);
		return;
	}
	struct wharf_meta_manifest mm;
	if (wharf_meta_manifest_get(reg->meta, name, d.str, &mm, &err) < 0) {
		reg_error_from(req, &err, "MANIFEST_UNKNOWN");
		return;
	}
	if (wharf_oci_manifest_kind(mm.media_type) != WHARF_MANIFEST_IMAGE) {
		reg_error(req, 404, "MANIFEST_UNKNOWN", "%s is a %s; ask for one of its platform image manifests",
			  mm.digest, mm.media_type);
		return;
	}
	struct wharf_scand_job j;
	if (wharf_scand_get(reg->scand, mm.digest, true, &j, &err) < 0) {
		reg_error_from(req, &err, "MANIFEST_UNKNOWN");
		return;
	}
	if (j.state == WHARF_SCAND_UNKNOWN) /* pushed before scanning was on: queue it now */
		if (wharf_scand_enqueue(reg->scand, mm.digest, name, &err) == 0)
			j.state = WHARF_SCAND_QUEUED;
	char *body = NULL;
	if (j.report && sev && wharf_scand_report_filter(j.report, mask, &body, &err) < 0)
		reg_error_from(req, &err, "UNKNOWN");
	else if (j.report)
		respond_report(req, &j, body ? body : wharf_steal(&j.report));
	else if (j.state == WHARF_SCAND_FAILED)
		respond_failed(req, mm.digest, &j);
	else
		respond_pending(req, mm.digest, &j);
	wharf_scand_job_free(&j);
}

/* The queue and the policy: the config's scan_policy, then the flags over its default. */
int reg_scan_open(struct wharf_registry *reg, struct wharf_error *err)
{
	const struct wharf_config *cfg = &reg->cfg;
	int r = 0;
	if (cfg->scan_policy)
		r = wharf_scan_policy_load(&reg->scan_policy, cfg->scan_policy, err);
	if (r == 0 && cfg->scan_block_severity) {
		int s = wharf_severity_from_name(cfg->scan_block_severity);
		if (s < 0)
			return wharf_error_set(err, WHARF_EINVAL,
					       "--scan-block-severity '%s' is not CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN",
					       cfg->scan_block_severity);
		reg->scan_policy.def.block_severity = s;
		reg->scan_policy.set = true;
	}
	if (r == 0 && cfg->scan_block_unscanned >= 0) {
		reg->scan_policy.def.block_unscanned = cfg->scan_block_unscanned == 1;
		reg->scan_policy.set = true;
	}
	if (r < 0)
		return r;
	struct wharf_scand_options o = {
		.data_dir = cfg->data_dir, .vulndb_path = cfg->vulndb_path, .workers = cfg->scan_workers,
		.store = reg->store,
	};
	return wharf_scand_open(&reg->scand, &o, err);
}

int wharf_registry_start_scanner(struct wharf_registry *reg, struct wharf_error *err)
{
	return reg->scand ? wharf_scand_start(reg->scand, err) : 0;
}

void reg_scan_metrics(struct wharf_registry *reg, struct wharf_buf *out)
{
	unsigned counts[5];
	struct wharf_error err;
	if (!reg->scand || wharf_scand_counts(reg->scand, counts, &err) < 0)
		return;
	wharf_buf_puts(out, "# HELP wharf_scan_jobs Images in the scan queue by state.\n# TYPE wharf_scan_jobs gauge\n");
	for (int s = WHARF_SCAND_QUEUED; s <= WHARF_SCAND_FAILED; s++)
		wharf_buf_printf(out, "wharf_scan_jobs{state=\"%s\"} %u\n", wharf_scand_state_name((enum wharf_scand_state)s),
				 counts[s]);
}
