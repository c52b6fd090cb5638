/* httpc.c: a thin HTTPS JSON client on libevent's evhttp and OpenSSL
 * bufferevents.
 *
 * Every request uses a fresh connection ("Connection: close"): requests are
 * rare (pings, long-polls, enrolment), and a fresh connection never trips
 * over a server that closed an idle keep-alive socket mid-request.
 *
 * With a proxy set, requests take a second path (httpc_tun_*): evhttp
 * always opens its own socket, so it cannot run inside a CONNECT tunnel.
 * That path dials the proxy with a socket bufferevent, sends CONNECT, reads
 * the proxy's answer, layers an OpenSSL filter bufferevent over the same
 * socket, writes the request itself and parses the response with httpresp
 * (bounded, fuzzed). Its callbacks keep the direct path's contract. */
#include "httpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "bounds.h"
#include "err.h"
#include "httpproxy.h"
#include "httpresp.h"
#include "tls.h"

#define HTTPC_HOST_BYTES     256
#define HTTPC_PREFIX_BYTES   256
#define HTTPC_PATH_BYTES     2048
#define HTTPC_BEARER_BYTES   512
#define HTTPC_ERR_BYTES      256

enum httpc_tun_stage {
	HTTPC_TUN_IDLE = 0,
	HTTPC_TUN_CONNECTING,   /* TCP to the proxy */
	HTTPC_TUN_PROXY_HEAD,   /* CONNECT sent, waiting for the proxy's answer */
	HTTPC_TUN_TLS,          /* TLS to the server inside the tunnel */
};

struct httpc {
	struct event_base *base;
	SSL_CTX *ctx;
	char host[HTTPC_HOST_BYTES];      /* for connect and the name check */
	char hosthdr[HTTPC_HOST_BYTES + 8];
	char prefix[HTTPC_PREFIX_BYTES];  /* path of the base URL, no trailing '/' */
	int port;
	int timeout_s;
	/* the request in flight */
	struct evhttp_connection *conn;
	struct bufferevent *bev;          /* owned by conn */
	int busy;
	int in_cb;
	enum evhttp_request_error req_err;
	int have_req_err;
	httpc_cb cb;
	void *arg;
	/* connections are freed outside their own callbacks */
	struct evhttp_connection *dead;
	struct event *reaper;
	/* the proxy path; proxy == NULL means direct */
	struct httpproxy *proxy;          /* holds the credentials; wiped on free */
	char proxydesc[HTTPPROXY_HOST_BYTES + 16];  /* host:port, for messages */
	struct bufferevent *tun;          /* socket to the proxy, then TLS over it */
	enum httpc_tun_stage tun_stage;
	struct httpresp_head tun_head;
	int tun_have_head;
	char *tun_req;                    /* the request, sent once TLS is set up */
	size_t tun_reqlen;
	struct event *tun_timer;
};

static void httpc_reap(evutil_socket_t fd, short what, void *arg)
{
	struct httpc *h = arg;

	if (h->dead != NULL) {
		evhttp_connection_free(h->dead);
		h->dead = NULL;
	}
}

/* Detach the finished connection; it is freed from the reaper event. */
static void httpc_retire(struct httpc *h)
{
	static const struct timeval now = { 0, 0 };

	if (h->conn == NULL)
		return;
	if (h->dead != NULL)
		evhttp_connection_free(h->dead); /* an older one: not in its callback */
	h->dead = h->conn;
	h->conn = NULL;
	h->bev = NULL;
	evtimer_add(h->reaper, &now);
}

static int httpc_parse_url(struct httpc *h, const char *base_url)
{
	struct evhttp_uri *uri = NULL;
	const char *scheme, *host, *path;
	size_t hl, pl;
	int r = TE_ERR_INVALID, n;

	if ((uri = evhttp_uri_parse(base_url)) == NULL)
		goto out;
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	path = evhttp_uri_get_path(uri);
	if (scheme == NULL || strcasecmp(scheme, "https") != 0 || host == NULL ||
	    host[0] == '\0' || evhttp_uri_get_userinfo(uri) != NULL)
		goto out;
	hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') { /* IPv6 literal */
		host++;
		hl -= 2;
	}
	if (hl >= sizeof(h->host))
		goto out;
	memcpy(h->host, host, hl);
	h->host[hl] = '\0';
	h->port = evhttp_uri_get_port(uri);
	if (h->port == -1)
		h->port = 443;
	if (h->port <= 0 || h->port > 65535)
		goto out;
	n = snprintf(h->hosthdr, sizeof(h->hosthdr),
	             strchr(h->host, ':') ? "[%s]:%d" : "%s:%d", h->host, h->port);
	if (n < 0 || (size_t)n >= sizeof(h->hosthdr))
		goto out;
	pl = path != NULL ? strlen(path) : 0;
	while (pl > 0 && path[pl - 1] == '/')
		pl--;
	if (pl >= sizeof(h->prefix))
		goto out;
	if (pl > 0)
		memcpy(h->prefix, path, pl);
	h->prefix[pl] = '\0';
	r = 0;
