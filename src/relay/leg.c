/* leg.c: one relay connection from accept until it is accepted ("OK") or
 * refused ("ERR"): TLS handshake, the preamble line, the ticket checks.
 * After "OK" the leg waits, reads held, for splice.c to pair it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "audit.h"
#include "err.h"
#include "log.h"
#include "nonce.h"
#include "pki.h"
#include "preamble.h"
#include "relay_int.h"
#include "secret.h"
#include "tls.h"

#define LEG_MESSAGE_BYTES 256

const char *relay_leg_word(enum ticket_leg leg)
{
	return leg == TICKET_LEG_DEVICE ? "device" : "client";
}

static void leg_format_peer(const struct sockaddr *sa, char *out, size_t outsz)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		evutil_inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		port = ntohs(in->sin_port);
		snprintf(out, outsz, "%s:%d", addr, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		evutil_inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		port = ntohs(in6->sin6_port);
		snprintf(out, outsz, "[%s]:%d", addr, port);
	} else {
		snprintf(out, outsz, "unknown");
	}
}

static void leg_detach_session(struct relay_leg *leg)
{
	struct relay_session *s = leg->sess;

	if (s == NULL)
		return;
	if (!s->ended)
		relay_session_end(s, leg->relay, "connection closed");
	if (s->device == leg)
		s->device = NULL;
	if (s->client == leg)
		s->client = NULL;
	leg->sess = NULL;
	if (s->device == NULL && s->client == NULL) {
		free(s);
		leg->relay->nsessions--;
	}
}

void relay_leg_free(struct relay_leg *leg, int notify)
{
	struct relay *r;
	SSL *ssl;

	if (leg == NULL)
		return;
	r = leg->relay;
	leg_detach_session(leg);
	if (leg->prev != NULL)
		leg->prev->next = leg->next;
	else
		r->legs = leg->next;
	if (leg->next != NULL)
		leg->next->prev = leg->prev;
	r->nlegs--;
	connlimit_close(r->limits, &leg->addr, leg->served);
	if (leg->timer != NULL)
		event_free(leg->timer);
	if (leg->bev != NULL) {
		ssl = bufferevent_openssl_get_ssl(leg->bev);
		/* A close_notify lets the peer tell an orderly end from a cut. */
		if (notify && ssl != NULL && SSL_is_init_finished(ssl))
			SSL_shutdown(ssl);
		ERR_clear_error();
		bufferevent_free(leg->bev);
	}
	free(leg);
}

void relay_leg_close_after_flush(struct relay_leg *leg)
{
	struct timeval tv = { RELAY_DRAIN_TIMEOUT_S, 0 };

	leg->state = LEG_CLOSING;
	leg->paused = 0;
	bufferevent_disable(leg->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(leg->bev)) == 0) {
		relay_leg_free(leg, 1);
		return;
	}
	/* The write callback fires once the output is empty (low mark 0). */
	bufferevent_setwatermark(leg->bev, EV_WRITE, 0, 0);
	bufferevent_enable(leg->bev, EV_WRITE);
	evtimer_del(leg->timer);
	evtimer_add(leg->timer, &tv);
}

