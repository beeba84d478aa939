/* Secret files from a store someone else could write to (a restored backup, a shared disk).
 *
 * The input is a whole secret file. The parser must accept it only when every rule holds, and
 * what it returns must describe the input exactly: the header re-serialised from the parsed
 * fields is byte for byte the AAD, and the ciphertext and tag fill the rest. Refusals carry a message
 * naming the input. (Decryption is AES-GCM in OpenSSL over the borrowed spans checked here.) */
#include <string.h>

#include "wharf/secrets.h"

#include "fuzz.h"

/* Rebuild the header from the parsed fields, as the writer would. */
static size_t rebuild(const struct wharf_secret_file *f, unsigned char *out)
{
	size_t n = strlen(f->info.name), o = 0;
	memcpy(out, "WHARFSEC\x01\x01", 10), o = 10;
	out[o++] = (unsigned char)n;
	memcpy(out + o, f->info.name, n), o += n;
	for (size_t i = 0; i < 16; i++) {
		unsigned v = 0;
		sscanf(f->info.id + 2 * i, "%2x", &v);
		out[o++] = (unsigned char)v;
	}
	uint64_t fields[4] = {f->info.version, (uint64_t)f->info.created, (uint64_t)f->info.updated, f->info.size};
	int widths[4] = {4, 8, 8, 4};
	for (int k = 0; k < 4; k++)
		for (int i = widths[k] - 1; i >= 0; i--)
			out[o++] = (unsigned char)(fields[k] >> (8 * i));
	memcpy(out + o, f->nonce, 12), o += 12;
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wharf_secret_file f;
	struct wharf_error err = {0};
	int r = wharf_secret_file_parse(data, size, "fuzz input", &f, &err);
	if (r < 0) {
		FUZZ_CHECK(err.message[0] != '\0' && strstr(err.message, "fuzz input"));
		return 0;
	}
	FUZZ_CHECK(wharf_secret_name_check(f.info.name, NULL) == 0);
	FUZZ_CHECK(f.info.version >= 1 && f.info.updated >= f.info.created);
	FUZZ_CHECK(f.info.size <= WHARF_SECRET_MAX_SIZE);
	FUZZ_CHECK(f.aad == data && f.ciphertext == data + f.aad_len);
	FUZZ_CHECK(f.tag == f.ciphertext + f.info.size && f.tag + 16 == data + size);
	unsigned char header[256];
	FUZZ_CHECK(f.aad_len <= sizeof(header));
	FUZZ_CHECK(rebuild(&f, header) == f.aad_len && memcmp(header, f.aad, f.aad_len) == 0);
	return 0;
}
