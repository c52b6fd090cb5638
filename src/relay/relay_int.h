/* relay_int.h: the relay's internal structures, shared by relay.c (listeners
 * and lifecycle), leg.c (one connection until it is accepted or refused) and
 * splice.c (pairing and copying). Not for use outside src/relay/. */
#ifndef TETHER_RELAY_INT_H
#define TETHER_RELAY_INT_H

#include <stdint.h>
#include <time.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "connlimit.h"
#include "relay.h"
#include "ticket.h"

enum leg_state {
	LEG_HANDSHAKE,   /* TLS handshake running */
	LEG_PREAMBLE,    /* waiting for the preamble line */
	LEG_WAITING,     /* accepted ("OK" sent), reads held, partner awaited */
	LEG_SPLICING,    /* paired, bytes flow */
	LEG_CLOSING,     /* flushing the last bytes, then freed */
};

struct relay_session;
struct metricsd;

/* What this relay process counted since it started. */
struct relay_counts {
	uint64_t connections;            /* accepted on either port (health checks too) */
	uint64_t legs_accepted[2];       /* legs whose ticket was taken: device, client */
	uint64_t sessions;               /* sessions paired and spliced */
	uint64_t bytes_device_to_client;
	uint64_t bytes_client_to_device;
	uint64_t audit_appends;
	uint64_t audit_failures;
};

struct relay_leg {
	struct relay *relay;
	struct relay_leg *prev, *next;   /* relay->legs */
	struct bufferevent *bev;
	struct event *timer;             /* preamble, unpaired or drain timeout */
	enum ticket_leg port;            /* the listener it came in on */
	enum leg_state state;
	uint64_t id;                     /* for log lines */
	char peer[64];                   /* "ADDR:PORT" */
	int have_ticket;
	struct ticket ticket;            /* verified ticket, once have_ticket */
	struct relay_session *sess;
	int paused;                      /* reads paused: partner's output is full */
	struct connlimit_addr addr;      /* counted in relay->limits */
	int served;                      /* its preamble line came (connlimit_served) */
};

struct relay_session {
	struct relay_leg *device;        /* NULL once that leg is freed */
	struct relay_leg *client;
	char id[MAX_NAME_BYTES];
	char device_name[MAX_NAME_BYTES];
	char user[MAX_NAME_BYTES];
	int64_t conn;                    /* the connection of the session (ticket "cn") */
	uint64_t bytes_device_to_client;
	uint64_t bytes_client_to_device;
	struct timespec started;
	int ended;                       /* end audited and reported */
};

struct relay {
	struct event_base *base;
	const struct relay_config *cfg;
	SSL_CTX *device_ctx;
	SSL_CTX *client_ctx;
	SSL_CTX *report_ctx;
	struct evconnlistener *device_listener;
	struct evconnlistener *client_listener;
	EVP_PKEY *ticket_pub;
	struct audit_log *audit;
	struct relay_nonces *nonces;
	struct relay_report *report;
	struct relay_leg *legs;
	struct connlimit *limits;        /* per-address and overall leg limits */
	size_t nlegs;
	size_t nsessions;
	uint64_t next_id;
	int started;                     /* relay_start audited */
	int64_t started_at;              /* unix second this run began; tickets
	                                  * issued at or before it may have been
	                                  * used by an earlier run (nonces are
	                                  * kept in memory only) */
	uint64_t pauses;                 /* times a reading side was paused (tests) */
	struct relay_counts counts;      /* for /metrics (relaymetrics.c) */
	struct metricsd *metrics;        /* metrics_listen, or NULL (off) */
};

/* relaymetrics.c: /metrics and /healthz on metrics_listen (lib metricsd.h). */
int relay_metrics_start(struct relay *r, char *errbuf, size_t errsz);
void relay_metrics_stop(struct relay *r);

/* relay.c */
/* Append one audit record; detail is consumed (decref'd). Failures are
 * logged and returned (relay_audit_why says why): the relay pairs no legs
 * it cannot record. */
int relay_audit(struct relay *r, const char *action, json_t *detail);
/* Why the last append failed. */
const char *relay_audit_why(const struct relay *r);

/* leg.c */
void relay_leg_accept(struct relay *r, evutil_socket_t fd,
                      const struct sockaddr *sa, int salen, enum ticket_leg port);
/* Stop reading, flush what is queued for the peer, then close (bounded by
 * RELAY_DRAIN_TIMEOUT_S). May free leg at once. */
void relay_leg_close_after_flush(struct relay_leg *leg);
/* Free now. notify sends a TLS close_notify first (best effort). */
void relay_leg_free(struct relay_leg *leg, int notify);
const char *relay_leg_word(enum ticket_leg leg);
/* The first real OpenSSL error queued on leg's bufferevent, in buf ("" when
 * there is none); drains the queue. */
void relay_leg_tls_error(struct relay_leg *leg, char *buf, size_t bufsz);

/* splice.c */
/* A leg was just accepted: find its partner and start splicing, if there. */
void relay_splice_try_pair(struct relay_leg *leg);
/* The first waiting or splicing leg of this session, connection number
 * (ticket "cn") and leg kind, or NULL. */
struct relay_leg *relay_splice_find(struct relay *r, const char *session, int64_t conn,
                                    enum ticket_leg leg);
void relay_splice_read(struct relay_leg *leg);
void relay_splice_write(struct relay_leg *leg);
void relay_splice_event(struct relay_leg *leg, short what);
/* Record the session's end once (audit + report); reason says who ended it. */
void relay_session_end(struct relay_session *s, struct relay *r, const char *reason);

#endif
