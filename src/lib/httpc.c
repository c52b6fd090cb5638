/* httpc.c: a thin HTTPS JSON client on libevent's evhttp and OpenSSL
 * bufferevents.
 *
 * By default every request uses a fresh connection ("Connection: close"):
 * most requests are rare (enrolment, reports, the CLI's calls), and a fresh
 * connection never trips over a server that closed an idle keep-alive socket
 * mid-request. The agent's ping asks again every few seconds, all day, so it
 * turns keep-alive on (httpc_set_keepalive): its connection stays open, and
 * a request that meets a kept connection the server has just closed is sent
 * once more on a new one.
 *
 * With a proxy set, requests take a second path (httpc_tun_*, in
 * httpc_tunnel.c): evhttp always opens its own socket, so it cannot run
 * inside a CONNECT tunnel. The struct both paths share is in httpc_int.h. */
#include "httpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include "bounds.h"
#include "err.h"
#include "httpproxy.h"
#include "httpresp.h"
#include "tls.h"

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

	h->conn_down = 0;
	h->conn_used = 0;
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

/* The request kept for sending again, wiped: the bearer is a secret. */
static void httpc_forget_request(struct httpc *h)
{
	if (h->req_bearer != NULL) {
		OPENSSL_cleanse(h->req_bearer, strlen(h->req_bearer));
		free(h->req_bearer);
	}
	if (h->req_body != NULL && h->req_body_owned) {
		OPENSSL_cleanse(h->req_body, h->req_bodylen);
		free(h->req_body);
	}
	h->req_body_owned = 0;
	free(h->req_path);
	h->req_bearer = h->req_body = h->req_path = NULL;
	h->req_bodylen = 0;
	h->req_ctype[0] = '\0';
}

/* Drop the connection now (not from its own callbacks). */
static void httpc_drop_conn(struct httpc *h)
{
	struct evhttp_connection *c = h->conn;

	/* Cleared first: freeing calls our close callback, which then sees a
	 * connection that is no longer ours. */
	h->conn = NULL;
	h->bev = NULL;
	h->conn_down = 0;
	h->conn_used = 0;
	if (c != NULL)
		evhttp_connection_free(c);
}

void httpc_free(struct httpc *h)
{
	if (h == NULL)
		return;
	httpc_cancel(h);
	httpc_drop_conn(h);     /* a kept one */
	httpc_forget_request(h);
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
	if (h == NULL || seconds <= 0)
		return;
	h->timeout_s = seconds;
	/* A kept connection carries the next request with the new bound too:
	 * the ping learns a longer hold after its connection is made. */
	if (h->conn != NULL)
		evhttp_connection_set_timeout(h->conn, seconds);
}

void httpc_set_keepalive(struct httpc *h, int on)
{
	if (h != NULL)
		h->keepalive = on != 0;
}

void httpc_borrow_bodies(struct httpc *h, int on)
{
	if (h != NULL && !h->busy)
		h->borrow_bodies = on != 0;
}

int httpc_keeps_connection(const struct httpc *h)
{
	return h != NULL && h->keepalive && h->proxy == NULL;
}

unsigned long httpc_connections(const struct httpc *h)
{
	return h != NULL ? h->conns_opened : 0;
}

void httpc_cancel(struct httpc *h)
{
	if (h == NULL || !h->busy)
		return;
	h->busy = 0;
	h->cb = NULL;
	httpc_tun_close(h);
	/* Freeing the connection drops its request without calling back. */
	httpc_drop_conn(h);
	httpc_forget_request(h);
}

/* evhttp closed our connection: the peer hung up, or the exchange said
 * "Connection: close". It cannot carry another request. */
static void httpc_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct httpc *h = arg;

	if (evcon == h->conn)
		h->conn_down = 1;
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
		snprintf(buf, sz, "certificate verify failed: %s", tls_verify_text(v));
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

static int httpc_send(struct httpc *h, enum evhttp_cmd_type type, const char *full,
                      const char *bearer, const char *ctype, const void *body,
                      size_t bodylen);

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
	} else if (h->keepalive && h->conn_used && !h->retried &&
	           !(h->have_req_err && h->req_err == EVREQ_HTTP_TIMEOUT)) {
		/* The server closed the kept connection as we asked: once more,
		 * on a new one. */
		httpc_retire(h);
		h->retried = 1;
		h->have_req_err = 0;
		if (httpc_send(h, h->req_type, h->req_path, h->req_bearer, h->req_ctype,
		               h->req_body, h->req_bodylen) == 0)
			return;
		snprintf(errtext, sizeof(errtext), "cannot send the request again");
	} else {
		httpc_describe_failure(h, saved_errno, errtext, sizeof(errtext));
	}
	h->busy = 0;
	h->cb = NULL;
	httpc_forget_request(h);
	if (status > 0 && h->keepalive && !h->conn_down && h->conn != NULL)
		h->conn_used = 1;      /* kept for the next request */
	else
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
                         const char *bearer, const char *ctype, const void *body,
                         size_t bodylen)
{
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	char auth[HTTPC_BEARER_BYTES + 16];
	int r = 0;

	if (evhttp_add_header(hd, "Host", h->hosthdr) != 0 ||
	    evhttp_add_header(hd, "Accept", "application/json") != 0 ||
	    (!h->keepalive && evhttp_add_header(hd, "Connection", "close") != 0))
		return TE_ERR_NOMEM;
	if (body != NULL) {
		if (evhttp_add_header(hd, "Content-Type", ctype) != 0 ||
		    evbuffer_add(evhttp_request_get_output_buffer(req), body, bodylen) != 0)
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
	SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(h->ctx));
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
	evhttp_connection_set_closecb(h->conn, httpc_close_cb, h);
	h->conns_opened++;
	return 0;
}

