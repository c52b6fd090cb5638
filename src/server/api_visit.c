/* api_visit.c: a visit's further connections (issue 11). A session's first
 * connection uses the device leg the agent dialled at consent (connection
 * 0). Each later POST /api/v1/sessions/ID/connect gets the next number:
 * both legs' tickets are signed for it ("cn"), the device leg's waits in
 * session_conns and reaches the agent as a session_connect event of its
 * ping (the held long-poll is woken), and the client leg's is the answer.
 * The relay pairs the two by session and number. */
#include "api_visit.h"

#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "log.h"
#include "longpoll.h"
#include "server.h"
#include "tickets.h"

void api_visit_connect(struct http_req *r, const struct store_session *s,
                       const struct store_relay *relay, const struct store_device *d)
{
	struct server *srv = r->srv;
	char dticket[MAX_TICKET_BYTES], cticket[MAX_TICKET_BYTES];
	int64_t conn = 0, now = server_now();
	int rc;

	if (strcmp(s->state, "active") != 0) {
		http_error(r, 409, "ticket_issued", "the session's first connection is still being"
		           " made; try again once it is up");
		return;
	}
	if ((rc = store_visit_next(srv->store, s->id, &conn)) != 0) {
		if (rc == TE_ERR_TOO_LONG)
			http_error(r, 409, "too_many_connections", "session %s has had %d connections,"
			           " the most one session may; request a new session", s->id,
			           STORE_VISIT_MAX_CONNS + 1);
		else
			http_error(r, 503, "internal", "cannot number the connection (%s)",
			           te_strerror(rc));
		return;
	}
	if ((rc = tickets_issue_conn(srv->signer, s, relay->name, TICKET_LEG_DEVICE, conn, now,
	                             dticket, sizeof(dticket))) != 0 ||
	    (rc = tickets_issue_conn(srv->signer, s, relay->name, TICKET_LEG_CLIENT, conn, now,
	                             cticket, sizeof(cticket))) != 0) {
		http_error(r, 503, "internal", "could not sign the tickets (%s)", te_strerror(rc));
		goto out;
	}
	if ((rc = store_visit_add(srv->store, s->id, conn, relay->name, dticket, now)) != 0) {
		http_error(r, 503, "internal", "cannot keep the connection (%s)", te_strerror(rc));
		goto out;
	}
	server_audit(srv, r->user.name, "session_connection",
	             json_pack("{s:s, s:I, s:s, s:s}", "session", s->id, "conn", (json_int_t)conn,
	                       "relay", relay->name, "device", s->device));
	longpoll_wake(srv->lp, s->device);
	http_reply(r, 200, json_pack("{s:s, s:{s:s, s:s, s:i}, s:s, s:I}", "ticket", cticket,
	                             "relay", "name", relay->name, "host", relay->host,
	                             "client_port", relay->client_port,
	                             "ssh_hostkey", d->ssh_hostkey, "conn", (json_int_t)conn));
out:
	OPENSSL_cleanse(dticket, sizeof(dticket));
	OPENSSL_cleanse(cticket, sizeof(cticket));
}

struct api_visit_ev {
	struct server *srv;
	json_t *events;
};

static int api_visit_event_cb(const char *session, int64_t conn, const char *relay,
                              const char *device_ticket, void *arg)
{
	struct api_visit_ev *v = arg;
	struct store_relay rl;
	json_t *ev;

	if (json_array_size(v->events) >= API_VISIT_MAX_EVENTS)
		return 0;
	if (store_relay_get(v->srv->store, relay, &rl) != 0 || device_ticket[0] == '\0') {
		log_warn("session %s connection %lld: relay %s gone; the connection is dropped",
		         session, (long long)conn, relay);
	} else {
		ev = json_pack("{s:s, s:s, s:I, s:s, s:{s:s, s:s, s:i}}", "type", "session_connect",
		               "session", session, "conn", (json_int_t)conn,
		               "ticket", device_ticket, "relay", "name", rl.name, "host", rl.host,
		               "device_port", rl.device_port);
		if (ev == NULL || json_array_append_new(v->events, ev) != 0)
			return 0;
	}
	/* Carried once: a ping answer that is lost costs that connection,
	 * whose client leg then finds no partner. */
	if (store_visit_delivered(v->srv->store, session, conn, server_now()) != 0)
		log_warn("session %s connection %lld: cannot mark its ticket delivered", session,
		         (long long)conn);
	return 0;
}

void api_visit_events(struct server *srv, const struct store_session *s, json_t *events)
{
	struct api_visit_ev v = { srv, events };

	if (strcmp(s->state, "active") != 0)
		return;
	(void)store_visit_each_pending(srv->store, s->id, api_visit_event_cb, &v);
}
