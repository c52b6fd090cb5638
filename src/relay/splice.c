/* splice.c: pairing the two legs of a session and copying bytes both ways.
 *
 * Backpressure, per direction: the reading side's input is capped by a read
 * high-water mark, and when the other side's output holds more than
 * RELAY_HIGH_WATER_BYTES the reading side is paused; it resumes from the
 * other side's write callback once that output has drained to half. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "log.h"
#include "relay_int.h"
#include "report.h"

static struct relay_leg *splice_partner(const struct relay_leg *leg)
{
	if (leg->sess == NULL)
		return NULL;
	return leg == leg->sess->device ? leg->sess->client : leg->sess->device;
}

static double splice_elapsed_s(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

struct relay_leg *relay_splice_find(struct relay *r, const char *session, int64_t conn,
                                    enum ticket_leg kind)
{
	struct relay_leg *leg;

	for (leg = r->legs; leg != NULL; leg = leg->next) {
		if ((leg->state == LEG_WAITING || leg->state == LEG_SPLICING) &&
		    leg->have_ticket && leg->ticket.leg == kind && leg->ticket.conn == conn &&
		    strcmp(leg->ticket.session, session) == 0)
			return leg;
	}
	return NULL;
}

void relay_session_end(struct relay_session *s, struct relay *r, const char *reason)
{
	double secs;
	json_t *d;
	int rc;

	if (s->ended)
		return;
	s->ended = 1;
	secs = splice_elapsed_s(&s->started);
	log_info("session %s ended after %.1f s: %s; %llu bytes device->client, "
	         "%llu bytes client->device", s->id, secs, reason,
	         (unsigned long long)s->bytes_device_to_client,
	         (unsigned long long)s->bytes_client_to_device);
	d = json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:s}", "session", s->id,
	              "device", s->device_name, "user", s->user,
	              "bytes_device_to_client", (json_int_t)s->bytes_device_to_client,
	              "bytes_client_to_device", (json_int_t)s->bytes_client_to_device,
	              "duration_s", secs, "reason", reason);
	if (d != NULL && s->conn > 0)
		json_object_set_new(d, "conn", json_integer(s->conn));
	relay_audit(r, "session_end", d);
	rc = relay_report_conn_event(r->report, s->id, s->conn, "end",
	                             s->bytes_device_to_client, s->bytes_client_to_device,
	                             reason);
	if (rc != 0)
		log_error("session %s: cannot queue the end report", s->id);
}

void relay_splice_read(struct relay_leg *from)
{
	struct relay_leg *to = splice_partner(from);
	struct evbuffer *in = bufferevent_get_input(from->bev);
	struct evbuffer *out;
	size_t n = evbuffer_get_length(in);

	if (n == 0 || to == NULL || to->state != LEG_SPLICING)
		return;
	out = bufferevent_get_output(to->bev);
	if (evbuffer_add_buffer(out, in) != 0) {
		log_error("session %s: cannot queue %zu bytes", from->sess->id, n);
		return;
	}
	if (from == from->sess->device) {
		from->sess->bytes_device_to_client += n;
		from->relay->counts.bytes_device_to_client += n;
	} else {
		from->sess->bytes_client_to_device += n;
		from->relay->counts.bytes_client_to_device += n;
	}
	if (evbuffer_get_length(out) >= RELAY_HIGH_WATER_BYTES) {
		bufferevent_disable(from->bev, EV_READ);
		from->paused = 1;
		/* atomic: tests read it from another thread while the loop runs */
		__atomic_add_fetch(&from->relay->pauses, 1, __ATOMIC_RELAXED);
	}
}

void relay_splice_write(struct relay_leg *to)
{
	struct relay_leg *from = splice_partner(to);

	if (from == NULL || !from->paused || from->state != LEG_SPLICING)
		return;
	if (evbuffer_get_length(bufferevent_get_output(to->bev)) >= RELAY_HIGH_WATER_BYTES)
		return;
	from->paused = 0;
	bufferevent_enable(from->bev, EV_READ);
	relay_splice_read(from);  /* whatever arrived before the pause */
}

/* Why a connection failed, for the end record: the first OpenSSL error if
 * there is one, else the socket error. */
static const char *splice_error_text(struct relay_leg *leg)
{
	static char buf[128];
	int sock_err = EVUTIL_SOCKET_ERROR();

	relay_leg_tls_error(leg, buf, sizeof(buf));
	if (buf[0] == '\0')
		snprintf(buf, sizeof(buf), "%s", evutil_socket_error_to_string(sock_err));
	return buf;
}

