/* relaypick.h: choose a relay for a new session. */
#ifndef TETHER_SERVER_RELAYPICK_H
#define TETHER_SERVER_RELAYPICK_H

#include "relayhealth.h"
#include "store.h"

#define RELAYPICK_MAX_RELAYS  RELAYHEALTH_MAX_RELAYS

/* Round-robin over the registered relays starting at *cursor, taking the
 * first whose last health check (relayhealth.h) connected; when none has
 * yet, the first not known to be down. Reads state only: never waits on the
 * network. except (or NULL) names a relay not to take: the one a session's
 * leg could not use (relaymove.h). TE_ERR_NOT_FOUND when no other relay is
 * registered, TE_ERR_IO when every other relay is down. */
int relaypick_choose(struct store *st, const struct relayhealth *health, unsigned *cursor,
                     const char *except, struct store_relay *out);

#endif
