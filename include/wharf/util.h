/* util: the error type, cleanup helpers, a growable buffer, file helpers, logging.
 * Every fallible function in libwharf returns 0 or a negative wharf_errc and fills *err. */
#ifndef WHARF_UTIL_H
#define WHARF_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

enum wharf_errc {
	WHARF_OK = 0,
	WHARF_EINVAL,    /* the input broke a rule */
	WHARF_ENOTFOUND, /* no such thing */
	WHARF_EIO,       /* the operating system failed us */
	WHARF_EEXIST,    /* already there */
	WHARF_EDIGEST,   /* content does not match its digest */
	WHARF_ETOOBIG,   /* over a size limit */
	WHARF_ERANGE,    /* out of order or unsatisfiable range */
	WHARF_EBUSY,     /* someone else holds it */
	WHARF_EUNSUPPORTED,
	WHARF_EINTERNAL,
};

struct wharf_error {
	int code;      /* enum wharf_errc */
	int sys_errno; /* errno when code is WHARF_EIO, else 0 */
	char message[512];
};

/* Fill err (which may be NULL) and return -code. */
int wharf_error_set(struct wharf_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like wharf_error_set with code WHARF_EIO, appending strerror(errno). */
int wharf_error_sys(struct wharf_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix an existing message: "<prefix>: <old message>". Returns -err->code. */
int wharf_error_prefix(struct wharf_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void wharf_error_clear(struct wharf_error *err);
const char *wharf_errc_name(int code);

/* Cleanup helpers in the style of crun/systemd: locals released on every return path. */
#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void wharf_freep(void *p)
{
	free(*(void **)p);
}
static inline void wharf_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_ _cleanup_(wharf_freep)
#define _cleanup_close_ _cleanup_(wharf_closep)

static inline void *wharf_steal(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) wharf_steal(pp)

/* Allocation that aborts on exhaustion: we cannot serve anything without memory. */
void *wharf_xmalloc(size_t n);
void *wharf_xcalloc(size_t n, size_t size);
void *wharf_xrealloc(void *p, size_t n);
char *wharf_xstrdup(const char *s);
char *wharf_xstrndup(const char *s, size_t n);
char *wharf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated. */
struct wharf_buf {
	char *data;
	size_t len;
	size_t cap;
};
void wharf_buf_init(struct wharf_buf *b);
void wharf_buf_free(struct wharf_buf *b);
void wharf_buf_append(struct wharf_buf *b, const void *data, size_t len);
void wharf_buf_puts(struct wharf_buf *b, const char *s);
void wharf_buf_printf(struct wharf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal, quotes included. */
void wharf_buf_json_string(struct wharf_buf *b, const char *s);
/* Hand the data to the caller, who frees it; the buffer is left empty. */
char *wharf_buf_steal(struct wharf_buf *b);

/* Bodies received into buffers: a libcurl CURLOPT_WRITEFUNCTION whose data is a struct wharf_buf
 * (appends all), and a reset callback (wharf_auth_reset_fn: a refused answer, before the retry
 * with credentials) that empties it. */
size_t wharf_buf_write_cb(char *data, size_t size, size_t n, void *buf);
void wharf_buf_reset_cb(void *buf);
/* The same with a cap: past limit bytes in *out the write callback sets too_big and returns 0,
 * which stops the transfer; the reset callback empties *out and clears too_big. */
struct wharf_buf_sink {
	struct wharf_buf *out;
	size_t limit;
	bool too_big;
};
size_t wharf_buf_sink_write_cb(char *data, size_t size, size_t n, void *sink);
void wharf_buf_sink_reset_cb(void *sink);

/* A growable list of owned strings. */
struct wharf_strv {
	char **v;
	size_t n;
};
void wharf_strv_push(struct wharf_strv *sv, const char *s);
void wharf_strv_push_owned(struct wharf_strv *sv, char *s);
void wharf_strv_free(struct wharf_strv *sv);

/* Files. Every write that matters is atomic: temp file, fsync, rename, fsync of the directory. */
int wharf_mkdir_p(const char *path, unsigned mode, struct wharf_error *err);
int wharf_fsync_dir(const char *dir, struct wharf_error *err);
int wharf_fsync_parent(const char *path, struct wharf_error *err);
int wharf_write_all(int fd, const void *data, size_t len);
int wharf_pwrite_all(int fd, const void *data, size_t len, off_t off);
int wharf_atomic_write(const char *path, const void *data, size_t len, unsigned mode,
		       struct wharf_error *err);
int wharf_read_file(const char *path, size_t limit, char **out, size_t *out_len,
		    struct wharf_error *err);

/* Strings. */
bool wharf_str_has_prefix(const char *s, const char *prefix);
bool wharf_str_has_suffix(const char *s, const char *suffix);
/* Parse a decimal uint64 that fills the whole of [s, s+len); false on overflow or junk. */
bool wharf_parse_u64(const char *s, size_t len, uint64_t *out);
/* Parse a duration like 90, 90s, 15m, 2h, 7d into seconds. */
int wharf_parse_duration(const char *s, int64_t *out, struct wharf_error *err);
/* Parse a size like 4096, 64k, 4M, 2G into bytes. */
int wharf_parse_size(const char *s, uint64_t *out, struct wharf_error *err);
/* Make a random hex string of 2*nbytes characters from the kernel's CSPRNG. */
int wharf_random_hex(char *out, size_t nbytes, struct wharf_error *err);
/* Escape a string for a URL query value. */
char *wharf_url_escape(const char *s);
int64_t wharf_now(void);           /* seconds since the epoch */
uint64_t wharf_monotonic_us(void); /* microseconds, monotonic */

/* Logging: one JSON line per event to the configured stream. */
enum wharf_log_level { WHARF_LOG_DEBUG, WHARF_LOG_INFO, WHARF_LOG_WARN, WHARF_LOG_ERROR };
void wharf_log_set_level(enum wharf_log_level level);
void wharf_log_set_fd(int fd);
int wharf_log_get_fd(void);
bool wharf_log_enabled(enum wharf_log_level level);
void wharf_log(enum wharf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write one preformatted JSON object (without newline) as a log line. */
void wharf_log_json_line(const char *json, size_t len);
/* Append {"time":"<RFC 3339 UTC with milliseconds>" to b: the start of every log line. */
void wharf_log_begin_line(struct wharf_buf *b);

#endif
