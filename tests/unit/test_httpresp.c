/* test_httpresp.c: the response head parser and the proxy URL / CONNECT
 * helpers (httpresp.c, httpproxy.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bounds.h"
#include "err.h"
#include "httpproxy.h"
#include "httpresp.h"

static int parse(const char *s, struct httpresp_head *hd)
{
	return httpresp_parse_head(s, strlen(s), hd);
}

static void test_simple_head(void **state)
{
	struct httpresp_head hd;
	const char *r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                "Content-Length: 7\r\n\r\n{\"a\":1}";

	(void)state;
	assert_int_equal(parse(r, &hd), 0);
	assert_int_equal(hd.status, 200);
	assert_int_equal(hd.minor, 1);
	assert_int_equal(hd.content_length, 7);
	assert_int_equal(hd.transfer_encoded, 0);
	assert_string_equal(r + hd.head_len, "{\"a\":1}");
	/* no reason phrase, bare LF, HTTP/1.0, no length */
	assert_int_equal(parse("HTTP/1.0 204\n\n", &hd), 0);
	assert_int_equal(hd.status, 204);
	assert_int_equal(hd.minor, 0);
	assert_int_equal(hd.content_length, -1);
	assert_true(httpresp_no_body(204));
	assert_true(httpresp_no_body(304));
	assert_false(httpresp_no_body(200));
	/* the proxy's answer to CONNECT */
	assert_int_equal(parse("HTTP/1.1 200 Connection established\r\n"
	                       "Proxy-agent: tinyproxy/1.11.1\r\n\r\n", &hd), 0);
	assert_int_equal(hd.status, 200);
	assert_int_equal(parse("HTTP/1.1 407 Proxy Authentication Required\r\n"
	                       "Proxy-Authenticate: Basic realm=\"x\"\r\n"
	                       "Content-Length: 0\r\n\r\n", &hd), 0);
	assert_int_equal(hd.status, 407);
}

static void test_incremental_and_bounds(void **state)
{
	const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct httpresp_head hd;
	char *big;
	size_t i, end = strlen(r) - 2;

	(void)state;
	for (i = 0; i < end; i++)
		assert_int_equal(httpresp_parse_head(r, i, &hd), TE_ERR_TRUNCATED);
	assert_int_equal(httpresp_parse_head(r, end, &hd), 0);
	assert_int_equal(hd.head_len, end);
	assert_int_equal(httpresp_parse_head(NULL, 0, &hd), TE_ERR_TRUNCATED);

	/* no end within the limit */
	big = malloc(MAX_HTTP_HEADERS_BYTES + 100);
	assert_non_null(big);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', MAX_HTTP_HEADERS_BYTES + 80);
	assert_int_equal(httpresp_parse_head(big, MAX_HTTP_HEADERS_BYTES - 1, &hd),
	                 TE_ERR_TRUNCATED);
	assert_int_equal(httpresp_parse_head(big, MAX_HTTP_HEADERS_BYTES + 100, &hd),
	                 TE_ERR_TOO_LONG);
	/* an end just past the limit is not seen */
	memcpy(big + MAX_HTTP_HEADERS_BYTES - 2, "\r\n\r\n", 4);
	assert_int_equal(httpresp_parse_head(big, MAX_HTTP_HEADERS_BYTES + 100, &hd),
	                 TE_ERR_TOO_LONG);
	free(big);

	/* too many header lines */
	big = malloc(MAX_HTTP_HEADERS_BYTES);
	assert_non_null(big);
	strcpy(big, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i <= HTTPRESP_MAX_HEADERS; i++)
		strcat(big, "A: b\r\n");
	strcat(big, "\r\n");
	assert_int_equal(parse(big, &hd), TE_ERR_TOO_LONG);
	free(big);

	/* a body over the limit is refused by its declared length */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999"
	                       "999999\r\n\r\n", &hd), TE_ERR_TOO_LONG);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 262145\r\n\r\n", &hd),
	                 TE_ERR_TOO_LONG);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 262144\r\n\r\n", &hd), 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"\r\n\r\n",
		"\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n" + 1,
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 600 OK\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nName : x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	struct httpresp_head hd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &hd);
		if (r != TE_ERR_PROTOCOL)
			print_message("case %zu: %d\n", i, r);
		assert_int_equal(r, TE_ERR_PROTOCOL);
	}
	/* an embedded NUL is a control byte */
	assert_int_equal(httpresp_parse_head("HTTP/1.1 200 OK\r\nA: \0\r\n\r\n", 25, &hd),
	                 TE_ERR_PROTOCOL);
}

