/* Key objects: reading and writing them as TUF metadata key objects, key IDs, generation.
 *
 * Key IDs follow what each peer hashes:
 *  - Notary (tuf/data/keys.go, TUFKey.ID): sha256 of the canonical JSON of
 *    {"keytype":T,"keyval":{"private":null,"public":BASE64}}, the public bytes base64-encoded
 *    by Go's encoding of []byte (standard alphabet, padded).
 *  - TUF (securesystemslib signer/_utils.py, compute_default_keyid, as python-tuf uses it
 *    today): sha256 of the canonical JSON of {"keytype":T,"keyval":{"public":P},"scheme":S}.
 *    Older securesystemslib releases (0.26 in Debian 12 among them) also hashed
 *    "keyid_hash_algorithms"; the newest do not, and neither do we. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "keys-internal.h"
#include "wharf/digest.h"
#include "wharf/json.h"

const char *keys_openssl_reason(void)
{
	static __thread char reason[160];
	unsigned long e;
	unsigned long last = 0;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (!last)
		return "no detail from OpenSSL";
	ERR_error_string_n(last, reason, sizeof(reason));
	return reason;
}

const char *wharf_key_type_name(enum wharf_key_type t)
{
	switch (t) {
	case WHARF_KEY_ECDSA: return "ecdsa";
	case WHARF_KEY_ECDSA_X509: return "ecdsa-x509";
	case WHARF_KEY_ED25519: return "ed25519";
	case WHARF_KEY_RSA: return "rsa";
	case WHARF_KEY_RSA_X509: return "rsa-x509";
	}
	return "unknown";
}

const char *keys_tuf_scheme(enum wharf_key_type t)
{
	switch (t) {
	case WHARF_KEY_ECDSA:
	case WHARF_KEY_ECDSA_X509: return "ecdsa-sha2-nistp256";
	case WHARF_KEY_ED25519: return "ed25519";
	case WHARF_KEY_RSA:
	case WHARF_KEY_RSA_X509: return "rsassa-pss-sha256";
	}
	return "unknown";
}

static bool is_x509(enum wharf_key_type t)
{
	return t == WHARF_KEY_ECDSA_X509 || t == WHARF_KEY_RSA_X509;
}

/* The type of the key a certificate type carries. */
static enum wharf_key_type bare_type(enum wharf_key_type t)
{
	if (t == WHARF_KEY_ECDSA_X509)
		return WHARF_KEY_ECDSA;
	if (t == WHARF_KEY_RSA_X509)
		return WHARF_KEY_RSA;
	return t;
}

enum wharf_key_type wharf_key_type(const struct wharf_key *k)
{
	return k->type;
}

bool wharf_key_has_private(const struct wharf_key *k)
{
	return k->has_private;
}

void wharf_key_free(struct wharf_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	X509_free(k->cert);
	free(k->pub);
	free(k->tuf_keytype);
	free(k->tuf_scheme);
	free(k->tuf_public);
	if (k->signer && --k->signer->refs == 0)
		k->signer->destroy(k->signer);
	free(k);
}

int keys_pkey_type(const EVP_PKEY *pkey)
{
	if (EVP_PKEY_is_a(pkey, "EC"))
		return WHARF_KEY_ECDSA;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return WHARF_KEY_ED25519;
	if (EVP_PKEY_is_a(pkey, "RSA"))
		return WHARF_KEY_RSA;
	return -1;
}

static int check_ec(const EVP_PKEY *pkey, const char *what, struct wharf_error *err)
{
	char group[64] = "";
	char encoding[32] = "";
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL))
		group[0] = '\0';
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
					    sizeof(encoding), NULL))
		encoding[0] = '\0';
	ERR_clear_error();
	if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: ecdsa keys must be on curve P-256, not %s",
				       what, group[0] ? group : "an unnamed curve");
	char form[32] = "";
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form,
					    sizeof(form), NULL))
		form[0] = '\0';
	ERR_clear_error();
	/* Go's x509 parser (Notary's) takes only uncompressed points... */
	if (strcmp(form, "uncompressed") != 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s: ecdsa public point must be uncompressed, not %s", what,
				       form[0] ? form : "unknown");
	/* ...and knows curves only by name; explicit parameters it refuses. */
	if (strcmp(encoding, "named_curve") != 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s: ecdsa key must name its curve, not spell out its parameters",
				       what);
	return 0;
}

