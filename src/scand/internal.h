/* Shared between the scan queue's files; not part of libwharf's public interface. */
#ifndef WHARF_SCAND_INTERNAL_H
#define WHARF_SCAND_INTERNAL_H

#include <pthread.h>

#include <sqlite3.h>

#include "wharf/pkg.h"
#include "wharf/scand.h"

struct wharf_scand {
	char *data_dir, *vulndb_path, *cache_dir;
	unsigned nworkers, poll_ms;
	struct wharf_store *store;
	sqlite3 *db;
	pthread_mutex_t lock; /* the connection */
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool stopping;
	bool work_pending; /* set by enqueue, so a worker need not wait for the poll */
	pthread_t *threads;
	size_t nthreads;
	char *last_generation; /* the generation the last check saw (under wake_lock) */
};

/* The job the worker claimed. */
struct claimed_job {
	char *digest;
	char *repo;
};

/* queue.c */
int queue_claim(struct wharf_scand *q, struct claimed_job *job, struct wharf_error *err);
int queue_finish(struct wharf_scand *q, const char *digest, const char *report, const char *generation,
		 const unsigned counts[5], struct wharf_error *err);
int queue_fail(struct wharf_scand *q, const char *digest, const char *message, bool transient,
	       struct wharf_error *err);

/* image.c: scan the image manifest digest from the blob store into r (packages, secrets). */
int scand_scan_image(struct wharf_scand *q, const char *digest, const char *repo, struct wharf_scan_result *r,
		     struct wharf_error *err);

/* match.c: match r against the database (when present) and render the report. */
int scand_match_and_report(struct wharf_scand *q, struct wharf_scan_result *r, char **report, char **generation,
			   unsigned counts[5], struct wharf_error *err);
/* The generation of the database now: "" when there is none. */
int scand_current_generation(struct wharf_scand *q, char **out, struct wharf_error *err);

#endif