/* Answer "ERR <code> <message>", log, audit, then close after the flush. */
static void leg_refuse(struct relay_leg *leg, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void leg_refuse(struct relay_leg *leg, const char *code, const char *fmt, ...)
{
	char msg[LEG_MESSAGE_BYTES], line[LEG_MESSAGE_BYTES + 64];
	json_t *d;
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The answer is one line: never let a name from a ticket break it. */
	for (i = 0; msg[i] != '\0'; i++) {
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	}
	log_warn("refused %s leg #%llu from %s: %s: %s%s%s", relay_leg_word(leg->port),
	         (unsigned long long)leg->id, leg->peer, code, msg,
	         leg->have_ticket ? "; session " : "",
	         leg->have_ticket ? leg->ticket.session : "");
	d = json_pack("{s:s, s:s, s:s, s:s}", "code", code, "message", msg,
	              "peer", leg->peer, "port", relay_leg_word(leg->port));
	if (d != NULL && leg->have_ticket)
		json_object_set_new(d, "session", json_string(leg->ticket.session));
	relay_audit(leg->relay, "leg_refused", d);
	leg->have_ticket = 0;
	snprintf(line, sizeof(line), "ERR %s %s\n", code, msg);
	bufferevent_write(leg->bev, line, strlen(line));
	relay_leg_close_after_flush(leg);
}

/* The device port's peer must be a device whose CN is the ticket's device. */
static const char *leg_check_device(struct relay_leg *leg, struct tls_peer *peer,
                                    char *msg, size_t msgsz)
{
	SSL *ssl = bufferevent_openssl_get_ssl(leg->bev);

	if (ssl == NULL || tls_peer_identity(ssl, peer) != 0 ||
	    strcmp(peer->role, PKI_ROLE_DEVICE) != 0) {
		snprintf(msg, msgsz, "the device port needs a device certificate");
		return "wrong_device";
	}
	if (strcmp(peer->name, leg->ticket.device) != 0) {
		snprintf(msg, msgsz, "certificate is for device %s but the ticket is for %s",
		         peer->name, leg->ticket.device);
		return "wrong_device";
	}
	return NULL;
}

/* All checks, in the order of docs/protocol.md. NULL when the leg may pass;
 * otherwise the error code, with msg filled. */
static const char *leg_check(struct relay_leg *leg, const struct preamble *p,
                             char *msg, size_t msgsz)
{
	struct relay *r = leg->relay;
	struct tls_peer peer;
	const char *code;
	int64_t now = (int64_t)time(NULL);
	int rc;

	memset(&peer, 0, sizeof(peer));
	rc = ticket_verify(p->ticket, p->ticket_len, r->ticket_pub, now, &leg->ticket);
	if (rc == TE_ERR_EXPIRED) {
		snprintf(msg, msgsz, "ticket has expired; ask the server for a new session");
		return "expired";
	}
	if (rc != 0) {
		snprintf(msg, msgsz, "ticket does not verify (%s)", te_strerror(rc));
		return "bad_ticket";
	}
	leg->have_ticket = 1;
	/* The used nonces of an earlier run are gone; a ticket from before this
	 * run started could be one of them, so it is refused whatever it says. */
	if (leg->ticket.issued_at <= r->started_at) {
		snprintf(msg, msgsz, "ticket was issued before this relay started (at %lld);"
		         " it may have been used already; ask the server for a new session",
		         (long long)r->started_at);
		return "before_restart";
	}
	if (p->leg != leg->port || leg->ticket.leg != leg->port) {
		snprintf(msg, msgsz, "this is the %s port; the %s leg belongs on the other port",
		         relay_leg_word(leg->port),
		         relay_leg_word(p->leg != leg->port ? p->leg : leg->ticket.leg));
		return "wrong_leg";
	}
	if (strcmp(leg->ticket.relay, r->cfg->name) != 0) {
		snprintf(msg, msgsz, "ticket is for relay %s; this is %s",
		         leg->ticket.relay, r->cfg->name);
		return "wrong_relay";
	}
	if (leg->port == TICKET_LEG_DEVICE &&
	    (code = leg_check_device(leg, &peer, msg, msgsz)) != NULL)
		return code;
	/* The library's own binding check, as a second opinion on the above. */
	if (ticket_check_binding(&leg->ticket, leg->port, r->cfg->name,
	                         leg->port == TICKET_LEG_DEVICE ? peer.name : NULL) != 0) {
		snprintf(msg, msgsz, "ticket is not bound to this connection");
		return "bad_ticket";
	}
	rc = relay_nonces_use(r->nonces, leg->ticket.nonce, leg->ticket.expires_at, now);
	if (rc == TE_ERR_REPLAY) {
		snprintf(msg, msgsz, "ticket was already used; tickets are single use");
		return "replayed";
	}
	if (rc != 0) {
		snprintf(msg, msgsz, "ticket cannot be accepted now (%s); try again",
		         te_strerror(rc));
		return "bad_ticket";
	}
	/* A second fresh ticket for a leg this session already has is a replay
	 * of the leg, even though the ticket itself is new. */
	if (relay_splice_find(r, leg->ticket.session, leg->ticket.conn, leg->port) != NULL) {
		snprintf(msg, msgsz, "session %s connection %lld already has a %s leg",
		         leg->ticket.session, (long long)leg->ticket.conn, relay_leg_word(leg->port));
		return "replayed";
	}
	return NULL;
}

static void leg_accept_ticket(struct relay_leg *leg)
{
	struct timeval tv = { leg->relay->cfg->unpaired_timeout_s, 0 };
	char line[MAX_NAME_BYTES + 8];
	json_t *d;

	/* No session without a trail: a leg the relay cannot record is refused
	 * before it is told OK, with the reason. */
	d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "session", leg->ticket.session,
	              "leg", relay_leg_word(leg->port), "device", leg->ticket.device,
	              "user", leg->ticket.user, "peer", leg->peer);
	if (d != NULL && leg->ticket.conn > 0)
		json_object_set_new(d, "conn", json_integer(leg->ticket.conn));
	if (relay_audit(leg->relay, "leg_accepted", d) != 0) {
		leg_refuse(leg, "audit_unavailable", "relay audit trail unavailable: %s",
		           relay_audit_why(leg->relay));
		return;
	}
	snprintf(line, sizeof(line), "OK %s\n", leg->ticket.session);
	bufferevent_write(leg->bev, line, strlen(line));
	leg->state = LEG_WAITING;
	leg->relay->counts.legs_accepted[leg->port == TICKET_LEG_DEVICE ? 0 : 1]++;
	/* Hold reads: bytes that came with the preamble stay buffered and are
	 * forwarded on pairing; anything later waits in the socket. */
	bufferevent_disable(leg->bev, EV_READ);
	bufferevent_setwatermark(leg->bev, EV_READ, 0, RELAY_HIGH_WATER_BYTES);
	evtimer_del(leg->timer);
	evtimer_add(leg->timer, &tv);
	log_info("accepted %s leg #%llu from %s: session %s, device %s, user %s",
	         relay_leg_word(leg->port), (unsigned long long)leg->id, leg->peer,
	         leg->ticket.session, leg->ticket.device, leg->ticket.user);
	relay_splice_try_pair(leg);
}

