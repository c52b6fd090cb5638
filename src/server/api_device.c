/* api_device.c: endpoints for devices (enroll, ping, consent, session end)
 * and for relays (session events). Device and relay callers were already
 * authenticated by certificate in api.c; r->device / r->relay hold them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "srvapi.h"
#include "activity.h"
#include "clockoff.h"
#include "err.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "srvping.h"
#include "srvstatus.h"
#include "relaymove.h"
#include "repo.h"
#include "relaypick.h"
#include "relayhealth.h"
#include "server.h"
#include "srvsession.h"
#include "tickets.h"
#include "api_visit.h"

#define API_MAX_EVENTS 16
#define API_RELAY_REPORT_ID_BYTES 64   /* a relay event report id (hex), with NUL */

void api_ca(struct http_req *r)
{
	http_reply(r, 200, json_pack("{s:s}", "ca", r->srv->root_pem));
}

struct api_events_ctx {
	struct server *srv;
	json_t *events;
	int ends_only;                /* a revoked device hears only session_end */
	size_t n_notify;
	char notify[API_MAX_EVENTS][STORE_SESSION_ID_BYTES];
};

static json_t *api_request_event(struct server *srv, const struct store_session *s)
{
	struct store_user u;
	json_error_t jerr;
	json_t *svcs = json_loads(s->services, 0, &jerr);
	json_t *acts = json_loads(s->actions, 0, &jerr);

	memset(&u, 0, sizeof(u));
	(void)store_user_get(srv->store, s->user, &u);
	if (!json_is_array(svcs)) {
		json_decref(svcs);
		svcs = json_array();
	}
	if (!json_is_array(acts)) {
		json_decref(acts);
		acts = json_array();
	}
	/* The operator is shown what the session would be allowed to do. */
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:b, s:I}", "type",
	                 "session_request", "session", s->id, "user", s->user, "level", u.level,
	                 "region", u.region, "reason", s->reason, "services", svcs,
	                 "actions", acts, "escalation", s->escalation,
	                 "consent_timeout_s", (json_int_t)srv->cfg.consent_timeout_s);
}

static int api_events_cb(const struct store_session *s, void *arg)
{
	struct api_events_ctx *c = arg;
	enum session_state st;
	json_t *ev = NULL;

	if (json_array_size(c->events) >= API_MAX_EVENTS || session_state_parse(s->state, &st) != 0)
		return 0;
	if (st == SESSION_AWAITING_CONSENT) {
		if (!c->ends_only)
			ev = api_request_event(c->srv, s);
	} else if (st == SESSION_ACTIVE && !c->ends_only) {
		api_visit_events(c->srv, s, c->events);   /* a visit's next connections */
	} else if (session_state_is_final(st) && !s->device_notified) {
		ev = json_pack("{s:s, s:s, s:s}", "type", "session_end", "session", s->id,
		               "reason", s->end_reason);
		snprintf(c->notify[c->n_notify++], STORE_SESSION_ID_BYTES, "%s", s->id);
	}
	if (ev != NULL)
		json_array_append_new(c->events, ev);
	return 0;
}

/* The device's pending events; *n is their count. NULL on failure. */
static json_t *api_events(struct server *srv, const char *serial, int ends_only,
                          struct api_events_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->srv = srv;
	c->ends_only = ends_only;
	if ((c->events = json_array()) == NULL)
		return NULL;
	if (store_session_each_for_device(srv->store, serial, api_events_cb, c) != 0 ||
	    (!ends_only && activity_events(srv, serial, c->events) != 0)) {
		json_decref(c->events);
		return NULL;
	}
	return c->events;
}

int api_device_is_revoked(struct server *srv, const char *serial)
{
	struct store_device *d = malloc(sizeof(*d));
	int revoked;

	/* A store failure counts as not revoked here: the request is then
	 * refused or served by the usual checks, and the next sweep asks again. */
	revoked = d != NULL && store_device_get(srv->store, serial, d) == 0 &&
	          strcmp(d->status, "revoked") == 0;
	free(d);
	return revoked;
}

/* Add the latest signed audit checkpoint to an answer for a device or a
 * relay to keep (docs/protocol.md); o is returned. */
static json_t *api_with_checkpoint(struct server *srv, json_t *o)
{
	if (o != NULL && srv->checkpoint.seq > 0)
		json_object_set_new(o, "checkpoint", checkpoint_to_json(&srv->checkpoint));
	return o;
}

