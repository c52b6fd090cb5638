/* http.c: evhttp setup, TLS per connection, request context and replies. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "srvapi.h"
#include "bounds.h"
#include "err.h"
#include "log.h"
#include "server.h"

/* Idle connections and slow clients are cut after this, which must be
 * longer than any long-poll hold. */
#define HTTP_SERVER_EXTRA_TIMEOUT_S 30

static int64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : "Error";
	}
}

void http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL) {
		/* Bodies may hold passwords and enrollment tokens. */
		OPENSSL_cleanse(r->body, r->body_len);
		free(r->body);
	}
	OPENSSL_cleanse(r->token_hash, sizeof(r->token_hash));
	free(r);
}

void http_reply(struct http_req *r, int status, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(r->ev);
	char *text;

	if (body == NULL)
		body = json_object();
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	evhttp_add_header(hdrs, "Content-Type", "application/json");
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	if (buf != NULL && text != NULL)
		evbuffer_add_printf(buf, "%s\n", text);
	if (buf == NULL || text == NULL)
		status = 500;
	evhttp_send_reply(r->ev, status, http_reason(status), buf);
	log_info("%s %s %d %s %lldms", r->method_name, r->path, status,
	         r->who[0] ? r->who : "-", (long long)(http_now_ms() - r->started_ms));
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));   /* may hold a token or ticket */
		free(text);
	}
	evbuffer_free(buf);
	http_req_free(r);
}

void http_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply(r, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

const char *http_bearer(struct http_req *r)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->ev),
	                                   "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

static int http_copy_body(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t len = evbuffer_get_length(in);

	if (len > MAX_HTTP_BODY_BYTES)
		return TE_ERR_TOO_LONG;
	if ((r->body = malloc(len + 1)) == NULL)
		return TE_ERR_NOMEM;
	if (evbuffer_remove(in, r->body, len) != (int)len)
		return TE_ERR_IO;
	r->body[len] = '\0';
	r->body_len = len;
	return 0;
}

static void http_peer(struct http_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	if (ssl != NULL && tls_peer_identity(ssl, &r->peer) == 0)
		r->have_peer = 1;
}

static int http_is_tls(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	return bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL;
}

static const char *http_method_name(int method)
{
	switch (method) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_TRACE: return "TRACE";
	default: return "OTHER";
	}
}

static void http_gencb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct http_req *r;

	if (!http_is_tls(req)) {
		/* bevcb could not make a TLS stream; never serve plain HTTP. */
		evhttp_send_error(req, 500, "TLS unavailable");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		evhttp_send_error(req, 503, "Out of memory");
		return;
	}
	r->srv = srv;
	r->ev = req;
	r->started_ms = http_now_ms();
	r->method = (int)evhttp_request_get_command(req);
	snprintf(r->method_name, sizeof(r->method_name), "%s", http_method_name(r->method));
	snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
	http_peer(r);
	if (path == NULL || strlen(path) >= sizeof(r->path)) {
		http_error(r, 404, "not_found", "no such endpoint; see docs/protocol.md");
		return;
	}
	if (http_copy_body(r) != 0) {
		http_error(r, 413, "too_large", "request body exceeds %d bytes", MAX_HTTP_BODY_BYTES);
		return;
	}
	api_dispatch(r);
}

static struct bufferevent *http_bevcb(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct bufferevent *bev;
	SSL *ssl = SSL_new(srv->tls);

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Clients that drop the TCP connection without close_notify are common
	 * and harmless here: every body has a length. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int http_listen(struct server *srv)
{
	if ((srv->http = evhttp_new(srv->base)) == NULL)
		return TE_ERR_NOMEM;
	evhttp_set_bevcb(srv->http, http_bevcb, srv);
	evhttp_set_gencb(srv->http, http_gencb, srv);
	evhttp_set_max_body_size(srv->http, MAX_HTTP_BODY_BYTES);
	/* Read and discard the rest of an oversize body before answering 413, so
	 * that the client sees the status instead of a reset connection; the
	 * connection timeout still bounds how long that may take. */
	evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_max_headers_size(srv->http, MAX_HTTP_HEADERS_BYTES);
	/* Let every ordinary method reach the router, so that a wrong one gets
	 * our JSON 405 (or 404) rather than libevent's HTML 501. CONNECT stays
	 * out: its target is no path. */
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	                           EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                           EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE);
	evhttp_set_timeout(srv->http, (int)srv->cfg.longpoll_s + HTTP_SERVER_EXTRA_TIMEOUT_S);
	if (evhttp_bind_socket(srv->http, srv->cfg.listen_host,
	                       (ev_uint16_t)atoi(srv->cfg.listen_port)) != 0) {
		log_error("cannot listen on %s:%s (in use, or not an address of this host)",
		          srv->cfg.listen_host, srv->cfg.listen_port);
		return TE_ERR_IO;
	}
	log_info("listening on https://%s:%s", srv->cfg.listen_host, srv->cfg.listen_port);
	return 0;
}

void http_close(struct server *srv)
{
	if (srv->http != NULL)
		evhttp_free(srv->http);
	srv->http = NULL;
}
