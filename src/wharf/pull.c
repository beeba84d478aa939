/* wharf pull: a tag resolved only through verified trust data (unless content trust is
 * disabled), then everything fetched by digest and verified into $WHARF_HOME/content. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "cli.h"
#include "wharf/client.h"
#include "wharf/trust.h"

#define DEFAULT_HOST "127.0.0.1:5000"

struct pull_opts {
	const char *server;
	const char *registry;
	const char *platform;
	bool no_trust, json, progress;
};

static void pull_usage(FILE *out)
{
	fputs("Usage: wharf pull [OPTIONS] [HOST[:PORT]/]REPO[:TAG|@DIGEST]\n"
	      "\n"
	      "Pull an image into the local content store, $WHARF_HOME/content (an OCI image layout:\n"
	      "skopeo inspect oci:$WHARF_HOME/content:HOST:PORT/REPO:TAG reads it).\n"
	      "With content trust (the default) a tag is resolved only through verified trust data of\n"
	      "GUN HOST:PORT/REPO (targets/releases first, then targets); the manifest is then fetched by\n"
	      "that digest and must have the signed digest and length. Every blob is streamed to a\n"
	      "temporary file, hashed, and kept only when it matches its digest.\n"
	      "\n"
	      "Options:\n"
	      "      --registry URL            the registry (default http://HOST:PORT of the reference,\n"
	      "                                or http://" DEFAULT_HOST ")\n"
	      "  -s, --server URL              the trust server (default $WHARF_TRUST_SERVER or the registry)\n"
	      "      --disable-content-trust   resolve the tag with the registry, unverified\n"
	      "      --platform OS/ARCH[/VARIANT]  the image to take from an index (default: this host)\n"
	      "      --progress                show bytes per blob on stderr (default: when it is a terminal)\n"
	      "      --json                    print {reference, digest, size, manifest, layers} as JSON\n"
	      "  -h, --help                    show this help\n"
	      "\n"
	      "Exit status: 0 success, 1 failure (verification, unsigned tag, network, not found), 2 bad usage.\n",
	      out);
}

static int parse_opts(int argc, char **argv, struct pull_opts *o)
{
	enum { OPT_REGISTRY = 256, OPT_NO_TRUST, OPT_PLATFORM, OPT_JSON, OPT_PROGRESS };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"registry", required_argument, NULL, OPT_REGISTRY},
		{"disable-content-trust", no_argument, NULL, OPT_NO_TRUST},
		{"platform", required_argument, NULL, OPT_PLATFORM},
		{"json", no_argument, NULL, OPT_JSON},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o->server = env && *env ? env : NULL;
	o->progress = isatty(STDERR_FILENO);
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->server = optarg; break;
		case OPT_REGISTRY: o->registry = optarg; break;
		case OPT_NO_TRUST: o->no_trust = true; break;
		case OPT_PLATFORM: o->platform = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_PROGRESS: o->progress = true; break;
		case 'h': pull_usage(stdout); return EXIT_OK;
		default: pull_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fputs("wharf pull: expected one image reference (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* "HOST:PORT" of a URL like http://HOST:PORT/path. */
static char *host_of_url(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	return wharf_xstrndup(p, strcspn(p, "/"));
}

/* The platform in Go's words: linux/amd64, linux/arm64, linux/arm/v7. */
static void host_platform(char *arch, size_t n, const char **variant)
{
	struct utsname u;
	const char *m = uname(&u) == 0 ? u.machine : "x86_64";
	*variant = NULL;
	if (!strcmp(m, "x86_64"))
		m = "amd64";
	else if (!strcmp(m, "aarch64") || !strcmp(m, "arm64"))
		m = "arm64";
	else if (!strncmp(m, "armv7", 5))
		m = "arm", *variant = "v7";
	else if (!strncmp(m, "armv6", 5))
		m = "arm", *variant = "v6";
	else if (!strcmp(m, "i686") || !strcmp(m, "i386"))
		m = "386";
	snprintf(arch, n, "%s", m);
}

