/* http: Range and Content-Range parsing, and the Prometheus metrics a scraper would see. */
#include <inttypes.h>

#include "wharf_test.h"
#include "wharf/http.h"

/* ---- Range -------------------------------------------------------------------------------- */

static void expect_range(const char *header, uint64_t size, uint64_t want_start, uint64_t want_end)
{
	uint64_t start = 0xdead, end = 0xbeef;
	int r = wharf_http_parse_range(header, size, &start, &end);
	if (r != 0)
		fail_msg("Range '%s' of %" PRIu64 " bytes: expected [%" PRIu64 ", %" PRIu64 "], got error %d",
			 header, size, want_start, want_end, r);
	if (start != want_start || end != want_end)
		fail_msg("Range '%s' of %" PRIu64 " bytes: expected [%" PRIu64 ", %" PRIu64 "], got [%" PRIu64
			 ", %" PRIu64 "]",
			 header, size, want_start, want_end, start, end);
}

static void expect_range_error(const char *header, uint64_t size, int want)
{
	uint64_t start = 0, end = 0;
	int r = wharf_http_parse_range(header, size, &start, &end);
	if (r != want)
		fail_msg("Range '%s' of %" PRIu64 " bytes: expected %d (%s), got %d", header, size, want,
			 wharf_errc_name(want), r);
}

static void range_single_ranges(void **state)
{
	(void)state;
	expect_range("bytes=0-0", 10, 0, 0);
	expect_range("bytes=0-9", 10, 0, 9);
	expect_range("bytes=2-5", 10, 2, 5);
	/* An end past the resource is clamped to its last byte. */
	expect_range("bytes=3-1000", 10, 3, 9);
	/* Open-ended. */
	expect_range("bytes=5-", 10, 5, 9);
	expect_range("bytes=9-", 10, 9, 9);
	/* Large resources keep full 64-bit offsets. */
	expect_range("bytes=4294967296-", UINT64_C(8589934592), UINT64_C(4294967296), UINT64_C(8589934591));
}

static void range_suffix(void **state)
{
	(void)state;
	expect_range("bytes=-3", 10, 7, 9);
	expect_range("bytes=-10", 10, 0, 9);
	/* A suffix bigger than the resource means all of it. */
	expect_range("bytes=-1000", 10, 0, 9);
	expect_range("bytes=-1", 1, 0, 0);
}

static void range_unsatisfiable(void **state)
{
	(void)state;
	expect_range_error("bytes=10-", 10, -WHARF_ERANGE);
	expect_range_error("bytes=10-20", 10, -WHARF_ERANGE);
	expect_range_error("bytes=100-200", 10, -WHARF_ERANGE);
	expect_range_error("bytes=0-0", 0, -WHARF_ERANGE);
	expect_range_error("bytes=-0", 10, -WHARF_ERANGE);
	expect_range_error("bytes=-5", 0, -WHARF_ERANGE);
}

static void range_ignored_when_malformed(void **state)
{
	(void)state;
	/* Several ranges: a server may ignore Range and send the whole blob. */
	expect_range_error("bytes=0-1,5-6", 10, -WHARF_EINVAL);
	expect_range_error("bytes=0-1, -2", 10, -WHARF_EINVAL);
	static const char *const garbage[] = {
		"", "bytes", "bytes=", "bytes=-", "bytes=abc", "bytes=1", "bytes=a-b", "bytes=5-2",
		"items=0-1", "bytes 0-1", "bytes=0x1-2", "bytes=1-2-3", "bytes=--1", "bytes=-1-",
		"bytes=18446744073709551616-",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(*garbage); i++)
		expect_range_error(garbage[i], 10, -WHARF_EINVAL);
}

/* ---- Content-Range ------------------------------------------------------------------------ */

static void expect_content_range(const char *header, uint64_t want_start, uint64_t want_end)
{
	struct wharf_error err = {0};
	uint64_t start = 7, end = 7;
	int r = wharf_http_parse_content_range(header, &start, &end, &err);
	if (r != 0)
		fail_msg("Content-Range '%s' should parse: %s", header, err.message);
	assert_true(start == want_start);
	assert_true(end == want_end);
}

static void expect_content_range_error(const char *header)
{
	struct wharf_error err = {0};
	uint64_t start, end;
	int r = wharf_http_parse_content_range(header, &start, &end, &err);
	if (r != -WHARF_EINVAL)
		fail_msg("Content-Range '%s' should be rejected, got %d", header, r);
	assert_int_equal(err.code, WHARF_EINVAL);
	char quoted[80];
	snprintf(quoted, sizeof(quoted), "'%s'", header);
	assert_contains(err.message, quoted);
}

static void content_range_forms(void **state)
{
	(void)state;
	expect_content_range("0-99", 0, 99);
	expect_content_range("100-199", 100, 199);
	expect_content_range("bytes 0-99/100", 0, 99);
	expect_content_range("bytes 0-99/*", 0, 99);
	expect_content_range("bytes=0-99", 0, 99);
	expect_content_range("5-5", 5, 5);
	expect_content_range("0-18446744073709551615", 0, UINT64_MAX);
}

static void content_range_rejects_bad_ranges(void **state)
{
	(void)state;
	expect_content_range_error("99-0");
	expect_content_range_error("bytes 10-9/100");
	static const char *const junk[] = {
		"", "junk", "-", "0-", "-99", "0", "a-b", "0-9x", "bytes", "bytes 0-", "0--9", "0-99-100",
		"0-18446744073709551616", "bytes */100", "bytes /0-9",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++)
		expect_content_range_error(junk[i]);
}

