/* longpoll.h: device pings held open until an event or a timeout. */
#ifndef TETHER_SERVER_LONGPOLL_H
#define TETHER_SERVER_LONGPOLL_H

#include <stdint.h>

#include <event2/event.h>

#include "http.h"

struct longpoll;

/* Called to answer a held ping (woken or timed out); must reply to r. */
typedef void (*longpoll_answer_fn)(struct http_req *r, void *arg);

int longpoll_new(struct event_base *base, longpoll_answer_fn answer, void *arg,
                 struct longpoll **out);
/* For requests held by another key than a device (a session id): no
 * presence is kept, so nothing stays behind once a request is answered. */
void longpoll_no_presence(struct longpoll *lp);
/* Hold requests as http_parked (http.h), a few hundred bytes instead of
 * the whole request: for device pings, whose answer needs only the serial.
 * The answer function then gets a request with only what http_req_park
 * keeps. */
void longpoll_park(struct longpoll *lp);
/* Drops every held request without answering (the connections are freed
 * with the evhttp server after this). */
void longpoll_free(struct longpoll *lp);
/* Hold r for serial up to hold_s seconds. Takes ownership of r; if the
 * client goes away first, r is freed quietly. */
int longpoll_hold(struct longpoll *lp, struct http_req *r, const char *serial, int hold_s);
/* Answer every ping held for serial now. */
void longpoll_wake(struct longpoll *lp, const char *serial);
/* Answer every held ping whose serial pred accepts (pred is asked once per
 * held ping; it must not hold or answer pings itself). */
typedef int (*longpoll_pred_fn)(const char *serial, void *arg);
void longpoll_wake_if(struct longpoll *lp, longpoll_pred_fn pred, void *arg);
/* 1 when a ping from serial is being held. */
int longpoll_is_held(const struct longpoll *lp, const char *serial);

/* Presence of a device from its long-polls alone, so that one whose held
 * connection drops is offline at once rather than when its last_seen ages
 * out. Kept in memory: after a server start every device is UNKNOWN until
 * it long-polls. */
enum longpoll_presence {
	LONGPOLL_UNKNOWN = 0,  /* no long-poll seen (short-poll device): use last_seen */
	LONGPOLL_PRESENT,      /* held now, or answered within the last
	                        * LONGPOLL_REPING_GRACE_S */
	LONGPOLL_GONE,         /* its connection dropped, or no new ping within
	                        * LONGPOLL_REPING_GRACE_S of the last answer */
};
/* Every ping: wait says whether it asks to be held. A ping that does not
 * (a short-poll device) forgets the device here. One that does came on
 * connection conn (http_req_conn_tag), which its agent keeps open between
 * pings. */
void longpoll_note_ping(struct longpoll *lp, const char *serial, int wait, uint64_t conn);
/* Connection conn closed. If it was the device's and no ping of it is held
 * (it closed between two pings), the device is gone now, not at the end
 * of the grace. */
void longpoll_conn_closed(struct longpoll *lp, const char *serial, uint64_t conn);
enum longpoll_presence longpoll_presence(const struct longpoll *lp, const char *serial,
                                         int period_s);

#endif
