/* records.h: service records of sessions (records.c, docs/crm.md). */
#ifndef TETHER_SERVER_RECORDS_H
#define TETHER_SERVER_RECORDS_H

#include <jansson.h>

#include "http.h"
#include "server.h"
#include "store.h"

/* The record of session s. */
json_t *records_json(struct server *srv, const struct store_session *s);
/* The record of activity a (kind "activity"). */
json_t *records_activity_json(struct server *srv, const struct store_activity *a);
/* The "service_record" notification of a's present state, unless there
 * is one (TE_ERR_EXISTS); called at each change, in order. */
int records_activity_notice(struct server *srv, const struct store_activity *a);
/* Queue a "service_record" notification for every record whose state has
 * none yet (from the server's sweep). */
void records_notify(struct server *srv);
/* The same soon, from the event loop (after a session changed), so that a
 * state that lasts less than a sweep is noticed too. */
void records_kick(struct server *srv);
/* GET /api/v1/records[?device=&site=&specialist=&since=&until=&limit=] and
 * GET /api/v1/records/ID, for records:view within the user's sites. */
void api_records(struct http_req *r);
void api_record_get(struct http_req *r);

#endif
