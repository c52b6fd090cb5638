/* ping.c: the ping / long-poll loop. */
#include "ping.h"
#include "actrun.h"
#include "offline.h"
#include "update.h"
#include "devreport.h"
#include "visit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agentaudit.h"
#include "agentclock.h"
#include "checkpoint.h"
#include "clockoff.h"
#include "err.h"
#include "text.h"
#include "httpc.h"
#include "log.h"
#include "secret.h"
#include "ticket.h"

/* Enough for ping_backoff_ms to sit at BACKOFF_MAX_S; never overflows. */
#define PING_MAX_FAILURES 64

struct ping {
	struct event_base *base;
	const struct agent_conf *conf;
	struct consent *consent;
	struct httpc *http;
	struct event *timer;
	char *body;
	int failures;
	time_t sent_at;
	int64_t sent_mono_ms;             /* for the clock offset's round trip */
	int answered;                     /* a 200 answer came this run (with the server's time) */
	int reconcile;                    /* send "sessions" (ping_body_full) */
	int sent_reconcile;               /* the ping in flight has them */
	struct sessrec *ended;            /* the reports the ping in flight carries */
	size_t nended;
	EVP_PKEY *cp_pub;                 /* NULL: enrolled before checkpoints */
	char cp_path[AGENT_PATH_BYTES];   /* the kept checkpoint */
	struct checkpoint cp_refused;     /* the last one refused, audited once */
	int server_hold_s;                /* "hold_s" of the last answer; 0: unknown */
	int64_t cp_seq;                   /* seq of the checkpoint held; -1: unknown */
	struct devreport *report;         /* the device's status (NULL: none) */
	struct actrun *actrun;            /* the maintenance queue (NULL: none) */
	size_t noffline;                  /* offline install reports in the body sent */
	char *status_sent;                /* the status the ping in flight carries */
};

int ping_timeout_s(int server_hold_s, int asked_hold_s)
{
	int hold = server_hold_s;

	if (server_hold_s <= 0 || server_hold_s > LONGPOLL_MAX_S)
		return HTTP_TIMEOUT_S;
	if (asked_hold_s > 0 && asked_hold_s < hold)
		hold = asked_hold_s;
	return hold + LONGPOLL_MARGIN_S;
}

/* The hold this agent asks for: LONGPOLL_PROXY_HOLD_S through a proxy, else
 * none (0: the server's). */
static int ping_asked_hold_s(const struct agent_conf *conf)
{
	const char *proxy = agentconf_proxy(conf, conf->server);

	return proxy != NULL && proxy[0] != '\0' ? LONGPOLL_PROXY_HOLD_S : 0;
}

int ping_backoff_ms(int failures, unsigned random)
{
	long cap = BACKOFF_MIN_S * 1000L, d;
	int i;

	for (i = 1; i < failures && cap < BACKOFF_MAX_S * 1000L; i++)
		cap *= 2;
	if (cap > BACKOFF_MAX_S * 1000L)
		cap = BACKOFF_MAX_S * 1000L;
	/* Jitter in [cap/2, cap] on every retry, the first included, in
	 * milliseconds: a fleet that lost the server together must not come
	 * back in the same second (with whole seconds, 10,000 agents all
	 * retried exactly 1 s after a restart and overflowed the listen
	 * queue). */
	d = cap / 2 + (long)(random % (unsigned)(cap - cap / 2 + 1));
	return (int)d;
}

/* The audit head for the server to anchor (see agentaudit_head). A log we
 * cannot read leaves the field out; the agent keeps pinging. */
static void ping_add_audit_head(const struct agent_conf *conf, json_t *o)
{
	char hash[SHA256_HEX_BYTES];
	int64_t seq;
	int rc;

	if ((rc = agentaudit_head(conf, &seq, hash)) != 0) {
		log_warn("ping: cannot read the audit head: %s", te_strerror(rc));
		return;
	}
	json_object_set_new(o, "audit_head", json_pack("{s:I, s:s}", "seq", (json_int_t)seq,
	                                               "hash", hash));
}

static void ping_add_id(const char *id, void *arg)
{
	json_array_append_new((json_t *)arg, json_string(id));
}

char *ping_body(const struct agent_conf *conf)
{
	return ping_body_wait(conf, conf->longpoll);
}

char *ping_body_wait(const struct agent_conf *conf, int wait)
{
	return ping_body_full(conf, wait, NULL, 0, NULL, NULL, -1, NULL);
}

