/* The wharf command line: one file per verb, each a thin shell over libwharf. */
#ifndef WHARF_CLI_H
#define WHARF_CLI_H

#include <jansson.h>

#include "wharf/keys.h"
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
/* wharf login / logout: registry credentials in $WHARF_HOME/auth.json (src/wharf/login.c). */
int wharf_cli_cmd_login(int argc, char **argv);
int wharf_cli_cmd_logout(int argc, char **argv);
/* wharf db: the vulnerability database (src/wharf/db.c). */
int wharf_cli_cmd_db(int argc, char **argv);
/* wharf admin user|org|team|repo|robot (src/wharf/admin_users.c); argv[0] is "admin". */
int wharf_cli_admin_access(int argc, char **argv);
/* wharf admin audit|ldap|cert (issue 7: src/wharf/admin_audit.c, admin_ldap.c, admin_cert.c). */
int wharf_cli_admin_audit(int argc, char **argv);
int wharf_cli_admin_authz(int argc, char **argv); /* exit 5: denied */
int wharf_cli_admin_ldap(int argc, char **argv);  /* exit 5: refused */
int wharf_cli_admin_cert(int argc, char **argv);

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

/* wharf scan (src/wharf/scan.c). */
int wharf_cli_cmd_scan(int argc, char **argv);
/* wharf scan --remote: a registry's report of an image (src/wharf/scan_remote.c). */
bool wharf_cli_scan_is_remote(int argc, char **argv);
int wharf_cli_scan_remote(int argc, char **argv);

/* wharf pull (src/wharf/pull.c). */
int wharf_cli_cmd_pull(int argc, char **argv);
/* Resolve (through content trust unless no_trust) and pull arg into cs, quietly; *name gets the
 * name recorded in the store (src/wharf/pull.c, for wharf run). */
struct wharf_content_store;
struct wharf_pull_result;
int wharf_cli_pull_image(const char *arg, bool no_trust, const char *registry, struct wharf_content_store *cs,
			 struct wharf_pull_result *res, char **name, struct wharf_error *err);
/* wharf run, ps, stop, rm, logs (src/wharf/run.c, src/wharf/containers.c). */
int wharf_cli_cmd_run(int argc, char **argv);
int wharf_cli_cmd_ps(int argc, char **argv);
int wharf_cli_cmd_stop(int argc, char **argv);
int wharf_cli_cmd_rm(int argc, char **argv);
int wharf_cli_cmd_logs(int argc, char **argv);

/* Key files of the trust verbs (src/wharf/trust_write.c): $WHARF_HOME/keys/<GUN escaped>/<role>.key,
 * encrypted PKCS#8 (0600), beside <role>.key.pub, the public key JSON (for root, the certificate
 * key, whose ID root lists). */
char *wharf_cli_trust_key_path(const char *home, const char *gun, const char *role);
/* The variable var, else asked on the terminal for `what` (twice when is_new). */
int wharf_cli_passphrase_var(const char *var, const char *what, bool is_new, char **out, struct wharf_error *err);
/* WHARF_<ROLE>_PASSPHRASE, else asked on the terminal (twice when is_new). */
int wharf_cli_trust_passphrase(const char *role, bool is_new, char **out, struct wharf_error *err);
/* Write k encrypted with pass to path and its public JSON to path.pub. */
int wharf_cli_trust_write_key(const char *path, const struct wharf_key *k, const char *pass, struct wharf_error *err);
/* The private key of role for gun; WHARF_ENOTFOUND when this client holds none. A certificate
 * key comes whole from the .pub side file, else from the first of certs ({id: key JSON}, may
 * be NULL) that certifies it. */
int wharf_cli_trust_load_key(const char *home, const char *gun, const char *role, const json_t *certs,
			     struct wharf_key **out, struct wharf_error *err);
/* This client's snapshot key when the verified root still lists it, else *out = NULL. */
int wharf_cli_trust_snapshot_key(const char *home, const char *gun, const struct wharf_trust_repo *repo,
				 struct wharf_key **out, struct wharf_error *err);