/* The server's health check: the answer comes from this event loop, so a
 * relay that is stopped or stuck fails it even though its kernel still
 * completes TCP connects. Neither audited nor logged above debug: it comes
 * every few seconds and is no session. */
static void leg_answer_health(struct relay_leg *leg)
{
	char line[MAX_NAME_BYTES + 16];

	log_debug("%s port: health check from %s", relay_leg_word(leg->port), leg->peer);
	snprintf(line, sizeof(line), "OK " PREAMBLE_HEALTH_WORD " %s\n", leg->relay->cfg->name);
	bufferevent_write(leg->bev, line, strlen(line));
	relay_leg_close_after_flush(leg);
}

static void leg_read_preamble(struct relay_leg *leg)
{
	char line[MAX_PREAMBLE_BYTES];
	char msg[LEG_MESSAGE_BYTES];
	struct evbuffer *in = bufferevent_get_input(leg->bev);
	struct evbuffer_ptr eol;
	struct preamble p;
	const char *code;
	size_t eol_len = 0, n;

	leg->state = LEG_PREAMBLE;  /* application data means the handshake is done */
	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) >= MAX_PREAMBLE_BYTES)
			leg_refuse(leg, "bad_preamble", "no newline within %d bytes; send "
			           "\"TETHER/1 <leg> <ticket>\" and a newline", MAX_PREAMBLE_BYTES);
		return;
	}
	n = (size_t)eol.pos + 1;
	if (n > MAX_PREAMBLE_BYTES) {
		leg_refuse(leg, "bad_preamble", "preamble longer than %d bytes",
		           MAX_PREAMBLE_BYTES);
		return;
	}
	if (!leg->served) {
		leg->served = 1;   /* a whole line came: no longer a half-open leg */
		connlimit_served(leg->relay->limits, &leg->addr);
	}
	if (evbuffer_remove(in, line, n) != (int)n) {
		leg_refuse(leg, "bad_preamble", "could not read the preamble");
		return;
	}
	if (relay_preamble_parse(line, n, &p) != 0) {
		secret_wipe(line, n);
		leg_refuse(leg, "bad_preamble", "%s; send \"TETHER/1 <leg> <ticket>\" "
		           "and a newline", p.why);
		return;
	}
	secret_wipe(line, n);
	if (p.health) {
		leg_answer_health(leg);
		return;
	}
	code = leg_check(leg, &p, msg, sizeof(msg));
	secret_wipe(&p, sizeof(p));
	if (code != NULL)
		leg_refuse(leg, code, "%s", msg);
	else
		leg_accept_ticket(leg);
}

