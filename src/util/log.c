#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "wharf/util.h"

static atomic_int log_level = WHARF_LOG_INFO;
static atomic_int log_fd = 2;

void wharf_log_set_level(enum wharf_log_level level)
{
	atomic_store(&log_level, (int)level);
}

void wharf_log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

int wharf_log_get_fd(void)
{
	return atomic_load(&log_fd);
}

bool wharf_log_enabled(enum wharf_log_level level)
{
	return (int)level >= atomic_load(&log_level) && atomic_load(&log_fd) >= 0;
}

void wharf_log_json_line(const char *json, size_t len)
{
	int fd = atomic_load(&log_fd);
	if (fd < 0)
		return;
	/* One writev per line keeps concurrent lines from interleaving. */
	struct iovec iov[2] = {{(void *)json, len}, {"\n", 1}};
	ssize_t r = writev(fd, iov, 2);
	(void)r;
}

void wharf_log_begin_line(struct wharf_buf *b)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	wharf_buf_printf(b, "{\"time\":\"%s.%03ldZ\"", when, ts.tv_nsec / 1000000);
}

void wharf_log(enum wharf_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (!wharf_log_enabled(level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_log_begin_line(&b);
	wharf_buf_printf(&b, ",\"level\":\"%s\",\"msg\":", names[level]);
	wharf_buf_json_string(&b, msg);
	wharf_buf_puts(&b, "}");
	wharf_log_json_line(b.data, b.len);
	wharf_buf_free(&b);
}