/* wharf trust rotate (src/wharf/trust_rotate.c) and wharf trust key (src/wharf/trust_key.c). */
int wharf_cli_trust_rotate(int argc, char **argv);
int wharf_cli_trust_key(int argc, char **argv);

/* wharf tuf: the generic TUF specification-format client (src/wharf/tuf.c). */
int wharf_cli_cmd_tuf(int argc, char **argv);
/* wharf tuf repo: write and sign a specification-format repository (src/wharf/tuf_repo.c). */
int wharf_cli_tuf_repo(int argc, char **argv);
/* wharf tuf push: upload a repository's metadata to wharfd (src/wharf/tuf_push.c). */
int wharf_cli_tuf_push(int argc, char **argv);

/* wharf trust signer add|remove, and signing into delegated roles (src/wharf/trust_signer.c). */
int wharf_cli_trust_signer(int argc, char **argv);
struct wharf_error;
/* Sign (sha256 non-NULL) or revoke tag in delegated role with the private key in key_file
 * (passphrase WHARF_DELEGATION_PASSPHRASE, else asked), and publish it (with a snapshot when
 * this client holds the snapshot key, else the server makes it). */
int wharf_cli_trust_sign_delegated(const char *home, const char *gun, const char *tag, const char *sha256,
				   uint64_t size, const char *server, const char *role, const char *key_file,
				   const struct wharf_trust_repo *repo, bool *proposed, struct wharf_error *err);
/* Does role's verified metadata in repo sign tag (as sha256/size when sha256 is not NULL)? */
bool wharf_cli_trust_role_signs(const struct wharf_trust_repo *repo, const char *role, const char *tag,
				const char *sha256, uint64_t size);

/* A public key from KEYFILE: PEM public key or certificate, or a wharf .pub key JSON. */
int wharf_cli_trust_read_public_key(struct wharf_key **out, const char *path, struct wharf_error *err);
/* wharf trust pending|approve|threshold: staged k-of-n changes (src/wharf/trust_pending.c). */
int wharf_cli_trust_pending(int argc, char **argv);
int wharf_cli_trust_approve(int argc, char **argv);
int wharf_cli_trust_threshold(int argc, char **argv);
struct wharf_tuf_upload;
/* Send the next versions of roles (files, each signed by one key) to the server as one pending
 * change; *published says whether its signatures met the thresholds at once. Prints what happened. */
int wharf_cli_trust_propose(const char *server, const char *gun, const struct wharf_tuf_upload *files, size_t n,
			    bool *published, struct wharf_error *err);
/* Does role of repo need more than one signature? */
bool wharf_cli_trust_needs_more(const struct wharf_trust_repo *repo, const char *role);

/* wharf trust hsm: root keys on PKCS#11 tokens (src/wharf/trust_hsm.c). */
int wharf_cli_trust_hsm(int argc, char **argv);
/* The root key of gun on the token recorded by `hsm generate-root`/`hsm import`, signing there;
 * WHARF_ENOTFOUND when no token holds it. */
/* A key on a token by a PKCS#11 URI "pkcs11:token=LABEL;object=KEYLABEL" (or ";id=HEX"), with
 * WHARF_PKCS11_MODULE (else p11-kit's proxy) and the PIN from WHARF_PKCS11_PIN or a prompt; it
 * signs on the token (CI signing with a delegation key that never leaves the token). */
int wharf_cli_trust_hsm_uri_key(const char *uri, struct wharf_key **out, struct wharf_error *err);
int wharf_cli_trust_hsm_root_key(const char *home, const char *gun, struct wharf_key **out, struct wharf_error *err);

/* wharf trust status and refresh (src/wharf/trust_status.c). EXIT_WARN: some role expires soon. */
enum { EXIT_WARN = 4 };
int wharf_cli_trust_status(int argc, char **argv);
int wharf_cli_trust_refresh(int argc, char **argv);

/* wharf secret: the encrypted secret store (src/wharf/secret.c). */
int wharf_cli_cmd_secret(int argc, char **argv);

#endif
