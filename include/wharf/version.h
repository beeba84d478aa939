/* version: exact version ordering per package ecosystem (vulndb/version*.c).
 *   Debian, Ubuntu      dpkg (deb-version(7)): epoch, upstream, revision, '~' before anything
 *   Alpine              apk: digits, letters, _alpha _beta _pre _rc _cvs _svn _git _hg _p, -rN
 *   Red Hat             rpm: rpmvercmp over epoch, version, release; '~' and '^'
 *   npm, crates.io, SEMVER   semantic versioning 2.0.0 (leading 'v' and '=' allowed)
 *   Packagist           Composer: up to four numbers, dev < alpha < beta < RC < stable < patch
 *   PyPI                PEP 440 (epochs, pre/post/dev releases, local versions)
 *   Go                  module versions: semver with 'v', pseudo-versions, +incompatible
 *   Maven               ComparableVersion (qualifiers alpha<beta<milestone<rc<snapshot<""<sp)
 *   RubyGems            Gem::Version (segments, letters make a prerelease) */
#ifndef WHARF_VERSION_H
#define WHARF_VERSION_H

#include <stdbool.h>

#include "wharf/util.h"

/* Longest version string accepted. */
#define WHARF_VERSION_MAX 256

/* Compare versions a and b of ecosystem (an OSV ecosystem name as in pkg.h, or "SEMVER"):
 * *cmp becomes <0, 0 or >0. WHARF_EINVAL (naming the version and the rule) when either is not
 * a valid version of that ecosystem, WHARF_EUNSUPPORTED for an unknown ecosystem. */
int wharf_version_compare(const char *ecosystem, const char *a, const char *b, int *cmp,
			  struct wharf_error *err);

/* Is v a valid version of ecosystem? (err says why not; may be NULL) */
bool wharf_version_valid(const char *ecosystem, const char *v, struct wharf_error *err);

/* Is ecosystem one this module orders? */
bool wharf_version_known(const char *ecosystem);

/* The per-scheme comparators (same contract as wharf_version_compare). */
int wharf_version_dpkg(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_apk(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_rpm(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_semver(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_pep440(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_go(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_maven(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_gem(const char *a, const char *b, int *cmp, struct wharf_error *err);
int wharf_version_composer(const char *a, const char *b, int *cmp, struct wharf_error *err);

#endif
