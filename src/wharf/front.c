/* wharf: the fast front of the command line client.
 *
 * Starting the full CLI costs more than `wharf run` of a cached image does all the rest: it
 * links fifty shared libraries (libcurl with its TLS, LDAP, Kerberos and SSH stacks; libarchive
 * with libxml2 and ICU; libmicrohttpd with gnutls; sqlite...), and their loading, relocation,
 * constructors and teardown take 10 ms and more (docs/benchmarks.md). This front links only what
 * that path needs (libcrypto, jansson, libc). It runs `wharf run` of an image whose manifest,
 * blobs and unpacked root file system are all in $WHARF_HOME already; for anything else (every
 * other command, a tag, a pull, an unpack, a scan gate, secrets) it execs wharf-full, installed
 * next to it, with the same arguments. The two share all code: run.c is built into both. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "front.h"

static char **front_argv;

_Noreturn void wharf_front_exec_full(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		perror("wharf: readlink /proc/self/exe");
		exit(125);
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	char full[PATH_MAX + 16];
	snprintf(full, sizeof(full), "%.*s/wharf-full", (int)(slash - self), self);
	fflush(NULL);
	execv(full, front_argv);
	fprintf(stderr, "wharf: exec %s: %s\n", full, strerror(errno));
	exit(125);
}

int main(int argc, char **argv)
{
	/* getopt permutes argv: keep the original order for the full CLI */
	front_argv = calloc((size_t)argc + 1, sizeof(*front_argv));
	if (!front_argv)
		return 125;
	memcpy(front_argv, argv, (size_t)argc * sizeof(*argv));
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return wharf_cli_cmd_run(argc - 1, argv + 1);
	wharf_front_exec_full();
}