void relay_splice_event(struct relay_leg *leg, short what)
{
	struct relay_leg *other = splice_partner(leg);
	char reason[192];

	/* Bytes that arrived with the end of stream still belong to the peer. */
	relay_splice_read(leg);
	if (what & BEV_EVENT_EOF)
		snprintf(reason, sizeof(reason), "%s closed the connection",
		         relay_leg_word(leg->port));
	else
		snprintf(reason, sizeof(reason), "%s connection failed: %s",
		         relay_leg_word(leg->port), splice_error_text(leg));
	relay_session_end(leg->sess, leg->relay, reason);
	if (other != NULL)
		relay_leg_close_after_flush(other);
	if (what & BEV_EVENT_EOF)
		relay_leg_close_after_flush(leg);
	else
		relay_leg_free(leg, 0);
}

static void splice_start_leg(struct relay_leg *leg, struct relay_session *s)
{
	leg->sess = s;
	leg->state = LEG_SPLICING;
	leg->paused = 0;
	evtimer_del(leg->timer);
	bufferevent_setwatermark(leg->bev, EV_READ, 0, RELAY_HIGH_WATER_BYTES);
	/* Write callback at half the mark: the cue to resume the other side. */
	bufferevent_setwatermark(leg->bev, EV_WRITE, RELAY_HIGH_WATER_BYTES / 2, 0);
	bufferevent_enable(leg->bev, EV_READ | EV_WRITE);
}

/* The session's start record; nonzero when it cannot be written. */
static int splice_audit_start(struct relay *r, struct relay_session *s)
{
	json_t *d;

	d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "session", s->id,
	              "device", s->device_name, "user", s->user,
	              "device_peer", s->device->peer, "client_peer", s->client->peer);
	if (d != NULL && s->conn > 0)
		json_object_set_new(d, "conn", json_integer(s->conn));
	return relay_audit(r, "session_start", d);
}

void relay_splice_try_pair(struct relay_leg *leg)
{
	struct relay *r = leg->relay;
	struct relay_leg *other, *dev, *cli;
	struct relay_session *s;

	/* Each connection of a session (a visit) has its own pair of legs. */
	other = relay_splice_find(r, leg->ticket.session, leg->ticket.conn,
	                          leg->port == TICKET_LEG_DEVICE ? TICKET_LEG_CLIENT
	                                                         : TICKET_LEG_DEVICE);
	if (other == NULL || other->state != LEG_WAITING)
		return;
	dev = leg->port == TICKET_LEG_DEVICE ? leg : other;
	cli = leg->port == TICKET_LEG_DEVICE ? other : leg;
	/* Both tickets come from the server for one session; disagreement means
	 * something is badly wrong, so do not connect anyone. */
	if (strcmp(dev->ticket.device, cli->ticket.device) != 0 ||
	    strcmp(dev->ticket.user, cli->ticket.user) != 0) {
		log_error("session %s: the two tickets name different devices or users; "
		          "not pairing and closing both legs", leg->ticket.session);
		relay_audit(r, "pair_refused",
		            json_pack("{s:s, s:s, s:s, s:s, s:s}", "session", leg->ticket.session,
		                      "device_ticket_device", dev->ticket.device,
		                      "client_ticket_device", cli->ticket.device,
		                      "device_ticket_user", dev->ticket.user,
		                      "client_ticket_user", cli->ticket.user));
		/* Left waiting, they would block the session's real legs as replays. */
		relay_leg_free(dev, 1);
		relay_leg_free(cli, 1);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_error("session %s: out of memory; closing the leg", leg->ticket.session);
		relay_leg_free(leg, 1);
		return;
	}
	snprintf(s->id, sizeof(s->id), "%s", dev->ticket.session);
	snprintf(s->device_name, sizeof(s->device_name), "%s", dev->ticket.device);
	snprintf(s->user, sizeof(s->user), "%s", cli->ticket.user);
	s->conn = dev->ticket.conn;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	s->device = dev;
	s->client = cli;
	/* No session without a trail: legs the relay cannot record are never
	 * joined (the trail failed after both were accepted). */
	if (splice_audit_start(r, s) != 0) {
		log_error("session %s: relay audit trail unavailable (%s); not pairing and "
		          "closing both legs", s->id, relay_audit_why(r));
		free(s);
		relay_leg_free(dev, 1);
		relay_leg_free(cli, 1);
		return;
	}
	log_info("session %s: splicing device %s (%s) and user %s (%s)", s->id,
	         s->device_name, s->device->peer, s->user, s->client->peer);
	if (relay_report_conn_event(r->report, s->id, s->conn, "start", 0, 0,
	                            "both legs connected") != 0)
		log_error("session %s: cannot queue the start report", s->id);
	r->nsessions++;
	r->counts.sessions++;
	splice_start_leg(dev, s);
	splice_start_leg(cli, s);
	/* Bytes either peer sent before pairing are waiting in its input. */
	relay_splice_read(dev);
	relay_splice_read(cli);
}