int keys_check_pkey(const EVP_PKEY *pkey, enum wharf_key_type t, const char *what,
		    struct wharf_error *err)
{
	enum wharf_key_type want = bare_type(t);
	int have = keys_pkey_type(pkey);
	if (have != (int)want)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not an %s key (found %s)", what,
				       wharf_key_type_name(t),
				       have < 0 ? EVP_PKEY_get0_type_name(pkey)
						: wharf_key_type_name((enum wharf_key_type)have));
	if (want == WHARF_KEY_ECDSA)
		return check_ec(pkey, what, err);
	if (want == WHARF_KEY_RSA) {
		int bits = EVP_PKEY_get_bits(pkey);
		if (bits < KEYS_RSA_MIN_BITS || bits > KEYS_RSA_MAX_BITS)
			return wharf_error_set(err, WHARF_EINVAL,
					       "%s: RSA key of %d bits; %d to %d bits are accepted", what,
					       bits, KEYS_RSA_MIN_BITS, KEYS_RSA_MAX_BITS);
	}
	return 0;
}

int keys_spki_der(const EVP_PKEY *pkey, struct wharf_buf *out, struct wharf_error *err)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot encode public key: %s",
				       keys_openssl_reason());
	wharf_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

/* Notary's public bytes for a key that has none yet. */
static int make_public_bytes(struct wharf_key *k, struct wharf_error *err)
{
	_cleanup_buf_ struct wharf_buf b = {0};
	if (is_x509(k->type)) {
		BIO *bio = BIO_new(BIO_s_mem());
		if (!bio || !PEM_write_bio_X509(bio, k->cert)) {
			BIO_free(bio);
			return wharf_error_set(err, WHARF_EINTERNAL, "cannot write certificate: %s",
					       keys_openssl_reason());
		}
		char *p;
		long n = BIO_get_mem_data(bio, &p);
		wharf_buf_append(&b, p, (size_t)n);
		BIO_free(bio);
	} else if (k->type == WHARF_KEY_ED25519) {
		unsigned char raw[32];
		size_t n = sizeof(raw);
		if (!EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) || n != sizeof(raw))
			return wharf_error_set(err, WHARF_EINTERNAL, "cannot read ed25519 public key: %s",
					       keys_openssl_reason());
		wharf_buf_append(&b, raw, n);
	} else {
		int r = keys_spki_der(k->pkey, &b, err);
		if (r < 0)
			return r;
	}
	k->pub_len = b.len;
	k->pub = (unsigned char *)wharf_buf_steal(&b);
	return 0;
}

int keys_new(struct wharf_key **out, enum wharf_key_type t, EVP_PKEY *pkey, X509 *cert,
	     bool has_private, struct wharf_error *err)
{
	struct wharf_key *k = wharf_xcalloc(1, sizeof(*k));
	k->type = t;
	k->pkey = pkey;
	k->cert = cert;
	k->has_private = has_private;
	int r = make_public_bytes(k, err);
	if (r < 0) {
		wharf_key_free(k);
		return r;
	}
	*out = k;
	return 0;
}

static int type_from_name(const char *name, enum wharf_key_type *t)
{
	static const enum wharf_key_type all[] = {WHARF_KEY_ECDSA, WHARF_KEY_ECDSA_X509,
						  WHARF_KEY_ED25519, WHARF_KEY_RSA,
						  WHARF_KEY_RSA_X509};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(name, wharf_key_type_name(all[i]))) {
			*t = all[i];
			return 0;
		}
	}
	return -1;
}

/* A DER SubjectPublicKeyInfo, which must be in the one form we would write ourselves: the
 * same bytes come back from encoding it again (strict DER, as Go's parser wants it). */