/* What the device offers besides its services, by name only: its
 * diagnostics and file areas (the server refuses requests for others). */
static void ping_add_offers(const struct agent_conf *conf, json_t *o)
{
	json_t *diags = json_array(), *files = json_array();
	size_t i;

	for (i = 0; i < conf->ndiags && diags != NULL; i++)
		json_array_append_new(diags, json_string(conf->diags[i].name));
	for (i = 0; i < conf->nfiles && files != NULL; i++)
		json_array_append_new(files, json_string(conf->files[i].name));
	json_object_set_new(o, "diags", diags);
	json_object_set_new(o, "files", files);
}

char *ping_body_full(const struct agent_conf *conf, int wait, const struct consent *consent,
                     int reconcile, struct sessrec *ended, size_t *nended, int64_t cp_seq,
                     const json_t *offline)
{
	json_t *o, *svcs = json_array(), *a;
	char *text = NULL;
	size_t i;
	int hold;

	for (i = 0; i < conf->nservices && svcs != NULL; i++)
		json_array_append_new(svcs, json_pack("{s:s, s:i}", "name",
		                      conf->services[i].name, "port",
		                      conf->services[i].port));
	o = json_pack("{s:s, s:s, s:b, s:o}", "version", TETHER_VERSION,
	              "status", "ok", "wait", wait, "services", svcs);
	if (o != NULL)
		ping_add_offers(conf, o);
	if (o != NULL && cp_seq >= 0)
		json_object_set_new(o, "checkpoint_seq", json_integer(cp_seq));
	if (o != NULL && conf->has_install)
		json_object_set_new(o, "repo_timestamp", json_integer(update_trusted_timestamp(conf)));
	if (o != NULL && json_array_size(offline) > 0)
		json_object_set(o, "offline_installs", (json_t *)offline);
	if (o != NULL && wait && (hold = ping_asked_hold_s(conf)) > 0)
		json_object_set_new(o, "hold_s", json_integer(hold));
	if (o != NULL && ended != NULL && nended != NULL) {
		*nended = 0;
		(void)sessrec_load(conf, SESSREC_ENDS_FILE, ended, SESSREC_MAX, nended);
		if (*nended > 0 && (a = json_array()) != NULL) {
			for (i = 0; i < *nended; i++)
				json_array_append_new(a, json_pack("{s:s, s:s}", "session",
				                      ended[i].id, "reason", ended[i].reason));
			json_object_set_new(o, "ended", a);
		}
	}
	if (o != NULL && consent != NULL && reconcile && (a = json_array()) != NULL) {
		consent_each_id(consent, ping_add_id, a);
		json_object_set_new(o, "sessions", a);
	}
	if (o != NULL) {
		ping_add_audit_head(conf, o);
		if (clockoff_known())
			json_object_set_new(o, "clock_offset_s", json_integer(clockoff_offset_s()));
		text = json_dumps(o, JSON_COMPACT);
	}
	json_decref(o);
	return text;
}