/* Answer a ping with the events c holds (stolen, like c). */
static void api_ping_reply(struct http_req *r, struct api_events_ctx *c)
{
	/* session_end is said once; the agent drops the session on hearing it. */
	for (size_t i = 0; i < c->n_notify; i++)
		store_session_mark_notified(r->srv->store, c->notify[i]);
	/* The server's clock and how long the ping was held, so that the agent
	 * can learn its clock's offset (docs/protocol.md). */
	int64_t held_ms = clockoff_mono_ms() - r->started_ms, ts;

	json_t *o = json_pack("{s:o, s:i, s:i, s:I, s:I}",
	                      "events", c->events, "poll_s", SHORTPOLL_INTERVAL_S,
	                      "hold_s", (int)r->srv->cfg.longpoll_s,
	                      "time_ms", (json_int_t)clockoff_wall_ms(),
	                      "held_ms", (json_int_t)(held_ms > 0 ? held_ms : 0));

	/* The checkpoint the agent says it holds is not sent again: most of an
	 * idle ping's answer. A server with another seq (a newer checkpoint, or
	 * one restored from an older backup) shows its own, for the agent to
	 * judge. */
	if (r->ping_cp_seq < 0 || r->ping_cp_seq != r->srv->checkpoint.seq)
		o = api_with_checkpoint(r->srv, o);
	/* An agent that installs updates says which timestamp it trusts; a
	 * newer one served is said, for it to refresh (docs/updates.md). */
	ts = repo_timestamp_version(r->srv);
	if (o != NULL && r->ping_repo_ts >= 0 && ts > r->ping_repo_ts)
		json_object_set_new(o, "repo_timestamp", json_integer(ts));
	http_reply(r, 200, o);
	free(c);
}

/* A revoked device's ping: the session_end events it has not heard yet, once,
 * so that an honest agent closes its tunnels; after that only 403. */
static void api_ping_revoked(struct http_req *r)
{
	struct api_events_ctx *c = malloc(sizeof(*c));
	json_t *events = c ? api_events(r->srv, r->device.serial, 1, c) : NULL;

	if (events == NULL || json_array_size(events) == 0) {
		json_decref(events);
		free(c);
		http_error(r, 403, "device_revoked", "device %s was revoked by an administrator;"
		           " it can no longer use this server", r->device.serial);
		return;
	}
	log_info("device %s is revoked: telling it its sessions ended", r->device.serial);
	api_ping_reply(r, c);
}

/* Read the device's events into a new *out; replies 503 and returns -1 when
 * they cannot be read. */
static int api_ping_events(struct http_req *r, struct api_events_ctx **out)
{
	struct api_events_ctx *c = malloc(sizeof(*c));

	*out = NULL;
	if (c == NULL || api_events(r->srv, r->device.serial, 0, c) == NULL) {
		free(c);
		http_error(r, 503, "internal", "could not read the device's events; retry");
		return -1;
	}
	*out = c;
	return 0;
}

void api_ping_answer(struct http_req *r, void *arg)
{
	struct api_events_ctx *c;

	/* A held ping comes back from http_req_unpark with the device's serial
	 * alone, and the device may have been revoked while it was held. */
	if (api_device_is_revoked(r->srv, r->device.serial)) {
		api_ping_revoked(r);
		return;
	}
	if (api_ping_events(r, &c) == 0)
		api_ping_reply(r, c);
}

/* The device's audit anchor (docs/security.md): a higher head raises it;
 * a lower or conflicting one is audited and logged once per distinct head,
 * and never lowers it. r->device was read from the store for this request. */
static void api_ping_audit_head(struct http_req *r, const struct ping_req *p)
{
	const struct store_device *d = &r->device;
	const struct store_audit_head *now = &p->audit_head, *was = &d->audit_head;
	struct store_audit_entry a = { "server", "device_audit_rollback", NULL };
	char *detail = NULL;
	int rc = 0;

	if (!p->has_audit_head)
		return;
	switch (ping_audit_check(was, &d->audit_rollback, now)) {
	case PING_AUDIT_ADVANCE:
		rc = store_device_audit_anchor(r->srv->store, d->serial, now);
		break;
	case PING_AUDIT_ROLLBACK:
		log_warn("device %s: audit log rolled back: it reports seq %lld hash %s, but the "
		         "server saw seq %lld hash %s; records were lost or rewritten", d->serial,
		         (long long)now->seq, now->hash, (long long)was->seq, was->hash);
		detail = jbody_dump(json_pack("{s:s, s:{s:I, s:s}, s:{s:I, s:s}}", "device",
		                              d->serial, "anchor", "seq", (json_int_t)was->seq,
		                              "hash", was->hash, "reported", "seq",
		                              (json_int_t)now->seq, "hash", now->hash));
		a.detail = detail != NULL ? detail : "{}";
		rc = store_device_audit_rollback(r->srv->store, d->serial, now, &a);
		if (rc == TE_ERR_EXISTS)
			rc = 0;        /* another request recorded this head first */
		break;
	case PING_AUDIT_ROLLBACK_SEEN:
		log_debug("device %s: audit head seq %lld still below its anchor",
		          d->serial, (long long)now->seq);
		break;
	case PING_AUDIT_KEEP:
		break;
	}
	free(detail);
	if (rc != 0)
		log_error("device %s: could not record its audit head: %s", d->serial,
		          te_strerror(rc));
}

