/* tickets.h: issue the two legs' tickets for a consented session. */
#ifndef TETHER_SERVER_TICKETS_H
#define TETHER_SERVER_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "store.h"
#include "ticket.h"

/* "forward:a,forward:b,shell" from a session's services JSON array and its
 * granted actions JSON array (NULL or "": none). */
int tickets_actions(const char *services_json, const char *actions_json, char *out,
                    size_t outsz);
/* The ticket's "end": the session's start (or consent, or now) plus the
 * maximum duration it was granted; 0 when it has none. */
int64_t tickets_end_at(const struct store_session *s, int64_t now);
/* Sign a ticket for one leg of s through relay, valid TICKET_TTL_S from now. */
int tickets_issue(EVP_PKEY *key, const struct store_session *s, const char *relay,
                  enum ticket_leg leg, int64_t now, char *out, size_t outsz);

#endif
