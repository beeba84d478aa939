/* An authorization plugin's answer ({"Allow":..,"Msg":..,"Err":..}): the plugin is a separate
 * process, possibly buggy. Input: the answer body. Only a well-formed answer without Err may
 * allow, and the message always fits and is terminated. */
#include "wharf/authx.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool allow = true;
	char msg[32];
	memset(msg, 'x', sizeof(msg));
	struct wharf_error err;
	int r = wharf_authz_parse_response((const char *)data, size, &allow, msg, sizeof(msg), &err);
	FUZZ_CHECK(r == 0 || r == -WHARF_EINVAL || r == -WHARF_ETOOBIG);
	FUZZ_CHECK(memchr(msg, 0, sizeof(msg)) != NULL);
	if (r < 0)
		FUZZ_CHECK(!allow);
	return 0;
}
