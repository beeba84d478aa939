/* scan/: what the files of the walker share and nobody else needs. */
#ifndef WHARF_SCAN_INTERNAL_H
#define WHARF_SCAN_INTERNAL_H

#include <archive.h>

#include "wharf/scan.h"

/* Walk the entries of an open tar archive (layer named by name, at index) into out: whiteouts,
 * opaque directories, os-release, and every regular file offered to the catalogers and the
 * secrets detector. When *stream_failed turns true the stream's error is already in err. */
int wharf_scan_walk_tar(struct archive *a, const char *name, int index, const struct wharf_scan_limits *lim,
			const bool *stream_failed, struct wharf_layer_analysis *out, struct wharf_error *err);

/* The cache key part that changes with the analyzer: version and the catalogers' names. */
const char *wharf_scan_analyzer_id(void);

#endif
