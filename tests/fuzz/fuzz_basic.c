/* Authorization headers, token scopes and token request forms from hostile clients: Basic
 * credentials decode into a user without ':' and a password, or fail with a message; scopes
 * parse into known types and action bits, or fail with a message naming the rule; form values
 * decode to no more bytes than they had. Input: the header value; the same bytes are also tried
 * as a scope, an action list and an OAuth2 form body. */
#include "wharf/auth.h"

#include "fuzz.h"

static void check_basic(const char *s)
{
	char *user = NULL, *pw = NULL;
	struct wharf_error err = {0};
	int r = wharf_basic_parse(s, &user, &pw, &err);
	if (r == 0) {
		FUZZ_CHECK(user && pw && !strchr(user, ':'));
		free(user);
		free(pw);
	} else {
		FUZZ_CHECK(err.message[0] && !user && !pw);
	}
}

static void check_scope(const char *s)
{
	struct wharf_scope sc;
	struct wharf_error err = {0};
	int r = wharf_scope_parse(s, &sc, &err);
	if (r == 0) {
		FUZZ_CHECK(!strcmp(sc.type, "repository") || !strcmp(sc.type, "registry"));
		FUZZ_CHECK(sc.name[0] && strlen(sc.name) < sizeof(sc.name));
		FUZZ_CHECK((sc.actions & ~(unsigned)(WHARF_ACT_REPO_ALL | WHARF_ACT_CATALOG)) == 0);
	} else {
		FUZZ_CHECK(r == -WHARF_EINVAL && err.message[0]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	check_basic(s);
	char *hdr = malloc(size + 7);
	if (!hdr)
		abort();
	memcpy(hdr, "Basic ", 6);
	memcpy(hdr + 6, s, size + 1);
	check_basic(hdr);
	check_scope(s);
	unsigned bits = wharf_actions_parse(s, size);
	FUZZ_CHECK((bits & ~(unsigned)(WHARF_ACT_REPO_ALL | WHARF_ACT_CATALOG)) == 0);
	static const char *const keys[] = {"grant_type", "username", "password", "scope", "refresh_token"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v = wharf_form_value(s, keys[i]);
		FUZZ_CHECK(!v || strlen(v) < strlen(s));
		free(v);
	}
	free(hdr);
	free(s);
	return 0;
}
