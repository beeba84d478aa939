/* The scan-policy gate of `wharf run`: the image's layers, straight from the content store,
 * walked by the scanner (src/scan), matched against the local vulnerability database
 * (src/vulndb); an image with a finding at or above the policy's severity does not run. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "wharf/run.h"
#include "wharf/scan.h"
#include "wharf/vulndb.h"

struct fd_reader {
	int fd;
};

static ssize_t read_fd(void *ctx, void *buf, size_t len, struct wharf_error *err)
{
	struct fd_reader *r = ctx;
	for (;;) {
		ssize_t n = read(r->fd, buf, len);
		if (n >= 0 || errno != EINTR)
			return n < 0 ? wharf_error_sys(err, "read layer") : n;
	}
}

/* The analysis of one layer: from the scanner's cache when there, else a walk of the blob. */
static int analyse_layer(const char *cache, const struct wharf_run_layer *l, int index,
			 struct wharf_layer_analysis *out, struct wharf_error *err)
{
	struct wharf_error e2;
	if (wharf_scan_cache_load(cache, l->digest, out, &e2) == 0)
		return 0;
	_cleanup_close_ int fd = open(l->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wharf_error_sys(err, "open layer %s", l->path);
	struct fd_reader rd = {fd};
	struct wharf_layer_input in = {.index = index, .digest = l->digest, .diffid = l->diffid, .size = l->size,
				       .read = read_fd, .ctx = &rd};
	struct wharf_scan_limits lim;
	wharf_scan_limits_default(&lim);
	int r = wharf_scan_layer(&in, &lim, out, err);
	if (r == 0)
		wharf_scan_cache_store(cache, out, &e2); /* a cache miss next time is all a failure costs */
	return r;
}

int wharf_run_scan_gate(const char *home, const char *image, const struct wharf_run_layer *layers, size_t n,
			int fail_on, struct wharf_error *err)
{
	_cleanup_free_ char *dbpath = wharf_vulndb_default_path(home);
	if (access(dbpath, F_OK) < 0)
		return wharf_error_set(err, WHARF_ENOTFOUND,
				       "the scan policy (fail on %s) needs a vulnerability database, and %s has none: "
				       "import one with 'wharf db import', or run without --fail-on",
				       wharf_severity_name(fail_on), dbpath);
	_cleanup_free_ char *cache = wharf_xasprintf("%s/cache/scan", home);
	int r = wharf_mkdir_p(cache, 0700, err);
	struct wharf_layer_analysis *an = wharf_xcalloc(n ? n : 1, sizeof(*an));
	struct wharf_scan_result res = {0};
	res.artifact = wharf_xstrdup(image);
	res.nlayers = n;
	res.layers = wharf_xcalloc(n ? n : 1, sizeof(*res.layers));
	for (size_t i = 0; i < n; i++) {
		res.layers[i].digest = wharf_xstrdup(layers[i].digest);
		res.layers[i].diffid = wharf_xstrdup(layers[i].diffid);
		res.layers[i].size = layers[i].size;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		r = analyse_layer(cache, &layers[i], (int)i, &an[i], err);
	if (r == 0)
		r = wharf_scan_merge(an, n, &res, err);
	struct wharf_vulndb *db = NULL;
	if (r == 0)
		r = wharf_vulndb_open(&db, dbpath, err);
	if (r == 0)
		r = wharf_vulndb_match(db, &res, err);
	wharf_vulndb_close(db);
	if (r == 0) {
		int worst = wharf_report_max_severity(&res);
		size_t count = 0;
		const char *example = NULL, *pkg = NULL;
		for (size_t i = 0; i < res.findings.n; i++)
			if (res.findings.v[i].severity && wharf_severity_from_name(res.findings.v[i].severity) >= fail_on) {
				count++;
				if (!example) {
					example = res.findings.v[i].id;
					pkg = res.findings.v[i].pkg_name;
				}
			}
		if (worst >= 0 && worst >= fail_on)
			r = wharf_error_set(err, WHARF_EINVAL,
					    "the scan policy refuses %s: %zu finding%s at or above %s (worst %s, e.g. %s in %s); "
					    "see 'wharf scan'",
					    image, count, count == 1 ? "" : "s", wharf_severity_name(fail_on),
					    wharf_severity_name(worst), example ? example : "?", pkg ? pkg : "?");
	} else {
		wharf_error_prefix(err, "scan of %s for the policy", image);
	}
	for (size_t i = 0; i < n; i++)
		wharf_layer_analysis_free(&an[i]);
	free(an);
	wharf_scan_result_free(&res);
	return r;
}
