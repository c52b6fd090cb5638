/* relaypick.h: choose a relay for a new session. */
#ifndef TETHER_SERVER_RELAYPICK_H
#define TETHER_SERVER_RELAYPICK_H

#include "store.h"

#define RELAYPICK_MAX_RELAYS  64
#define RELAYPICK_CONNECT_MS  500

/* Round-robin over the registered relays starting after *cursor, skipping
 * any whose device port does not accept a TCP connection within
 * RELAYPICK_CONNECT_MS. TE_ERR_NOT_FOUND when none is registered,
 * TE_ERR_IO when none answers. */
int relaypick_choose(struct store *st, unsigned *cursor, struct store_relay *out);
/* 0 when host:port accepts a TCP connection within timeout_ms. */
int relaypick_probe(const char *host, int port, int timeout_ms);

#endif