static int load_spki(EVP_PKEY **out, const unsigned char *der, size_t len, enum wharf_key_type t,
		     const char *what, struct wharf_error *err)
{
	const unsigned char *p = der;
	_cleanup_pkey_ EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pkey || p != der + len)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not a DER SubjectPublicKeyInfo: %s",
				       what, pkey ? "trailing bytes" : keys_openssl_reason());
	int r = keys_check_pkey(pkey, t, what, err);
	if (r < 0)
		return r;
	_cleanup_buf_ struct wharf_buf again = {0};
	if ((r = keys_spki_der(pkey, &again, err)) < 0)
		return r;
	if (again.len != len || memcmp(again.data, der, len) != 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "%s: public key is not in canonical DER form",
				       what);
	*out = steal_pointer(&pkey);
	return 0;
}

static int load_ed25519(EVP_PKEY **out, const unsigned char *raw, size_t len, const char *what,
			struct wharf_error *err)
{
	if (len != 32)
		return wharf_error_set(err, WHARF_EINVAL, "%s: ed25519 public key is %zu bytes, not 32",
				       what, len);
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
	if (!pkey)
		return wharf_error_set(err, WHARF_EINVAL, "%s: bad ed25519 public key: %s", what,
				       keys_openssl_reason());
	*out = pkey;
	return 0;
}

