/* WWW-Authenticate challenges from hostile registries: a parse gives a Bearer or Basic scheme,
 * a realm for Bearer, values within their limits, or fails with a message naming the rule. */
#include "wharf/client.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	struct wharf_auth_challenge c;
	struct wharf_error err = {0};
	int r = wharf_auth_challenge_parse(s, &c, &err);
	if (r == 0) {
		FUZZ_CHECK(!strcmp(c.scheme, "bearer") || !strcmp(c.scheme, "basic"));
		FUZZ_CHECK(strcmp(c.scheme, "bearer") || (c.realm && c.realm[0]));
		const char *v[] = {c.realm, c.service, c.scope, c.error};
		for (size_t i = 0; i < 4; i++)
			FUZZ_CHECK(!v[i] || strlen(v[i]) <= 2048);
		wharf_auth_challenge_clear(&c);
	} else {
		FUZZ_CHECK(err.message[0] && !c.realm && !c.service && !c.scope && !c.error);
	}
	free(s);
	return 0;
}