static int64_t api_abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* The agent's reported clock offset: kept with the device; a first pass
 * beyond clock_skew_warn_s (it was within, or never reported) is logged and
 * audited once, so a fleet of slow clocks does not flood the trail. */
static void api_ping_clock(struct http_req *r, const struct ping_req *p)
{
	const struct store_device *d = &r->device;
	int64_t warn = r->srv->cfg.clock_skew_warn_s, off = p->clock_offset_s;
	char what[64];

	if (!p->has_clock_offset)
		return;
	if (store_device_clock(r->srv->store, d->serial, off, server_now()) != 0) {
		log_error("device %s: could not record its clock offset", d->serial);
		return;
	}
	if (api_abs64(off) <= warn ||
	    (d->clock_reported_at > 0 && api_abs64(d->clock_offset_s) > warn))
		return;
	clockoff_describe(off, what, sizeof(what));
	log_warn("device %s: its clock is %s %s the server's (warning past %lld s)", d->serial,
	         what, off > 0 ? "behind" : "ahead of", (long long)warn);
	server_audit(r->srv, "server", "device_clock_skew", json_pack("{s:s, s:I, s:I}", "device",
	             d->serial, "offset_s", (json_int_t)off, "warn_s", (json_int_t)warn));
}

/* The device says session s ended, why: idempotent. An open session ends
 * with the device's reason. One the relay's report ended first (the relay
 * saw the device leg close: SESSION_RELAY_REASON_PREFIX) takes the device's
 * reason, which says why, audited session_end_reason with both. Any other
 * final session keeps its state and reason, and a reason that differs is
 * still put on the trail as session_end_report, so no end goes unrecorded.
 * 0, or the error of the move (the session changed meanwhile). */
static int api_device_end_one(struct server *srv, const char *serial,
                              const struct store_session *s, const char *reason)
{
	struct store_audit_entry a = { NULL, "session_end_reason", NULL };
	enum session_state st;
	char *detail;
	int rc = 0;

	if (session_state_parse(s->state, &st) == 0 && !session_state_is_final(st)) {
		rc = session_move(srv->store, s, SESSION_ENDED, reason, NULL, serial,
		                  server_now());
	} else if (st == SESSION_ENDED &&
	           strncmp(s->end_reason, SESSION_RELAY_REASON_PREFIX,
	                   strlen(SESSION_RELAY_REASON_PREFIX)) == 0) {
		detail = jbody_dump(json_pack("{s:s, s:s, s:s, s:s}", "session", s->id,
		                              "device", s->device, "was", s->end_reason,
		                              "reason", reason));
		a.actor = serial;
		a.detail = detail != NULL ? detail : "{}";
		rc = store_session_set_state(srv->store, s->id, "ended", "ended", reason, NULL,
		                             server_now(), &a);
		free(detail);
	} else if (strcmp(s->end_reason, reason) != 0) {
		server_audit(srv, serial, "session_end_report",
		             json_pack("{s:s, s:s, s:s, s:s}", "session", s->id, "reason", reason,
		                       "state", s->state, "end_reason", s->end_reason));
	}
	if (rc == 0)
		store_session_mark_notified(srv->store, s->id);
	return rc;
}

/* The end reports a ping carries ("ended"; the agent keeps each on disk
 * until a ping or POST /device/session-end is answered). One that names no
 * session of this device is logged and skipped: it will never be one. */
/* What the operator installed from a bundle while the device was offline:
 * into the server's trail (docs/updates.md, "Offline: a USB bundle"). */
