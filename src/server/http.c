/* http.c: evhttp setup, TLS per connection, request context and replies. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "srvapi.h"
#include "bounds.h"
#include "connlimit.h"
#include "err.h"
#include "log.h"
#include "longpoll.h"
#include "server.h"

/* Idle connections and slow clients are cut after this, which must be
 * longer than any long-poll hold. */
#define HTTP_SERVER_EXTRA_TIMEOUT_S 30
/* Retry-After of a 503 for a failed store: a lock is usually soon released;
 * a full disk or an I/O error needs someone to act. */
#define HTTP_STORE_BUSY_RETRY_S 2
#define HTTP_STORE_RETRY_S 10
/* From accept to a whole first request (TLS handshake, head and body): a
 * connection that has sent nothing useful by then is cut. */
#define HTTP_HEAD_TIMEOUT_S 10

/* One accepted connection, tied to its SSL object so that it is counted
 * from evhttp's accept until OpenSSL frees the object with the connection
 * (evhttp 2.1 tells neither the peer nor the end of a connection). */
struct http_conn {
	struct server *srv;              /* NULL once the front is closing */
	struct http_conn *prev, *next;   /* http_conns */
	struct bufferevent *bev;
	struct event *deadline;          /* handshake and first request head */
	struct connlimit_addr addr;
	int classified;                  /* its peer was looked at */
	int counted;                     /* connlimit_open succeeded */
	int linked;                      /* in http_conns (counted in http_nconns) */
	int served;                      /* a first request came */
	uint64_t id;                     /* never 0 */
	char device[MAX_NAME_BYTES];     /* whose long-polls it carries (tagged) */
};

static uint64_t http_conn_ids;           /* the last id given */
static int http_conn_idx = -1;           /* SSL ex_data slot for struct http_conn */
static struct http_conn *http_conns;     /* this process's one HTTP front */
static long http_nconns;                 /* in http_conns: accepted, not yet freed */
static struct evconnlistener *http_listener;
static int http_full;                    /* accept paused at the overall limit */
static struct connlimit *http_limits;    /* for the listener's error callback */

static void http_conn_served(struct evhttp_request *req);

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
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : "Error";
	}
}

void http_req_work_begin(struct http_req *r)
{
	r->srv->working = r;
	r->store_fails0 = store_failures(r->srv->store);
	r->audit_fails0 = r->srv->audit_failures;
}

void http_req_work_end(struct server *srv)
{
	srv->working = NULL;
}

/* 1 when the store (audit: the audit trail) failed while r's handler ran. */
static int http_store_failed(const struct http_req *r, int *audit)
{
	const struct server *srv = r->srv;

	*audit = 0;
	if (srv == NULL || srv->working != r)
		return 0;
	*audit = srv->audit_failures != r->audit_fails0;
	return *audit || store_failures(srv->store) != r->store_fails0;
}

/* The store's failure as a 503 with Retry-After instead of status. */
static void http_store_unavailable(struct http_req *r, int audit, const char *was)
{
	const struct store *st = r->srv->store;
	long retry_s = store_failure_busy(st) ? HTTP_STORE_BUSY_RETRY_S : HTTP_STORE_RETRY_S;
	char msg[320];

	if (evhttp_find_header(evhttp_request_get_output_headers(r->ev), "Retry-After") == NULL)
		http_retry_after(r, retry_s);
	snprintf(msg, sizeof(msg), "%s%s; nothing was decided, try again in %ld s",
	         audit ? "the audit trail cannot be written: " : "storage unavailable: ",
	         store_failure_reason(st), retry_s);
	log_warn("%s %s: answering 503 instead of %s: %s", r->method_name, r->path, was, msg);
	r->srv->working = NULL;       /* answered once */
	http_reply(r, 503, json_pack("{s:s, s:s}", "error", "store_unavailable",
	                             "message", msg));
}

void http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	if (r->srv != NULL && r->srv->working == r)
		r->srv->working = NULL;
	if (r->body != NULL) {
		/* Bodies may hold passwords and enrollment tokens. */
		OPENSSL_cleanse(r->body, r->body_len);
		free(r->body);
	}
	OPENSSL_cleanse(r->token_hash, sizeof(r->token_hash));
	free(r);
}

struct http_parked {
	struct server *srv;
	struct evhttp_request *ev;
	int method;
	int64_t started_ms;
	int64_t ping_cp_seq, ping_repo_ts;
	char method_name[8];
	char serial[MAX_NAME_BYTES];
	char who[96];
	char path[];                  /* NUL-terminated */
};

