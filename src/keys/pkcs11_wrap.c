/* Secret AES keys on PKCS#11 tokens: generate one, encrypt and decrypt with it (AES-GCM). See
 * wharf/pkcs11_wrap.h. Written against the public side of wharf/pkcs11.h only: the module is
 * already loaded and initialised by wharf_p11_open, so dlopen(RTLD_NOLOAD) finds the same
 * function list, and a new session on the logged-in token shares its login.
 * The PKCS#11 header comes last: it defines lower-case macros (value, count, ...). */
#include <dlfcn.h>
#include <string.h>

#include "wharf/pkcs11_wrap.h"

#include <p11-kit/pkcs11.h>

struct wrap_session {
	struct wharf_p11 *p;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE h;
	bool open;
};

static int wrap_fail(struct wharf_error *err, const struct wharf_p11 *p, const char *call, CK_RV rv)
{
	return wharf_error_set(err, WHARF_EIO, "%s: %s failed (CKR 0x%lx)", wharf_p11_module_path(p), call,
			       (unsigned long)rv);
}

static int function_list(struct wharf_p11 *p, CK_FUNCTION_LIST_PTR *f, struct wharf_error *err)
{
	void *dl = dlopen(wharf_p11_module_path(p), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (!dl)
		return wharf_error_set(err, WHARF_EINTERNAL, "%s is not loaded", wharf_p11_module_path(p));
	CK_C_GetFunctionList get = NULL;
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	CK_RV rv = get ? get(f) : CKR_GENERAL_ERROR;
	dlclose(dl); /* drops only the reference RTLD_NOLOAD took; wharf_p11_open holds its own */
	return rv == CKR_OK && *f ? 0 : wrap_fail(err, p, "C_GetFunctionList", rv);
}

/* A read-write session on the token p is logged in to. */
static int session_open(struct wrap_session *s, struct wharf_p11 *p, struct wharf_error *err)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	const char *label = wharf_p11_token_label(p);
	if (!label || !*label)
		return wharf_error_set(err, WHARF_EINVAL, "%s: not logged in to a token", wharf_p11_module_path(p));
	int r = function_list(p, &s->f, err);
	if (r < 0)
		return r;
	struct wharf_p11_token *t = NULL;
	size_t n = 0;
	if ((r = wharf_p11_tokens(p, &t, &n, err)) < 0)
		return r;
	size_t i;
	for (i = 0; i < n && strcmp(t[i].label, label) != 0; i++)
		;
	CK_SLOT_ID slot = i < n ? t[i].slot : 0;
	free(t);
	if (i == n)
		return wharf_error_set(err, WHARF_ENOTFOUND, "token \"%s\" is gone", label);
	CK_RV rv = s->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s->h);
	if (rv != CKR_OK)
		return wrap_fail(err, p, "C_OpenSession", rv);
	s->open = true;
	return 0;
}

static void session_close(struct wrap_session *s)
{
	if (s->open)
		s->f->C_CloseSession(s->h);
	s->open = false;
}

/* The secret AES key labelled label; *found is 0 or 1. */
static int find_aes(struct wrap_session *s, const char *label, CK_OBJECT_HANDLE *key, CK_ULONG *found,
		    struct wharf_error *err)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_RV rv = s->f->C_FindObjectsInit(s->h, tmpl, 3);
	if (rv != CKR_OK)
		return wrap_fail(err, s->p, "C_FindObjectsInit", rv);
	rv = s->f->C_FindObjects(s->h, key, 1, found);
	s->f->C_FindObjectsFinal(s->h);
	return rv == CKR_OK ? 0 : wrap_fail(err, s->p, "C_FindObjects", rv);
}