static void api_ping_offline(struct http_req *r, const struct ping_req *p)
{
	const struct ping_offline *e;

	if (p->offline_refused) {
		log_warn("device %s: its offline install reports are malformed; left out",
		         r->device.serial);
		server_audit(r->srv, r->device.serial, "device_offline_install_refused",
		             json_pack("{s:s, s:s}", "device", r->device.serial, "why",
		                       "malformed offline_installs in a ping"));
	}
	for (size_t i = 0; i < p->n_offline; i++) {
		e = &p->offline[i];
		log_info("device %s: %s offline from a bundle: %s %s (by %s%s)", r->device.serial,
		         e->result, e->target, e->version, e->by, e->expired_ok ?
		         ", its timestamp expired" : "");
		server_audit(r->srv, r->device.serial, "device_offline_install",
		             json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:b, s:s}", "device",
		                       r->device.serial, "target", e->target, "version", e->version,
		                       "counter", (json_int_t)e->counter, "result", e->result, "at",
		                       (json_int_t)e->at, "by", e->by, "expired_ok", e->expired_ok,
		                       "reason", e->reason));
	}
}

static void api_ping_ended(struct http_req *r, const struct ping_req *p)
{
	struct store_session s;
	size_t i;

	for (i = 0; i < p->n_ended; i++) {
		if (store_session_get(r->srv->store, p->ended[i].session, &s) != 0 ||
		    strcmp(s.device, r->device.serial) != 0) {
			log_warn("device %s reports the end of session %s, which is not one of its"
			         " sessions; ignored", r->device.serial, p->ended[i].session);
			continue;
		}
		if (api_device_end_one(r->srv, r->device.serial, &s, p->ended[i].reason) != 0)
			log_warn("device %s: session %s changed while its end was recorded",
			         r->device.serial, s.id);
	}
}

struct api_reconcile {
	const struct ping_req *p;
	size_t n;
	char ids[PING_MAX_SESSIONS][STORE_SESSION_ID_BYTES];
};

static int api_reconcile_cb(const struct store_session *s, void *arg)
{
	struct api_reconcile *c = arg;
	enum session_state st;
	size_t i;

	if (c->n >= PING_MAX_SESSIONS || session_state_parse(s->state, &st) != 0 ||
	    (st != SESSION_CONSENTED && st != SESSION_ACTIVE))
		return 0;
	for (i = 0; i < c->p->n_sessions; i++)
		if (strcmp(c->p->sessions[i], s->id) == 0)
			return 0;
	snprintf(c->ids[c->n++], STORE_SESSION_ID_BYTES, "%s", s->id);
	return 0;
}

/* The first ping after the agent (re)connects lists every session it holds
 * ("sessions"). One the device accepted (consented or active here) that it
 * no longer lists is gone on the device (a restart, an end report lost):
 * ended, audited, so that it neither blocks the device (409 device_busy)
 * nor stays open until its maximum duration. */
static void api_ping_reconcile(struct http_req *r, const struct ping_req *p)
{
	struct api_reconcile *c = calloc(1, sizeof(*c));
	struct store_session s;
	size_t i;

	if (c == NULL)
		return;
	c->p = p;
	if (store_session_each_for_device(r->srv->store, r->device.serial, api_reconcile_cb,
	                                  c) != 0) {
		log_warn("device %s: cannot read its sessions to reconcile", r->device.serial);
		free(c);
		return;
	}
	for (i = 0; i < c->n; i++) {
		if (store_session_get(r->srv->store, c->ids[i], &s) != 0)
			continue;
		log_info("device %s no longer has session %s (%s here): ending it",
		         r->device.serial, s.id, s.state);
		if (api_device_end_one(r->srv, r->device.serial, &s, PING_RECONCILE_REASON) != 0)
			log_warn("device %s: session %s changed while it was reconciled",
			         r->device.serial, s.id);
	}
	free(c);
}

/* A ping that brings nothing new for the device's record, within
 * PING_SEEN_REFRESH_S of its last_seen, writes nothing: every write is a
 * transaction with its locks and a WAL frame, and a busy device pings often.
 * last_seen is then at most that old, far inside the online window
 * (api_device_online: a period plus SHORTPOLL_INTERVAL_S). */
#define PING_SEEN_REFRESH_S 10

static void api_ping_record(struct http_req *r, const struct ping_req *p, const char *svcs,
                            const char *diags, const char *files)
{
	const struct store_device *d = &r->device;
	struct store *st = r->srv->store;
	int64_t now = server_now();

	if (now - d->last_seen >= PING_SEEN_REFRESH_S || now < d->last_seen ||
	    (p->version[0] && strcmp(p->version, d->agent_version) != 0) ||
	    (p->has_services && strcmp(svcs, d->services) != 0))
		store_device_seen(st, d->serial, now, p->version[0] ? p->version : NULL,
		                  p->has_services ? svcs : NULL);
	if ((p->diags.present && strcmp(diags, d->diags) != 0) ||
	    (p->files.present && strcmp(files, d->files) != 0))
		store_device_offers(st, d->serial, p->diags.present ? diags : NULL,
		                    p->files.present ? files : NULL);
}