static void content_range_rejects_junk_total(void **state)
{
	(void)state;
	/* The total after '/' is a number or '*'; anything else is not a Content-Range. */
	expect_content_range_error("bytes 0-99/abc");
	expect_content_range_error("bytes 0-99/100junk");
	expect_content_range_error("0-99/");
	/* A total that the range does not fit in is inconsistent. */
	expect_content_range_error("bytes 0-99/99");
	expect_content_range_error("bytes 0-99/0");
	expect_content_range("bytes 0-99/1000", 0, 99);
}

/* ---- metrics ------------------------------------------------------------------------------ */

static void expect_line(const char *text, const char *line)
{
	/* A whole line of the exposition, not a substring of another. */
	char *needle = wharf_xasprintf("\n%s\n", line);
	if (!strstr(text, needle))
		fail_msg("metrics output lacks the line\n  %s\n--- output ---\n%s", line, text);
	free(needle);
}

static void metrics_render_shows_observed_series(void **state)
{
	(void)state;
	struct wharf_metrics *m = wharf_metrics_new();
	wharf_metrics_observe(m, "blob", 200, 10, 1000, 1500);     /* 1.5 ms */
	wharf_metrics_observe(m, "blob", 200, 20, 2000, 700000);   /* 0.7 s */
	wharf_metrics_observe(m, "blob", 404, 0, 50, 100);         /* 0.1 ms */
	wharf_metrics_observe(m, "manifest", 201, 512, 0, 20000000); /* 20 s: past every bucket */
	char *text = wharf_metrics_render(m, "wharf_storage_bytes 12345\n");

	expect_line(text, "# TYPE wharf_http_requests_total counter");
	expect_line(text, "wharf_http_requests_total{route=\"blob\",code=\"200\"} 2");
	expect_line(text, "wharf_http_requests_total{route=\"blob\",code=\"404\"} 1");
	expect_line(text, "wharf_http_requests_total{route=\"manifest\",code=\"201\"} 1");
	/* Series never observed are not invented. */
	assert_null(strstr(text, "wharf_http_requests_total{route=\"tags\""));
	assert_null(strstr(text, "code=\"500\""));

	expect_line(text, "wharf_http_received_bytes_total{route=\"blob\"} 30");
	expect_line(text, "wharf_http_sent_bytes_total{route=\"blob\"} 3050");
	expect_line(text, "wharf_http_received_bytes_total{route=\"manifest\"} 512");

	/* Histogram buckets are cumulative. */
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"blob\",le=\"0.0005\"} 1");
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"blob\",le=\"0.001\"} 1");
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"blob\",le=\"0.0025\"} 2");
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"blob\",le=\"0.5\"} 2");
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"blob\",le=\"1\"} 3");
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"blob\",le=\"+Inf\"} 3");
	expect_line(text, "wharf_http_request_duration_seconds_count{route=\"blob\"} 3");
	expect_line(text, "wharf_http_request_duration_seconds_sum{route=\"blob\"} 0.701600");
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"manifest\",le=\"10\"} 0");
	expect_line(text, "wharf_http_request_duration_seconds_bucket{route=\"manifest\",le=\"+Inf\"} 1");

	/* The extra text is appended as given. */
	assert_true(wharf_str_has_suffix(text, "\nwharf_storage_bytes 12345\n"));
	free(text);
	wharf_metrics_free(m);
}

static void metrics_unknown_route_and_status_are_bucketed(void **state)
{
	(void)state;
	struct wharf_metrics *m = wharf_metrics_new();
	wharf_metrics_observe(m, "no-such-route", 418, 1, 2, 3);
	wharf_metrics_observe(m, "no-such-route", 418, 1, 2, 3);
	char *text = wharf_metrics_render(m, NULL);
	expect_line(text, "wharf_http_requests_total{route=\"other\",code=\"other\"} 2");
	assert_null(strstr(text, "no-such-route"));
	assert_null(strstr(text, "418"));
	free(text);
	wharf_metrics_free(m);
}

static void metrics_every_line_is_well_formed(void **state)
{
	(void)state;
	struct wharf_metrics *m = wharf_metrics_new();
	wharf_metrics_observe(m, "upload", 202, 4096, 0, 42);
	char *text = wharf_metrics_render(m, NULL);
	/* Each line is a comment or "name{labels} value" with a numeric value. */
	char *save = NULL;
	size_t lines = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		if (line[0] == '#')
			continue;
		char *sp = strrchr(line, ' ');
		if (!sp || sp == line)
			fail_msg("line without a value: %s", line);
		char *endp;
		strtod(sp + 1, &endp);
		if (*endp != '\0' || endp == sp + 1)
			fail_msg("value is not a number: %s", line);
		if (strncmp(line, "wharf_", 6) != 0)
			fail_msg("series outside the wharf_ namespace: %s", line);
	}
	assert_true(lines > 10);
	free(text);
	wharf_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(range_single_ranges),
		cmocka_unit_test(range_suffix),
		cmocka_unit_test(range_unsatisfiable),
		cmocka_unit_test(range_ignored_when_malformed),
		cmocka_unit_test(content_range_forms),
		cmocka_unit_test(content_range_rejects_bad_ranges),
		cmocka_unit_test(content_range_rejects_junk_total),
		cmocka_unit_test(metrics_render_shows_observed_series),
		cmocka_unit_test(metrics_unknown_route_and_status_are_bucketed),
		cmocka_unit_test(metrics_every_line_is_well_formed),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