char *ping_body_status(char *body, const char *status, char **sent)
{
	json_t *o, *st;
	char *text;

	*sent = NULL;
	if (status == NULL)
		return body;
	if ((o = json_loads(body, 0, NULL)) == NULL || (st = json_loads(status, 0, NULL)) == NULL ||
	    json_object_set_new(o, "device_status", st) != 0 ||
	    (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return body;   /* without the status: the next ping carries it */
	}
	json_decref(o);
	if ((*sent = strdup(status)) == NULL) {
		free(text);
		return body;
	}
	free(body);
	return text;
}

static void ping_schedule_ms(struct ping *p, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(p->timer, &tv);
}

static void ping_schedule(struct ping *p, int seconds)
{
	ping_schedule_ms(p, seconds * 1000);
}

/* A visit's next connection (visit.h). */
static void ping_connect_event(struct ping *p, const json_t *ev)
{
	struct visit_event v;

	if (visit_event_parse(ev, &v) != 0) {
		log_warn("ping: malformed session_connect ignored");
		return;
	}
	visit_on_connect(p->consent, v.session, v.conn, v.ticket, v.relay_name, v.relay_host,
	                 v.relay_port);
	secret_wipe(&v, sizeof(v));
}

static void ping_event(struct ping *p, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	struct consent_event cev;
	char *text;

	if (type == NULL)
		return;
	if (strcmp(type, "session_request") == 0) {
		text = json_dumps(ev, JSON_COMPACT);
		if (text != NULL && consent_event_parse(text, strlen(text), &cev) == 0)
			consent_on_request(p->consent, &cev);
		else
			log_warn("ping: malformed session_request ignored");
		free(text);
	} else if (strcmp(type, "session_end") == 0) {
		const char *sid = json_string_value(json_object_get(ev, "session"));
		const char *why = json_string_value(json_object_get(ev, "reason"));

		/* what the operator reads is checked here too, not only at the server */
		if (why != NULL && text_check_display(why, MAX_REASON_BYTES, NULL) != 0)
			why = "ended by the server (its reason was not displayable text)";
		if (sid != NULL && consent_id_ok(sid))
			consent_on_session_end(p->consent, sid, why);
	} else if (strcmp(type, "session_connect") == 0) {
		ping_connect_event(p, ev);
	} else if (strcmp(type, "activity") == 0) {
		if (p->actrun != NULL)
			actrun_on_event(p->actrun, ev);
	} else {
		log_debug("ping: event %s ignored", type);
	}
}

/* The server's {"error","message"} says why (device_revoked,
 * unknown_certificate, ...); the agent keeps backing off, as the
 * administrator may fix it on the server without touching the device. */
static void ping_refused(int status, const char *body, size_t len, int delay_ms)
{
	json_t *o = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	const char *code = json_string_value(json_object_get(o, "error"));
	const char *msg = json_string_value(json_object_get(o, "message"));

	if (code != NULL && strcmp(code, "device_revoked") == 0)
		log_error("ping: the server refused this device (%d device_revoked: %s);"
		          " only the server's administrator can act on this; retrying in %d s",
		          status, msg ? msg : "", (delay_ms + 999) / 1000);
	else
		log_error("ping: the server refused this device (%d %s: %s): is it enrolled "
		          "and its certificate still valid? retrying in %d s", status,
		          code ? code : "no code", msg ? msg : "no message", (delay_ms + 999) / 1000);
	json_decref(o);
}

/* The server's audit checkpoint in a ping answer (docs/protocol.md): kept
 * when it verifies and is not below the one held. A lower one means the
 * server's trail was cut or rolled back since this device saw it: logged and
 * audited once per distinct checkpoint, and the held one stays. */
static void ping_checkpoint(struct ping *p, const json_t *o)
{
	struct checkpoint shown, held;
	int rc;

	if (o == NULL || p->cp_pub == NULL)
		return;
	if (checkpoint_from_json(o, &shown) != 0) {
		log_warn("ping: the server's audit checkpoint is malformed; not kept");
		return;
	}
	rc = checkpoint_keep(p->cp_pub, p->cp_path, -1, &shown, &held);
	if (rc == CHECKPOINT_NEWER || rc == CHECKPOINT_SAME) {
		p->cp_seq = shown.seq;     /* said in the next pings: not sent again */
		return;
	}
	/* Refused: the server keeps showing its own until its seq is ours. */
	p->cp_seq = rc == CHECKPOINT_OLDER || rc == CHECKPOINT_FORK ? held.seq : -1;
	if (shown.seq == p->cp_refused.seq && strcmp(shown.hash, p->cp_refused.hash) == 0 &&
	    shown.time == p->cp_refused.time)
		return;
	p->cp_refused = shown;
	if (rc == CHECKPOINT_OLDER || rc == CHECKPOINT_FORK) {
		log_error("ping: the server shows audit checkpoint seq %lld, %s the seq %lld this"
		          " device holds: its audit trail was cut or rewritten; keeping seq %lld",
		          (long long)shown.seq, rc == CHECKPOINT_OLDER ? "below" : "in conflict with",
		          (long long)held.seq, (long long)held.seq);
		agentaudit_log(p->conf, "agent", "server_checkpoint_refused",
		               "{\"reason\":\"%s\",\"held_seq\":%lld,\"shown_seq\":%lld}",
		               rc == CHECKPOINT_OLDER ? "lower_seq" : "conflict", (long long)held.seq,
		               (long long)shown.seq);
		return;
	}
	log_error("ping: the server's audit checkpoint seq %lld is not kept: %s",
	          (long long)shown.seq, rc == TE_ERR_SIGNATURE ?
	          "its signature does not verify with checkpoint.pub" :
	          rc == TE_ERR_IO ? "cannot write the state file" : te_strerror(rc));
	if (rc == TE_ERR_SIGNATURE)
		agentaudit_log(p->conf, "agent", "server_checkpoint_refused",
		               "{\"reason\":\"bad_signature\",\"shown_seq\":%lld}",
		               (long long)shown.seq);
}

/* The server's time_ms and held_ms: this device's clock offset, learned
 * before the events so that a ticket in them is judged by it. */
static void ping_clock(struct ping *p, const json_t *o)
{
	const json_t *t = json_object_get(o, "time_ms"), *h = json_object_get(o, "held_ms");
	int64_t off, recv = clockoff_wall_ms();

	if (!json_is_integer(t) || !json_is_integer(h)) {
		log_debug("ping: the server sends no time; the clock offset is not learned");
		return;
	}
	if (clockoff_estimate(clockoff_mono_ms() - p->sent_mono_ms, recv,
	                      (int64_t)json_integer_value(t), (int64_t)json_integer_value(h),
	                      &off) != 0) {
		log_warn("ping: the server's time (%lld ms, held %lld ms) is out of bounds; ignored",
		         (long long)json_integer_value(t), (long long)json_integer_value(h));
		return;
	}
	agentclock_learned(p->conf, off);
}

/* The server says how long it holds a ping: wait that long, and a margin,
 * for the next held answer. */
static void ping_learn_hold(struct ping *p, const json_t *h)
{
	int hold = json_is_integer(h) && json_integer_value(h) > 0 &&
	           json_integer_value(h) <= LONGPOLL_MAX_S ? (int)json_integer_value(h) : 0;

	if (hold == p->server_hold_s)
		return;
	p->server_hold_s = hold;
	httpc_set_timeout(p->http, ping_timeout_s(hold, ping_asked_hold_s(p->conf)));
}

static void ping_done(int status, const char *body, size_t len,
                      const char *err, void *arg)
{
	struct ping *p = arg;
	json_t *o = NULL, *events, *ev;
	unsigned r = 0;
	size_t i;
	int delay, was_learning = 0;

	if (status == 200 && (o = json_loadb(body, len, 0, NULL)) != NULL &&
	    json_is_object(o)) {
		was_learning = !p->answered;
		p->answered = 1;
		if (p->failures > 0)
			log_info("ping: server reachable again");
		p->failures = 0;
		ping_clock(p, o);
		ping_learn_hold(p, json_object_get(o, "hold_s"));
		/* The server took the end reports and reconciled this body. */
		for (i = 0; i < p->nended; i++)
			sessrec_end_done(p->conf, p->ended[i].id);
		if (p->nended > 0)
			log_info("ping: the server took %zu session end report(s)", p->nended);
		p->nended = 0;
		if (p->noffline > 0) {
			offline_reported(p->conf, p->noffline);
			log_info("ping: the server took %zu offline install report(s)", p->noffline);
			devreport_refresh(p->report);      /* and the versions they changed */
		}
		p->noffline = 0;
		if (p->sent_reconcile)
			p->reconcile = 0;
		devreport_acked(p->report, p->status_sent);
		ping_checkpoint(p, json_object_get(o, "checkpoint"));
		if (p->actrun != NULL)
			actrun_server_answered(p->actrun);
		if (p->actrun != NULL && json_is_integer(json_object_get(o, "repo_timestamp")))
			actrun_repo_noticed(p->actrun, (int64_t)json_integer_value(
			                    json_object_get(o, "repo_timestamp")));
		events = json_object_get(o, "events");
		json_array_foreach(events, i, ev)
			if (json_is_object(ev))
				ping_event(p, ev);
		if (!p->conf->longpoll) {
			delay = (int)p->conf->poll_interval_s;
		} else {
			delay = PING_MIN_SPACING_S - (int)(time(NULL) - p->sent_at);
			if (was_learning)
				delay = 0;   /* the held poll starts now, reporting the offset */
			delay = delay < 0 ? 0 : delay;
		}
		json_decref(o);
		ping_schedule(p, delay);
		return;
	}
	json_decref(o);
	o = NULL;
	if (p->failures < PING_MAX_FAILURES)   /* the backoff is at its cap long before */
		p->failures++;
	p->reconcile = 1;       /* the server may have lost or ended sessions meanwhile */
	secret_random(&r, sizeof(r));
	delay = ping_backoff_ms(p->failures, r);
	if (status == 401 || status == 403)
		ping_refused(status, body, len, delay);
	else
		log_warn("ping: %s; retrying in %d.%d s", status == 0 ?
		         (err != NULL ? err : "no response") : "unexpected response",
		         delay / 1000, delay % 1000 / 100);
	ping_schedule_ms(p, delay);
}

static void ping_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ping *p = arg;
	json_t *off;
	char *body;
	int rc;

	p->sent_at = time(NULL);
	p->sent_mono_ms = clockoff_mono_ms();
	/* Rebuilt each time (one audit head read per ping): the head moves as
	 * the agent and its workers append. On failure the previous body is
	 * sent again; with none yet, this ping counts as failed. */
	/* Until a first answer told this run the server's time, ping without a
	 * hold, so that the offset is learned, and reported, at once. */
	/* The offline install reports read once: the count the server takes
	 * with a 200 is the count this body carries. */
	off = p->conf->has_install ? offline_pending(p->conf) : NULL;
	if ((body = ping_body_full(p->conf, p->conf->longpoll && p->answered, p->consent,
	                           p->reconcile, p->ended, &p->nended, p->cp_seq, off)) != NULL) {
		free(p->body);
		free(p->status_sent);
		p->status_sent = NULL;
		p->body = ping_body_status(body, devreport_pending(p->report), &p->status_sent);
		p->sent_reconcile = p->reconcile;
		p->noffline = json_array_size(off);
	}
	json_decref(off);
	rc = p->body == NULL ? TE_ERR_NOMEM :
	     httpc_request(p->http, "POST", "/api/v1/ping", NULL, p->body,
	                   ping_done, p);
	if (rc != 0)
		ping_done(0, "", 0, te_strerror(rc), p);
}

