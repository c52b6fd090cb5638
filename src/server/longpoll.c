/* longpoll.c: a list of held pings, each with a timer and a close callback.
 * Held requests are few (one per online device), so a linked list is fine. */
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

struct lp_entry {
	struct lp_entry *next;
	struct longpoll *lp;
	struct http_req *r;
	struct evhttp_connection *evcon;
	struct event *timer;
	struct event *watch;          /* the socket turned readable: client left */
	char serial[MAX_NAME_BYTES];
	int marked;                   /* longpoll_wake_if: to be answered */
};

/* One per device that long-polls (devices are authenticated, so the list
 * is bounded by the registered devices). */
struct lp_seen {
	struct lp_seen *next;
	char serial[MAX_NAME_BYTES];
	int64_t since;                /* monotonic s: last ping or answer */
	int dropped;                  /* its held connection closed under us */
};

struct longpoll {
	struct event_base *base;
	longpoll_answer_fn answer;
	void *arg;
	struct lp_entry *head;
	struct lp_seen *seen;
};

static int64_t lp_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static struct lp_seen *lp_seen_find(const struct longpoll *lp, const char *serial)
{
	for (struct lp_seen *s = lp->seen; s != NULL; s = s->next)
		if (strcmp(s->serial, serial) == 0)
			return s;
	return NULL;
}

/* The device was heard from now (or, dropped, lost now). */
static void lp_seen_mark(struct longpoll *lp, const char *serial, int dropped)
{
	struct lp_seen *s = lp_seen_find(lp, serial);

	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;   /* presence falls back to last_seen */
		snprintf(s->serial, sizeof(s->serial), "%s", serial);
		s->next = lp->seen;
		lp->seen = s;
	}
	s->since = lp_now_s();
	s->dropped = dropped;
}

static void lp_seen_forget(struct longpoll *lp, const char *serial)
{
	for (struct lp_seen **pp = &lp->seen; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->serial, serial) == 0) {
			struct lp_seen *s = *pp;

			*pp = s->next;
			free(s);
			return;
		}
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
	*out = lp;
	return 0;
}

/* Unlink e and free it; r is not touched. */
static void lp_unlink(struct lp_entry *e)
{
	struct lp_entry **pp;

	for (pp = &e->lp->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	if (e->evcon != NULL)
		evhttp_connection_set_closecb(e->evcon, NULL, NULL);
	event_free(e->timer);
	if (e->watch != NULL)
		event_free(e->watch);
	free(e);
}

static void lp_answer(struct lp_entry *e)
{
	struct longpoll *lp = e->lp;
	struct http_req *r = e->r;

	/* The agent asks again at once; one period without that is gone. */
	lp_seen_mark(lp, e->serial, 0);
	lp_unlink(e);
	lp->answer(r, lp->arg);
}

static void lp_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	lp_answer(arg);
}

static void lp_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct lp_entry *e = arg;
	struct http_req *r = e->r;

	log_debug("long-poll from %s closed by the client", e->serial);
	/* Its only connection is gone: offline now, not when last_seen ages. */
	lp_seen_mark(e->lp, e->serial, 1);
	e->evcon = NULL;   /* it is being freed; do not touch its callbacks */
	lp_unlink(e);
	/* When libevent has detached the request from the dying connection it is
	 * ours to free; otherwise the connection frees it. */
	if (evhttp_request_get_connection(r->ev) == NULL)
		evhttp_request_free(r->ev);
	http_req_free(r);
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

	if (e == NULL)
		return TE_ERR_NOMEM;
	e->lp = lp;
	e->r = r;
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	e->evcon = evhttp_request_get_connection(r->ev);
	if (e->evcon == NULL || (e->timer = evtimer_new(lp->base, lp_timeout_cb, e)) == NULL) {
		free(e);
		return TE_ERR_NOMEM;
	}
	if (lp_watch(lp, e) != 0) {
		if (e->watch != NULL)
			event_free(e->watch);
		event_free(e->timer);
		free(e);
		return TE_ERR_NOMEM;
	}
	evtimer_add(e->timer, &tv);
	evhttp_connection_set_closecb(e->evcon, lp_close_cb, e);
	e->next = lp->head;
	lp->head = e;
	return 0;
}

void longpoll_wake(struct longpoll *lp, const char *serial)
{
	struct lp_entry *e, *next;

	if (lp == NULL)
		return;
	/* Answering unlinks; restart from the head after each answer. */
	for (e = lp->head; e != NULL; e = next) {
		next = e->next;
		if (strcmp(e->serial, serial) == 0) {
			lp_answer(e);
			next = lp->head;
		}
	}
}

void longpoll_wake_if(struct longpoll *lp, longpoll_pred_fn pred, void *arg)
{
	struct lp_entry *e;

	if (lp == NULL)
		return;
	/* Ask first, answer after: answering unlinks entries under our feet. */
	for (e = lp->head; e != NULL; e = e->next)
		e->marked = pred(e->serial, arg);
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
	for (const struct lp_entry *e = lp ? lp->head : NULL; e != NULL; e = e->next)
		if (strcmp(e->serial, serial) == 0)
			return 1;
	return 0;
}

void longpoll_note_ping(struct longpoll *lp, const char *serial, int wait)
{
	if (lp == NULL)
		return;
	if (wait)
		lp_seen_mark(lp, serial, 0);
	else
		lp_seen_forget(lp, serial);
}

enum longpoll_presence longpoll_presence(const struct longpoll *lp, const char *serial,
                                         int period_s)
{
	const struct lp_seen *s;

	if (lp == NULL)
		return LONGPOLL_UNKNOWN;
	if (longpoll_is_held(lp, serial))
		return LONGPOLL_PRESENT;
	if ((s = lp_seen_find(lp, serial)) == NULL)
		return LONGPOLL_UNKNOWN;
	if (s->dropped || lp_now_s() - s->since > period_s)
		return LONGPOLL_GONE;
	return LONGPOLL_PRESENT;
}

void longpoll_free(struct longpoll *lp)
{
	if (lp == NULL)
		return;
	while (lp->seen != NULL) {
		struct lp_seen *s = lp->seen;

		lp->seen = s->next;
		free(s);
	}
	while (lp->head != NULL) {
		struct http_req *r = lp->head->r;

		lp_unlink(lp->head);
		/* The request stays on its connection; evhttp_free releases it. */
		http_req_free(r);
	}
	free(lp);
}
