/* keys: key objects and IDs in both dialects, signing and verifying, certificates, encrypted
 * private keys, base64/hex; and interoperability with independent implementations:
 *  - fixtures/interop.h (fixtures/make-interop.sh): keys and signatures made by the openssl CLI,
 *    key IDs computed by python3 hashlib over hand-written canonical JSON; the Notary IDs were
 *    also checked against Notary's own TUFKey.ID() (tuf/data/keys.go, built with Go 1.19), the
 *    TUF IDs against securesystemslib's encode_canonical;
 *  - fixtures/notary.h (fixtures/make-notary.sh): trust data and a root key file written by
 *    Notary 0.7 itself;
 *  - openssl_verifies_wharf_signatures: signatures made by wharf, checked with
 *    `openssl pkeyutl -verify`, and a wharf key file opened by `openssl pkey`. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>

#include "wharf_test.h"
#include "wharf/json.h"
#include "wharf/keys.h"

#include "fixtures/interop.h"
#include "fixtures/notary.h"

static const char msg[] = "the signed part of some metadata";

/* Made once: RSA-3072 generation takes a while. */
static struct wharf_key *ec_key, *ed_key, *rsa_key, *ec_x509, *rsa_x509;

static int group_setup(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	if (wharf_key_generate(&ec_key, WHARF_KEY_ECDSA, &err) < 0 ||
	    wharf_key_generate(&ed_key, WHARF_KEY_ED25519, &err) < 0 ||
	    wharf_key_generate(&rsa_key, WHARF_KEY_RSA, &err) < 0 ||
	    wharf_key_make_x509(&ec_x509, ec_key, "example.com/org/app", 3650, &err) < 0 ||
	    wharf_key_make_x509(&rsa_x509, rsa_key, "example.com/org/rsa", 30, &err) < 0) {
		fprintf(stderr, "key setup failed: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	wharf_key_free(ec_key);
	wharf_key_free(ed_key);
	wharf_key_free(rsa_key);
	wharf_key_free(ec_x509);
	wharf_key_free(rsa_x509);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *parse_json(const char *text)
{
	struct wharf_error err = {0};
	json_t *v = NULL;
	if (wharf_json_parse(&v, text, strlen(text), 1 << 20, &err) < 0)
		fail_msg("fixture does not parse: %s", err.message);
	return v;
}

static json_t *notary_key_json(const char *keytype, const char *b64)
{
	return json_pack("{s:s, s:{s:n, s:s}}", "keytype", keytype, "keyval", "private", "public", b64);
}

static json_t *tuf_key_json(const char *keytype, const char *scheme, const char *pub)
{
	return json_pack("{s:s, s:s, s:{s:s}}", "keytype", keytype, "scheme", scheme, "keyval", "public",
			 pub);
}

static struct wharf_key *key_ok(json_t *obj, enum wharf_key_dialect d)
{
	struct wharf_error err = {0};
	struct wharf_key *k = NULL;
	int r = wharf_key_from_json(&k, obj, d, &err);
	json_decref(obj);
	if (r < 0)
		fail_msg("key object refused: %s", err.message);
	return k;
}

/* from_json must refuse obj with EINVAL and a message holding needle. */
static void key_refused(json_t *obj, enum wharf_key_dialect d, const char *needle)
{
	struct wharf_error err = {0};
	struct wharf_key *k = NULL;
	int r = wharf_key_from_json(&k, obj, d, &err);
	json_decref(obj);
	if (r == 0) {
		wharf_key_free(k);
		fail_msg("key object accepted; wanted a refusal mentioning \"%s\"", needle);
	}
	assert_int_equal(r, -WHARF_EINVAL);
	assert_contains(err.message, needle);
}

static void hex_to_buf(const char *hex, struct wharf_buf *out)
{
	struct wharf_error err = {0};
	wharf_buf_init(out);
	if (wharf_hex_decode(hex, out, &err) < 0)
		fail_msg("fixture hex: %s", err.message);
}

static void b64_to_buf(const char *b64, struct wharf_buf *out)
{
	struct wharf_error err = {0};
	wharf_buf_init(out);
	if (wharf_base64_decode(b64, out, &err) < 0)
		fail_msg("fixture base64: %s", err.message);
}

static void expect_id(const struct wharf_key *k, enum wharf_key_dialect d, const char *want)
{
	char id[65];
	wharf_key_id(k, d, id);
	assert_string_equal(id, want);
}

static int verify(const struct wharf_key *k, enum wharf_key_dialect d, const char *method,
		  const struct wharf_buf *sig, const void *data, size_t len, struct wharf_error *err)
{
	return wharf_key_verify(k, d, method, sig->data, sig->len, data, len, err);
}

/* ---- base64 and hex ---------------------------------------------------------------------- */

static void base64_rfc4648_vectors(void **state)
{
	(void)state;
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		char *e = wharf_base64_encode(plain[i], strlen(plain[i]));
		assert_string_equal(e, enc[i]);
		free(e);
		struct wharf_error err = {0};
		struct wharf_buf out;
		wharf_buf_init(&out);
		wharf_buf_puts(&out, ">");
		int n = wharf_base64_decode(enc[i], &out, &err);
		assert_int_equal(n, (int)strlen(plain[i]));
		assert_int_equal(out.len, 1 + strlen(plain[i]));
		assert_memory_equal(out.data + 1, plain[i], strlen(plain[i]));
		wharf_buf_free(&out);
	}
}

static void base64_junk_is_refused(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *why;
	} junk[] = {
		{"Zm9", "multiple of 4"},       {"Zm9v!A==", "not in the alphabet"},
		{"Zm9v\nZm9v", "multiple of 4"}, {"Zm9vZm9v\n\n\n\n", "not in the alphabet"},
		{"Zh==", "non-zero bits"},      {"Zm9=", "non-zero bits"},
		{"Zg==Zg==", "not in the alphabet"}, {"====", "not in the alphabet"},
		{"Zm9v-_==", "not in the alphabet"}, /* URL-safe alphabet */
		{"Zg=", "multiple of 4"},       {" Zm9v", "multiple of 4"},
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct wharf_error err = {0};
		struct wharf_buf out;
		wharf_buf_init(&out);
		wharf_buf_puts(&out, "keep");
		int r = wharf_base64_decode(junk[i].in, &out, &err);
		if (r != -WHARF_EINVAL)
			fail_msg("base64 \"%s\": expected a refusal, got %d", junk[i].in, r);
		assert_contains(err.message, junk[i].why);
		assert_string_equal(out.data, "keep");
		wharf_buf_free(&out);
	}
}

static void hex_round_trip_and_junk(void **state)
{
	(void)state;
	const unsigned char bytes[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
	char *h = wharf_hex_encode(bytes, sizeof(bytes));
	assert_string_equal(h, "0001abff7f");
	struct wharf_error err = {0};
	struct wharf_buf out;
	wharf_buf_init(&out);
	assert_int_equal(wharf_hex_decode(h, &out, &err), 5);
	assert_memory_equal(out.data, bytes, 5);
	free(h);
	assert_int_equal(wharf_hex_decode("ABCDEF", &out, &err), 3); /* either case */
	assert_wharf_err(wharf_hex_decode("abc", &out, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "odd length");
	assert_wharf_err(wharf_hex_decode("0x12", &out, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "character 1");
	assert_wharf_err(wharf_hex_decode("12 3", &out, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_hex_decode("zz", &out, &err), err, WHARF_EINVAL);
	assert_int_equal(out.len, 8);
	wharf_buf_free(&out);
}

/* ---- key objects and IDs ----------------------------------------------------------------- */

static void notary_key_ids_match_independent_values(void **state)
{
	(void)state;
	struct wharf_key *k = key_ok(notary_key_json("ecdsa", IOP_EC_PUB_B64), WHARF_DIALECT_NOTARY);
	assert_int_equal(wharf_key_type(k), WHARF_KEY_ECDSA);
	assert_false(wharf_key_has_private(k));
	expect_id(k, WHARF_DIALECT_NOTARY, IOP_EC_NOTARY_ID);
	/* The same key in the other dialect: PEM public key, scheme, and that ID. */
	expect_id(k, WHARF_DIALECT_TUF, IOP_EC_TUF_ID);
	wharf_key_free(k);

	k = key_ok(notary_key_json("ed25519", IOP_ED_PUB_B64), WHARF_DIALECT_NOTARY);
	assert_int_equal(wharf_key_type(k), WHARF_KEY_ED25519);
	expect_id(k, WHARF_DIALECT_NOTARY, IOP_ED_NOTARY_ID);
	expect_id(k, WHARF_DIALECT_TUF, IOP_ED_TUF_ID);
	wharf_key_free(k);

	k = key_ok(notary_key_json("rsa", IOP_RSA_PUB_B64), WHARF_DIALECT_NOTARY);
	assert_int_equal(wharf_key_type(k), WHARF_KEY_RSA);
	expect_id(k, WHARF_DIALECT_NOTARY, IOP_RSA_NOTARY_ID);
	expect_id(k, WHARF_DIALECT_TUF, IOP_RSA_TUF_ID);
	wharf_key_free(k);
}

static void tuf_key_ids_match_independent_values(void **state)
{
	(void)state;
	struct wharf_key *k =
		key_ok(tuf_key_json("ecdsa", "ecdsa-sha2-nistp256", IOP_EC_PUB_PEM), WHARF_DIALECT_TUF);
	expect_id(k, WHARF_DIALECT_TUF, IOP_EC_TUF_ID);
	expect_id(k, WHARF_DIALECT_NOTARY, IOP_EC_NOTARY_ID);
	/* The object comes back out exactly as it went in. */
	json_t *back = wharf_key_to_json(k, WHARF_DIALECT_TUF);
	assert_string_equal(json_string_value(json_object_get(back, "scheme")), "ecdsa-sha2-nistp256");
	assert_string_equal(json_string_value(json_object_get(json_object_get(back, "keyval"), "public")),
			    IOP_EC_PUB_PEM);
	assert_null(json_object_get(back, "keyid_hash_algorithms"));
	json_decref(back);
	wharf_key_free(k);

	k = key_ok(tuf_key_json("ed25519", "ed25519", IOP_ED_PUB_HEX), WHARF_DIALECT_TUF);
	expect_id(k, WHARF_DIALECT_TUF, IOP_ED_TUF_ID);
	expect_id(k, WHARF_DIALECT_NOTARY, IOP_ED_NOTARY_ID);
	wharf_key_free(k);

	k = key_ok(tuf_key_json("rsa", "rsassa-pss-sha256", IOP_RSA_PUB_PEM), WHARF_DIALECT_TUF);
	expect_id(k, WHARF_DIALECT_TUF, IOP_RSA_TUF_ID);
	expect_id(k, WHARF_DIALECT_NOTARY, IOP_RSA_NOTARY_ID);
	wharf_key_free(k);

	/* Older securesystemslib spelled the ECDSA keytype like the scheme; the key ID hashes the
	 * keytype as written, so it differs, and it must survive the round trip. */
	k = key_ok(tuf_key_json("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", IOP_EC_PUB_PEM),
		   WHARF_DIALECT_TUF);
	char id[65];
	wharf_key_id(k, WHARF_DIALECT_TUF, id);
	assert_string_not_equal(id, IOP_EC_TUF_ID);
	back = wharf_key_to_json(k, WHARF_DIALECT_TUF);
	assert_string_equal(json_string_value(json_object_get(back, "keytype")), "ecdsa-sha2-nistp256");
	json_decref(back);
	wharf_key_free(k);
}

static void key_id_is_sha256_of_canonical_to_json(void **state)
{
	(void)state;
	/* Notary: {"keytype":..,"keyval":{"private":null,"public":..}}, keys sorted, so "private"
	 * comes before "public". */
	json_t *obj = wharf_key_to_json(ed_key, WHARF_DIALECT_NOTARY);
	struct wharf_buf canon;
	wharf_buf_init(&canon);
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_json_canonical(obj, WHARF_CANON_NOTARY, &canon, &err), err);
	assert_true(wharf_str_has_prefix(canon.data,
					 "{\"keytype\":\"ed25519\",\"keyval\":{\"private\":null,\"public\":\""));
	json_decref(obj);
	wharf_buf_free(&canon);
	/* An ID is 64 lower-case hex digits and differs between the dialects. */
	char a[65], b[65];
	wharf_key_id(ec_key, WHARF_DIALECT_NOTARY, a);
	wharf_key_id(ec_key, WHARF_DIALECT_TUF, b);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
	/* A certificate key has its own ID, not its public key's. */
	wharf_key_id(ec_x509, WHARF_DIALECT_NOTARY, b);
	assert_string_not_equal(a, b);
	assert_string_equal(wharf_key_type_name(wharf_key_type(ec_x509)), "ecdsa-x509");
}

static void p384_as_ecdsa_is_refused(void **state)
{
	(void)state;
	key_refused(notary_key_json("ecdsa", IOP_P384_PUB_B64), WHARF_DIALECT_NOTARY, "P-256");
	key_refused(tuf_key_json("ecdsa", "ecdsa-sha2-nistp256", IOP_P384_PUB_PEM), WHARF_DIALECT_TUF,
		    "P-256");
	key_refused(tuf_key_json("ecdsa", "ecdsa-sha2-nistp384", IOP_P384_PUB_PEM), WHARF_DIALECT_TUF,
		    "unsupported keytype");
}

/* base64 of the DER SubjectPublicKeyInfo of pkey. */
static char *spki_b64(EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	assert_true(n > 0);
	char *b64 = wharf_base64_encode(der, (size_t)n);
	OPENSSL_free(der);
	return b64;
}

static void bad_key_objects_are_refused(void **state)
{
	(void)state;
	const enum wharf_key_dialect N = WHARF_DIALECT_NOTARY, T = WHARF_DIALECT_TUF;
	key_refused(notary_key_json("dsa", IOP_EC_PUB_B64), N, "unknown keytype");
	key_refused(notary_key_json("ecdsa", "not base64!"), N, "keyval.public");
	key_refused(notary_key_json("ecdsa", IOP_ED_PUB_B64), N, "not a DER SubjectPublicKeyInfo");
	key_refused(notary_key_json("ecdsa", IOP_RSA_PUB_B64), N, "not an ecdsa key");
	key_refused(notary_key_json("rsa", IOP_EC_PUB_B64), N, "not an rsa key");
	key_refused(notary_key_json("ed25519", IOP_EC_PUB_B64), N, "not 32");
	key_refused(notary_key_json("ecdsa-x509", IOP_EC_PUB_B64), N, "no PEM certificate");
	key_refused(json_pack("{s:s, s:{s:s, s:s}}", "keytype", "ecdsa", "keyval", "private", "AAAA",
			      "public", IOP_EC_PUB_B64),
		    N, "private must be null");
	key_refused(json_pack("{s:s}", "keytype", "ecdsa"), N, "\"keyval\" must be an object");
	key_refused(json_pack("{s:i}", "keytype", 1), N, "\"keytype\" must be a string");
	key_refused(json_pack("[]"), N, "not a JSON object");
	key_refused(tuf_key_json("ed25519", "ed25519", "xyz"), T, "hex");
	key_refused(tuf_key_json("ed25519", "ed25519", IOP_ED_PUB_HEX "00"), T, "not 32");
	key_refused(tuf_key_json("rsa", "rsassa-pss-sha256", IOP_EC_PUB_PEM), T, "not an rsa key");
	key_refused(tuf_key_json("ecdsa", "ecdsa-sha2-nistp256", "MFkw"), T, "not a PEM public key");
	key_refused(tuf_key_json("ecdsa", "ed25519", IOP_EC_PUB_PEM), T, "unsupported keytype");
	key_refused(json_pack("{s:s, s:{s:s}}", "keytype", "ed25519", "keyval", "public", IOP_ED_PUB_HEX),
		    T, "\"scheme\" must be");
	key_refused(json_pack("{s:s, s:s, s:{s:s, s:s}}", "keytype", "ed25519", "scheme", "ed25519",
			      "keyval", "public", IOP_ED_PUB_HEX, "private", "00"),
		    T, "private key does not belong");

	/* A short RSA key: Notary's verifiers refuse under 2048 bits. */
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(small);
	char *b64 = spki_b64(small);
	key_refused(notary_key_json("rsa", b64), N, "1024 bits");
	free(b64);
	EVP_PKEY_free(small);

	/* A compressed EC point: valid for OpenSSL, refused by Go's parser, so refused here. */
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	assert_true(EVP_PKEY_set_utf8_string_param(ec, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
						   "compressed"));
	b64 = spki_b64(ec);
	key_refused(notary_key_json("ecdsa", b64), N, "must be uncompressed, not compressed");
	free(b64);
	EVP_PKEY_free(ec);
}

static void to_json_round_trips(void **state)
{
	(void)state;
	struct wharf_key *all[] = {ec_key, ed_key, rsa_key, ec_x509, rsa_x509};
	for (size_t i = 0; i < 5; i++) {
		for (int d = WHARF_DIALECT_NOTARY; d <= WHARF_DIALECT_TUF; d++) {
			json_t *obj = wharf_key_to_json(all[i], (enum wharf_key_dialect)d);
			assert_non_null(obj);
			struct wharf_key *back = key_ok(obj, (enum wharf_key_dialect)d);
			char a[65], b[65];
			wharf_key_id(all[i], (enum wharf_key_dialect)d, a);
			wharf_key_id(back, (enum wharf_key_dialect)d, b);
			assert_string_equal(a, b);
			assert_false(wharf_key_has_private(back));
			/* The public key read back verifies what the pair signs. */
			struct wharf_error err = {0};
			struct wharf_buf sig;
			wharf_buf_init(&sig);
			const char *method = NULL;
			assert_wharf_ok(wharf_key_sign(all[i], (enum wharf_key_dialect)d, msg, sizeof(msg),
						       &sig, &method, &err),
					err);
			assert_wharf_ok(verify(back, (enum wharf_key_dialect)d, method, &sig, msg,
					       sizeof(msg), &err),
					err);
			wharf_buf_free(&sig);
			wharf_key_free(back);
		}
	}
	/* TUF has no certificate key types: a certificate key goes out as the key it holds. */
	json_t *obj = wharf_key_to_json(ec_x509, WHARF_DIALECT_TUF);
	assert_string_equal(json_string_value(json_object_get(obj, "keytype")), "ecdsa");
	json_decref(obj);
}

/* ---- signing and verifying ----------------------------------------------------------------- */

struct sign_case {
	struct wharf_key **key;
	const char *notary_method;
	const char *tuf_scheme;
};

static const struct sign_case sign_cases[] = {
	{&ec_key, "ecdsa", "ecdsa-sha2-nistp256"},
	{&ec_x509, "ecdsa", "ecdsa-sha2-nistp256"},
	{&ed_key, "eddsa", "ed25519"},
	{&rsa_key, "rsapss", "rsassa-pss-sha256"},
	{&rsa_x509, "rsapss", "rsassa-pss-sha256"},
};

static void sign_verify_round_trip_every_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sign_cases) / sizeof(sign_cases[0]); i++) {
		const struct wharf_key *k = *sign_cases[i].key;
		for (int d = WHARF_DIALECT_NOTARY; d <= WHARF_DIALECT_TUF; d++) {
			struct wharf_error err = {0};
			struct wharf_buf sig;
			wharf_buf_init(&sig);
			const char *method = NULL;
			assert_wharf_ok(wharf_key_sign(k, (enum wharf_key_dialect)d, msg, sizeof(msg), &sig,
						       &method, &err),
					err);
			assert_string_equal(method, d == WHARF_DIALECT_NOTARY ? sign_cases[i].notary_method
									    : sign_cases[i].tuf_scheme);
			enum wharf_key_type t = wharf_key_type(k);
			if (t == WHARF_KEY_ED25519)
				assert_int_equal(sig.len, 64);
			else if (t == WHARF_KEY_RSA || t == WHARF_KEY_RSA_X509)
				assert_int_equal(sig.len, 384); /* RSA-3072 */
			else if (d == WHARF_DIALECT_NOTARY)
				assert_int_equal(sig.len, 64); /* r||s */
			else
				assert_int_equal((unsigned char)sig.data[0], 0x30); /* DER SEQUENCE */
			assert_wharf_ok(verify(k, (enum wharf_key_dialect)d, method, &sig, msg, sizeof(msg),
					       &err),
					err);
			wharf_buf_free(&sig);
		}
	}
}

static void bad_signatures_are_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sign_cases) / sizeof(sign_cases[0]); i++) {
		const struct wharf_key *k = *sign_cases[i].key;
		/* A key of another family. */
		const struct wharf_key *other = i < 2 ? rsa_key : ec_key;
		for (int di = WHARF_DIALECT_NOTARY; di <= WHARF_DIALECT_TUF; di++) {
			enum wharf_key_dialect d = (enum wharf_key_dialect)di;
			struct wharf_error err = {0};
			struct wharf_buf sig;
			wharf_buf_init(&sig);
			const char *method = NULL;
			assert_wharf_ok(wharf_key_sign(k, d, msg, sizeof(msg), &sig, &method, &err), err);
			char id[65];
			wharf_key_id(k, d, id);

			char tampered[sizeof(msg)];
			memcpy(tampered, msg, sizeof(msg));
			tampered[3] ^= 1;
			assert_wharf_err(verify(k, d, method, &sig, tampered, sizeof(tampered), &err), err,
					 WHARF_EINVAL);
			assert_contains(err.message, id);
			assert_contains(err.message, "does not match");

			/* A different key of the same type does not take it either. */
			struct wharf_key *stranger = NULL;
			enum wharf_key_type t = wharf_key_type(k);
			if (t == WHARF_KEY_RSA || t == WHARF_KEY_RSA_X509) /* generating RSA is slow */
				stranger = key_ok(notary_key_json("rsa", IOP_RSA_PUB_B64), WHARF_DIALECT_NOTARY);
			else
				assert_wharf_ok(wharf_key_generate(&stranger, t == WHARF_KEY_ECDSA_X509
										? WHARF_KEY_ECDSA
										: t,
								   &err),
						err);
			int r = verify(stranger, d, method, &sig, msg, sizeof(msg), &err);
			if (t == WHARF_KEY_RSA || t == WHARF_KEY_RSA_X509)
				assert_int_equal(r, -WHARF_EINVAL); /* 2048-bit key: wrong length */
			else
				assert_wharf_err(r, err, WHARF_EINVAL);
			wharf_key_free(stranger);

			/* The wrong key family for the method. */
			assert_wharf_err(verify(other, d, method, &sig, msg, sizeof(msg), &err), err,
					 WHARF_EINVAL);
			if (d == WHARF_DIALECT_NOTARY)
				assert_contains(err.message, "does not fit the key");
			else
				assert_contains(err.message, "is not the key's scheme");

			/* Truncated by one byte. */
			struct wharf_buf cut = sig;
			cut.len--;
			assert_wharf_err(verify(k, d, method, &cut, msg, sizeof(msg), &err), err,
					 WHARF_EINVAL);
			assert_contains(err.message, id);
			/* Empty. */
			cut.len = 0;
			assert_wharf_err(verify(k, d, method, &cut, msg, sizeof(msg), &err), err,
					 WHARF_EINVAL);
			wharf_buf_free(&sig);
		}
	}
}

