/* test_httpc.c: the HTTPS JSON client against a small evhttp HTTPS server
 * running in its own thread and event base on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "bounds.h"
#include "err.h"
#include "httpc.h"
#include "tls.h"
#include "pki_fixture.h"

#define CLIENT_WAIT_S 15

static struct pki_fixture fx;

struct server {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ctx;
	pthread_t th;
	char url[64];
	char dead_url[64];
};

static struct server srv;

static struct bufferevent *srv_bevcb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);

	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

/* GET /slow: answered 3 s later, from a timer on the server's loop. */
static void srv_slow_reply(evutil_socket_t fd, short what, void *arg)
{
	struct evbuffer *out = evbuffer_new();

	evbuffer_add_printf(out, "{}");
	evhttp_send_reply(arg, 200, "OK", out);
	evbuffer_free(out);
}

/* Set by GET /drop-next: the next request gets no answer, its connection
 * is shut down (a server closing a kept connection as the request came). */
static int srv_drop_next;

/* GET /hello: echo the Authorization header; POST /echo: echo the body with
 * 201; GET /big: a body over the client's limit; GET /closing: an answer
 * with "Connection: close"; GET /drop-next: see srv_drop_next. */
static void srv_handle(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evbuffer_new();
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *uri = evhttp_request_get_uri(req);
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	                                      "Authorization");
	int code = 200;

	if (__atomic_exchange_n(&srv_drop_next, 0, __ATOMIC_SEQ_CST)) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(
			evhttp_request_get_connection(req));

		shutdown(bufferevent_getfd(bev), SHUT_RDWR);
		evbuffer_free(out);
		return;   /* evhttp frees the request with its connection */
	}
	if (strcmp(uri, "/api/v1/hello") == 0) {
		evbuffer_add_printf(out, "{\"auth\":\"%s\"}", auth != NULL ? auth : "");
	} else if (strcmp(uri, "/api/v1/echo") == 0 &&
	           evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		evbuffer_add_buffer(out, in);
		code = 201;
	} else if (strcmp(uri, "/api/v1/slow") == 0) {
		struct timeval later = { 3, 0 };

		evbuffer_free(out);
		event_base_once(srv.base, -1, EV_TIMEOUT, srv_slow_reply, req, &later);
		return;
	} else if (strcmp(uri, "/api/v1/closing") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		evbuffer_add_printf(out, "{}");
	} else if (strcmp(uri, "/api/v1/drop-next") == 0) {
		__atomic_store_n(&srv_drop_next, 1, __ATOMIC_SEQ_CST);
		evbuffer_add_printf(out, "{}");
	} else if (strcmp(uri, "/api/v1/big") == 0) {
		static char big[MAX_HTTP_BODY_BYTES + 1024];
		memset(big, 'x', sizeof(big));
		evbuffer_add(out, big, sizeof(big));
	} else {
		code = 404;
		evbuffer_add_printf(out, "{\"error\":\"not_found\"}");
	}
	evhttp_send_reply(req, code, code == 404 ? "Not Found" : "OK", out);
	evbuffer_free(out);
}

static void *srv_main(void *arg)
{
	event_base_dispatch(srv.base);
	return NULL;
}