int wharf_p11_generate_aes(struct wharf_p11 *p, const char *label, struct wharf_error *err)
{
	struct wrap_session s;
	int r = session_open(&s, p, err);
	if (r < 0)
		return r;
	CK_OBJECT_HANDLE key;
	CK_ULONG found = 0;
	if ((r = find_aes(&s, label, &key, &found, err)) == 0 && found)
		r = wharf_error_set(err, WHARF_EEXIST, "token \"%s\" already holds an AES key labelled \"%s\"",
				    wharf_p11_token_label(p), label);
	if (r < 0) {
		session_close(&s);
		return r;
	}
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG len = 32;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},       {CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_SENSITIVE, &yes, sizeof(yes)},   {CKA_EXTRACTABLE, &no, sizeof(no)},
		{CKA_ENCRYPT, &yes, sizeof(yes)},     {CKA_DECRYPT, &yes, sizeof(yes)},
		{CKA_WRAP, &no, sizeof(no)},          {CKA_UNWRAP, &no, sizeof(no)},
		{CKA_SIGN, &no, sizeof(no)},          {CKA_VERIFY, &no, sizeof(no)},
		{CKA_VALUE_LEN, &len, sizeof(len)},   {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
	CK_RV rv = s.f->C_GenerateKey(s.h, &mech, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &key);
	session_close(&s);
	return rv == CKR_OK ? 0 : wrap_fail(err, p, "C_GenerateKey(CKM_AES_KEY_GEN)", rv);
}

static int gcm_run(struct wrap_session *s, CK_OBJECT_HANDLE key, bool encrypt, CK_GCM_PARAMS *gcm,
		   const unsigned char *in, size_t in_len, unsigned char *out, size_t *out_len, struct wharf_error *err)
{
	CK_MECHANISM mech = {CKM_AES_GCM, gcm, sizeof(*gcm)};
	CK_RV rv = encrypt ? s->f->C_EncryptInit(s->h, &mech, key) : s->f->C_DecryptInit(s->h, &mech, key);
	if (rv != CKR_OK)
		return wrap_fail(err, s->p, encrypt ? "C_EncryptInit(CKM_AES_GCM)" : "C_DecryptInit(CKM_AES_GCM)", rv);
	CK_ULONG n = (CK_ULONG)(in_len + 16);
	if (encrypt)
		rv = s->f->C_Encrypt(s->h, (CK_BYTE_PTR)in, in_len, out, &n);
	else
		rv = s->f->C_Decrypt(s->h, (CK_BYTE_PTR)in, in_len, out, &n);
	if (!encrypt && (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
			 rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED))
		return wharf_error_set(err, WHARF_EDIGEST,
				       "the token's AES key does not open the wrapped data (wrong key, or the data was "
				       "altered; CKR 0x%lx)",
				       (unsigned long)rv);
	if (rv != CKR_OK)
		return wrap_fail(err, s->p, encrypt ? "C_Encrypt" : "C_Decrypt", rv);
	*out_len = n;
	return 0;
}

int wharf_p11_aes_gcm(struct wharf_p11 *p, const char *label, bool encrypt, const unsigned char iv[12],
		      const void *aad, size_t aad_len, const unsigned char *in, size_t in_len, unsigned char *out,
		      size_t *out_len, struct wharf_error *err)
{
	if (!encrypt && in_len < 16)
		return wharf_error_set(err, WHARF_EINVAL, "wrapped data of %zu bytes is shorter than its tag", in_len);
	struct wrap_session s;
	int r = session_open(&s, p, err);
	if (r < 0)
		return r;
	CK_OBJECT_HANDLE key;
	CK_ULONG found = 0;
	if ((r = find_aes(&s, label, &key, &found, err)) == 0 && !found)
		r = wharf_error_set(err, WHARF_ENOTFOUND, "token \"%s\" holds no AES key labelled \"%s\"",
				    wharf_p11_token_label(p), label);
	if (r == 0) {
		CK_GCM_PARAMS gcm = {
			.iv_ptr = (unsigned char *)iv, .iv_len = 12, .iv_bits = 96,
			.aad_ptr = (unsigned char *)aad, .aad_len = aad_len, .tag_bits = 128,
		};
		r = gcm_run(&s, key, encrypt, &gcm, in, in_len, out, out_len, err);
	}
	session_close(&s);
	return r;
}