out:
	evhttp_uri_free(uri);
	return r;
}

/* ---- the proxy tunnel path ----------------------------------------------- */

static void httpc_tun_read_cb(struct bufferevent *bev, void *arg);
static void httpc_tun_event_cb(struct bufferevent *bev, short what, void *arg);

static void httpc_proxy_free(struct httpc *h)
{
	if (h->proxy != NULL) {
		httpproxy_wipe(h->proxy);
		free(h->proxy);
		h->proxy = NULL;
	}
	h->proxydesc[0] = '\0';
}

/* evbuffer cleanup for secret bytes: wipe, then free. */
static void httpc_wipe_free(const void *data, size_t len, void *arg)
{
	(void)arg;
	OPENSSL_cleanse((void *)data, len);
	free((void *)data);
}

/* Queue buf (taken over, malloc'd) for sending without copying it into
 * libevent's buffers, so the credentials and bearer token in it are wiped
 * as soon as they are sent or dropped. */
static int httpc_send_secret(struct bufferevent *bev, char *buf, size_t len)
{
	if (evbuffer_add_reference(bufferevent_get_output(bev), buf, len,
	                           httpc_wipe_free, NULL) != 0) {
		httpc_wipe_free(buf, len, NULL);
		return TE_ERR_NOMEM;
	}
	return 0;
}

/* Drop the tunnel in flight, if any, without calling back. */
static void httpc_tun_close(struct httpc *h)
{
	/* bufferevent_free also clears callbacks still deferred, and the TLS
	 * filter frees the socket bufferevent under it. */
	if (h->tun != NULL) {
		bufferevent_free(h->tun);
		h->tun = NULL;
	}
	if (h->tun_timer != NULL)
		evtimer_del(h->tun_timer);
	if (h->tun_req != NULL) {
		httpc_wipe_free(h->tun_req, h->tun_reqlen, NULL);
		h->tun_req = NULL;
	}
	h->tun_reqlen = 0;
	h->tun_stage = HTTPC_TUN_IDLE;
	h->tun_have_head = 0;
}

/* End the request: close the tunnel first, then call back, so the callback
 * may start the next request on h. body is copied before the close. */
static void httpc_tun_finish(struct httpc *h, int status, const void *body,
                             size_t len, const char *err)
{
	httpc_cb cb = h->cb;
	void *arg = h->arg;
	char *copy = NULL;

	if (status > 0) {
		if ((copy = malloc(len + 1)) == NULL) {
			status = 0;
			err = "out of memory";
		} else {
			if (len > 0)
				memcpy(copy, body, len);
			copy[len] = '\0';
		}
	}
	h->busy = 0;
	h->cb = NULL;
	httpc_tun_close(h);
	if (cb != NULL) {
		if (status > 0)
			cb(status, copy, len, NULL, arg);
		else
			cb(0, "", 0, err != NULL ? err : "no response", arg);
	}
	free(copy);
}

