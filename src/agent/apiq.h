/* apiq.h: a FIFO of JSON POSTs to the server over one httpc.
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

#endif
