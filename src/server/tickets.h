/* tickets.h: issue the two legs' tickets for a consented session. */
#ifndef TETHER_SERVER_TICKETS_H
#define TETHER_SERVER_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "store.h"
#include "signmsg.h"
#include "ticket.h"

struct signer;

/* "forward:a,forward:b,shell" from a session's services JSON array and its
 * granted actions JSON array (NULL or "": none). */
int tickets_actions(const char *services_json, const char *actions_json, char *out,
                    size_t outsz);
/* The ticket's "end": the session's start (or consent, or now) plus the
 * maximum duration it was granted; 0 when it has none. */
int64_t tickets_end_at(const struct store_session *s, int64_t now);
/* What the signer is asked to sign for one leg of s through relay. */
int tickets_request(const struct store_session *s, const char *relay, enum ticket_leg leg,
                    int64_t now, struct signmsg_ticket *out);
/* The signer's side: sign req with key, issued now, valid TICKET_TTL_S,
 * with a fresh nonce; nothing of the times comes from the request. */
int tickets_sign(EVP_PKEY *key, const struct signmsg_ticket *req, int64_t now, char *out,
                 size_t outsz);
/* Ask the signer for one leg's ticket (tickets_request + signer_ticket). */
int tickets_issue(struct signer *sg, const struct store_session *s, const char *relay,
                  enum ticket_leg leg, int64_t now, char *out, size_t outsz);
/* The same for connection conn of the session (ticket "cn"; 0: the first). */
int tickets_issue_conn(struct signer *sg, const struct store_session *s, const char *relay,
                       enum ticket_leg leg, int64_t conn, int64_t now, char *out,
                       size_t outsz);

#endif