struct platform {
	char buf[128];
	const char *os, *arch, *variant;
};

static int parse_platform(const char *s, struct platform *p)
{
	if (!s) {
		p->os = "linux";
		host_platform(p->buf, sizeof(p->buf), &p->variant);
		p->arch = p->buf;
		return 0;
	}
	snprintf(p->buf, sizeof(p->buf), "%s", s);
	char *slash = strchr(p->buf, '/');
	if (!slash || slash == p->buf || !slash[1])
		return -1;
	*slash = '\0';
	p->os = p->buf;
	p->arch = slash + 1;
	char *v = strchr(slash + 1, '/');
	if (v) {
		*v = '\0';
		if (!v[1] || strchr(v + 1, '/'))
			return -1;
		p->variant = v + 1;
	}
	return 0;
}

static void show_progress(void *ctx, const struct wharf_digest *d, uint64_t done, uint64_t total)
{
	(void)ctx;
	fprintf(stderr, "\r%.19s: %llu/%llu bytes", d->str, (unsigned long long)done, (unsigned long long)total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

struct resolved {
	struct wharf_digest digest;
	uint64_t length; /* UINT64_MAX when not signed */
	char *role;      /* the signing role, or NULL */
};

/* The tag through verified trust data of gun. */
static int resolve_trusted(const char *gun, const char *tag, const char *server, struct resolved *out,
			   struct wharf_error *err)
{
	_cleanup_free_ char *home = NULL;
	int r = wharf_cli_home(&home, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = wharf_trust_client_dir(home, gun);
	struct wharf_trust_client_opts co = {.server = server, .gun = gun, .dir = dir};
	struct wharf_trust_repo *repo = NULL;
	r = wharf_trust_client_update(&repo, &co, err);
	if (r == -WHARF_ENOTFOUND) {
		char why[sizeof(err->message)];
		snprintf(why, sizeof(why), "%s", err->message);
		return wharf_error_set(err, WHARF_ENOTFOUND,
				       "the tag is not signed: %s has no trust data on %s (%s); content trust is on: "
				       "sign the tag with 'wharf trust sign %s:%s', or pull with --disable-content-trust",
				       gun, server, why, gun, tag);
	}
	if (r < 0)
		return wharf_error_prefix(err, "trust data of %s from %s", gun, server);
	struct wharf_trust_target t;
	r = wharf_trust_repo_lookup(repo, tag, &t, err);
	wharf_trust_repo_free(repo);
	if (r == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_ENOTFOUND,
				       "the tag is not signed: no role in the verified trust data of %s signs %s; "
				       "content trust is on: sign it with 'wharf trust sign %s:%s', or pull with "
				       "--disable-content-trust",
				       gun, tag, gun, tag);
	if (r < 0)
		return r;
	if (!t.sha256[0]) {
		r = wharf_error_set(err, WHARF_EUNSUPPORTED, "the signed target %s of %s has no sha256 hash", tag, gun);
		wharf_trust_target_clear(&t);
		return r;
	}
	_cleanup_free_ char *ds = wharf_xasprintf("sha256:%s", t.sha256);
	r = wharf_digest_parse(&out->digest, ds, err);
	out->length = t.length;
	out->role = t.role;
	t.role = NULL;
	wharf_trust_target_clear(&t);
	return r;
}

/* The tag as the registry says, unverified: the digest of the bytes it serves. */
static int resolve_registry(const char *registry, const char *repo, const char *tag, struct resolved *out,
			    struct wharf_error *err)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = wharf_registry_get_manifest(registry, repo, tag, WHARF_MANIFEST_MAX, &b, NULL, err);
	if (r == 0)
		wharf_digest_buffer(WHARF_SHA256, b.data ? b.data : "", b.len, &out->digest);
	out->length = UINT64_MAX;
	wharf_buf_free(&b);
	return r < 0 ? wharf_error_prefix(err, "tag %s of %s", tag, repo) : 0;
}

static void descriptor_json(struct wharf_buf *b, const struct wharf_descriptor *d)
{
	wharf_buf_puts(b, "{\"mediaType\":");
	wharf_buf_json_string(b, d->media_type);
	wharf_buf_printf(b, ",\"digest\":\"%s\",\"size\":%llu}", d->digest.str, (unsigned long long)d->size);
}

static void print_result(const char *name, const struct resolved *rs, const struct wharf_pull_result *res,
			 uint64_t top_size, bool json)
{
	if (!json) {
		printf("pulled %s %s (%zu layer%s, %llu bytes fetched%s%s)\n", name, rs->digest.str, res->n_layers,
		       res->n_layers == 1 ? "" : "s", (unsigned long long)res->bytes_fetched, rs->role ? ", signed by " : "",
		       rs->role ? rs->role : "");
		return;
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"reference\":");
	wharf_buf_json_string(&b, name);
	wharf_buf_printf(&b, ",\"digest\":\"%s\",\"size\":%llu,\"manifest\":\"%s\",\"mediaType\":", rs->digest.str,
			 (unsigned long long)top_size, res->manifest.str);
	wharf_buf_json_string(&b, res->media_type);
	wharf_buf_puts(&b, ",\"signedBy\":");
	if (rs->role)
		wharf_buf_json_string(&b, rs->role);
	else
		wharf_buf_puts(&b, "null");
	wharf_buf_puts(&b, ",\"config\":");
	descriptor_json(&b, &res->config);
	wharf_buf_puts(&b, ",\"layers\":[");
	for (size_t i = 0; i < res->n_layers; i++) {
		if (i)
			wharf_buf_puts(&b, ",");
		descriptor_json(&b, &res->layers[i]);
	}
	wharf_buf_printf(&b, "],\"bytesFetched\":%llu}\n", (unsigned long long)res->bytes_fetched);
	fputs(b.data, stdout);
	wharf_buf_free(&b);
}

struct target {
	struct wharf_oci_ref ref;
	char *host, *registry, *gun, *name;
	const char *server;
};

static void target_free(struct target *t)
{
	wharf_oci_ref_free(&t->ref);
	free(t->host);
	free(t->registry);
	free(t->gun);
	free(t->name);
}

/* Where everything is: registry URL, GUN, trust server, and the name recorded in the store. */
static void locate(struct target *t, const struct pull_opts *o)
{
	if (t->ref.registry)
		t->host = wharf_xstrdup(t->ref.registry);
	else
		t->host = o->registry ? host_of_url(o->registry) : wharf_xstrdup(DEFAULT_HOST);
	t->registry = o->registry ? wharf_xstrdup(o->registry) : wharf_xasprintf("http://%s", t->host);
	t->gun = wharf_xasprintf("%s/%s", t->host, t->ref.repository);
	t->server = o->server ? o->server : t->registry;
	if (t->ref.has_digest)
		t->name = wharf_xasprintf("%s@%s", t->gun, t->ref.digest.str);
	else
		t->name = wharf_xasprintf("%s:%s", t->gun, t->ref.tag);
}

static int pull(const char *arg, const struct pull_opts *o, const struct platform *pf)
{
	struct wharf_error err;
	struct target t = {0};
	if (wharf_oci_ref_parse(&t.ref, arg, &err) < 0) {
		fprintf(stderr, "wharf pull: %s\n", err.message);
		return EXIT_USAGE;
	}
	if (!t.ref.tag && !t.ref.has_digest)
		t.ref.tag = wharf_xstrdup("latest");
	locate(&t, o);
	struct resolved rs = {.length = UINT64_MAX};
	int r = 0;
	if (t.ref.has_digest)
		rs.digest = t.ref.digest;
	else if (o->no_trust)
		r = resolve_registry(t.registry, t.ref.repository, t.ref.tag, &rs, &err);
	else
		r = resolve_trusted(t.gun, t.ref.tag, t.server, &rs, &err);
	_cleanup_free_ char *home = NULL, *root = NULL;
	struct wharf_content_store *cs = NULL;
	if (r == 0 && (r = wharf_cli_home(&home, &err)) == 0) {
		root = wharf_xasprintf("%s/content", home);
		r = wharf_content_store_open(&cs, root, &err);
	}
	struct wharf_pull_result res;
	if (r == 0) {
		struct wharf_pull_opts po = {
			.registry = t.registry, .repository = t.ref.repository, .digest = rs.digest, .length = rs.length,
			.os = pf->os, .arch = pf->arch, .variant = pf->variant, .ref_name = t.name,
			.progress = o->progress ? show_progress : NULL,
		};
		r = wharf_pull_image(cs, &po, &res, &err);
	}
	if (r == 0) {
		uint64_t top = rs.length != UINT64_MAX ? rs.length : res.manifest_size;
		if (!wharf_digest_equal(&res.manifest, &rs.digest) && rs.length == UINT64_MAX) {
			/* an index: its size is that of its own bytes in the store */
			_cleanup_free_ char *p = wharf_content_store_blob_path(cs, &rs.digest);
			struct stat st;
			top = stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
		}
		print_result(t.name, &rs, &res, top, o->json);
		wharf_pull_result_free(&res);
	} else {
		fprintf(stderr, "wharf pull: %s: %s\n", t.name, err.message);
	}
	wharf_content_store_free(cs);
	free(rs.role);
	target_free(&t);
	return r == 0 ? EXIT_OK : EXIT_FAILURE_RUNTIME;
}

int wharf_cli_cmd_pull(int argc, char **argv)
{
	struct pull_opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct platform pf = {0};
	if (parse_platform(o.platform, &pf) < 0) {
		fprintf(stderr, "wharf pull: --platform '%s' is not OS/ARCH or OS/ARCH/VARIANT\n", o.platform);
		return EXIT_USAGE;
	}
	wharf_log_set_level(WHARF_LOG_WARN);
	return pull(argv[optind], &o, &pf);
}

/* For wharf run: resolve and pull arg like `wharf pull` does (trust unless no_trust), quietly. */
int wharf_cli_pull_image(const char *arg, bool no_trust, const char *registry, struct wharf_content_store *cs,
			 struct wharf_pull_result *res, char **name, struct wharf_error *err)
{
	struct pull_opts o = {.registry = registry, .no_trust = no_trust};
	const char *env = getenv("WHARF_TRUST_SERVER");
	o.server = env && *env ? env : NULL;
	struct platform pf = {0};
	parse_platform(NULL, &pf);
	struct target t = {0};
	int r = wharf_oci_ref_parse(&t.ref, arg, err);
	if (r < 0)
		return r;
	if (!t.ref.tag && !t.ref.has_digest)
		t.ref.tag = wharf_xstrdup("latest");
	locate(&t, &o);
	struct resolved rs = {.length = UINT64_MAX};
	if (t.ref.has_digest)
		rs.digest = t.ref.digest;
	else if (o.no_trust)
		r = resolve_registry(t.registry, t.ref.repository, t.ref.tag, &rs, err);
	else
		r = resolve_trusted(t.gun, t.ref.tag, t.server, &rs, err);
	if (r == 0) {
		struct wharf_pull_opts po = {
			.registry = t.registry, .repository = t.ref.repository, .digest = rs.digest, .length = rs.length,
			.os = pf.os, .arch = pf.arch, .variant = pf.variant, .ref_name = t.name,
		};
		r = wharf_pull_image(cs, &po, res, err);
	}
	if (r == 0)
		*name = steal_pointer(&t.name);
	free(rs.role);
	target_free(&t);
	return r;
}
