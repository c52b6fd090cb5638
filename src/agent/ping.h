/* ping.h: the agent's ping loop (POST /api/v1/ping) on libevent.
 *
 * Long-poll by default ("wait": true, the server holds the request up to
 * LONGPOLL_HOLD_S); with longpoll = no a short poll every
 * SHORTPOLL_INTERVAL_S. Failures back off exponentially with jitter between
 * BACKOFF_MIN_S and BACKOFF_MAX_S. Events go to the consent module. */
#ifndef TETHER_PING_H
#define TETHER_PING_H

#include <event2/event.h>
#include <openssl/ssl.h>

#include "agentconf.h"
#include "consent.h"
#include "sessrec.h"

/* Minimum spacing of long-polls, so a server that answers at once (a
 * pending request is repeated until answered) cannot make us spin. */
#define PING_MIN_SPACING_S 2

/* The server's signed audit checkpoints (checkpoint.h): the key from
 * enrollment, and the latest checkpoint shown, both in the state dir. */
#define PING_CHECKPOINT_PUB  "checkpoint.pub"
#define PING_CHECKPOINT_FILE "checkpoint.json"

struct ping;

struct devreport;
/* report (may be NULL) gives the device's status to carry (devreport.h). */
int ping_new(struct event_base *base, const struct agent_conf *conf,
             SSL_CTX *ctx, struct consent *consent, struct devreport *report,
             struct ping **out);
/* Where "activity" events go (actrun.h). */
struct actrun;
void ping_set_actrun(struct ping *p, struct actrun *ar);
void ping_start(struct ping *p);
void ping_free(struct ping *p);
/* Next back-off delay in ms for the given failure count (pure): in
 * [cap/2, cap], cap 1 s doubling per failure up to BACKOFF_MAX_S. */
int ping_backoff_ms(int failures, unsigned random);
/* How long to wait for a held ping's answer (pure): the server's hold
 * ("hold_s" of its last answer, 0 when it never said) or the hold asked for
 * ("hold_s" of the request, 0 for none), whichever is shorter, plus
 * LONGPOLL_MARGIN_S; HTTP_TIMEOUT_S while the server's hold is unknown. */
int ping_timeout_s(int server_hold_s, int asked_hold_s);
/* The request body; malloc'd JSON text. Through a proxy a held ping asks
 * for LONGPOLL_PROXY_HOLD_S ("hold_s"). */
char *ping_body(const struct agent_conf *conf);
/* The same with "wait" given: no hold until the server's time is learned.
 * "clock_offset_s" is there once an offset is known (clockoff.h). */
char *ping_body_wait(const struct agent_conf *conf, int wait);
/* The same with "wait" given, and with "ended" (the end reports in state_dir/session-ends, which
 * the caller drops once the server answers 200: ended[0..*nended)) and,
 * when reconcile is set (the first ping after a start or a failure),
 * "sessions": every id consent holds, for the server to reconcile; with
 * cp_seq >= 0, "checkpoint_seq": the seq of the server checkpoint held, which
 * the server then does not send again; "offline_installs" when offline
 * (offline.h) holds any. */
char *ping_body_full(const struct agent_conf *conf, int wait, const struct consent *consent,
                     int reconcile, struct sessrec *ended, size_t *nended, int64_t cp_seq,
                     const json_t *offline);

/* body (malloc'd, taken) with "device_status": the JSON text status added;
 * *sent a copy of status (to acknowledge on a 200), NULL when status is
 * NULL or could not be added. Returns the body to send. */
char *ping_body_status(char *body, const char *status, char **sent);

#endif