struct http_parked *http_req_park(struct http_req *r)
{
	size_t plen = strlen(r->path);
	struct http_parked *p = malloc(sizeof(*p) + plen + 1);

	if (p == NULL)
		return NULL;
	p->srv = r->srv;
	p->ev = r->ev;
	p->method = r->method;
	p->started_ms = r->started_ms;
	p->ping_cp_seq = r->ping_cp_seq;
	p->ping_repo_ts = r->ping_repo_ts;
	memcpy(p->method_name, r->method_name, sizeof(p->method_name));
	memcpy(p->serial, r->device.serial, sizeof(p->serial));
	memcpy(p->who, r->who, sizeof(p->who));
	memcpy(p->path, r->path, plen + 1);
	http_req_free(r);
	return p;
}

struct http_req *http_req_unpark(struct http_parked *p)
{
	struct http_req *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		evhttp_send_error(p->ev, 503, "Out of memory");
		log_error("%s %s: out of memory for a held request's answer", p->method_name,
		          p->path);
		free(p);
		return NULL;
	}
	r->srv = p->srv;
	r->ev = p->ev;
	r->method = p->method;
	r->started_ms = p->started_ms;
	r->ping_cp_seq = p->ping_cp_seq;
	r->ping_repo_ts = p->ping_repo_ts;
	memcpy(r->method_name, p->method_name, sizeof(r->method_name));
	memcpy(r->device.serial, p->serial, sizeof(r->device.serial));
	memcpy(r->who, p->who, sizeof(r->who));
	snprintf(r->path, sizeof(r->path), "%s", p->path);
	free(p);
	return r;
}

struct evhttp_request *http_parked_ev(const struct http_parked *p)
{
	return p->ev;
}

void http_parked_free(struct http_parked *p)
{
	free(p);
}

void http_reply(struct http_req *r, int status, json_t *body)
{
	struct evbuffer *buf;
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(r->ev);
	char *text;
	int audit;

	/* Done, but not recorded: the caller must not take it as done. */
	if (status >= 200 && status < 300 && http_store_failed(r, &audit) && audit) {
		json_decref(body);
		http_store_unavailable(r, 1, "a success");
		return;
	}
	buf = evbuffer_new();

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
	/* A load balancer's health checks every few seconds are not news. */
	log_msg(status == 200 && strcmp(r->path, "/healthz") == 0 ? LOG_LVL_DEBUG : LOG_LVL_INFO,
	        "%s %s %d %s %lldms", r->method_name, r->path, status,
	        r->who[0] ? r->who : "-", (long long)(http_now_ms() - r->started_ms));
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));   /* may hold a token or ticket */
		free(text);
	}
	evbuffer_free(buf);
	http_req_free(r);
}

void http_reply_file(struct http_req *r, const char *ctype, int fd, int64_t size)
{
	http_reply_file_range(r, ctype, fd, 0, size, size);
}

void http_reply_file_range(struct http_req *r, const char *ctype, int fd, int64_t first,
                           int64_t len, int64_t total)
{
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(r->ev);
	struct evbuffer *buf = evbuffer_new();
	int partial = first != 0 || len != total;
	char range[96];

	if (buf == NULL || evbuffer_add_file(buf, fd, (ev_off_t)first, (ev_off_t)len) != 0) {
		if (buf != NULL)
			evbuffer_free(buf);
		else
			close(fd);
		http_error(r, 503, "internal", "cannot send the file");
		return;
	}
	evhttp_add_header(hdrs, "Content-Type", ctype);
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	evhttp_add_header(hdrs, "Accept-Ranges", "bytes");
	if (partial) {
		snprintf(range, sizeof(range), "bytes %lld-%lld/%lld", (long long)first,
		         (long long)(first + len - 1), (long long)total);
		evhttp_add_header(hdrs, "Content-Range", range);
	}
	evhttp_send_reply(r->ev, partial ? 206 : 200, partial ? "Partial Content" : "OK", buf);
	log_msg(LOG_LVL_INFO, "%s %s %d %s %lldms %lld bytes", r->method_name, r->path,
	        partial ? 206 : 200, r->who[0] ? r->who : "-",
	        (long long)(http_now_ms() - r->started_ms), (long long)len);
	evbuffer_free(buf);
	http_req_free(r);
}

