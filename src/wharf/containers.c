/* wharf ps, stop, rm, logs: the containers of `wharf run`, from their state under
 * $WHARF_HOME/containers and the runtime's view. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "wharf/run.h"

/* The live status: the runtime's when it knows the container, else the recorded one. */
static char *live_status(const char *home, const struct wharf_container *c)
{
	_cleanup_free_ char *path = NULL;
	struct wharf_error err;
	if (c->runtime && wharf_runtime_find(c->runtime, &path, &err) == 0) {
		char *s = wharf_runtime_status(path, home, c);
		if (s)
			return s;
	}
	if (c->status && !strcmp(c->status, "running"))
		return wharf_xstrdup("stopped"); /* the runtime forgot it: it is gone */
	return wharf_xstrdup(c->status ? c->status : "unknown");
}

static void ps_usage(FILE *out)
{
	fputs("Usage: wharf ps [--all] [--json]\n"
	      "\n"
	      "List the containers of wharf run: running ones, or all with --all.\n"
	      "Columns: ID (12 characters), NAME, IMAGE, STATUS (running, stopped, exited (CODE), created),\n"
	      "USERNS (the first host id of the container's range, or host).\n"
	      "\n"
	      "Options:\n"
	      "  -a, --all    also containers that are not running\n"
	      "      --json   one JSON array of {id, name, image, digest, status, exitCode, userns, created}\n"
	      "  -h, --help   show this help\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
	      out);
}

static void ps_json(struct wharf_buf *b, const struct wharf_container *c, const char *status)
{
	wharf_buf_printf(b, "{\"id\":\"%s\",\"name\":", c->id);
	wharf_buf_json_string(b, c->name ? c->name : "");
	wharf_buf_puts(b, ",\"image\":");
	wharf_buf_json_string(b, c->image ? c->image : "");
	wharf_buf_puts(b, ",\"digest\":");
	wharf_buf_json_string(b, c->digest ? c->digest : "");
	wharf_buf_puts(b, ",\"status\":");
	wharf_buf_json_string(b, status);
	wharf_buf_printf(b, ",\"exitCode\":%d,\"userns\":", c->exit_code);
	if (c->userns)
		wharf_buf_printf(b, "{\"hostId\":%u,\"size\":%u}", c->uid_base, c->uid_size);
	else
		wharf_buf_puts(b, "null");
	wharf_buf_printf(b, ",\"created\":%lld}", (long long)c->created);
}