static void leg_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_leg *leg = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	switch (leg->state) {
	case LEG_HANDSHAKE:
	case LEG_PREAMBLE:
		leg_read_preamble(leg);
		break;
	case LEG_SPLICING:
		relay_splice_read(leg);
		break;
	case LEG_WAITING:
		break;  /* held until pairing */
	case LEG_CLOSING:
		evbuffer_drain(in, evbuffer_get_length(in));
		break;
	}
}

static void leg_write_cb(struct bufferevent *bev, void *arg)
{
	struct relay_leg *leg = arg;

	if (leg->state == LEG_SPLICING)
		relay_splice_write(leg);
	else if (leg->state == LEG_CLOSING &&
	         evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		relay_leg_free(leg, 1);
}

void relay_leg_tls_error(struct relay_leg *leg, char *buf, size_t bufsz)
{
	unsigned long e;

	buf[0] = '\0';
	/* libevent queues OpenSSL's errors and then a bare SSL_get_error()
	 * value (library 0); the first real OpenSSL error says the most. */
	while ((e = bufferevent_get_openssl_error(leg->bev)) != 0) {
		if (buf[0] == '\0' && ERR_GET_LIB(e) != 0)
			ERR_error_string_n(e, buf, bufsz);
	}
}

static void leg_handshake_failed(struct relay_leg *leg)
{
	char err[256];
	json_t *d;

	relay_leg_tls_error(leg, err, sizeof(err));
	if (err[0] == '\0') {
		/* A bare TCP connect and close (a port probe) is worth neither an
		 * audit record nor a line at the default level. */
		log_debug("%s port: connection from %s closed during the TLS handshake",
		         relay_leg_word(leg->port), leg->peer);
		relay_leg_free(leg, 0);
		return;
	}
	log_warn("%s port: TLS handshake with %s failed: %s",
	         relay_leg_word(leg->port), leg->peer, err);
	d = json_pack("{s:s, s:s, s:s, s:s}", "code", "tls_handshake", "message", err,
	              "peer", leg->peer, "port", relay_leg_word(leg->port));
	relay_audit(leg->relay, "leg_refused", d);
	relay_leg_free(leg, 0);
}

static void leg_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_leg *leg = arg;

	if (what & BEV_EVENT_CONNECTED) {
		if (leg->state == LEG_HANDSHAKE)
			leg->state = LEG_PREAMBLE;
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	switch (leg->state) {
	case LEG_HANDSHAKE:
		leg_handshake_failed(leg);
		break;
	case LEG_PREAMBLE:
		log_info("%s leg #%llu from %s closed before its preamble",
		         relay_leg_word(leg->port), (unsigned long long)leg->id, leg->peer);
		relay_leg_free(leg, 0);
		break;
	case LEG_WAITING:
		log_info("%s leg #%llu from %s (session %s) closed while waiting for its partner",
		         relay_leg_word(leg->port), (unsigned long long)leg->id, leg->peer,
		         leg->ticket.session);
		relay_leg_free(leg, 0);
		break;
	case LEG_SPLICING:
		relay_splice_event(leg, what);
		break;
	case LEG_CLOSING:
		relay_leg_free(leg, 0);
		break;
	}
}

static void leg_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_leg *leg = arg;
	json_t *d;

	switch (leg->state) {
	case LEG_HANDSHAKE:
		log_info("%s port: no TLS handshake from %s within %d s; closing",
		         relay_leg_word(leg->port), leg->peer, RELAY_PREAMBLE_TIMEOUT_S);
		relay_leg_free(leg, 0);
		break;
	case LEG_PREAMBLE:
		leg_refuse(leg, "bad_preamble", "no preamble line within %d s",
		           RELAY_PREAMBLE_TIMEOUT_S);
		break;
	case LEG_WAITING:
		log_info("%s leg #%llu (session %s): no partner within %ld s; closing",
		         relay_leg_word(leg->port), (unsigned long long)leg->id,
		         leg->ticket.session, leg->relay->cfg->unpaired_timeout_s);
		d = json_pack("{s:s, s:s, s:s}", "session", leg->ticket.session,
		              "leg", relay_leg_word(leg->port), "peer", leg->peer);
		relay_audit(leg->relay, "leg_unpaired", d);
		relay_leg_free(leg, 1);
		break;
	case LEG_SPLICING:
		break;
	case LEG_CLOSING:
		log_debug("leg #%llu: peer did not take the last bytes within %d s",
		          (unsigned long long)leg->id, RELAY_DRAIN_TIMEOUT_S);
		relay_leg_free(leg, 0);
		break;
	}
}

