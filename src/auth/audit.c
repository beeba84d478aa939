/* The audit log: append-only JSON lines, hash-chained. Each record carries the hash of the one
 * before it, and its own hash over its canonical JSON (without "hash"), so modifying, deleting,
 * reordering or cutting a record breaks the chain at that record. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wharf/authx.h"
#include "wharf/digest.h"
#include "wharf/json.h"

/* A record longer than this is refused on append and a damaged record on verify. */
#define AUDIT_MAX_LINE (256 * 1024)

struct wharf_audit {
	int fd;
	pthread_mutex_t lock;           /* the chain and the write */
	pthread_mutex_t sync_lock;      /* one fdatasync at a time; it covers every record written before it */
	int64_t synced;                 /* records known to be on disk (under sync_lock) */
	int64_t seq;                    /* of the last record written */
	char prev[WHARF_DIGEST_MAX];    /* its hash */
	char *path;
};

static void empty_hash(char out[WHARF_DIGEST_MAX])
{
	struct wharf_digest d;
	wharf_digest_buffer(WHARF_SHA256, "", 0, &d);
	memcpy(out, d.str, sizeof(d.str));
}

/* The hash of a record: sha256 of the canonical JSON of every member except "hash". */
static int record_hash(json_t *record, char out[WHARF_DIGEST_MAX], struct wharf_error *err)
{
	json_t *copy = json_copy(record);
	json_object_del(copy, "hash");
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = wharf_json_canonical(copy, WHARF_CANON_OLPC, &b, err);
	json_decref(copy);
	if (r == 0) {
		struct wharf_digest d;
		wharf_digest_buffer(WHARF_SHA256, b.data, b.len, &d);
		memcpy(out, d.str, sizeof(d.str));
	}
	wharf_buf_free(&b);
	return r;
}

/* Check one line as the record after (seq - 1, prev). */
static int check_record(const char *line, size_t len, int64_t want_seq, const char *want_prev,
			char hash_out[WHARF_DIGEST_MAX], int64_t *seq_out, struct wharf_error *err)
{
	json_t *rec = NULL;
	*seq_out = 0;
	if (wharf_json_parse(&rec, line, len, AUDIT_MAX_LINE, err) < 0)
		return wharf_error_prefix(err, "not a JSON record");
	int r = 0;
	json_t *seq = json_object_get(rec, "seq");
	const char *prev = json_string_value(json_object_get(rec, "prev"));
	const char *hash = json_string_value(json_object_get(rec, "hash"));
	if (!json_is_object(rec) || !json_is_integer(seq) || !prev || !hash ||
	    !json_is_string(json_object_get(rec, "time"))) {
		r = wharf_error_set(err, WHARF_EINVAL, "record lacks seq, time, prev or hash");
		goto out;
	}
	*seq_out = json_integer_value(seq);
	char computed[WHARF_DIGEST_MAX];
	if ((r = record_hash(rec, computed, err)) < 0)
		goto out;
	if (strcmp(computed, hash)) {
		r = wharf_error_set(err, WHARF_EDIGEST, "seq %lld: content does not match its hash (modified)",
				    (long long)*seq_out);
	} else if (*seq_out != want_seq) {
		r = wharf_error_set(err, WHARF_EDIGEST, "seq %lld where %lld was expected (deleted or reordered)",
				    (long long)*seq_out, (long long)want_seq);
	} else if (strcmp(prev, want_prev)) {
		r = wharf_error_set(err, WHARF_EDIGEST,
				    "seq %lld: prev does not match the hash of the record before it", (long long)*seq_out);
	} else {
		memcpy(hash_out, computed, WHARF_DIGEST_MAX);
	}
out:
	json_decref(rec);
	return r;
}

/* Find the last line of fd (which must end with '\n') and check it as a record on its own. */
static int resume_chain(struct wharf_audit *a, struct wharf_error *err)
{
	struct stat st;
	if (fstat(a->fd, &st) < 0)
		return wharf_error_sys(err, "audit log %s: stat", a->path);
	empty_hash(a->prev);
	a->seq = 0;
	if (st.st_size == 0)
		return 0;
	size_t want = st.st_size < AUDIT_MAX_LINE + 1 ? (size_t)st.st_size : AUDIT_MAX_LINE + 1;
	_cleanup_free_ char *tail = wharf_xmalloc(want + 1);
	ssize_t n = pread(a->fd, tail, want, st.st_size - (off_t)want);
	if (n != (ssize_t)want)
		return wharf_error_sys(err, "audit log %s: read", a->path);
	tail[want] = 0;
	if (tail[want - 1] != '\n')
		return wharf_error_set(err, WHARF_EDIGEST,
				       "audit log %s: the last record is incomplete (truncated); run wharf admin audit verify",
				       a->path);
	size_t end = want - 1, start = end;
	while (start > 0 && tail[start - 1] != '\n')
		start--;
	if (start == 0 && want < (size_t)st.st_size)
		return wharf_error_set(err, WHARF_ETOOBIG, "audit log %s: the last record is over %d bytes", a->path,
				       AUDIT_MAX_LINE);
	json_t *rec = NULL;
	if (wharf_json_parse(&rec, tail + start, end - start, AUDIT_MAX_LINE, err) < 0)
		return wharf_error_prefix(err, "audit log %s: last record", a->path);
	int64_t seq = json_integer_value(json_object_get(rec, "seq"));
	const char *prev = json_string_value(json_object_get(rec, "prev"));
	int r = prev ? check_record(tail + start, end - start, seq, prev, a->prev, &a->seq, err)
		     : wharf_error_set(err, WHARF_EINVAL, "no prev");
	json_decref(rec);
	if (r < 0)
		return wharf_error_prefix(err, "audit log %s: last record", a->path);
	return 0;
}