/* The checkpoint key from enrollment; a device enrolled before checkpoints
 * has none and keeps no checkpoint (said once). */
static void ping_checkpoint_setup(struct ping *p)
{
	char path[AGENT_PATH_BYTES];
	int rc;

	if (agentconf_state_path(p->conf, PING_CHECKPOINT_PUB, path, sizeof(path)) != 0 ||
	    agentconf_state_path(p->conf, PING_CHECKPOINT_FILE, p->cp_path,
	                         sizeof(p->cp_path)) != 0)
		return;
	if (access(path, F_OK) != 0) {
		log_info("ping: no %s (enrolled before the server signed audit checkpoints):"
		         " the server's checkpoints are not kept", path);
		return;
	}
	if ((rc = ticket_key_load_public(path, &p->cp_pub)) != 0)
		log_error("ping: cannot load %s: %s; the server's checkpoints are not kept", path,
		          te_strerror(rc));
}

int ping_new(struct event_base *base, const struct agent_conf *conf,
             SSL_CTX *ctx, struct consent *consent, struct devreport *report,
             struct ping **out)
{
	struct ping *p;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return TE_ERR_NOMEM;
	p->base = base;
	p->conf = conf;
	p->consent = consent;
	p->report = report;
	p->reconcile = 1;
	p->cp_seq = -1;
	if ((p->ended = calloc(SESSREC_MAX, sizeof(*p->ended))) == NULL) {
		rc = TE_ERR_NOMEM;
		goto fail;
	}
	/* No body yet: the first ping_fire builds it, so start-up does not read
	 * the audit head twice. */
	if ((p->timer = evtimer_new(base, ping_fire, p)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto fail;
	}
	ping_checkpoint_setup(p);
	if ((rc = httpc_new(base, conf->server, ctx, &p->http)) != 0 ||
	    (rc = httpc_set_proxy(p->http, agentconf_proxy(conf, conf->server))) != 0)
		goto fail;
	/* Longer than the server's hold so a held long-poll is not cut short. */
	httpc_set_timeout(p->http, HTTP_TIMEOUT_S);
	/* One TLS connection for ping after ping, not a handshake each time:
	 * a ping repeated by httpc's retry is harmless (docs/protocol.md). */
	httpc_set_keepalive(p->http, 1);
	*out = p;
	return 0;
fail:
	ping_free(p);
	return rc;
}

void ping_set_actrun(struct ping *p, struct actrun *ar)
{
	p->actrun = ar;
}

void ping_start(struct ping *p)
{
	ping_schedule(p, 0);
}

void ping_free(struct ping *p)
{
	if (p == NULL)
		return;
	if (p->http != NULL)
		httpc_cancel(p->http);
	httpc_free(p->http);
	if (p->timer != NULL)
		event_free(p->timer);
	free(p->body);
	free(p->status_sent);
	free(p->ended);
	EVP_PKEY_free(p->cp_pub);
	free(p);
}