void http_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512], was[16];
	va_list ap;
	int audit;

	/* 400, 405 and 413 judge the request's form, which no store decides. */
	if (status >= 400 && status != 400 && status != 405 && status != 413 &&
	    http_store_failed(r, &audit)) {
		snprintf(was, sizeof(was), "%d", status);
		http_store_unavailable(r, audit, was);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply(r, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

void http_peer_addr(struct http_req *r, char *out, size_t outsz)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(out, outsz, "%s", addr != NULL && addr[0] != '\0' ? addr : "unknown");
}

void http_retry_after(struct http_req *r, long secs)
{
	char text[24];

	snprintf(text, sizeof(text), "%ld", secs);
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Retry-After", text);
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

const uint8_t *http_req_raw_body(struct http_req *r, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);

	*len = evbuffer_get_length(in);
	return *len == 0 ? (const uint8_t *)"" : evbuffer_pullup(in, -1);
}

void http_req_allow_uploads(struct http_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);

	if (evcon != NULL)
		evhttp_connection_set_max_body_size(evcon, MAX_HTTP_UPLOAD_BYTES);
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

	http_conn_served(req);
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
	r->ping_cp_seq = -1;
	r->ping_repo_ts = -1;
	r->started_ms = http_now_ms();
	r->method = (int)evhttp_request_get_command(req);
	snprintf(r->method_name, sizeof(r->method_name), "%s", http_method_name(r->method));
	snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
	http_peer(r);
	if (path == NULL || strlen(path) >= sizeof(r->path)) {
		http_error(r, 404, "not_found", "no such endpoint; see docs/protocol.md");
		return;
	}
	/* A PUT's body is raw bytes the handler takes from evhttp's buffer
	 * (http_req_raw_body), bounded by the connection's limit; any other
	 * body is copied, JSON of at most MAX_HTTP_BODY_BYTES. */
	if (r->method == EVHTTP_REQ_PUT ? (r->body = calloc(1, 1)) == NULL :
	    http_copy_body(r) != 0) {
		http_error(r, 413, "too_large", "request body exceeds %d bytes", MAX_HTTP_BODY_BYTES);
		return;
	}
	http_req_work_begin(r);
	api_dispatch(r);
	http_req_work_end(srv);
}

/* Cut a connection evhttp owns: shutdown() makes its next read see the
 * end, and evhttp then frees it (and with it the SSL and our record). */
static void http_conn_cut(struct http_conn *c)
{
	evutil_socket_t fd = c->bev ? bufferevent_getfd(c->bev) : -1;

	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

/* At the overall limit, accept stops until a connection closes: a peer
 * waits in the listen queue instead of being accepted only to be closed,
 * and the descriptors the limit leaves for the store, logs and relay
 * checks stay free. Checked as each connection is accepted, because one
 * turn of libevent's accept loop takes all that is queued. */
static void http_pause_if_full(void)
{
	if (http_listener == NULL || http_full || http_limits == NULL ||
	    http_nconns < connlimit_max_total(http_limits))
		return;
	evconnlistener_disable(http_listener);
	http_full = 1;
	connlimit_note_full(http_limits);
}

static void http_resume_if_room(void)
{
	if (!http_full || http_listener == NULL || http_nconns >= connlimit_max_total(http_limits))
		return;
	http_full = 0;
	evconnlistener_enable(http_listener);
}

static void http_conn_unlink(struct http_conn *c)
{
	if (c->linked)
		http_nconns--;
	c->linked = 0;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (http_conns == c)
		http_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->deadline != NULL)
		event_free(c->deadline);
	c->deadline = NULL;
}

/* OpenSSL's ex_data free callback: the connection is gone. */
static void http_conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                              long argl, void *argp)
{
	struct http_conn *c = ptr;

	if (c == NULL)
		return;
	if (c->srv != NULL) {
		if (c->device[0] != '\0')
			longpoll_conn_closed(c->srv->lp, c->device, c->id);
		if (c->counted)
			connlimit_close(c->srv->limits, &c->addr, c->served);
		http_conn_unlink(c);
		http_resume_if_room();
	}
	free(c);
}

static void http_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	if (c->served)
		return;
	log_debug("https: no request within %d s of connecting; closing", HTTP_HEAD_TIMEOUT_S);
	http_conn_cut(c);
}

/* Runs on the loop right after evhttp accepted: only then is the socket
 * set on the bufferevent, so only then can the peer be read. */
