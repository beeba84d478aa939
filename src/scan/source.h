/* scan/: image sources (OCI layout, docker-archive, registry) for image.c. */
#ifndef WHARF_SCAN_SOURCE_H
#define WHARF_SCAN_SOURCE_H

#include "scan-internal.h"

enum source_kind { SRC_OCI, SRC_ARCHIVE, SRC_REGISTRY };

struct source_layer {
	char *digest;       /* compressed digest; NULL for a legacy docker-archive layer until read */
	char *media_type;
	uint64_t size;
	char *archive_path; /* docker-archive: the entry holding it */
};

struct image_source {
	enum source_kind kind;
	char *artifact, *manifest_digest, *config_digest, *repo_tags;
	uint64_t config_size;
	char *config;
	size_t config_len;
	struct source_layer *layers;
	size_t nlayers;
	char *dir;          /* OCI: the layout; archive: the tar file */
	char *config_path;  /* archive: the config entry */
	char *base, *repo;  /* registry */
};

/* One layer to read: its input (read function filled by the source) and where the result goes. */
struct layer_job {
	size_t index;
	struct wharf_layer_input in;
	const struct wharf_scan_limits *lim;
	struct wharf_layer_analysis *out;
	bool done;
};
/* Run the walker on job (image.c). */
int layer_job_run(struct layer_job *job, struct wharf_error *err);

int image_source_open(struct image_source *s, const char *ref, const struct wharf_scan_opts *o,
		      struct wharf_error *err);
int image_source_set_manifest(struct image_source *s, const char *data, size_t len, struct wharf_error *err);
/* Stream the layers of jobs through layer_job_run (a docker-archive in one pass over the tar). */
int image_source_read_layers(struct image_source *s, struct layer_job *jobs, size_t njobs, struct wharf_error *err);
int image_source_archive_layers(struct image_source *s, struct layer_job *jobs, size_t njobs,
				struct wharf_error *err);
ssize_t image_source_fd_read(void *ctx, void *buf, size_t len, struct wharf_error *err);
void image_source_free(struct image_source *s);

#endif
