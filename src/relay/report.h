/* report.h: session start/end reports to the server
 * (POST /api/v1/relay/event, docs/protocol.md).
 *
 * Reports are queued and sent one at a time on the relay's event loop; a
 * failed report is retried with backoff and then dropped with a log line.
 * Nothing here ever blocks or fails the splicing of a session. */
#ifndef TETHER_RELAY_REPORT_H
#define TETHER_RELAY_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "relayaudit.h"

#define RELAY_REPORT_QUEUE_MAX  256  /* queued reports; the oldest is dropped beyond */
#define RELAY_REPORT_ATTEMPTS   5    /* tries per report before it is dropped */
#define RELAY_REPORT_PATH       "/api/v1/relay/event"

struct relay_report;

/* server_url like "https://127.0.0.1:8443"; NULL or "" disables reporting
 * (reports are then only logged). ctx carries the relay's client certificate
 * and the deployment CA; it is borrowed. */
int relay_report_new(struct event_base *base, const char *server_url,
                     SSL_CTX *ctx, struct relay_report **out);
/* Cancels the request in flight; unsent reports are logged and dropped. */
void relay_report_free(struct relay_report *r);
/* Queue one event ("start" or "end"). Returns 0 or TE_ERR_NOMEM. */
int relay_report_event(struct relay_report *r, const char *session,
                       const char *event, uint64_t bytes_device_to_client,
                       uint64_t bytes_client_to_device, const char *reason);
/* Every report from now on carries "audit_head" (the log at path, read when
 * the event is queued) and "audit_open" (*open: its head when this process
 * opened it, before relay_start). path is copied. TE_ERR_NOMEM or 0. */
int relay_report_set_audit(struct relay_report *r, const char *path,
                           const struct relay_audit_head *open);
/* Keep the server's signed audit checkpoint each answer carries
 * (docs/protocol.md): verified with the Ed25519 key at pub_path, kept at
 * keep_path, never replaced by a lower one; a refused one is logged and
 * passed once to audit(arg, action, detail). pub_path missing (a relay
 * folder from before checkpoints): 0, said once, nothing kept. */
int relay_report_set_checkpoint(struct relay_report *r, const char *pub_path,
                                const char *keep_path,
                                void (*audit)(void *arg, const char *action, json_t *detail),
                                void *arg);
/* Reports queued or in flight. */
size_t relay_report_pending(const struct relay_report *r);

#endif
