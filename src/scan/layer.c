/* One streaming pass over a layer: read the compressed bytes once, hash them, decompress (ISA-L
 * or zlib for gzip, libzstd for zstd, nothing for plain tar), hash the tar stream, and hand it to
 * libarchive through a read callback. Nothing of the layer is written to disk. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>
#ifdef WHARF_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#include "scan-internal.h"
#include "wharf/digest.h"

#define IN_CHUNK (256u * 1024)
#define OUT_CHUNK (1024u * 1024)
#define RATIO_FLOOR (1ull << 30)

#define NSLOT 4
#define QN 32

enum codec { CODEC_PLAIN, CODEC_GZIP, CODEC_ZSTD };

/* SHA-256 of both streams runs on a second thread, so hashing overlaps decompression and the
 * tar walk. Buffers rotate through NSLOT slots; a slot is reused only once the hasher is done
 * with it (each slot remembers the sequence number of the last job that reads it). */
struct hash_job {
	struct wharf_hasher *h;
	const void *p;
	size_t n;
};

struct hash_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done_cv;
	struct hash_job q[QN];
	uint64_t submitted, done;
	bool stop, running;
};

struct stream {
	const struct wharf_layer_input *in;
	const struct wharf_scan_limits *lim;
	struct wharf_error *err;
	const char *name; /* the layer as errors name it */
	struct wharf_hasher *chash, *uhash;
	enum codec codec;
	unsigned char *inbuf, *outbuf; /* the current slots */
	unsigned char *inslots[NSLOT], *outslots[NSLOT];
	uint64_t in_seq[NSLOT], out_seq[NSLOT];
	int in_slot, out_slot;
	struct hash_worker hw;
	size_t in_pos, in_len;
	bool in_eof, done, failed;
	uint64_t ctotal, utotal;
#ifdef WHARF_HAVE_ISAL
	struct inflate_state isal;
#else
	z_stream z;
	bool z_init;
#endif
	ZSTD_DStream *zstd;
	bool member_done;
};

static void *hash_main(void *arg)
{
	struct hash_worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->done == w->submitted && !w->stop)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->done == w->submitted)
			break;
		struct hash_job j = w->q[w->done % QN];
		pthread_mutex_unlock(&w->mu);
		wharf_hasher_update(j.h, j.p, j.n);
		pthread_mutex_lock(&w->mu);
		w->done++;
		pthread_cond_broadcast(&w->done_cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void hash_start(struct hash_worker *w)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done_cv, NULL);
	w->running = pthread_create(&w->thread, NULL, hash_main, w) == 0;
}

/* Wait until the job numbered seq (and all before it) is hashed. */
static void hash_wait(struct hash_worker *w, uint64_t seq)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->done < seq)
		pthread_cond_wait(&w->done_cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* Queue (or, without the thread, do) h += p[0..n); returns the job's sequence number. */
static uint64_t hash_submit(struct hash_worker *w, struct wharf_hasher *h, const void *p, size_t n)
{
	if (!w->running) {
		wharf_hasher_update(h, p, n);
		return 0;
	}
	pthread_mutex_lock(&w->mu);
	while (w->submitted - w->done >= QN)
		pthread_cond_wait(&w->done_cv, &w->mu);
	w->q[w->submitted % QN] = (struct hash_job){h, p, n};
	uint64_t seq = ++w->submitted;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return seq;
}

static void hash_stop(struct hash_worker *w)
{
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done_cv);
}

static void next_in_slot(struct stream *s)
{
	s->in_slot = (s->in_slot + 1) % NSLOT;
	hash_wait(&s->hw, s->in_seq[s->in_slot]);
	s->inbuf = s->inslots[s->in_slot];
}

static void next_out_slot(struct stream *s)
{
	s->out_slot = (s->out_slot + 1) % NSLOT;
	hash_wait(&s->hw, s->out_seq[s->out_slot]);
	s->outbuf = s->outslots[s->out_slot];
}

static int fail(struct stream *s, int code, const char *fmt, const char *detail)
{
	if (!s->failed)
		wharf_error_set(s->err, code, fmt, s->name, detail ? detail : "");
	s->failed = true;
	return -1;
}

