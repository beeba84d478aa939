/* PKCS#11 tokens through their module (dlopen + C_GetFunctionList). See wharf/pkcs11.h.
 * The PKCS#11 header comes last: it defines lower-case macros (value, count, ...). */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "keys-internal.h"
#include "wharf/pkcs11.h"

#include <p11-kit/pkcs11.h>

#define OBJECTS_MAX 1024

/* DER of the P-256 curve's OID, CKA_EC_PARAMS. */
static const unsigned char P256_OID[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

struct wharf_p11 {
	int refs;
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	char *module;
	CK_SESSION_HANDLE session;
	bool have_session;
	char token[33];
};

struct p11_signer {
	struct wharf_key_signer base;
	struct wharf_p11 *p;
	CK_OBJECT_HANDLE priv;
};

static const char *rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
	case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
	case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
	case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
	case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
	case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
	case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
	case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
	case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
	case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
	case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
	case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
	case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
	}
	return "CKR_?";
}

static int p11_fail(struct wharf_error *err, const struct wharf_p11 *p, const char *call, CK_RV rv)
{
	return wharf_error_set(err, WHARF_EIO, "%s: %s failed: %s (0x%lx)", p->module, call, rv_name(rv),
			       (unsigned long)rv);
}

static void unref(struct wharf_p11 *p)
{
	if (!p || --p->refs > 0)
		return;
	if (p->have_session) {
		p->f->C_Logout(p->session);
		p->f->C_CloseSession(p->session);
	}
	if (p->f)
		p->f->C_Finalize(NULL);
	if (p->dl)
		dlclose(p->dl);
	free(p->module);
	free(p);
}

void wharf_p11_close(struct wharf_p11 *p)
{
	unref(p);
}

const char *wharf_p11_module_path(const struct wharf_p11 *p)
{
	return p->module;
}

const char *wharf_p11_token_label(const struct wharf_p11 *p)
{
	return p->token;
}

int wharf_p11_open(struct wharf_p11 **out, const char *module, struct wharf_error *err)
{
	if (!module || !*module) {
		if (access(WHARF_PKCS11_DEFAULT_MODULE, R_OK) != 0)
			return wharf_error_set(err, WHARF_EINVAL,
					       "no PKCS#11 module: name one with --pkcs11-module PATH (p11-kit's "
					       "proxy %s is not installed)",
					       WHARF_PKCS11_DEFAULT_MODULE);
		module = WHARF_PKCS11_DEFAULT_MODULE;
	}
	struct wharf_p11 *p = wharf_xcalloc(1, sizeof(*p));
	p->refs = 1;
	p->module = wharf_xstrdup(module);
	p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		int r = wharf_error_set(err, WHARF_EINVAL, "cannot load PKCS#11 module %s: %s", module, dlerror());
		unref(p);
		return r;
	}
	CK_C_GetFunctionList get = NULL;
	*(void **)&get = dlsym(p->dl, "C_GetFunctionList");
	CK_RV rv = get ? get(&p->f) : CKR_GENERAL_ERROR;
	if (rv != CKR_OK || !p->f) {
		p->f = NULL;
		int r = wharf_error_set(err, WHARF_EINVAL, "%s is not a PKCS#11 module (no C_GetFunctionList)", module);
		unref(p);
		return r;
	}
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		int r = p11_fail(err, p, "C_Initialize", rv);
		p->f = NULL;
		unref(p);
		return r;
	}
	*out = p;
	return 0;
}

/* A blank-padded PKCS#11 string field as a C string. */
static void field(char *dst, size_t dst_len, const unsigned char *src, size_t src_len)
{
	size_t n = src_len < dst_len - 1 ? src_len : dst_len - 1;
	memcpy(dst, src, n);
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		n--;
	dst[n] = '\0';
}

