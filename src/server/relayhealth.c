/* relayhealth.c: periodic application-level checks of every registered
 * relay: TLS to its client port (no client certificate: the server's
 * certificate is for serving only), the question
 * "TETHER/1 health\n", and the answer "OK health <name>\n" from the relay's
 * event loop, all within one deadline. A TCP connect alone is not enough: the
 * kernel completes it for a relay that is stopped (SIGSTOP) or stuck. Name
 * resolution goes through evdns, the exchange through an OpenSSL socket
 * bufferevent, so nothing here waits on the network inside the event loop. */
#include "relayhealth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>

#include "err.h"
#include "log.h"
#include "pki.h"
#include "tls.h"

#define RELAYHEALTH_WHY_BYTES    320
#define RELAYHEALTH_ANSWER_BYTES 128   /* "OK health <name>\n" fits well within */
#define RELAYHEALTH_QUESTION     "TETHER/1 health\n"

struct relayhealth_entry {
	struct relayhealth *h;
	int used;
	char name[MAX_NAME_BYTES];
	char host[STORE_TEXT_BYTES];
	int port;                     /* device port: with host, names the relay */
	int check_port;               /* client port: where the check goes */
	enum relayhealth_state state;
	char why[RELAYHEALTH_WHY_BYTES];
	struct bufferevent *probe;    /* the check in progress, or NULL */
	struct event *deadline;
	int seen;                     /* listed by the store at this tick */
};

struct relayhealth {
	struct event_base *base;
	struct evdns_base *dns;       /* NULL: numeric hosts only */
	struct store *store;
	SSL_CTX *tls;                 /* client context: server cert, relay role */
	struct event *tick;
	struct timeval interval;
	struct timeval timeout;
	struct relayhealth_entry e[RELAYHEALTH_MAX_RELAYS];
};

static void relayhealth_probe_end(struct relayhealth_entry *e)
{
	if (e->probe != NULL)
		bufferevent_free(e->probe);
	e->probe = NULL;
	if (e->deadline != NULL)
		evtimer_del(e->deadline);
}

/* Record a check's outcome; only changes are logged, so a dead relay costs
 * one line, not one per interval. */
static void relayhealth_set(struct relayhealth_entry *e, enum relayhealth_state st,
                            const char *why)
{
	relayhealth_probe_end(e);
	if (st == e->state && (st == RELAYHEALTH_UP || strcmp(why, e->why) == 0))
		return;
	if (st == RELAYHEALTH_UP)
		log_info("relay %s (%s:%d) is up", e->name, e->host, e->port);
	else
		log_warn("relay %s (%s:%d) is down: %s; sessions go to other relays",
		         e->name, e->host, e->port, why);
	e->state = st;
	snprintf(e->why, sizeof(e->why), "%s", st == RELAYHEALTH_UP ? "" : why);
}

/* The relay's answer: one line "OK health <name>" naming the relay asked. */
static void relayhealth_read_cb(struct bufferevent *bev, void *arg)
{
	struct relayhealth_entry *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[RELAYHEALTH_ANSWER_BYTES], want[RELAYHEALTH_ANSWER_BYTES];
	char why[RELAYHEALTH_WHY_BYTES];
	struct evbuffer_ptr eol;
	size_t eol_len = 0, i;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) >= sizeof(line))
			relayhealth_set(e, RELAYHEALTH_DOWN, "its health answer is not one short line");
		return;
	}
	if ((size_t)eol.pos >= sizeof(line)) {
		relayhealth_set(e, RELAYHEALTH_DOWN, "its health answer is not one short line");
		return;
	}
	evbuffer_remove(in, line, (size_t)eol.pos);
	line[eol.pos] = '\0';
	snprintf(want, sizeof(want), "OK health %s", e->name);
	if (strcmp(line, want) == 0) {
		relayhealth_set(e, RELAYHEALTH_UP, "");
		return;
	}
	for (i = 0; line[i] != '\0'; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	}
	snprintf(why, sizeof(why), "unexpected health answer \"%.80s\"", line);
	relayhealth_set(e, RELAYHEALTH_DOWN, why);
}

