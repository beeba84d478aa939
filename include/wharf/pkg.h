/* pkg: what the scanner finds in an image and what the vulnerability database matches against.
 * The contract between scan/ (layer walker, catalogers), scan/lang/ (language catalogers,
 * secrets) and vulndb/ (version ordering, advisories, matching). */
#ifndef WHARF_PKG_H
#define WHARF_PKG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wharf/util.h"

/* Ecosystem names are OSV's (https://ossf.github.io/osv-schema/#affectedpackage-field):
 * "Debian", "Ubuntu", "Alpine", "Red Hat" (rpm family), "npm", "PyPI", "Go", "Maven",
 * "crates.io", "RubyGems", "Packagist". */
#define WHARF_ECO_DEBIAN "Debian"
#define WHARF_ECO_UBUNTU "Ubuntu"
#define WHARF_ECO_ALPINE "Alpine"
#define WHARF_ECO_RPM "Red Hat"
#define WHARF_ECO_NPM "npm"
#define WHARF_ECO_PYPI "PyPI"
#define WHARF_ECO_GO "Go"
#define WHARF_ECO_MAVEN "Maven"
#define WHARF_ECO_CARGO "crates.io"
#define WHARF_ECO_GEM "RubyGems"
#define WHARF_ECO_COMPOSER "Packagist"

/* One installed package. Every string is owned by the package (freed by wharf_pkg_clear). */
struct wharf_pkg {
	char *ecosystem;      /* one of WHARF_ECO_* */
	char *name;           /* binary package / module name (Maven: "group:artifact") */
	char *version;        /* as installed (dpkg: with epoch; rpm: [epoch:]version-release) */
	char *source_name;    /* dpkg/apk/rpm source package, NULL when the same as name */
	char *source_version; /* NULL when the same as version */
	char *arch;           /* NULL when not applicable */
	char *path;           /* file it was read from, relative to the image root, no leading '/' */
	char *purl;           /* package URL (https://github.com/package-url/purl-spec), may be NULL */
	/* Set by the image merge (scan/), not by catalogers: the layer that introduced the package
	 * at this version (index into the image's layers, with its digest and diff ID). */
	int layer;
	char *layer_digest;
	char *layer_diffid;
};

struct wharf_pkg_list {
	struct wharf_pkg *v;
	size_t n, cap;
};

/* Append a zeroed package and return it (layer = -1); aborts on out-of-memory like wharf_xcalloc. */
struct wharf_pkg *wharf_pkg_list_add(struct wharf_pkg_list *l);
void wharf_pkg_clear(struct wharf_pkg *p);
void wharf_pkg_list_free(struct wharf_pkg_list *l);

/* The operating system of an image, from etc/os-release (or usr/lib/os-release). */
struct wharf_os {
	char *id;          /* os-release ID: "debian", "ubuntu", "alpine", "rhel", "centos", "rocky", ... */
	char *version_id;  /* VERSION_ID: "12", "3.18.4", "9.3" */
	char *codename;    /* VERSION_CODENAME: "bookworm"; NULL when absent */
	char *pretty_name;
	int distroless;    /* 1 when dpkg status.d/ was found without a dpkg status file */
};
void wharf_os_clear(struct wharf_os *os);

/* A language cataloger (scan/lang/). The walker offers it every regular file whose path and
 * size wants() accepts, reading at most max_size bytes of it; parse() appends what it finds.
 * Paths are relative to the image root without a leading '/'. */
struct wharf_cataloger {
	const char *name;
	uint64_t max_size;
	int (*wants)(const char *path, mode_t mode, uint64_t size);
	int (*parse)(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		     struct wharf_error *err);
};
/* NULL-terminated; defined in scan/lang/ (languages) and scan/ (dpkg, apk, rpm). */
extern const struct wharf_cataloger *const wharf_lang_catalogers[];
extern const struct wharf_cataloger *const wharf_os_catalogers[];

/* A leaked secret (scan/lang/secrets.c). Never holds the whole secret. */
struct wharf_secret_finding {
	char *rule_id;   /* "aws-access-key-id", "private-key", "github-pat", ... */
	char *category;  /* "AWS", "AsymmetricPrivateKey", "GitHub", ... (Trivy's Category) */
	char *severity;  /* "CRITICAL", "HIGH", "MEDIUM", "LOW" */
	char *title;
	char *path;      /* image path, or "config:Env", "config:Cmd", "config:Entrypoint", "config:Labels" */
	int line;        /* 1-based; 0 when not applicable */
	char *match;     /* the line with the secret masked ("AKIA****************"), at most 120 bytes */
	int layer;       /* index, -1 for the image config; the merge fills digests */
	char *layer_digest;
	char *layer_diffid;
};
struct wharf_secret_list {
	struct wharf_secret_finding *v;
	size_t n, cap;
};
struct wharf_secret_finding *wharf_secret_list_add(struct wharf_secret_list *l);
void wharf_secret_list_free(struct wharf_secret_list *l);

/* The secrets detector (scan/lang/secrets.c): search one file's text (data, len) found at path in
 * layer (index; -1 for the image config) and append findings. Binary data is skipped. */
int wharf_secrets_scan_buffer(const char *path, const unsigned char *data, size_t len, int layer,
			      struct wharf_secret_list *out, struct wharf_error *err);

/* A known vulnerability affecting one package (vulndb/ match). */
struct wharf_finding {
	char *id;              /* "CVE-2023-1234", "GHSA-...", "GO-2023-...", "RUSTSEC-..." */
	char *pkg_name;        /* the package as installed (binary name for distro packages) */
	char *installed;       /* installed version */
	char *fixed;           /* first fixed version, NULL when no fix exists (unfixed) */
	char *status;          /* "fixed" or "affected" (Trivy's Status values) */
	char *severity;        /* "CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN" */
	char *severity_source; /* "debian", "alpine", "nvd", "ghsa", "osv" */
	char *title;           /* may be NULL */
	char *description;     /* may be NULL */
	char *primary_url;     /* may be NULL */
	double cvss_score;     /* CVSS base score, 0 when unknown */
	char *cvss_vector;     /* may be NULL */
	size_t pkg;            /* index into the scan's package list (gives ecosystem, path, layer) */
	const char *cvss_source; /* where the CVSS came from: a static string ("nvd", "ghsa", "osv"),
				    not freed; NULL when unknown (added by vulndb) */
};
struct wharf_finding_list {
	struct wharf_finding *v;
	size_t n, cap;
};
struct wharf_finding *wharf_finding_list_add(struct wharf_finding_list *l);
void wharf_finding_list_free(struct wharf_finding_list *l);

/* One image layer as the report names it. */
struct wharf_layer_info {
	char *digest;     /* compressed blob digest */
	char *diffid;     /* uncompressed digest (config rootfs.diff_ids) */
	char *media_type;
	uint64_t size;
	char *created_by; /* the config history entry, may be NULL */
};

/* Everything one scan of one image found; what the reports (vulndb/report) render. */
struct wharf_scan_result {
	char *artifact;        /* as the user named it: "oci:dir:tag", "docker://host/repo:tag" */
	char *manifest_digest; /* may be NULL (docker-archive) */
	char *config_digest;
	char *repo_tags;       /* "repo:tag" or NULL */
	struct wharf_os os;
	struct wharf_layer_info *layers;
	size_t nlayers;
	struct wharf_pkg_list pkgs;
	struct wharf_finding_list findings;
	struct wharf_secret_list secrets;
	int64_t created; /* unix time of the scan */
};
void wharf_scan_result_free(struct wharf_scan_result *r);

#endif
