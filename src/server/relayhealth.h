/* relayhealth.h: the server's background health checks of its relays (the
 * idea of relayd's hce process, on the server's own event loop). Every
 * interval each registered relay's client port gets a nonblocking TLS
 * connect and the "TETHER/1 health" question, all within one deadline; only
 * the relay's own event loop answers, so a stopped relay is seen down. The
 * outcome is kept per relay, and the relay pick at consent reads it without
 * waiting on any network. */
#ifndef TETHER_SERVER_RELAYHEALTH_H
#define TETHER_SERVER_RELAYHEALTH_H

#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "store.h"

#define RELAYHEALTH_INTERVAL_S    2     /* relay_check.interval_s default */
#define RELAYHEALTH_TIMEOUT_MS    2000  /* relay_check.timeout_ms default */
#define RELAYHEALTH_MAX_RELAYS    64    /* relays checked; more are never picked */

enum relayhealth_state {
	RELAYHEALTH_UNKNOWN = 0,   /* not checked yet (just added or started) */
	RELAYHEALTH_UP,            /* the last check got the relay's answer */
	RELAYHEALTH_DOWN,          /* the last check failed or timed out */
};

struct relayhealth;

/* Start checking at once and then every interval_s on base. tls is a client
 * context trusting the deployment CA that expects the relay role; it is
 * borrowed and must outlive h. */
int relayhealth_new(struct event_base *base, struct store *st, SSL_CTX *tls,
                    long interval_s, long timeout_ms, struct relayhealth **out);
void relayhealth_free(struct relayhealth *h);
/* The last known state of relay name at host:port (a relay moved to another
 * address is UNKNOWN until checked there). why, when not NULL, gets the
 * reason of a DOWN. Never blocks. */
enum relayhealth_state relayhealth_get(const struct relayhealth *h, const char *name,
                                       const char *host, int port, const char **why);
/* Check every relay now (tests and a relay added at run time). */
void relayhealth_check_now(struct relayhealth *h);

#endif