static void relayhealth_connected(struct relayhealth_entry *e)
{
	SSL *ssl = bufferevent_openssl_get_ssl(e->probe);

	/* The CA check proved a relay; the CN must be the relay asked about. */
	if (ssl == NULL || tls_peer_check(ssl, PKI_ROLE_RELAY, e->name) != 0) {
		relayhealth_set(e, RELAYHEALTH_DOWN, "its certificate is not that relay's");
		return;
	}
	bufferevent_write(e->probe, RELAYHEALTH_QUESTION, sizeof(RELAYHEALTH_QUESTION) - 1);
}

static void relayhealth_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relayhealth_entry *e = arg;
	char why[RELAYHEALTH_WHY_BYTES], tlserr[160] = "";
	unsigned long err;
	int dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		relayhealth_connected(e);
		return;
	}
	if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)))
		return;
	while ((err = bufferevent_get_openssl_error(bev)) != 0) {
		if (tlserr[0] == '\0' && ERR_GET_LIB(err) != 0)
			ERR_error_string_n(err, tlserr, sizeof(tlserr));
	}
	dnserr = bufferevent_socket_get_dns_error(bev);
	if (dnserr != 0)
		snprintf(why, sizeof(why), "cannot resolve %.128s: %.128s", e->host,
		         evutil_gai_strerror(dnserr));
	else if (tlserr[0] != '\0')
		snprintf(why, sizeof(why), "TLS: %s", tlserr);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed without a health answer");
	else
		snprintf(why, sizeof(why), "%s",
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	relayhealth_set(e, RELAYHEALTH_DOWN, why);
}

static void relayhealth_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relayhealth_entry *e = arg;
	char why[RELAYHEALTH_WHY_BYTES];

	snprintf(why, sizeof(why), "no answer within %ld ms",
	         (long)(e->h->timeout.tv_sec * 1000 + e->h->timeout.tv_usec / 1000));
	relayhealth_set(e, RELAYHEALTH_DOWN, why);
}

