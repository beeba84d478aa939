/* CVSS v3.x base scores, computed from the vector as the FIRST specification defines them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wharf/vulndb.h"

struct metric {
	const char *name;
	const char *values; /* allowed letters */
	char got;
};

static double weight(const struct metric *m, bool changed)
{
	switch (m->name[0] == 'A' && m->name[1] == 'V' ? 'v' : m->name[0] == 'A' && m->name[1] == 'C' ? 'c' : m->name[0]) {
	case 'v':
		return m->got == 'N' ? 0.85 : m->got == 'A' ? 0.62 : m->got == 'L' ? 0.55 : 0.2;
	case 'c':
		return m->got == 'L' ? 0.77 : 0.44;
	case 'P':
		if (m->got == 'N')
			return 0.85;
		if (m->got == 'L')
			return changed ? 0.68 : 0.62;
		return changed ? 0.5 : 0.27;
	case 'U':
		return m->got == 'N' ? 0.85 : 0.62;
	default: /* C, I, A */
		return m->got == 'H' ? 0.56 : m->got == 'L' ? 0.22 : 0;
	}
}

/* The specification's Roundup: the smallest number with one decimal >= x, free of float noise. */
static double roundup(double x)
{
	long long i = llround(x * 100000);
	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

int wharf_cvss3_base_score(const char *vector, double *score, struct wharf_error *err)
{
	struct metric m[] = {{"AV", "NALP", 0}, {"AC", "LH", 0}, {"PR", "NLH", 0}, {"UI", "NR", 0},
			     {"S", "UC", 0},    {"C", "HLN", 0},  {"I", "HLN", 0},  {"A", "HLN", 0}};
	const size_t nm = sizeof(m) / sizeof(m[0]);
	if (!vector || (strncmp(vector, "CVSS:3.0/", 9) && strncmp(vector, "CVSS:3.1/", 9)))
		return wharf_error_set(err, WHARF_EINVAL, "CVSS vector \"%s\": does not start with CVSS:3.0/ or CVSS:3.1/",
				       vector ? vector : "");
	if (strlen(vector) > 200)
		return wharf_error_set(err, WHARF_EINVAL, "CVSS vector: longer than 200 bytes");
	const char *p = vector + 9;
	while (*p) {
		const char *colon = strchr(p, ':');
		const char *slash = strchr(p, '/');
		if (!colon || (slash && slash < colon))
			return wharf_error_set(err, WHARF_EINVAL, "CVSS vector \"%s\": metric without a value", vector);
		size_t klen = (size_t)(colon - p);
		size_t vlen = (size_t)((slash ? slash : colon + strlen(colon)) - colon - 1);
		for (size_t i = 0; i < nm; i++) {
			if (strlen(m[i].name) != klen || strncmp(m[i].name, p, klen))
				continue;
			if (vlen != 1 || !strchr(m[i].values, colon[1]) || m[i].got)
				return wharf_error_set(err, WHARF_EINVAL, "CVSS vector \"%s\": invalid or repeated value for %s",
						       vector, m[i].name);
			m[i].got = colon[1];
		}
		/* Temporal and environmental metrics are allowed and do not change the base score. */
		p = slash ? slash + 1 : colon + 1 + vlen;
	}
	for (size_t i = 0; i < nm; i++)
		if (!m[i].got)
			return wharf_error_set(err, WHARF_EINVAL, "CVSS vector \"%s\": base metric %s missing", vector, m[i].name);
	bool changed = m[4].got == 'C';
	double iss = 1 - (1 - weight(&m[5], changed)) * (1 - weight(&m[6], changed)) * (1 - weight(&m[7], changed));
	double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
	double expl = 8.22 * weight(&m[0], changed) * weight(&m[1], changed) * weight(&m[2], changed) *
		      weight(&m[3], changed);
	if (impact <= 0)
		*score = 0;
	else if (changed)
		*score = roundup(fmin(1.08 * (impact + expl), 10));
	else
		*score = roundup(fmin(impact + expl, 10));
	return 0;
}

int wharf_severity_from_cvss(double score)
{
	if (score >= 9.0)
		return WHARF_SEV_CRITICAL;
	if (score >= 7.0)
		return WHARF_SEV_HIGH;
	if (score >= 4.0)
		return WHARF_SEV_MEDIUM;
	if (score > 0)
		return WHARF_SEV_LOW;
	return WHARF_SEV_UNKNOWN;
}