int wharf_p11_tokens(struct wharf_p11 *p, struct wharf_p11_token **out, size_t *n, struct wharf_error *err)
{
	CK_ULONG nslots = 0;
	CK_RV rv = p->f->C_GetSlotList(CK_TRUE, NULL, &nslots);
	if (rv != CKR_OK)
		return p11_fail(err, p, "C_GetSlotList", rv);
	CK_SLOT_ID *slots = wharf_xcalloc(nslots + 1, sizeof(*slots));
	if ((rv = p->f->C_GetSlotList(CK_TRUE, slots, &nslots)) != CKR_OK) {
		free(slots);
		return p11_fail(err, p, "C_GetSlotList", rv);
	}
	struct wharf_p11_token *t = wharf_xcalloc(nslots + 1, sizeof(*t));
	size_t k = 0;
	for (CK_ULONG i = 0; i < nslots; i++) {
		CK_TOKEN_INFO ti;
		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		t[k].slot = slots[i];
		field(t[k].label, sizeof(t[k].label), ti.label, sizeof(ti.label));
		field(t[k].manufacturer, sizeof(t[k].manufacturer), ti.manufacturerID, sizeof(ti.manufacturerID));
		field(t[k].model, sizeof(t[k].model), ti.model, sizeof(ti.model));
		field(t[k].serial, sizeof(t[k].serial), ti.serialNumber, sizeof(ti.serialNumber));
		t[k].initialized = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
		k++;
	}
	free(slots);
	*out = t;
	*n = k;
	return 0;
}

int wharf_p11_login(struct wharf_p11 *p, const char *token, const char *pin, struct wharf_error *err)
{
	struct wharf_p11_token *t = NULL;
	size_t n = 0;
	int r = wharf_p11_tokens(p, &t, &n, err);
	if (r < 0)
		return r;
	size_t i;
	for (i = 0; i < n; i++)
		if (t[i].initialized && (!token || !strcmp(t[i].label, token)))
			break;
	if (i == n) {
		r = wharf_error_set(err, WHARF_ENOTFOUND, "%s: no initialised token%s%s%s", p->module,
				    token ? " labelled \"" : "", token ? token : "", token ? "\"" : "");
		free(t);
		return r;
	}
	CK_SLOT_ID slot = t[i].slot;
	memcpy(p->token, t[i].label, sizeof(p->token));
	free(t);
	CK_RV rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p->session);
	if (rv != CKR_OK)
		return p11_fail(err, p, "C_OpenSession", rv);
	p->have_session = true;
	rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
		return wharf_error_set(err, WHARF_EINVAL, "wrong PIN for token \"%s\" (%s)", p->token, rv_name(rv));
	if (rv == CKR_PIN_LOCKED)
		return wharf_error_set(err, WHARF_EINVAL, "token \"%s\": the PIN is locked (too many wrong PINs)",
				       p->token);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return p11_fail(err, p, "C_Login", rv);
	return 0;
}

static int need_session(const struct wharf_p11 *p, struct wharf_error *err)
{
	return p->have_session ? 0 : wharf_error_set(err, WHARF_EINVAL, "%s: not logged in to a token", p->module);
}

/* Objects matching tmpl (up to max). */
static int find(struct wharf_p11 *p, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *objs, CK_ULONG max,
		CK_ULONG *found, struct wharf_error *err)
{
	CK_RV rv = p->f->C_FindObjectsInit(p->session, tmpl, n);
	if (rv != CKR_OK)
		return p11_fail(err, p, "C_FindObjectsInit", rv);
	rv = p->f->C_FindObjects(p->session, objs, max, found);
	p->f->C_FindObjectsFinal(p->session);
	return rv == CKR_OK ? 0 : p11_fail(err, p, "C_FindObjects", rv);
}

/* One attribute's bytes (NULL and *len 0 when the token refuses it). */
static unsigned char *get_attr(struct wharf_p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, size_t *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	*len = 0;
	if (p->f->C_GetAttributeValue(p->session, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return NULL;
	a.pValue = wharf_xmalloc(a.ulValueLen + 1);
	if (p->f->C_GetAttributeValue(p->session, o, &a, 1) != CKR_OK) {
		free(a.pValue);
		return NULL;
	}
	((unsigned char *)a.pValue)[a.ulValueLen] = 0;
	*len = a.ulValueLen;
	return a.pValue;
}

static bool get_bool(struct wharf_p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = {type, &b, sizeof(b)};
	return p->f->C_GetAttributeValue(p->session, o, &a, 1) == CKR_OK && b == CK_TRUE;
}

static const char *class_name(CK_OBJECT_CLASS c)
{
	switch (c) {
	case CKO_PRIVATE_KEY: return "private";
	case CKO_PUBLIC_KEY: return "public";
	case CKO_CERTIFICATE: return "cert";
	case CKO_SECRET_KEY: return "secret";
	case CKO_DATA: return "data";
	}
	return "other";
}

static const char *key_type_name(CK_KEY_TYPE t)
{
	switch (t) {
	case CKK_EC: return "ec";
	case CKK_RSA: return "rsa";
	case CKK_EC_EDWARDS: return "ec-edwards";
	case CKK_AES: return "aes";
	}
	return "other";
}

void wharf_p11_objects_free(struct wharf_p11_object *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].label);
		free(o[i].id_hex);
	}
	free(o);
}

