/* nonce.h: the relay's memory of used ticket nonces (single use).
 * A nonce is kept until its ticket expires; after that ticket_verify refuses
 * the ticket anyway, so forgetting it is safe. Bounded in count. */
#ifndef TETHER_RELAY_NONCE_H
#define TETHER_RELAY_NONCE_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_MAX_NONCES 65536   /* live tickets remembered at once */

struct relay_nonces;

int relay_nonces_new(size_t max_entries, struct relay_nonces **out);
void relay_nonces_free(struct relay_nonces *n);
/* Remember nonce until expires_at. 0 when it was new; TE_ERR_REPLAY when it
 * is already known; TE_ERR_TOO_LONG when the set is full of live nonces;
 * TE_ERR_INVALID for an empty or over-long nonce. */
int relay_nonces_use(struct relay_nonces *n, const char *nonce,
                     int64_t expires_at, int64_t now);
/* Forget every nonce whose ticket expired before now. */
void relay_nonces_prune(struct relay_nonces *n, int64_t now);
size_t relay_nonces_count(const struct relay_nonces *n);

#endif