void api_ping(struct http_req *r)
{
	struct server *srv = r->srv;
	struct api_events_ctx *c;
	struct ping_req p;
	char svcs[STORE_SERVICES_BYTES], diags[STORE_OFFERS_BYTES], files[STORE_OFFERS_BYTES];
	int rc;

	srv->counts.pings++;
	if (strcmp(r->device.status, "revoked") == 0) {
		api_ping_revoked(r);
		return;
	}
	if ((rc = ping_parse_request(r->body, r->body_len, &p)) != 0 ||
	    (rc = ping_services_json(&p, svcs, sizeof(svcs))) != 0 ||
	    (rc = ping_names_json(&p.diags, diags, sizeof(diags))) != 0 ||
	    (rc = ping_names_json(&p.files, files, sizeof(files))) != 0) {
		http_error(r, 400, "bad_request", "ping body invalid (%s); see docs/protocol.md",
		           te_strerror(rc));
		return;
	}
	api_ping_record(r, &p, svcs, diags, files);
	if (p.has_status && (rc = srvstatus_take(srv, &r->device, &p.devstatus)) != 0)
		log_error("device %s: its status could not be kept (%s)", r->device.serial,
		          te_strerror(rc));
	else if (!p.has_status && p.status_why[0] != '\0')
		log_warn("device %s: status left out: %s", r->device.serial, p.status_why);
	r->ping_cp_seq = p.checkpoint_seq;
	r->ping_repo_ts = p.repo_timestamp;
	api_ping_audit_head(r, &p);
	api_ping_offline(r, &p);
	api_ping_clock(r, &p);
	longpoll_note_ping(srv->lp, r->device.serial, p.wait,
	                   p.wait ? http_req_conn_tag(r, r->device.serial) : 0);
	/* End reports first, so that their reasons stand, then reconcile. */
	api_ping_ended(r, &p);
	if (p.has_sessions)
		api_ping_reconcile(r, &p);
	/* r->device was read for this request: no second status or events read. */
	if (api_ping_events(r, &c) != 0)
		return;
	/* A ping that brought end reports or its session list is answered at
	 * once: the agent drops those reports, or stops resending the list,
	 * only on the answer, which a hold would put off by up to longpoll_s. */
	if (p.wait && json_array_size(c->events) == 0 && p.n_ended == 0 && !p.has_sessions &&
	    longpoll_hold(srv->lp, r, r->device.serial,
	                  p.hold_s > 0 && p.hold_s < (int)srv->cfg.longpoll_s ? p.hold_s :
	                  (int)srv->cfg.longpoll_s) == 0) {
		json_decref(c->events);
		free(c);
		return;
	}
	api_ping_reply(r, c);
}

/* Load the session named by field "session" of j, owned by r's device. */
int api_device_session(struct http_req *r, json_t *j, struct store_session *s)
{
	char id[STORE_SESSION_ID_BYTES];
	int rc;

	if ((rc = jbody_str(j, "session", 1, id, sizeof(id))) != 0 || !jbody_name_ok(id)) {
		api_bad_field(r, "session", rc ? rc : TE_ERR_INVALID);
		return -1;
	}
	if (store_session_get(r->srv->store, id, s) != 0 ||
	    (r->device.serial[0] && strcmp(s->device, r->device.serial) != 0) ||
	    (r->relay.name[0] && strcmp(s->relay, r->relay.name) != 0)) {
		http_error(r, 404, "no_such_session", "no session %s for %s", id,
		           r->device.serial[0] ? r->device.serial : r->relay.name);
		return -1;
	}
	return 0;
}

/* Sign the device leg's ticket for s on relay and answer with it. */
static void api_device_ticket_reply(struct http_req *r, const struct store_session *s,
                                    const struct store_relay *relay)
{
	char ticket[MAX_TICKET_BYTES];
	int rc;

	if ((rc = tickets_issue(r->srv->signer, s, relay->name, TICKET_LEG_DEVICE, server_now(),
	                        ticket, sizeof(ticket))) != 0) {
		http_error(r, 503, "internal", "could not sign the ticket (%s)", te_strerror(rc));
		return;
	}
	server_audit(r->srv, r->device.serial, "session_ticket",
	             json_pack("{s:s, s:s, s:s}", "session", s->id, "leg", "device",
	                       "relay", relay->name));
	http_reply(r, 200, json_pack("{s:s, s:{s:s, s:s, s:i}}", "ticket", ticket, "relay",
	                             "name", relay->name, "host", relay->host,
	                             "device_port", relay->device_port));
	OPENSSL_cleanse(ticket, sizeof(ticket));
}

