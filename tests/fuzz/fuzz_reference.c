/* Image references, repository names and tags from hostile input (URLs, CLI arguments,
 * the catalog and tag lists of a remote registry). */
#include "wharf/oci.h"

#include "fuzz.h"

static void check_ref(const struct wharf_oci_ref *ref, const char *input)
{
	struct wharf_error err = {0};
	FUZZ_CHECK(ref->repository != NULL);
	FUZZ_CHECK(wharf_oci_check_repo_name(ref->repository, strlen(ref->repository), &err) == 0);
	if (ref->tag)
		FUZZ_CHECK(wharf_oci_check_tag(ref->tag, &err) == 0);
	if (ref->registry)
		FUZZ_CHECK(ref->registry[0] != '\0' && !strchr(ref->registry, '/'));
	if (ref->has_digest) {
		struct wharf_digest again;
		FUZZ_CHECK(wharf_digest_parse(&again, ref->digest.str, &err) == 0);
		FUZZ_CHECK(wharf_digest_equal(&again, &ref->digest));
	}

	/* The parts put back together spell the input, and parse to the same parts again. */
	char *joined = wharf_xasprintf("%s%s%s%s%s%s%s", ref->registry ? ref->registry : "",
				       ref->registry ? "/" : "", ref->repository, ref->tag ? ":" : "",
				       ref->tag ? ref->tag : "", ref->has_digest ? "@" : "",
				       ref->has_digest ? ref->digest.str : "");
	FUZZ_CHECK(!strcmp(joined, input));
	struct wharf_oci_ref again;
	FUZZ_CHECK(wharf_oci_ref_parse(&again, joined, &err) == 0);
	FUZZ_CHECK(!strcmp(again.repository, ref->repository));
	FUZZ_CHECK(!again.registry == !ref->registry);
	FUZZ_CHECK(!again.tag == !ref->tag);
	FUZZ_CHECK(again.has_digest == ref->has_digest);
	wharf_oci_ref_free(&again);
	free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	struct wharf_error err = {0};

	struct wharf_oci_ref ref;
	int r = wharf_oci_ref_parse(&ref, s, &err);
	if (r == 0) {
		check_ref(&ref, s);
		wharf_oci_ref_free(&ref);
	} else {
		FUZZ_CHECK(r == -err.code && err.message[0] != '\0');
		/* A failed parse leaves nothing behind to free. */
		FUZZ_CHECK(!ref.registry && !ref.repository && !ref.tag);
	}

	/* Names arrive with an explicit length (a slice of the URL path): use the raw bytes,
	 * unterminated, so a read past the end shows up. */
	char *raw = malloc(size ? size : 1);
	if (!raw)
		abort();
	if (size)
		memcpy(raw, data, size);
	wharf_error_clear(&err);
	r = wharf_oci_check_repo_name(raw, size, &err);
	if (r == 0) {
		FUZZ_CHECK(size >= 1 && size <= WHARF_REPO_NAME_MAX);
		FUZZ_CHECK(!memchr(raw, '\0', size));
		FUZZ_CHECK(raw[0] != '/' && raw[size - 1] != '/');
	} else {
		FUZZ_CHECK(r == -err.code);
	}
	free(raw);

	wharf_error_clear(&err);
	r = wharf_oci_check_tag(s, &err);
	if (r == 0) {
		size_t len = strlen(s);
		FUZZ_CHECK(len >= 1 && len <= WHARF_TAG_MAX);
		FUZZ_CHECK(s[0] != '.' && s[0] != '-');
		FUZZ_CHECK(!strchr(s, '/') && !strchr(s, ':') && !strchr(s, '@'));
	} else {
		FUZZ_CHECK(r == -err.code);
	}

	(void)wharf_oci_ref_is_digest(s);
	free(s);
	return 0;
}