static void http_classify_cb(evutil_socket_t unused, short what, void *arg)
{
	struct server *srv = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	for (struct http_conn *c = http_conns; c != NULL; c = c->next) {
		evutil_socket_t fd;

		if (c->classified || (fd = bufferevent_getfd(c->bev)) < 0)
			continue;
		c->classified = 1;
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 ||
		    connlimit_open(srv->limits, (struct sockaddr *)&ss, &c->addr) != 0) {
			http_conn_cut(c);
			continue;
		}
		c->counted = 1;
		/* evhttp writes a reply's head and body as two TLS records; with
		 * Nagle the second waits for the client's delayed ACK (~40 ms). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

static struct http_conn *http_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, http_conn_idx) : NULL;
}

uint64_t http_req_conn_tag(struct http_req *r, const char *serial)
{
	struct http_conn *c = http_conn_of(r->ev);

	if (c == NULL || c->srv == NULL)
		return 0;
	snprintf(c->device, sizeof(c->device), "%s", serial);
	return c->id;
}

static void http_conn_served(struct evhttp_request *req)
{
	struct http_conn *c = http_conn_of(req);

	if (c == NULL || c->served || c->srv == NULL)
		return;
	c->served = 1;
	if (c->counted)
		connlimit_served(c->srv->limits, &c->addr);
	if (c->deadline != NULL)
		evtimer_del(c->deadline);
}

static struct http_conn *http_conn_new(struct server *srv, SSL *ssl)
{
	struct timeval tv = { HTTP_HEAD_TIMEOUT_S, 0 };
	struct http_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->deadline = evtimer_new(srv->base, http_conn_deadline_cb, c)) == NULL ||
	    SSL_set_ex_data(ssl, http_conn_idx, c) != 1) {
		if (c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return NULL;
	}
	c->srv = srv;
	c->id = ++http_conn_ids;
	c->next = http_conns;
	if (http_conns != NULL)
		http_conns->prev = c;
	http_conns = c;
	c->linked = 1;
	http_nconns++;
	srv->counts.https_conns++;
	http_pause_if_full();
	evtimer_add(c->deadline, &tv);
	event_active(srv->http_classify_ev, EV_TIMEOUT, 0);
	return c;
}

static struct bufferevent *http_bevcb(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct bufferevent *bev;
	struct http_conn *c;
	SSL *ssl = SSL_new(srv->tls);

	if (ssl == NULL)
		return NULL;
	if ((c = http_conn_new(srv, ssl)) == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);   /* frees c through the ex_data callback */
		return NULL;
	}
	c->bev = bev;
	/* Clients that drop the TCP connection without close_notify are common
	 * and harmless here: every body has a length. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void http_accept_error_cb(struct evconnlistener *l, void *arg)
{
	if (http_limits != NULL)
		connlimit_accept_failed(http_limits, l);
}

static int http_limits_new(struct server *srv)
{
	struct connlimit_conf c = {
		srv->cfg.max_connections, srv->cfg.max_connections_per_addr,
		srv->cfg.max_handshakes_per_addr,
	};
	int rc;

	if (http_conn_idx < 0 &&
	    (http_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, http_conn_free_cb)) < 0)
		return TE_ERR_CRYPTO;
	if ((rc = connlimit_new(srv->base, "https", &c, &srv->limits)) != 0)
		return rc;
	if ((srv->http_classify_ev = event_new(srv->base, -1, 0, http_classify_cb, srv)) == NULL)
		return TE_ERR_NOMEM;
	http_limits = srv->limits;
	log_info("https: at most %ld connections (%ld per address, %ld of them before their"
	         " first request)", connlimit_max_total(srv->limits), c.max_per_addr,
	         c.max_pending_per_addr);
	return 0;
}

int http_listen(struct server *srv)
{
	struct evhttp_bound_socket *bound;
	int rc;

	if ((rc = http_limits_new(srv)) != 0)
		return rc;
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
	bound = evhttp_bind_socket_with_handle(srv->http, srv->cfg.listen_host,
	                                       (ev_uint16_t)atoi(srv->cfg.listen_port));
	if (bound == NULL) {
		log_error("cannot listen on %s:%s (in use, or not an address of this host)",
		          srv->cfg.listen_host, srv->cfg.listen_port);
		return TE_ERR_IO;
	}
	/* Out of descriptors, accept backs off instead of spinning. */
	http_listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(http_listener, http_accept_error_cb);
	log_info("listening on https://%s:%s", srv->cfg.listen_host, srv->cfg.listen_port);
	return 0;
}

void http_close(struct server *srv)
{
	/* Connections evhttp frees from here on are no longer counted. */
	http_listener = NULL;
	http_full = 0;
	while (http_conns != NULL) {
		struct http_conn *c = http_conns;

		http_conn_unlink(c);
		c->srv = NULL;
	}
	if (srv->http != NULL)
		evhttp_free(srv->http);
	srv->http = NULL;
	if (srv->http_classify_ev != NULL)
		event_free(srv->http_classify_ev);
	srv->http_classify_ev = NULL;
	http_limits = NULL;
	connlimit_free(srv->limits);
	srv->limits = NULL;
}
