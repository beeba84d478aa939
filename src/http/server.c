#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "acceptor.h"
#include "wharf/http.h"

struct wharf_http_server {
	struct MHD_Daemon *daemon;
	struct wharf_acceptor *acceptor;
	int listen_fd;
	wharf_http_dispatch_fn dispatch;
	void *app;
	bool access_log;
	struct wharf_metrics *metrics;
	uint16_t port;
	char *tls_cert_pem, *tls_key_pem; /* HTTPS (issue 7): kept while the daemon runs */
};

struct wharf_http_request {
	struct wharf_http_server *server;
	struct MHD_Connection *conn;
	const char *method;
	char *path;
	const char *route;
	uint64_t start_us;
	unsigned status;
	uint64_t bytes_in;
	uint64_t bytes_out;
	bool responded;
	bool dispatched;
	bool defer_responses;                 /* dispatching while a body is still to come */
	struct wharf_http_response *deferred; /* answered early: sent once the body is drained */
	bool body_expected;
	bool body_done;
	bool sink_stopped;
	wharf_http_body_fn body_fn;
	wharf_http_done_fn done_fn;
	wharf_http_abort_fn abort_fn;
	void *state;
	void (*state_free)(void *);
	struct wharf_buf log_fields;
	char *subject; /* wharf_http_set_subject */
};

struct wharf_http_response {
	struct MHD_Response *mhd;
	unsigned status;
	uint64_t len;
};

const char *wharf_http_method(const struct wharf_http_request *req)
{
	return req->method;
}

const char *wharf_http_path(const struct wharf_http_request *req)
{
	return req->path;
}

const char *wharf_http_header(const struct wharf_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct join_ctx {
	const char *name;
	struct wharf_buf buf;
	bool found;
};

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct join_ctx *j = cls;
	if (value && strcasecmp(key, j->name) == 0) {
		if (j->found)
			wharf_buf_puts(&j->buf, ", ");
		wharf_buf_puts(&j->buf, value);
		j->found = true;
	}
	return MHD_YES;
}

char *wharf_http_header_joined(const struct wharf_http_request *req, const char *name)
{
	struct join_ctx j = {.name = name};
	wharf_buf_init(&j.buf);
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, join_header, &j);
	if (!j.found) {
		wharf_buf_free(&j.buf);
		return NULL;
	}
	return wharf_buf_steal(&j.buf);
}

static enum MHD_Result join_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct join_ctx *j = cls;
	if (value && strcmp(key, j->name) == 0) {
		if (j->found)
			wharf_buf_puts(&j->buf, " ");
		wharf_buf_puts(&j->buf, value);
		j->found = true;
	}
	return MHD_YES;
}

char *wharf_http_query_joined(const struct wharf_http_request *req, const char *name)
{
	struct join_ctx j = {.name = name};
	wharf_buf_init(&j.buf);
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, join_query, &j);
	if (!j.found) {
		wharf_buf_free(&j.buf);
		return NULL;
	}
	return wharf_buf_steal(&j.buf);
}

const char *wharf_http_query(const struct wharf_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool wharf_http_content_length(const struct wharf_http_request *req, uint64_t *out)
{
	const char *v = wharf_http_header(req, "Content-Length");
	return v && wharf_parse_u64(v, strlen(v), out);
}

bool wharf_http_is_head(const struct wharf_http_request *req)
{
	return strcmp(req->method, "HEAD") == 0;
}

void wharf_http_set_route(struct wharf_http_request *req, const char *route)
{
	req->route = route;
}

void wharf_http_set_state(struct wharf_http_request *req, void *state, void (*free_fn)(void *))
{
	req->state = state;
	req->state_free = free_fn;
}

void *wharf_http_state(const struct wharf_http_request *req)
{
	return req->state;
}

void wharf_http_expect_body(struct wharf_http_request *req, wharf_http_body_fn body,
			    wharf_http_done_fn done, wharf_http_abort_fn abort_fn)
{
	req->body_expected = true;
	req->body_fn = body;
	req->done_fn = done;
	req->abort_fn = abort_fn;
}

void wharf_http_log_field(struct wharf_http_request *req, const char *key, const char *value)
{
	wharf_buf_puts(&req->log_fields, ",");
	wharf_buf_json_string(&req->log_fields, key);
	wharf_buf_puts(&req->log_fields, ":");
	wharf_buf_json_string(&req->log_fields, value);
}

void wharf_http_set_subject(struct wharf_http_request *req, const char *subject)
{
	free(req->subject);
	req->subject = subject ? wharf_xstrdup(subject) : NULL;
}

const char *wharf_http_subject(const struct wharf_http_request *req)
{
	return req->subject;
}

void wharf_http_remote(const struct wharf_http_request *req, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, n, "-");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

static struct wharf_http_response *response_wrap(struct MHD_Response *mhd, unsigned status, uint64_t len)
{
	if (!mhd)
		abort();
	struct wharf_http_response *r = wharf_xcalloc(1, sizeof(*r));
	r->mhd = mhd;
	r->status = status;
	r->len = len;
	MHD_add_response_header(mhd, "Docker-Distribution-API-Version", "registry/2.0");
	return r;
}

struct wharf_http_response *wharf_http_response_buffer(unsigned status, const void *data, size_t len)
{
	return response_wrap(MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY),
			     status, len);
}

