/* test_metricsd.c: the metrics listener's request head parser and the
 * exposition lines (src/lib/metricsd.c, src/lib/metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "metrics.h"
#include "metricsd.h"

static int parse(const char *s, enum metricsd_method *m, char *path)
{
	size_t head_len = 0;
	int rc = metricsd_parse_head(s, strlen(s), m, path, &head_len);

	if (rc == 0)
		assert_int_equal(head_len, strlen(s));
	return rc;
}

static void test_get_with_headers(void **state)
{
	char path[METRICSD_PATH_BYTES];
	enum metricsd_method m;

	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n", &m,
	                       path), 0);
	assert_int_equal(m, METRICSD_GET);
	assert_string_equal(path, "/metrics");
	assert_int_equal(parse("GET /healthz?verbose=1 HTTP/1.0\n\n", &m, path), 0);
	assert_string_equal(path, "/healthz");
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &m, path), 0);
	assert_int_equal(m, METRICSD_OTHER);
}

static void test_incomplete_and_too_long(void **state)
{
	char path[METRICSD_PATH_BYTES], big[METRICSD_HEAD_MAX_BYTES + 10];
	enum metricsd_method m;
	size_t head_len;

	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n", &m, path),
	                 TE_ERR_TRUNCATED);
	assert_int_equal(parse("", &m, path), TE_ERR_TRUNCATED);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	assert_int_equal(metricsd_parse_head(big, sizeof(big), &m, path, &head_len),
	                 TE_ERR_TOO_LONG);
}

static void test_bad_request_lines(void **state)
{
	char path[METRICSD_PATH_BYTES];
	enum metricsd_method m;

	(void)state;
	assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &m, path), TE_ERR_INVALID);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &m, path), TE_ERR_INVALID);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &m, path), TE_ERR_INVALID);
	assert_int_equal(parse("get /metrics HTTP/1.1\r\n\r\n", &m, path), TE_ERR_INVALID);
	assert_int_equal(parse("GET /a\x01 HTTP/1.1\r\n\r\n", &m, path), TE_ERR_INVALID);
	assert_int_equal(parse("GET /metrics HTTP/1.1 x\r\n\r\n", &m, path), TE_ERR_INVALID);
	/* A path too long for the buffer is refused, not cut. */
	assert_int_equal(parse("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                       " HTTP/1.1\r\n\r\n", &m, path), TE_ERR_INVALID);
}

static void test_exposition_lines(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char text[512];
	size_t n;

	(void)state;
	assert_non_null(b);
	metrics_one(b, "tether_x_total", METRICS_COUNTER, "Things.", 3);
	metrics_family(b, "tether_y", METRICS_GAUGE, "Ys by kind.");
	metrics_sample(b, "tether_y", "kind", "a\"b\\c\nd", 7);
	n = evbuffer_remove(b, text, sizeof(text) - 1);
	text[n] = '\0';
	assert_string_equal(text,
	                    "# HELP tether_x_total Things.\n# TYPE tether_x_total counter\n"
	                    "tether_x_total 3\n"
	                    "# HELP tether_y Ys by kind.\n# TYPE tether_y gauge\n"
	                    "tether_y{kind=\"a\\\"b\\\\c\\nd\"} 7\n");
	evbuffer_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_with_headers),
		cmocka_unit_test(test_incomplete_and_too_long),
		cmocka_unit_test(test_bad_request_lines),
		cmocka_unit_test(test_exposition_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
