/* http.h: the HTTPS front of the server on libevent's evhttp with OpenSSL
 * bufferevents. One struct http_req per request carries the parsed request
 * and who sent it until a reply (which frees it) or a closed connection. */
#ifndef TETHER_SERVER_HTTP_H
#define TETHER_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "store.h"
#include "tls.h"

struct server;

struct http_req {
	struct server *srv;
	struct evhttp_request *ev;
	int method;                           /* EVHTTP_REQ_*; the router answers 405 to any but GET / POST */
	char method_name[8];
	char path[256];
	char arg[MAX_NAME_BYTES];             /* the route's captured segment */
	char *body;                           /* NUL-terminated copy, may be ""; ""
	                                       * for a PUT (http_req_raw_body) */
	size_t body_len;
	int have_peer;                        /* a verified client certificate */
	struct tls_peer peer;
	struct store_user user;               /* user endpoints, after auth */
	char token_hash[SHA256_HEX_BYTES];
	struct store_device device;           /* device endpoints, after auth */
	int64_t ping_cp_seq;                  /* a ping's "checkpoint_seq"; -1: none */
	int64_t ping_repo_ts;                 /* a ping's "repo_timestamp"; -1: none */
	struct store_relay relay;             /* relay endpoints, after auth */
	char who[96];                         /* for the request log line */
	int64_t started_ms;
	unsigned long store_fails0;           /* store_failures() when its work began */
	unsigned long audit_fails0;           /* srv->audit_failures then */
};

/* Create the evhttp server, TLS on every connection, bound to the config's
 * listen address. */
int http_listen(struct server *srv);
void http_close(struct server *srv);
/* Send status with a JSON body (stolen; NULL sends {}), log, free r. */
void http_reply(struct http_req *r, int status, json_t *body);
/* 200 with size bytes of the open file fd (taken: closed when sent) as
 * ctype, then free r. */
void http_reply_file(struct http_req *r, const char *ctype, int fd, int64_t size);
/* len bytes of fd from first, of a file of total bytes: 206 with
 * Content-Range unless that is the whole file (200). fd is taken. */
void http_reply_file_range(struct http_req *r, const char *ctype, int fd, int64_t first,
                           int64_t len, int64_t total);
/* {"error": code, "message": ...}, then as http_reply. */
void http_error(struct http_req *r, int status, const char *code,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* r's handler starts (or resumes, after a worker) on the loop: until
 * http_req_work_end, an answer to r checks whether the store or the audit
 * trail failed meanwhile. A 4xx then becomes 503 with the store's reason
 * and Retry-After (a failure to read or write is never a verdict on the
 * caller's credentials or request), and a 2xx whose audit record could not
 * be written becomes 503 too. */
void http_req_work_begin(struct http_req *r);
void http_req_work_end(struct server *srv);
/* Free without replying (the connection is already gone). */
void http_req_free(struct http_req *r);
/* A held request kept small: what its answer needs (the server, the
 * libevent request, the log line's fields, a ping's checkpoint seq and the
 * device's serial), not the whole context above, 7.7 KB of which 6 KB is
 * the device's record. http_req_park frees r and returns the small copy
 * (NULL when out of memory, r untouched); http_req_unpark makes a request
 * from it again, with only those fields set, and frees p (NULL when out of
 * memory: p's client was answered 503). */
struct http_parked;
struct http_parked *http_req_park(struct http_req *r);
struct http_req *http_req_unpark(struct http_parked *p);
struct evhttp_request *http_parked_ev(const struct http_parked *p);
void http_parked_free(struct http_parked *p);
/* Tag r's connection as carrying device serial's long-polls; when it closes,
 * longpoll_conn_closed hears of it. Returns the connection's id (never 0),
 * or 0 when r has no connection of ours. */
uint64_t http_req_conn_tag(struct http_req *r, const char *serial);
/* The connection's source address ("unknown" when libevent has none). */
void http_peer_addr(struct http_req *r, char *out, size_t outsz);
/* Add "Retry-After: secs" to r's answer (before http_reply / http_error). */
void http_retry_after(struct http_req *r, long secs);
/* A PUT's body, raw (r->body is "" for a PUT): *len bytes, valid until r
 * is answered; NULL when out of memory. */
const uint8_t *http_req_raw_body(struct http_req *r, size_t *len);
/* r came from a device whose certificate and registration were checked:
 * later requests on its connection may carry up to MAX_HTTP_UPLOAD_BYTES
 * (a data file's raw chunks); a connection's first request never can, so
 * nobody unauthenticated makes the server hold more than
 * MAX_HTTP_BODY_BYTES. */
void http_req_allow_uploads(struct http_req *r);
/* The Authorization bearer token, or NULL. Points into the request headers. */
const char *http_bearer(struct http_req *r);

#endif
