/* The layer walker on hostile bytes: a layer blob (gzip, zstd or plain tar by magic) streamed
 * in odd-sized pieces through wharf_scan_layer with small limits. Whatever the input, the walk
 * ends with an error or with an analysis whose sizes respect the limits. */
#include "wharf/scan.h"

#include "fuzz.h"

struct mem {
	const uint8_t *d;
	size_t len, pos;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, struct wharf_error *err)
{
	(void)err;
	struct mem *m = ctx;
	size_t n = m->len - m->pos;
	if (n > len)
		n = len;
	if (n > 4093)
		n = 4093;
	memcpy(buf, m->d + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wharf_scan_limits lim;
	wharf_scan_limits_default(&lim);
	lim.max_layer_bytes = 32u << 20;
	lim.max_entries = 10000;
	lim.max_file_read = 1u << 20;
	lim.max_path = 1024;
	struct mem m = {data, size, 0};
	struct wharf_layer_input in = {.index = 0, .read = mem_read, .ctx = &m};
	struct wharf_layer_analysis a = {0};
	struct wharf_error err = {0};
	if (wharf_scan_layer(&in, &lim, &a, &err) == 0) {
		FUZZ_CHECK(a.digest && a.diffid);
		FUZZ_CHECK(a.uncompressed_size <= lim.max_layer_bytes);
		FUZZ_CHECK(a.compressed_size == size);
		for (size_t i = 0; i < a.pkgs.n; i++)
			FUZZ_CHECK(a.pkgs.v[i].name && a.pkgs.v[i].version && a.pkgs.v[i].path);
	} else {
		FUZZ_CHECK(err.message[0] != 0);
	}
	wharf_layer_analysis_free(&a);
	return 0;
}
