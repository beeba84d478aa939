#include <stdio.h>
#include <string.h>

#include "internal.h"

static void blob_headers(struct wharf_http_response *r, const char *digest)
{
	wharf_http_response_header(r, "Docker-Content-Digest", digest);
	wharf_http_response_headerf(r, "ETag", "\"%s\"", digest);
	wharf_http_response_header(r, "Accept-Ranges", "bytes");
	wharf_http_response_header(r, "Cache-Control", "max-age=31536000");
}

static void respond_not_modified(struct wharf_http_request *req, const char *digest)
{
	struct wharf_http_response *r = wharf_http_response_buffer(304, "", 0);
	blob_headers(r, digest);
	wharf_http_respond(req, r);
}

static bool etag_matches(struct wharf_http_request *req, const char *digest)
{
	const char *inm = wharf_http_header(req, "If-None-Match");
	return inm && strstr(inm, digest) != NULL;
}

static void respond_range(struct wharf_http_request *req, int fd, uint64_t size, const char *digest,
			  const char *range)
{
	uint64_t start, end;
	int r = wharf_http_parse_range(range, size, &start, &end);
	if (r == -WHARF_ERANGE) {
		close(fd);
		char body[512];
		int n = snprintf(body, sizeof(body),
				 "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"range '%.100s' is outside blob %s of %llu bytes\",\"detail\":{}}]}\n",
				 range, digest, (unsigned long long)size);
		struct wharf_http_response *resp = wharf_http_response_buffer(416, body, (size_t)n);
		wharf_http_response_header(resp, "Content-Type", "application/json");
		wharf_http_response_headerf(resp, "Content-Range", "bytes */%llu", (unsigned long long)size);
		wharf_http_respond(req, resp);
		return;
	}
	if (r < 0) {
		start = 0; /* a Range we do not understand is ignored, as RFC 9110 allows */
		end = size ? size - 1 : 0;
	}
	bool partial = r == 0;
	uint64_t len = size ? end - start + 1 : 0;
	struct wharf_http_response *resp = wharf_http_response_fd(partial ? 206 : 200, fd, start, len);
	wharf_http_response_header(resp, "Content-Type", "application/octet-stream");
	blob_headers(resp, digest);
	if (partial)
		wharf_http_response_headerf(resp, "Content-Range", "bytes %llu-%llu/%llu",
					    (unsigned long long)start, (unsigned long long)end,
					    (unsigned long long)size);
	wharf_http_respond(req, resp);
}

void reg_blob_get(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		  const char *digest_str)
{
	struct wharf_error err;
	struct wharf_digest d;
	if (wharf_digest_parse(&d, digest_str, &err) < 0) {
		reg_error(req, 400, "DIGEST_INVALID", "%s", err.message);
		return;
	}
	uint64_t size;
	if (wharf_meta_blob_in_repo(reg->meta, name, d.str, &size, &err) < 0) {
		reg_error_from(req, &err, "BLOB_UNKNOWN");
		return;
	}
	if (wharf_http_is_head(req)) {
		/* A HEAD is how a pushing client learns it may skip an upload: keep the blob alive. */
		wharf_meta_blob_touch(reg->meta, d.str, reg->cfg.gc_grace / 4, NULL);
	}
	if (etag_matches(req, d.str)) {
		respond_not_modified(req, d.str);
		return;
	}
	int fd;
	uint64_t file_size;
	if (wharf_store_blob_open(reg->store, &d, &fd, &file_size, &err) < 0) {
		wharf_log(WHARF_LOG_ERROR, "blob %s is recorded but its file is unreadable: %s", d.str, err.message);
		reg_error(req, 404, "BLOB_UNKNOWN", "blob %s is not available", d.str);
		return;
	}
	const char *range = wharf_http_header(req, "Range");
	if (range) {
		respond_range(req, fd, file_size, d.str, range);
		return;
	}
	struct wharf_http_response *resp = wharf_http_response_fd(200, fd, 0, file_size);
	wharf_http_response_header(resp, "Content-Type", "application/octet-stream");
	blob_headers(resp, d.str);
	wharf_http_respond(req, resp);
}

void reg_blob_delete(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		     const char *digest_str)
{
	struct wharf_error err;
	struct wharf_digest d;
	if (!reg->cfg.delete_enabled) {
		reg_error(req, 405, "UNSUPPORTED", "deletes are disabled on this registry (delete_enabled: false)");
		return;
	}
	if (wharf_digest_parse(&d, digest_str, &err) < 0) {
		reg_error(req, 400, "DIGEST_INVALID", "%s", err.message);
		return;
	}
	/* Unlink from the repository; the file goes when the collector finds nothing refers to it. */
	if (wharf_meta_blob_unlink(reg->meta, name, d.str, &err) < 0) {
		reg_error_from(req, &err, "BLOB_UNKNOWN");
		return;
	}
	reg_audit(reg, req, "delete", json_pack("{s:s,s:s,s:s}", "object", "blob", "repository", name, "digest", d.str));
	struct wharf_http_response *r = wharf_http_response_buffer(202, "", 0);
	wharf_http_response_header(r, "Docker-Content-Digest", d.str);
	wharf_http_respond(req, r);
}
