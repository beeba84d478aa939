/* The wharf command line: one file per verb, each a thin shell over libwharf. */
#ifndef WHARF_CLI_H
#define WHARF_CLI_H

#include "wharf/util.h"

/* Exit codes scripts can rely on. */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_RUNTIME = 1, /* the operation failed */
	EXIT_USAGE = 2,           /* bad command line */
	EXIT_BUSY = 3,            /* a resource is held by another process */
};

/* $WHARF_HOME, or ~/.wharf; created 0700 on first use. */
int wharf_cli_home(char **out, struct wharf_error *err);
int wharf_cli_cmd_home(int argc, char **argv);
int wharf_cli_cmd_admin(int argc, char **argv);

/* wharf trust: content trust (src/wharf/trust.c). */
int wharf_cli_cmd_trust(int argc, char **argv);

#endif