static void httpc_tun_fail(struct httpc *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void httpc_tun_fail(struct httpc *h, const char *fmt, ...)
{
	char err[2 * HTTPC_ERR_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	httpc_tun_finish(h, 0, NULL, 0, err);
}

static void httpc_tun_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct httpc *h = arg;

	(void)fd;
	(void)what;
	if (!h->busy)
		return;
	if (h->tun_stage == HTTPC_TUN_TLS)
		httpc_tun_fail(h, "timed out after %d s", h->timeout_s);
	else
		httpc_tun_fail(h, "timed out after %d s waiting for proxy %s",
		               h->timeout_s, h->proxydesc);
}

/* Why the TLS leg inside the tunnel ended without a whole response. */
static void httpc_tun_tls_failure(struct httpc *h, struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e = bufferevent_get_openssl_error(bev);
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	char tmp[160];

	while (e != 0 && ERR_GET_LIB(e) == 0)
		e = bufferevent_get_openssl_error(bev);
	if (v != X509_V_OK) {
		httpc_tun_fail(h, "certificate verify failed: %s",
		               X509_verify_cert_error_string(v));
	} else if (e != 0) {
		ERR_error_string_n(e, tmp, sizeof(tmp));
		httpc_tun_fail(h, "TLS error: %s", tmp);
	} else if (ssl != NULL && !SSL_is_init_finished(ssl)) {
		httpc_tun_fail(h, "TLS handshake with %s through proxy %s failed: "
		               "connection closed", h->hosthdr, h->proxydesc);
	} else {
		httpc_tun_fail(h, h->tun_have_head
		               ? "connection closed before the response was complete"
		               : "connection closed without a response");
	}
}

/* Parse the response head (once), then see whether the body is complete.
 * At eof the response ends now. Returns 1 when the request was finished
 * (h and bev must not be touched after), 0 to wait for more bytes. */
static int httpc_tun_consume(struct httpc *h, struct bufferevent *bev, int eof)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct httpresp_head *hd = &h->tun_head;
	size_t len = evbuffer_get_length(in), n;
	int r;

	if (!h->tun_have_head) {
		n = len < MAX_HTTP_HEADERS_BYTES ? len : MAX_HTTP_HEADERS_BYTES;
		r = httpresp_parse_head(n > 0 ? evbuffer_pullup(in, (ev_ssize_t)n) : NULL,
		                        n, hd);
		if (r == TE_ERR_TRUNCATED && !eof)
			return 0;
		if (r == TE_ERR_TRUNCATED)
			httpc_tun_fail(h, len == 0 ? "connection closed without a response"
			               : "connection closed inside the response header");
		else if (r == TE_ERR_TOO_LONG)
			httpc_tun_fail(h, "response too large");
		else if (r != 0)
			httpc_tun_fail(h, "malformed response header");
		else if (hd->status < 200)
			httpc_tun_fail(h, "unexpected interim response %d", hd->status);
		else if (hd->transfer_encoded)
			httpc_tun_fail(h, "the server sent a %s response; through a proxy "
			               "only Content-Length or close-delimited bodies are "
			               "supported", hd->chunked ? "chunked" : "transfer-encoded");
		if (r != 0 || hd->status < 200 || hd->transfer_encoded)
			return 1;
		evbuffer_drain(in, hd->head_len);
		h->tun_have_head = 1;
		len = evbuffer_get_length(in);
	}
	if (httpresp_no_body(hd->status)) {
		httpc_tun_finish(h, hd->status, "", 0, NULL);
	} else if (hd->content_length >= 0 && len >= (size_t)hd->content_length) {
		n = (size_t)hd->content_length;
		httpc_tun_finish(h, hd->status,
		                 n > 0 ? evbuffer_pullup(in, (ev_ssize_t)n) : (void *)"", n, NULL);
	} else if (len > MAX_HTTP_BODY_BYTES) {
		httpc_tun_fail(h, "response too large");
	} else if (!eof) {
		return 0;
	} else if (hd->content_length >= 0) {
		httpc_tun_fail(h, "connection closed before the response was complete");
	} else {
		httpc_tun_finish(h, hd->status,
		                 len > 0 ? evbuffer_pullup(in, (ev_ssize_t)len) : (void *)"",
		                 len, NULL);
	}
	return 1;
}

/* The proxy answered CONNECT with 2xx: TLS to the server over the same
 * socket, with the same checks as the direct path. */
static void httpc_tun_start_tls(struct httpc *h, struct bufferevent *raw)
{
	struct bufferevent *tls;
	SSL *ssl;
	char *req;

	if ((ssl = SSL_new(h->ctx)) == NULL || tls_client_set_host(ssl, h->host) != 0) {
		SSL_free(ssl);
		httpc_tun_fail(h, "cannot set up TLS for %s", h->host);
		return;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	tls = bufferevent_openssl_filter_new(h->base, raw, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		/* libevent's failure path has already freed the SSL and may have
		 * released raw: leak raw rather than risk freeing it twice. */
		h->tun = NULL;
		httpc_tun_fail(h, "out of memory");
		return;
	}
	h->tun = tls;
	h->tun_stage = HTTPC_TUN_TLS;
	/* A close-delimited body must end with close_notify, or a cut-off
	 * connection would pass for a complete response. */
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 0);
	bufferevent_setcb(tls, httpc_tun_read_cb, NULL, httpc_tun_event_cb, h);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	req = h->tun_req;
	h->tun_req = NULL;
	if (httpc_send_secret(tls, req, h->tun_reqlen) != 0)
		httpc_tun_fail(h, "out of memory");
}

