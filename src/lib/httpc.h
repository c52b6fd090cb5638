/* httpc.h: a thin HTTPS (mostly JSON) client on libevent's evhttp and OpenSSL
 * bufferevents, shared by the agent, the relay and the CLI; optionally
 * through an HTTP CONNECT proxy.
 *
 * The server's certificate is verified against the deployment CA given in
 * the SSL_CTX and its name against the URL's host. Responses larger than
 * MAX_HTTP_BODY_BYTES are refused. Each request has a connection of its own
 * unless keep-alive is turned on (httpc_set_keepalive). */
#ifndef TETHER_HTTPC_H
#define TETHER_HTTPC_H

#include <stddef.h>
#include <event2/event.h>
#include <openssl/ssl.h>

struct httpc;

/* status is the HTTP status, or 0 with err set when no response arrived.
 * body is NUL-terminated (may be empty), valid only during the callback. */
typedef void (*httpc_cb)(int status, const char *body, size_t len,
                         const char *err, void *arg);

/* base_url like "https://127.0.0.1:8443". The ctx is borrowed (up-ref'd). */
int httpc_new(struct event_base *base, const char *base_url, SSL_CTX *ctx,
              struct httpc **out);
void httpc_free(struct httpc *h);
/* Seconds before a request without a response fails (default HTTP_TIMEOUT_S);
 * applies from the next request on, on a kept connection too. */
void httpc_set_timeout(struct httpc *h, int seconds);
/* Asynchronous request. bearer and body may be NULL. At most one request is
 * in flight per httpc; a second one before the first completes fails with
 * TE_ERR_INVALID. */
int httpc_request(struct httpc *h, const char *method, const char *path,
                  const char *bearer, const char *json_body, httpc_cb cb,
                  void *arg);
/* The same with a body of any type: bodylen bytes of ctype (a media type
 * without control characters or spaces), at most MAX_HTTP_UPLOAD_BYTES; a
 * server takes more than MAX_HTTP_BODY_BYTES only where it says so. */
int httpc_request_raw(struct httpc *h, const char *method, const char *path,
                      const char *bearer, const char *ctype, const void *body,
                      size_t bodylen, httpc_cb cb, void *arg);
/* Send later requests through an HTTP CONNECT proxy,
 * "http://[user:pass@]host:port" (Basic credentials, see httpproxy.h);
 * NULL or "" goes direct again. The URL is copied and its credentials are
 * wiped in httpc_free. TE_ERR_INVALID for a bad URL or while a request is in
 * flight. Through a proxy, responses must carry Content-Length or end with
 * the connection; chunked ones are refused with an error. */
int httpc_set_proxy(struct httpc *h, const char *proxy_url);
/* Keep the connection open between requests (HTTP/1.1 keep-alive), for a
 * client that asks again and again, like the agent's ping. A request that
 * finds its kept connection closed by the server before any answer came is
 * sent once more on a new connection, so only use this where sending a
 * request twice is harmless. Off by default; not used through a proxy. */
void httpc_set_keepalive(struct httpc *h, int on);
/* The caller promises that each request's body stays valid and unchanged
 * until its callback has run (or httpc_cancel / httpc_free): with keep-alive
 * the body is then not copied to be sent again, only into the connection's
 * buffer. For large uploads (apiq). */
void httpc_borrow_bodies(struct httpc *h, int on);
/* 1 when one connection carries request after request: keep-alive on and
 * no proxy (a tunnel is made for each request). */
int httpc_keeps_connection(const struct httpc *h);
/* Connections this httpc has opened so far. */
unsigned long httpc_connections(const struct httpc *h);
/* Cancel the request in flight, if any; its callback is not called. */
void httpc_cancel(struct httpc *h);

/* Blocking convenience for the CLI: runs its own event_base. *body is
 * malloc'd (caller frees). Returns 0 when a response arrived (any status). */
int httpc_request_sync(const char *base_url, SSL_CTX *ctx, const char *method,
                       const char *path, const char *bearer,
                       const char *json_body, int timeout_s, int *status,
                       char **body, char *errbuf, size_t errsz);
/* The same through an HTTP CONNECT proxy (NULL or "" for none). */
int httpc_request_sync_via(const char *base_url, const char *proxy_url,
                           SSL_CTX *ctx, const char *method, const char *path,
                           const char *bearer, const char *json_body,
                           int timeout_s, int *status, char **body,
                           char *errbuf, size_t errsz);

/* The same with a body of any type (httpc_request_raw): len bytes of ctype. */
int httpc_request_sync_raw(const char *base_url, const char *proxy_url,
                           SSL_CTX *ctx, const char *method, const char *path,
                           const char *bearer, const char *ctype, const void *data,
                           size_t len, int timeout_s, int *status, char **body,
                           char *errbuf, size_t errsz);

#endif