void relay_leg_accept(struct relay *r, evutil_socket_t fd,
                      const struct sockaddr *sa, int salen, enum ticket_leg port)
{
	struct timeval tv = { RELAY_PREAMBLE_TIMEOUT_S, 0 };
	struct connlimit_addr addr;
	struct relay_leg *leg;
	SSL *ssl;

	/* Over a limit: closed at once, before any TLS work; connlimit logs a
	 * summary now and then, never a line per connection. */
	if (connlimit_open(r->limits, sa, &addr) != 0) {
		evutil_closesocket(fd);
		return;
	}
	if ((leg = calloc(1, sizeof(*leg))) == NULL ||
	    (ssl = SSL_new(port == TICKET_LEG_DEVICE ? r->device_ctx : r->client_ctx)) == NULL) {
		log_error("%s port: out of memory for a new connection", relay_leg_word(port));
		connlimit_close(r->limits, &addr, 0);
		free(leg);
		evutil_closesocket(fd);
		return;
	}
	leg->addr = addr;
	/* OpenSSL 3 reports a peer that closes without close_notify as an error;
	 * for a splice that is an ordinary end of stream (SSH inside the tunnel
	 * protects its own integrity). */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	leg->relay = r;
	leg->port = port;
	leg->state = LEG_HANDSHAKE;
	leg->id = ++r->next_id;
	leg_format_peer(sa, leg->peer, sizeof(leg->peer));
	/* On failure libevent frees ssl (and its socket) itself: CLOSE_ON_FREE. */
	leg->bev = bufferevent_openssl_socket_new(r->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                          BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (leg->bev == NULL) {
		log_error("%s port: cannot set up TLS for %s", relay_leg_word(port), leg->peer);
		connlimit_close(r->limits, &addr, 0);
		free(leg);
		return;
	}
	leg->next = r->legs;
	if (r->legs != NULL)
		r->legs->prev = leg;
	r->legs = leg;
	r->nlegs++;
	r->counts.connections++;
	if ((leg->timer = evtimer_new(r->base, leg_timer_cb, leg)) == NULL) {
		relay_leg_free(leg, 0);
		return;
	}
	/* Peers that vanish without close_notify are an ordinary end of stream. */
	bufferevent_openssl_set_allow_dirty_shutdown(leg->bev, 1);
	bufferevent_setcb(leg->bev, leg_read_cb, leg_write_cb, leg_event_cb, leg);
	/* Read no further than one preamble until the leg is accepted. */
	bufferevent_setwatermark(leg->bev, EV_READ, 0, MAX_PREAMBLE_BYTES);
	bufferevent_enable(leg->bev, EV_READ | EV_WRITE);
	evtimer_add(leg->timer, &tv);
	log_debug("%s port: connection #%llu from %s", relay_leg_word(port),
	          (unsigned long long)leg->id, leg->peer);
}