static void test_lengths_and_codings(void **state)
{
	struct httpresp_head hd;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 200 OK\r\ncontent-length:  5 \r\n"
	                       "Content-Length: 5\r\n\r\n", &hd), 0);
	assert_int_equal(hd.content_length, 5);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	                       &hd), 0);
	assert_true(hd.transfer_encoded);
	assert_true(hd.chunked);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &hd), 0);
	assert_true(hd.transfer_encoded);
	assert_false(hd.chunked);
}

/* A download's head: Content-Range, and lengths past the API bound. */
static void test_content_range(void **state)
{
	static const char ok[] = "HTTP/1.1 206 Partial Content\r\nContent-Length: 5000\r\n"
		"Content-Range: bytes 1000-5999/6000\r\n\r\n";
	static const char star[] = "HTTP/1.1 416 Range Not Satisfiable\r\n"
		"Content-Range: bytes */6000\r\nContent-Length: 0\r\n\r\n";
	static const char big[] = "HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n";
	const char *bad[] = {
		"HTTP/1.1 206 x\r\nContent-Range: bytes 6000-1000/6000\r\n\r\n",
		"HTTP/1.1 206 x\r\nContent-Range: bytes 0-6000/6000\r\n\r\n",
		"HTTP/1.1 206 x\r\nContent-Range: bytes -1-5/6000\r\n\r\n",
		"HTTP/1.1 206 x\r\nContent-Range: items 0-5/6000\r\n\r\n",
		"HTTP/1.1 206 x\r\nContent-Range: bytes 0-5/*\r\n\r\n",
		"HTTP/1.1 206 x\r\nContent-Range: bytes 0-5/10\r\nContent-Range: bytes 0-5/10\r\n\r\n",
	};
	struct httpresp_head h;
	long long first, last;
	size_t i;

	(void)state;
	assert_int_equal(httpresp_parse_head_max(ok, strlen(ok), 1LL << 40, &h), 0);
	assert_int_equal(h.range_first, 1000);
	assert_int_equal(h.range_last, 5999);
	assert_int_equal(h.range_total, 6000);
	assert_int_equal(httpresp_parse_head_max(star, strlen(star), 1LL << 40, &h), 0);
	assert_int_equal(h.range_first, -1);
	assert_int_equal(h.range_total, 6000);
	assert_int_equal(httpresp_parse_head(big, strlen(big), &h), TE_ERR_TOO_LONG);
	assert_int_equal(httpresp_parse_head_max(big, strlen(big), 1LL << 40, &h), 0);
	assert_int_equal(h.content_length, 104857600);
	assert_int_equal(h.range_total, -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(httpresp_parse_head_max(bad[i], strlen(bad[i]), 1LL << 40, &h),
		                 TE_ERR_PROTOCOL);
	/* The Range a server is asked for. */
	assert_int_equal(httpresp_range_request("bytes=1000-", 6000, &first, &last), 0);
	assert_int_equal(first, 1000);
	assert_int_equal(last, 5999);
	assert_int_equal(httpresp_range_request("bytes=0-99999", 6000, &first, &last), 0);
	assert_int_equal(last, 5999);
	assert_int_equal(httpresp_range_request("bytes=-500", 6000, &first, &last), 0);
	assert_int_equal(first, 5500);
	assert_int_equal(httpresp_range_request("bytes=6000-", 6000, &first, &last),
	                 TE_ERR_TOO_LONG);
	assert_int_equal(httpresp_range_request("bytes=5-3", 6000, &first, &last), TE_ERR_PROTOCOL);
	assert_int_equal(httpresp_range_request("bytes=0-1,5-6", 6000, &first, &last),
	                 TE_ERR_PROTOCOL);
	assert_int_equal(httpresp_range_request("bytes=+5-", 6000, &first, &last), TE_ERR_PROTOCOL);
	assert_int_equal(httpresp_range_request("lines=0-", 6000, &first, &last), TE_ERR_PROTOCOL);
	assert_int_equal(httpresp_range_request("bytes=99999999999999999999-", 6000, &first, &last),
	                 TE_ERR_PROTOCOL);
}

static void test_proxy_parse(void **state)
{
	struct httpproxy p;
	char d[64];

	(void)state;
	assert_int_equal(httpproxy_parse("http://proxy.example:3128", &p), 0);
	assert_string_equal(p.host, "proxy.example");
	assert_string_equal(p.port, "3128");
	assert_string_equal(p.cred, "");
	assert_int_equal(httpproxy_parse("http://u%40x:p%3Aa@ss@10.0.0.1:8080/", &p), 0);
	assert_string_equal(p.host, "10.0.0.1");
	assert_string_equal(p.cred, "u@x:p:a@ss");
	assert_int_equal(httpproxy_parse("HTTP://user@[::1]:3128", &p), 0);
	assert_string_equal(p.host, "::1");
	assert_string_equal(p.cred, "user:");
	httpproxy_wipe(&p);

	assert_int_equal(httpproxy_parse("https://p:1", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://p", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://p:", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://p:0", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://p:65536", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://p:1x", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://:1", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://p:1/path", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://u:%00@p:1", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://u:%0d@p:1", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://a b:1", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse("http://[::1:1", &p), TE_ERR_INVALID);
	assert_int_equal(httpproxy_parse(NULL, &p), TE_ERR_INVALID);

	assert_int_equal(httpproxy_describe("http://user:secret@127.0.0.1:3128", d,
	                                    sizeof(d)), 0);
	assert_string_equal(d, "127.0.0.1:3128");
	assert_int_equal(httpproxy_describe("http://[::1]:3128", d, sizeof(d)), 0);
	assert_string_equal(d, "[::1]:3128");
}

static void test_connect_request(void **state)
{
	struct httpproxy p;
	char req[HTTPPROXY_REQUEST_BYTES];
	size_t n;

	(void)state;
	assert_int_equal(httpproxy_parse("http://user:pass@127.0.0.1:3128", &p), 0);
	assert_int_equal(httpproxy_connect_request(&p, "server.example", "8443", req,
	                                           sizeof(req), &n), 0);
	assert_int_equal(n, strlen(req));
	/* base64("user:pass") = dXNlcjpwYXNz */
	assert_string_equal(req, "CONNECT server.example:8443 HTTP/1.1\r\n"
	                    "Host: server.example:8443\r\n"
	                    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
	                    "Proxy-Connection: Keep-Alive\r\n\r\n");
	assert_int_equal(httpproxy_connect_request(&p, "::1", "1", req, sizeof(req), &n), 0);
	assert_non_null(strstr(req, "CONNECT [::1]:1 HTTP/1.1\r\n"));
	assert_int_equal(httpproxy_connect_request(&p, "a\r\nb", "1", req, sizeof(req),
	                                           &n), TE_ERR_INVALID);
	assert_int_equal(httpproxy_connect_request(&p, "a", "99999", req, sizeof(req),
	                                           &n), TE_ERR_INVALID);
	assert_int_equal(httpproxy_connect_request(&p, "a", "1", req, 20, &n),
	                 TE_ERR_TOO_LONG);
	httpproxy_wipe(&p);
	assert_int_equal(httpproxy_parse("http://127.0.0.1:3128", &p), 0);
	assert_int_equal(httpproxy_connect_request(&p, "h", "1", req, sizeof(req), &n), 0);
	assert_null(strstr(req, "Proxy-Authorization"));
}

static void test_no_proxy(void **state)
{
	(void)state;
	assert_false(httpproxy_no_proxy_match(NULL, "a.example"));
	assert_false(httpproxy_no_proxy_match("", "a.example"));
	assert_true(httpproxy_no_proxy_match("*", "a.example"));
	assert_true(httpproxy_no_proxy_match("x.org, example", "a.example"));
	assert_true(httpproxy_no_proxy_match(".example", "a.example"));
	assert_true(httpproxy_no_proxy_match("a.example:443", "A.EXAMPLE"));
	assert_false(httpproxy_no_proxy_match("ample", "a.example"));
	assert_false(httpproxy_no_proxy_match("b.example", "a.example"));
	assert_true(httpproxy_no_proxy_match("localhost,127.0.0.1", "127.0.0.1"));
	assert_false(httpproxy_no_proxy_match("127.0.0.1", "27.0.0.1"));
	assert_true(httpproxy_no_proxy_match("::1", "::1"));
	assert_true(httpproxy_no_proxy_match("[::1]:8443", "::1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_head),
		cmocka_unit_test(test_incremental_and_bounds),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_lengths_and_codings),
		cmocka_unit_test(test_content_range),
		cmocka_unit_test(test_proxy_parse),
		cmocka_unit_test(test_connect_request),
		cmocka_unit_test(test_no_proxy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