static void relayhealth_probe_start(struct relayhealth_entry *e)
{
	struct relayhealth *h = e->h;
	SSL *ssl;

	if (e->probe != NULL)
		return;   /* the last one is still within its deadline */
	if ((ssl = SSL_new(h->tls)) == NULL || tls_client_set_host(ssl, e->host) != 0) {
		SSL_free(ssl);
		relayhealth_set(e, RELAYHEALTH_DOWN, "cannot set up TLS for its check");
		return;
	}
	/* Deferred callbacks: a refusal found inside the connect call is still
	 * reported from the loop, never from under this function. On failure
	 * libevent frees ssl itself. */
	e->probe = bufferevent_openssl_socket_new(h->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                          BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (e->probe == NULL) {
		log_error("relay %s: out of memory for its health check", e->name);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(e->probe, 1);
	bufferevent_setcb(e->probe, relayhealth_read_cb, NULL, relayhealth_event_cb, e);
	bufferevent_setwatermark(e->probe, EV_READ, 0, RELAYHEALTH_ANSWER_BYTES);
	bufferevent_enable(e->probe, EV_READ | EV_WRITE);
	/* One deadline for connect, handshake, question and answer. */
	evtimer_add(e->deadline, &h->timeout);
	if (bufferevent_socket_connect_hostname(e->probe, h->dns, AF_UNSPEC, e->host,
	                                        e->check_port) != 0)
		relayhealth_set(e, RELAYHEALTH_DOWN, "cannot start a connection");
}

static struct relayhealth_entry *relayhealth_find(struct relayhealth *h, const char *name)
{
	for (size_t i = 0; i < RELAYHEALTH_MAX_RELAYS; i++) {
		if (h->e[i].used && strcmp(h->e[i].name, name) == 0)
			return &h->e[i];
	}
	return NULL;
}

/* The entry for r, new or moved to another address (then UNKNOWN again). */
static struct relayhealth_entry *relayhealth_entry_for(struct relayhealth *h,
                                                       const struct store_relay *r)
{
	struct relayhealth_entry *e = relayhealth_find(h, r->name);

	for (size_t i = 0; e == NULL && i < RELAYHEALTH_MAX_RELAYS; i++) {
		if (!h->e[i].used) {
			e = &h->e[i];
			e->used = 1;
			e->state = RELAYHEALTH_UNKNOWN;
			snprintf(e->name, sizeof(e->name), "%s", r->name);
		}
	}
	if (e == NULL)
		return NULL;
	if (strcmp(e->host, r->host) != 0 || e->port != r->device_port ||
	    e->check_port != r->client_port) {
		relayhealth_probe_end(e);
		snprintf(e->host, sizeof(e->host), "%s", r->host);
		e->port = r->device_port;
		e->check_port = r->client_port;
		e->state = RELAYHEALTH_UNKNOWN;
		e->why[0] = '\0';
	}
	return e;
}

void relayhealth_check_now(struct relayhealth *h)
{
	struct store_relay *relays = calloc(RELAYHEALTH_MAX_RELAYS, sizeof(*relays));
	size_t n = 0, i;

	/* The list is read each time: `tether-server relay add` is another process. */
	if (relays == NULL || store_relay_list(h->store, relays, RELAYHEALTH_MAX_RELAYS, &n) != 0) {
		log_error("relay health: cannot read the relay list");
		free(relays);
		return;
	}
	for (i = 0; i < RELAYHEALTH_MAX_RELAYS; i++)
		h->e[i].seen = 0;
	for (i = 0; i < n; i++) {
		struct relayhealth_entry *e = relayhealth_entry_for(h, &relays[i]);

		if (e == NULL)
			continue;
		e->seen = 1;
		relayhealth_probe_start(e);
	}
	for (i = 0; i < RELAYHEALTH_MAX_RELAYS; i++) {
		if (h->e[i].used && !h->e[i].seen) {
			relayhealth_probe_end(&h->e[i]);
			h->e[i].used = 0;
			h->e[i].host[0] = '\0';
		}
	}
	free(relays);
}

static void relayhealth_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	relayhealth_check_now(arg);
}

int relayhealth_new(struct event_base *base, struct store *st, SSL_CTX *tls,
                    long interval_s, long timeout_ms, struct relayhealth **out)
{
	struct relayhealth *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL)
		return TE_ERR_NOMEM;
	h->base = base;
	h->store = st;
	h->tls = tls;
	h->interval.tv_sec = interval_s;
	h->timeout.tv_sec = timeout_ms / 1000;
	h->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	/* Without a resolver config relays given by address still work. */
	h->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (h->dns == NULL)
		log_warn("relay health: no DNS resolver; relays must be given by address");
	if ((h->tick = event_new(base, -1, EV_PERSIST, relayhealth_tick_cb, h)) == NULL)
		goto nomem;
	for (size_t i = 0; i < RELAYHEALTH_MAX_RELAYS; i++) {
		h->e[i].h = h;
		if ((h->e[i].deadline = evtimer_new(base, relayhealth_deadline_cb, &h->e[i])) == NULL)
			goto nomem;
	}
	event_add(h->tick, &h->interval);
	relayhealth_check_now(h);
	*out = h;
	return 0;
nomem:
	relayhealth_free(h);
	return TE_ERR_NOMEM;
}

void relayhealth_free(struct relayhealth *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < RELAYHEALTH_MAX_RELAYS; i++) {
		relayhealth_probe_end(&h->e[i]);
		if (h->e[i].deadline != NULL)
			event_free(h->e[i].deadline);
	}
	if (h->tick != NULL)
		event_free(h->tick);
	if (h->dns != NULL)
		evdns_base_free(h->dns, 0);
	free(h);
}

enum relayhealth_state relayhealth_get(const struct relayhealth *h, const char *name,
                                       const char *host, int port, const char **why)
{
	for (size_t i = 0; h != NULL && i < RELAYHEALTH_MAX_RELAYS; i++) {
		const struct relayhealth_entry *e = &h->e[i];

		if (!e->used || strcmp(e->name, name) != 0)
			continue;
		if (strcmp(e->host, host) != 0 || e->port != port)
			break;
		if (why != NULL)
			*why = e->state != RELAYHEALTH_UNKNOWN ? e->why : e->probe != NULL ?
			       "not checked yet (a check is running)" : "not checked yet";
		return e->state;
	}
	if (why != NULL)
		*why = "not checked yet";
	return RELAYHEALTH_UNKNOWN;
}