/* The proxy's answer to CONNECT. Returns 1 when it was complete (the request
 * failed, or TLS started), 0 to wait for more. */
static int httpc_tun_proxy_head(struct httpc *h, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	size_t n = len < MAX_HTTP_HEADERS_BYTES ? len : MAX_HTTP_HEADERS_BYTES;
	struct httpresp_head hd;
	int r;

	r = httpresp_parse_head(n > 0 ? evbuffer_pullup(in, (ev_ssize_t)n) : NULL, n, &hd);
	if (r == TE_ERR_TRUNCATED)
		return 0;
	if (r != 0) {
		httpc_tun_fail(h, "proxy %s sent a %s answer to CONNECT", h->proxydesc,
		               r == TE_ERR_TOO_LONG ? "too long" : "malformed");
	} else if (hd.status < 200 || hd.status > 299) {
		httpc_tun_fail(h, "proxy %s refused CONNECT to %s with status %d: %s",
		               h->proxydesc, h->hosthdr, hd.status,
		               httpproxy_status_text(hd.status));
	} else if (evbuffer_drain(in, hd.head_len) != 0 || evbuffer_get_length(in) > 0) {
		/* TLS servers never speak first: bytes here are the proxy's. */
		httpc_tun_fail(h, "proxy %s sent data after its CONNECT answer",
		               h->proxydesc);
	} else {
		httpc_tun_start_tls(h, bev);
	}
	return 1;
}

static void httpc_tun_send_connect(struct httpc *h, struct bufferevent *bev)
{
	char port[8], *req;
	size_t len = 0;

	snprintf(port, sizeof(port), "%d", h->port);
	if ((req = malloc(HTTPPROXY_REQUEST_BYTES)) == NULL) {
		httpc_tun_fail(h, "out of memory");
		return;
	}
	if (httpproxy_connect_request(h->proxy, h->host, port, req,
	                              HTTPPROXY_REQUEST_BYTES, &len) != 0) {
		httpc_wipe_free(req, HTTPPROXY_REQUEST_BYTES, NULL);
		httpc_tun_fail(h, "cannot build CONNECT for %s", h->hosthdr);
		return;
	}
	if (httpc_send_secret(bev, req, len) != 0) {
		httpc_tun_fail(h, "out of memory");
		return;
	}
	h->tun_stage = HTTPC_TUN_PROXY_HEAD;
}

static void httpc_tun_read_cb(struct bufferevent *bev, void *arg)
{
	struct httpc *h = arg;

	if (h->tun_stage == HTTPC_TUN_PROXY_HEAD)
		(void)httpc_tun_proxy_head(h, bev);
	else if (h->tun_stage == HTTPC_TUN_TLS)
		(void)httpc_tun_consume(h, bev, 0);
}

static void httpc_tun_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct httpc *h = arg;
	int saved = EVUTIL_SOCKET_ERROR(), dns;

	switch (h->tun_stage) {
	case HTTPC_TUN_CONNECTING:
		if (what & BEV_EVENT_CONNECTED)
			httpc_tun_send_connect(h, bev);
		else if ((dns = bufferevent_socket_get_dns_error(bev)) != 0)
			httpc_tun_fail(h, "cannot resolve proxy %s: %s", h->proxydesc,
			               evutil_gai_strerror(dns));
		else
			httpc_tun_fail(h, "cannot connect to proxy %s: %s", h->proxydesc,
			               saved != 0 ? evutil_socket_error_to_string(saved)
			               : "connection failed");
		break;
	case HTTPC_TUN_PROXY_HEAD:
		/* The answer may have arrived together with the close. */
		if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) &&
		    !httpc_tun_proxy_head(h, bev))
			httpc_tun_fail(h, "proxy %s closed the connection before answering "
			               "CONNECT", h->proxydesc);
		break;
	case HTTPC_TUN_TLS:
		if (what & BEV_EVENT_CONNECTED)
			break;                   /* handshake done; the request is queued */
		if (what & BEV_EVENT_EOF)
			(void)httpc_tun_consume(h, bev, 1);
		else if ((what & BEV_EVENT_ERROR) && !httpc_tun_consume(h, bev, 0))
			httpc_tun_tls_failure(h, bev);
		break;
	default:
		break;
	}
}

