/* Passwords: argon2id with OWASP's second recommended parameter set (19 MiB, 2 passes, 1 lane),
 * so a login costs tens of milliseconds and little memory on a shared machine. */
#include <string.h>

#include <argon2.h>

#include "wharf/auth.h"

#define T_COST 2
#define M_COST (19 * 1024)
#define LANES 1
#define SALT_LEN 32 /* hex characters of 16 random bytes */
#define HASH_LEN 32
#define PASSWORD_MAX 1024

int wharf_password_hash(const char *password, char **out, struct wharf_error *err)
{
	size_t plen = strlen(password);
	if (plen == 0 || plen > PASSWORD_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "password must be 1 to %d bytes", PASSWORD_MAX);
	char salt_hex[SALT_LEN + 1];
	int r = wharf_random_hex(salt_hex, SALT_LEN / 2, err);
	if (r < 0)
		return r;
	size_t enc_len = argon2_encodedlen(T_COST, M_COST, LANES, SALT_LEN, HASH_LEN, Argon2_id);
	char *enc = wharf_xmalloc(enc_len);
	int ar = argon2id_hash_encoded(T_COST, M_COST, LANES, password, plen, salt_hex, SALT_LEN, HASH_LEN, enc,
				       enc_len);
	if (ar != ARGON2_OK) {
		free(enc);
		return wharf_error_set(err, WHARF_EINTERNAL, "argon2id: %s", argon2_error_message(ar));
	}
	*out = enc;
	return 0;
}

bool wharf_password_verify(const char *encoded, const char *password)
{
	if (!encoded || !password || !wharf_str_has_prefix(encoded, "$argon2id$"))
		return false;
	size_t plen = strlen(password);
	if (plen > PASSWORD_MAX)
		return false;
	return argon2id_verify(encoded, password, plen) == ARGON2_OK;
}