static void wrong_method_names_are_refused(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_buf sig;
	wharf_buf_init(&sig);
	const char *method = NULL;
	assert_wharf_ok(wharf_key_sign(ec_key, WHARF_DIALECT_NOTARY, msg, sizeof(msg), &sig, &method,
				       &err),
			err);
	/* Notary lower-cases the method it reads, so case does not matter... */
	assert_wharf_ok(verify(ec_key, WHARF_DIALECT_NOTARY, "ECDSA", &sig, msg, sizeof(msg), &err), err);
	/* ...but the name does. */
	static const char *const wrong[] = {"eddsa", "rsapss", "rsapkcs1v15", "ecdsa-sha2-nistp256", ""};
	for (size_t i = 0; i < 5; i++) {
		assert_wharf_err(verify(ec_key, WHARF_DIALECT_NOTARY, wrong[i], &sig, msg, sizeof(msg), &err),
				 err, WHARF_EINVAL);
		assert_contains(err.message, "does not fit the key (want \"ecdsa\")");
	}
	assert_wharf_err(verify(ec_key, WHARF_DIALECT_NOTARY, NULL, &sig, msg, sizeof(msg), &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "no method");
	wharf_buf_free(&sig);

	/* TUF: the scheme is the key's; a NULL method means "the key's scheme". */
	wharf_buf_init(&sig);
	assert_wharf_ok(wharf_key_sign(ed_key, WHARF_DIALECT_TUF, msg, sizeof(msg), &sig, &method, &err),
			err);
	assert_wharf_ok(verify(ed_key, WHARF_DIALECT_TUF, NULL, &sig, msg, sizeof(msg), &err), err);
	assert_wharf_err(verify(ed_key, WHARF_DIALECT_TUF, "eddsa", &sig, msg, sizeof(msg), &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "scheme \"eddsa\" is not the key's scheme ed25519");
	wharf_buf_free(&sig);
}

static void public_keys_cannot_sign(void **state)
{
	(void)state;
	struct wharf_key *pub = key_ok(wharf_key_to_json(ed_key, WHARF_DIALECT_NOTARY), WHARF_DIALECT_NOTARY);
	struct wharf_error err = {0};
	struct wharf_buf sig;
	wharf_buf_init(&sig);
	assert_wharf_err(wharf_key_sign(pub, WHARF_DIALECT_NOTARY, msg, sizeof(msg), &sig, NULL, &err),
			 err, WHARF_EINVAL);
	assert_contains(err.message, "no private half");
	assert_int_equal(sig.len, 0);
	struct wharf_key *cert = NULL;
	struct wharf_key *ecpub = key_ok(wharf_key_to_json(ec_key, WHARF_DIALECT_NOTARY), WHARF_DIALECT_NOTARY);
	assert_wharf_err(wharf_key_make_x509(&cert, ecpub, "gun", 10, &err), err, WHARF_EINVAL);
	wharf_key_free(ecpub);
	wharf_key_free(pub);
	/* Certificate types are made with make_x509, not generated. */
	assert_wharf_err(wharf_key_generate(&cert, WHARF_KEY_ECDSA_X509, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "wharf_key_make_x509");
}

/* ---- signatures from the openssl CLI ------------------------------------------------------- */

static void openssl_signatures_verify(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_buf sig;
	const char *m = IOP_MSG;
	size_t mlen = strlen(IOP_MSG);

	struct wharf_key *ec = key_ok(notary_key_json("ecdsa", IOP_EC_PUB_B64), WHARF_DIALECT_NOTARY);
	hex_to_buf(IOP_EC_SIG_RAW_HEX, &sig);
	assert_wharf_ok(verify(ec, WHARF_DIALECT_NOTARY, "ecdsa", &sig, m, mlen, &err), err);
	/* Notary's form is r||s: the DER form is refused there (wrong length)... */
	wharf_buf_free(&sig);
	hex_to_buf(IOP_EC_SIG_DER_HEX, &sig);
	assert_wharf_err(verify(ec, WHARF_DIALECT_NOTARY, "ecdsa", &sig, m, mlen, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "a good one has 64");
	/* ...and is what the TUF dialect wants. */
	assert_wharf_ok(verify(ec, WHARF_DIALECT_TUF, NULL, &sig, m, mlen, &err), err);
	wharf_buf_free(&sig);
	wharf_key_free(ec);

	struct wharf_key *ed = key_ok(tuf_key_json("ed25519", "ed25519", IOP_ED_PUB_HEX), WHARF_DIALECT_TUF);
	hex_to_buf(IOP_ED_SIG_HEX, &sig);
	assert_wharf_ok(verify(ed, WHARF_DIALECT_TUF, "ed25519", &sig, m, mlen, &err), err);
	assert_wharf_ok(verify(ed, WHARF_DIALECT_NOTARY, "eddsa", &sig, m, mlen, &err), err);
	wharf_buf_free(&sig);
	wharf_key_free(ed);

	struct wharf_key *rsa = key_ok(notary_key_json("rsa", IOP_RSA_PUB_B64), WHARF_DIALECT_NOTARY);
	hex_to_buf(IOP_RSA_SIG_HEX, &sig);
	assert_wharf_ok(verify(rsa, WHARF_DIALECT_NOTARY, "rsapss", &sig, m, mlen, &err), err);
	assert_wharf_ok(verify(rsa, WHARF_DIALECT_TUF, "rsassa-pss-sha256", &sig, m, mlen, &err), err);
	wharf_buf_free(&sig);
	/* PSS with the longest salt: TUF verifiers find the salt length themselves; Notary wants
	 * exactly 32 bytes. */
	hex_to_buf(IOP_RSA_MAXSALT_SIG_HEX, &sig);
	assert_wharf_ok(verify(rsa, WHARF_DIALECT_TUF, NULL, &sig, m, mlen, &err), err);
	assert_wharf_err(verify(rsa, WHARF_DIALECT_NOTARY, "rsapss", &sig, m, mlen, &err), err,
			 WHARF_EINVAL);
	wharf_buf_free(&sig);
	wharf_key_free(rsa);
}

/* ---- trust data written by Notary itself ------------------------------------------------- */

/* Verify every signature of one Notary metadata file with the keys in `keys`. */
static void verify_notary_file(const char *text, const json_t *keys, const char *want_method)
{
	json_t *doc = parse_json(text);
	struct wharf_error err = {0};
	struct wharf_buf canon;
	wharf_buf_init(&canon);
	assert_wharf_ok(wharf_json_canonical(json_object_get(doc, "signed"), WHARF_CANON_NOTARY, &canon,
					     &err),
			err);
	json_t *sigs = json_object_get(doc, "signatures");
	assert_true(json_array_size(sigs) >= 1);
	for (size_t i = 0; i < json_array_size(sigs); i++) {
		json_t *s = json_array_get(sigs, i);
		const char *keyid = json_string_value(json_object_get(s, "keyid"));
		const char *method = json_string_value(json_object_get(s, "method"));
		assert_string_equal(method, want_method);
		json_t *kobj = json_object_get(keys, keyid);
		assert_non_null(kobj);
		struct wharf_key *k = key_ok(json_incref(kobj), WHARF_DIALECT_NOTARY);
		expect_id(k, WHARF_DIALECT_NOTARY, keyid); /* Notary's ID, recomputed */
		struct wharf_buf sig;
		b64_to_buf(json_string_value(json_object_get(s, "sig")), &sig);
		assert_wharf_ok(verify(k, WHARF_DIALECT_NOTARY, method, &sig, canon.data, canon.len, &err),
				err);
		/* One byte changed in the signed part, and it fails. */
		canon.data[canon.len / 2] ^= 0x20;
		assert_wharf_err(verify(k, WHARF_DIALECT_NOTARY, method, &sig, canon.data, canon.len, &err),
				 err, WHARF_EINVAL);
		canon.data[canon.len / 2] ^= 0x20;
		wharf_buf_free(&sig);
		wharf_key_free(k);
	}
	wharf_buf_free(&canon);
	json_decref(doc);
}

static void notary_metadata_signatures_verify(void **state)
{
	(void)state;
	json_t *root = parse_json(NOTARY_ROOT_JSON);
	json_t *targets = parse_json(NOTARY_TARGETS_JSON);
	const json_t *root_keys = json_object_get(json_object_get(root, "signed"), "keys");
	const json_t *deleg_keys =
		json_object_get(json_object_get(json_object_get(targets, "signed"), "delegations"), "keys");
	verify_notary_file(NOTARY_ROOT_JSON, root_keys, "ecdsa");         /* ecdsa-x509 root */
	verify_notary_file(NOTARY_TARGETS_JSON, root_keys, "ecdsa");      /* ecdsa */
	verify_notary_file(NOTARY_SNAPSHOT_JSON, root_keys, "ecdsa");     /* ecdsa */
	verify_notary_file(NOTARY_TIMESTAMP_JSON, root_keys, "eddsa");    /* the server's ed25519 */
	verify_notary_file(NOTARY_TARGETS_RELEASES_JSON, deleg_keys, "rsapss"); /* rsa-x509 */

	/* Every key object Notary wrote reads back with the ID it is filed under. */
	const char *id;
	json_t *kobj;
	const json_t *sets[] = {root_keys, deleg_keys};
	for (size_t i = 0; i < 2; i++) {
		json_object_foreach((json_t *)sets[i], id, kobj)
		{
			struct wharf_key *k = key_ok(json_incref(kobj), WHARF_DIALECT_NOTARY);
			expect_id(k, WHARF_DIALECT_NOTARY, id);
			wharf_key_free(k);
		}
	}
	json_decref(targets);
	json_decref(root);
}

static struct wharf_key *notary_root_cert_key(void)
{
	json_t *root = parse_json(NOTARY_ROOT_JSON);
	json_t *signed_ = json_object_get(root, "signed");
	const char *root_id = json_string_value(
		json_array_get(json_object_get(json_object_get(json_object_get(signed_, "roles"), "root"),
					       "keyids"),
			       0));
	struct wharf_key *k =
		key_ok(json_incref(json_object_get(json_object_get(signed_, "keys"), root_id)),
		       WHARF_DIALECT_NOTARY);
	json_decref(root);
	return k;
}

static void notary_root_certificate(void **state)
{
	(void)state;
	struct wharf_key *k = notary_root_cert_key();
	assert_int_equal(wharf_key_type(k), WHARF_KEY_ECDSA_X509);
	char cn[256];
	int64_t not_after = 0;
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_key_x509_info(k, cn, sizeof(cn), &not_after, &err), err);
	assert_string_equal(cn, NOTARY_GUN);
	/* Notary's root certificates last 10 years; the fixture was made in or after 2026. */
	assert_true(not_after > (int64_t)1700000000 + 9 * 365 * 86400LL);
	char small[4];
	assert_wharf_err(wharf_key_x509_info(k, small, sizeof(small), NULL, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_key_x509_info(ec_key, cn, sizeof(cn), NULL, &err), err, WHARF_EINVAL);
	wharf_key_free(k);
}

static void notary_root_key_file_decrypts(void **state)
{
	(void)state;
	struct wharf_key *cert = notary_root_cert_key();
	struct wharf_key *k = NULL;
	struct wharf_error err = {0};
	const char *pem = NOTARY_ROOT_KEY_PEM;
	assert_wharf_ok(wharf_key_private_from_pem(&k, pem, strlen(pem), NOTARY_ROOT_PASSPHRASE, cert, &err),
			err);
	assert_true(wharf_key_has_private(k));
	assert_int_equal(wharf_key_type(k), WHARF_KEY_ECDSA_X509);
	char a[65], b[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, a);
	wharf_key_id(cert, WHARF_DIALECT_NOTARY, b);
	assert_string_equal(a, b);
	/* It signs what the root key in root.json verifies. */
	struct wharf_buf sig;
	wharf_buf_init(&sig);
	const char *method = NULL;
	assert_wharf_ok(wharf_key_sign(k, WHARF_DIALECT_NOTARY, msg, sizeof(msg), &sig, &method, &err), err);
	assert_wharf_ok(verify(cert, WHARF_DIALECT_NOTARY, method, &sig, msg, sizeof(msg), &err), err);
	wharf_buf_free(&sig);
	wharf_key_free(k);

	assert_wharf_err(wharf_key_private_from_pem(&k, pem, strlen(pem), "not-it", cert, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "wrong passphrase or damaged key");
	/* The right passphrase with somebody else's certificate. */
	assert_wharf_err(wharf_key_private_from_pem(&k, pem, strlen(pem), NOTARY_ROOT_PASSPHRASE, ec_x509,
						    &err),
			 err, WHARF_EINVAL);
	assert_contains(err.message, "does not belong to the certificate");
	wharf_key_free(cert);
}

/* ---- certificates -------------------------------------------------------------------------- */

static X509 *cert_of(const struct wharf_key *k)
{
	json_t *obj = wharf_key_to_json(k, WHARF_DIALECT_NOTARY);
	struct wharf_buf pem;
	b64_to_buf(json_string_value(json_object_get(json_object_get(obj, "keyval"), "public")), &pem);
	json_decref(obj);
	assert_true(wharf_str_has_prefix(pem.data, "-----BEGIN CERTIFICATE-----\n"));
	BIO *bio = BIO_new_mem_buf(pem.data, (int)pem.len);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	wharf_buf_free(&pem);
	assert_non_null(x);
	return x;
}

static void make_x509_like_notary(void **state)
{
	(void)state;
	char cn[128];
	int64_t not_after = 0;
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_key_x509_info(ec_x509, cn, sizeof(cn), &not_after, &err), err);
	assert_string_equal(cn, "example.com/org/app");
	int64_t want = (int64_t)time(NULL) + 3650 * 86400LL;
	assert_true(not_after > want - 120 && not_after <= want + 5);
	assert_true(wharf_key_has_private(ec_x509));
	assert_int_equal(wharf_key_type(rsa_x509), WHARF_KEY_RSA_X509);

	X509 *x = cert_of(ec_x509);
	EVP_PKEY *pub = X509_get0_pubkey(x);
	assert_int_equal(X509_verify(x, pub), 1); /* self-signed */
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_true(X509_get_extended_key_usage(x) & XKU_CODE_SIGN);
	assert_false(X509_check_ca(x));
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	assert_true(ASN1_STRING_length(serial) >= 8); /* random, not 0 or 1 */
	X509_free(x);

	x = cert_of(rsa_x509);
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	X509_free(x);

	/* Ed25519 keys get no certificate in Notary either. */
	struct wharf_key *k = NULL;
	assert_wharf_err(wharf_key_make_x509(&k, ed_key, "gun", 10, &err), err, WHARF_EUNSUPPORTED);
	assert_wharf_err(wharf_key_make_x509(&k, ec_key, "", 10, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_key_make_x509(&k, ec_key, "gun", 0, &err), err, WHARF_EINVAL);
}

/* ---- private keys at rest ------------------------------------------------------------------- */

static void private_pem_round_trip(void **state)
{
	(void)state;
	struct wharf_key *all[] = {ec_key, ed_key, rsa_key};
	for (size_t i = 0; i < 3; i++) {
		struct wharf_error err = {0};
		struct wharf_buf pem;
		wharf_buf_init(&pem);
		assert_wharf_ok(wharf_key_private_to_pem(all[i], "correct horse", &pem, &err), err);
		assert_true(wharf_str_has_prefix(pem.data, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
		struct wharf_key *k = NULL;
		assert_wharf_ok(wharf_key_private_from_pem(&k, pem.data, pem.len, "correct horse", NULL, &err),
				err);
		assert_int_equal(wharf_key_type(k), wharf_key_type(all[i]));
		assert_true(wharf_key_has_private(k));
		char a[65], b[65];
		wharf_key_id(k, WHARF_DIALECT_NOTARY, a);
		wharf_key_id(all[i], WHARF_DIALECT_NOTARY, b);
		assert_string_equal(a, b);
		/* What the loaded key signs, the original public key verifies. */
		struct wharf_buf sig;
		wharf_buf_init(&sig);
		const char *method = NULL;
		assert_wharf_ok(wharf_key_sign(k, WHARF_DIALECT_TUF, msg, sizeof(msg), &sig, &method, &err), err);
		assert_wharf_ok(verify(all[i], WHARF_DIALECT_TUF, method, &sig, msg, sizeof(msg), &err), err);
		wharf_buf_free(&sig);
		wharf_key_free(k);

		assert_wharf_err(wharf_key_private_from_pem(&k, pem.data, pem.len, "correct horsE", NULL, &err),
				 err, WHARF_EINVAL);
		assert_string_equal(err.message, "private key: wrong passphrase or damaged key");
		/* A damaged body: one base64 character changed in the middle of the ciphertext.
		 * PBES2 has no MAC, so only keys with redundancy can tell (an Ed25519 seed
		 * decrypts to some other valid key: callers compare key IDs). */
		if (wharf_key_type(all[i]) != WHARF_KEY_ED25519) {
			char *c = pem.data + pem.len - 80;
			*c = *c == 'A' ? 'B' : 'A';
			assert_wharf_err(wharf_key_private_from_pem(&k, pem.data, pem.len, "correct horse",
								    NULL, &err),
					 err, WHARF_EINVAL);
		}
		wharf_buf_free(&pem);
	}
}

static void private_pem_refusals(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	struct wharf_buf pem;
	wharf_buf_init(&pem);
	assert_wharf_err(wharf_key_private_to_pem(ec_key, "", &pem, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "empty passphrase");
	assert_wharf_err(wharf_key_private_to_pem(ec_key, NULL, &pem, &err), err, WHARF_EINVAL);
	struct wharf_key *pub = key_ok(wharf_key_to_json(ec_key, WHARF_DIALECT_NOTARY), WHARF_DIALECT_NOTARY);
	assert_wharf_err(wharf_key_private_to_pem(pub, "pw", &pem, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "no private half");
	wharf_key_free(pub);
	assert_int_equal(pem.len, 0);

	struct wharf_key *k = NULL;
	/* An unencrypted key is refused: keys at rest are encrypted. */
	EVP_PKEY *raw = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, raw, NULL, NULL, 0, NULL, NULL));
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	assert_wharf_err(wharf_key_private_from_pem(&k, data, (size_t)n, "pw", NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "unencrypted keys are refused");
	BIO_free(bio);
	EVP_PKEY_free(raw);
	const char *junk = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
	assert_wharf_err(wharf_key_private_from_pem(&k, junk, strlen(junk), "pw", NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "not a PKCS#8 encrypted key");
	const char *cut = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n";
	assert_wharf_err(wharf_key_private_from_pem(&k, cut, strlen(cut), "pw", NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "no END line");
	const char *bad = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA*A\n-----END ENCRYPTED PRIVATE KEY-----\n";
	assert_wharf_err(wharf_key_private_from_pem(&k, bad, strlen(bad), "pw", NULL, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "base64");
	assert_wharf_err(wharf_key_private_from_pem(&k, bad, strlen(bad), "", NULL, &err), err, WHARF_EINVAL);

	/* A certificate key and its private half come back together. */
	assert_wharf_ok(wharf_key_private_to_pem(ec_x509, "pw", &pem, &err), err);
	assert_wharf_ok(wharf_key_private_from_pem(&k, pem.data, pem.len, "pw", ec_x509, &err), err);
	assert_int_equal(wharf_key_type(k), WHARF_KEY_ECDSA_X509);
	char a[65], b[65];
	wharf_key_id(k, WHARF_DIALECT_NOTARY, a);
	wharf_key_id(ec_x509, WHARF_DIALECT_NOTARY, b);
	assert_string_equal(a, b);
	wharf_key_free(k);
	/* ...but not with a certificate over another key. */
	assert_wharf_err(wharf_key_private_from_pem(&k, pem.data, pem.len, "pw", rsa_x509, &err), err,
			 WHARF_EINVAL);
	wharf_buf_free(&pem);
}

/* ---- the openssl CLI checks what wharf makes ------------------------------------------------ */

static bool have_openssl(void)
{
	return system("openssl version >/dev/null 2>&1") == 0;
}

static void write_buf(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = wharf_xasprintf("%s/%s", dir, name);
	test_write_file(path, data, len);
	free(path);
}

static int run(const char *fmt, const char *dir, const char *extra)
{
	char *cmd = wharf_xasprintf(fmt, dir, dir, dir, dir, extra);
	char *quiet = wharf_xasprintf("%s >/dev/null 2>&1", cmd);
	int r = system(quiet);
	free(quiet);
	free(cmd);
	return r;
}

/* r||s back to DER, for openssl. */
static void raw_to_der(const struct wharf_buf *raw, struct wharf_buf *der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	assert_true(ECDSA_SIG_set0(s, BN_bin2bn((const unsigned char *)raw->data, 32, NULL),
				   BN_bin2bn((const unsigned char *)raw->data + 32, 32, NULL)));
	unsigned char *p = NULL;
	int n = i2d_ECDSA_SIG(s, &p);
	assert_true(n > 0);
	wharf_buf_init(der);
	wharf_buf_append(der, p, (size_t)n);
	OPENSSL_free(p);
	ECDSA_SIG_free(s);
}

static void openssl_verifies_wharf_signatures(void **state)
{
	(void)state;
	if (!have_openssl())
		skip();
	char *dir = test_mkdtemp();
	static const char verify_fmt[] = "openssl pkeyutl -verify -pubin -inkey %s/pub.pem -rawin -in %s/data "
					 "-sigfile %s/sig %.0s%s";
	static const char pss[] = "-digest sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 "
				  "-pkeyopt rsa_mgf1_md:sha256";
	struct {
		struct wharf_key *k;
		enum wharf_key_dialect d;
		const char *opts;
	} cases[] = {
		{ec_key, WHARF_DIALECT_TUF, "-digest sha256"},
		{ec_key, WHARF_DIALECT_NOTARY, "-digest sha256"}, /* r||s, converted to DER below */
		{ed_key, WHARF_DIALECT_NOTARY, ""},
		{rsa_key, WHARF_DIALECT_NOTARY, pss},
		{rsa_x509, WHARF_DIALECT_TUF, pss},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wharf_error err = {0};
		json_t *obj = wharf_key_to_json(cases[i].k, WHARF_DIALECT_TUF);
		const char *pub = json_string_value(json_object_get(json_object_get(obj, "keyval"), "public"));
		if (wharf_key_type(cases[i].k) == WHARF_KEY_ED25519) {
			/* TUF writes the raw key in hex; openssl wants PEM: the SPKI prefix for Ed25519
			 * (RFC 8410) is fixed. */
			struct wharf_buf der;
			hex_to_buf("302a300506032b6570032100", &der);
			struct wharf_buf raw;
			hex_to_buf(pub, &raw);
			wharf_buf_append(&der, raw.data, raw.len);
			char *b64 = wharf_base64_encode(der.data, der.len);
			char *pem = wharf_xasprintf("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64);
			write_buf(dir, "pub.pem", pem, strlen(pem));
			free(pem);
			free(b64);
			wharf_buf_free(&raw);
			wharf_buf_free(&der);
		} else {
			write_buf(dir, "pub.pem", pub, strlen(pub));
		}
		json_decref(obj);
		write_buf(dir, "data", msg, sizeof(msg));
		struct wharf_buf sig;
		wharf_buf_init(&sig);
		assert_wharf_ok(wharf_key_sign(cases[i].k, cases[i].d, msg, sizeof(msg), &sig, NULL, &err), err);
		if (wharf_key_type(cases[i].k) == WHARF_KEY_ECDSA && cases[i].d == WHARF_DIALECT_NOTARY) {
			struct wharf_buf der;
			raw_to_der(&sig, &der);
			wharf_buf_free(&sig);
			sig = der;
		}
		write_buf(dir, "sig", sig.data, sig.len);
		if (run(verify_fmt, dir, cases[i].opts) != 0)
			fail_msg("openssl pkeyutl -verify refused wharf's %s signature (case %zu)",
				 wharf_key_type_name(wharf_key_type(cases[i].k)), i);
		/* And openssl does refuse when the data changes: the check above means something. */
		write_buf(dir, "data", "other data", 10);
		if (run(verify_fmt, dir, cases[i].opts) == 0)
			fail_msg("openssl accepted a signature over other data (case %zu)", i);
		wharf_buf_free(&sig);
	}

	/* openssl reads wharf's encrypted key file (scrypt + AES-256-CBC)... */
	struct wharf_error err = {0};
	struct wharf_buf pem;
	wharf_buf_init(&pem);
	assert_wharf_ok(wharf_key_private_to_pem(ec_key, "s3cret", &pem, &err), err);
	write_buf(dir, "key.pem", pem.data, pem.len);
	if (run("openssl pkey -in %s/key.pem -passin pass:s3cret -noout%.0s%.0s%.0s%s", dir, "") != 0)
		fail_msg("openssl pkey cannot open wharf's encrypted key");
	if (run("openssl asn1parse -in %s/key.pem%.0s%.0s%.0s | grep -q :scrypt%s", dir, "") != 0)
		fail_msg("wharf's key file does not use scrypt");
	if (run("openssl pkey -in %s/key.pem -passin pass:wrong -noout%.0s%.0s%.0s%s", dir, "") == 0)
		fail_msg("openssl opened wharf's key with a wrong passphrase");
	wharf_buf_free(&pem);
	/* ...and wharf reads a PBES2 file the openssl CLI encrypted (PBKDF2 this time). */
	if (run("openssl genpkey -algorithm ED25519 -aes-256-cbc -pass pass:cli -out %s/cli.pem%.0s%.0s%.0s%s",
		dir, "") != 0)
		fail_msg("openssl genpkey failed");
	char *path = wharf_xasprintf("%s/cli.pem", dir);
	char *data = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_read_file(path, 1 << 16, &data, &len, &err), err);
	struct wharf_key *k = NULL;
	assert_wharf_ok(wharf_key_private_from_pem(&k, data, len, "cli", NULL, &err), err);
	assert_int_equal(wharf_key_type(k), WHARF_KEY_ED25519);
	wharf_key_free(k);
	free(data);
	free(path);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_rfc4648_vectors),
		cmocka_unit_test(base64_junk_is_refused),
		cmocka_unit_test(hex_round_trip_and_junk),
		cmocka_unit_test(notary_key_ids_match_independent_values),
		cmocka_unit_test(tuf_key_ids_match_independent_values),
		cmocka_unit_test(key_id_is_sha256_of_canonical_to_json),
		cmocka_unit_test(p384_as_ecdsa_is_refused),
		cmocka_unit_test(bad_key_objects_are_refused),
		cmocka_unit_test(to_json_round_trips),
		cmocka_unit_test(sign_verify_round_trip_every_type),
		cmocka_unit_test(bad_signatures_are_refused),
		cmocka_unit_test(wrong_method_names_are_refused),
		cmocka_unit_test(public_keys_cannot_sign),
		cmocka_unit_test(openssl_signatures_verify),
		cmocka_unit_test(notary_metadata_signatures_verify),
		cmocka_unit_test(notary_root_certificate),
		cmocka_unit_test(notary_root_key_file_decrypts),
		cmocka_unit_test(make_x509_like_notary),
		cmocka_unit_test(private_pem_round_trip),
		cmocka_unit_test(private_pem_refusals),
		cmocka_unit_test(openssl_verifies_wharf_signatures),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
