/* lang: the language package catalogers (npm, Python, Go binaries, Java archives, Rust, Ruby,
 * PHP) behind wharf_lang_catalogers[] (see wharf/pkg.h for the contract), and a few of their
 * helpers that tests and fuzz targets reach directly. docs/scan-catalogers.md describes what
 * each one reads and reports. */
#ifndef WHARF_LANG_H
#define WHARF_LANG_H

#include "wharf/pkg.h"

extern const struct wharf_cataloger wharf_cataloger_npm_lock;
extern const struct wharf_cataloger wharf_cataloger_npm_package;
extern const struct wharf_cataloger wharf_cataloger_python;
extern const struct wharf_cataloger wharf_cataloger_gobinary;
extern const struct wharf_cataloger wharf_cataloger_java;
extern const struct wharf_cataloger wharf_cataloger_cargo_lock;
extern const struct wharf_cataloger wharf_cataloger_cargo_auditable;
extern const struct wharf_cataloger wharf_cataloger_gemspec;
extern const struct wharf_cataloger wharf_cataloger_composer;

/* The cataloger in wharf_lang_catalogers[] with this name, or NULL. */
const struct wharf_cataloger *wharf_lang_cataloger_find(const char *name);

/* Run every cataloger of wharf_lang_catalogers[] whose wants() accepts (path, mode, len) over the
 * data, as the layer walker does; stops at the first error (err names the cataloger). */
int wharf_lang_catalog_file(const char *path, mode_t mode, const unsigned char *data, size_t len,
			    struct wharf_pkg_list *out, struct wharf_error *err);

/* Secrets (wharf_secrets_scan_buffer in wharf/pkg.h) read the image config as text: "config:Env"
 * holds one KEY=VALUE entry per line (its own rule, env-secret, applies there); "config:Cmd",
 * "config:Entrypoint" and "config:Labels" are searched like configuration files (Labels best as
 * "key=value" lines). Findings of the config carry line numbers of that text. */

#endif
