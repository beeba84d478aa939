/* pkcs11_wrap: secret (AES) keys on PKCS#11 tokens, for wrapping other keys with them. Additive to
 * wharf/pkcs11.h: works on a struct wharf_p11 after wharf_p11_login, through a session of its
 * own on the same token (the login is shared by every session of the process). */
#ifndef WHARF_PKCS11_WRAP_H
#define WHARF_PKCS11_WRAP_H

#include <stdbool.h>

#include "wharf/pkcs11.h"

/* Generate a 256-bit AES key on the logged-in token (CKM_AES_KEY_GEN): a token object labelled
 * label, private, sensitive, never extractable, usable for encrypt and decrypt only.
 * WHARF_EEXIST when a secret key with that label is already there. */
int wharf_p11_generate_aes(struct wharf_p11 *p, const char *label, struct wharf_error *err);

/* AES-GCM (CKM_AES_GCM, 128-bit tag) with the AES key labelled label on the logged-in token.
 * Encrypt: out receives in_len + 16 bytes (ciphertext || tag). Decrypt: in is ciphertext || tag,
 * out receives in_len - 16 bytes; a failed authentication is WHARF_EDIGEST. out must hold
 * in_len + 16 bytes either way; *out_len is set to what was written. WHARF_ENOTFOUND when the
 * token has no AES key labelled label. */
int wharf_p11_aes_gcm(struct wharf_p11 *p, const char *label, bool encrypt, const unsigned char iv[12],
		      const void *aad, size_t aad_len, const unsigned char *in, size_t in_len, unsigned char *out,
		      size_t *out_len, struct wharf_error *err);

#endif
