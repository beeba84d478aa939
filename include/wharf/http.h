/* http: a small server layer over libmicrohttpd. Handlers see a request, may stream its body
 * into a sink, and answer with a response built from a buffer or a file descriptor (sendfile). */
#ifndef WHARF_HTTP_H
#define WHARF_HTTP_H

#include "wharf/util.h"

struct wharf_http_server;
struct wharf_http_request;
struct wharf_http_response;
struct wharf_metrics;

/* Called once per request when its headers have arrived. It either answers at once with
 * wharf_http_respond, or calls wharf_http_expect_body and answers from the done callback. */
typedef void (*wharf_http_dispatch_fn)(void *app, struct wharf_http_request *req);
/* A body chunk. Return 0 to go on; a negative value stops the sink (the handler will have
 * recorded its error) and the rest of the body is read and dropped. */
typedef int (*wharf_http_body_fn)(struct wharf_http_request *req, const char *data, size_t len);
/* The whole body arrived (or the sink stopped): the handler must respond now. */
typedef void (*wharf_http_done_fn)(struct wharf_http_request *req);
/* The connection went away before the body was complete: undo, do not respond. */
typedef void (*wharf_http_abort_fn)(struct wharf_http_request *req);

struct wharf_http_options {
	const char *host;
	uint16_t port;
	unsigned threads;          /* 0: two per CPU */
	unsigned max_connections;  /* 0: 16384 */
	unsigned idle_timeout;     /* seconds, 0: 120 */
	bool access_log;
	struct wharf_metrics *metrics; /* may be NULL */
	const char *tls_cert_file; /* PEM certificate (chain) and key: serve HTTPS only (issue 7); */
	const char *tls_key_file;  /* both NULL: plain HTTP */
};

int wharf_http_server_start(struct wharf_http_server **out, const struct wharf_http_options *opts,
			    wharf_http_dispatch_fn dispatch, void *app, struct wharf_error *err);
/* The port actually bound (useful with port 0). */
uint16_t wharf_http_server_port(const struct wharf_http_server *s);
void wharf_http_server_stop(struct wharf_http_server *s);

const char *wharf_http_method(const struct wharf_http_request *req);
const char *wharf_http_path(const struct wharf_http_request *req);
const char *wharf_http_header(const struct wharf_http_request *req, const char *name);
/* Every value of a header that may repeat (Accept), joined with ", "; NULL if absent. */
char *wharf_http_header_joined(const struct wharf_http_request *req, const char *name);
const char *wharf_http_query(const struct wharf_http_request *req, const char *name);
/* Every value of a repeated query parameter (scope=..&scope=..), joined with " "; NULL if absent. */
char *wharf_http_query_joined(const struct wharf_http_request *req, const char *name);
/* Content-Length as sent; false if absent or not a number. */
bool wharf_http_content_length(const struct wharf_http_request *req, uint64_t *out);
bool wharf_http_is_head(const struct wharf_http_request *req);
/* Did the request come over HTTPS (--tls-cert)? For URLs the server hands out (token realm). */
bool wharf_http_is_tls(const struct wharf_http_request *req);
/* A label for metrics and the access log, set by the router. */
void wharf_http_set_route(struct wharf_http_request *req, const char *route);
void wharf_http_set_state(struct wharf_http_request *req, void *state, void (*free_fn)(void *));
void *wharf_http_state(const struct wharf_http_request *req);
void wharf_http_expect_body(struct wharf_http_request *req, wharf_http_body_fn body,
			    wharf_http_done_fn done, wharf_http_abort_fn abort_fn);
/* Add a key/value to the access log line (both copied). */
void wharf_http_log_field(struct wharf_http_request *req, const char *key, const char *value);
/* The identity the auth stage found for this request ("anonymous" when none), so handlers can
 * name who did what (the audit log); NULL until set. The string is copied. */
void wharf_http_set_subject(struct wharf_http_request *req, const char *subject);
const char *wharf_http_subject(const struct wharf_http_request *req);
/* The client's IP address as text into out (size n; "-" when unknown). */
void wharf_http_remote(const struct wharf_http_request *req, char *out, size_t n);

struct wharf_http_response *wharf_http_response_buffer(unsigned status, const void *data, size_t len);
/* Takes ownership of data (free()d when sent). */
struct wharf_http_response *wharf_http_response_owned(unsigned status, char *data, size_t len);
/* Takes ownership of fd; sends len bytes from offset, with sendfile when it can. */
struct wharf_http_response *wharf_http_response_fd(unsigned status, int fd, uint64_t offset, uint64_t len);
void wharf_http_response_header(struct wharf_http_response *resp, const char *name, const char *value);
void wharf_http_response_headerf(struct wharf_http_response *resp, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Queue the response and release it. Exactly once per request. */
void wharf_http_respond(struct wharf_http_request *req, struct wharf_http_response *resp);
bool wharf_http_responded(const struct wharf_http_request *req);
/* Answer with the JSON error shape the distribution spec and Notary share:
 * {"errors":[{"code":code,"message":...,"detail":{}}]}; the message also goes to the access log. */
void wharf_http_error(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void wharf_http_verror(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt,
		       va_list ap);

/* Range: "bytes=a-b", "bytes=a-", "bytes=-n" against a resource of size bytes.
 * 0 with [*start, *end] inclusive; -WHARF_EINVAL when the header should be ignored
 * (malformed or several ranges); -WHARF_ERANGE when unsatisfiable (answer 416). */
int wharf_http_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *end);
/* Content-Range of an upload chunk: "a-b" (OCI), also "bytes a-b/total" and "bytes=a-b". */
int wharf_http_parse_content_range(const char *header, uint64_t *start, uint64_t *end,
				   struct wharf_error *err);

/* multipart/form-data (RFC 7578) of a whole body in memory. Parts point into body. */
struct wharf_multipart_part {
	char name[128];
	char filename[256];
	const char *data;
	size_t len;
};
/* Fails with WHARF_EINVAL naming the rule broken: no boundary in content_type, a missing
 * delimiter, a part without Content-Disposition, more than max_parts parts. */
int wharf_multipart_parse(const char *content_type, const char *body, size_t len,
			  struct wharf_multipart_part *parts, size_t max_parts, size_t *nparts,
			  struct wharf_error *err);

/* Metrics in Prometheus text format. */
struct wharf_metrics *wharf_metrics_new(void);
void wharf_metrics_free(struct wharf_metrics *m);
void wharf_metrics_observe(struct wharf_metrics *m, const char *route, unsigned status,
			   uint64_t bytes_in, uint64_t bytes_out, uint64_t micros);
/* Render all series; extra is appended verbatim (for gauges owned by others). */
char *wharf_metrics_render(struct wharf_metrics *m, const char *extra);

#endif
