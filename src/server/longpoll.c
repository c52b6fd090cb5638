/* longpoll.c: held pings, each with a timer and a close callback, found
 * through a hash of the devices that long-poll. With 10,000 agents held, a
 * walk of one list per answer (to unlink) and per device listed (to ask
 * whether it is held) was most of the server's CPU; now an answer unlinks
 * in O(1) and "is it held" is one lookup. */
#include "longpoll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "bounds.h"
#include "err.h"
#include "log.h"

#define LP_BUCKETS_MIN 256

struct lp_dev;

struct lp_entry {
	struct lp_entry *prev, *next;      /* every held ping */
	struct lp_entry *dprev, *dnext;    /* the device's held pings */
	struct lp_dev *dev;
	struct longpoll *lp;
	struct http_req *r;           /* held whole, or */
	struct http_parked *parked;   /* kept small (longpoll_park) */
	struct evhttp_connection *evcon;
	struct event *timer;
	struct event *watch;          /* the socket turned readable: client left */
	int marked;                   /* longpoll_wake_if: to be answered */
};

/* A device that long-polls, or has a ping held (devices are authenticated,
 * so these are bounded by the registered devices). Freed when it is
 * neither seen nor held. */
struct lp_dev {
	struct lp_dev *hnext;
	char serial[MAX_NAME_BYTES];
	struct lp_entry *held;
	int seen;                     /* its presence is known from long-polls */
	int64_t since;                /* monotonic s: last ping or answer */
	int dropped;                  /* its held connection closed under us */
	int answered;                 /* its last held ping was answered, no new one yet */
	uint64_t conn;                /* the connection its long-polls come on */
};

struct longpoll {
	struct event_base *base;
	longpoll_answer_fn answer;
	void *arg;
	struct lp_entry *head;
	struct lp_dev **buckets;
	size_t nbuckets, ndevs;       /* nbuckets: a power of two */
	int no_presence;              /* keys are not devices: keep nothing once answered */
	int park;                     /* hold requests as http_parked */
};

static int64_t lp_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* FNV-1a: serials are short and authenticated, not chosen to collide. */
static size_t lp_hash(const char *serial)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *serial != '\0'; serial++)
		h = (h ^ (unsigned char)*serial) * 1099511628211ULL;
	return (size_t)h;
}

static struct lp_dev *lp_dev_find(const struct longpoll *lp, const char *serial)
{
	struct lp_dev *d;

	if (lp->nbuckets == 0)
		return NULL;
	for (d = lp->buckets[lp_hash(serial) & (lp->nbuckets - 1)]; d != NULL; d = d->hnext)
		if (strcmp(d->serial, serial) == 0)
			return d;
	return NULL;
}

/* Twice the buckets once there are more devices than buckets. */
static void lp_grow(struct longpoll *lp)
{
	size_t n = lp->nbuckets ? lp->nbuckets * 2 : LP_BUCKETS_MIN, i;
	struct lp_dev **b = calloc(n, sizeof(*b)), *d, *next;

	if (b == NULL)
		return;   /* longer chains, same answers */
	for (i = 0; i < lp->nbuckets; i++)
		for (d = lp->buckets[i]; d != NULL; d = next) {
			next = d->hnext;
			d->hnext = b[lp_hash(d->serial) & (n - 1)];
			b[lp_hash(d->serial) & (n - 1)] = d;
		}
	free(lp->buckets);
	lp->buckets = b;
	lp->nbuckets = n;
}

static struct lp_dev *lp_dev_get(struct longpoll *lp, const char *serial)
{
	struct lp_dev *d = lp_dev_find(lp, serial);
	size_t k;

	if (d != NULL)
		return d;
	if (lp->ndevs >= lp->nbuckets)
		lp_grow(lp);
	if (lp->nbuckets == 0 || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	snprintf(d->serial, sizeof(d->serial), "%s", serial);
	k = lp_hash(serial) & (lp->nbuckets - 1);
	d->hnext = lp->buckets[k];
	lp->buckets[k] = d;
	lp->ndevs++;
	return d;
}

/* Free d when nothing needs it any more. */
static void lp_dev_release(struct longpoll *lp, struct lp_dev *d)
{
	struct lp_dev **pp;

	if (d->seen || d->held != NULL)
		return;
	for (pp = &lp->buckets[lp_hash(d->serial) & (lp->nbuckets - 1)]; *pp != NULL;
	     pp = &(*pp)->hnext)
		if (*pp == d) {
			*pp = d->hnext;
			lp->ndevs--;
			free(d);
			return;
		}
}

/* The device was heard from now (or, dropped, lost now). */
static struct lp_dev *lp_seen_mark(struct longpoll *lp, const char *serial, int dropped,
                                   int answered)
{
	struct lp_dev *d = lp_dev_get(lp, serial);

	if (d == NULL)
		return NULL;   /* presence falls back to last_seen */
	d->seen = 1;
	d->since = lp_now_s();
	d->dropped = dropped;
	d->answered = answered;
	return d;
}

static void lp_seen_forget(struct longpoll *lp, const char *serial)
{
	struct lp_dev *d = lp_dev_find(lp, serial);

	if (d != NULL) {
		d->seen = 0;
		lp_dev_release(lp, d);
	}
}

int longpoll_new(struct event_base *base, longpoll_answer_fn answer, void *arg,
                 struct longpoll **out)
{
	struct longpoll *lp = calloc(1, sizeof(*lp));

