/* run: what `wharf run` needs below the command line. Safe unpacking of image layers into a
 * rootfs cached by chain ID, the pool of user-namespace id ranges, the image config, the OCI
 * runtime bundle (config.json with namespaces, seccomp, no capabilities), the per-container
 * state directory and the invocation of an OCI runtime (runc or crun). */
#ifndef WHARF_RUN_H
#define WHARF_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "wharf/digest.h"
#include "wharf/util.h"

/* ---- unpack ---- */

/* Limits for one layer (defaults when 0). */
struct wharf_unpack_limits {
	uint64_t max_bytes;   /* uncompressed tar bytes of one layer (default 8 GiB) */
	uint64_t max_entries; /* entries of one layer (default 1,000,000) */
};

struct wharf_unpack_opts {
	struct wharf_unpack_limits limits;
	bool keep_suid; /* keep setuid/setgid bits (default: stripped) */
};

/* Compression of a layer blob, from its media type: plain tar or gzip. */
enum wharf_layer_compression { WHARF_LAYER_TAR, WHARF_LAYER_GZIP };
/* The compression of media_type; WHARF_EUNSUPPORTED for zstd or anything unknown. */
int wharf_layer_compression(const char *media_type, enum wharf_layer_compression *out, struct wharf_error *err);

/* Apply one layer (the bytes readable from fd) onto the directory rootfd: every path resolved
 * inside the root (openat2 RESOLVE_IN_ROOT, no magic links), whiteouts and opaque directories
 * applied, device nodes dropped, setuid/setgid stripped unless opts->keep_suid, hard links only
 * to entries inside the root. Ownership is kept as in the layer (unshifted). The uncompressed
 * stream is hashed into *diff_id (may be NULL). what names the layer in errors. */
int wharf_unpack_layer(int rootfd, int fd, enum wharf_layer_compression comp, const struct wharf_unpack_opts *opts,
		       const char *what, struct wharf_digest *diff_id, struct wharf_error *err);
/* The same from memory (for the fuzz target and the tests). */
int wharf_unpack_layer_mem(int rootfd, const void *data, size_t len, enum wharf_layer_compression comp,
			   const struct wharf_unpack_opts *opts, const char *what, struct wharf_digest *diff_id,
			   struct wharf_error *err);

/* Chain IDs per the OCI image spec: chain[0] = diff_ids[0], chain[n] = sha256(chain[n-1] + " " +
 * diff_ids[n]). out gets the chain ID of the whole list. n must be at least 1. */
void wharf_chain_id(const struct wharf_digest *diff_ids, size_t n, struct wharf_digest *out);

/* Remove the tree at name inside dirfd without following symlinks. Missing is fine. */
int wharf_remove_tree_at(int dirfd, const char *name, struct wharf_error *err);

/* ---- image config ---- */

#define WHARF_IMAGE_CONFIG_MAX (1024u * 1024)

struct wharf_image_config {
	struct wharf_strv env, entrypoint, cmd;
	char *working_dir; /* NULL when unset */
	char *user;        /* NULL when unset */
	size_t n_diff_ids;
	struct wharf_digest *diff_ids;
};
/* Parse an OCI/Docker image config (at most WHARF_IMAGE_CONFIG_MAX bytes). */
int wharf_image_config_parse(struct wharf_image_config *out, const char *data, size_t len, struct wharf_error *err);
void wharf_image_config_free(struct wharf_image_config *c);
/* The uid and gid of a User spec (uid, uid:gid, name, name:group; names looked up in the image's
 * /etc/passwd and /etc/group, read inside rootfs). Empty or NULL: 0:0. */
int wharf_user_resolve(const char *rootfs, const char *spec, uint32_t *uid, uint32_t *gid, struct wharf_error *err);

/* ---- user-namespace id pool ---- */

#define WHARF_USERNS_SIZE 65536u

