/* apiq.h: a FIFO of requests to the server over one httpc: JSON POSTs, and
 * the raw PUTs of data-file uploads.
 *
 * httpc allows one request in flight; the ping loop owns its own httpc for
 * the long-poll, and consent answers and session-end reports go through
 * this queue so they never wait behind a held long-poll. */
#ifndef TETHER_APIQ_H
#define TETHER_APIQ_H

#include <event2/event.h>
#include <openssl/ssl.h>

#include "httpc.h"

struct apiq;

/* proxy: an HTTP CONNECT proxy URL, or NULL to connect directly. */
int apiq_new(struct event_base *base, const char *base_url, const char *proxy,
             SSL_CTX *ctx, struct apiq **out);
/* Every request still queued or in flight gets its callback with status 0
 * and err "agent shutting down", so callers can free what arg owns. */
void apiq_free(struct apiq *q);
/* Queue a POST (body is copied). cb may be NULL (fire and forget; the
 * outcome is logged). */
int apiq_post(struct apiq *q, const char *path, const char *json_body,
              httpc_cb cb, void *arg);
/* Queue a PUT of len bytes (application/octet-stream; at most
 * MAX_HTTP_UPLOAD_BYTES). The bytes are borrowed, not copied: they must stay
 * valid and unchanged until cb has run, which it always does (with status 0
 * from apiq_free). */
int apiq_put_bytes(struct apiq *q, const char *path, const void *body, size_t len,
                   httpc_cb cb, void *arg);
/* Keep the connection between requests (httpc_set_keepalive): only for a
 * queue whose every request may be sent twice. */
void apiq_set_keepalive(struct apiq *q, int on);
/* 1 when one connection carries the queue's requests one after another. */
int apiq_keeps_connection(const struct apiq *q);

#endif