	*out = NULL;
	if (lp == NULL)
		return TE_ERR_NOMEM;
	lp->base = base;
	lp->answer = answer;
	lp->arg = arg;
	lp_grow(lp);
	if (lp->nbuckets == 0) {
		free(lp);
		return TE_ERR_NOMEM;
	}
	*out = lp;
	return 0;
}

void longpoll_no_presence(struct longpoll *lp)
{
	lp->no_presence = 1;
}

void longpoll_park(struct longpoll *lp)
{
	lp->park = 1;
}

/* The libevent request e holds. */
static struct evhttp_request *lp_ev(const struct lp_entry *e)
{
	return e->parked != NULL ? http_parked_ev(e->parked) : e->r->ev;
}

/* Free what e holds, without answering. */
static void lp_drop(struct http_req *r, struct http_parked *parked)
{
	if (parked != NULL)
		http_parked_free(parked);
	else
		http_req_free(r);
}

/* Unlink e from both lists (O(1)) and free it; r is not touched. */
static void lp_unlink(struct lp_entry *e)
{
	struct longpoll *lp = e->lp;
	struct lp_dev *d = e->dev;

	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		lp->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	if (e->dprev != NULL)
		e->dprev->dnext = e->dnext;
	else
		d->held = e->dnext;
	if (e->dnext != NULL)
		e->dnext->dprev = e->dprev;
	if (e->evcon != NULL)
		evhttp_connection_set_closecb(e->evcon, NULL, NULL);
	event_free(e->timer);
	if (e->watch != NULL)
		event_free(e->watch);
	free(e);
	lp_dev_release(lp, d);
}

static void lp_answer(struct lp_entry *e)
{
	struct longpoll *lp = e->lp;
	struct http_req *r = e->r;
	struct http_parked *parked = e->parked;
	char serial[MAX_NAME_BYTES];

	/* The agent asks again at once (LONGPOLL_REPING_GRACE_S, in
	 * longpoll_presence); one that does not is gone. */
	snprintf(serial, sizeof(serial), "%s", e->dev->serial);
	lp_unlink(e);
	if (!lp->no_presence)
		lp_seen_mark(lp, serial, 0, 1);
	if (parked != NULL && (r = http_req_unpark(parked)) == NULL)
		return;   /* answered 503 */
	lp->answer(r, lp->arg);
}

static void lp_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	lp_answer(arg);
}

static void lp_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct lp_entry *e = arg;
	struct longpoll *lp = e->lp;
	struct http_req *r = e->r;
	struct http_parked *parked = e->parked;
	struct evhttp_request *ev = lp_ev(e);
	char serial[MAX_NAME_BYTES];

	snprintf(serial, sizeof(serial), "%s", e->dev->serial);
	log_debug("long-poll from %s closed by the client", serial);
	e->evcon = NULL;   /* it is being freed; do not touch its callbacks */
	lp_unlink(e);
	/* Its only connection is gone: offline now, not when last_seen ages. */
	if (!lp->no_presence)
		lp_seen_mark(lp, serial, 1, 0);
	/* When libevent has detached the request from the dying connection it is
	 * ours to free; otherwise the connection frees it. */
	if (evhttp_request_get_connection(ev) == NULL)
		evhttp_request_free(ev);
	lp_drop(r, parked);
}

/* evhttp stops reading a connection once its request is in, so it would
 * not notice a client that goes away while we hold the answer. We watch the
 * socket ourselves: a waiting client sends nothing, so readability means EOF,
 * a TLS close_notify or a misbehaving client, and the connection is dropped. */
static void lp_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lp_entry *e = arg;
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		event_add(e->watch, NULL);
		return;
	}
	/* Frees the connection and its request; lp_close_cb cleans up e. */
	evhttp_connection_free(e->evcon);
}

static int lp_watch(struct longpoll *lp, struct lp_entry *e)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(e->evcon);
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	if (fd < 0)
		return 0;   /* nothing to watch; the timer still answers */
	if ((e->watch = event_new(lp->base, fd, EV_READ, lp_watch_cb, e)) == NULL)
		return TE_ERR_NOMEM;
	return event_add(e->watch, NULL) == 0 ? 0 : TE_ERR_SYS;
}

