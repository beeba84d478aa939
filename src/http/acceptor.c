/* The front door: wharfd accepts connections itself and looks at their first bytes before
 * libmicrohttpd sees them. libmicrohttpd closes a connection whose first line is not HTTP
 * without a word; a TLS client (docker probing https first) then sees EOF and gives up,
 * where an HTTP answer makes it fall back to plain HTTP. So such openings get a plain-HTTP 400
 * here, and everything else goes to libmicrohttpd unchanged (the bytes stay in the socket).
 * With HTTPS configured (issue 7) the roles swap: the daemon speaks TLS, ClientHellos go to it,
 * and a plain-HTTP request gets the 400 (as Go's servers answer one), so no credentials ever
 * travel in clear text on a TLS port. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "acceptor.h"
#include "wharf/util.h"

#define SNIFF_WAIT_US 1000000 /* a client silent this long is handed over as it is */
#define SNIFF_BYTES 32

struct pending {
	int fd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t since;
	struct pending *next;
};

struct wharf_acceptor {
	int listen_fd;
	int epfd;
	int stop_fd;
	struct MHD_Daemon *daemon;
	bool tls; /* the daemon speaks TLS */
	pthread_t thread;
	struct pending *pending;
};

static const char not_http_body[] = "wharfd speaks plain HTTP on this port; the request was not HTTP\n";
static const char not_https_body[] = "wharfd speaks HTTPS on this port; the request was plain HTTP\n";

/* 1: looks like an HTTP request line so far; 0: it does not; -1: need more bytes. */
static int looks_like_http(const unsigned char *b, size_t n)
{
	if (n == 0)
		return -1;
	if (b[0] == 0x16 || b[0] < 'A' || b[0] > 'Z')
		return 0; /* a TLS handshake record, or no method token */
	for (size_t i = 0; i < n; i++) {
		if (b[i] == ' ')
			return 1;
		if (b[i] < 'A' || b[i] > 'Z')
			return b[i] == '-' || b[i] == '_' ? 1 : 0;
	}
	return n >= SNIFF_BYTES ? 0 : -1;
}

static void hand_over(struct wharf_acceptor *a, struct pending *p)
{
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	/* libmicrohttpd owns (and closes) the socket from here, even on failure. */
	if (MHD_add_connection(a->daemon, p->fd, (struct sockaddr *)&p->addr, p->addrlen) != MHD_YES)
		wharf_log(WHARF_LOG_WARN, "connection refused by the HTTP layer: %s", strerror(errno));
}

static void refuse(struct wharf_acceptor *a, struct pending *p)
{
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	char reply[256];
	const char *body = a->tls ? not_https_body : not_http_body;
	int n = snprintf(reply, sizeof(reply),
			 "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
			 "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	ssize_t w = send(p->fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	shutdown(p->fd, SHUT_WR);
	close(p->fd);
}

/* Decide for one pending connection; returns true when it left the pending list's care. */
static bool sniff(struct wharf_acceptor *a, struct pending *p, bool timed_out)
{
	unsigned char buf[SNIFF_BYTES];
	ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
		return true;
	}
	int verdict = n < 0 ? -1 : looks_like_http(buf, (size_t)n);
	if (a->tls && verdict != -1)
		verdict = buf[0] == 0x16 ? 1 : 0; /* TLS handshake record: for the TLS daemon */
	if (verdict == 0)
		refuse(a, p);
	else if (verdict == 1 || timed_out)
		hand_over(a, p);
	return verdict != -1 || timed_out;
}

static void accept_all(struct wharf_acceptor *a)
{
	for (;;) {
		struct pending *p = wharf_xcalloc(1, sizeof(*p));
		p->addrlen = sizeof(p->addr);
		p->fd = accept4(a->listen_fd, (struct sockaddr *)&p->addr, &p->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (p->fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				wharf_log(WHARF_LOG_WARN, "accept: %s", strerror(errno));
			free(p);
			return;
		}
		p->since = wharf_monotonic_us();
		/* Most clients have sent their first bytes by now: decide at once when we can. */
		if (sniff(a, p, false)) {
			free(p);
			continue;
		}
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = p};
		epoll_ctl(a->epfd, EPOLL_CTL_ADD, p->fd, &ev);
		p->next = a->pending;
		a->pending = p;
	}
}

/* Settle pending connections that became readable (marked) or waited too long. */
static void sweep(struct wharf_acceptor *a, struct pending **ready, size_t nready)
{
	uint64_t now = wharf_monotonic_us();
	for (struct pending **pp = &a->pending; *pp;) {
		struct pending *p = *pp;
		bool is_ready = false;
		for (size_t i = 0; i < nready; i++)
			is_ready = is_ready || ready[i] == p;
		bool timed_out = now - p->since > SNIFF_WAIT_US;
		if ((is_ready || timed_out) && sniff(a, p, timed_out)) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

static void *acceptor_main(void *arg)
{
	struct wharf_acceptor *a = arg;
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(a->epfd, evs, 64, a->pending ? 100 : -1);
		if (n < 0 && errno != EINTR)
			break;
		struct pending *ready[64];
		size_t nready = 0;
		bool stop = false;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &a->listen_fd)
				accept_all(a);
			else if (evs[i].data.ptr == &a->stop_fd)
				stop = true;
			else
				ready[nready++] = evs[i].data.ptr;
		}
		if (stop)
			break;
		if (nready || a->pending)
			sweep(a, ready, nready);
	}
	return NULL;
}

int wharf_acceptor_start(struct wharf_acceptor **out, int listen_fd, struct MHD_Daemon *daemon, bool tls,
			 struct wharf_error *err)
{
	struct wharf_acceptor *a = wharf_xcalloc(1, sizeof(*a));
	a->listen_fd = listen_fd;
	a->daemon = daemon;
	a->tls = tls;
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->epfd < 0 || a->stop_fd < 0) {
		int r = wharf_error_sys(err, "acceptor: epoll/eventfd");
		wharf_acceptor_stop(a);
		return r;
	}
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &a->listen_fd};
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &a->stop_fd};
	epoll_ctl(a->epfd, EPOLL_CTL_ADD, listen_fd, &lev);
	epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->stop_fd, &sev);
	if (pthread_create(&a->thread, NULL, acceptor_main, a) != 0) {
		wharf_acceptor_stop(a);
		return wharf_error_set(err, WHARF_EIO, "acceptor: cannot start its thread");
	}
	*out = a;
	return 0;
}

void wharf_acceptor_stop(struct wharf_acceptor *a)
{
	if (!a)
		return;
	if (a->thread) {
		uint64_t one = 1;
		ssize_t w = write(a->stop_fd, &one, sizeof(one));
		(void)w;
		pthread_join(a->thread, NULL);
	}
	while (a->pending) {
		struct pending *p = a->pending;
		a->pending = p->next;
		close(p->fd);
		free(p);
	}
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->stop_fd >= 0)
		close(a->stop_fd);
	free(a);
}
