/* report.h: session start/end reports to the server
 * (POST /api/v1/relay/event, docs/protocol.md).
 *
 * Reports are spooled on disk (spool.h, in AUDIT_LOG.reports/) before they
 * are queued, sent one at a time on the relay's event loop, retried with
 * backoff until the server acknowledges them, and only then removed; a
 * restart sends what the last run left. Each carries a random "id" so that
 * the server takes a report delivered twice once. Nothing here ever blocks
 * or fails the splicing of a session. */
#ifndef TETHER_RELAY_REPORT_H
#define TETHER_RELAY_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "relayaudit.h"
#include "spool.h"

#define RELAY_REPORT_QUEUE_MAX  SPOOL_MAX_ITEMS  /* the oldest is dropped beyond */
#define RELAY_REPORT_ID_BYTES   16   /* random bytes of a report's id */
#define RELAY_REPORT_PATH       "/api/v1/relay/event"
#define RELAY_SPOOL_SUFFIX      ".reports"   /* the spool is AUDIT_LOG.reports/ */

struct relay_report;

/* server_url like "https://127.0.0.1:8443"; NULL or "" disables reporting
 * (reports are then only logged). ctx carries the relay's client certificate
 * and the deployment CA; it is borrowed. */
int relay_report_new(struct event_base *base, const char *server_url,
                     SSL_CTX *ctx, struct relay_report **out);
/* Cancels the request in flight; unsent reports stay in the spool (if any). */
void relay_report_free(struct relay_report *r);
/* Queue one event ("start" or "end"). Returns 0 or TE_ERR_NOMEM. */
int relay_report_event(struct relay_report *r, const char *session,
                       const char *event, uint64_t bytes_device_to_client,
                       uint64_t bytes_client_to_device, const char *reason);
/* The same for connection conn of the session (ticket "cn"; 0: the first,
 * and no "conn" member is sent). */
int relay_report_conn_event(struct relay_report *r, const char *session, int64_t conn,
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
/* Keep reports in the folder spool_path (made 0700, given to owner when
 * root) and queue, ahead of any new one, those a former run left there.
 * Without this call reports live in memory only. */
int relay_report_set_spool(struct relay_report *r, const char *spool_path,
                           const char *owner);
/* Reports queued or in flight. */
size_t relay_report_pending(const struct relay_report *r);

#endif