/* Refill the input buffer when it is used up; false at the end of input or on failure. */
static bool fill_input(struct stream *s)
{
	if (s->in_pos < s->in_len)
		return true;
	if (s->in_eof)
		return false;
	next_in_slot(s);
	ssize_t n = s->in->read(s->in->ctx, s->inbuf, IN_CHUNK, s->err);
	if (n < 0) {
		s->failed = true;
		wharf_error_prefix(s->err, "layer %s", s->name);
		return false;
	}
	s->in_pos = 0;
	s->in_len = (size_t)n;
	if (n == 0) {
		s->in_eof = true;
		return false;
	}
	if (s->chash)
		s->in_seq[s->in_slot] = hash_submit(&s->hw, s->chash, s->inbuf, (size_t)n);
	s->ctotal += (uint64_t)n;
	if (s->in->progress)
		s->in->progress(s->in->progress_ctx, s->in->index, s->ctotal, s->in->size);
	return true;
}

static void detect_codec(struct stream *s)
{
	/* Gather the first bytes (a reader may hand out fewer than asked). */
	while (s->in_len < 4) {
		ssize_t n = s->in->read(s->in->ctx, s->inbuf + s->in_len, IN_CHUNK - s->in_len, s->err);
		if (n <= 0) {
			if (n < 0) {
				s->failed = true;
				wharf_error_prefix(s->err, "layer %s", s->name);
			}
			s->in_eof = true;
			break;
		}
		s->in_len += (size_t)n;
	}
	const unsigned char *b = s->inbuf;
	if (s->in_len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		s->codec = CODEC_GZIP;
	else if (s->in_len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		s->codec = CODEC_ZSTD;
	else
		s->codec = CODEC_PLAIN;
	if (s->codec != CODEC_PLAIN)
		s->chash = wharf_hasher_new(WHARF_SHA256);
	if (s->chash)
		s->in_seq[s->in_slot] = hash_submit(&s->hw, s->chash, s->inbuf, s->in_len);
	s->ctotal = s->in_len;
}

/* After a gzip member or zstd frame: another may follow; anything else is an error. */
static bool next_member(struct stream *s, const unsigned char *magic, size_t mlen)
{
	if (!fill_input(s))
		return false;
	if (s->in_len - s->in_pos < mlen || memcmp(s->inbuf + s->in_pos, magic, mlen) != 0) {
		fail(s, WHARF_EINVAL, "layer %s: trailing data after the compressed stream%s", NULL);
		return false;
	}
	return true;
}

#ifdef WHARF_HAVE_ISAL
static void gzip_init(struct stream *s)
{
	isal_inflate_init(&s->isal);
	s->isal.crc_flag = ISAL_GZIP;
}

static ssize_t gzip_produce(struct stream *s, const void **out)
{
	for (;;) {
		if (s->isal.block_state == ISAL_BLOCK_FINISH) {
			static const unsigned char gz[] = {0x1f, 0x8b};
			if (!next_member(s, gz, 2))
				return s->failed ? -1 : 0;
			gzip_init(s);
		}
		if (!fill_input(s) && s->failed)
			return -1;
		s->isal.next_in = s->inbuf + s->in_pos;
		s->isal.avail_in = (uint32_t)(s->in_len - s->in_pos);
		s->isal.next_out = s->outbuf;
		s->isal.avail_out = OUT_CHUNK;
		int ret = isal_inflate(&s->isal);
		s->in_pos = s->in_len - s->isal.avail_in;
		if (ret < 0) {
			const char *why = ret == ISAL_INCORRECT_CHECKSUM ? " (checksum mismatch)" : " (invalid deflate data)";
			return fail(s, WHARF_EINVAL, "layer %s: corrupt gzip stream%s", why);
		}
		size_t got = OUT_CHUNK - s->isal.avail_out;
		if (got > 0) {
			*out = s->outbuf;
			return (ssize_t)got;
		}
		if (s->isal.block_state != ISAL_BLOCK_FINISH && s->in_pos == s->in_len && s->in_eof)
			return fail(s, WHARF_EINVAL, "layer %s: truncated gzip stream%s", NULL);
	}
}
#else
static void gzip_init(struct stream *s)
{
	if (s->z_init)
		inflateEnd(&s->z);
	memset(&s->z, 0, sizeof(s->z));
	inflateInit2(&s->z, 16 + MAX_WBITS);
	s->z_init = true;
	s->member_done = false;
}

static ssize_t gzip_produce(struct stream *s, const void **out)
{
	for (;;) {
		if (s->member_done) {
			static const unsigned char gz[] = {0x1f, 0x8b};
			if (!next_member(s, gz, 2))
				return s->failed ? -1 : 0;
			gzip_init(s);
		}
		if (!fill_input(s) && s->failed)
			return -1;
		s->z.next_in = s->inbuf + s->in_pos;
		s->z.avail_in = (uInt)(s->in_len - s->in_pos);
		s->z.next_out = s->outbuf;
		s->z.avail_out = OUT_CHUNK;
		int ret = inflate(&s->z, Z_NO_FLUSH);
		s->in_pos = s->in_len - s->z.avail_in;
		if (ret == Z_STREAM_END)
			s->member_done = true;
		else if (ret != Z_OK && ret != Z_BUF_ERROR)
			return fail(s, WHARF_EINVAL, "layer %s: corrupt gzip stream (%s)", s->z.msg ? s->z.msg : "?");
		size_t got = OUT_CHUNK - s->z.avail_out;
		if (got > 0) {
			*out = s->outbuf;
			return (ssize_t)got;
		}
		if (!s->member_done && s->in_pos == s->in_len && s->in_eof)
			return fail(s, WHARF_EINVAL, "layer %s: truncated gzip stream%s", NULL);
	}
}
#endif

static ssize_t zstd_produce(struct stream *s, const void **out)
{
	for (;;) {
		if (s->member_done) {
			static const unsigned char zs[] = {0x28, 0xb5, 0x2f, 0xfd};
			if (!next_member(s, zs, 4))
				return s->failed ? -1 : 0;
			s->member_done = false;
		}
		if (!fill_input(s) && s->failed)
			return -1;
		ZSTD_inBuffer ib = {s->inbuf, s->in_len, s->in_pos};
		ZSTD_outBuffer ob = {s->outbuf, OUT_CHUNK, 0};
		size_t ret = ZSTD_decompressStream(s->zstd, &ob, &ib);
		s->in_pos = ib.pos;
		if (ZSTD_isError(ret))
			return fail(s, WHARF_EINVAL, "layer %s: corrupt zstd stream (%s)", ZSTD_getErrorName(ret));
		if (ret == 0)
			s->member_done = true;
		if (ob.pos > 0) {
			*out = s->outbuf;
			return (ssize_t)ob.pos;
		}
		if (!s->member_done && s->in_pos == s->in_len && s->in_eof)
			return fail(s, WHARF_EINVAL, "layer %s: truncated zstd stream%s", NULL);
	}
}

static ssize_t plain_produce(struct stream *s, const void **out)
{
	if (!fill_input(s))
		return s->failed ? -1 : 0;
	*out = s->inbuf + s->in_pos;
	size_t n = s->in_len - s->in_pos;
	s->in_pos = s->in_len;
	return (ssize_t)n;
}

/* The next piece of the tar stream, hashed and counted against the limits. */
static ssize_t produce(struct stream *s, const void **out)
{
	if (s->done)
		return 0;
	ssize_t n;
	if (s->codec != CODEC_PLAIN)
		next_out_slot(s);
	switch (s->codec) {
	case CODEC_GZIP: n = gzip_produce(s, out); break;
	case CODEC_ZSTD: n = zstd_produce(s, out); break;
	default: n = plain_produce(s, out); break;
	}
	if (n <= 0) {
		s->done = n == 0;
		return n;
	}
	uint64_t seq = hash_submit(&s->hw, s->uhash, *out, (size_t)n);
	if (s->codec == CODEC_PLAIN)
		s->in_seq[s->in_slot] = seq;
	else
		s->out_seq[s->out_slot] = seq;
	s->utotal += (uint64_t)n;
	if (s->utotal > s->lim->max_layer_bytes) {
		char lim[32];
		snprintf(lim, sizeof(lim), "%llu", (unsigned long long)s->lim->max_layer_bytes);
		return fail(s, WHARF_ETOOBIG, "layer %s: more than %s bytes uncompressed (tar bomb?)", lim);
	}
	if (s->codec != CODEC_PLAIN && s->utotal > RATIO_FLOOR && s->utotal / (s->ctotal ? s->ctotal : 1) > s->lim->max_ratio) {
		char lim[32];
		snprintf(lim, sizeof(lim), "%llu", (unsigned long long)s->lim->max_ratio);
		return fail(s, WHARF_ETOOBIG, "layer %s: decompresses more than %s times its size (compression bomb?)", lim);
	}
	return n;
}

static la_ssize_t archive_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct stream *s = ctx;
	ssize_t n = produce(s, buf);
	if (n < 0) {
		archive_set_error(a, EINVAL, "%s", s->err ? s->err->message : "layer read failed");
		return -1;
	}
	return n;
}

static void stream_free(struct stream *s)
{
	hash_stop(&s->hw); /* no job may still read a buffer or hasher freed below */
	for (int i = 0; i < NSLOT; i++) {
		free(s->inslots[i]);
		free(s->outslots[i]);
	}
	if (s->chash)
		wharf_hasher_free(s->chash);
	if (s->uhash)
		wharf_hasher_free(s->uhash);
#ifndef WHARF_HAVE_ISAL
	if (s->z_init)
		inflateEnd(&s->z);
#endif
	if (s->zstd)
		ZSTD_freeDStream(s->zstd);
}

/* Hash what follows the tar's end blocks, then compare both digests with what was promised. */
static int finish(struct stream *s, struct wharf_layer_analysis *out)
{
	const void *p;
	ssize_t n;
	while ((n = produce(s, &p)) > 0)
		;
	if (n < 0)
		return -s->err->code;
	if (s->ctotal == 0)
		return wharf_error_set(s->err, WHARF_EINVAL, "layer %s: empty stream", s->name);
	hash_wait(&s->hw, s->hw.submitted);
	struct wharf_digest ud, cd;
	wharf_hasher_final(s->uhash, &ud); /* stream_free frees both hashers */
	if (s->chash) {
		wharf_hasher_final(s->chash, &cd);
	} else {
		cd = ud;
	}
	const struct wharf_layer_input *in = s->in;
	if (in->digest && strcmp(in->digest, cd.str) != 0)
		return wharf_error_set(s->err, WHARF_EDIGEST, "layer %s: content hashes to %s", in->digest, cd.str);
	if (in->diffid && strcmp(in->diffid, ud.str) != 0)
		return wharf_error_set(s->err, WHARF_EDIGEST,
				       "layer %s: uncompressed content hashes to %s, not the config's diff ID %s",
				       s->name, ud.str, in->diffid);
	out->digest = wharf_xstrdup(cd.str);
	out->diffid = wharf_xstrdup(ud.str);
	out->compressed_size = s->ctotal;
	out->uncompressed_size = s->utotal;
	return 0;
}

static int open_archive(struct stream *s, struct archive **out)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open(a, s, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
		int r = s->failed ? -s->err->code
				  : wharf_error_set(s->err, WHARF_EINVAL, "layer %s: not a tar stream (%s)", s->name,
						    archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*out = a;
	return 0;
}

int wharf_scan_layer(const struct wharf_layer_input *in, const struct wharf_scan_limits *lim,
		     struct wharf_layer_analysis *out, struct wharf_error *err)
{
	struct stream s = {.in = in, .lim = lim, .err = err};
	s.name = in->digest ? in->digest : in->diffid ? in->diffid : "(unnamed)";
	for (int i = 0; i < NSLOT; i++) {
		s.inslots[i] = wharf_xmalloc(IN_CHUNK);
		s.outslots[i] = wharf_xmalloc(OUT_CHUNK);
	}
	s.inbuf = s.inslots[0];
	s.outbuf = s.outslots[0];
	hash_start(&s.hw);
	s.uhash = wharf_hasher_new(WHARF_SHA256);
	detect_codec(&s);
	int r = s.failed ? -err->code : 0;
	if (r == 0 && s.codec == CODEC_GZIP)
		gzip_init(&s);
	if (r == 0 && s.codec == CODEC_ZSTD)
		s.zstd = ZSTD_createDStream();
	struct archive *a = NULL;
	if (r == 0)
		r = open_archive(&s, &a);
	if (r == 0) {
		r = wharf_scan_walk_tar(a, s.name, in->index, lim, &s.failed, out, err);
		archive_read_free(a);
	}
	if (r == 0)
		r = finish(&s, out);
	stream_free(&s);
	return r;
}