int wharf_p11_objects(struct wharf_p11 *p, struct wharf_p11_object **out, size_t *n, struct wharf_error *err)
{
	int r = need_session(p, err);
	if (r < 0)
		return r;
	_cleanup_free_ CK_OBJECT_HANDLE *objs = wharf_xcalloc(OBJECTS_MAX, sizeof(*objs));
	CK_ULONG found = 0;
	if ((r = find(p, NULL, 0, objs, OBJECTS_MAX, &found, err)) < 0)
		return r;
	struct wharf_p11_object *o = wharf_xcalloc(found + 1, sizeof(*o));
	for (CK_ULONG i = 0; i < found; i++) {
		CK_OBJECT_CLASS cls = 0;
		CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
		CK_ATTRIBUTE a[2] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)}};
		p->f->C_GetAttributeValue(p->session, objs[i], a, 2);
		snprintf(o[i].cls, sizeof(o[i].cls), "%s", class_name(cls));
		if (kt != (CK_KEY_TYPE)-1 && cls != CKO_CERTIFICATE)
			snprintf(o[i].key_type, sizeof(o[i].key_type), "%s", key_type_name(kt));
		size_t len = 0;
		unsigned char *label = get_attr(p, objs[i], CKA_LABEL, &len);
		o[i].label = label ? (char *)label : wharf_xstrdup("");
		unsigned char *id = get_attr(p, objs[i], CKA_ID, &len);
		o[i].id_hex = wharf_hex_encode(id ? id : (unsigned char *)"", len);
		free(id);
		if (cls == CKO_PRIVATE_KEY) {
			o[i].sensitive = get_bool(p, objs[i], CKA_SENSITIVE);
			o[i].extractable = get_bool(p, objs[i], CKA_EXTRACTABLE);
			CK_ATTRIBUTE v = {CKA_VALUE, NULL, 0};
			CK_RV rv = p->f->C_GetAttributeValue(p->session, objs[i], &v, 1);
			snprintf(o[i].value_read, sizeof(o[i].value_read), "%s",
				 rv == CKR_OK && v.ulValueLen != CK_UNAVAILABLE_INFORMATION ? "READABLE" : rv_name(rv));
		}
	}
	*out = o;
	*n = found;
	return 0;
}

/* How objects are found: by CKA_LABEL or by CKA_ID; what names it in messages. */
struct sel {
	CK_ATTRIBUTE_TYPE type;
	const void *ptr;
	size_t len;
	char what[96];
};

static struct sel by_label(const char *label)
{
	struct sel s = {CKA_LABEL, label, strlen(label), ""};
	snprintf(s.what, sizeof(s.what), "labelled \"%.64s\"", label);
	return s;
}

static struct sel by_id(const void *id, size_t len)
{
	struct sel s = {CKA_ID, id, len, ""};
	_cleanup_free_ char *hex = wharf_hex_encode(id, len);
	snprintf(s.what, sizeof(s.what), "with ID %.64s", hex);
	return s;
}

/* The one object of class cls that sel selects. */
static int find_one(struct wharf_p11 *p, CK_OBJECT_CLASS cls, const struct sel *sel, CK_OBJECT_HANDLE *out,
		    struct wharf_error *err)
{
	CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)}, {sel->type, (void *)sel->ptr, sel->len}};
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG found = 0;
	int r = find(p, t, 2, objs, 2, &found, err);
	if (r < 0)
		return r;
	if (found == 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "token \"%s\" has no %s object %s", p->token,
				       class_name(cls), sel->what);
	if (found > 1)
		return wharf_error_set(err, WHARF_EINVAL, "token \"%s\" has several %s objects %s", p->token,
				       class_name(cls), sel->what);
	*out = objs[0];
	return 0;
}