struct wharf_http_response *wharf_http_response_owned(unsigned status, char *data, size_t len)
{
	return response_wrap(MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE), status,
			     len);
}

struct wharf_http_response *wharf_http_response_fd(unsigned status, int fd, uint64_t offset, uint64_t len)
{
	return response_wrap(MHD_create_response_from_fd_at_offset64(len, fd, offset), status, len);
}

void wharf_http_response_header(struct wharf_http_response *resp, const char *name, const char *value)
{
	MHD_add_response_header(resp->mhd, name, value);
}

void wharf_http_response_headerf(struct wharf_http_response *resp, const char *name, const char *fmt, ...)
{
	char value[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	MHD_add_response_header(resp->mhd, name, value);
}

static void queue_response(struct wharf_http_request *req, struct wharf_http_response *resp)
{
	if (MHD_queue_response(req->conn, resp->status, resp->mhd) != MHD_YES)
		wharf_log(WHARF_LOG_WARN, "could not queue response to %s %s", req->method, req->path);
	MHD_destroy_response(resp->mhd);
	free(resp);
}

void wharf_http_respond(struct wharf_http_request *req, struct wharf_http_response *resp)
{
	if (req->responded) {
		wharf_log(WHARF_LOG_ERROR, "internal: second response to %s %s", req->method, req->path);
		MHD_destroy_response(resp->mhd);
		free(resp);
		return;
	}
	req->responded = true;
	req->status = resp->status;
	req->bytes_out = wharf_http_is_head(req) ? 0 : resp->len;
	if (req->defer_responses) {
		req->deferred = resp;
		req->sink_stopped = true;
		return;
	}
	queue_response(req, resp);
}

bool wharf_http_responded(const struct wharf_http_request *req)
{
	return req->responded;
}

void wharf_http_verror(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt,
		       va_list ap)
{
	char message[768];
	vsnprintf(message, sizeof(message), fmt, ap);
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"errors\":[{\"code\":");
	wharf_buf_json_string(&b, code);
	wharf_buf_puts(&b, ",\"message\":");
	wharf_buf_json_string(&b, message);
	wharf_buf_puts(&b, ",\"detail\":{}}]}\n");
	wharf_http_log_field(req, "error", message);
	size_t len = b.len;
	struct wharf_http_response *r = wharf_http_response_owned(status, wharf_buf_steal(&b), len);
	wharf_http_response_header(r, "Content-Type", "application/json");
	wharf_http_respond(req, r);
}

void wharf_http_error(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wharf_http_verror(req, status, code, fmt, ap);
	va_end(ap);
}

static void respond_plain(struct wharf_http_request *req, unsigned status, const char *body)
{
	struct wharf_http_response *r = wharf_http_response_buffer(status, body, strlen(body));
	wharf_http_response_header(r, "Content-Type", "application/json");
	wharf_http_respond(req, r);
}

static struct wharf_http_request *request_new(struct wharf_http_server *s, struct MHD_Connection *c,
					      const char *url, const char *method)
{
	struct wharf_http_request *req = wharf_xcalloc(1, sizeof(*req));
	req->server = s;
	req->conn = c;
	req->method = method;
	req->path = wharf_xstrdup(url);
	req->route = "other";
	req->start_us = wharf_monotonic_us();
	wharf_buf_init(&req->log_fields);
	return req;
}

static void feed_body(struct wharf_http_request *req, const char *data, size_t len)
{
	req->bytes_in += len;
	if (req->sink_stopped || req->responded || !req->body_fn)
		return;
	if (req->body_fn(req, data, len) < 0)
		req->sink_stopped = true;
}

