/* wharf run: a verified image, unpacked safely into a cached rootfs, run in its own user
 * namespace (a range from the pool) through runc or crun with a restrictive config. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "front.h"
#include "wharf/client.h"
#include "wharf/oci.h"
#include "wharf/run.h"
#include "wharf/secrets.h"
#include "wharf/vulndb.h"

struct run_opts {
	int fail_on; /* an enum wharf_severity, or -1: no scan gate */
	bool rm, detach, read_only, no_trust, keep_suid, net_host;
	const char *name, *userns, *runtime, *registry, *user, *workdir, *entrypoint;
	struct wharf_strv env, volumes, secrets, caps;
};

static void run_usage(FILE *out)
{
	fputs("Usage: wharf run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
	      "\n"
	      "Run a container from IMAGE. The tag is resolved through content trust (as by wharf pull;\n"
	      "an unsigned image is refused unless --disable-content-trust), the image is pulled by digest\n"
	      "into $WHARF_HOME/content, checked against the scan policy, and its layers are unpacked\n"
	      "safely into $WHARF_HOME/rootfs/<chain ID> (once per image). The container gets its own\n"
	      "user, mount, pid, ipc, uts and network (loopback only) namespaces; its root is mapped to a\n"
	      "65,536-id range of host ids from the pool, no capabilities, no_new_privs, a seccomp\n"
	      "allowlist. Secrets come only through a tmpfs at /run/secrets. The exit status of the\n"
	      "container becomes wharf's.\n"
	      "\n"
	      "Options:\n"
	      "      --rm                       remove the container when it exits\n"
	      "      --name NAME                a name for the container (default: the first 12 ID characters)\n"
	      "  -d, --detach                   run in the background; output goes to `wharf logs`\n"
	      "  -e, --env KEY=VALUE|KEY        set a variable (KEY alone: its value here)\n"
	      "  -v, --volume SRC:DST[:ro]      bind mount host directory or file SRC at DST\n"
	      "  -u, --user USER[:GROUP]        the user to run as (default: the image's, else 0)\n"
	      "  -w, --workdir DIR              the working directory (default: the image's, else /)\n"
	      "      --entrypoint CMD           replace the image's entrypoint\n"
	      "      --read-only                mount the root file system read-only\n"
	      "      --userns auto|host|BASE[:SIZE]\n"
	      "                                 auto (default): a range from the pool; host: no user namespace\n"
	      "                                 (container root is host root); BASE: the fixed map 0 -> BASE\n"
	      "      --secret NAME[,target=FILE,uid=U,gid=G,mode=M]\n"
	      "                                 the secret NAME of `wharf secret` at /run/secrets/FILE\n"
	      "                                 (default FILE = NAME, 0:0, mode 0400)\n"
	      "      --cap-add CAP              grant a capability (default: none)\n"
	      "      --network none|host        none (default): loopback only; host: the host's network\n"
	      "      --runtime runc|crun        the OCI runtime (default: runc, else crun, found on PATH)\n"
	      "      --registry URL             the registry (as for wharf pull)\n"
	      "      --disable-content-trust    resolve the tag with the registry, unverified\n"
	      "      --keep-suid                keep setuid/setgid bits when unpacking (default: stripped)\n"
	      "      --fail-on SEVERITY         the scan policy: refuse the image when the scanner and the local\n"
	      "                                 vulnerability database (wharf db) find anything at or above\n"
	      "                                 SEVERITY (LOW, MEDIUM, HIGH, CRITICAL); default $WHARF_RUN_FAIL_ON,\n"
	      "                                 else no scan\n"
	      "  -h, --help                     show this help\n"
	      "\n"
	      "Exit status: the container's exit status (128+N when killed by signal N) in the foreground;\n"
	      "0 when a detached container started; 125 when wharf itself fails before the container runs\n"
	      "(as docker run); 2 bad usage.\n",
	      out);
}

#define EXIT_RUN_FAILED 125

/* WHARF_RUN_TRACE=1: the time of each phase of `wharf run` on stderr (docs/benchmarks.md). */
static uint64_t trace_t0, trace_last;
static bool trace_on;

static void trace(const char *phase)
{
	if (!trace_on)
		return;
	uint64_t now = wharf_monotonic_us();
	fprintf(stderr, "wharf run trace: %-16s %7.2f ms (at %7.2f ms)\n", phase, (double)(now - trace_last) / 1000.0,
		(double)(now - trace_t0) / 1000.0);
	trace_last = now;
}