int keys_load_cert(X509 **out, const unsigned char *pem, size_t len, const char *what,
		   struct wharf_error *err)
{
	/* Notary takes the first PEM block, whatever else follows (a chain of intermediates). */
	static const char begin[] = "-----BEGIN ";
	static const char begin_cert[] = "-----BEGIN CERTIFICATE-----";
	const unsigned char *at = memmem(pem, len, begin, strlen(begin));
	if (!at || (size_t)(pem + len - at) < strlen(begin_cert) ||
	    memcmp(at, begin_cert, strlen(begin_cert)) != 0)
		return wharf_error_set(err, WHARF_EINVAL, "%s: no PEM certificate", what);
	if (len > INT32_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: certificate too big", what);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return wharf_error_set(err, WHARF_EINTERNAL, "%s: out of memory", what);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!cert)
		return wharf_error_set(err, WHARF_EINVAL, "%s: bad certificate: %s", what,
				       keys_openssl_reason());
	*out = cert;
	return 0;
}

static int load_cert_key(EVP_PKEY **pkey_out, X509 **cert_out, const unsigned char *pem, size_t len,
			 enum wharf_key_type t, const char *what, struct wharf_error *err)
{
	_cleanup_x509_ X509 *cert = NULL;
	int r = keys_load_cert(&cert, pem, len, what, err);
	if (r < 0)
		return r;
	EVP_PKEY *pkey = X509_get_pubkey(cert);
	if (!pkey)
		return wharf_error_set(err, WHARF_EINVAL, "%s: certificate key unreadable: %s", what,
				       keys_openssl_reason());
	if ((r = keys_check_pkey(pkey, t, what, err)) < 0) {
		EVP_PKEY_free(pkey);
		return r;
	}
	*pkey_out = pkey;
	*cert_out = steal_pointer(&cert);
	return 0;
}

static const char *get_string(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

static int from_notary(struct wharf_key **out, const json_t *obj, struct wharf_error *err)
{
	const char *keytype = get_string(obj, "keytype");
	const json_t *keyval = json_object_get(obj, "keyval");
	enum wharf_key_type t;
	if (!keytype)
		return wharf_error_set(err, WHARF_EINVAL, "key object: \"keytype\" must be a string");
	if (type_from_name(keytype, &t) < 0)
		return wharf_error_set(err, WHARF_EINVAL, "key object: unknown keytype \"%.40s\"",
				       keytype);
	if (!json_is_object(keyval))
		return wharf_error_set(err, WHARF_EINVAL, "key object: \"keyval\" must be an object");
	const json_t *priv = json_object_get(keyval, "private");
	if (priv && !json_is_null(priv))
		return wharf_error_set(err, WHARF_EINVAL,
				       "key object: keyval.private must be null in metadata");
	const char *b64 = get_string(keyval, "public");
	if (!b64)
		return wharf_error_set(err, WHARF_EINVAL, "key object: keyval.public must be a string");
	_cleanup_buf_ struct wharf_buf pub = {0};
	int r = wharf_base64_decode(b64, &pub, err);
	if (r < 0)
		return wharf_error_prefix(err, "%s key: keyval.public", keytype);
	char what[64];
	snprintf(what, sizeof(what), "%s key", keytype);
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	const unsigned char *p = (const unsigned char *)pub.data;
	if (t == WHARF_KEY_ED25519)
		r = load_ed25519(&pkey, p, pub.len, what, err);
	else if (is_x509(t))
		r = load_cert_key(&pkey, &cert, p, pub.len, t, what, err);
	else
		r = load_spki(&pkey, p, pub.len, t, what, err);
	if (r < 0)
		return r;
	struct wharf_key *k = wharf_xcalloc(1, sizeof(*k));
	k->type = t;
	k->pkey = pkey;
	k->cert = cert;
	k->pub_len = pub.len;
	k->pub = (unsigned char *)wharf_buf_steal(&pub);
	*out = k;
	return 0;
}

/* The TUF dialect's key types and schemes. Older securesystemslib wrote ECDSA keys with
 * keytype "ecdsa-sha2-nistp256"; today it is "ecdsa". */
static int tuf_type(const char *keytype, const char *scheme, enum wharf_key_type *t)
{
	if ((!strcmp(keytype, "ecdsa") || !strcmp(keytype, "ecdsa-sha2-nistp256")) &&
	    !strcmp(scheme, "ecdsa-sha2-nistp256"))
		*t = WHARF_KEY_ECDSA;
	else if (!strcmp(keytype, "ed25519") && !strcmp(scheme, "ed25519"))
		*t = WHARF_KEY_ED25519;
	else if (!strcmp(keytype, "rsa") && !strcmp(scheme, "rsassa-pss-sha256"))
		*t = WHARF_KEY_RSA;
	else
		return -1;
	return 0;
}

static int load_pem_pubkey(EVP_PKEY **out, const char *pem, enum wharf_key_type t, const char *what,
			   struct wharf_error *err)
{
	size_t len = strlen(pem);
	if (!strstr(pem, "-----BEGIN PUBLIC KEY-----"))
		return wharf_error_set(err, WHARF_EINVAL, "%s: keyval.public is not a PEM public key",
				       what);
	if (len > INT32_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: public key too big", what);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return wharf_error_set(err, WHARF_EINTERNAL, "%s: out of memory", what);
	_cleanup_pkey_ EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!pkey)
		return wharf_error_set(err, WHARF_EINVAL, "%s: bad PEM public key: %s", what,
				       keys_openssl_reason());
	int r = keys_check_pkey(pkey, t, what, err);
	if (r < 0)
		return r;
	*out = steal_pointer(&pkey);
	return 0;
}

static int from_tuf(struct wharf_key **out, const json_t *obj, struct wharf_error *err)
{
	const char *keytype = get_string(obj, "keytype");
	const char *scheme = get_string(obj, "scheme");
	const json_t *keyval = json_object_get(obj, "keyval");
	enum wharf_key_type t;
	if (!keytype || !scheme)
		return wharf_error_set(err, WHARF_EINVAL,
				       "key object: \"keytype\" and \"scheme\" must be strings");
	if (tuf_type(keytype, scheme, &t) < 0)
		return wharf_error_set(err, WHARF_EINVAL,
				       "key object: unsupported keytype \"%.40s\" with scheme \"%.40s\"",
				       keytype, scheme);
	if (!json_is_object(keyval))
		return wharf_error_set(err, WHARF_EINVAL, "key object: \"keyval\" must be an object");
	if (json_object_get(keyval, "private"))
		return wharf_error_set(err, WHARF_EINVAL,
				       "key object: a private key does not belong in metadata");
	const char *pub = get_string(keyval, "public");
	if (!pub)
		return wharf_error_set(err, WHARF_EINVAL, "key object: keyval.public must be a string");
	char what[64];
	snprintf(what, sizeof(what), "%s key", keytype);
	EVP_PKEY *pkey = NULL;
	int r;
	if (t == WHARF_KEY_ED25519) {
		_cleanup_buf_ struct wharf_buf raw = {0};
		r = wharf_hex_decode(pub, &raw, err);
		if (r < 0)
			return wharf_error_prefix(err, "%s: keyval.public", what);
		r = load_ed25519(&pkey, (const unsigned char *)raw.data, raw.len, what, err);
	} else {
		r = load_pem_pubkey(&pkey, pub, t, what, err);
	}
	if (r < 0)
		return r;
	struct wharf_key *k = NULL;
	if ((r = keys_new(&k, t, pkey, NULL, false, err)) < 0)
		return r;
	k->tuf_keytype = wharf_xstrdup(keytype);
	k->tuf_scheme = wharf_xstrdup(scheme);
	k->tuf_public = wharf_xstrdup(pub);
	*out = k;
	return 0;
}

int wharf_key_from_json(struct wharf_key **out, const json_t *obj, enum wharf_key_dialect dialect,
			struct wharf_error *err)
{
	if (!json_is_object(obj))
		return wharf_error_set(err, WHARF_EINVAL, "key object: not a JSON object");
	if (dialect == WHARF_DIALECT_NOTARY)
		return from_notary(out, obj, err);
	if (dialect == WHARF_DIALECT_TUF)
		return from_tuf(out, obj, err);
	return wharf_error_set(err, WHARF_EINVAL, "key object: unknown dialect %d", (int)dialect);
}

/* The TUF spelling of a key's public half: hex for ed25519, PEM SubjectPublicKeyInfo (with its
 * final newline, as OpenSSL and Python's cryptography both write it) for the others. A
 * certificate key is written as the key it certifies: TUF has no certificate key types. */
static char *tuf_public(const struct wharf_key *k)
{
	if (k->tuf_public)
		return wharf_xstrdup(k->tuf_public);
	if (k->type == WHARF_KEY_ED25519)
		return wharf_hex_encode(k->pub, k->pub_len);
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_PUBKEY(bio, k->pkey)) {
		BIO_free(bio);
		ERR_clear_error();
		return NULL;
	}
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	char *s = wharf_xstrndup(p, (size_t)n);
	BIO_free(bio);
	return s;
}

json_t *wharf_key_to_json(const struct wharf_key *k, enum wharf_key_dialect dialect)
{
	if (dialect == WHARF_DIALECT_NOTARY) {
		_cleanup_free_ char *b64 = wharf_base64_encode(k->pub, k->pub_len);
		return json_pack("{s:s, s:{s:n, s:s}}", "keytype", wharf_key_type_name(k->type),
				 "keyval", "private", "public", b64);
	}
	_cleanup_free_ char *pub = tuf_public(k);
	if (!pub)
		return NULL;
	const char *keytype = k->tuf_keytype ? k->tuf_keytype
					     : wharf_key_type_name(bare_type(k->type));
	const char *scheme = k->tuf_scheme ? k->tuf_scheme : keys_tuf_scheme(k->type);
	return json_pack("{s:s, s:s, s:{s:s}}", "keytype", keytype, "scheme", scheme, "keyval",
			 "public", pub);
}

void wharf_key_id(const struct wharf_key *k, enum wharf_key_dialect dialect, char out[65])
{
	out[0] = '\0';
	_cleanup_json_ json_t *obj = wharf_key_to_json(k, dialect);
	_cleanup_buf_ struct wharf_buf canon = {0};
	enum wharf_canon_dialect cd =
		dialect == WHARF_DIALECT_NOTARY ? WHARF_CANON_NOTARY : WHARF_CANON_OLPC;
	if (!obj || wharf_json_canonical(obj, cd, &canon, NULL) < 0)
		return;
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, canon.data, canon.len, &d);
	memcpy(out, wharf_digest_hex(&d), 64);
	out[64] = '\0';
}

int wharf_key_generate(struct wharf_key **out, enum wharf_key_type t, struct wharf_error *err)
{
	EVP_PKEY *pkey = NULL;
	switch (t) {
	case WHARF_KEY_ECDSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case WHARF_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case WHARF_KEY_RSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)KEYS_RSA_GEN_BITS);
		break;
	case WHARF_KEY_ECDSA_X509:
	case WHARF_KEY_RSA_X509:
		return wharf_error_set(err, WHARF_EINVAL,
				       "generate an %s key first, then wrap it with wharf_key_make_x509",
				       wharf_key_type_name(bare_type(t)));
	default:
		return wharf_error_set(err, WHARF_EINVAL, "unknown key type %d", (int)t);
	}
	if (!pkey)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot generate %s key: %s",
				       wharf_key_type_name(t), keys_openssl_reason());
	return keys_new(out, t, pkey, NULL, true, err);
}
