/* scan: the image scanner's walker. Each layer is read once, streaming (gzip, zstd or plain
 * tar; both digests checked in the same pass), its files offered to the catalogers and the
 * secrets detector; per-layer results are cached by layer digest; the image merge applies
 * whiteouts and attributes every package to the layer that introduced it. */
#ifndef WHARF_SCAN_H
#define WHARF_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "wharf/pkg.h"

/* Bumped whenever what a layer analysis holds changes, so old cache entries are not reused. */
#define WHARF_SCAN_ANALYZER_VERSION 1

/* Limits on one layer; hostile layers meet these, not the machine's limits. */
struct wharf_scan_limits {
	uint64_t max_layer_bytes;  /* uncompressed bytes per layer (tar bomb guard), default 64 GiB */
	uint64_t max_ratio;        /* uncompressed/compressed past 1 GiB (gzip bomb guard), default 200 */
	uint64_t max_entries;      /* tar entries per layer, default 2,000,000 */
	size_t max_path;           /* bytes of an entry's path, default 4096 */
	uint64_t max_file_read;    /* the largest file read into memory for a cataloger, default 256 MiB */
	uint64_t max_secret_file;  /* text files at most this size go to the secrets detector, default 1 MiB */
};
void wharf_scan_limits_default(struct wharf_scan_limits *l);

/* One file a cataloger read in a layer (even when it found no package: a later layer's empty
 * database replaces an earlier one). */
struct wharf_layer_file {
	char *path;
};

/* What one layer holds, as far as the image merge needs it. */
struct wharf_layer_analysis {
	char *digest; /* compressed digest as read */
	char *diffid; /* uncompressed digest as read */
	uint64_t compressed_size, uncompressed_size;
	struct wharf_strv whiteouts;  /* paths this layer deletes from the layers below */
	struct wharf_strv opaque;     /* directories whose lower contents this layer hides */
	struct wharf_strv files;      /* cataloged files (package databases, os-release) */
	struct wharf_pkg_list pkgs;   /* every package found; pkg->path names its file */
	struct wharf_os os[2];        /* etc/os-release and usr/lib/os-release when regular files here */
	bool os_found[2];
	struct wharf_secret_list secrets;
	struct wharf_strv warnings;   /* unreadable databases and the like; the scan goes on */
};
void wharf_layer_analysis_free(struct wharf_layer_analysis *a);

/* Reads up to len bytes of a compressed layer; 0 at its end, negative (filling err) on failure. */
typedef ssize_t (*wharf_scan_read_fn)(void *ctx, void *buf, size_t len, struct wharf_error *err);
/* Progress while a layer streams: compressed bytes read so far. */
typedef void (*wharf_scan_progress_fn)(void *ctx, int layer, uint64_t done, uint64_t total);

struct wharf_layer_input {
	int index;              /* the layer's position in the image (given to the secrets detector) */
	const char *digest;     /* expected compressed digest, NULL to skip the check */
	const char *diffid;     /* expected uncompressed digest, NULL to skip the check */
	uint64_t size;          /* expected compressed size, 0 when unknown */
	wharf_scan_read_fn read;
	void *ctx;
	wharf_scan_progress_fn progress;
	void *progress_ctx;
};

/* Read one layer end to end (detecting gzip, zstd or plain tar by magic), walk its tar entries
 * and fill out. Errors name the layer digest and the rule broken: a corrupt or truncated stream,
 * a digest or diff ID mismatch, a limit exceeded, an entry escaping the root. */
int wharf_scan_layer(const struct wharf_layer_input *in, const struct wharf_scan_limits *lim,
		     struct wharf_layer_analysis *out, struct wharf_error *err);

/* Normalise a tar entry name into out (size outsz): no leading "/" or "./", no "." components or
 * doubled slashes. WHARF_EINVAL for a ".." component (it would escape the root). */
int wharf_scan_normalize_path(const char *name, char *out, size_t outsz, struct wharf_error *err);

/* ---- per-layer cache: dir/<digest hex>-a<version>-<catalogers hash>.json ---- */

/* The analysis of layer digest from the cache: WHARF_ENOTFOUND when absent (or unreadable). */
int wharf_scan_cache_load(const char *dir, const char *digest, struct wharf_layer_analysis *out,
			  struct wharf_error *err);
/* Store a layer analysis (atomic write). */
int wharf_scan_cache_store(const char *dir, const struct wharf_layer_analysis *a, struct wharf_error *err);
/* The analysis as JSON and back (the cache format). */
char *wharf_layer_analysis_to_json(const struct wharf_layer_analysis *a);
int wharf_layer_analysis_from_json(const char *json, size_t len, struct wharf_layer_analysis *out,
				   struct wharf_error *err);

/* ---- image merge ---- */

/* Merge the layers' analyses (bottom first) into r: the visible package set after whiteouts and
 * opaque directories, each package attributed to the lowest layer from which it is continuously
 * present at its current version; secrets of every layer; the OS; r->layers must already hold
 * nlayers entries (their digests are copied into packages and secrets). */
int wharf_scan_merge(struct wharf_layer_analysis *layers, size_t nlayers, struct wharf_scan_result *r,
		     struct wharf_error *err);

/* ---- OS packages ---- */

/* Parse os-release text. */
int wharf_os_release_parse(const char *data, size_t len, struct wharf_os *out, struct wharf_error *err);
/* The package ecosystem for an OS id ("ubuntu" -> Ubuntu, "alpine" -> Alpine, ...), NULL if unknown. */
const char *wharf_os_ecosystem(const char *os_id);

/* Parse a dpkg status file (or a distroless status.d entry): installed packages only. */
int wharf_dpkg_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		     struct wharf_error *err);
/* Parse an apk installed database. */
int wharf_apk_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		    struct wharf_error *err);
/* Parse one rpm header blob (as stored in the rpmdb: index count, data length, entries, data). */
int wharf_rpm_header_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			   struct wharf_error *err);
/* Parse an rpmdb: sqlite (rpmdb.sqlite), Berkeley DB hash (Packages) or ndb (Packages.db). */
int wharf_rpmdb_sqlite_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			     struct wharf_error *err);
int wharf_rpmdb_bdb_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			  struct wharf_error *err);
int wharf_rpmdb_ndb_parse(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			  struct wharf_error *err);

/* ---- images ---- */

struct wharf_scan_opts {
	const char *cache_dir;  /* NULL: no cache */
	struct wharf_scan_limits limits;
	const char *platform_os, *platform_arch; /* from an index; default linux/amd64 */
	wharf_scan_progress_fn progress;
	void *progress_ctx;
};

/* Scan the image named by ref: "oci:DIR[:TAG]", "docker-archive:FILE" or
 * "docker://HOST[:PORT]/REPO(:TAG|@DIGEST)" (plain http for 127.0.0.1 and localhost). Fills r
 * with layers, OS, packages and secrets (findings are the vulnerability database's job). */
int wharf_scan_image(const char *ref, const struct wharf_scan_opts *o, struct wharf_scan_result *r,
		     struct wharf_error *err);

struct json_t;
/* Add to r->secrets what the secrets detector finds in an image config (the parsed config
 * blob) read as text: Env one KEY=VALUE a line ("config:Env"), Cmd and Entrypoint as command
 * lines, Labels as key=value lines (see wharf/lang.h). */
void wharf_scan_config_secrets(struct json_t *config, struct wharf_scan_result *r);

#endif
