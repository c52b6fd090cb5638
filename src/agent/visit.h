/* visit.h: a session is a visit: after its first connection (the worker
 * consent.c starts at the operator's accept) the specialist may open more,
 * each announced by a session_connect event of the ping with its own
 * device-leg ticket ("cn" > 0), each served by its own tunnel worker. The
 * support password is asked once per session: a worker that took it tells
 * the network part ('p' on its notify pipe), which remembers it for that
 * session only, in memory, and starts the session's later workers with
 * the proof, whose SSH server then takes the "none" method for the
 * support user. Closing a connection, the first included, does not end
 * the visit (consent_conn_closed): an end, a limit or a visit with no
 * connection for its idle limit does, and stops every connection. */
#ifndef TETHER_AGENT_VISIT_H
#define TETHER_AGENT_VISIT_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "bounds.h"

/* Connections after the first that may be open at once in one session. */
#define VISIT_MAX_CONNS 8
/* The notify byte a worker writes once the support password was right. */
#define VISIT_PROOF_BYTE 'p'
/* A visit with no connection open ends after the ticket's idle limit, or
 * after this many seconds when the ticket has none: closing connections
 * never leaves a session open for ever. */
#define VISIT_EMPTY_MAX_S 900

struct consent;
struct consent_sess;

/* A session_connect ping event, checked member by member. */
struct visit_event {
	char session[MAX_NAME_BYTES];
	int64_t conn;                          /* 1..TICKET_MAX_CONN */
	char ticket[MAX_TICKET_BYTES + 1];
	char relay_name[MAX_NAME_BYTES];
	char relay_host[MAX_NAME_BYTES];
	char relay_port[8];
};

/* {"type":"session_connect","session","conn","ticket","relay":{"name",
 * "host","device_port"}} into out: 0, or TE_ERR_INVALID for anything
 * missing, mistyped, out of range or too long (the ticket is verified
 * later, by visit_on_connect). */
int visit_event_parse(const json_t *ev, struct visit_event *out);

/* A session_connect event: verify the ticket (this device, the relay
 * named, the session, leg device, cn == conn > 0) and start a worker. */
void visit_on_connect(struct consent *c, const char *session, int64_t conn,
                      const char *ticket, const char *relay_name, const char *host,
                      const char *port);
/* The session whose later worker pid was (its end audited, its slot
 * cleared), else NULL. */
struct consent_sess *visit_on_exit(struct consent *c, pid_t pid, int status);
/* SIGTERM every later worker of s (its session ends). */
void visit_stop(struct consent_sess *s);
/* The session goes: SIGTERM them and forget them (reaped as strangers). */
void visit_forget(struct consent_sess *s);
/* SIGKILL and reap them (a bounded shutdown's end). */
void visit_kill(struct consent *c, struct consent_sess *s);
/* How many run. */
size_t visit_workers(const struct consent_sess *s);

#endif