/* The public key from a CKA_EC_POINT (DER OCTET STRING around 04||X||Y, or the bare point). */
static int key_from_point(struct wharf_key **out, const unsigned char *pt, size_t len, struct wharf_error *err)
{
	if (len == 67 && pt[0] == 0x04 && pt[1] == 65) {
		pt += 2;
		len -= 2;
	}
	if (len != 65 || pt[0] != 0x04)
		return wharf_error_set(err, WHARF_EINVAL, "the token's EC point is not an uncompressed P-256 point");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (bld && ctx && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	if (!pkey)
		return wharf_error_set(err, WHARF_EINVAL, "the token's EC point: %s", keys_openssl_reason());
	return keys_new(out, WHARF_KEY_ECDSA, pkey, NULL, false, err);
}

static int signer_sign(struct wharf_key_signer *s, const unsigned char *digest, size_t len, struct wharf_buf *rs,
		       struct wharf_error *err)
{
	struct p11_signer *ps = (struct p11_signer *)s;
	struct wharf_p11 *p = ps->p;
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	CK_RV rv = p->f->C_SignInit(p->session, &mech, ps->priv);
	if (rv != CKR_OK)
		return p11_fail(err, p, "C_SignInit (CKM_ECDSA)", rv);
	unsigned char sig[132];
	CK_ULONG n = sizeof(sig);
	rv = p->f->C_Sign(p->session, (CK_BYTE_PTR)digest, len, sig, &n);
	if (rv != CKR_OK)
		return p11_fail(err, p, "C_Sign", rv);
	wharf_buf_append(rs, sig, n);
	return 0;
}

static void signer_destroy(struct wharf_key_signer *s)
{
	struct p11_signer *ps = (struct p11_signer *)s;
	unref(ps->p);
	free(ps);
}

/* pub with the token's private key priv as signer. */
static int with_token(struct wharf_key **out, struct wharf_p11 *p, const struct wharf_key *pub, CK_OBJECT_HANDLE priv,
		      struct wharf_error *err)
{
	struct p11_signer *ps = wharf_xcalloc(1, sizeof(*ps));
	ps->base.sign_digest = signer_sign;
	ps->base.destroy = signer_destroy;
	ps->p = p;
	ps->priv = priv;
	p->refs++;
	ps->base.refs = 1;
	int r = wharf_key_with_signer(out, pub, &ps->base, err);
	if (--ps->base.refs == 0)
		signer_destroy(&ps->base);
	return r;
}

static int public_of(struct wharf_p11 *p, const struct sel *sel, struct wharf_key **out, struct wharf_error *err)
{
	CK_OBJECT_HANDLE pubh;
	int r = find_one(p, CKO_PUBLIC_KEY, sel, &pubh, err);
	if (r < 0)
		return r;
	size_t len = 0;
	_cleanup_free_ unsigned char *pt = get_attr(p, pubh, CKA_EC_POINT, &len);
	if (!pt)
		return wharf_error_set(err, WHARF_EINVAL, "token \"%s\": public key %s has no EC point", p->token,
				       sel->what);
	return key_from_point(out, pt, len, err);
}

/* The certificate object labelled label as a certificate key, or *out NULL when there is none. */
static int cert_of(struct wharf_p11 *p, const struct sel *sel, struct wharf_key **out, struct wharf_error *err)
{
	*out = NULL;
	CK_OBJECT_HANDLE h;
	struct wharf_error e2;
	if (find_one(p, CKO_CERTIFICATE, sel, &h, &e2) < 0)
		return 0;
	size_t len = 0;
	_cleanup_free_ unsigned char *der = get_attr(p, h, CKA_VALUE, &len);
	const unsigned char *q = der;
	_cleanup_x509_ X509 *cert = der ? d2i_X509(NULL, &q, (long)len) : NULL;
	if (!cert)
		return wharf_error_set(err, WHARF_EINVAL, "token \"%s\": certificate %s does not parse", p->token,
				       sel->what);
	EVP_PKEY *pkey = X509_get_pubkey(cert);
	if (!pkey)
		return wharf_error_set(err, WHARF_EINVAL, "token \"%s\": certificate %s has no key", p->token, sel->what);
	return keys_new(out, WHARF_KEY_ECDSA_X509, pkey, steal_pointer(&cert), false, err);
}

static int key_from(struct wharf_key **out, struct wharf_p11 *p, const struct sel *sel, struct wharf_error *err)
{
	int r = need_session(p, err);
	CK_OBJECT_HANDLE priv;
	if (r == 0)
		r = find_one(p, CKO_PRIVATE_KEY, sel, &priv, err);
	if (r < 0)
		return r;
	struct wharf_key *pub = NULL, *cert = NULL;
	if ((r = public_of(p, sel, &pub, err)) == 0 && (r = cert_of(p, sel, &cert, err)) == 0 && cert &&
	    EVP_PKEY_eq(cert->pkey, pub->pkey) != 1)
		r = wharf_error_set(err, WHARF_EINVAL, "token \"%s\": certificate %s is not for the key", p->token,
				    sel->what);
	if (r == 0)
		r = with_token(out, p, cert ? cert : pub, priv, err);
	wharf_key_free(pub);
	wharf_key_free(cert);
	return r;
}

int wharf_key_from_pkcs11(struct wharf_key **out, struct wharf_p11 *p, const char *label, struct wharf_error *err)
{
	struct sel sel = by_label(label);
	return key_from(out, p, &sel, err);
}

int wharf_key_from_pkcs11_id(struct wharf_key **out, struct wharf_p11 *p, const void *id, size_t id_len,
			     struct wharf_error *err)
{
	struct sel sel = by_id(id, id_len);
	return key_from(out, p, &sel, err);
}

int wharf_p11_generate_ec(struct wharf_p11 *p, const char *label, const void *id, size_t id_len,
			  struct wharf_key **out, struct wharf_error *err)
{
	int r = need_session(p, err);
	if (r < 0)
		return r;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub_t[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},   {CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID)},
		{CKA_VERIFY, &yes, sizeof(yes)},  {CKA_LABEL, (void *)label, strlen(label)},
		{CKA_PRIVATE, &no, sizeof(no)},   {CKA_ID, (void *)id, id_len},
	};
	CK_ATTRIBUTE priv_t[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},       {CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_SENSITIVE, &yes, sizeof(yes)},   {CKA_EXTRACTABLE, &no, sizeof(no)},
		{CKA_SIGN, &yes, sizeof(yes)},        {CKA_LABEL, (void *)label, strlen(label)},
		{CKA_ID, (void *)id, id_len},
	};
	/* Without an ID, leave CKA_ID out (the last attribute of each template). */
	CK_ULONG npub = sizeof(pub_t) / sizeof(*pub_t) - (id ? 0 : 1);
	CK_ULONG npriv = sizeof(priv_t) / sizeof(*priv_t) - (id ? 0 : 1);
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE pubh, privh;
	CK_RV rv = p->f->C_GenerateKeyPair(p->session, &mech, pub_t, npub, priv_t, npriv, &pubh, &privh);
	if (rv != CKR_OK)
		return p11_fail(err, p, "C_GenerateKeyPair (CKM_EC_KEY_PAIR_GEN, P-256)", rv);
	return id ? wharf_key_from_pkcs11_id(out, p, id, id_len, err) : wharf_key_from_pkcs11(out, p, label, err);
}