static int parse_opts(int argc, char **argv, struct run_opts *o)
{
	enum { OPT_RM = 256, OPT_NAME, OPT_READ_ONLY, OPT_USERNS, OPT_SECRET, OPT_CAP_ADD, OPT_NETWORK, OPT_RUNTIME,
	       OPT_NO_TRUST, OPT_REGISTRY, OPT_KEEP_SUID, OPT_ENTRYPOINT, OPT_FAIL_ON };
	static const struct option opts[] = {
		{"rm", no_argument, NULL, OPT_RM},
		{"name", required_argument, NULL, OPT_NAME},
		{"detach", no_argument, NULL, 'd'},
		{"env", required_argument, NULL, 'e'},
		{"volume", required_argument, NULL, 'v'},
		{"user", required_argument, NULL, 'u'},
		{"workdir", required_argument, NULL, 'w'},
		{"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
		{"read-only", no_argument, NULL, OPT_READ_ONLY},
		{"userns", required_argument, NULL, OPT_USERNS},
		{"secret", required_argument, NULL, OPT_SECRET},
		{"cap-add", required_argument, NULL, OPT_CAP_ADD},
		{"network", required_argument, NULL, OPT_NETWORK},
		{"runtime", required_argument, NULL, OPT_RUNTIME},
		{"registry", required_argument, NULL, OPT_REGISTRY},
		{"disable-content-trust", no_argument, NULL, OPT_NO_TRUST},
		{"keep-suid", no_argument, NULL, OPT_KEEP_SUID},
		{"fail-on", required_argument, NULL, OPT_FAIL_ON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	const char *fail_on = getenv("WHARF_RUN_FAIL_ON");
	optind = 0;
	/* "+": options stop at IMAGE, so the command's own options stay its own */
	while ((c = getopt_long(argc, argv, "+de:v:u:w:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RM: o->rm = true; break;
		case OPT_NAME: o->name = optarg; break;
		case 'd': o->detach = true; break;
		case 'e': wharf_strv_push(&o->env, optarg); break;
		case 'v': wharf_strv_push(&o->volumes, optarg); break;
		case 'u': o->user = optarg; break;
		case 'w': o->workdir = optarg; break;
		case OPT_ENTRYPOINT: o->entrypoint = optarg; break;
		case OPT_READ_ONLY: o->read_only = true; break;
		case OPT_USERNS: o->userns = optarg; break;
		case OPT_SECRET: wharf_strv_push(&o->secrets, optarg); break;
		case OPT_CAP_ADD: {
			char *canon = NULL;
			if (!wharf_cap_valid(optarg, &canon)) {
				fprintf(stderr, "wharf run: --cap-add %s: not a Linux capability\n", optarg);
				return EXIT_USAGE;
			}
			wharf_strv_push_owned(&o->caps, canon);
			break;
		}
		case OPT_NETWORK:
			if (strcmp(optarg, "none") && strcmp(optarg, "host")) {
				fprintf(stderr, "wharf run: --network %s: want none or host\n", optarg);
				return EXIT_USAGE;
			}
			o->net_host = !strcmp(optarg, "host");
			break;
		case OPT_RUNTIME: o->runtime = optarg; break;
		case OPT_REGISTRY: o->registry = optarg; break;
		case OPT_NO_TRUST: o->no_trust = true; break;
		case OPT_KEEP_SUID: o->keep_suid = true; break;
		case OPT_FAIL_ON: fail_on = optarg; break;
		case 'h': run_usage(stdout); return EXIT_OK;
		default: run_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("wharf run: expected an image reference (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	o->fail_on = -1;
	if (fail_on && *fail_on && (o->fail_on = wharf_severity_from_name(fail_on)) < 0) {
		fprintf(stderr, "wharf run: --fail-on %s: not a severity (LOW, MEDIUM, HIGH, CRITICAL)\n", fail_on);
		return EXIT_USAGE;
	}
	if (o->rm && o->detach) {
		fputs("wharf run: --rm with -d: no process stays to remove the container; use 'wharf rm' after it exits\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (o->name && (!*o->name || strlen(o->name) > 64 || strspn(o->name, "abcdefghijklmnopqrstuvwxyz"
									   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
									   strlen(o->name))) {
		fprintf(stderr, "wharf run: --name '%s': want 1-64 of [a-zA-Z0-9_.-]\n", o->name);
		return EXIT_USAGE;
	}
	return -1;
}

static void run_opts_free(struct run_opts *o)
{
	wharf_strv_free(&o->env);
	wharf_strv_free(&o->volumes);
	wharf_strv_free(&o->secrets);
	wharf_strv_free(&o->caps);
}

/* ---- the image ---- */

struct image {
	char *name;
	struct wharf_pull_result pull;
	struct wharf_image_config config;
	struct wharf_digest chain_id;
	char *rootfs; /* home/rootfs/<chain hex> */
};

#ifdef WHARF_RUN_FRONT
/* The front only reads blobs from the content store, at ROOT/blobs/ALG/HEX, the layout of
 * src/client/content_store.c; linking that module would link the puller and libcurl. A store
 * that does not exist yet has no blob: the full CLI then pulls. */
struct wharf_content_store {
	char *root;
};

static int store_open(struct wharf_content_store **out, const char *root, struct wharf_error *err)
{
	(void)err;
	*out = wharf_xcalloc(1, sizeof(**out));
	(*out)->root = wharf_xstrdup(root);
	return 0;
}

static char *store_blob_path(const struct wharf_content_store *cs, const struct wharf_digest *d)
{
	return wharf_xasprintf("%s/blobs/%s/%s", cs->root, wharf_digest_alg_name(d->alg), wharf_digest_hex(d));
}

static void store_free(struct wharf_content_store *cs)
{
	if (cs)
		free(cs->root);
	free(cs);
}
#else
#define store_open wharf_content_store_open
#define store_blob_path wharf_content_store_blob_path
#define store_free wharf_content_store_free
#endif

static int read_blob(struct wharf_content_store *cs, const struct wharf_descriptor *d, char **out, size_t *len,
		     struct wharf_error *err)
{
	_cleanup_free_ char *p = store_blob_path(cs, &d->digest);
	return wharf_read_file(p, WHARF_IMAGE_CONFIG_MAX, out, len, err);
}

#ifndef WHARF_RUN_FRONT
/* Unpack every layer into a fresh directory, checking each diff ID, then rename it into place. */
static int unpack_image(struct wharf_content_store *cs, struct image *im, const char *home, bool keep_suid,
			struct wharf_error *err)
{
	_cleanup_free_ char *parent = wharf_xasprintf("%s/rootfs", home);
	int r = wharf_mkdir_p(parent, 0700, err);
	char rnd[17];
	if (r == 0)
		r = wharf_random_hex(rnd, 8, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = wharf_xasprintf("%s/.tmp-%s", parent, rnd);
	if (mkdir(tmp, 0755) < 0)
		return wharf_error_sys(err, "mkdir %s", tmp);
	_cleanup_close_ int rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct wharf_unpack_opts uo = {.keep_suid = keep_suid};
	for (size_t i = 0; r == 0 && i < im->pull.n_layers; i++) {
		const struct wharf_descriptor *l = &im->pull.layers[i];
		enum wharf_layer_compression comp;
		r = wharf_layer_compression(l->media_type, &comp, err);
		if (r < 0)
			break;
		_cleanup_free_ char *p = store_blob_path(cs, &l->digest);
		_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = wharf_error_sys(err, "open layer %s", p);
			break;
		}
		_cleanup_free_ char *what = wharf_xasprintf("layer %zu (%s)", i, l->digest.str);
		struct wharf_digest diff;
		r = wharf_unpack_layer(rootfd, fd, comp, &uo, what, &diff, err);
		if (r == 0 && !wharf_digest_equal(&diff, &im->config.diff_ids[i]))
			r = wharf_error_set(err, WHARF_EDIGEST, "%s: uncompressed digest %s, the config says %s", what,
					    diff.str, im->config.diff_ids[i].str);
	}
	if (r == 0 && fsync(rootfd) < 0)
		r = wharf_error_sys(err, "fsync %s", tmp);
	if (r == 0 && rename(tmp, im->rootfs) < 0 && errno != ENOTEMPTY && errno != EEXIST)
		r = wharf_error_sys(err, "rename %s", im->rootfs);
	if (access(tmp, F_OK) == 0) { /* failed, or another run unpacked the same chain first */
		struct wharf_error e2;
		_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		wharf_remove_tree_at(pfd, strrchr(tmp, '/') + 1, &e2);
	}
	return r;
}

#endif

/* An image named by digest whose manifest is already in the store is taken from there: the
 * manifest bytes are hashed again, and the store keeps a manifest only after all its blobs
 * (src/client/pull.c). 1 when found, 0 when the network is needed. */
static int local_image(struct wharf_content_store *cs, const char *arg, struct image *im, struct wharf_error *err)
{
	struct wharf_oci_ref ref;
	if (wharf_oci_ref_parse(&ref, arg, err) < 0)
		return 0; /* the pull path reports it */
	int found = 0;
	_cleanup_free_ char *p = ref.has_digest ? store_blob_path(cs, &ref.digest) : NULL;
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct wharf_error e2;
	struct wharf_manifest *m = NULL;
	struct wharf_digest d;
	if (p && wharf_read_file(p, WHARF_MANIFEST_MAX, &data, &len, &e2) == 0) {
		wharf_digest_buffer(ref.digest.alg, data, len, &d);
		if (wharf_digest_equal(&d, &ref.digest) && wharf_manifest_parse(&m, NULL, data, len, &e2) == 0 &&
		    m->kind == WHARF_MANIFEST_IMAGE && m->n_refs > 0) {
			struct wharf_pull_result *r = &im->pull;
			r->manifest = d;
			r->manifest_size = len;
			r->media_type = wharf_xstrdup(m->media_type);
			r->config = m->refs[0];
			r->config.media_type = wharf_xstrdup(m->refs[0].media_type);
			r->layers = wharf_xcalloc(m->n_refs, sizeof(*r->layers));
			for (size_t i = 1; i < m->n_refs; i++) {
				r->layers[r->n_layers] = m->refs[i];
				r->layers[r->n_layers++].media_type = wharf_xstrdup(m->refs[i].media_type);
			}
			im->name = wharf_xstrdup(arg);
			found = 1;
		}
	}
	wharf_manifest_free(m);
	wharf_oci_ref_free(&ref);
	return found;
}

#ifndef WHARF_RUN_FRONT
static int scan_gate(struct wharf_content_store *cs, const struct image *im, const char *home, int fail_on,
		     struct wharf_error *err)
{
	size_t n = im->pull.n_layers;
	struct wharf_run_layer *l = wharf_xcalloc(n, sizeof(*l));
	for (size_t i = 0; i < n; i++) {
		l[i].path = store_blob_path(cs, &im->pull.layers[i].digest);
		l[i].digest = im->pull.layers[i].digest.str;
		l[i].diffid = im->config.diff_ids[i].str;
		l[i].size = im->pull.layers[i].size;
	}
	int r = wharf_run_scan_gate(home, im->name, l, n, fail_on, err);
	for (size_t i = 0; i < n; i++)
		free((char *)l[i].path);
	free(l);
	return r;
}

#endif

static int prepare_image(const char *arg, const struct run_opts *o, const char *home, struct image *im,
			 struct wharf_error *err)
{
	struct wharf_content_store *cs = NULL;
	_cleanup_free_ char *root = wharf_xasprintf("%s/content", home);
	int r = store_open(&cs, root, err);
#ifdef WHARF_RUN_FRONT
	(void)o; /* its pull, scan and unpack options are the full CLI's */
#endif
#ifdef WHARF_RUN_FRONT
	if (r == 0 && !local_image(cs, arg, im, err))
		r = WHARF_FRONT_NEED_FULL;
#else
	if (r == 0 && !local_image(cs, arg, im, err))
		r = wharf_cli_pull_image(arg, o->no_trust, o->registry, cs, &im->pull, &im->name, err);
#endif
	if (r == 0)
		r = wharf_run_policy_check(home, &im->pull.manifest, err);
	_cleanup_free_ char *cfg = NULL;
	size_t len;
	if (r == 0)
		r = read_blob(cs, &im->pull.config, &cfg, &len, err);
	if (r == 0)
		r = wharf_image_config_parse(&im->config, cfg, len, err);
	if (r == 0 && (im->config.n_diff_ids != im->pull.n_layers || im->pull.n_layers == 0))
		r = wharf_error_set(err, WHARF_EINVAL, "the image has %zu layers but its config lists %zu diff IDs%s",
				    im->pull.n_layers, im->config.n_diff_ids, im->pull.n_layers ? "" : " (no layers: nothing to run)");
#ifndef WHARF_RUN_FRONT
	if (r == 0 && o->fail_on >= 0)
		r = scan_gate(cs, im, home, o->fail_on, err);
#endif
	if (r == 0) {
		wharf_chain_id(im->config.diff_ids, im->config.n_diff_ids, &im->chain_id);
		im->rootfs = wharf_xasprintf("%s/rootfs/%s", home, wharf_digest_hex(&im->chain_id));
#ifdef WHARF_RUN_FRONT
		if (access(im->rootfs, F_OK) < 0)
			r = WHARF_FRONT_NEED_FULL;
#else
		if (access(im->rootfs, F_OK) < 0)
			r = unpack_image(cs, im, home, o->keep_suid, err);
#endif
	}
	store_free(cs);
	return r;
}

static void image_free(struct image *im)
{
	free(im->name);
#ifdef WHARF_RUN_FRONT
	/* the fields of wharf_pull_result_free, without linking the puller (and libcurl) */
	free(im->pull.media_type);
	free(im->pull.config.media_type);
	for (size_t i = 0; i < im->pull.n_layers; i++)
		free(im->pull.layers[i].media_type);
	free(im->pull.layers);
#else
	if (im->pull.layers)
		wharf_pull_result_free(&im->pull);
#endif
	wharf_image_config_free(&im->config);
	free(im->rootfs);
}

/* ---- the spec ---- */

static void build_env(const struct image *im, const struct run_opts *o, struct wharf_strv *env)
{
	bool has_path = false;
	for (size_t i = 0; i < im->config.env.n; i++)
		wharf_strv_push(env, im->config.env.v[i]);
	for (size_t i = 0; i < o->env.n; i++) {
		const char *kv = o->env.v[i];
		char *entry = strchr(kv, '=') ? wharf_xstrdup(kv)
					       : (getenv(kv) ? wharf_xasprintf("%s=%s", kv, getenv(kv)) : NULL);
		if (!entry)
			continue;
		size_t klen = strcspn(entry, "=") + 1;
		size_t j = 0;
		for (; j < env->n && strncmp(env->v[j], entry, klen); j++)
			;
		if (j < env->n) {
			free(env->v[j]);
			env->v[j] = entry;
		} else {
			wharf_strv_push_owned(env, entry);
		}
	}
	for (size_t i = 0; i < env->n; i++)
		has_path |= wharf_str_has_prefix(env->v[i], "PATH=");
	if (!has_path)
		wharf_strv_push(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

static int build_args(const struct image *im, const struct run_opts *o, int argc, char **argv,
		      struct wharf_strv *args, struct wharf_error *err)
{
	if (o->entrypoint) {
		if (*o->entrypoint)
			wharf_strv_push(args, o->entrypoint);
	} else {
		for (size_t i = 0; i < im->config.entrypoint.n; i++)
			wharf_strv_push(args, im->config.entrypoint.v[i]);
	}
	if (argc > 0) {
		for (int i = 0; i < argc; i++)
			wharf_strv_push(args, argv[i]);
	} else if (!o->entrypoint) {
		for (size_t i = 0; i < im->config.cmd.n; i++)
			wharf_strv_push(args, im->config.cmd.v[i]);
	}
	if (args->n == 0)
		return wharf_error_set(err, WHARF_EINVAL, "no command: the image has no Entrypoint or Cmd; give one after IMAGE");
	return 0;
}

static int parse_volumes(const struct run_opts *o, struct wharf_run_spec *s, struct wharf_error *err)
{
	s->mounts = wharf_xcalloc(o->volumes.n + 1, sizeof(*s->mounts));
	for (size_t i = 0; i < o->volumes.n; i++) {
		_cleanup_free_ char *v = wharf_xstrdup(o->volumes.v[i]);
		char *dst = strchr(v, ':');
		char *mode = dst ? strchr(dst + 1, ':') : NULL;
		if (dst)
			*dst++ = '\0';
		if (mode)
			*mode++ = '\0';
		if (!dst || dst[0] != '/' || (mode && strcmp(mode, "ro") && strcmp(mode, "rw")) || strstr(dst, "/../") ||
		    wharf_str_has_suffix(dst, "/.."))
			return wharf_error_set(err, WHARF_EINVAL, "-v %s: want SRC:DST[:ro] with DST absolute", o->volumes.v[i]);
		char real[PATH_MAX];
		if (!realpath(v, real))
			return wharf_error_sys(err, "-v %s: source %s", o->volumes.v[i], v);
		s->mounts[s->n_mounts].source = wharf_xstrdup(real);
		s->mounts[s->n_mounts].destination = wharf_xstrdup(dst);
		s->mounts[s->n_mounts].readonly = mode && !strcmp(mode, "ro");
		s->n_mounts++;
	}
	return 0;
}

/* ---- secrets ---- */
#ifndef WHARF_RUN_FRONT

struct secret_spec {
	char *name, *target;
	uint32_t uid, gid, mode;
};

static int parse_secret(const char *spec, struct secret_spec *out, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	out->mode = 0400;
	_cleanup_free_ char *s = wharf_xstrdup(spec);
	char *save = NULL;
	char *name = strtok_r(s, ",", &save);
	if (!name)
		return wharf_error_set(err, WHARF_EINVAL, "--secret '%s': no name", spec);
	out->name = wharf_xstrdup(name);
	out->target = wharf_xstrdup(name);
	for (char *kv = strtok_r(NULL, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			return wharf_error_set(err, WHARF_EINVAL, "--secret '%s': '%s' is not KEY=VALUE", spec, kv);
		*eq++ = '\0';
		char *end = NULL;
		unsigned long v = strtoul(eq, &end, !strcmp(kv, "mode") ? 8 : 10);
		bool num_ok = *eq && end && !*end;
		if (!strcmp(kv, "target")) {
			if (!*eq || strchr(eq, '/') || !strcmp(eq, ".") || !strcmp(eq, ".."))
				return wharf_error_set(err, WHARF_EINVAL, "--secret '%s': target must be a file name in /run/secrets",
						       spec);
			free(out->target);
			out->target = wharf_xstrdup(eq);
		} else if (!strcmp(kv, "uid") && num_ok && v < WHARF_USERNS_SIZE) {
			out->uid = (uint32_t)v;
		} else if (!strcmp(kv, "gid") && num_ok && v < WHARF_USERNS_SIZE) {
			out->gid = (uint32_t)v;
		} else if (!strcmp(kv, "mode") && num_ok && v <= 0777) {
			out->mode = (uint32_t)v;
		} else {
			return wharf_error_set(err, WHARF_EINVAL, "--secret '%s': bad option %s (target=FILE, uid=U, gid=G, mode=OCTAL)",
					       spec, kv);
		}
	}
	return 0;
}

/* Each --secret into the container's tmpfs (wharf_secrets_materialize refuses anything but a
 * tmpfs), owned by the mapped uid/gid, then the tmpfs is made read-only. */
static int install_secrets(const char *home, const struct run_opts *o, struct wharf_container *c,
			   struct wharf_error *err)
{
	if (o->secrets.n == 0)
		return 0;
	struct secret_spec *specs = wharf_xcalloc(o->secrets.n, sizeof(*specs));
	int r = 0;
	for (size_t i = 0; r == 0 && i < o->secrets.n; i++)
		r = parse_secret(o->secrets.v[i], &specs[i], err);
	struct wharf_secrets *store = NULL;
	if (r == 0 && !wharf_secrets_exists(home))
		r = wharf_error_set(err, WHARF_ENOTFOUND, "--secret: there is no secret store in %s (wharf secret create)", home);
	if (r == 0)
		r = wharf_secrets_open(&store, home, err);
	_cleanup_close_ int dirfd = -1;
	if (r == 0)
		r = wharf_container_secrets_tmpfs(c, &dirfd, err);
	uint32_t base = c->userns ? c->uid_base : 0;
	for (size_t i = 0; r == 0 && i < o->secrets.n; i++) {
		r = wharf_secrets_materialize(store, dirfd, specs[i].name, specs[i].target, base + specs[i].uid,
					      base + specs[i].gid, specs[i].mode, err);
		if (r < 0)
			wharf_error_prefix(err, "--secret %s", specs[i].name);
	}
	wharf_secrets_close(store);
	if (r == 0)
		r = wharf_container_secrets_seal(c, err);
	for (size_t i = 0; i < o->secrets.n; i++) {
		free(specs[i].name);
		free(specs[i].target);
	}
	free(specs);
	return r;
}

#endif

/* ---- the container ---- */

static int check_name_free(const char *home, const char *name, struct wharf_error *err)
{
	struct wharf_container x;
	struct wharf_error e2;
	if (wharf_container_load(home, name, &x, &e2) < 0)
		return 0;
	bool same = x.name && !strcmp(x.name, name);
	wharf_container_free(&x);
	return same ? wharf_error_set(err, WHARF_EEXIST, "the name %s is in use (wharf rm %s)", name, name) : 0;
}

static int setup_userns(const char *home, const struct run_opts *o, struct wharf_container *c, struct wharf_error *err)
{
	const char *mode = o->userns ? o->userns : "auto";
	if (!strcmp(mode, "host")) {
		c->userns = false;
		return 0;
	}
	c->userns = true;
	c->uid_size = WHARF_USERNS_SIZE;
	if (!strcmp(mode, "auto")) {
		c->pooled = true;
		return wharf_userns_alloc(home, c->id, o->rm, &c->uid_base, err);
	}
	return wharf_userns_parse_range(mode, &c->uid_base, &c->uid_size, err);
}

/* config.json: written to a temporary file and renamed (readers never see half of it), without
 * fsync: it is derived from state.json and the image, and worthless after a crash. */
static int write_config(const char *path, const char *json, struct wharf_error *err)
{
	_cleanup_free_ char *tmp = wharf_xasprintf("%s.tmp", path);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || wharf_write_all(fd, json, strlen(json)) < 0 || rename(tmp, path) < 0)
		return wharf_error_sys(err, "write %s", path);
	return 0;
}

static int write_bundle(const struct image *im, const struct run_opts *o, struct wharf_container *c, int argc,
			char **argv, struct wharf_error *err)
{
	struct wharf_run_spec s = {
		.id = c->id, .readonly_rootfs = o->read_only, .userns = c->userns, .uid_base = c->uid_base,
		.uid_size = c->uid_size, .net_host = o->net_host, .caps = o->caps,
	};
	char host[13];
	snprintf(host, sizeof(host), "%s", c->id);
	s.hostname = host;
	_cleanup_free_ char *rootfs = wharf_xasprintf("%s/rootfs", c->run_dir);
	_cleanup_free_ char *secrets = wharf_xasprintf("%s/secrets", c->run_dir);
	s.rootfs = rootfs;
	s.secrets_dir = c->has_secrets ? secrets : NULL;
	s.cwd = o->workdir ? o->workdir : im->config.working_dir;
	int r = wharf_user_resolve(im->rootfs, o->user ? o->user : im->config.user, &s.uid, &s.gid, err);
	if (r == 0)
		r = build_args(im, o, argc, argv, &s.args, err);
	if (r == 0)
		r = parse_volumes(o, &s, err);
	if (r == 0) {
		build_env(im, o, &s.env);
		_cleanup_free_ char *json = wharf_bundle_config(&s);
		_cleanup_free_ char *path = wharf_xasprintf("%s/config.json", c->run_dir);
		r = write_config(path, json, err);
	}
	wharf_strv_free(&s.args);
	wharf_strv_free(&s.env);
	for (size_t i = 0; i < s.n_mounts; i++) {
		free(s.mounts[i].source);
		free(s.mounts[i].destination);
	}
	free(s.mounts);
	return r;
}

static int create_container(const char *home, const struct image *im, const struct run_opts *o, const char *runtime,
			    struct wharf_container *c, struct wharf_error *err)
{
	int r = wharf_random_hex(c->id, 16, err);
	if (r < 0)
		return r;
	c->name = wharf_xstrdup(o->name ? o->name : c->id);
	if (!o->name)
		c->name[12] = '\0';
	c->image = wharf_xstrdup(im->name);
	c->digest = wharf_xstrdup(im->pull.manifest.str);
	c->chain_id = wharf_xstrdup(im->chain_id.str);
	const char *base = strrchr(runtime, '/');
	c->runtime = wharf_xstrdup(base ? base + 1 : runtime);
	c->created = wharf_now();
	c->detached = o->detach;
	c->auto_remove = o->rm;
	c->status = wharf_xstrdup("running"); /* from the next step on; wharf ps asks the runtime */
	c->dir = wharf_xasprintf("%s/containers/%s", home, c->id);
	c->run_dir = wharf_container_run_dir(c->id);
	r = check_name_free(home, c->name, err);
	if (r == 0)
		r = wharf_mkdir_p(c->dir, 0700, err);
	if (r == 0)
		r = setup_userns(home, o, c, err);
	if (r == 0)
		r = wharf_container_save(c, err);
	return r;
}

static int run_container(const char *home, const char *runtime, struct wharf_container *c)
{
	struct wharf_error err;
	int st = wharf_runtime_run(runtime, home, c, &err);
	if (st < 0) {
		fprintf(stderr, "wharf run: %s\n", err.message);
		return EXIT_RUN_FAILED;
	}
	if (c->detached) {
		if (st != 0) {
			fprintf(stderr, "wharf run: %s could not start the container (status %d; see wharf logs %s)\n",
				runtime, st, c->name);
			return EXIT_RUN_FAILED;
		}
		printf("%s\n", c->id);
		return EXIT_OK;
	}
	free(c->status);
	c->status = wharf_xstrdup("exited");
	c->exit_code = st;
	if (!c->auto_remove) {
		struct wharf_error e2;
		wharf_container_unmount(c);
		wharf_container_save(c, &e2);
	}
	return st;
}

static int check_tools(const char *runtime_name, char **runtime, struct wharf_error *err)
{
	int r = wharf_runtime_find(runtime_name, runtime, err);
	if (r < 0)
		return r;
	if (geteuid() != 0 && access("/usr/bin/newuidmap", X_OK) < 0 && access("/usr/local/bin/newuidmap", X_OK) < 0)
		return wharf_error_set(err, WHARF_ENOTFOUND,
				       "running as a regular user needs newuidmap and newgidmap: install the Debian package "
				       "'uidmap' (apt-get install uidmap)");
	if (geteuid() != 0)
		return wharf_error_set(err, WHARF_EUNSUPPORTED,
				       "wharf run needs root for now (mounts of the rootfs and secrets); see docs/run.md");
	return 0;
}

int wharf_cli_cmd_run(int argc, char **argv)
{
	const char *tr = getenv("WHARF_RUN_TRACE");
	trace_on = tr && *tr && strcmp(tr, "0");
	trace_t0 = trace_last = wharf_monotonic_us();
	struct run_opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0) {
		run_opts_free(&o);
		return rc;
	}
	wharf_log_set_level(WHARF_LOG_WARN);
	struct wharf_error err;
	_cleanup_free_ char *home = NULL, *runtime = NULL;
	struct image im = {0};
	struct wharf_container c = {0};
	const char *image_arg = argv[optind];
	int cmd_argc = argc - optind - 1;
	char **cmd_argv = argv + optind + 1;
	bool created = false;
	int r = check_tools(o.runtime, &runtime, &err);
	if (r == 0)
		r = wharf_cli_home(&home, &err);
	trace("options, tools");
#ifdef WHARF_RUN_FRONT
	/* The fast front (src/wharf/front.c) runs a cached image by itself; for anything that needs
	 * the network, the unpacker, the scanner or the secret store, the full CLI takes over. */
	if (r == 0 && (o.secrets.n > 0 || o.fail_on >= 0))
		wharf_front_exec_full();
#endif
	if (r == 0)
		r = prepare_image(image_arg, &o, home, &im, &err);
#ifdef WHARF_RUN_FRONT
	if (r == WHARF_FRONT_NEED_FULL)
		wharf_front_exec_full();
#endif
	trace("image");
	if (r == 0)
		r = create_container(home, &im, &o, runtime, &c, &err);
	created = c.dir != NULL;
	trace("state, userns");
	if (r == 0)
		r = wharf_container_mount_rootfs(&c, im.rootfs, &err);
	trace("mount rootfs");
#ifndef WHARF_RUN_FRONT
	if (r == 0)
		r = install_secrets(home, &o, &c, &err);
#endif
	if (r == 0)
		r = write_bundle(&im, &o, &c, cmd_argc, cmd_argv, &err);
	trace("secrets, bundle");
	if (r == 0)
		rc = run_container(home, runtime, &c);
	else
		fprintf(stderr, "wharf run: %s: %s\n", image_arg, err.message);
	trace("runtime");
	if (r < 0 || (c.auto_remove && !c.detached)) {
		struct wharf_error e2;
		if (created && c.id[0] && wharf_container_remove(home, &c, &e2) < 0)
			fprintf(stderr, "wharf run: removing %s: %s\n", c.id, e2.message);
	}
	trace("remove");
	if (r < 0)
		rc = EXIT_RUN_FAILED;
	wharf_container_free(&c);
	image_free(&im);
	run_opts_free(&o);
	return rc;
}
