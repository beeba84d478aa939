/* The scan workers: claim a job, scan, match, store; between jobs, watch the database
 * generation and queue stale results again. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static int scan_job(struct wharf_scand *q, const struct claimed_job *job, struct wharf_error *err)
{
	struct wharf_scan_result r = {0};
	_cleanup_free_ char *report = NULL;
	_cleanup_free_ char *gen = NULL;
	unsigned counts[5];
	uint64_t t0 = wharf_monotonic_us();
	int rc = scand_scan_image(q, job->digest, job->repo, &r, err);
	if (rc == 0)
		rc = scand_match_and_report(q, &r, &report, &gen, counts, err);
	if (rc == 0) {
		rc = queue_finish(q, job->digest, report, gen, counts, err);
		wharf_log(WHARF_LOG_INFO,
			  "scan done: %s (%s): %zu packages, %zu findings (critical %u, high %u), %zu secrets in %.3f s",
			  job->digest, job->repo, r.pkgs.n, r.findings.n, counts[4], counts[3], r.secrets.n,
			  (double)(wharf_monotonic_us() - t0) / 1e6);
	} else {
		wharf_log(WHARF_LOG_WARN, "scan failed: %s (%s): %s", job->digest, job->repo, err->message);
		struct wharf_error e2;
		rc = queue_fail(q, job->digest, err->message, err->code == WHARF_EBUSY, &e2);
		if (rc < 0)
			*err = e2;
	}
	wharf_scan_result_free(&r);
	return rc;
}

int wharf_scand_run_one(struct wharf_scand *q, struct wharf_error *err)
{
	struct claimed_job job = {0};
	int r = queue_claim(q, &job, err);
	if (r <= 0)
		return r;
	r = scan_job(q, &job, err);
	free(job.digest);
	free(job.repo);
	return r < 0 ? r : 1;
}

int wharf_scand_check_generation(struct wharf_scand *q, struct wharf_error *err)
{
	_cleanup_free_ char *gen = NULL;
	int r = scand_current_generation(q, &gen, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&q->wake_lock);
	bool changed = !q->last_generation || strcmp(q->last_generation, gen) != 0;
	if (changed) {
		free(q->last_generation);
		q->last_generation = wharf_xstrdup(gen);
	}
	pthread_mutex_unlock(&q->wake_lock);
	return changed ? wharf_scand_requeue_stale(q, gen, err) : 0;
}

/* Sleep until woken (enqueue, stop) or poll_ms pass; false when stopping. */
static bool wait_for_work(struct wharf_scand *q)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += q->poll_ms / 1000;
	ts.tv_nsec += (long)(q->poll_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_sec++, ts.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&q->wake_lock);
	while (!q->stopping && !q->work_pending)
		if (pthread_cond_timedwait(&q->wake, &q->wake_lock, &ts) == ETIMEDOUT)
			break;
	q->work_pending = false;
	bool go = !q->stopping;
	pthread_mutex_unlock(&q->wake_lock);
	return go;
}

static bool stopping(struct wharf_scand *q)
{
	pthread_mutex_lock(&q->wake_lock);
	bool s = q->stopping;
	pthread_mutex_unlock(&q->wake_lock);
	return s;
}

static void *worker_main(void *arg)
{
	struct wharf_scand *q = arg;
	while (!stopping(q)) {
		struct wharf_error err;
		if (wharf_scand_check_generation(q, &err) < 0)
			wharf_log(WHARF_LOG_WARN, "scan queue: %s", err.message);
		int r = 0;
		while (!stopping(q) && (r = wharf_scand_run_one(q, &err)) > 0)
			;
		if (r < 0)
			wharf_log(WHARF_LOG_ERROR, "scan queue: %s", err.message);
		if (!wait_for_work(q))
			break;
	}
	return NULL;
}

int wharf_scand_start(struct wharf_scand *q, struct wharf_error *err)
{
	q->threads = wharf_xcalloc(q->nworkers ? q->nworkers : 1, sizeof(*q->threads));
	for (unsigned i = 0; i < q->nworkers; i++) {
		int e = pthread_create(&q->threads[i], NULL, worker_main, q);
		if (e) {
			errno = e;
			return wharf_error_sys(err, "start scan worker %u", i);
		}
		q->nthreads++;
	}
	return 0;
}
