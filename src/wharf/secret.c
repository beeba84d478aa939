/* wharf secret: the encrypted secret store (init, create, ls, inspect, rotate, rm). Values come
 * from a file or stdin and never go to stdout or stderr: ls and inspect show metadata only. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "wharf/pkcs11.h"
#include "wharf/secrets.h"

struct secret_opts {
	bool json;
	bool quiet;
	const char *module;
	const char *token;
	const char *key_label;
	bool pkcs11;
};

static void usage(FILE *out)
{
	fputs("Usage: wharf secret COMMAND [OPTIONS] ARGS\n"
	      "\n"
	      "Secrets for containers ('wharf run --secret NAME'), kept encrypted (AES-256-GCM) under\n"
	      "$WHARF_HOME/secrets by a master key that is a 0600 file or wrapped by a PKCS#11 token.\n"
	      "Values are never printed: ls and inspect show metadata only.\n"
	      "\n"
	      "Commands:\n"
	      "  init [--pkcs11-module PATH] [--token LABEL] [--key-label L]\n"
	      "                           create the store; with a module or token, generate a non-\n"
	      "                           extractable AES key on the token and keep the master key\n"
	      "                           wrapped by it (PIN: WHARF_PKCS11_PIN, else a prompt). Without,\n"
	      "                           'create' makes a store with a plain master.key on first use.\n"
	      "  create NAME [FILE|-]     store a new secret from FILE, or stdin ('-' or no FILE);\n"
	      "                           prints its ID\n"
	      "  ls [--json] [-q]         list secrets (-q: names only)\n"
	      "  inspect NAME... [--json] name, id, version, size, created, updated of each\n"
	      "  rotate NAME [FILE|-]     replace the value (version + 1); the old value is gone\n"
	      "  rm NAME...               remove secrets\n"
	      "\n"
	      "Names: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}. Values: at most 500 KiB (512000 bytes).\n"
	      "Environment: WHARF_HOME, WHARF_PKCS11_PIN, WHARF_PKCS11_MODULE.\n"
	      "Exit status: 0 success, 1 failure (including no such secret), 2 bad usage.\n"
	      "See docs/secrets.md for the threat model and the file format.\n",
	      out);
}

/* Parse options; returns -1 to go on (optind at the first operand), else an exit code. */
static int parse(int argc, char **argv, struct secret_opts *o)
{
	enum { OPT_JSON = 256, OPT_MODULE, OPT_TOKEN, OPT_KEY_LABEL };
	static const struct option opts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"quiet", no_argument, NULL, 'q'},
		{"pkcs11-module", required_argument, NULL, OPT_MODULE},
		{"token", required_argument, NULL, OPT_TOKEN},
		{"key-label", required_argument, NULL, OPT_KEY_LABEL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	const char *env = getenv("WHARF_PKCS11_MODULE");
	o->module = env && *env ? env : NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: o->json = true; break;
		case 'q': o->quiet = true; break;
		case OPT_MODULE: o->module = optarg, o->pkcs11 = true; break;
		case OPT_TOKEN: o->token = optarg, o->pkcs11 = true; break;
		case OPT_KEY_LABEL: o->key_label = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	return -1;
}

static int fail(const char *verb, const struct wharf_error *err)
{
	fprintf(stderr, "wharf secret %s: %s\n", verb, err->message);
	return EXIT_FAILURE_RUNTIME;
}

static int usage_error(const char *verb, const char *msg)
{
	fprintf(stderr, "wharf secret %s: %s (see wharf secret --help)\n", verb, msg);
	return EXIT_USAGE;
}

/* Open the store of $WHARF_HOME, asking for the token PIN when it is needed and not set. With
 * create, make a store with a plain master key when there is none. */
static int open_store(const char *verb, bool create, struct wharf_secrets **out)
{
	struct wharf_error err = {0};
	_cleanup_free_ char *home = NULL;
	int r = wharf_cli_home(&home, &err);
	if (r == 0 && create && !wharf_secrets_exists(home)) {
		r = wharf_secrets_init(home, NULL, &err);
		if (r == -WHARF_EEXIST) /* made meanwhile by another wharf */
			r = 0;
	}
	_cleanup_free_ char *pin = NULL;
	if (r == 0 && wharf_secrets_uses_pkcs11(home))
		r = wharf_cli_passphrase_var("WHARF_PKCS11_PIN", "the token's user PIN", false, &pin, &err);
	if (r == 0)
		r = wharf_secrets_open_pin(out, home, pin, &err);
	if (pin)
		OPENSSL_cleanse(pin, strlen(pin));
	return r < 0 ? fail(verb, &err) : EXIT_OK;
}

