#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"

int wharf_registry_lock_data(const char *data_dir, int *out_fd, struct wharf_error *err)
{
	int r = wharf_mkdir_p(data_dir, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = wharf_xasprintf("%s/wharfd.lock", data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return wharf_error_sys(err, "cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return wharf_error_set(err, WHARF_EBUSY,
					       "data directory %s is in use by a running wharfd (lock %s)", data_dir, path);
		errno = e;
		return wharf_error_sys(err, "cannot lock %s", path);
	}
	*out_fd = fd;
	return 0;
}

struct gc_run {
	struct wharf_registry *reg;
	bool dry_run;
	int64_t blob_cutoff;
	int64_t upload_cutoff;
	struct wharf_gc_report *report;
};

static uint64_t blob_file_size(struct wharf_registry *reg, const struct wharf_digest *d)
{
	int fd;
	uint64_t size = 0;
	if (wharf_store_blob_open(reg->store, d, &fd, &size, NULL) == 0)
		close(fd);
	return size;
}

/* Under the digest lock, so no upload or manifest of this digest is half done. */
static int collect_blob(struct gc_run *g, const char *digest_str, struct wharf_error *err)
{
	struct wharf_digest d;
	if (wharf_digest_parse(&d, digest_str, NULL) < 0)
		return 0;
	bool removed = g->dry_run;
	uint64_t size = blob_file_size(g->reg, &d);
	int r = 0;
	reg_lock_digest(g->reg, d.str);
	if (!g->dry_run)
		r = wharf_meta_gc_remove_blob(g->reg->meta, d.str, g->blob_cutoff, &removed, err);
	if (r == 0 && removed && !g->dry_run)
		r = wharf_store_blob_remove(g->reg->store, &d, err);
	reg_unlock_digest(g->reg, d.str);
	if (r == 0 && removed) {
		g->report->blobs_removed++;
		g->report->bytes_removed += size;
	}
	return r;
}

/* A file with no row: a crash came between the rename and the metadata commit. */
static void on_blob_file(void *ctx, const struct wharf_digest *d, int64_t mtime)
{
	struct gc_run *g = ctx;
	if (mtime >= g->blob_cutoff)
		return;
	reg_lock_digest(g->reg, d->str);
	bool known = true;
	if (wharf_meta_blob_known(g->reg->meta, d->str, &known, NULL) == 0 && !known) {
		if (g->dry_run || wharf_store_blob_remove(g->reg->store, d, NULL) == 0)
			g->report->orphan_files_removed++;
	}
	reg_unlock_digest(g->reg, d->str);
}

static void on_upload_file(void *ctx, const char *id, int64_t mtime)
{
	struct gc_run *g = ctx;
	bool known = true;
	if (mtime >= g->upload_cutoff)
		return;
	if (wharf_meta_upload_known(g->reg->meta, id, &known, NULL) == 0 && !known) {
		if (g->dry_run || wharf_store_upload_remove(g->reg->store, id) == 0)
			g->report->orphan_files_removed++;
	}
}

static int collect_uploads(struct gc_run *g, struct wharf_error *err)
{
	struct wharf_strv stale = {0};
	int r = wharf_meta_stale_uploads(g->reg->meta, g->upload_cutoff, &stale, err);
	for (size_t i = 0; r == 0 && i < stale.n; i++) {
		g->report->uploads_removed++;
		if (g->dry_run)
			continue;
		reg_upload_forget(g->reg, stale.v[i]);
		wharf_store_upload_remove(g->reg->store, stale.v[i]);
		r = wharf_meta_upload_remove(g->reg->meta, stale.v[i], err);
	}
	wharf_strv_free(&stale);
	if (r == 0)
		r = wharf_store_foreach_upload(g->reg->store, on_upload_file, g, err);
	return r;
}

int wharf_registry_gc(struct wharf_registry *reg, bool dry_run, struct wharf_gc_report *report,
		      struct wharf_error *err)
{
	memset(report, 0, sizeof(*report));
	int64_t now = wharf_now();
	struct gc_run g = {reg, dry_run, now - reg->cfg.gc_grace, now - reg->cfg.upload_ttl, report};
	pthread_mutex_lock(&reg->gc_lock);
	struct wharf_strv candidates = {0};
	int r = wharf_meta_gc_candidates(reg->meta, g.blob_cutoff, &candidates, err);
	for (size_t i = 0; r == 0 && i < candidates.n; i++)
		r = collect_blob(&g, candidates.v[i], err);
	wharf_strv_free(&candidates);
	if (r == 0)
		r = wharf_store_foreach_blob(reg->store, on_blob_file, &g, err);
	if (r == 0)
		r = collect_uploads(&g, err);
	if (r == 0 && !dry_run)
		r = wharf_store_remove_stale_temps(reg->store, g.upload_cutoff < g.blob_cutoff ? g.upload_cutoff : g.blob_cutoff,
						   &report->orphan_files_removed, err);
	uint64_t bytes = 0;
	if (r == 0)
		r = wharf_meta_storage_bytes(reg->meta, &bytes, &report->blobs_kept, err);
	pthread_mutex_unlock(&reg->gc_lock);
	return r;
}

static void *gc_thread_main(void *arg)
{
	struct wharf_registry *reg = arg;
	pthread_mutex_lock(&reg->stop_lock);
	while (!reg->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += reg->cfg.gc_interval;
		pthread_cond_timedwait(&reg->stop_cond, &reg->stop_lock, &until);
		if (reg->stopping)
			break;
		pthread_mutex_unlock(&reg->stop_lock);
		struct wharf_gc_report rep;
		struct wharf_error err;
		if (wharf_registry_gc(reg, false, &rep, &err) < 0)
			wharf_log(WHARF_LOG_ERROR, "online gc failed: %s", err.message);
		else
			wharf_log(WHARF_LOG_INFO, "online gc: removed %llu blobs (%llu bytes), %llu uploads, %llu orphan files; %llu blobs kept",
				  (unsigned long long)rep.blobs_removed, (unsigned long long)rep.bytes_removed,
				  (unsigned long long)rep.uploads_removed, (unsigned long long)rep.orphan_files_removed,
				  (unsigned long long)rep.blobs_kept);
		pthread_mutex_lock(&reg->stop_lock);
	}
	pthread_mutex_unlock(&reg->stop_lock);
	return NULL;
}

void wharf_registry_start_gc_thread(struct wharf_registry *reg)
{
	if (reg->cfg.gc_interval <= 0 || reg->gc_thread_started)
		return;
	if (pthread_create(&reg->gc_thread, NULL, gc_thread_main, reg) == 0)
		reg->gc_thread_started = true;
}
