/* srvsession.h: the remote-session state machine.
 *
 *   awaiting_customer -> awaiting_consent | refused | expired | ended
 *   awaiting_consent -> consented | refused | expired | ended
 *   consented        -> active | ended
 *   active           -> ended
 * awaiting_customer is where a session waits for the site's customer: a
 * notice moves on to awaiting_consent when its window passes unrefused, an
 * approval expires at its deadline (store_session customer/_deadline).
 * refused, expired and ended are final and always carry an end_reason.
 * Every move is a compare-and-set in the store with its audit record in the
 * same transaction. The pure parts (names, allowed moves, what is due) are
 * separate so they can be unit-tested without a store. */
#ifndef TETHER_SERVER_SESSION_H
#define TETHER_SERVER_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum session_state {
	SESSION_AWAITING_CONSENT = 0,
	SESSION_CONSENTED,
	SESSION_ACTIVE,
	SESSION_REFUSED,
	SESSION_EXPIRED,
	SESSION_ENDED,
	SESSION_AWAITING_CUSTOMER,
};

/* Extra time the server waits for the agent's own consent timeout report,
 * and for a relay start after the tickets were issued. */
#define SESSION_CONSENT_GRACE_S 10
#define SESSION_START_GRACE_S   30
/* The device ends a session at its ticket's end time itself and reports why;
 * the server's own end at the maximum waits this much longer, as the
 * backstop for a device that did not. */
#define SESSION_END_GRACE_S     5
/* The start of the end_reason of a session a relay's end report ended: the
 * relay saw a leg close and knows nothing of why; a device's end report
 * that comes later replaces it (api_device.c, audited session_end_reason). */
#define SESSION_RELAY_REASON_PREFIX "relay: "
/* The end_reason of a session ended because its device was revoked. */
#define SESSION_REVOKED_REASON  "device revoked"

struct session_limits {
	int64_t consent_timeout_s;
	int64_t start_timeout_s;    /* consented -> ended without a relay start */
	int64_t max_s;              /* active -> ended, unless the session has its own */
};

const char *session_state_name(enum session_state s);
int session_state_parse(const char *name, enum session_state *out);
int session_state_is_final(enum session_state s);
/* 1 when from -> to is a legal move. */
int session_transition_ok(enum session_state from, enum session_state to);
/* 1 when s must move now (target and reason filled), 0 otherwise. */
int session_due(const struct store_session *s, int64_t now,
                const struct session_limits *lim, enum session_state *to,
                char *reason, size_t reasonsz);
/* A fresh 128-bit random session id as 32 hex digits. */
int session_id_new(char out[STORE_SESSION_ID_BYTES]);
/* Validated, audited move of s (as last read) to `to`. reason is required
 * for final states; relay may be NULL. TE_ERR_INVALID for an illegal move,
 * TE_ERR_MISMATCH when someone else moved it first. */
int session_move(struct store *st, const struct store_session *s,
                 enum session_state to, const char *reason, const char *relay,
                 const char *actor, int64_t now);

#endif
