/* connlimit.h: what one source address and all peers together may hold open
 * on a daemon's listener, so that a flood from one address cannot take the
 * file descriptors and the event loop from everyone else. Used by the
 * server (http.c) and the relay (leg.c).
 *
 * A connection is counted from accept until it is closed, and counted as
 * pending (TLS handshake plus the first request head or preamble) until the
 * daemon marks it served. Refusals are counted and logged at most once per
 * CONNLIMIT_LOG_INTERVAL_S. On EMFILE/ENFILE the listener is switched off
 * for CONNLIMIT_ACCEPT_BACKOFF_MS instead of spinning on accept(). */
#ifndef TETHER_CONNLIMIT_H
#define TETHER_CONNLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#define CONNLIMIT_FD_HEADROOM          64    /* descriptors kept for files, the store, logs */
#define CONNLIMIT_FD_HEADROOM_DIV      16    /* and 1/16 of the limit on top, for what grows
                                              * with the deployment: relay checks and
                                              * reports, webhooks, the store's journal */
#define CONNLIMIT_MAX_PER_ADDR         512   /* open connections from one address */
#define CONNLIMIT_MAX_PENDING_PER_ADDR 32    /* handshakes and heads in progress, one address */
#define CONNLIMIT_ACCEPT_BACKOFF_MS    200   /* accept paused after EMFILE/ENFILE */
#define CONNLIMIT_LOG_INTERVAL_S       10    /* at most one refusal summary per interval */
#define CONNLIMIT_ADDR_BYTES           16    /* IPv6 */

struct connlimit_conf {
	long max_total;            /* all peers; 0: from RLIMIT_NOFILE */
	long max_per_addr;
	long max_pending_per_addr;
};

/* The source address of one connection, as counted. */
struct connlimit_addr {
	int family;
	uint8_t bytes[CONNLIMIT_ADDR_BYTES];
};

struct connlimit;

/* what names the daemon's port in log lines ("https", "relay"). The overall
 * limit is the smaller of max_total and RLIMIT_NOFILE less the headroom
 * (connlimit_headroom), read when this is called: raise the limit first
 * (fdlimit.h). */
int connlimit_new(struct event_base *base, const char *what, const struct connlimit_conf *c,
                  struct connlimit **out);
void connlimit_free(struct connlimit *cl);
/* Descriptors kept out of the overall limit when RLIMIT_NOFILE is nofile:
 * CONNLIMIT_FD_HEADROOM + nofile / CONNLIMIT_FD_HEADROOM_DIV. */
long connlimit_headroom(long nofile);
/* The overall limit in force. */
long connlimit_max_total(const struct connlimit *cl);
/* Take a slot for a new connection from sa: 0, or an error (counted
 * and logged, rate-limited) when the peer or everyone is at a limit;
 * TE_ERR_DENIED when over a limit, TE_ERR_NOMEM. */
int connlimit_open(struct connlimit *cl, const struct sockaddr *sa, struct connlimit_addr *out);
/* The connection got through its handshake and first head. */
void connlimit_served(struct connlimit *cl, const struct connlimit_addr *a);
/* The connection closed; served says whether connlimit_served was called. */
void connlimit_close(struct connlimit *cl, const struct connlimit_addr *a, int served);
/* Call from l's accept error callback: on EMFILE/ENFILE (and ENOBUFS,
 * ENOMEM) l is disabled for CONNLIMIT_ACCEPT_BACKOFF_MS; the line is
 * logged at most once per CONNLIMIT_LOG_INTERVAL_S. */
void connlimit_accept_failed(struct connlimit *cl, struct evconnlistener *l);
/* The daemon paused accept because max_total connections are open; logs
 * at most once per CONNLIMIT_LOG_INTERVAL_S, with the count since. */
void connlimit_note_full(struct connlimit *cl);
/* "ADDR" for logs. */
void connlimit_addr_text(const struct connlimit_addr *a, char *out, size_t outsz);

#endif
