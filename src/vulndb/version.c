/* Version ordering: the dispatch from an ecosystem name to its comparator. */
#include <string.h>

#include "wharf/pkg.h"
#include "wharf/version.h"

typedef int (*version_cmp_fn)(const char *, const char *, int *, struct wharf_error *);

struct scheme {
	const char *ecosystem;
	version_cmp_fn cmp;
};

static const struct scheme schemes[] = {
	{WHARF_ECO_DEBIAN, wharf_version_dpkg},
	{WHARF_ECO_UBUNTU, wharf_version_dpkg},
	{WHARF_ECO_ALPINE, wharf_version_apk},
	{WHARF_ECO_RPM, wharf_version_rpm},
	{"Rocky Linux", wharf_version_rpm},
	{"AlmaLinux", wharf_version_rpm},
	{"CentOS", wharf_version_rpm},
	{"openSUSE", wharf_version_rpm},
	{"SUSE", wharf_version_rpm},
	{WHARF_ECO_NPM, wharf_version_semver},
	{WHARF_ECO_CARGO, wharf_version_semver},
	{WHARF_ECO_COMPOSER, wharf_version_composer},
	{"SEMVER", wharf_version_semver},
	{"Hex", wharf_version_semver},
	{WHARF_ECO_PYPI, wharf_version_pep440},
	{WHARF_ECO_GO, wharf_version_go},
	{WHARF_ECO_MAVEN, wharf_version_maven},
	{WHARF_ECO_GEM, wharf_version_gem},
};

/* OSV ecosystems may carry a release: "Debian:12", "Alpine:v3.18". */
static version_cmp_fn find_scheme(const char *ecosystem)
{
	if (!ecosystem)
		return NULL;
	size_t n = strcspn(ecosystem, ":");
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].ecosystem) == n && !strncmp(schemes[i].ecosystem, ecosystem, n))
			return schemes[i].cmp;
	return NULL;
}

bool wharf_version_known(const char *ecosystem)
{
	return find_scheme(ecosystem) != NULL;
}

int wharf_version_compare(const char *ecosystem, const char *a, const char *b, int *cmp, struct wharf_error *err)
{
	version_cmp_fn fn = find_scheme(ecosystem);
	if (!fn)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "no version ordering for ecosystem \"%s\"",
				       ecosystem ? ecosystem : "(none)");
	int c = 0;
	int r = fn(a, b, &c, err);
	if (r < 0)
		return r;
	*cmp = c;
	return 0;
}

bool wharf_version_valid(const char *ecosystem, const char *v, struct wharf_error *err)
{
	int c;
	return wharf_version_compare(ecosystem, v, v, &c, err) == 0;
}
