#include <string.h>

#include "wharf/oci.h"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* component ::= [a-z0-9]+ (separator [a-z0-9]+)*, separator ::= '.' | '_' | '__' | '-'+ */
static bool valid_component(const char *s, size_t len)
{
	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	size_t i = 0;
	while (i < len) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && !is_lower_alnum(s[i]))
			i++;
		size_t sep = i - start;
		const char *p = s + start;
		bool ok = (sep == 1 && (*p == '.' || *p == '_')) || (sep == 2 && p[0] == '_' && p[1] == '_');
		if (!ok) {
			ok = true;
			for (size_t k = 0; k < sep; k++)
				ok = ok && p[k] == '-';
		}
		if (!ok)
			return false;
	}
	return true;
}

int wharf_oci_check_repo_name(const char *name, size_t len, struct wharf_error *err)
{
	int shown = len > 64 ? 64 : (int)len;
	if (len == 0)
		return wharf_error_set(err, WHARF_EINVAL, "repository name is empty");
	if (len > WHARF_REPO_NAME_MAX)
		return wharf_error_set(err, WHARF_EINVAL,
				       "repository name '%.*s...' is %zu characters, over the limit of %d",
				       shown, name, len, WHARF_REPO_NAME_MAX);
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '/')
			continue;
		if (!valid_component(name + start, i - start))
			return wharf_error_set(err, WHARF_EINVAL,
					       "repository name '%.*s': component '%.*s' must be lower-case "
					       "letters and digits separated by '.', '_', '__' or '-'",
					       shown, name, (int)(i - start > 64 ? 64 : i - start), name + start);
		start = i + 1;
	}
	return 0;
}

int wharf_oci_check_tag(const char *tag, struct wharf_error *err)
{
	size_t len = strlen(tag);
	bool ok = len >= 1 && len <= WHARF_TAG_MAX;
	for (size_t i = 0; ok && i < len; i++) {
		char c = tag[i];
		bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
		ok = word || (i > 0 && (c == '.' || c == '-'));
	}
	if (!ok)
		return wharf_error_set(err, WHARF_EINVAL,
				       "tag '%.*s' must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
				       (int)(len > 140 ? 140 : len), tag);
	return 0;
}

bool wharf_oci_ref_is_digest(const char *ref)
{
	return strchr(ref, ':') != NULL;
}

void wharf_oci_ref_free(struct wharf_oci_ref *ref)
{
	free(ref->registry);
	free(ref->repository);
	free(ref->tag);
	memset(ref, 0, sizeof(*ref));
}

/* Docker's rule: the first component names a registry when it has a '.' or ':' or is localhost. */
static bool looks_like_registry(const char *s, size_t len)
{
	return memchr(s, '.', len) || memchr(s, ':', len) || (len == 9 && memcmp(s, "localhost", 9) == 0);
}

static int check_registry(const char *s, size_t len, struct wharf_error *err)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
		if (!ok)
			return wharf_error_set(err, WHARF_EINVAL, "registry host '%.*s' has the character '%c'",
					       (int)(len > 64 ? 64 : len), s, c);
	}
	return 0;
}

int wharf_oci_ref_parse(struct wharf_oci_ref *out, const char *s, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(s);
	if (len == 0 || len > 4096)
		return wharf_error_set(err, WHARF_EINVAL, "image reference is empty or longer than 4096 characters");
	const char *at = strchr(s, '@');
	size_t name_end = at ? (size_t)(at - s) : len;
	int r;
	if (at) {
		r = wharf_digest_parse(&out->digest, at + 1, err);
		if (r < 0)
			return wharf_error_prefix(err, "image reference '%.200s'", s);
		out->has_digest = true;
	}
	/* A tag follows the last ':' that comes after the last '/'. */
	const char *slash = memrchr(s, '/', name_end);
	const char *colon = memrchr(slash ? slash : s, ':', name_end - (size_t)((slash ? slash : s) - s));
	size_t repo_end = colon ? (size_t)(colon - s) : name_end;
	if (colon) {
		out->tag = wharf_xstrndup(colon + 1, name_end - repo_end - 1);
		if ((r = wharf_oci_check_tag(out->tag, err)) < 0)
			goto fail;
	}
	const char *first_slash = memchr(s, '/', repo_end);
	size_t repo_start = 0;
	if (first_slash && looks_like_registry(s, (size_t)(first_slash - s))) {
		if ((r = check_registry(s, (size_t)(first_slash - s), err)) < 0)
			goto fail;
		out->registry = wharf_xstrndup(s, (size_t)(first_slash - s));
		repo_start = (size_t)(first_slash - s) + 1;
	}
	if ((r = wharf_oci_check_repo_name(s + repo_start, repo_end - repo_start, err)) < 0)
		goto fail;
	out->repository = wharf_xstrndup(s + repo_start, repo_end - repo_start);
	return 0;
fail:
	wharf_oci_ref_free(out);
	return wharf_error_prefix(err, "image reference '%.200s'", s);
}