/* The request text, malloc'd; it holds the bearer token. */
static char *httpc_tun_build(struct httpc *h, const char *method, const char *full,
                             const char *bearer, const char *json_body, size_t *outlen)
{
	size_t blen = json_body != NULL ? strlen(json_body) : 0;
	size_t cap = strlen(method) + strlen(full) + sizeof(h->hosthdr) +
	             (bearer != NULL ? strlen(bearer) : 0) + blen + 256;
	char *req = malloc(cap);
	int n = 0;

	if (req == NULL)
		return NULL;
	n += snprintf(req + n, cap - (size_t)n, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	              "Accept: application/json\r\nConnection: close\r\n",
	              method, full, h->hosthdr);
	if (bearer != NULL)
		n += snprintf(req + n, cap - (size_t)n, "Authorization: Bearer %s\r\n", bearer);
	if (json_body != NULL)
		n += snprintf(req + n, cap - (size_t)n, "Content-Type: application/json\r\n");
	if (json_body != NULL || strcmp(method, "GET") != 0)
		n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
	n += snprintf(req + n, cap - (size_t)n, "\r\n");
	if (blen > 0)
		memcpy(req + n, json_body, blen);
	*outlen = (size_t)n + blen;
	return req;
}

static int httpc_tun_request(struct httpc *h, const char *method, const char *full,
                             const char *bearer, const char *json_body, httpc_cb cb,
                             void *arg)
{
	struct timeval tv = { h->timeout_s, 0 };
	struct bufferevent *bev;

	if ((h->tun_req = httpc_tun_build(h, method, full, bearer, json_body,
	                                  &h->tun_reqlen)) == NULL)
		return TE_ERR_NOMEM;
	bev = bufferevent_socket_new(h->base, -1, BEV_OPT_CLOSE_ON_FREE |
	                             BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		httpc_tun_close(h);
		return TE_ERR_NOMEM;
	}
	h->tun = bev;
	h->tun_stage = HTTPC_TUN_CONNECTING;
	h->tun_have_head = 0;
	bufferevent_setcb(bev, httpc_tun_read_cb, NULL, httpc_tun_event_cb, h);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	h->cb = cb;
	h->arg = arg;
	h->busy = 1;
	evtimer_add(h->tun_timer, &tv);
	/* Without an evdns base the proxy's name is resolved right here,
	 * blocking, as evhttp does on the direct path. A failure is reported
	 * through the (deferred) event callback. */
	if (bufferevent_socket_connect_hostname(bev, NULL, AF_UNSPEC, h->proxy->host,
	                                        atoi(h->proxy->port)) != 0) {
		h->busy = 0;
		h->cb = NULL;
		httpc_tun_close(h);
		return TE_ERR_IO;
	}
	return 0;
}

int httpc_set_proxy(struct httpc *h, const char *proxy_url)
{
	struct httpproxy *p;

	if (h == NULL || h->busy)
		return TE_ERR_INVALID;
	httpc_proxy_free(h);
	if (proxy_url == NULL || proxy_url[0] == '\0')
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return TE_ERR_NOMEM;
	if (httpproxy_parse(proxy_url, p) != 0) {
		free(p);                 /* already wiped by the parser */
		return TE_ERR_INVALID;
	}
	snprintf(h->proxydesc, sizeof(h->proxydesc),
	         strchr(p->host, ':') ? "[%s]:%s" : "%s:%s", p->host, p->port);
	h->proxy = p;
	return 0;
}

int httpc_new(struct event_base *base, const char *base_url, SSL_CTX *ctx,
              struct httpc **out)
{
	struct httpc *h;
	int r;

	*out = NULL;
	if (base == NULL || base_url == NULL || ctx == NULL)
		return TE_ERR_INVALID;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return TE_ERR_NOMEM;
	h->base = base;
	h->timeout_s = HTTP_TIMEOUT_S;
	if ((r = httpc_parse_url(h, base_url)) != 0) {
		free(h);
		return r;
	}
	if ((h->reaper = evtimer_new(base, httpc_reap, h)) == NULL ||
	    (h->tun_timer = evtimer_new(base, httpc_tun_timeout, h)) == NULL) {
		if (h->reaper != NULL)
			event_free(h->reaper);
		free(h);
		return TE_ERR_NOMEM;
	}
	SSL_CTX_up_ref(ctx);
	h->ctx = ctx;
	*out = h;
	return 0;
}

void httpc_free(struct httpc *h)
{
	if (h == NULL)
		return;
	httpc_cancel(h);
	if (h->dead != NULL)
		evhttp_connection_free(h->dead);
	event_free(h->reaper);
	event_free(h->tun_timer);
	httpc_proxy_free(h);
	SSL_CTX_free(h->ctx);
	free(h);
}