static void respond_missing(struct wharf_http_request *req)
{
	/* A handler that neither answered nor asked for the body is a bug: say so. */
	respond_plain(req, 500, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"handler gave no response\"}]}");
}

/* Up to this size, a body the handler does not want is read and dropped so the answer can
 * go out on a connection that stays open; above it, the answer goes at once and the
 * connection closes. */
#define DRAIN_LIMIT (64ull * 1024 * 1024)

static bool request_has_body(struct MHD_Connection *c, bool *small)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
	uint64_t n = 0;
	if (cl && wharf_parse_u64(cl, strlen(cl), &n) && n > 0) {
		*small = n <= DRAIN_LIMIT;
		return true;
	}
	*small = true;
	return te != NULL;
}

static void dispatch_request(struct wharf_http_server *s, struct wharf_http_request *req)
{
	req->dispatched = true;
	s->dispatch(s->app, req);
	if (!req->responded && !req->body_expected)
		respond_missing(req);
}

/* libmicrohttpd calls this first with the headers only, then with body chunks, then once
 * with no data, and accepts a response only in the first and the last call. A response
 * queued in the first call closes the connection, so requests without a body are dispatched
 * in the last call (keep-alive for every GET); requests with a body are dispatched in the
 * first, and an early answer waits until the body is drained. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct wharf_http_server *s = cls;
	struct wharf_http_request *req = *con_cls;
	if (!req) {
		req = request_new(s, c, url, method);
		*con_cls = req;
		bool small;
		if (request_has_body(c, &small)) {
			req->defer_responses = small;
			dispatch_request(s, req);
			req->defer_responses = false;
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!req->dispatched)
			dispatch_request(s, req);
		feed_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!req->dispatched)
		dispatch_request(s, req);
	if (req->deferred) {
		queue_response(req, req->deferred);
		req->deferred = NULL;
	} else if (!req->responded && req->body_expected && !req->body_done) {
		req->body_done = true;
		req->done_fn(req);
		if (!req->responded)
			respond_missing(req);
	}
	return MHD_YES;
}

static void access_log(struct wharf_http_request *req, uint64_t micros, bool completed)
{
	char addr[INET6_ADDRSTRLEN];
	wharf_http_remote(req, addr, sizeof(addr));
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_log_begin_line(&b);
	wharf_buf_printf(&b, ",\"type\":\"access\",\"remote\":\"%s\",\"method\":", addr);
	wharf_buf_json_string(&b, req->method);
	wharf_buf_puts(&b, ",\"path\":");
	wharf_buf_json_string(&b, req->path);
	wharf_buf_printf(&b, ",\"route\":\"%s\",\"status\":%u,\"bytes_in\":%llu,\"bytes_out\":%llu,"
			     "\"micros\":%llu,\"completed\":%s",
			 req->route, req->status, (unsigned long long)req->bytes_in,
			 (unsigned long long)req->bytes_out, (unsigned long long)micros,
			 completed ? "true" : "false");
	if (req->log_fields.len)
		wharf_buf_append(&b, req->log_fields.data, req->log_fields.len);
	wharf_buf_puts(&b, "}");
	wharf_log_json_line(b.data, b.len);
	wharf_buf_free(&b);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)c;
	struct wharf_http_server *s = cls;
	struct wharf_http_request *req = *con_cls;
	if (!req)
		return;
	bool completed = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	if (req->body_expected && !req->body_done && req->abort_fn)
		req->abort_fn(req);
	uint64_t micros = wharf_monotonic_us() - req->start_us;
	if (!completed && !req->responded)
		req->status = 499; /* client closed the connection first, as nginx counts it */
	if (s->metrics)
		wharf_metrics_observe(s->metrics, req->route, req->status, req->bytes_in,
				      completed ? req->bytes_out : 0, micros);
	if (s->access_log)
		access_log(req, micros, completed);
	if (req->deferred) {
		MHD_destroy_response(req->deferred->mhd);
		free(req->deferred);
	}
	if (req->state_free)
		req->state_free(req->state);
	wharf_buf_free(&req->log_fields);
	free(req->subject);
	free(req->path);
	free(req);
	*con_cls = NULL;
}

static int resolve_listen(const char *host, uint16_t port, struct sockaddr_storage *ss, struct wharf_error *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	int r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0 || !res)
		return wharf_error_set(err, WHARF_EINVAL, "listen address '%s': %s", host, gai_strerror(r));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static void mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	(void)cls;
	wharf_log(WHARF_LOG_ERROR, "libmicrohttpd panic at %s:%u: %s", file, line, reason ? reason : "");
	abort();
}

