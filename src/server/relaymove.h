/* relaymove.h: a consented session moves off a relay that one of its legs
 * could not use within the leg's deadline (TUNNEL_RELAY_DEADLINE_S on the
 * device, CONNECT_RELAY_DEADLINE_S on the specialist's side).
 *
 * The health check marks a frozen relay down within one interval, so new
 * sessions avoid it; a session given that relay just before is the case
 * handled here. Either leg reports the relay it could not use; the first
 * report moves the session to the next relay (never the failed one) and the
 * second finds it moved already, so both legs meet on the same relay. Only
 * a consented session moves (an active one has both legs on its relay), at
 * most RELAYMOVE_MAX times, and the failed relay is excluded for this
 * session only: one leg's word never marks a relay down for others. */
#ifndef TETHER_SERVER_RELAYMOVE_H
#define TETHER_SERVER_RELAYMOVE_H

#include "http.h"
#include "server.h"
#include "store.h"

#define RELAYMOVE_MAX 3

/* s (as last read, updated on return) reports that its leg could not use
 * relay `failed`. *out gets the relay the session is on now: a new one
 * when this call moved it (audited session_relay_moved, by actor for leg),
 * the current one when another report moved it first. TE_ERR_INVALID when
 * s is not consented, TE_ERR_DENIED after RELAYMOVE_MAX moves,
 * TE_ERR_NOT_FOUND when no other relay is registered, TE_ERR_IO when no
 * other relay is up. */
int relaymove_session(struct server *srv, struct store_session *s, const char *failed,
                      const char *actor, const char *leg, const char *why,
                      struct store_relay *out);
/* The HTTP answer for a relaymove_session failure rc. */
void relaymove_http_error(struct http_req *r, const struct store_session *s, int rc);

#endif
