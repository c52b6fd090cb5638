/* activity.h: the maintenance queue (docs/fleet.md, "The maintenance
 * queue").
 *
 * An activity is one diag.NAME, collect.NAME or config.NAME run on one
 * device, for a reason, between not-before and not-after, optionally only
 * inside a window of its own. `queue add` makes one per device of a
 * selection. Its states:
 *
 *   awaiting_approval  the site's change control asks the customer first
 *   queued             waiting for not-before, the site's switch and the
 *                      windows, and for the device's previous activity
 *   released           signed (actenv.h) and carried by the device's pings
 *   running            the device said it started it
 *   done | failed | interrupted | refused_by_device      the device's word
 *   expired | cancelled | refused_by_customer            the server's
 *
 * The server's sweep moves queued ones on each second: an activity is
 * released only while its site is switched on and inside the site's
 * maintenance windows (and its own), and its envelope expires when that
 * window closes or at not-after, whichever is first; an envelope the
 * device did not start before it expired sends the activity back to
 * queued, for the next window. What the device reports is recorded even
 * after the server ended the activity (it ran: that is the truth). */
#ifndef TETHER_SERVER_ACTIVITY_H
#define TETHER_SERVER_ACTIVITY_H

#include <jansson.h>

#include "http.h"
#include "server.h"
#include "store.h"

#define ACTIVITY_SELECT_MAX      10000         /* devices one `queue add` may name */
#define ACTIVITY_DEFAULT_SPAN_S  (7 * 86400)   /* not-after when none is given */
#define ACTIVITY_MAX_SPAN_S      (90 * 86400)  /* the furthest not-after */
#define ACTIVITY_LIST_DEFAULT    100
#define ACTIVITY_ENVELOPE_MAX_S  (7 * 86400)   /* an envelope's longest life */

/* Is kind one the site's change control may list (diag, collect, config)? */
int activity_kinds_ok(const char *kinds);
/* Is kind in the comma-separated kinds ("" every kind)? */
int activity_kind_listed(const char *kinds, const char *kind);
/* done, failed, interrupted, refused_by_device, expired, cancelled,
 * refused_by_customer */
int activity_is_final(const char *state);
/* Write a (whose state and fields the caller set) over state from,
 * audited as action by actor; TE_ERR_MISMATCH when it changed meanwhile. */
int activity_store_move(struct server *srv, struct store_activity *a, const char *from,
                        const char *actor, const char *action);
/* Move open activities on (from server_sweep). */
void activity_sweep(struct server *srv);
/* Add the device's released activities to a ping's events. */
int activity_events(struct server *srv, const char *serial, json_t *events);
/* The activities waiting for the approval of site (NULL: every site). */
int activity_approvals(struct server *srv, const char *site, json_t *arr);
/* approvals approve|refuse ID for an activity id (actenv_id_ok). */
void activity_decide(struct http_req *r, int approve, const char *why);
json_t *activity_json(const struct store_activity *a, int full);

/* Make activity a (its template: kind, name, input, reason, batch, times,
 * window, created_by) for device d, awaiting approval or queued as its
 * site's change control says, audited activity_created by actor; made,
 * when not NULL, gets {id, device, state, site}. 0 or a te_err. */
int activity_create(struct server *srv, const char *actor, struct store_activity *a,
                    const struct store_device *d, json_t *made);
/* The customers' notification (activity_approval_requested), one per site,
 * for the activities in made that wait for their approval. */
void activity_ask_customers(struct server *srv, const char *user, const char *role,
                            const struct store_activity *t, const json_t *made);

/* The devices a request names ("devices": serials) or selects ("select":
 * filters, api_fleet_select), at most ACTIVITY_SELECT_MAX, each handed to
 * cb. A named device is handed over by its serial alone, unless check: it
 * is then read, and one that is unknown, revoked or outside the user's
 * sites is 404 ("nothing was what_done"). 0, or -1 with the error
 * answered. */
int activity_devices(struct http_req *r, const json_t *j, int check, const char *what_done,
                     store_device_cb cb, void *arg);

void api_activity_add(struct http_req *r);       /* POST /api/v1/activities */
void api_activities(struct http_req *r);         /* GET  /api/v1/activities */
void api_activity_get(struct http_req *r);       /* GET  /api/v1/activities/ID */
void api_activity_cancel(struct http_req *r);    /* POST /api/v1/activities/ID/cancel */
void api_activity_retry(struct http_req *r);     /* POST /api/v1/activities/ID/retry */
void api_device_activity(struct http_req *r);    /* POST /api/v1/device/activity */
void api_site_change_control(struct http_req *r); /* POST /api/v1/sites/S/change-control */

#endif