void httpc_set_timeout(struct httpc *h, int seconds)
{
	if (h != NULL && seconds > 0)
		h->timeout_s = seconds;
}

void httpc_cancel(struct httpc *h)
{
	if (h == NULL || !h->busy)
		return;
	h->busy = 0;
	h->cb = NULL;
	httpc_tun_close(h);
	/* Freeing the connection drops its request without calling back. */
	if (h->conn != NULL) {
		evhttp_connection_free(h->conn);
		h->conn = NULL;
		h->bev = NULL;
	}
}

/* Why a request got no response, as text for people. */
static void httpc_describe_failure(struct httpc *h, int saved_errno, char *buf,
                                   size_t sz)
{
	SSL *ssl = h->bev != NULL ? bufferevent_openssl_get_ssl(h->bev) : NULL;
	unsigned long e = h->bev != NULL ? bufferevent_get_openssl_error(h->bev) : 0;
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	/* libevent also files SSL_get_error() codes (library 0) as errors. */
	while (e != 0 && ERR_GET_LIB(e) == 0)
		e = bufferevent_get_openssl_error(h->bev);
	if (h->have_req_err && h->req_err == EVREQ_HTTP_TIMEOUT)
		snprintf(buf, sz, "timed out after %d s", h->timeout_s);
	else if (v != X509_V_OK)
		snprintf(buf, sz, "certificate verify failed: %s",
		         X509_verify_cert_error_string(v));
	else if (saved_errno == ECONNREFUSED ||
	         (saved_errno == ENOTCONN && ssl != NULL && SSL_in_before(ssl)))
		/* The refusal itself is consumed inside libevent; what reaches
		 * us for a socket that never connected is ENOTCONN, before any
		 * TLS byte was sent. */
		snprintf(buf, sz, "connection refused");
	else if (saved_errno == ENETUNREACH || saved_errno == EHOSTUNREACH ||
	         saved_errno == ETIMEDOUT)
		snprintf(buf, sz, "%s", strerror(saved_errno));
	else if (e != 0) {
		char tmp[160];
		ERR_error_string_n(e, tmp, sizeof(tmp));
		snprintf(buf, sz, "TLS error: %s", tmp);
	} else if (h->have_req_err && h->req_err == EVREQ_HTTP_DATA_TOO_LONG)
		snprintf(buf, sz, "response too large");
	else if (h->have_req_err && h->req_err == EVREQ_HTTP_INVALID_HEADER)
		snprintf(buf, sz, "malformed response header");
	else if (ssl != NULL && SSL_in_before(ssl))
		snprintf(buf, sz, "cannot connect to %s", h->hosthdr);
	else
		snprintf(buf, sz, "connection closed without a response");
}

static void httpc_error_cb(enum evhttp_request_error err, void *arg)
{
	struct httpc *h = arg;

	h->req_err = err;
	h->have_req_err = 1;
}

static void httpc_done_cb(struct evhttp_request *req, void *arg)
{
	struct httpc *h = arg;
	int saved_errno = errno, status = 0;
	char errtext[2 * HTTPC_ERR_BYTES] = "", *body = NULL;
	struct evbuffer *in;
	size_t len = 0;
	httpc_cb cb = h->cb;
	void *cb_arg = h->arg;

	if (!h->busy)
		return;
	if (req != NULL && evhttp_request_get_response_code(req) > 0) {
		in = evhttp_request_get_input_buffer(req);
		len = evbuffer_get_length(in);
		if (len > MAX_HTTP_BODY_BYTES)
			snprintf(errtext, sizeof(errtext), "response too large");
		else if ((body = malloc(len + 1)) == NULL)
			snprintf(errtext, sizeof(errtext), "out of memory");
		else {
			evbuffer_copyout(in, body, len);
			body[len] = '\0';
			status = evhttp_request_get_response_code(req);
		}
	} else {
		httpc_describe_failure(h, saved_errno, errtext, sizeof(errtext));
	}
	h->busy = 0;
	h->cb = NULL;
	httpc_retire(h);
	h->in_cb = 1;
	if (status > 0)
		cb(status, body, len, NULL, cb_arg);
	else
		cb(0, "", 0, errtext, cb_arg);
	h->in_cb = 0;
	free(body);
}

