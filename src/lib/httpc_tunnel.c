/* httpc_tunnel.c: httpc's path through an HTTP CONNECT proxy.
 *
 * evhttp always opens its own socket, so it cannot run inside a CONNECT
 * tunnel. This path dials the proxy with a socket bufferevent, sends
 * CONNECT, reads the proxy's answer, layers an OpenSSL filter bufferevent
 * over the same socket, writes the request itself and parses the response
 * with httpresp (bounded, fuzzed). Its callbacks keep the direct path's
 * contract (httpc.h). */
#include "httpc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "bounds.h"
#include "err.h"
#include "tls.h"

static void httpc_tun_read_cb(struct bufferevent *bev, void *arg);
static void httpc_tun_event_cb(struct bufferevent *bev, short what, void *arg);

void httpc_proxy_free(struct httpc *h)
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
void httpc_tun_close(struct httpc *h)
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

void httpc_tun_timeout(evutil_socket_t fd, short what, void *arg)
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
		httpc_tun_fail(h, "certificate verify failed: %s", tls_verify_text(v));
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

/* Parse the head at the start of in, pulling up no more than a head may
 * take. */
static int httpc_tun_parse_head(struct evbuffer *in, struct httpresp_head *hd)
{
	size_t len = evbuffer_get_length(in);
	size_t n = len < MAX_HTTP_HEADERS_BYTES ? len : MAX_HTTP_HEADERS_BYTES;

	return httpresp_parse_head(n > 0 ? evbuffer_pullup(in, (ev_ssize_t)n) : NULL,
	                           n, hd);
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
		r = httpc_tun_parse_head(in, hd);
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
	SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(h->ctx));
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
	struct httpresp_head hd;
	int r;

	r = httpc_tun_parse_head(in, &hd);
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
                             const char *bearer, const char *ctype, const void *body,
                             size_t blen, size_t *outlen)
{
	size_t cap = strlen(method) + strlen(full) + sizeof(h->hosthdr) +
	             (bearer != NULL ? strlen(bearer) : 0) + HTTPC_CTYPE_BYTES + blen + 256;
	char *req = malloc(cap);
	int n = 0;

	if (req == NULL)
		return NULL;
	n += snprintf(req + n, cap - (size_t)n, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	              "Accept: application/json\r\nConnection: close\r\n",
	              method, full, h->hosthdr);
	if (bearer != NULL)
		n += snprintf(req + n, cap - (size_t)n, "Authorization: Bearer %s\r\n", bearer);
	if (body != NULL)
		n += snprintf(req + n, cap - (size_t)n, "Content-Type: %s\r\n", ctype);
	if (body != NULL || strcmp(method, "GET") != 0)
		n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
	n += snprintf(req + n, cap - (size_t)n, "\r\n");
	if (body != NULL && blen > 0)
		memcpy(req + n, body, blen);
	*outlen = (size_t)n + blen;
	return req;
}

int httpc_tun_request(struct httpc *h, const char *method, const char *full,
                      const char *bearer, const char *ctype, const void *body,
                      size_t bodylen, httpc_cb cb, void *arg)
{
	struct timeval tv = { h->timeout_s, 0 };
	struct bufferevent *bev;

	if ((h->tun_req = httpc_tun_build(h, method, full, bearer, ctype, body, bodylen,
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
	/* Always fits: proxydesc has room for a bracketed host and a port. */
	(void)httpproxy_describe(proxy_url, h->proxydesc, sizeof(h->proxydesc));
	h->proxy = p;
	return 0;
}