static int open_listener(const struct sockaddr_storage *ss, uint16_t *port, struct wharf_error *err)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return wharf_error_sys(err, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 4096) < 0) {
		int r = wharf_error_sys(err, "cannot listen on port %u", *port);
		close(fd);
		return r;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		*port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							  : ((struct sockaddr_in *)&bound)->sin_port);
	return fd;
}

/* HTTPS (issue 7): read the PEM files and fill the daemon's TLS options (left as one END item
 * without TLS). The acceptor then hands it TLS connections (see acceptor.c). */
static int tls_options(struct wharf_http_server *s, const struct wharf_http_options *opts,
		       struct MHD_OptionItem items[4], struct wharf_error *err)
{
	items[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (!opts->tls_cert_file && !opts->tls_key_file)
		return 0;
	if (!opts->tls_cert_file || !opts->tls_key_file)
		return wharf_error_set(err, WHARF_EINVAL, "HTTPS needs both a certificate and a key file");
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return wharf_error_set(err, WHARF_EUNSUPPORTED, "this libmicrohttpd was built without TLS");
	size_t len;
	if (wharf_read_file(opts->tls_cert_file, 1 << 20, &s->tls_cert_pem, &len, err) < 0 ||
	    wharf_read_file(opts->tls_key_file, 1 << 20, &s->tls_key_pem, &len, err) < 0)
		return wharf_error_prefix(err, "HTTPS");
	items[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem};
	items[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem};
	items[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
	items[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return 0;
}

bool wharf_http_is_tls(const struct wharf_http_request *req)
{
	return req->server->tls_cert_pem != NULL;
}

static void server_free(struct wharf_http_server *s)
{
	close(s->listen_fd);
	free(s->tls_cert_pem);
	free(s->tls_key_pem);
	free(s);
}

int wharf_http_server_start(struct wharf_http_server **out, const struct wharf_http_options *opts,
			    wharf_http_dispatch_fn dispatch, void *app, struct wharf_error *err)
{
	struct sockaddr_storage ss;
	int r = resolve_listen(opts->host, opts->port, &ss, err);
	if (r < 0)
		return r;
	struct wharf_http_server *s = wharf_xcalloc(1, sizeof(*s));
	s->dispatch = dispatch;
	s->app = app;
	s->access_log = opts->access_log;
	s->metrics = opts->metrics;
	s->port = opts->port;
	s->listen_fd = open_listener(&ss, &s->port, err);
	if (s->listen_fd < 0) {
		free(s);
		return wharf_error_prefix(err, "%s:%u", opts->host, opts->port);
	}
	struct MHD_OptionItem tls[4];
	if ((r = tls_options(s, opts, tls, err)) < 0) {
		server_free(s);
		return r;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = opts->threads ? opts->threads : (unsigned)(ncpu > 0 ? 2 * ncpu : 2);
	/* poll, not epoll: libmicrohttpd's edge-triggered epoll misses a client that hangs up
	 * right after a short read, and an upload would stay claimed until the idle timeout. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
			 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | (s->tls_cert_pem ? MHD_USE_TLS : 0);
	MHD_set_panic_func(mhd_panic, NULL);
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, opts->max_connections ? opts->max_connections : 16384u,
		MHD_OPTION_CONNECTION_TIMEOUT, opts->idle_timeout ? opts->idle_timeout : 120u,
		/* libmicrohttpd's default: a bigger pool costs RSS per connection and a memset per request. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_ARRAY, tls,
		MHD_OPTION_END);
	if (!s->daemon) {
		server_free(s);
		return wharf_error_set(err, WHARF_EIO, "cannot start the HTTP%s server on %s:%u%s", tls[0].option ? "S" : "",
				       opts->host, opts->port, tls[0].option ? " (check the certificate and key)" : "");
	}
	r = wharf_acceptor_start(&s->acceptor, s->listen_fd, s->daemon, s->tls_cert_pem != NULL, err);
	if (r < 0) {
		MHD_stop_daemon(s->daemon);
		server_free(s);
		return r;
	}
	*out = s;
	return 0;
}

uint16_t wharf_http_server_port(const struct wharf_http_server *s)
{
	return s->port;
}

void wharf_http_server_stop(struct wharf_http_server *s)
{
	if (!s)
		return;
	wharf_acceptor_stop(s->acceptor);
	MHD_stop_daemon(s->daemon);
	server_free(s);
}