static int create(struct wharf_p11 *p, CK_ATTRIBUTE *t, CK_ULONG n, const char *what, struct wharf_error *err)
{
	CK_OBJECT_HANDLE h;
	CK_RV rv = p->f->C_CreateObject(p->session, t, n, &h);
	return rv == CKR_OK ? 0 : p11_fail(err, p, what, rv);
}

int wharf_p11_import_ec(struct wharf_p11 *p, const struct wharf_key *k, const char *label, const void *id,
			size_t id_len, struct wharf_error *err)
{
	int r = need_session(p, err);
	if (r < 0)
		return r;
	if ((k->type != WHARF_KEY_ECDSA && k->type != WHARF_KEY_ECDSA_X509) || !k->has_private || k->signer)
		return wharf_error_set(err, WHARF_EINVAL, "only an ECDSA P-256 private key held here can be imported");
	unsigned char d[32], pt[67];
	size_t ptlen = 0;
	BIGNUM *bn = NULL;
	bool ok = EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1 && BN_bn2binpad(bn, d, 32) == 32 &&
		  EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt + 2, 65, &ptlen) == 1 &&
		  ptlen == 65;
	BN_clear_free(bn);
	if (!ok) {
		OPENSSL_cleanse(d, sizeof(d));
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot read the key's numbers: %s", keys_openssl_reason());
	}
	pt[0] = 0x04; /* DER OCTET STRING of 65 bytes */
	pt[1] = 65;
	CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY, pub_cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE priv_t[] = {
		{CKA_CLASS, &priv_cls, sizeof(priv_cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &yes, sizeof(yes)},           {CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_SENSITIVE, &yes, sizeof(yes)},       {CKA_EXTRACTABLE, &no, sizeof(no)},
		{CKA_SIGN, &yes, sizeof(yes)},            {CKA_LABEL, (void *)label, strlen(label)},
		{CKA_ID, (void *)id, id_len},             {CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID)},
		{CKA_VALUE, d, sizeof(d)},
	};
	CK_ATTRIBUTE pub_t[] = {
		{CKA_CLASS, &pub_cls, sizeof(pub_cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &yes, sizeof(yes)},         {CKA_PRIVATE, &no, sizeof(no)},
		{CKA_VERIFY, &yes, sizeof(yes)},        {CKA_LABEL, (void *)label, strlen(label)},
		{CKA_ID, (void *)id, id_len},           {CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID)},
		{CKA_EC_POINT, pt, sizeof(pt)},
	};
	r = create(p, priv_t, sizeof(priv_t) / sizeof(*priv_t), "C_CreateObject (private key)", err);
	OPENSSL_cleanse(d, sizeof(d));
	if (r == 0)
		r = create(p, pub_t, sizeof(pub_t) / sizeof(*pub_t), "C_CreateObject (public key)", err);
	return r;
}