int wharf_cli_cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool all = false, json = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'j': json = true; break;
		case 'h': ps_usage(stdout); return EXIT_OK;
		default: ps_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		ps_usage(stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	struct wharf_strv ids = {0};
	if (wharf_cli_home(&home, &err) < 0 || wharf_container_list(home, &ids, &err) < 0) {
		fprintf(stderr, "wharf ps: %s\n", err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, json ? "[" : "");
	if (!json)
		wharf_buf_printf(&b, "%-12s  %-20s  %-40s  %-12s  %s\n", "ID", "NAME", "IMAGE", "STATUS", "USERNS");
	size_t shown = 0;
	for (size_t i = 0; i < ids.n; i++) {
		struct wharf_container k;
		if (wharf_container_load(home, ids.v[i], &k, &err) < 0)
			continue;
		_cleanup_free_ char *st = live_status(home, &k);
		if (all || !strcmp(st, "running")) {
			if (json) {
				if (shown)
					wharf_buf_puts(&b, ",");
				ps_json(&b, &k, st);
			} else {
				char stbuf[32], ns[16];
				if (!strcmp(st, "exited"))
					snprintf(stbuf, sizeof(stbuf), "exited (%d)", k.exit_code);
				else
					snprintf(stbuf, sizeof(stbuf), "%s", st);
				if (k.userns)
					snprintf(ns, sizeof(ns), "%u", k.uid_base);
				else
					snprintf(ns, sizeof(ns), "host");
				wharf_buf_printf(&b, "%-12.12s  %-20s  %-40s  %-12s  %s\n", k.id, k.name ? k.name : "",
						 k.image ? k.image : "", stbuf, ns);
			}
			shown++;
		}
		wharf_container_free(&k);
	}
	wharf_buf_puts(&b, json ? "]\n" : "");
	fputs(b.data, stdout);
	wharf_buf_free(&b);
	wharf_strv_free(&ids);
	return EXIT_OK;
}

/* ---- stop ---- */

static int stop_one(const char *home, const char *key, int timeout, struct wharf_error *err)
{
	struct wharf_container c;
	int r = wharf_container_load(home, key, &c, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = NULL;
	r = wharf_runtime_find(c.runtime, &path, err);
	_cleanup_free_ char *st = r == 0 ? wharf_runtime_status(path, home, &c) : NULL;
	if (r == 0 && st && !strcmp(st, "running")) {
		r = wharf_runtime_kill(path, home, &c, "TERM", err);
		uint64_t deadline = wharf_monotonic_us() + (uint64_t)timeout * 1000000;
		while (r == 0) {
			free(st);
			st = wharf_runtime_status(path, home, &c);
			if (!st || strcmp(st, "running"))
				break;
			if (wharf_monotonic_us() > deadline) {
				r = wharf_runtime_kill(path, home, &c, "KILL", err);
				deadline = UINT64_MAX;
			}
			usleep(20000);
		}
	}
	if (r == 0) {
		free(c.status);
		c.status = wharf_xstrdup("stopped");
		r = wharf_container_save(&c, err);
	}
	wharf_container_free(&c);
	return r;
}

int wharf_cli_cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{"time", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int timeout = 10, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': timeout = atoi(optarg); break;
		case 'h':
			fputs("Usage: wharf stop [--time SECONDS] CONTAINER...\n\n"
			      "Stop running containers: SIGTERM, then SIGKILL after --time seconds (default 10).\n"
			      "CONTAINER is a name, an ID or a unique ID prefix (4+ characters).\n\n"
			      "Exit status: 0 all stopped, 1 some failed, 2 bad usage.\n",
			      stdout);
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("wharf stop: expected a container (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0) {
		fprintf(stderr, "wharf stop: %s\n", err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	int rc = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		if (stop_one(home, argv[i], timeout, &err) < 0) {
			fprintf(stderr, "wharf stop: %s: %s\n", argv[i], err.message);
			rc = EXIT_FAILURE_RUNTIME;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

/* ---- rm ---- */

static int rm_one(const char *home, const char *key, bool force, struct wharf_error *err)
{
	struct wharf_container c;
	int r = wharf_container_load(home, key, &c, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *st = live_status(home, &c);
	if (!strcmp(st, "running") && !force)
		r = wharf_error_set(err, WHARF_EBUSY, "the container is running: wharf stop it first, or rm --force");
	if (r == 0)
		r = wharf_container_remove(home, &c, err);
	wharf_container_free(&c);
	return r;
}

int wharf_cli_cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool force = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h':
			fputs("Usage: wharf rm [--force] CONTAINER...\n\n"
			      "Remove containers: the runtime's state, the mounts (root file system, secrets tmpfs),\n"
			      "the state directory, and the user-namespace range (back to the pool).\n"
			      "A running container is refused unless --force (which kills it).\n\n"
			      "Exit status: 0 all removed, 1 some failed, 2 bad usage, 3 a container is running.\n",
			      stdout);
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("wharf rm: expected a container (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0) {
		fprintf(stderr, "wharf rm: %s\n", err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	int rc = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		int r = rm_one(home, argv[i], force, &err);
		if (r < 0) {
			fprintf(stderr, "wharf rm: %s: %s\n", argv[i], err.message);
			rc = r == -WHARF_EBUSY ? EXIT_BUSY : EXIT_FAILURE_RUNTIME;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

/* ---- logs ---- */

int wharf_cli_cmd_logs(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("Usage: wharf logs CONTAINER\n\n"
		      "Print the output (stdout and stderr, interleaved) of a detached container (run -d).\n"
		      "A foreground container writes to the terminal and keeps no log.\n\n"
		      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
		      stdout);
		return EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fputs("wharf logs: expected one container (see --help)\n", stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	struct wharf_container c;
	if (wharf_cli_home(&home, &err) < 0 || wharf_container_load(home, argv[1], &c, &err) < 0) {
		fprintf(stderr, "wharf logs: %s: %s\n", argv[1], err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	_cleanup_free_ char *path = wharf_xasprintf("%s/log", c.dir);
	wharf_container_free(&c);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return EXIT_OK; /* no output yet, or a foreground container */
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (wharf_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return EXIT_FAILURE_RUNTIME;
	return EXIT_OK;
}
