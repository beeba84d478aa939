/* Severity names and lists. */
#include <string.h>
#include <strings.h>

#include "wharf/vulndb.h"

static const char *const names[] = {"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"};

int wharf_severity_from_name(const char *name)
{
	for (int i = 0; name && i < 5; i++)
		if (!strcasecmp(name, names[i]))
			return i;
	return -1;
}

const char *wharf_severity_name(int sev)
{
	return sev >= 0 && sev < 5 ? names[sev] : "UNKNOWN";
}

int wharf_severity_parse_list(const char *list, unsigned *mask, struct wharf_error *err)
{
	unsigned m = 0;
	char *copy = wharf_xstrdup(list ? list : ""), *save = NULL;
	int r = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int s = wharf_severity_from_name(tok);
		if (s < 0) {
			r = wharf_error_set(err, WHARF_EINVAL, "severity \"%s\": not one of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL",
					    tok);
			break;
		}
		m |= WHARF_SEV_BIT(s);
	}
	free(copy);
	if (r == 0 && !m)
		r = wharf_error_set(err, WHARF_EINVAL, "empty severity list");
	if (r == 0)
		*mask = m;
	return r;
}