static void api_consent_accept(struct http_req *r, const struct store_session *s)
{
	struct server *srv = r->srv;
	struct store_relay relay;
	int rc;

	if ((rc = relaypick_choose(srv->store, srv->health, &srv->relay_cursor, NULL, &relay)) != 0) {
		/* Check again now rather than at the next tick: a relay that was
		 * down may be back, and the operator is told to try again. */
		if (rc != TE_ERR_NOT_FOUND && srv->health != NULL)
			relayhealth_check_now(srv->health);
		http_error(r, 503, "no_relay", rc == TE_ERR_NOT_FOUND ?
		           "no relay is registered; an administrator must add one" :
		           "no relay is reachable right now; try again shortly");
		return;
	}
	if (session_move(srv->store, s, SESSION_CONSENTED, NULL, relay.name,
	                 r->device.serial, server_now()) != 0) {
		http_error(r, 409, "bad_state", "the session changed meanwhile; ping again");
		return;
	}
	api_device_ticket_reply(r, s, &relay);
}

/* POST /api/v1/device/relay-failed {session, relay, reason}: the device's
 * leg could not use the session's relay within its deadline; the answer is
 * a device ticket for the relay the session is on now (relaymove.h). */
void api_device_relay_failed(struct http_req *r)
{
	json_t *j = api_body(r);
	struct store_session s;
	struct store_relay relay;
	char failed[MAX_NAME_BYTES], why[MAX_REASON_BYTES];
	int rc;

	if (j == NULL)
		return;
	if (api_device_session(r, j, &s) != 0)
		goto out;
	if ((rc = jbody_str(j, "relay", 1, failed, sizeof(failed))) != 0 || !jbody_name_ok(failed)) {
		api_bad_field(r, "relay", rc ? rc : TE_ERR_INVALID);
		goto out;
	}
	if (api_text_field(r, j, "reason", 0, why, sizeof(why)) != 0)
		goto out;
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "no answer within the leg's deadline");
	if ((rc = relaymove_session(r->srv, &s, failed, r->device.serial, "device", why,
	                            &relay)) != 0) {
		relaymove_http_error(r, &s, rc);
		goto out;
	}
	api_device_ticket_reply(r, &s, &relay);
out:
	json_decref(j);
}

void api_consent(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *j = api_body(r);
	struct store_session s;
	char decision[16], reason[MAX_REASON_BYTES];
	enum session_state to;
	int rc;

	if (j == NULL)
		return;
	if (api_device_session(r, j, &s) != 0)
		goto out;
	if ((rc = jbody_str(j, "decision", 1, decision, sizeof(decision))) != 0) {
		api_bad_field(r, "decision", rc);
		goto out;
	}
	if (strcmp(s.state, "awaiting_consent") != 0) {
		http_error(r, 409, "bad_state", "session %s is %s, not awaiting consent", s.id, s.state);
		goto out;
	}
	if (strcmp(decision, "accept") == 0) {
		api_consent_accept(r, &s);
		goto out;
	}
	if (strcmp(decision, "deny") == 0) {
		to = SESSION_REFUSED;
		snprintf(reason, sizeof(reason), "refused by the operator");
	} else if (strcmp(decision, "timeout") == 0) {
		to = SESSION_EXPIRED;
		snprintf(reason, sizeof(reason), "no answer from the operator within %ld s",
		         srv->cfg.consent_timeout_s);
	} else {
		http_error(r, 400, "bad_request", "decision must be accept, deny or timeout");
		goto out;
	}
	if (session_move(srv->store, &s, to, reason, NULL, r->device.serial, server_now()) != 0) {
		http_error(r, 409, "bad_state", "the session changed meanwhile; ping again");
		goto out;
	}
	store_session_mark_notified(srv->store, s.id);   /* the device decided it */
	http_reply(r, 200, NULL);
out:
	json_decref(j);
}

void api_device_session_end(struct http_req *r)
{
	json_t *j = api_body(r);
	struct store_session s;
	char reason[MAX_REASON_BYTES];

	if (j == NULL)
		return;
	if (api_device_session(r, j, &s) != 0)
		goto out;
	if (api_text_field(r, j, "reason", 0, reason, sizeof(reason)) != 0)
		goto out;
	if (reason[0] == '\0')
		snprintf(reason, sizeof(reason), "ended by the operator");
	/* Idempotent: the agent sends it again until it has a 2xx. */
	if (api_device_end_one(r->srv, r->device.serial, &s, reason) != 0) {
		http_error(r, 409, "bad_state", "the session changed meanwhile; ping again");
		goto out;
	}
	http_reply(r, 200, NULL);
out:
	json_decref(j);
}

