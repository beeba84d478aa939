#include <stdatomic.h>
#include <string.h>

#include "wharf/http.h"

/* Fixed tables so observing is a few atomic adds, never a lock or an allocation. */
static const char *const routes[] = {"base", "catalog", "manifest", "blob", "upload", "tags",
				     "referrers", "metrics", "admin", "trust", "other"};
static const unsigned statuses[] = {200, 201, 202, 204, 206, 304, 307, 400, 401, 403, 404,
				    405, 409, 413, 415, 416, 429, 499, 500, 503, 0};
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,    0.25,  0.5,    1,     2.5,  5,     10};

#define N_ROUTES (sizeof(routes) / sizeof(*routes))
#define N_STATUSES (sizeof(statuses) / sizeof(*statuses))
#define N_BUCKETS (sizeof(buckets) / sizeof(*buckets))

struct route_stats {
	atomic_uint_fast64_t by_status[N_STATUSES];
	atomic_uint_fast64_t bucket[N_BUCKETS + 1];
	atomic_uint_fast64_t micros_sum;
	atomic_uint_fast64_t bytes_in;
	atomic_uint_fast64_t bytes_out;
};

struct wharf_metrics {
	struct route_stats r[N_ROUTES];
};

struct wharf_metrics *wharf_metrics_new(void)
{
	return wharf_xcalloc(1, sizeof(struct wharf_metrics));
}

void wharf_metrics_free(struct wharf_metrics *m)
{
	free(m);
}

static size_t route_index(const char *route)
{
	for (size_t i = 0; i < N_ROUTES; i++)
		if (!strcmp(routes[i], route))
			return i;
	return N_ROUTES - 1;
}

static size_t status_index(unsigned status)
{
	for (size_t i = 0; i + 1 < N_STATUSES; i++)
		if (statuses[i] == status)
			return i;
	return N_STATUSES - 1;
}

void wharf_metrics_observe(struct wharf_metrics *m, const char *route, unsigned status,
			   uint64_t bytes_in, uint64_t bytes_out, uint64_t micros)
{
	struct route_stats *r = &m->r[route_index(route)];
	atomic_fetch_add_explicit(&r->by_status[status_index(status)], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < N_BUCKETS && (double)micros / 1e6 > buckets[b])
		b++;
	atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->micros_sum, micros, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bytes_in, bytes_in, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bytes_out, bytes_out, memory_order_relaxed);
}

static void render_requests(struct wharf_metrics *m, struct wharf_buf *b)
{
	wharf_buf_puts(b, "# HELP wharf_http_requests_total HTTP requests by route and status code.\n"
			  "# TYPE wharf_http_requests_total counter\n");
	for (size_t i = 0; i < N_ROUTES; i++)
		for (size_t s = 0; s < N_STATUSES; s++) {
			uint64_t v = atomic_load(&m->r[i].by_status[s]);
			if (!v)
				continue;
			if (statuses[s])
				wharf_buf_printf(b, "wharf_http_requests_total{route=\"%s\",code=\"%u\"} %llu\n",
						 routes[i], statuses[s], (unsigned long long)v);
			else
				wharf_buf_printf(b, "wharf_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
						 routes[i], (unsigned long long)v);
		}
}

static void render_bytes(struct wharf_metrics *m, struct wharf_buf *b)
{
	wharf_buf_puts(b, "# HELP wharf_http_received_bytes_total Request body bytes received.\n"
			  "# TYPE wharf_http_received_bytes_total counter\n");
	for (size_t i = 0; i < N_ROUTES; i++)
		wharf_buf_printf(b, "wharf_http_received_bytes_total{route=\"%s\"} %llu\n", routes[i],
				 (unsigned long long)atomic_load(&m->r[i].bytes_in));
	wharf_buf_puts(b, "# HELP wharf_http_sent_bytes_total Response body bytes sent.\n"
			  "# TYPE wharf_http_sent_bytes_total counter\n");
	for (size_t i = 0; i < N_ROUTES; i++)
		wharf_buf_printf(b, "wharf_http_sent_bytes_total{route=\"%s\"} %llu\n", routes[i],
				 (unsigned long long)atomic_load(&m->r[i].bytes_out));
}

static void render_latency(struct wharf_metrics *m, struct wharf_buf *b)
{
	wharf_buf_puts(b, "# HELP wharf_http_request_duration_seconds Time from request headers to completion.\n"
			  "# TYPE wharf_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < N_ROUTES; i++) {
		uint64_t cum = 0;
		for (size_t k = 0; k <= N_BUCKETS; k++) {
			cum += atomic_load(&m->r[i].bucket[k]);
			if (k < N_BUCKETS)
				wharf_buf_printf(b, "wharf_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
						 routes[i], buckets[k], (unsigned long long)cum);
			else
				wharf_buf_printf(b, "wharf_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
						 routes[i], (unsigned long long)cum);
		}
		wharf_buf_printf(b, "wharf_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", routes[i],
				 (double)atomic_load(&m->r[i].micros_sum) / 1e6);
		wharf_buf_printf(b, "wharf_http_request_duration_seconds_count{route=\"%s\"} %llu\n", routes[i],
				 (unsigned long long)cum);
	}
}

char *wharf_metrics_render(struct wharf_metrics *m, const char *extra)
{
	struct wharf_buf b;
	wharf_buf_init(&b);
	render_requests(m, &b);
	render_bytes(m, &b);
	render_latency(m, &b);
	if (extra)
		wharf_buf_puts(&b, extra);
	return wharf_buf_steal(&b);
}
