/* consent_int.h: what consent.c (the session table, decisions, workers)
 * and consentsock.c (the socket, its requests and watchers) share. */
#ifndef TETHER_CONSENT_INT_H
#define TETHER_CONSENT_INT_H

#include <sys/types.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "consent.h"
#include "visit.h"

#define CONSENT_MAX_SESSIONS   8
#define CONSENT_MAX_CONNS      16
#define CONSENT_DONE_RING      32
#define CONSENT_CONN_TIMEOUT_S 10
/* The start of the reason given for a session refused or ended because the
 * device's audit trail cannot be written. */
#define CONSENT_NO_AUDIT_REASON "device audit trail unavailable"
#define CONSENT_NO_AUDIT_SESSION_REASON \
	CONSENT_NO_AUDIT_REASON ": a record of the session could not be written on the device"

enum consent_state { CS_PENDING = 1, CS_ANSWERING, CS_ACTIVE };

struct consent_conn;

struct consent_sess {
	struct consent_sess *next;
	struct consent *c;
	struct consent_event ev;
	enum consent_state state;
	time_t deadline;           /* pending: consent timeout; active: max duration */
	struct event *timer;
	pid_t worker;
	struct consent_conn *waiter; /* operator waiting for the server's answer */
	int worker_ending;         /* stop requested; no session-end report */
	int notify_fd;             /* the worker's limit reports (tunnel_start) */
	struct event *notify_ev;
	char actions[MAX_ACTIONS_BYTES]; /* what the ticket grants, once active */
	time_t active_since;
	char end_reason[MAX_REASON_BYTES]; /* for watchers, when it goes */
	char relay[MAX_NAME_BYTES];  /* the relay of the current ticket */
	int relay_moves;             /* moves asked for (TUNNEL_RELAY_MOVES) */
	int moving;                  /* between a relay's failure and the next worker */
	/* A visit (visit.c): the connections after the first, each its own
	 * worker, and whether this session's support password was given. */
	pid_t conn_pid[VISIT_MAX_CONNS];
	int64_t conn_no[VISIT_MAX_CONNS];
	int conn_fd[VISIT_MAX_CONNS];             /* its notify pipe (the proof byte) */
	struct event *conn_ev[VISIT_MAX_CONNS];
	int proven;
	/* A connection's close does not end the visit; with none open it ends
	 * after empty_s (the ticket's idle limit, else VISIT_EMPTY_MAX_S). */
	int64_t empty_s;
	struct event *empty_ev;
};

struct consent_conn {
	struct consent_conn *next;
	struct consent *c;
	struct bufferevent *bev;
	char who[MAX_NAME_BYTES + 16];
	int waiting;               /* an answer depends on a server round trip */
	int closing;               /* reply queued; free once flushed */
	int watching;              /* WATCH: stays open, gets change events */
};

struct consent {
	struct event_base *base;
	const struct agent_conf *conf;
	struct apiq *api;
	EVP_PKEY *ticket_pub;
	struct evconnlistener *listener;
	int owns_path;                 /* made the socket here: unlink it at the end */
	struct consent_sess *sessions;
	struct consent_conn *conns;
	size_t nconns;
	size_t nwatchers;
	char done[CONSENT_DONE_RING][MAX_NAME_BYTES];
	size_t done_next;
	size_t ends_inflight;          /* end reports posted, not yet answered */
	int stopping;                  /* consent_shutdown ran */
	struct recup *rec;             /* recordings to the server (recup.h) */
	struct consent_activity_hooks act;  /* the maintenance queue's (zeroed: none) */
};

enum consent_decision { DEC_ACCEPT = 1, DEC_DENY, DEC_TIMEOUT };

struct consent_op {
	struct consent *c;
	char id[MAX_NAME_BYTES];
	enum consent_decision decision;
};

/* consent.c */
struct consent_sess *consent_find(struct consent *c, const char *id);
const char *consent_decision_name(enum consent_decision d);
/* Send the operator's decision to the server (answer comes back async). */
int consent_send(struct consent *c, const char *id, enum consent_decision d);
/* Tell the server a session ended, with its reason (fire and forget). */
void consent_post_end(struct consent *c, const char *session, const char *reason);
/* The session goes (the caller has reported why): every connection's
 * worker is stopped; s is removed once the last is reaped, or at once when
 * none runs (then 1 is returned and s is gone). */
int consent_sess_stop(struct consent *c, struct consent_sess *s);
/* Workers of s now: the first connection's and the later ones. */
size_t consent_sess_workers(const struct consent_sess *s);
/* A worker of s (pid) wrote a limit byte ('i' idle, 'm' maximum duration,
 * 'a' no audit): the visit ends, except on the idle limit of one connection
 * while others are open, which closes that connection alone. */
void consent_limit(struct consent_sess *s, pid_t pid, char code);
/* A connection of s closed (its worker reaped with status, s->worker or
 * its visit slot already cleared): the visit goes on unless it is ending
 * or a limit ended it; with none open, the empty-visit timer starts. */
void consent_conn_closed(struct consent *c, struct consent_sess *s, int status);
/* Watch events for a session (new references). */
json_t *consent_pending_event(const struct consent_sess *s);
json_t *consent_active_event(const struct consent_sess *s, const char *event);

/* consentsock.c */
void consent_conn_reply(struct consent_conn *cn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void consent_conn_free(struct consent_conn *cn);
/* One JSON line (o stolen) to every watcher. */
void consent_notify(struct consent *c, json_t *o);
void consent_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
                       struct sockaddr *sa, int salen, void *arg);

#endif
