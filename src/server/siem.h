/* siem.h: the audit trail exported to a SIEM (issue 9, section 5).
 *
 * Two sinks, each with its own cursor in the store (migration 18), each
 * fed from the audit table in seq order in batches of SIEM_BATCH records,
 * so records appended by the admin commands' own processes go out too:
 *
 *  - syslog over TLS (siem.syslog, siem.syslog_ca): RFC 5424 messages with
 *    RFC 5425 octet-counted framing. A batch goes over a fresh connection,
 *    verified against the configured CA only, with the receiver's name (or
 *    address) checked. After the batch the server sends TLS close_notify
 *    and shuts its side; the receiver closing the connection in turn means
 *    it has read the whole batch, and only then the cursor moves. A batch
 *    not so closed within SIEM_TIMEOUT_S is sent again after a backoff
 *    (SIEM_BACKOFF_MIN_S doubling to SIEM_BACKOFF_MAX_S): at least once,
 *    never lost. Receivers drop duplicates by the seq in the structured
 *    data, [tether@32473 seq="N" hash="H" prev="P"], and can check the
 *    chain with hash and prev.
 *
 *  - a JSON-lines file (siem.jsonl): one record per line, written and
 *    fsync'd before the cursor moves; past siem.jsonl_max_bytes it is
 *    renamed to FILE.1 (FILE.1 to FILE.2, ..., siem.jsonl_keep kept) between
 *    batches, so no line is ever split across files.
 *
 * A server killed between sending and moving a cursor sends that batch
 * again at its next start. */
#ifndef TETHER_SERVER_SIEM_H
#define TETHER_SERVER_SIEM_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"

#define SIEM_BATCH          500      /* records per batch */
#define SIEM_POLL_MS        1000     /* how often new records are looked for */
#define SIEM_TIMEOUT_S      10       /* one syslog batch, connect to close */
#define SIEM_BACKOFF_MIN_S  1
#define SIEM_BACKOFF_MAX_S  60
#define SIEM_PEN            "32473"  /* the SD-ID's enterprise number (RFC 5612) */
#define SIEM_FACILITY       10       /* authpriv: security and authorization */
#define SIEM_SEVERITY       5        /* notice */

struct server;
struct siem;

/* Start the sinks configured in srv->cfg.siem (none: nothing runs). The
 * syslog CA is loaded and the JSON-lines file opened here, before the
 * server drops its privileges. */
int siem_start(struct server *srv);
/* Export what the JSON-lines sink has not yet (the server's last records
 * at its stop), then stop. NULL-safe; srv->siem is NULL afterwards. */
void siem_stop(struct server *srv);

/* Pure, for the exporter and its unit test. */

/* The record as one JSON object (detail parsed when it is JSON), compact,
 * without a newline; malloc'd, NULL on allocation failure. */
char *siem_json(const struct audit_record *rec);
/* One RFC 5425 frame, "LEN SP MSG", of the RFC 5424 message for rec from
 * host (the server's public name) and pid; malloc'd, *len its length. */
char *siem_frame(const struct audit_record *rec, const char *host, long pid, size_t *len);

#endif