/* The pool: ranges of WHARF_USERNS_SIZE ids. When /etc/subuid and /etc/subgid both give ranges to
 * user "wharf" (or, failing that, "root"), the pool is those ranges; otherwise it is
 * [base, base + count * 65536) with base $WHARF_USERNS_BASE (default 1,000,000,000) and count
 * $WHARF_USERNS_COUNT (default 1024), minus every range that overlaps any entry of /etc/subuid
 * or /etc/subgid. State: home/userns/pool (lines "BASE CONTAINER-ID"), changed under an flock of
 * home/userns/lock and written atomically (fsync). A transient range (a --rm container's, which
 * no reboot can outlive) is recorded instead in a file of the same format on the run directory's
 * tmpfs, without fsync; every allocation checks both files. */
int wharf_userns_alloc(const char *home, const char *owner, bool transient, uint32_t *base, struct wharf_error *err);
/* Release the range held by owner, durable or transient (nothing when it holds none). */
int wharf_userns_release(const char *home, const char *owner, struct wharf_error *err);
/* Parse --userns "HOSTBASE" or "HOSTBASE:SIZE" (1 <= SIZE <= 65536, default 65536; HOSTBASE > 0). */
int wharf_userns_parse_range(const char *s, uint32_t *base, uint32_t *size, struct wharf_error *err);

/* ---- bundle ---- */

struct wharf_mount_spec {
	char *source, *destination;
	bool readonly;
};

struct wharf_run_spec {
	const char *id;        /* the container ID */
	const char *hostname;
	const char *rootfs;    /* the bundle's rootfs path */
	bool readonly_rootfs;
	bool userns;           /* false: --userns host */
	uint32_t uid_base, uid_size;
	bool net_host;         /* false: a network namespace with loopback only */
	struct wharf_strv args, env;
	const char *cwd;
	uint32_t uid, gid;
	struct wharf_strv caps; /* CAP_ names to grant */
	size_t n_mounts;
	struct wharf_mount_spec *mounts;
	const char *secrets_dir; /* host tmpfs bound at /run/secrets, or NULL */
	bool terminal;
};

/* The OCI runtime config.json for spec, as a NUL-terminated JSON text the caller frees. */
char *wharf_bundle_config(const struct wharf_run_spec *spec);
/* The default seccomp profile (an allowlist) as JSON text (the caller frees). */
char *wharf_seccomp_default_json(void);
/* Is name a capability we know (CAP_ prefix optional)? *canon gets "CAP_NAME" (caller frees). */
bool wharf_cap_valid(const char *name, char **canon);

/* ---- idmapped mounts, overlay, runtime ---- */

/* Mount src at dst (which must exist) through an idmapped bind mount that shows id i as
 * base + i (for i < size). WHARF_EUNSUPPORTED when the kernel or file system refuses. */
int wharf_idmap_bind(const char *src, const char *dst, uint32_t base, uint32_t size, struct wharf_error *err);

/* A copy of the rootfs src with every owner moved by base (ids at or past size become
 * base + 65534), cached at "<src>-shift-<base>-<size>"; *out gets its path. The fallback of
 * wharf_container_mount_rootfs when idmapped mounts are refused (or WHARF_RUN_IDMAP=0). */
int wharf_rootfs_shifted(const char *src, uint32_t base, uint32_t size, char **out, struct wharf_error *err);

/* The runtime binary: name ("runc" or "crun", NULL: runc, then crun) found on PATH. An error
 * names the Debian package when it is missing. */
int wharf_runtime_find(const char *name, char **path, struct wharf_error *err);
/* Does this machine have cgroups in hybrid mode (crun needs the workaround there)? */
bool wharf_cgroup_hybrid(void);

/* ---- containers: state under home/containers/<id>/ ---- */