static int api_relay_bytes(const json_t *j, const char *key, json_int_t *out)
{
	const json_t *v = json_object_get(j, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return TE_ERR_INVALID;
	*out = json_integer_value(v);
	return 0;
}

/* A relay's reported audit heads, parsed from its event. */
struct api_relay_heads {
	int has_head, has_open;
	struct store_audit_head head, open;
};

static int api_relay_heads_parse(const json_t *j, struct api_relay_heads *h)
{
	int rc;

	if ((rc = ping_parse_head(json_object_get(j, "audit_head"), &h->head, &h->has_head)) != 0)
		return rc;
	return ping_parse_head(json_object_get(j, "audit_open"), &h->open, &h->has_open);
}

/* Check one reported head of relay rl against its anchor and record the
 * outcome; rl is updated to what the store now holds. which names the field. */
static void api_relay_head_check(struct server *srv, struct store_relay *rl, const char *which,
                                 const struct store_audit_head *now,
                                 const struct store_audit_head *open)
{
	struct store_audit_entry a = { "server", "relay_audit_rollback", NULL };
	const struct store_audit_head *was = &rl->audit_head;
	char *detail = NULL;
	int rc = 0;

	switch (ping_audit_check(was, &rl->audit_rollback, now)) {
	case PING_AUDIT_ADVANCE:
		if ((rc = store_relay_audit_anchor(srv->store, rl->name, now, open)) == 0) {
			rl->audit_head = *now;
			rl->audit_open = *open;
		}
		break;
	case PING_AUDIT_ROLLBACK:
		log_warn("relay %s: audit log rolled back: its %s is seq %lld hash %s, but the "
		         "server saw seq %lld hash %s; records were lost or rewritten", rl->name,
		         which, (long long)now->seq, now->hash, (long long)was->seq, was->hash);
		detail = jbody_dump(json_pack("{s:s, s:s, s:{s:I, s:s}, s:{s:I, s:s}}", "relay",
		                              rl->name, "field", which, "anchor", "seq",
		                              (json_int_t)was->seq, "hash", was->hash, "reported",
		                              "seq", (json_int_t)now->seq, "hash", now->hash));
		a.detail = detail != NULL ? detail : "{}";
		rc = store_relay_audit_rollback(srv->store, rl->name, now, &a);
		if (rc == 0)
			rl->audit_rollback = *now;
		else if (rc == TE_ERR_EXISTS)
			rc = 0;        /* another request recorded this head first */
		break;
	case PING_AUDIT_ROLLBACK_SEEN:
	case PING_AUDIT_KEEP:
		break;
	}
	free(detail);
	if (rc != 0)
		log_error("relay %s: could not record its audit head: %s", rl->name, te_strerror(rc));
}

/* The relay's audit anchor (docs/security.md). audit_open, the head its log
 * had when this run of the relay opened it, is checked once per run (it is
 * stored with the anchor it raised): that is where records cut while the
 * relay was stopped show, even when the run's own records then pass the
 * anchor. audit_head then raises the anchor or is a rollback itself. */
static void api_relay_audit_heads(struct http_req *r, const struct api_relay_heads *h)
{
	struct store_relay *rl = &r->relay;
	const struct store_audit_head *open = h->has_open ? &h->open : &h->head;

	if (h->has_open && !(h->open.seq == rl->audit_open.seq &&
	                     strcmp(h->open.hash, rl->audit_open.hash) == 0))
		api_relay_head_check(r->srv, rl, "audit_open", &h->open, &h->open);
	if (h->has_head)
		api_relay_head_check(r->srv, rl, "audit_head", &h->head, open);
}

/* The optional "conn" of a relay event (ticket "cn"): 0 when absent, -1
 * when not an integer in 0..TICKET_MAX_CONN. */
static json_int_t api_relay_conn(const json_t *j)
{
	const json_t *v = json_object_get(j, "conn");

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TICKET_MAX_CONN)
		return -1;
	return json_integer_value(v);
}

