/* api_visit.h: a visit's further connections: their tickets for the
 * specialist (connect) and the device (ping events). */
#ifndef TETHER_SERVER_API_VISIT_H
#define TETHER_SERVER_API_VISIT_H

#include <jansson.h>

#include "http.h"
#include "store.h"

/* Ping events of session_connect kind carried in one answer, at most. */
#define API_VISIT_MAX_EVENTS 8

struct server;

/* connect for a session whose first connection's client ticket is gone:
 * the next connection's two tickets; replies. */
void api_visit_connect(struct http_req *r, const struct store_session *s,
                       const struct store_relay *relay, const struct store_device *d);
/* Append session_connect events for s's connections not yet carried. */
void api_visit_events(struct server *srv, const struct store_session *s, json_t *events);

#endif