/* No Nagle: a request's last TLS record would otherwise wait for the
 * server's delayed ACK of the one before (up to 40 ms a request). The
 * socket exists once evhttp_make_request has started the connect. */
static void httpc_nodelay(struct httpc *h)
{
	evutil_socket_t fd = h->bev != NULL ? bufferevent_getfd(h->bev) : -1;
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Send one request on the kept connection, or on a new one. */
static int httpc_send(struct httpc *h, enum evhttp_cmd_type type, const char *full,
                      const char *bearer, const char *ctype, const void *body,
                      size_t bodylen)
{
	struct evhttp_request *req = NULL;
	int r;

	if (h->conn != NULL && h->conn_down)
		httpc_retire(h);
	if (h->conn == NULL && (r = httpc_connection(h)) != 0)
		return r;
	if ((req = evhttp_request_new(httpc_done_cb, h)) == NULL) {
		r = TE_ERR_NOMEM;
		goto fail;
	}
	evhttp_request_set_error_cb(req, httpc_error_cb);
	if ((r = httpc_headers(req, h, bearer, ctype, body, bodylen)) != 0)
		goto fail;
	if (evhttp_make_request(h->conn, req, type, full) != 0) {
		r = TE_ERR_IO;
		goto fail;
	}
	httpc_nodelay(h);
	return 0;
fail:
	/* A request that was never queued is still ours to free. */
	if (req != NULL)
		evhttp_request_free(req);
	httpc_drop_conn(h);
	return r;
}

/* Keep what is needed to send the request again (keep-alive only). */
static int httpc_keep_request(struct httpc *h, enum evhttp_cmd_type type, const char *full,
                              const char *bearer, const char *ctype, const void *body,
                              size_t bodylen)
{
	httpc_forget_request(h);
	h->req_type = type;
	if ((h->req_path = strdup(full)) == NULL ||
	    (bearer != NULL && (h->req_bearer = strdup(bearer)) == NULL) ||
	    (body != NULL && !h->borrow_bodies && (h->req_body = malloc(bodylen + 1)) == NULL)) {
		httpc_forget_request(h);
		return TE_ERR_NOMEM;
	}
	if (body != NULL) {
		if (h->borrow_bodies) {
			h->req_body = (char *)body;   /* the caller keeps it until the callback */
		} else {
			memcpy(h->req_body, body, bodylen);
			h->req_body_owned = 1;
		}
		h->req_bodylen = bodylen;
		snprintf(h->req_ctype, sizeof(h->req_ctype), "%s", ctype);
	}
	return 0;
}

int httpc_request(struct httpc *h, const char *method, const char *path,
                  const char *bearer, const char *json_body, httpc_cb cb,
                  void *arg)
{
	if (json_body != NULL && strlen(json_body) > MAX_HTTP_BODY_BYTES)
		return TE_ERR_TOO_LONG;
	return httpc_request_raw(h, method, path, bearer, "application/json", json_body,
	                         json_body != NULL ? strlen(json_body) : 0, cb, arg);
}

int httpc_request_raw(struct httpc *h, const char *method, const char *path,
                      const char *bearer, const char *ctype, const void *body,
                      size_t bodylen, httpc_cb cb, void *arg)
{
	char full[HTTPC_PREFIX_BYTES + HTTPC_PATH_BYTES];
	enum evhttp_cmd_type type;
	int r;

	if (h == NULL || method == NULL || path == NULL || cb == NULL || h->busy)
		return TE_ERR_INVALID;
	if (httpc_method(method, &type) != 0 || path[0] != '/' ||
	    !httpc_text_ok(path, HTTPC_PATH_BYTES - 1) ||
	    (bearer != NULL && !httpc_text_ok(bearer, HTTPC_BEARER_BYTES - 1)) ||
	    (body != NULL && (ctype == NULL || !httpc_text_ok(ctype, HTTPC_CTYPE_BYTES - 1))))
		return TE_ERR_INVALID;
	if (body != NULL && bodylen > MAX_HTTP_UPLOAD_BYTES)
		return TE_ERR_TOO_LONG;
	snprintf(full, sizeof(full), "%s%s", h->prefix, path);
	if (h->proxy != NULL)
		return httpc_tun_request(h, method, full, bearer, ctype, body, bodylen, cb, arg);
	if (h->keepalive &&
	    (r = httpc_keep_request(h, type, full, bearer, ctype, body, bodylen)) != 0)
		return r;
	h->cb = cb;
	h->arg = arg;
	h->have_req_err = 0;
	h->retried = 0;
	h->busy = 1;
	if ((r = httpc_send(h, type, full, bearer, ctype, body, bodylen)) != 0) {
		h->busy = 0;
		h->cb = NULL;
		httpc_forget_request(h);
		return r;
	}
	return 0;
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
	if (json_body != NULL && strlen(json_body) > MAX_HTTP_BODY_BYTES) {
		*status = 0;
		*body = NULL;
		if (errbuf != NULL && errsz > 0)
			snprintf(errbuf, errsz, "cannot start request: %s", te_strerror(TE_ERR_TOO_LONG));
		return TE_ERR_TOO_LONG;
	}
	return httpc_request_sync_raw(base_url, proxy_url, ctx, method, path, bearer,
	                              "application/json", json_body,
	                              json_body != NULL ? strlen(json_body) : 0, timeout_s,
	                              status, body, errbuf, errsz);
}

int httpc_request_sync_raw(const char *base_url, const char *proxy_url,
                           SSL_CTX *ctx, const char *method, const char *path,
                           const char *bearer, const char *ctype, const void *data,
                           size_t len, int timeout_s, int *status, char **body,
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
	if ((r = httpc_request_raw(h, method, path, bearer, ctype, data, len, httpc_sync_cb,
	                           &s)) != 0) {
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