static int httpc_method(const char *m, enum evhttp_cmd_type *out)
{
	if (strcmp(m, "GET") == 0) *out = EVHTTP_REQ_GET;
	else if (strcmp(m, "POST") == 0) *out = EVHTTP_REQ_POST;
	else if (strcmp(m, "PUT") == 0) *out = EVHTTP_REQ_PUT;
	else if (strcmp(m, "DELETE") == 0) *out = EVHTTP_REQ_DELETE;
	else if (strcmp(m, "PATCH") == 0) *out = EVHTTP_REQ_PATCH;
	else return TE_ERR_INVALID;
	return 0;
}

/* Header values must not carry CR, LF or other control bytes. */
static int httpc_text_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return i > 0;
}

static int httpc_headers(struct evhttp_request *req, struct httpc *h,
                         const char *bearer, const char *json_body)
{
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	char auth[HTTPC_BEARER_BYTES + 16];
	int r = 0;

	if (evhttp_add_header(hd, "Host", h->hosthdr) != 0 ||
	    evhttp_add_header(hd, "Accept", "application/json") != 0 ||
	    evhttp_add_header(hd, "Connection", "close") != 0)
		return TE_ERR_NOMEM;
	if (json_body != NULL) {
		if (evhttp_add_header(hd, "Content-Type", "application/json") != 0 ||
		    evbuffer_add(evhttp_request_get_output_buffer(req), json_body,
		                 strlen(json_body)) != 0)
			return TE_ERR_NOMEM;
	}
	if (bearer != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", bearer);
		if (evhttp_add_header(hd, "Authorization", auth) != 0)
			r = TE_ERR_NOMEM;
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	return r;
}

/* A fresh TLS connection object for one request. */
static int httpc_connection(struct httpc *h)
{
	SSL *ssl;
	int r;

	if ((ssl = SSL_new(h->ctx)) == NULL)
		return TE_ERR_NOMEM;
	if ((r = tls_client_set_host(ssl, h->host)) != 0) {
		SSL_free(ssl);
		return r;
	}
	/* Forced here as well as in the context: a borrowed context without
	 * SSL_VERIFY_PEER must not turn into an unauthenticated request. With
	 * it, a failed check aborts the handshake, so any response we see came
	 * from a verified server with the right name. */
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	h->bev = bufferevent_openssl_socket_new(h->base, -1, ssl,
	        BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (h->bev == NULL) {
		SSL_free(ssl);
		return TE_ERR_NOMEM;
	}
	/* Bodies are delimited by Content-Length or chunking, so a peer that
	 * skips close_notify cannot truncate a response unnoticed. */
	bufferevent_openssl_set_allow_dirty_shutdown(h->bev, 1);
	h->conn = evhttp_connection_base_bufferevent_new(h->base, NULL, h->bev,
	                                                 h->host, (unsigned short)h->port);
	if (h->conn == NULL) {
		bufferevent_free(h->bev);
		h->bev = NULL;
		return TE_ERR_NOMEM;
	}
	evhttp_connection_set_max_body_size(h->conn, MAX_HTTP_BODY_BYTES);
	evhttp_connection_set_max_headers_size(h->conn, MAX_HTTP_HEADERS_BYTES);
	evhttp_connection_set_timeout(h->conn, h->timeout_s);
	evhttp_connection_set_retries(h->conn, 0);
	return 0;
}

int httpc_request(struct httpc *h, const char *method, const char *path,
                  const char *bearer, const char *json_body, httpc_cb cb,
                  void *arg)
{
	char full[HTTPC_PREFIX_BYTES + HTTPC_PATH_BYTES];
	struct evhttp_request *req = NULL;
	enum evhttp_cmd_type type;
	int r;

	if (h == NULL || method == NULL || path == NULL || cb == NULL || h->busy)
		return TE_ERR_INVALID;
	if (httpc_method(method, &type) != 0 || path[0] != '/' ||
	    !httpc_text_ok(path, HTTPC_PATH_BYTES - 1) ||
	    (bearer != NULL && !httpc_text_ok(bearer, HTTPC_BEARER_BYTES - 1)))
		return TE_ERR_INVALID;
	if (json_body != NULL && strlen(json_body) > MAX_HTTP_BODY_BYTES)
		return TE_ERR_TOO_LONG;
	snprintf(full, sizeof(full), "%s%s", h->prefix, path);
	if (h->proxy != NULL)
		return httpc_tun_request(h, method, full, bearer, json_body, cb, arg);
	if ((r = httpc_connection(h)) != 0)
		return r;
	if ((req = evhttp_request_new(httpc_done_cb, h)) == NULL) {
		r = TE_ERR_NOMEM;
		goto fail;
	}
	evhttp_request_set_error_cb(req, httpc_error_cb);
	if ((r = httpc_headers(req, h, bearer, json_body)) != 0)
		goto fail;
	h->cb = cb;
	h->arg = arg;
	h->have_req_err = 0;
	h->busy = 1;
	if (evhttp_make_request(h->conn, req, type, full) != 0) {
		h->busy = 0;
		h->cb = NULL;
		r = TE_ERR_IO;
		goto fail;
	}
	return 0;
fail:
	/* A request that was never queued is still ours to free. */
	if (req != NULL)
		evhttp_request_free(req);
	evhttp_connection_free(h->conn);
	h->conn = NULL;
	h->bev = NULL;
	return r;
}

/* ---- blocking wrapper -------------------------------------------------- */

struct httpc_sync {
	int done;
	int status;
	char *body;
	char err[HTTPC_ERR_BYTES];
	struct event_base *base;
};

static void httpc_sync_cb(int status, const char *body, size_t len,
                          const char *err, void *arg)
{
	struct httpc_sync *s = arg;

	s->done = 1;
	s->status = status;
	if (status > 0) {
		if ((s->body = malloc(len + 1)) != NULL) {
			memcpy(s->body, body, len);
			s->body[len] = '\0';
		} else {
			s->status = 0;
			snprintf(s->err, sizeof(s->err), "out of memory");
		}
	} else {
		snprintf(s->err, sizeof(s->err), "%s", err != NULL ? err : "no response");
	}
	event_base_loopbreak(s->base);
}

int httpc_request_sync(const char *base_url, SSL_CTX *ctx, const char *method,
                       const char *path, const char *bearer,
                       const char *json_body, int timeout_s, int *status,
                       char **body, char *errbuf, size_t errsz)
{
	return httpc_request_sync_via(base_url, NULL, ctx, method, path, bearer,
	                              json_body, timeout_s, status, body, errbuf,
	                              errsz);
}

/* A te_err for a transport failure text. */
static int httpc_sync_err(const char *err)
{
	if (strstr(err, "certificate") != NULL || strncmp(err, "TLS", 3) == 0)
		return TE_ERR_TLS;
	if (strncmp(err, "timed out", 9) == 0)
		return TE_ERR_TIMEOUT;
	if (strstr(err, "proxy authentication required") != NULL)
		return TE_ERR_DENIED;
	return TE_ERR_IO;
}

int httpc_request_sync_via(const char *base_url, const char *proxy_url,
                           SSL_CTX *ctx, const char *method, const char *path,
                           const char *bearer, const char *json_body,
                           int timeout_s, int *status, char **body,
                           char *errbuf, size_t errsz)
{
	struct httpc_sync s;
	struct httpc *h = NULL;
	int r;

	memset(&s, 0, sizeof(s));
	*status = 0;
	*body = NULL;
	if (errbuf != NULL && errsz > 0)
		errbuf[0] = '\0';
	if ((s.base = event_base_new()) == NULL)
		return TE_ERR_NOMEM;
	if ((r = httpc_new(s.base, base_url, ctx, &h)) != 0) {
		snprintf(s.err, sizeof(s.err), "bad server URL (want https://host:port)");
		goto out;
	}
	if ((r = httpc_set_proxy(h, proxy_url)) != 0) {
		snprintf(s.err, sizeof(s.err), "bad proxy URL (want http://[user:pass@]host:port)");
		goto out;
	}
	httpc_set_timeout(h, timeout_s > 0 ? timeout_s : HTTP_TIMEOUT_S);
	if ((r = httpc_request(h, method, path, bearer, json_body, httpc_sync_cb, &s)) != 0) {
		snprintf(s.err, sizeof(s.err), "cannot start request: %s", te_strerror(r));
		goto out;
	}
	/* The connection's own timeout ends a request that gets no answer. */
	while (!s.done && event_base_dispatch(s.base) == 0)
		;
	if (!s.done) {
		r = TE_ERR_IO;
		snprintf(s.err, sizeof(s.err), "event loop ended without a response");
	} else if (s.status == 0) {
		r = httpc_sync_err(s.err);
	} else {
		*status = s.status;
		*body = s.body;
		s.body = NULL;
	}
out:
	if (r != 0 && errbuf != NULL && errsz > 0)
		snprintf(errbuf, errsz, "%s", s.err);
	httpc_free(h);
	free(s.body);
	event_base_free(s.base);
	return r;
}