int longpoll_hold(struct longpoll *lp, struct http_req *r, const char *serial, int hold_s)
{
	struct timeval tv = { hold_s, 0 };
	struct lp_entry *e = calloc(1, sizeof(*e));
	struct lp_dev *d;

	if (e == NULL)
		return TE_ERR_NOMEM;
	e->lp = lp;
	e->evcon = evhttp_request_get_connection(r->ev);
	if (e->evcon == NULL || (e->timer = evtimer_new(lp->base, lp_timeout_cb, e)) == NULL) {
		free(e);
		return TE_ERR_NOMEM;
	}
	if (lp_watch(lp, e) != 0 || (d = lp_dev_get(lp, serial)) == NULL) {
		if (e->watch != NULL)
			event_free(e->watch);
		event_free(e->timer);
		free(e);
		return TE_ERR_NOMEM;
	}
	/* Last, as it frees r: nothing above may fail after it. Out of memory
	 * for the small copy, r is held whole. */
	if (lp->park && (e->parked = http_req_park(r)) != NULL)
		r = NULL;
	e->r = r;
	evtimer_add(e->timer, &tv);
	evhttp_connection_set_closecb(e->evcon, lp_close_cb, e);
	e->dev = d;
	e->next = lp->head;
	if (lp->head != NULL)
		lp->head->prev = e;
	lp->head = e;
	e->dnext = d->held;
	if (d->held != NULL)
		d->held->dprev = e;
	d->held = e;
	return 0;
}

void longpoll_wake(struct longpoll *lp, const char *serial)
{
	struct lp_dev *d;

	if (lp == NULL)
		return;
	/* Answering unlinks (and may free d once nothing holds it). */
	while ((d = lp_dev_find(lp, serial)) != NULL && d->held != NULL)
		lp_answer(d->held);
}

void longpoll_wake_if(struct longpoll *lp, longpoll_pred_fn pred, void *arg)
{
	struct lp_entry *e;

	if (lp == NULL)
		return;
	/* Ask first, answer after: answering unlinks entries under our feet. */
	for (e = lp->head; e != NULL; e = e->next)
		e->marked = pred(e->dev->serial, arg);
	for (e = lp->head; e != NULL; ) {
		if (e->marked) {
			lp_answer(e);
			e = lp->head;
		} else {
			e = e->next;
		}
	}
}

int longpoll_is_held(const struct longpoll *lp, const char *serial)
{
	const struct lp_dev *d = lp != NULL ? lp_dev_find(lp, serial) : NULL;

	return d != NULL && d->held != NULL;
}

void longpoll_note_ping(struct longpoll *lp, const char *serial, int wait, uint64_t conn)
{
	struct lp_dev *d;

	if (lp == NULL)
		return;
	if (!wait) {
		lp_seen_forget(lp, serial);
		return;
	}
	/* Held or answered at once, the next ping is due within the grace
	 * after its answer; while held, longpoll_presence sees it held. */
	if ((d = lp_seen_mark(lp, serial, 0, 1)) != NULL)
		d->conn = conn;
}

void longpoll_conn_closed(struct longpoll *lp, const char *serial, uint64_t conn)
{
	struct lp_dev *d = lp != NULL ? lp_dev_find(lp, serial) : NULL;

	if (d == NULL || !d->seen || d->held != NULL || conn == 0 || d->conn != conn)
		return;
	log_debug("long-poll connection of %s closed between pings", serial);
	d->dropped = 1;
}

enum longpoll_presence longpoll_presence(const struct longpoll *lp, const char *serial,
                                         int period_s)
{
	const struct lp_dev *d;

	if (lp == NULL || (d = lp_dev_find(lp, serial)) == NULL)
		return LONGPOLL_UNKNOWN;
	if (d->held != NULL)
		return LONGPOLL_PRESENT;
	if (!d->seen)
		return LONGPOLL_UNKNOWN;
	if (d->dropped || lp_now_s() - d->since > period_s ||
	    (d->answered && lp_now_s() - d->since > LONGPOLL_REPING_GRACE_S))
		return LONGPOLL_GONE;
	return LONGPOLL_PRESENT;
}

void longpoll_free(struct longpoll *lp)
{
	struct lp_dev *d, *next;
	size_t i;

	if (lp == NULL)
		return;
	while (lp->head != NULL) {
		struct http_req *r = lp->head->r;
		struct http_parked *parked = lp->head->parked;

		lp_unlink(lp->head);
		/* The request stays on its connection; evhttp_free releases it. */
		lp_drop(r, parked);
	}
	for (i = 0; i < lp->nbuckets; i++)
		for (d = lp->buckets[i]; d != NULL; d = next) {
			next = d->hnext;
			free(d);
		}
	free(lp->buckets);
	free(lp);
}