/* Read the value from path ("-" or NULL: stdin), at most WHARF_SECRET_MAX_SIZE bytes, into one
 * fixed buffer so no copy of it is left behind by a realloc. */
static int read_value(const char *path, unsigned char **out, size_t *len, struct wharf_error *err)
{
	bool is_stdin = !path || !strcmp(path, "-");
	const char *what = is_stdin ? "stdin" : path;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wharf_error_sys(err, "cannot open %s", path);
	size_t cap = WHARF_SECRET_MAX_SIZE + 1, n = 0;
	unsigned char *buf = wharf_xmalloc(cap);
	int r = 0;
	while (n < cap) {
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = wharf_error_sys(err, "cannot read %s", what);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	if (!is_stdin)
		close(fd);
	if (r == 0 && n > WHARF_SECRET_MAX_SIZE)
		r = wharf_error_set(err, WHARF_ETOOBIG, "%s: a secret is at most %u bytes (500 KiB)", what,
				    WHARF_SECRET_MAX_SIZE);
	if (r < 0) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
		return r;
	}
	*out = buf;
	*len = n;
	return 0;
}

static void format_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

static void info_json(struct wharf_buf *b, const struct wharf_secret_info *i)
{
	char created[32], updated[32];
	format_time(i->created, created);
	format_time(i->updated, updated);
	wharf_buf_puts(b, "{\"name\":");
	wharf_buf_json_string(b, i->name);
	wharf_buf_printf(b,
			 ",\"id\":\"%s\",\"version\":%u,\"size\":%llu,\"created\":\"%s\",\"updated\":\"%s\"}",
			 i->id, i->version, (unsigned long long)i->size, created, updated);
}

/* create and rotate: NAME [FILE|-]. */
static int cmd_write(int argc, char **argv, bool rotate)
{
	const char *verb = rotate ? "rotate" : "create";
	struct secret_opts o;
	int rc = parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error(verb, "takes NAME and an optional FILE (or - for stdin)");
	const char *name = argv[optind], *file = argc - optind == 2 ? argv[optind + 1] : NULL;
	struct wharf_error err = {0};
	if (wharf_secret_name_check(name, &err) < 0)
		return usage_error(verb, err.message);
	if (!file && isatty(STDIN_FILENO))
		fprintf(stderr, "wharf secret %s: reading the value of %s from the terminal (end with Ctrl-D)\n", verb,
			name);
	unsigned char *value = NULL;
	size_t len = 0;
	if (read_value(file, &value, &len, &err) < 0)
		return fail(verb, &err);
	struct wharf_secrets *s = NULL;
	rc = open_store(verb, !rotate, &s);
	struct wharf_secret_info info;
	int r = 0;
	if (rc == EXIT_OK)
		r = rotate ? wharf_secrets_rotate(s, name, value, len, &info, &err)
			   : wharf_secrets_create(s, name, value, len, &info, &err);
	OPENSSL_cleanse(value, WHARF_SECRET_MAX_SIZE + 1);
	free(value);
	wharf_secrets_close(s);
	if (rc != EXIT_OK)
		return rc;
	if (r < 0)
		return fail(verb, &err);
	if (rotate)
		printf("%s version %u\n", info.name, info.version);
	else
		printf("%s\n", info.id);
	return EXIT_OK;
}

static int cmd_ls(int argc, char **argv)
{
	struct secret_opts o;
	int rc = parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return usage_error("ls", "takes no arguments");
	struct wharf_error err = {0};
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0)
		return fail("ls", &err);
	struct wharf_secret_info *v = NULL;
	size_t n = 0;
	if (wharf_secrets_exists(home)) { /* no store yet: an empty list */
		struct wharf_secrets *s = NULL;
		if ((rc = open_store("ls", false, &s)) != EXIT_OK)
			return rc;
		int r = wharf_secrets_list(s, &v, &n, &err);
		wharf_secrets_close(s);
		if (r < 0)
			return fail("ls", &err);
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	if (o.json)
		wharf_buf_puts(&b, "[");
	else if (!o.quiet)
		wharf_buf_printf(&b, "%-32s %-32s %7s %8s %-20s %s\n", "NAME", "ID", "VERSION", "SIZE", "CREATED",
				 "UPDATED");
	for (size_t i = 0; i < n; i++) {
		char c[32], u[32];
		format_time(v[i].created, c);
		format_time(v[i].updated, u);
		if (o.json) {
			if (i)
				wharf_buf_puts(&b, ",");
			info_json(&b, &v[i]);
		} else if (o.quiet) {
			wharf_buf_printf(&b, "%s\n", v[i].name);
		} else {
			wharf_buf_printf(&b, "%-32s %-32s %7u %8llu %-20s %s\n", v[i].name, v[i].id, v[i].version,
					 (unsigned long long)v[i].size, c, u);
		}
	}
	if (o.json)
		wharf_buf_puts(&b, "]\n");
	if (b.len)
		fputs(b.data, stdout);
	wharf_buf_free(&b);
	free(v);
	return EXIT_OK;
}

