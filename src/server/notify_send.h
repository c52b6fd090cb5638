/* notify_send.h: the two ways a notification leaves the server, both on the
 * server's event loop so that a slow receiver never blocks the API:
 *
 *   notify_hook  one HTTP(S) POST per attempt to notify.webhook_url, with the
 *                X-Tether-* headers (docs/protocol.md, "Notifications");
 *   notify_cmd   notify.command run without a shell, the body on its stdin.
 *
 * Each runs at most one attempt at a time and reports it once through a
 * notify_done_cb; both give up after NOTIFY_TIMEOUT_S. Internal to
 * src/server (notify.c drives them). */
#ifndef TETHER_SERVER_NOTIFY_SEND_H
#define TETHER_SERVER_NOTIFY_SEND_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

/* ok is 1 when the receiver accepted the notification (2xx, or exit 0);
 * otherwise err says why, for the log and last_error. */
typedef void (*notify_done_cb)(int ok, const char *err, void *arg);

struct notify_hook;

/* url is http://HOST[:PORT][/PATH] or https://...; https needs ca_file, the
 * only trust anchor used (never the system store, never no verification).
 * TE_ERR_INVALID with errbuf set for a bad URL or CA file. */
int notify_hook_new(struct event_base *base, const char *url, const char *ca_file,
                    struct notify_hook **out, char *errbuf, size_t errsz);
/* Abandons an attempt in flight without calling back. NULL-safe. */
void notify_hook_free(struct notify_hook *h);
/* POST body with the given headers' values; sig_hex is the HMAC as hex.
 * TE_ERR_INVALID while an attempt is in flight. */
int notify_hook_post(struct notify_hook *h, const char *event, int64_t id,
                     int64_t timestamp, const char *sig_hex, const char *body,
                     notify_done_cb cb, void *arg);

struct notify_cmd;

/* path is absolute (srvconf checks it). */
int notify_cmd_new(struct event_base *base, const char *path, struct notify_cmd **out);
/* Kills and reaps a command still running, without calling back. NULL-safe. */
void notify_cmd_free(struct notify_cmd *c);
/* Run the command with body on stdin and TETHER_EVENT / TETHER_DELIVERY in
 * its environment; exit status 0 is success. TE_ERR_INVALID while one runs. */
int notify_cmd_run(struct notify_cmd *c, const char *event, int64_t id,
                   const char *body, notify_done_cb cb, void *arg);

#endif
