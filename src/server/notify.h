/* notify.h: customer notifications, queued durably in the store (the
 * "notifications" outbox) and delivered in the background by the running
 * server to a signed webhook and/or a local command, with retries and
 * exponential backoff. Nothing queued is lost across a restart: whatever is
 * still pending is tried again when `tether-server run` starts. */
#ifndef TETHER_SERVER_NOTIFY_H
#define TETHER_SERVER_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NOTIFY_EVENT_BYTES      48     /* "approval_requested", ... */
#define NOTIFY_MAX_BODY_BYTES   (16 * 1024) /* one notification's JSON body */
#define NOTIFY_ERROR_BYTES      160    /* last_error kept per notification */
#define NOTIFY_TIMEOUT_S        10     /* one webhook request or command run */
#define NOTIFY_MAX_SECRET_BYTES 1024   /* notify.webhook_secret_file */
#define NOTIFY_SIG_HEX_BYTES    65     /* SHA-256 as hex + NUL */

struct server;
struct notifier;

/* Queue one notification durably (in the store, its own transaction) and
 * kick the deliverer. event: "escalation_notice", "approval_requested",
 * "site_remote_off", "site_remote_on", "approval_decided", ... site may be
 * "". payload is stolen. 0 or a negative te_err. Call it outside any store
 * transaction of your own. The body is {"id","event","site","created_at",
 * ...payload}: the notification's own id wins over a payload "id". */
int notify_enqueue(struct server *srv, const char *event, const char *site, json_t *payload);

/* Queue without a running server (administrator commands): the running
 * server finds the row at its next poll. *id receives the new id. event is
 * [a-z0-9_.-]+, site "" or a name; payload (stolen) must be an object (NULL,
 * e.g. from a json_pack that failed, is TE_ERR_INVALID). */
struct store;
int notify_queue(struct store *st, const char *event, const char *site,
                 json_t *payload, int64_t *id);

/* Start the deliverer on srv->base (after the store is open): checks the
 * notify.* settings (a webhook secret file that is missing or readable by
 * group/others is an error), then retries whatever is pending. Logs once
 * when neither a webhook nor a command is configured. */
int notify_start(struct server *srv);
/* Stop delivering (a request in flight is abandoned and retried at the next
 * start); srv->notify is NULL afterwards. NULL-safe. */
void notify_stop(struct server *srv);

/* The pieces below are pure, for the deliverer and its unit test. */

/* The notification's body: {"id","event","site","created_at", ...payload}
 * (payload keys never override the first four). NULL on allocation failure. */
json_t *notify_body(int64_t id, const char *event, const char *site,
                    int64_t created_at, const json_t *payload);
/* HMAC-SHA256(key, timestamp + "." + body) as lower-case hex. */
int notify_sign(const unsigned char *key, size_t keylen, int64_t timestamp,
                const char *body, size_t bodylen, char out[NOTIFY_SIG_HEX_BYTES]);
/* Seconds to wait after the attempts-th failed attempt (1-based):
 * min(max_s, base_s * 2^(attempts-1)), of which the upper quarter is
 * replaced by jitter drawn from rnd, so the result lies in
 * [3/4 * that, that] and is at least 1. */
long notify_backoff_s(long base_s, long max_s, int attempts, uint32_t rnd);

#endif