int wharf_audit_open(struct wharf_audit **out, const char *path, struct wharf_error *err)
{
	*out = NULL;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return wharf_error_sys(err, "audit log %s: open", path);
	struct wharf_audit *a = wharf_xcalloc(1, sizeof(*a));
	a->fd = fd;
	a->path = wharf_xstrdup(path);
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->sync_lock, NULL);
	if (resume_chain(a, err) < 0) {
		wharf_audit_close(a);
		return -err->code;
	}
	a->synced = a->seq;
	*out = a;
	return 0;
}

void wharf_audit_close(struct wharf_audit *a)
{
	if (!a)
		return;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->sync_lock);
	free(a->path);
	free(a);
}

static json_t *rfc3339_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40], full[64];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(full, sizeof(full), "%s.%03ldZ", when, ts.tv_nsec / 1000000);
	return json_string(full);
}

/* Fill the chain fields of event, hash it and write it as one line. Called with the lock held. */
static int append_locked(struct wharf_audit *a, json_t *event, struct wharf_error *err)
{
	json_object_set_new(event, "seq", json_integer(a->seq + 1));
	json_object_set_new(event, "time", rfc3339_now());
	json_object_set_new(event, "prev", json_string(a->prev));
	char hash[WHARF_DIGEST_MAX];
	if (record_hash(event, hash, err) < 0)
		return wharf_error_prefix(err, "audit event");
	json_object_set_new(event, "hash", json_string(hash));
	/* The line is jansson's escaped form (newlines in strings escaped); verify re-parses it and
	 * hashes the canonical form, so the two encodings never have to agree byte for byte. */
	_cleanup_free_ char *line = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!line)
		return wharf_error_set(err, WHARF_EINVAL, "audit event: cannot be encoded");
	size_t len = strlen(line);
	if (len + 1 > AUDIT_MAX_LINE)
		return wharf_error_set(err, WHARF_ETOOBIG, "audit event: %zu bytes is over %d", len, AUDIT_MAX_LINE);
	line[len] = '\n'; /* the NUL is not written */
	if (wharf_write_all(a->fd, line, len + 1) < 0)
		return wharf_error_sys(err, "audit log %s: write", a->path);
	a->seq++;
	memcpy(a->prev, hash, sizeof(hash));
	return 0;
}

/* Group commit: the append returns once its record is on disk. The fdatasync runs outside the
 * chain lock, so records appended meanwhile by other threads ride on the next one together
 * (one sync per record costs ~3 ms on a plain disk: ~320 records/s for a single writer). */
static int sync_through(struct wharf_audit *a, int64_t seq, struct wharf_error *err)
{
	pthread_mutex_lock(&a->sync_lock);
	int r = 0;
	if (a->synced < seq) {
		pthread_mutex_lock(&a->lock);
		int64_t covered = a->seq; /* everything written so far */
		pthread_mutex_unlock(&a->lock);
		if (fdatasync(a->fd) < 0)
			r = wharf_error_sys(err, "audit log %s: fdatasync", a->path);
		else
			a->synced = covered;
	}
	pthread_mutex_unlock(&a->sync_lock);
	return r;
}

int wharf_audit_append(struct wharf_audit *a, json_t *event, struct wharf_error *err)
{
	if (!json_is_object(event)) {
		json_decref(event);
		return wharf_error_set(err, WHARF_EINVAL, "audit event: not a JSON object");
	}
	static const char *reserved[] = {"seq", "time", "prev", "hash"};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (json_object_get(event, reserved[i])) {
			json_decref(event);
			return wharf_error_set(err, WHARF_EINVAL, "audit event: \"%s\" is reserved", reserved[i]);
		}
	}
	pthread_mutex_lock(&a->lock);
	int r = append_locked(a, event, err);
	int64_t mine = a->seq;
	pthread_mutex_unlock(&a->lock);
	json_decref(event);
	return r < 0 ? r : sync_through(a, mine, err);
}

int wharf_audit_verify_at(const char *path, size_t *records, size_t *bad_line, int64_t *bad_seq,
			  struct wharf_error *err)
{
	*records = 0;
	*bad_line = 0;
	*bad_seq = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return wharf_error_sys(err, "audit log %s: open", path);
	FILE *f = fdopen(fd, "r");
	char prev[WHARF_DIGEST_MAX];
	empty_hash(prev);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;
	for (size_t lineno = 1; (n = getline(&line, &cap, f)) > 0; lineno++) {
		int64_t seq = 0;
		if (line[n - 1] != '\n')
			r = wharf_error_set(err, WHARF_EDIGEST, "the record is incomplete (truncated)");
		else if (n > AUDIT_MAX_LINE)
			r = wharf_error_set(err, WHARF_ETOOBIG, "the record is over %d bytes", AUDIT_MAX_LINE);
		else
			r = check_record(line, (size_t)n - 1, (int64_t)lineno, prev, prev, &seq, err);
		if (r < 0) {
			*bad_line = lineno;
			*bad_seq = seq ? seq : (int64_t)lineno;
			if (err->code != WHARF_EDIGEST)
				err->code = WHARF_EDIGEST;
			r = wharf_error_prefix(err, "audit log %s: line %zu (record %lld)", path, lineno,
					       (long long)*bad_seq);
			break;
		}
		(*records)++;
	}
	if (r == 0 && ferror(f))
		r = wharf_error_sys(err, "audit log %s: read", path);
	free(line);
	fclose(f);
	return r;
}

int wharf_audit_verify(const char *path, size_t *records, struct wharf_error *err)
{
	size_t line;
	int64_t seq;
	return wharf_audit_verify_at(path, records, &line, &seq, err);
}