static int cmd_inspect(int argc, char **argv)
{
	struct secret_opts o;
	int rc = parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return usage_error("inspect", "takes one or more secret names");
	struct wharf_secrets *s = NULL;
	if ((rc = open_store("inspect", false, &s)) != EXIT_OK)
		return rc;
	struct wharf_buf b;
	wharf_buf_init(&b);
	if (o.json)
		wharf_buf_puts(&b, "[");
	for (int i = optind; i < argc; i++) {
		struct wharf_error err = {0};
		struct wharf_secret_info info;
		if (wharf_secrets_inspect(s, argv[i], &info, &err) < 0) {
			rc = fail("inspect", &err);
			continue;
		}
		if (o.json) {
			if (b.len > 1)
				wharf_buf_puts(&b, ",");
			info_json(&b, &info);
			continue;
		}
		char c[32], u[32];
		format_time(info.created, c);
		format_time(info.updated, u);
		wharf_buf_printf(&b, "Name:    %s\nID:      %s\nVersion: %u\nSize:    %llu\nCreated: %s\nUpdated: %s\n",
				 info.name, info.id, info.version, (unsigned long long)info.size, c, u);
	}
	if (o.json)
		wharf_buf_puts(&b, "]\n");
	if (b.len)
		fputs(b.data, stdout);
	wharf_buf_free(&b);
	wharf_secrets_close(s);
	return rc;
}

static int cmd_rm(int argc, char **argv)
{
	struct secret_opts o;
	int rc = parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return usage_error("rm", "takes one or more secret names");
	struct wharf_secrets *s = NULL;
	if ((rc = open_store("rm", false, &s)) != EXIT_OK)
		return rc;
	for (int i = optind; i < argc; i++) {
		struct wharf_error err = {0};
		if (wharf_secrets_remove(s, argv[i], &err) < 0)
			rc = fail("rm", &err);
		else
			printf("%s\n", argv[i]);
	}
	wharf_secrets_close(s);
	return rc;
}

static int cmd_init(int argc, char **argv)
{
	struct secret_opts o;
	int rc = parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return usage_error("init", "takes no arguments");
	struct wharf_error err = {0};
	_cleanup_free_ char *home = NULL;
	_cleanup_free_ char *pin = NULL;
	int r = wharf_cli_home(&home, &err);
	struct wharf_secrets_init_opts io = {.token = o.token, .key_label = o.key_label};
	if (r == 0 && o.pkcs11) {
		io.pkcs11_module = o.module ? o.module : "";
		r = wharf_cli_passphrase_var("WHARF_PKCS11_PIN", "the token's user PIN", false, &pin, &err);
		io.pin = pin;
	}
	if (r == 0)
		r = wharf_secrets_init(home, &io, &err);
	if (pin)
		OPENSSL_cleanse(pin, strlen(pin));
	if (r < 0)
		return fail("init", &err);
	printf("secret store %s/secrets: master key %s\n", home,
	       o.pkcs11 ? "wrapped by the token's AES key" : "in master.key (0600)");
	return EXIT_OK;
}

int wharf_cli_cmd_secret(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "init"))
		return cmd_init(argc - 1, argv + 1);
	if (!strcmp(cmd, "create"))
		return cmd_write(argc - 1, argv + 1, false);
	if (!strcmp(cmd, "rotate"))
		return cmd_write(argc - 1, argv + 1, true);
	if (!strcmp(cmd, "ls") || !strcmp(cmd, "list"))
		return cmd_ls(argc - 1, argv + 1);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(cmd, "rm") || !strcmp(cmd, "remove"))
		return cmd_rm(argc - 1, argv + 1);
	fprintf(stderr, "wharf secret: unknown command '%s' (see wharf secret --help)\n", cmd);
	return EXIT_USAGE;
}