struct wharf_container {
	char id[33];
	char *name, *image, *digest, *runtime, *chain_id;
	char *dir;          /* home/containers/<id>: config.json, state.json, log, the overlay's upper layer */
	char *run_dir;      /* $WHARF_RUN_DIR/<id> (default /run/wharf/<id>, mode 0711): the mount points
			     * (rootfs, lower, secrets), reachable by the container's mapped root */
	int64_t created;
	bool userns, pooled; /* pooled: the range came from the pool (released by rm) */
	uint32_t uid_base, uid_size;
	bool detached, auto_remove, has_secrets;
	char *status;       /* created, running, exited */
	int exit_code;
};
void wharf_container_free(struct wharf_container *c);
/* Write dir/state.json atomically. */
int wharf_container_save(const struct wharf_container *c, struct wharf_error *err);
/* Load the container whose ID, unique ID prefix or name is key. WHARF_ENOTFOUND when none. */
int wharf_container_load(const char *home, const char *key, struct wharf_container *c, struct wharf_error *err);
/* Every container's ID, sorted by creation time. */
int wharf_container_list(const char *home, struct wharf_strv *ids, struct wharf_error *err);

/* Make sure $WHARF_RUN_DIR (default /run/wharf) is on a tmpfs, mounting one when it is not. */
int wharf_run_dir_prepare(struct wharf_error *err);
/* The directory for c's mount points and bundle (config.json): $WHARF_RUN_DIR/<id>, default /run/wharf/<id>. */
char *wharf_container_run_dir(const char *id);
/* Mount the container's root file system at run_dir/rootfs: an overlay whose lower layer is the
 * cached rootfs lower (through an idmapped mount at run_dir/lower when c->userns) and whose
 * upper layer is dir/upper. */
int wharf_container_mount_rootfs(struct wharf_container *c, const char *lower, struct wharf_error *err);
/* Mount the secrets tmpfs (0711, noswap when the kernel has it, at most 4 MiB) at run_dir/secrets and
 * return an fd of it for writing files. */
int wharf_container_secrets_tmpfs(struct wharf_container *c, int *dirfd, struct wharf_error *err);
/* Remount the secrets tmpfs read-only. */
int wharf_container_secrets_seal(struct wharf_container *c, struct wharf_error *err);
/* Unmount everything of c (rootfs, lower, secrets); missing mounts are fine. */
void wharf_container_unmount(const struct wharf_container *c);

/* Run the runtime (path) on the bundle c->run_dir: foreground, the exit status of the container
 * (128+signal when killed), or detached with stdout and stderr appended to dir/log (0 when it
 * started). Negative on failure to start. */
int wharf_runtime_run(const char *path, const char *home, struct wharf_container *c, struct wharf_error *err);
/* The runtime's status of c: "running", "stopped", "created", or NULL when it knows none. */
char *wharf_runtime_status(const char *path, const char *home, const struct wharf_container *c);
/* runtime kill c sig. */
int wharf_runtime_kill(const char *path, const char *home, const struct wharf_container *c, const char *sig,
		       struct wharf_error *err);
/* runtime delete --force c (nothing when the runtime does not know it). */
int wharf_runtime_delete(const char *path, const char *home, const struct wharf_container *c, struct wharf_error *err);

/* Unmount, delete from the runtime, remove the state directory and release the id range. */
int wharf_container_remove(const char *home, struct wharf_container *c, struct wharf_error *err);

/* The report hook: refuses the image (WHARF_EINVAL) when home/scan/<manifest hex>.json exists and
 * says "policy": "fail", or is not JSON; 0 when there is no report or it does not say fail. */
int wharf_run_policy_check(const char *home, const struct wharf_digest *manifest, struct wharf_error *err);

/* One layer of an image in the content store, for the scan gate. */
struct wharf_run_layer {
	const char *path;   /* the blob file */
	const char *digest; /* compressed digest */
	const char *diffid; /* uncompressed digest (the config's) */
	uint64_t size;
};
/* The scan gate (src/run/policy.c): walk the layers with the scanner (cached per layer under
 * home/cache/scan, as wharf scan does), match the packages against the vulnerability database
 * of home, and refuse (WHARF_EINVAL, naming the count, worst severity and an example) when a
 * finding is at or above fail_on (an enum wharf_severity). No database: WHARF_ENOTFOUND. */
int wharf_run_scan_gate(const char *home, const char *image, const struct wharf_run_layer *layers, size_t n,
			int fail_on, struct wharf_error *err);

#endif
