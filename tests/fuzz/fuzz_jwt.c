/* Bearer tokens from hostile clients: wharf_jwt_verify must refuse everything not signed by our
 * key with ES256, without crashing, and the claims checks and access lookup must cope with any
 * JSON. The input is the token text; a fixed key is made once. Forgeries cannot pass, so any
 * accepted token is an invariant failure. */
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "wharf/auth.h"
#include "wharf/keys.h"

#include "fuzz.h"

static struct wharf_jwt_key *fuzz_key(void)
{
	static struct wharf_jwt_key *k;
	if (k)
		return k;
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	struct wharf_error err = {0};
	FUZZ_CHECK(wharf_jwt_key_from_pem(&k, data, (size_t)n, &err) == 0);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return k;
}

/* The claims half alone, decoded as the verifier would after a good signature. */
static void check_claims_part(const char *tok)
{
	const char *d1 = strchr(tok, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d2)
		return;
	unsigned char *raw = NULL;
	size_t n = 0;
	if (wharf_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw, &n) < 0)
		return;
	json_t *c = json_loadb((const char *)raw, n, 0, NULL);
	free(raw);
	if (!c)
		return;
	struct wharf_error err = {0};
	int r = wharf_jwt_check_claims(c, "wharf", "wharf", 1700000000, 30, &err);
	FUZZ_CHECK(r == 0 || (r == -WHARF_EINVAL && err.message[0]));
	unsigned bits = wharf_jwt_access_actions(c, "repository", "a/b");
	FUZZ_CHECK((bits & ~(unsigned)(WHARF_ACT_REPO_ALL | WHARF_ACT_CATALOG)) == 0);
	json_decref(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = fuzz_strndup(data, size);
	json_t *claims = NULL;
	struct wharf_error err = {0};
	int r = wharf_jwt_verify(fuzz_key(), tok, &claims, &err);
	FUZZ_CHECK(r < 0 && err.message[0] && claims == NULL);
	check_claims_part(tok);
	free(tok);
	return 0;
}
