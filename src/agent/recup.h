/* recup.h: the session's shell recordings travel to the server after its
 * end (castfile.h says how).
 *
 * The network part looks in recordings_dir for recordings (castfile_name_ok)
 * of sessions that no longer run here and that carry neither marker:
 *   NAME.sent     the server has it whole and verified (audited
 *                 recording_sent with its size and SHA-256);
 *   NAME.refused  the server will never take it (a 4xx: too large, a session
 *                 it does not know), with the server's reason inside
 *                 (audited recording_refused).
 * One file at a time, one chunk in flight; the server says how much it
 * holds, so a transfer cut by either side's restart resumes there. No
 * answer or a 5xx: tried again after RECUP_RETRY_MIN_S, doubling up to
 * RECUP_RETRY_MAX_S. The recording stays on the device either way (its
 * SHA-256 is in the device's trail, shell_end). */
#ifndef TETHER_RECUP_H
#define TETHER_RECUP_H

#include <event2/event.h>

#include "agentconf.h"
#include "apiq.h"

#define RECUP_RETRY_MIN_S 15
#define RECUP_RETRY_MAX_S 900
#define RECUP_SENT_SUFFIX    ".sent"
#define RECUP_REFUSED_SUFFIX ".refused"

struct recup;

/* 1 while session still runs here (its recordings may still grow). */
typedef int (*recup_live_fn)(void *arg, const char *session);

int recup_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
              recup_live_fn live, void *arg, struct recup **out);
/* Look for recordings to send, soon (from the event loop). */
void recup_kick(struct recup *u);
/* A request still in flight finds nothing when its answer comes. */
void recup_free(struct recup *u);

#endif