int wharf_p11_relabel(struct wharf_p11 *p, const char *from, const char *label, const void *id, size_t id_len,
		      struct wharf_error *err)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	for (size_t i = 0; i < 2; i++) {
		CK_OBJECT_HANDLE h;
		struct sel sel = by_label(from);
		int r = find_one(p, classes[i], &sel, &h, err);
		if (r < 0)
			return r;
		CK_ATTRIBUTE t[2] = {{CKA_LABEL, (void *)label, strlen(label)}, {CKA_ID, (void *)id, id_len}};
		CK_RV rv = p->f->C_SetAttributeValue(p->session, h, t, 2);
		if (rv != CKR_OK)
			return p11_fail(err, p, "C_SetAttributeValue (label)", rv);
	}
	return 0;
}

int wharf_p11_store_cert(struct wharf_p11 *p, const struct wharf_key *cert, const char *label, const void *id,
			 size_t id_len, struct wharf_error *err)
{
	if (!cert->cert)
		return wharf_error_set(err, WHARF_EINVAL, "a %s key has no certificate to store",
				       wharf_key_type_name(cert->type));
	unsigned char *der = NULL;
	int n = i2d_X509(cert->cert, &der);
	if (n <= 0)
		return wharf_error_set(err, WHARF_EINTERNAL, "cannot encode certificate");
	unsigned char *subj = NULL;
	int sn = i2d_X509_NAME(X509_get_subject_name(cert->cert), &subj);
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{CKA_CLASS, &cls, sizeof(cls)}, {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
		{CKA_TOKEN, &yes, sizeof(yes)}, {CKA_PRIVATE, &no, sizeof(no)},
		{CKA_LABEL, (void *)label, strlen(label)}, {CKA_ID, (void *)id, id_len},
		{CKA_VALUE, der, (CK_ULONG)n},  {CKA_SUBJECT, subj, sn > 0 ? (CK_ULONG)sn : 0},
	};
	int r = create(p, t, sizeof(t) / sizeof(*t), "C_CreateObject (certificate)", err);
	OPENSSL_free(der);
	OPENSSL_free(subj);
	return r;
}