static int port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	getsockname(fd, (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

/* ---- a tiny CONNECT proxy with Basic auth, in its own thread ------------- */

#define PROXY_USER_PASS_B64 "dXNlcjpwYSBzcw=="  /* "user:pa ss" */
#define PROXY_SPLICE_S      20

struct proxy {
	int lfd;
	pthread_t th;
	volatile int stop;
	char url_good[96];
	char url_bad[96];
	char url_noauth[96];
	int connects;            /* CONNECTs answered 200 */
	int refused;             /* CONNECTs answered 407 */
	char last_target[128];
	pthread_mutex_t mu;
};

static struct proxy px;

static int tcp_connect_local(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Copy both ways until either side closes (bounded in time). */
static void proxy_splice(int a, int b)
{
	struct pollfd pf[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	time_t end = time(NULL) + PROXY_SPLICE_S;
	char buf[16384];
	ssize_t n;
	int i;

	while (!px.stop && time(NULL) < end) {
		if (poll(pf, 2, 200) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pf[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(pf[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

/* One client: read the head (bounded), check the credentials, dial the
 * target on loopback, answer, splice. */
static void proxy_serve(int c)
{
	char head[4096], target[128];
	size_t len = 0;
	int port = 0, up;
	const char *auth;

	while (len < sizeof(head) - 1 && (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4))) {
		if (read(c, head + len, 1) != 1)
			return;
		len++;
	}
	head[len] = '\0';
	if (sscanf(head, "CONNECT %127s HTTP/1.1", target) != 1 ||
	    strncmp(target, "127.0.0.1:", 10) != 0 || (port = atoi(target + 10)) <= 0) {
		dprintf(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	auth = strstr(head, "\r\nProxy-Authorization: Basic ");
	if (auth == NULL || strncmp(auth + 29, PROXY_USER_PASS_B64 "\r\n",
	                            strlen(PROXY_USER_PASS_B64) + 2) != 0) {
		pthread_mutex_lock(&px.mu);
		px.refused++;
		pthread_mutex_unlock(&px.mu);
		dprintf(c, "HTTP/1.1 407 Proxy Authentication Required\r\n"
		        "Proxy-Authenticate: Basic realm=\"test\"\r\n"
		        "Content-Length: 6\r\n\r\ndenied");
		return;
	}
	if ((up = tcp_connect_local(port)) < 0) {
		dprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	pthread_mutex_lock(&px.mu);
	px.connects++;
	snprintf(px.last_target, sizeof(px.last_target), "%s", target);
	pthread_mutex_unlock(&px.mu);
	dprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n");
	proxy_splice(c, up);
	close(up);
}

static void *proxy_main(void *arg)
{
	struct pollfd pf = { px.lfd, POLLIN, 0 };
	int c;

	(void)arg;
	while (!px.stop) {
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if ((c = accept(px.lfd, NULL, NULL)) < 0)
			continue;
		proxy_serve(c);
		close(c);
	}
	return NULL;
}

static int proxy_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	px.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (px.lfd < 0 || bind(px.lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(px.lfd, 8) != 0)
		return -1;
	port = port_of(px.lfd);
	snprintf(px.url_good, sizeof(px.url_good), "http://user:pa%%20ss@127.0.0.1:%d", port);
	snprintf(px.url_bad, sizeof(px.url_bad), "http://user:wrong@127.0.0.1:%d", port);
	snprintf(px.url_noauth, sizeof(px.url_noauth), "http://127.0.0.1:%d/", port);
	pthread_mutex_init(&px.mu, NULL);
	return pthread_create(&px.th, NULL, proxy_main, NULL) == 0 ? 0 : -1;
}

static void proxy_stop(void)
{
	px.stop = 1;
	pthread_join(px.th, NULL);
	close(px.lfd);
	pthread_mutex_destroy(&px.mu);
}

static int setup(void **state)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	if (pki_fixture_init(&fx) != 0)
		return -1;
	if (tls_server_ctx_new(fx.server_crt, fx.server_key, fx.root_crt,
	                       TLS_CLIENT_CERT_NONE, &srv.ctx) != 0)
		return -1;
	srv.base = event_base_new();
	srv.http = evhttp_new(srv.base);
	evhttp_set_bevcb(srv.http, srv_bevcb, srv.ctx);
	evhttp_set_gencb(srv.http, srv_handle, NULL);
	if ((bound = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0)) == NULL)
		return -1;
	snprintf(srv.url, sizeof(srv.url), "https://127.0.0.1:%d/api/v1/",
	         port_of(evhttp_bound_socket_get_fd(bound)));
	/* A port that is bound but not listening refuses connections. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	snprintf(srv.dead_url, sizeof(srv.dead_url), "https://127.0.0.1:%d", port_of(fd));
	*state = (void *)(intptr_t)fd;
	if (proxy_start() != 0)
		return -1;
	return pthread_create(&srv.th, NULL, srv_main, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	event_base_loopbreak(srv.base);
	pthread_join(srv.th, NULL);
	proxy_stop();
	evhttp_free(srv.http);
	event_base_free(srv.base);
	SSL_CTX_free(srv.ctx);
	close((int)(intptr_t)*state);
	pki_fixture_cleanup(&fx);
	libevent_global_shutdown();
	return 0;
}

struct result {
	int called;
	int status;
	char body[512];
	char err[256];
	struct event_base *base;
};

static void on_response(int status, const char *body, size_t len, const char *err,
                        void *arg)
{
	struct result *r = arg;

	r->called++;
	r->status = status;
	snprintf(r->body, sizeof(r->body), "%s", body);
	snprintf(r->err, sizeof(r->err), "%s", err != NULL ? err : "");
	event_base_loopexit(r->base, NULL);
}

/* Run one asynchronous request to completion in a fresh client base. */
static void run_async_via(const char *ca, const char *url, const char *proxy,
                          const char *method, const char *path,
                          const char *bearer, const char *body,
                          struct result *res)
{
	struct timeval limit = { CLIENT_WAIT_S, 0 };
	SSL_CTX *ctx = NULL;
	struct httpc *h = NULL;

	memset(res, 0, sizeof(*res));
	res->base = event_base_new();
	assert_int_equal(tls_client_ctx_new(ca, NULL, NULL, &ctx), 0);
	assert_int_equal(httpc_new(res->base, url, ctx, &h), 0);
	SSL_CTX_free(ctx); /* httpc holds its own reference */
	assert_int_equal(httpc_set_proxy(h, proxy), 0);
	assert_int_equal(httpc_request(h, method, path, bearer, body, on_response, res), 0);
	event_base_loopexit(res->base, &limit);
	event_base_dispatch(res->base);
	httpc_free(h);
	event_base_free(res->base);
	assert_int_equal(res->called, 1);
	if (res->status == 0)
		print_message("err: %s\n", res->err);
}

static void run_async(const char *ca, const char *url, const char *method,
                      const char *path, const char *bearer, const char *body,
                      struct result *res)
{
	run_async_via(ca, url, NULL, method, path, bearer, body, res);
}

static void test_get_with_bearer(void **state)
{
	struct result r;

	run_async(fx.root_crt, srv.url, "GET", "/hello", "tok123", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"auth\":\"Bearer tok123\"}");
}

static void test_post_json(void **state)
{
	struct result r;

	run_async(fx.root_crt, srv.url, "POST", "/echo", NULL, "{\"a\":1}", &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "{\"a\":1}");
}

static void test_not_found_is_a_response(void **state)
{
	struct result r;

	run_async(fx.root_crt, srv.url, "GET", "/nope", NULL, NULL, &r);
	assert_int_equal(r.status, 404);
}

static void test_other_ca_verify_error(void **state)
{
	struct result r;

	run_async(fx.other_root_crt, srv.url, "GET", "/hello", NULL, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "certificate verify failed"));
}

static void test_body_over_limit_refused(void **state)
{
	struct result r;

	run_async(fx.root_crt, srv.url, "GET", "/big", NULL, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_true(r.err[0] != '\0');
}

static void test_sync(void **state)
{
	SSL_CTX *ctx = NULL;
	char *body = NULL, err[256];
	int status = -1;

	assert_int_equal(tls_client_ctx_new(fx.root_crt, NULL, NULL, &ctx), 0);
	assert_int_equal(httpc_request_sync(srv.url, ctx, "POST", "/echo", "t",
	                                    "{\"x\":\"y\"}", 10, &status, &body,
	                                    err, sizeof(err)), 0);
	assert_int_equal(status, 201);
	assert_string_equal(body, "{\"x\":\"y\"}");
	free(body);
	body = NULL;
	assert_int_not_equal(httpc_request_sync(srv.dead_url, ctx, "GET", "/x", NULL,
	                                        NULL, 5, &status, &body, err,
	                                        sizeof(err)), 0);
	assert_int_equal(status, 0);
	assert_null(body);
	assert_non_null(strstr(err, "connection refused"));
	assert_int_equal(httpc_request_sync("http://127.0.0.1:1", ctx, "GET", "/x",
	                                    NULL, NULL, 5, &status, &body, err,
	                                    sizeof(err)), TE_ERR_INVALID);
	SSL_CTX_free(ctx);
}

static void test_one_in_flight_and_cancel(void **state)
{
	struct result r;
	struct timeval shortwait = { 0, 300 * 1000 };
	SSL_CTX *ctx = NULL;
	struct httpc *h = NULL;

	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	assert_int_equal(tls_client_ctx_new(fx.root_crt, NULL, NULL, &ctx), 0);
	assert_int_equal(httpc_new(r.base, srv.url, ctx, &h), 0);
	assert_int_equal(httpc_request(h, "GET", "/hello", NULL, NULL, on_response, &r), 0);
	assert_int_equal(httpc_request(h, "GET", "/hello", NULL, NULL, on_response, &r),
	                 TE_ERR_INVALID);
	assert_int_equal(httpc_request(h, "BREW", "/x", NULL, NULL, on_response, &r),
	                 TE_ERR_INVALID);
	httpc_cancel(h);
	event_base_loopexit(r.base, &shortwait);
	event_base_dispatch(r.base);
	assert_int_equal(r.called, 0);
	/* Usable again after a cancel; header injection is refused. */
	assert_int_equal(httpc_request(h, "GET", "/x\r\nEvil: 1", NULL, NULL,
	                               on_response, &r), TE_ERR_INVALID);
	httpc_cancel(h);
	httpc_free(h);
	SSL_CTX_free(ctx);
	event_base_free(r.base);
}

/* One request on h, run to its answer. */
static void keep_request(struct httpc *h, struct result *r, const char *path)
{
	struct timeval limit = { CLIENT_WAIT_S, 0 };

	r->called = 0;
	r->status = -1;
	assert_int_equal(httpc_request(h, "GET", path, "tok", NULL, on_response, r), 0);
	event_base_loopexit(r->base, &limit);
	event_base_dispatch(r->base);
	assert_int_equal(r->called, 1);
}

/* Keep-alive: requests share one connection; an answer with "Connection:
 * close" is not reused; a request the server drops on a kept connection is
 * sent once more on a new one. Without keep-alive each request connects. */
static void test_keepalive(void **state)
{
	struct result r;
	SSL_CTX *ctx = NULL;
	struct httpc *h = NULL;

	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	assert_int_equal(tls_client_ctx_new(fx.root_crt, NULL, NULL, &ctx), 0);
	assert_int_equal(httpc_new(r.base, srv.url, ctx, &h), 0);
	keep_request(h, &r, "/hello");
	keep_request(h, &r, "/hello");
	assert_int_equal(httpc_connections(h), 2);   /* off by default */

	httpc_set_keepalive(h, 1);
	keep_request(h, &r, "/hello");
	keep_request(h, &r, "/hello");
	keep_request(h, &r, "/hello");
	assert_int_equal(r.status, 200);
	assert_int_equal(httpc_connections(h), 3);
	keep_request(h, &r, "/closing");
	keep_request(h, &r, "/hello");
	assert_int_equal(r.status, 200);
	assert_int_equal(httpc_connections(h), 4);
	keep_request(h, &r, "/drop-next");
	keep_request(h, &r, "/hello");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"auth\":\"Bearer tok\"}");
	assert_int_equal(httpc_connections(h), 5);

	/* a new timeout bounds the next request on the kept connection */
	keep_request(h, &r, "/hello");
	httpc_set_timeout(h, 1);
	keep_request(h, &r, "/slow");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "timed out"));
	assert_int_equal(httpc_connections(h), 5);
	httpc_set_timeout(h, CLIENT_WAIT_S);
	keep_request(h, &r, "/hello");
	assert_int_equal(r.status, 200);
	assert_int_equal(httpc_connections(h), 6);

	/* without keep-alive the dropped request is the caller's failure */
	httpc_set_keepalive(h, 0);
	keep_request(h, &r, "/drop-next");
	keep_request(h, &r, "/hello");
	assert_int_equal(r.status, 0);
	assert_int_equal(httpc_connections(h), 7);
	httpc_free(h);
	SSL_CTX_free(ctx);
	event_base_free(r.base);
}

static int proxy_count(int *which)
{
	int n;

	pthread_mutex_lock(&px.mu);
	n = *which;
	pthread_mutex_unlock(&px.mu);
	return n;
}

static void test_proxy_good_credentials(void **state)
{
	struct result r;
	char want[128];
	int before = proxy_count(&px.connects);

	run_async_via(fx.root_crt, srv.url, px.url_good, "GET", "/hello", "tok9",
	              NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"auth\":\"Bearer tok9\"}");
	assert_int_equal(proxy_count(&px.connects), before + 1);
	snprintf(want, sizeof(want), "%s", srv.url + strlen("https://"));
	*strchr(want, '/') = '\0';
	pthread_mutex_lock(&px.mu);
	assert_string_equal(px.last_target, want);
	pthread_mutex_unlock(&px.mu);
	/* POST with a body, and a plain error status, through the tunnel */
	run_async_via(fx.root_crt, srv.url, px.url_good, "POST", "/echo", NULL,
	              "{\"p\":2}", &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "{\"p\":2}");
	run_async_via(fx.root_crt, srv.url, px.url_good, "GET", "/nope", NULL, NULL, &r);
	assert_int_equal(r.status, 404);
}

static void test_proxy_wrong_credentials(void **state)
{
	struct result r;
	int before = proxy_count(&px.refused);

	run_async_via(fx.root_crt, srv.url, px.url_bad, "GET", "/hello", NULL, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "407"));
	assert_non_null(strstr(r.err, "proxy authentication required"));
	assert_null(strstr(r.err, "wrong"));        /* the password is never shown */
	run_async_via(fx.root_crt, srv.url, px.url_noauth, "GET", "/hello", NULL, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "407"));
	assert_int_equal(proxy_count(&px.refused), before + 2);
}

static void test_proxy_checks_still_apply(void **state)
{
	struct result r;
	SSL_CTX *ctx = NULL;
	char *body = NULL, err[256], dead[128];
	int status = -1;

	/* the server's certificate is still checked inside the tunnel */
	run_async_via(fx.other_root_crt, srv.url, px.url_good, "GET", "/hello", NULL,
	              NULL, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "certificate verify failed"));
	/* and the body limit */
	run_async_via(fx.root_crt, srv.url, px.url_good, "GET", "/big", NULL, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "too large"));

	assert_int_equal(tls_client_ctx_new(fx.root_crt, NULL, NULL, &ctx), 0);
	assert_int_equal(httpc_request_sync_via(srv.url, px.url_good, ctx, "POST",
	                                        "/echo", "t", "{\"s\":1}", 10, &status,
	                                        &body, err, sizeof(err)), 0);
	assert_int_equal(status, 201);
	assert_string_equal(body, "{\"s\":1}");
	free(body);
	body = NULL;
	assert_int_equal(httpc_request_sync_via(srv.url, px.url_bad, ctx, "GET", "/x",
	                                        NULL, NULL, 10, &status, &body, err,
	                                        sizeof(err)), TE_ERR_DENIED);
	assert_non_null(strstr(err, "407"));
	assert_null(body);
	/* a proxy that is not there */
	snprintf(dead, sizeof(dead), "http://u:p@%s", srv.dead_url + strlen("https://"));
	assert_int_not_equal(httpc_request_sync_via(srv.url, dead, ctx, "GET", "/x",
	                                            NULL, NULL, 10, &status, &body, err,
	                                            sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot connect to proxy"));
	assert_null(strstr(err, "u:p"));
	assert_int_equal(httpc_request_sync_via(srv.url, "socks5://x:1", ctx, "GET", "/x",
	                                        NULL, NULL, 10, &status, &body, err,
	                                        sizeof(err)), TE_ERR_INVALID);
	SSL_CTX_free(ctx);
}

static void test_proxy_cancel(void **state)
{
	struct result r;
	struct timeval shortwait = { 0, 300 * 1000 };
	SSL_CTX *ctx = NULL;
	struct httpc *h = NULL;

	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	assert_int_equal(tls_client_ctx_new(fx.root_crt, NULL, NULL, &ctx), 0);
	assert_int_equal(httpc_new(r.base, srv.url, ctx, &h), 0);
	assert_int_equal(httpc_set_proxy(h, "http://nope"), TE_ERR_INVALID);
	assert_int_equal(httpc_set_proxy(h, px.url_good), 0);
	assert_int_equal(httpc_request(h, "GET", "/hello", NULL, NULL, on_response, &r), 0);
	assert_int_equal(httpc_set_proxy(h, NULL), TE_ERR_INVALID);  /* busy */
	assert_int_equal(httpc_request(h, "GET", "/hello", NULL, NULL, on_response, &r),
	                 TE_ERR_INVALID);
	httpc_cancel(h);
	event_base_loopexit(r.base, &shortwait);
	event_base_dispatch(r.base);
	assert_int_equal(r.called, 0);
	/* freed with a request in flight: no callback, no leak */
	assert_int_equal(httpc_request(h, "GET", "/hello", NULL, NULL, on_response, &r), 0);
	httpc_free(h);
	SSL_CTX_free(ctx);
	event_base_free(r.base);
	assert_int_equal(r.called, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_with_bearer),
		cmocka_unit_test(test_post_json),
		cmocka_unit_test(test_not_found_is_a_response),
		cmocka_unit_test(test_other_ca_verify_error),
		cmocka_unit_test(test_body_over_limit_refused),
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_one_in_flight_and_cancel),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_proxy_good_credentials),
		cmocka_unit_test(test_proxy_wrong_credentials),
		cmocka_unit_test(test_proxy_checks_still_apply),
		cmocka_unit_test(test_proxy_cancel),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
