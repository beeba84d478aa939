#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

enum upload_kind { UPLOAD_PATCH, UPLOAD_PUT, UPLOAD_MONOLITHIC };

/* Per-request state of a request that writes upload bytes. */
struct upload_req {
	struct wharf_registry *reg;
	enum upload_kind kind;
	char name[WHARF_REPO_NAME_MAX + 1];
	char id[33];
	int fd;
	uint64_t base;    /* upload offset when this request began */
	uint64_t written; /* bytes of this request written so far */
	uint64_t writeback_from; /* file offset up to which writeback was started */
	bool has_expected;
	uint64_t expected; /* body length promised by Content-Range */
	struct wharf_hasher *hasher; /* running hash including this request's bytes */
	struct upload_state *state;  /* held busy while this request runs */
	bool has_want;
	struct wharf_digest want;
	bool failed;
	struct wharf_error err;
};

static size_t bucket_of(const char *id)
{
	size_t h = 0;
	for (const char *p = id; *p; p++)
		h = h * 31 + (unsigned char)*p;
	return h % UPLOAD_BUCKETS;
}

static struct upload_state **state_find(struct wharf_registry *reg, const char *id)
{
	struct upload_state **pp = &reg->uploads[bucket_of(id)];
	while (*pp && strcmp((*pp)->id, id) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Claim the upload for this request and bring its running hash up to the recorded offset
 * (after a restart the hash is rebuilt from the file). */
static void state_release(struct wharf_registry *reg, struct upload_state *s);

static int state_acquire(struct wharf_registry *reg, const char *id, int fd, uint64_t offset,
			 struct upload_state **out, struct wharf_error *err)
{
	pthread_mutex_lock(&reg->uploads_lock);
	struct upload_state **pp = state_find(reg, id);
	if (*pp && (*pp)->busy) {
		pthread_mutex_unlock(&reg->uploads_lock);
		return wharf_error_set(err, WHARF_ERANGE, "upload %s is being written by another request", id);
	}
	if (!*pp) {
		struct upload_state *s = wharf_xcalloc(1, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", id);
		*pp = s;
	}
	struct upload_state *s = *pp;
	s->busy = true;
	pthread_mutex_unlock(&reg->uploads_lock);
	if (!s->hasher || s->offset != offset) {
		struct wharf_hasher *h = wharf_hasher_new(WHARF_SHA256);
		/* Rehash what the upload holds so far; a dup keeps the state open for more bytes. */
		if (offset) {
			enum { CHUNK = 1 << 20 };
			_cleanup_free_ char *buf = wharf_xmalloc(CHUNK);
			for (uint64_t off = 0; off < offset;) {
				size_t want = offset - off < CHUNK ? (size_t)(offset - off) : CHUNK;
				ssize_t n = pread(fd, buf, want, (off_t)off);
				if (n <= 0) {
					wharf_hasher_free(h);
					state_release(reg, s);
					return wharf_error_set(err, WHARF_EIO, "upload %s file is shorter than its recorded %llu bytes",
							       id, (unsigned long long)offset);
				}
				wharf_hasher_update(h, buf, (size_t)n);
				off += (uint64_t)n;
			}
		}
		wharf_hasher_free(s->hasher);
		s->hasher = h;
		s->offset = offset;
	}
	*out = s;
	return 0;
}

static void state_release(struct wharf_registry *reg, struct upload_state *s)
{
	pthread_mutex_lock(&reg->uploads_lock);
	s->busy = false;
	pthread_mutex_unlock(&reg->uploads_lock);
}

void reg_upload_forget(struct wharf_registry *reg, const char *id)
{
	pthread_mutex_lock(&reg->uploads_lock);
	struct upload_state **pp = state_find(reg, id);
	struct upload_state *s = *pp;
	if (s && !s->busy) {
		*pp = s->next;
		wharf_hasher_free(s->hasher);
		free(s);
	}
	pthread_mutex_unlock(&reg->uploads_lock);
}

static void upload_req_free(void *p)
{
	struct upload_req *u = p;
	if (u->fd >= 0)
		close(u->fd);
	wharf_hasher_free(u->hasher);
	if (u->state)
		state_release(u->reg, u->state);
	free(u);
}

static struct upload_req *upload_req_new(struct wharf_registry *reg, enum upload_kind kind, const char *name)
{
	struct upload_req *u = wharf_xcalloc(1, sizeof(*u));
	u->reg = reg;
	u->kind = kind;
	u->fd = -1;
	snprintf(u->name, sizeof(u->name), "%s", name);
	return u;
}

static void upload_location(struct wharf_http_response *r, const char *name, const char *id, uint64_t offset)
{
	wharf_http_response_headerf(r, "Location", "/v2/%s/blobs/uploads/%s", name, id);
	wharf_http_response_headerf(r, "Range", "0-%llu", (unsigned long long)(offset ? offset - 1 : 0));
	wharf_http_response_header(r, "Docker-Upload-UUID", id);
}

static void respond_upload_progress(struct wharf_http_request *req, unsigned status, const char *name,
				    const char *id, uint64_t offset)
{
	struct wharf_http_response *r = wharf_http_response_buffer(status, "", 0);
	upload_location(r, name, id, offset);
	wharf_http_respond(req, r);
}

static void respond_blob_created(struct wharf_http_request *req, const char *name, const char *digest)
{
	struct wharf_http_response *r = wharf_http_response_buffer(201, "", 0);
	wharf_http_response_headerf(r, "Location", "/v2/%s/blobs/%s", name, digest);
	wharf_http_response_header(r, "Docker-Content-Digest", digest);
	wharf_http_respond(req, r);
}

/* Hand written bytes to the disk as they come, so the fdatasync before the 201 has little
 * left to do. Durability still rests on that fdatasync. */
#define WRITEBACK_STEP (8u * 1024 * 1024)

static void start_writeback(struct upload_req *u)
{
	uint64_t end = u->base + u->written;
	while (end - u->writeback_from >= WRITEBACK_STEP) {
		sync_file_range(u->fd, (off_t)u->writeback_from, WRITEBACK_STEP, SYNC_FILE_RANGE_WRITE);
		u->writeback_from += WRITEBACK_STEP;
	}
}

static int on_upload_body(struct wharf_http_request *req, const char *data, size_t len)
{
	struct upload_req *u = wharf_http_state(req);
	if (u->has_expected && u->written + len > u->expected) {
		u->failed = true;
		return wharf_error_set(&u->err, WHARF_EINVAL, "body is longer than the %llu bytes its Content-Range announced",
				       (unsigned long long)u->expected);
	}
	if (wharf_pwrite_all(u->fd, data, len, (off_t)(u->base + u->written)) < 0) {
		u->failed = true;
		return wharf_error_sys(&u->err, "cannot write upload %s", u->id);
	}
	wharf_hasher_update(u->hasher, data, len);
	u->written += len;
	start_writeback(u);
	return 0;
}

/* Undo this request's bytes: the upload stays exactly as it was before it. */
static void upload_rollback(struct upload_req *u)
{
	if (u->fd >= 0 && u->kind != UPLOAD_MONOLITHIC && ftruncate(u->fd, (off_t)u->base) < 0)
		wharf_log(WHARF_LOG_WARN, "cannot truncate upload %s back to %llu bytes", u->id,
			  (unsigned long long)u->base);
}

static void discard_upload(struct upload_req *u)
{
	struct wharf_registry *reg = u->reg;
	if (u->state) {
		state_release(reg, u->state);
		u->state = NULL;
	}
	reg_upload_forget(reg, u->id);
	wharf_store_upload_remove(reg->store, u->id);
	if (u->kind != UPLOAD_MONOLITHIC)
		wharf_meta_upload_remove(reg->meta, u->id, NULL);
}

static void on_upload_abort(struct wharf_http_request *req)
{
	struct upload_req *u = wharf_http_state(req);
	if (u->kind == UPLOAD_MONOLITHIC)
		discard_upload(u);
	else
		upload_rollback(u);
}

/* The body as a whole must match what the headers promised. */
static bool body_complete(struct wharf_http_request *req, struct upload_req *u)
{
	if (u->failed) {
		upload_rollback(u);
		reg_error(req, 400, "BLOB_UPLOAD_INVALID", "%s", u->err.message);
		return false;
	}
	if (u->has_expected && u->written != u->expected) {
		upload_rollback(u);
		reg_error(req, 400, "BLOB_UPLOAD_INVALID",
			  "body has %llu bytes, but Content-Range announced %llu; upload %s is unchanged",
			  (unsigned long long)u->written, (unsigned long long)u->expected, u->id);
		return false;
	}
	return true;
}

/* Give the upload back before the answer leaves: the client may send its next request on
 * this upload as soon as it reads the answer, before this request's cleanup runs. */
static void release_claim(struct upload_req *u)
{
	if (u->state) {
		state_release(u->reg, u->state);
		u->state = NULL;
	}
}

static void patch_done(struct wharf_http_request *req)
{
	struct upload_req *u = wharf_http_state(req);
	if (!body_complete(req, u))
		return;
	uint64_t offset = u->base + u->written;
	struct wharf_error err;
	if (wharf_meta_upload_set_offset(u->reg->meta, u->id, offset, &err) < 0) {
		upload_rollback(u);
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
		return;
	}
	/* Commit the running hash: the state now covers this chunk. */
	wharf_hasher_free(u->state->hasher);
	u->state->hasher = steal_pointer(&u->hasher);
	u->state->offset = offset;
	respond_upload_progress(req, 202, u->name, u->id, offset);
}

/* Hash of the finished upload in the algorithm the client named. */
static int final_digest(struct upload_req *u, uint64_t size, struct wharf_digest *out, struct wharf_error *err)
{
	if (wharf_hasher_alg(u->hasher) == u->want.alg) {
		struct wharf_hasher *copy = wharf_hasher_dup(u->hasher);
		wharf_hasher_final(copy, out);
		wharf_hasher_free(copy);
		return 0;
	}
	return wharf_digest_fd(u->want.alg, u->fd, size, out, err);
}

static int commit_blob(struct upload_req *u, uint64_t size, struct wharf_error *err)
{
	struct wharf_registry *reg = u->reg;
	reg_lock_digest(reg, u->want.str);
	int r = wharf_store_upload_commit(reg->store, u->id, u->fd, size, &u->want, err);
	if (r == 0)
		r = wharf_meta_blob_add(reg->meta, u->name, u->want.str, size, err);
	reg_unlock_digest(reg, u->want.str);
	return r;
}

static void on_patch_done(struct wharf_http_request *req)
{
	patch_done(req);
	release_claim(wharf_http_state(req));
}

static void finish_done(struct wharf_http_request *req)
{
	struct upload_req *u = wharf_http_state(req);
	if (!body_complete(req, u)) {
		if (u->kind == UPLOAD_MONOLITHIC)
			discard_upload(u);
		return;
	}
	uint64_t size = u->base + u->written;
	struct wharf_digest got;
	struct wharf_error err;
	if (final_digest(u, size, &got, &err) < 0) {
		upload_rollback(u);
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
		return;
	}
	if (!wharf_digest_equal(&got, &u->want)) {
		discard_upload(u);
		reg_error(req, 400, "DIGEST_INVALID",
			  "uploaded content (%llu bytes) has digest %s, not %s; nothing was stored",
			  (unsigned long long)size, got.str, u->want.str);
		return;
	}
	if (commit_blob(u, size, &err) < 0) {
		upload_rollback(u);
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
		return;
	}
	if (u->kind != UPLOAD_MONOLITHIC)
		discard_upload(u); /* the file was renamed away; drop the rows and the state */
	respond_blob_created(req, u->name, u->want.str);
}

/* Parse Content-Range against the upload's offset; answers the request and returns false on error. */
static bool check_content_range(struct wharf_http_request *req, struct upload_req *u)
{
	const char *cr = wharf_http_header(req, "Content-Range");
	uint64_t clen;
	bool has_clen = wharf_http_content_length(req, &clen);
	if (!cr)
		return true;
	uint64_t start, end;
	struct wharf_error err;
	if (wharf_http_parse_content_range(cr, &start, &end, &err) < 0) {
		reg_error(req, 400, "BLOB_UPLOAD_INVALID", "%s", err.message);
		return false;
	}
	if (start != u->base) {
		char body[512];
		int n = snprintf(body, sizeof(body),
				 "{\"errors\":[{\"code\":\"BLOB_UPLOAD_INVALID\",\"message\":\"chunk starts at %llu, "
				 "but upload %s has %llu bytes; send the chunk that starts there\",\"detail\":{}}]}\n",
				 (unsigned long long)start, u->id, (unsigned long long)u->base);
		struct wharf_http_response *r = wharf_http_response_buffer(416, body, (size_t)n);
		wharf_http_response_header(r, "Content-Type", "application/json");
		upload_location(r, u->name, u->id, u->base);
		wharf_http_respond(req, r);
		return false;
	}
	u->has_expected = true;
	u->expected = end - start + 1;
	if (has_clen && clen != u->expected) {
		reg_error(req, 400, "BLOB_UPLOAD_INVALID", "Content-Length %llu does not match Content-Range %s (%llu bytes)",
			  (unsigned long long)clen, cr, (unsigned long long)u->expected);
		return false;
	}
	return true;
}

/* The upload's offset; answers 404 and returns false when id is no upload of repository name. */
static bool find_upload(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			const char *id, uint64_t *offset)
{
	struct wharf_error err;
	int r = wharf_store_valid_upload_id(id) ? wharf_meta_upload_get(reg->meta, name, id, offset, &err)
						: -WHARF_ENOTFOUND;
	if (r == -WHARF_ENOTFOUND)
		reg_error(req, 404, "BLOB_UPLOAD_UNKNOWN", "upload %.40s is not an upload of repository %s", id, name);
	else if (r < 0)
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
	return r == 0;
}

/* Common start of PATCH and PUT: find the upload, claim it, check the range, open the file. */
static struct upload_req *begin_existing(struct wharf_registry *reg, struct wharf_http_request *req,
					 enum upload_kind kind, const char *name, const char *id)
{
	struct wharf_error err;
	uint64_t offset;
	if (!find_upload(reg, req, name, id, &offset))
		return NULL;
	struct upload_req *u = upload_req_new(reg, kind, name);
	snprintf(u->id, sizeof(u->id), "%s", id);
	u->base = offset;
	u->writeback_from = offset;
	uint64_t file_size;
	if (wharf_store_upload_open(reg->store, id, &u->fd, &file_size, &err) < 0 ||
	    state_acquire(reg, id, u->fd, offset, &u->state, &err) < 0) {
		upload_req_free(u);
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
		return NULL;
	}
	if (!check_content_range(req, u)) {
		upload_req_free(u);
		return NULL;
	}
	u->hasher = wharf_hasher_dup(u->state->hasher);
	return u;
}

static void on_finish_done(struct wharf_http_request *req)
{
	finish_done(req);
	release_claim(wharf_http_state(req));
}

void reg_upload_patch(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		      const char *id)
{
	struct upload_req *u = begin_existing(reg, req, UPLOAD_PATCH, name, id);
	if (!u)
		return;
	wharf_http_set_state(req, u, upload_req_free);
	wharf_http_expect_body(req, on_upload_body, on_patch_done, on_upload_abort);
}

static bool parse_want_digest(struct wharf_http_request *req, struct wharf_digest *want)
{
	const char *ds = wharf_http_query(req, "digest");
	struct wharf_error err;
	if (!ds) {
		reg_error(req, 400, "DIGEST_INVALID", "query parameter 'digest' is required to finish an upload");
		return false;
	}
	if (wharf_digest_parse(want, ds, &err) < 0) {
		reg_error(req, 400, "DIGEST_INVALID", "%s", err.message);
		return false;
	}
	return true;
}

void reg_upload_put(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		    const char *id)
{
	struct wharf_digest want;
	if (!parse_want_digest(req, &want))
		return;
	struct upload_req *u = begin_existing(reg, req, UPLOAD_PUT, name, id);
	if (!u)
		return;
	u->has_want = true;
	u->want = want;
	wharf_http_set_state(req, u, upload_req_free);
	wharf_http_expect_body(req, on_upload_body, on_finish_done, on_upload_abort);
}

static bool try_mount(struct wharf_registry *reg, struct wharf_http_request *req, const char *name)
{
	const char *mount = wharf_http_query(req, "mount");
	const char *from = wharf_http_query(req, "from");
	struct wharf_digest d;
	struct wharf_error err;
	if (!mount || !from)
		return false;
	if (wharf_digest_parse(&d, mount, &err) < 0) {
		reg_error(req, 400, "DIGEST_INVALID", "mount: %s", err.message);
		return true;
	}
	if (wharf_oci_check_repo_name(from, strlen(from), &err) < 0) {
		reg_error(req, 400, "NAME_INVALID", "from: %s", err.message);
		return true;
	}
	struct wharf_access access = {.repository = from, .action = WHARF_ACTION_PULL,
				      .authorization = wharf_http_header(req, "Authorization")};
	struct wharf_auth_decision dec;
	wharf_auth_decide(reg->auth, &access, &dec);
	uint64_t size;
	if (!dec.allowed || wharf_meta_blob_mount(reg->meta, name, from, d.str, &size, &err) < 0)
		return false; /* not mountable: the client gets a fresh upload instead, as the spec says */
	respond_blob_created(req, name, d.str);
	return true;
}

static void start_monolithic(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
			     const struct wharf_digest *want)
{
	struct wharf_error err;
	struct upload_req *u = upload_req_new(reg, UPLOAD_MONOLITHIC, name);
	uint64_t size;
	if (wharf_store_upload_create(reg->store, u->id, &err) < 0 ||
	    wharf_store_upload_open(reg->store, u->id, &u->fd, &size, &err) < 0) {
		upload_req_free(u);
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
		return;
	}
	u->has_want = true;
	u->want = *want;
	u->hasher = wharf_hasher_new(want->alg);
	wharf_http_set_state(req, u, upload_req_free);
	wharf_http_expect_body(req, on_upload_body, on_finish_done, on_upload_abort);
}

void reg_upload_start(struct wharf_registry *reg, struct wharf_http_request *req, const char *name)
{
	if (try_mount(reg, req, name))
		return;
	struct wharf_error err;
	if (wharf_http_query(req, "digest")) {
		struct wharf_digest want;
		if (parse_want_digest(req, &want))
			start_monolithic(reg, req, name, &want);
		return;
	}
	uint64_t clen = 0;
	if (wharf_http_content_length(req, &clen) && clen > 0) {
		reg_error(req, 400, "BLOB_UPLOAD_INVALID",
			  "a POST with a body (%llu bytes) needs ?digest= to be a monolithic upload",
			  (unsigned long long)clen);
		return;
	}
	char id[33];
	if (wharf_store_upload_create(reg->store, id, &err) < 0 ||
	    wharf_meta_upload_add(reg->meta, name, id, &err) < 0) {
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
		return;
	}
	respond_upload_progress(req, 202, name, id, 0);
}

void reg_upload_status(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		       const char *id)
{
	uint64_t offset;
	if (!find_upload(reg, req, name, id, &offset))
		return;
	respond_upload_progress(req, 204, name, id, offset);
}

void reg_upload_cancel(struct wharf_registry *reg, struct wharf_http_request *req, const char *name,
		       const char *id)
{
	uint64_t offset;
	struct wharf_error err;
	if (!find_upload(reg, req, name, id, &offset))
		return;
	reg_upload_forget(reg, id);
	wharf_store_upload_remove(reg->store, id);
	if (wharf_meta_upload_remove(reg->meta, id, &err) < 0) {
		reg_error_from(req, &err, "BLOB_UPLOAD_UNKNOWN");
		return;
	}
	struct wharf_http_response *r = wharf_http_response_buffer(204, "", 0);
	wharf_http_respond(req, r);
}