void api_relay_event(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *j = api_body(r);
	struct store_session s;
	char event[16], why[MAX_REASON_BYTES], reason[MAX_REASON_BYTES + 32];
	char id[API_RELAY_REPORT_ID_BYTES];
	struct api_relay_heads heads;
	json_int_t d2c, c2d, conn;
	json_t *ev;
	int rc = 0;

	if (j == NULL)
		return;
	if (api_device_session(r, j, &s) != 0)
		goto out;
	if ((rc = jbody_str(j, "event", 1, event, sizeof(event))) != 0 ||
	    (rc = jbody_str(j, "reason", 0, why, sizeof(why))) != 0 || !jbody_text_ok(why) ||
	    (rc = api_relay_bytes(j, "bytes_device_to_client", &d2c)) != 0 ||
	    (rc = api_relay_bytes(j, "bytes_client_to_device", &c2d)) != 0 ||
	    (rc = api_relay_heads_parse(j, &heads)) != 0) {
		http_error(r, 400, "bad_request", "relay event fields invalid; see docs/protocol.md");
		goto out;
	}
	/* A report sent again (its answer was lost, or the relay restarted
	 * before it removed it from its spool) is taken once. */
	if ((rc = jbody_str(j, "id", 0, id, sizeof(id))) != 0 || (id[0] && !jbody_name_ok(id))) {
		http_error(r, 400, "bad_request", "relay event id invalid; see docs/protocol.md");
		goto out;
	}
	if (id[0] && (rc = store_relay_report_seen(srv->store, r->relay.name, id)) != 0) {
		if (rc < 0) {
			http_error(r, 503, "store_unavailable", "cannot read relay report ids; try again");
			goto out;
		}
		log_info("relay %s: event report %s for session %s taken before; acknowledged again",
		         r->relay.name, id, s.id);
		http_reply(r, 200, api_with_checkpoint(srv, json_pack("{s:b}", "duplicate", 1)));
		goto out;
	}
	if ((conn = api_relay_conn(j)) < 0) {
		http_error(r, 400, "bad_request", "relay event conn invalid; see docs/protocol.md");
		goto out;
	}
	api_relay_audit_heads(r, &heads);
	ev = json_pack("{s:s, s:s, s:I, s:I, s:s}", "session", s.id, "event", event,
	               "bytes_device_to_client", d2c, "bytes_client_to_device", c2d,
	               "reason", why);
	if (ev != NULL && conn > 0)
		json_object_set_new(ev, "conn", json_integer(conn));
	server_audit(srv, r->relay.name, "relay_event", ev);
	if (conn > 0 && (strcmp(event, "start") == 0 || strcmp(event, "end") == 0)) {
		/* A visit's later connection: recorded; the session goes on. */
	} else if (strcmp(event, "start") == 0) {
		if (strcmp(s.state, "consented") == 0)
			rc = session_move(srv->store, &s, SESSION_ACTIVE, NULL, NULL, r->relay.name,
			                  server_now());
	} else if (strcmp(event, "end") == 0) {
		/* An active session is a visit: its first connection's close is
		 * recorded above and the session goes on (ended by a person, the
		 * device's limits or the server's sweep). A consented one whose
		 * first connection never paired ends here. */
		snprintf(reason, sizeof(reason), SESSION_RELAY_REASON_PREFIX "%s",
		         why[0] ? why : "connection closed");
		if (strcmp(s.state, "consented") == 0) {
			rc = session_move(srv->store, &s, SESSION_ENDED, reason, NULL, r->relay.name,
			                  server_now());
			longpoll_wake(srv->lp, s.device);
		}
	} else {
		http_error(r, 400, "bad_request", "event must be start or end");
		goto out;
	}
	if (rc != 0)
		log_warn("relay event %s for session %s in state %s: %s", event, s.id, s.state,
		         te_strerror(rc));
	/* After the effects: a crash in between means a second record on the
	 * retry, never a lost one. */
	if (id[0] && store_relay_report_done(srv->store, r->relay.name, id, server_now()) != 0)
		log_error("relay %s: cannot record event report id %s; a resend would be"
		          " audited again", r->relay.name, id);
	http_reply(r, 200, api_with_checkpoint(srv, json_object()));
out:
	json_decref(j);
}

/* POST /api/v1/device/status: the status object itself, sent at once on a
 * change of state rather than with the next ping (devreport.h). */
void api_device_status(struct http_req *r)
{
	struct devstatus *st;
	char why[160];
	int rc;

	if (strcmp(r->device.status, "revoked") == 0) {
		http_error(r, 403, "revoked", "device %s is revoked", r->device.serial);
		return;
	}
	if ((st = malloc(sizeof(*st))) == NULL) {
		http_error(r, 503, "internal", "out of memory");
		return;
	}
	if (devstatus_parse(r->body, r->body_len, st, why, sizeof(why)) != 0) {
		log_warn("device %s: status refused: %s", r->device.serial, why);
		http_error(r, 400, "bad_request", "status refused: %s; see docs/protocol.md", why);
	} else if ((rc = srvstatus_take(r->srv, &r->device, st)) != 0) {
		http_error(r, 503, "internal", "the status could not be kept (%s)", te_strerror(rc));
	} else {
		http_reply(r, 200, json_pack("{s:b}", "ok", 1));
	}
	free(st);
}
