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

/* Shared by the trust verbs: the verified repository of gun, updated from server (the error is
 * printed, prefixed by "wharf trust VERB"). root_file may be NULL. */
struct wharf_trust_repo;
struct wharf_trust_repo *wharf_cli_trust_update(const char *verb, const char *gun, const char *server,
						 const char *root_file);
/* The write verbs (src/wharf/trust_write.c). */
int wharf_cli_trust_init(int argc, char **argv);
int wharf_cli_trust_sign(int argc, char **argv);
int wharf_cli_trust_revoke(int argc, char **argv);

/* wharf pull (src/wharf/pull.c). */
int wharf_cli_cmd_pull(int argc, char **argv);

#endif
