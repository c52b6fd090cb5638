/* consent.c: the pending/active session table (the socket is consentsock.c).
 *
 * Sessions move pending -> (answer in flight) -> active -> gone. Each
 * decision is audited. Ids already answered are remembered for a while so
 * that a session_request the server repeats (it repeats it until answered)
 * is never put to the operator twice. */
#include "consent.h"
#include "consent_int.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "agentaudit.h"
#include "agentclock.h"
#include "clockoff.h"
#include "err.h"
#include "text.h"
#include "log.h"
#include "rbuf.h"
#include "secret.h"
#include "sessrec.h"
#include "ticket.h"
#include "recup.h"
#include "tunnel.h"

/* ---- pure parsing ---------------------------------------------------- */

int consent_id_ok(const char *id)
{
	size_t i, n = strnlen(id, MAX_NAME_BYTES);

	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

int consent_parse_line(const char *buf, size_t len, struct consent_line *out)
{
	char line[MAX_CONSENT_LINE_BYTES + 1], verb[16];
	struct rbuf r;
	const char *rest;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rbuf_init(&r, buf, len, MAX_CONSENT_LINE_BYTES)) != 0)
		return rc;
	if (len > 0 && buf[len - 1] == '\n') {
		if ((rc = rbuf_get_token(&r, '\n', line, sizeof(line))) != 0)
			return rc;
		if (rbuf_remaining(&r) != 0)
			return TE_ERR_INVALID;      /* one request per line */
	} else if ((rc = rbuf_get_rest(&r, line, sizeof(line))) != 0) {
		return rc;
	}
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (strchr(line, '\n') != NULL)
		return TE_ERR_INVALID;
	rest = strchr(line, ' ');
	if (rest == NULL) {
		if (strcmp(line, "LIST") == 0)
			out->cmd = CONSENT_CMD_LIST;
		else if (strcmp(line, "STATUS") == 0)
			out->cmd = CONSENT_CMD_STATUS;
		else if (strcmp(line, "WATCH") == 0)
			out->cmd = CONSENT_CMD_WATCH;
		else
			return TE_ERR_INVALID;
		return 0;
	}
	if ((size_t)(rest - line) >= sizeof(verb))
		return TE_ERR_INVALID;
	memcpy(verb, line, (size_t)(rest - line));
	verb[rest - line] = '\0';
	rest++;
	if (strcmp(verb, "ACCEPT") == 0)
		out->cmd = CONSENT_CMD_ACCEPT;
	else if (strcmp(verb, "DENY") == 0)
		out->cmd = CONSENT_CMD_DENY;
	else if (strcmp(verb, "END") == 0)
		out->cmd = CONSENT_CMD_END;
	else
		return TE_ERR_INVALID;
	if (!consent_id_ok(rest) || strlen(rest) >= sizeof(out->id)) {
		out->cmd = 0;
		return TE_ERR_INVALID;
	}
	memcpy(out->id, rest, strlen(rest) + 1);
	return 0;
}

static int consent_json_str(json_t *obj, const char *key, char *out,
                            size_t outsz, int required)
{
	json_t *v = json_object_get(obj, key);
	size_t n;

	if (v == NULL || json_is_null(v)) {
		out[0] = '\0';
		return required ? TE_ERR_INVALID : 0;
	}
	if (!json_is_string(v))
		return TE_ERR_INVALID;
	n = json_string_length(v);
	if (n >= outsz || memchr(json_string_value(v), '\0', n) != NULL)
		return TE_ERR_TOO_LONG;
	memcpy(out, json_string_value(v), n + 1);
	/* The server refuses such text too; the operator's screen does not
	 * depend on it (lib text.h). */
	return text_check_display(out, outsz, NULL) == 0 ? 0 : TE_ERR_INVALID;
}

/* Optional "actions": ["shell", "diag:uptime"]: joined with ',' for the
 * operator's screen; each a name with ':' allowed. */
static int consent_event_actions(json_t *o, struct consent_event *ev)
{
	json_t *acts = json_object_get(o, "actions"), *v;
	size_t i, k, used = 0, n;
	const char *a;

	if (acts == NULL || json_is_null(acts))
		return 0;
	if (!json_is_array(acts))
		return TE_ERR_INVALID;
	json_array_foreach(acts, i, v) {
		if (!json_is_string(v) || (n = json_string_length(v)) == 0 ||
		    n > MAX_NAME_BYTES + 16 || used + n + 2 > sizeof(ev->actions))
			return TE_ERR_INVALID;
		a = json_string_value(v);
		for (k = 0; k < n; k++)
			if (!((a[k] >= 'a' && a[k] <= 'z') || (a[k] >= 'A' && a[k] <= 'Z') ||
			      (a[k] >= '0' && a[k] <= '9') || a[k] == ':' || a[k] == '_' ||
			      a[k] == '-' || a[k] == '.'))
				return TE_ERR_INVALID;
		if (used > 0)
			ev->actions[used++] = ',';
		memcpy(ev->actions + used, a, n);
		used += n;
		ev->actions[used] = '\0';
	}
	return 0;
}

static int consent_event_fill(json_t *o, struct consent_event *ev)
{
	json_t *svcs, *v;
	size_t i;
	int rc;

	if ((rc = consent_json_str(o, "session", ev->session, sizeof(ev->session), 1)) != 0 ||
	    (rc = consent_json_str(o, "user", ev->user, sizeof(ev->user), 1)) != 0 ||
	    (rc = consent_json_str(o, "region", ev->region, sizeof(ev->region), 0)) != 0 ||
	    (rc = consent_json_str(o, "reason", ev->reason, sizeof(ev->reason), 0)) != 0)
		return rc;
	if (!consent_id_ok(ev->session))
		return TE_ERR_INVALID;
	v = json_object_get(o, "level");
	ev->level = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	v = json_object_get(o, "consent_timeout_s");
	ev->timeout_s = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	if (ev->timeout_s < 0 || ev->timeout_s > 24 * 3600)
		ev->timeout_s = 0;
	if ((rc = consent_event_actions(o, ev)) != 0)
		return rc;
	svcs = json_object_get(o, "services");
	if (svcs != NULL && !json_is_array(svcs))
		return TE_ERR_INVALID;
	json_array_foreach(svcs, i, v) {
		if (ev->nservices >= MAX_SERVICES || !json_is_string(v) ||
		    json_string_length(v) >= MAX_NAME_BYTES ||
		    text_check_display(json_string_value(v), MAX_NAME_BYTES, NULL) != 0)
			return TE_ERR_INVALID;
		memcpy(ev->services[ev->nservices++], json_string_value(v),
		       json_string_length(v) + 1);
	}
	return 0;
}

int consent_event_parse(const char *json, size_t len, struct consent_event *ev)
{
	json_t *o;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (len > MAX_HTTP_BODY_BYTES)
		return TE_ERR_TOO_LONG;
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return TE_ERR_INVALID;
	}
	rc = consent_event_fill(o, ev);
	json_decref(o);
	return rc;
}

/* ---- session table ----------------------------------------------------- */

struct consent_sess *consent_find(struct consent *c, const char *id)
{
	struct consent_sess *s;

	for (s = c->sessions; s != NULL; s = s->next)
		if (strcmp(s->ev.session, id) == 0)
			return s;
	return NULL;
}

static int consent_was_done(const struct consent *c, const char *id)
{
	size_t i;

	for (i = 0; i < CONSENT_DONE_RING; i++)
		if (strcmp(c->done[i], id) == 0)
			return 1;
	return 0;
}

static json_t *consent_services_json(const struct consent_event *ev)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < ev->nservices; i++)
		json_array_append_new(a, json_string(ev->services[i]));
	return a;
}

json_t *consent_pending_event(const struct consent_sess *s)
{
	time_t now = time(NULL);

	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:s, s:I}", "event",
	                 "session_pending", "id", s->ev.session, "user", s->ev.user,
	                 "level", (json_int_t)s->ev.level, "region", s->ev.region,
	                 "reason", s->ev.reason, "services", consent_services_json(&s->ev),
	                 "actions", s->ev.actions,
	                 "expires_in_s", (json_int_t)(s->deadline > now ? s->deadline - now : 0));
}

json_t *consent_active_event(const struct consent_sess *s, const char *event)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "event", event,
	                 "id", s->ev.session, "user", s->ev.user, "reason", s->ev.reason,
	                 "actions", s->actions,
	                 "active_s", (json_int_t)(time(NULL) - s->active_since));
}

/* state_dir/live-sessions: the sessions with a tunnel now (sessrec.h). */
static void consent_live_save(struct consent *c)
{
	struct sessrec *r = calloc(SESSREC_MAX, sizeof(*r));
	struct consent_sess *s;
	size_t n = 0;

	if (r == NULL)
		return;
	for (s = c->sessions; s != NULL && n < SESSREC_MAX; s = s->next)
		if (s->state == CS_ACTIVE)
			snprintf(r[n++].id, sizeof(r[0].id), "%s", s->ev.session);
	if (sessrec_store(c->conf, SESSREC_LIVE_FILE, r, n) != 0)
		log_error("cannot record the live sessions in %s; a crash now would leave"
		          " them unreported", SESSREC_LIVE_FILE);
	free(r);
}

static int consent_sess_live(void *arg, const char *session)
{
	return consent_find(arg, session) != NULL;
}

/* Unlink and free a session; remember its id. Its recordings are complete
 * now and go to the server. */
static void consent_sess_remove(struct consent *c, struct consent_sess *s)
{
	struct consent_sess **pp;
	int was_active = s->state == CS_ACTIVE;

	consent_notify(c, json_pack("{s:s, s:s, s:s, s:s}", "event", "session_ended",
	                            "id", s->ev.session, "state",
	                            s->state == CS_ACTIVE ? "active" : "pending",
	                            "reason", s->end_reason[0] ? s->end_reason : "ended"));

	for (pp = &c->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	snprintf(c->done[c->done_next], MAX_NAME_BYTES, "%s", s->ev.session);
	c->done_next = (c->done_next + 1) % CONSENT_DONE_RING;
	if (s->waiter != NULL) {
		consent_conn_reply(s->waiter, "ERR session %s is gone\n", s->ev.session);
		s->waiter = NULL;
	}
	visit_forget(s);
	if (s->empty_ev != NULL)
		event_free(s->empty_ev);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->notify_ev != NULL)
		event_free(s->notify_ev);
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	free(s);
	if (was_active) {
		consent_live_save(c);
		if (!c->stopping)
			recup_kick(c->rec);
	}
}

static char *consent_body(const char *session, const char *key, const char *value)
{
	json_t *o = json_pack("{s:s, s:s}", "session", session, key, value);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

int consent_end_acked(int status)
{
	/* 2xx, or a refusal that will never change (the server knows no such
	 * session of this device, or the request is malformed): not retried.
	 * No answer, 408, 429 and 5xx: kept for the next try. */
	return (status >= 200 && status < 300) ||
	       (status >= 400 && status < 500 && status != 408 && status != 409 &&
	        status != 429);
}

static void consent_end_posted(int status, const char *body, size_t len,
                               const char *err, void *arg)
{
	struct consent_op *op = arg;
	struct consent *c = op->c;
	struct consent_sess *s;

	if (c->ends_inflight > 0 && --c->ends_inflight == 0 && c->stopping)
		event_base_loopbreak(c->base);    /* the last report before exit */
	if (c->stopping && (s = consent_find(c, op->id)) != NULL) {
		tunnel_stop(s->worker);           /* consent_shutdown waited for this */
		visit_stop(s);
	}
	if (consent_end_acked(status)) {
		if (status >= 300)
			log_warn("session %s: the server refused its end report (%d %.*s); "
			         "not retried", op->id, status, (int)(len > 200 ? 200 : len), body);
		sessrec_end_done(op->c->conf, op->id);
	} else {
		log_warn("session %s: the server did not take its end report (%s); it is "
		         "kept in %s and sent again with the next ping", op->id,
		         status == 0 ? (err != NULL ? err : "no response") : "server error",
		         SESSREC_ENDS_FILE);
	}
	free(op);
}

/* Send a kept end report; acknowledged, it is removed. */
static void consent_send_end(struct consent *c, const char *session, const char *reason)
{
	struct consent_op *op = calloc(1, sizeof(*op));
	char *body = consent_body(session, "reason", reason);

	if (op != NULL) {
		op->c = c;
		snprintf(op->id, sizeof(op->id), "%s", session);
	}
	if (op == NULL || body == NULL || apiq_post(c->api, "/api/v1/device/session-end",
	                                            body, consent_end_posted, op) != 0) {
		log_error("session %s: cannot report its end to the server now; the next "
		          "ping carries it", session);
		free(op);
	} else {
		c->ends_inflight++;
	}
	free(body);
}

/* Durable first (sessrec.h), then sent. */
void consent_post_end(struct consent *c, const char *session,
                             const char *reason)
{
	if (sessrec_end_add(c->conf, session, reason) != 0)
		log_error("session %s: cannot keep its end report on disk; sending it once",
		          session);
	consent_send_end(c, session, reason);
}

static void consent_services_text(const struct consent_event *ev, char *out,
                                  size_t outsz)
{
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < ev->nservices && off < outsz; i++) {
		int n = snprintf(out + off, outsz - off, "%s%s", i ? "," : "",
		                 ev->services[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* ---- decisions ------------------------------------------------------------ */

const char *consent_decision_name(enum consent_decision d)
{
	return d == DEC_ACCEPT ? "accept" : d == DEC_DENY ? "deny" : "timeout";
}

static void consent_timer_cb(evutil_socket_t fd, short what, void *arg);

static int consent_arm(struct consent_sess *s, long seconds)
{
	struct timeval tv = { seconds, 0 };

	s->deadline = time(NULL) + seconds;
	return evtimer_add(s->timer, &tv) == 0 ? 0 : TE_ERR_SYS;
}

/* The server has the limit's reason (or could not be told): now the
 * worker may close the tunnel. */
static void consent_limit_posted(int status, const char *body, size_t len,
                                 const char *err, void *arg)
{
	struct consent_op *op = arg;
	struct consent_sess *s = consent_find(op->c, op->id);

	if (status != 200)
		log_warn("session %s: the server did not take its end (%d)", op->id, status);
	if (consent_end_acked(status))
		sessrec_end_done(op->c->conf, op->id);
	if (s != NULL)
		(void)consent_sess_stop(op->c, s);
	free(op);
}

size_t consent_sess_workers(const struct consent_sess *s)
{
	return (s->worker > 0 ? 1 : 0) + visit_workers(s);
}

int consent_sess_stop(struct consent *c, struct consent_sess *s)
{
	s->worker_ending = 1;
	if (s->empty_ev != NULL)
		evtimer_del(s->empty_ev);
	if (consent_sess_workers(s) == 0) {
		consent_sess_remove(c, s);
		return 1;
	}
	if (s->worker > 0)
		tunnel_stop(s->worker);
	visit_stop(s);
	return 0;
}

/* A worker reached a ticket limit that ends the visit: report the reason
 * to the server while the tunnels are still up, so the server records it
 * (not the relay's view of a closed tunnel), then stop every connection. */
void consent_limit(struct consent_sess *s, pid_t pid, char code)
{
	struct consent *c = s->c;
	struct consent_op *op;
	const char *reason;
	char *body;

	if (code != 'i' && code != 'm' && code != 'a')
		return;
	if (s->worker_ending)
		return;
	if (code == 'i' && consent_sess_workers(s) > 1) {
		/* One idle connection of several: it closes, the visit goes on. */
		log_info("session %s: connection of worker %ld idle; closed, the session goes"
		         " on", s->ev.session, (long)pid);
		tunnel_stop(pid);
		return;
	}
	reason = code == 'i' ? "idle timeout" : code == 'm' ? "maximum duration reached"
	         : CONSENT_NO_AUDIT_SESSION_REASON;
	log_info("session %s: %s", s->ev.session, reason);
	s->worker_ending = 1;
	snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	if (sessrec_end_add(c->conf, s->ev.session, reason) != 0)
		log_error("session %s: cannot keep its end report on disk", s->ev.session);
	body = consent_body(s->ev.session, "reason", reason);
	if ((op = calloc(1, sizeof(*op))) != NULL) {
		op->c = c;
		snprintf(op->id, sizeof(op->id), "%s", s->ev.session);
	}
	if (op == NULL || body == NULL ||
	    apiq_post(c->api, "/api/v1/device/session-end", body, consent_limit_posted,
	              op) != 0) {
		log_error("session %s: cannot report its end to the server", s->ev.session);
		free(op);
		if (s->worker > 0)
			tunnel_stop(s->worker);
		visit_stop(s);
	}
	free(body);
}

/* The first connection's notify pipe: the proof byte, or a limit. */
static void consent_limit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consent_sess *s = arg;
	char code;
	ssize_t n = read(fd, &code, 1);

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(s->notify_ev);     /* the worker is gone */
		return;
	}
	if (code == VISIT_PROOF_BYTE) {
		s->proven = 1;           /* the session's later connections skip the password */
		return;
	}
	consent_limit(s, s->worker, code);
}

/* No connection of the visit for its empty limit: it ends, "idle timeout". */
static void consent_empty_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consent_sess *s = arg;
	struct consent *c = s->c;

	(void)fd;
	(void)what;
	if (s->state != CS_ACTIVE || s->worker_ending || consent_sess_workers(s) > 0)
		return;
	log_info("session %s: no connection for %lld s; idle timeout", s->ev.session,
	         (long long)s->empty_s);
	agentaudit_log(c->conf, "agent", "session_end", "session %s: idle timeout: no"
	               " connection for %lld s", s->ev.session, (long long)s->empty_s);
	snprintf(s->end_reason, sizeof(s->end_reason), "idle timeout");
	consent_post_end(c, s->ev.session, "idle timeout");
	(void)consent_sess_stop(c, s);
}

void consent_conn_closed(struct consent *c, struct consent_sess *s, int status)
{
	struct timeval tv = { 0, 0 };
	const char *reason;

	if (s->worker_ending) {
		if (consent_sess_workers(s) == 0)
			consent_sess_remove(c, s);   /* its end was reported already */
		return;
	}
	if (WIFEXITED(status) &&
	    (WEXITSTATUS(status) == TUNNEL_EXIT_MAX_DURATION ||
	     WEXITSTATUS(status) == TUNNEL_EXIT_NO_AUDIT ||
	     (WEXITSTATUS(status) == TUNNEL_EXIT_IDLE && consent_sess_workers(s) == 0))) {
		/* A limit whose byte was not read: the server learns it now. */
		reason = consent_worker_end_reason(status);
		consent_post_end(c, s->ev.session, reason);
		snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
		(void)consent_sess_stop(c, s);
		return;
	}
	if (consent_sess_workers(s) > 0 || s->state != CS_ACTIVE)
		return;
	/* The visit goes on with no connection open, for its empty limit. */
	if (s->empty_ev == NULL &&
	    (s->empty_ev = evtimer_new(c->base, consent_empty_cb, s)) == NULL) {
		log_error("session %s: cannot time its idle limit; ending it", s->ev.session);
		snprintf(s->end_reason, sizeof(s->end_reason), "idle timeout");
		consent_post_end(c, s->ev.session, "idle timeout");
		(void)consent_sess_stop(c, s);
		return;
	}
	tv.tv_sec = (time_t)s->empty_s;
	evtimer_add(s->empty_ev, &tv);
	log_info("session %s: no connection open; the session stays open for another"
	         " connection, and ends after %lld s without one", s->ev.session,
	         (long long)s->empty_s);
}

/* The reason a session is refused or ended for want of a trail: the
 * specialist reads it as the session's end reason. */
static void consent_audit_reason(char *out, size_t outsz)
{
	snprintf(out, outsz, "%s: %s", CONSENT_NO_AUDIT_REASON, agentaudit_why());
	agentaudit_clean_utf8(out);    /* the cut may split a character */
}

/* Parse the accept answer, verify the ticket, fork the worker. */
static int consent_start_tunnel(struct consent_sess *s, const char *body,
                                size_t len, char *why, size_t whysz)
{
	struct consent *c = s->c;
	struct tunnel_spec *spec = NULL;
	json_t *o = NULL, *relay, *port;
	char relay_name[MAX_NAME_BYTES];
	int64_t iat = 0, exp = 0;
	int rc = TE_ERR_PROTOCOL;

	snprintf(why, whysz, "the server's answer has no usable ticket or relay");
	if ((spec = calloc(1, sizeof(*spec))) == NULL)
		return TE_ERR_NOMEM;
	o = json_loadb(body, len, 0, NULL);
	relay = json_object_get(o, "relay");
	port = json_object_get(relay, "device_port");
	if (!json_is_object(o) || !json_is_object(relay) ||
	    consent_json_str(o, "ticket", spec->ticket, sizeof(spec->ticket), 1) != 0 ||
	    consent_json_str(relay, "name", relay_name, sizeof(relay_name), 1) != 0 ||
	    consent_json_str(relay, "host", spec->relay_host, sizeof(spec->relay_host), 1) != 0)
		goto out;
	if (json_is_integer(port) && json_integer_value(port) > 0 &&
	    json_integer_value(port) < 65536)
		snprintf(spec->relay_port, sizeof(spec->relay_port), "%d",
		         (int)json_integer_value(port));
	else if (consent_json_str(relay, "device_port", spec->relay_port,
	                          sizeof(spec->relay_port), 1) != 0)
		goto out;
	snprintf(spec->session, sizeof(spec->session), "%s", s->ev.session);
	/* Judged by the server's clock: the ticket's window is the server's. */
	rc = ticket_verify_window(spec->ticket, strlen(spec->ticket), c->ticket_pub,
	                          clockoff_now(), &spec->verified, &iat, &exp);
	if (rc == 0)
		rc = ticket_check_binding(&spec->verified, TICKET_LEG_DEVICE,
		                          relay_name, c->conf->serial);
	if (rc == 0 && strcmp(spec->verified.session, s->ev.session) != 0)
		rc = TE_ERR_MISMATCH;
	if (rc != 0) {
		if (rc == TE_ERR_EXPIRED)
			agentclock_ticket_why(iat, exp, TICKET_SKEW_S, clockoff_now(), why, whysz);
		else
			snprintf(why, whysz, "ticket rejected: %s", te_strerror(rc));
		agentaudit_log(c->conf, "agent", "ticket_rejected", "session %s: %s",
		               s->ev.session, why);
		goto out;
	}
	snprintf(s->actions, sizeof(s->actions), "%s", spec->verified.actions);
	snprintf(s->relay, sizeof(s->relay), "%s", relay_name);
	s->empty_s = spec->verified.idle_s > 0 ? spec->verified.idle_s : VISIT_EMPTY_MAX_S;
	if ((rc = tunnel_start(c->conf, spec, &s->worker, &s->notify_fd)) != 0) {
		snprintf(why, whysz, "cannot start the tunnel worker: %s", te_strerror(rc));
		goto out;
	}
	s->notify_ev = event_new(c->base, s->notify_fd, EV_READ | EV_PERSIST,
	                         consent_limit_cb, s);
	if (s->notify_ev == NULL || event_add(s->notify_ev, NULL) != 0)
		log_warn("session %s: limit reports will come with the worker's exit",
		         s->ev.session);
	if (agentaudit_log(c->conf, "agent", "tunnel_start",
	                   "session %s conn 0 user %s relay %s at %s:%s actions %s worker %ld",
	                   s->ev.session, spec->verified.user, relay_name,
	                   spec->relay_host, spec->relay_port, spec->verified.actions,
	                   (long)s->worker) != 0) {
		/* No session without a trail: the worker goes before SSH starts. */
		consent_audit_reason(why, whysz);
		tunnel_stop(s->worker);
		rc = TE_ERR_IO;
	}
out:
	json_decref(o);
	if (spec != NULL)
		secret_wipe(spec, sizeof(*spec));
	free(spec);
	return rc;
}

static void consent_answered(struct consent_sess *s, struct consent_op *op,
                             int status, const char *body, size_t len,
                             const char *err)
{
	struct consent *c = s->c;
	struct consent_conn *w = s->waiter;
	char why[160];

	s->waiter = NULL;
	if (w != NULL)
		w->waiting = 0;
	if (status == 200 && op->decision == DEC_DENY) {
		if (w != NULL)
			consent_conn_reply(w, "OK denied\n");
		snprintf(s->end_reason, sizeof(s->end_reason), "refused by the operator");
		consent_sess_remove(c, s);
		return;
	}
	if (status == 200) {
		if (consent_start_tunnel(s, body, len, why, sizeof(why)) == 0) {
			s->state = CS_ACTIVE;
			s->active_since = time(NULL);
			consent_live_save(c);
			consent_arm(s, SESSION_MAX_S);
			consent_notify(c, consent_active_event(s, "session_active"));
			if (w != NULL)
				consent_conn_reply(w, "OK accepted\n");
			return;
		}
		log_error("session %s: %s", s->ev.session, why);
		if (w != NULL)
			consent_conn_reply(w, "ERR %s\n", why);
		consent_post_end(c, s->ev.session, why);
		snprintf(s->end_reason, sizeof(s->end_reason), "%s", why);
		consent_sess_remove(c, s);
		return;
	}
	if (status == 409 || status == 404) {
		if (w != NULL)
			consent_conn_reply(w, "ERR the server no longer awaits consent "
			                   "for session %s\n", s->ev.session);
		snprintf(s->end_reason, sizeof(s->end_reason), "withdrawn at the server");
		consent_sess_remove(c, s);
		return;
	}
	/* Transport or server error: the request stays pending; try again. */
	s->state = CS_PENDING;
	if (w != NULL)
		consent_conn_reply(w, "ERR the server did not take the answer (%s); "
		                   "try again\n", status == 0 ? (err ? err : "no response")
		                   : "server error");
}

static void consent_decision_done(int status, const char *body, size_t len,
                                  const char *err, void *arg)
{
	struct consent_op *op = arg;
	struct consent_sess *s = consent_find(op->c, op->id);

	if (status != 200)
		log_warn("consent %s for session %s: status %d %s",
		         consent_decision_name(op->decision), op->id, status,
		         status == 0 ? (err ? err : "") : body);
	if (s != NULL && op->decision != DEC_TIMEOUT && s->state == CS_ANSWERING)
		consent_answered(s, op, status, body, len, err);
	free(op);
}

int consent_send(struct consent *c, const char *id,
                        enum consent_decision d)
{
	struct consent_op *op;
	char *body;
	int rc;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return TE_ERR_NOMEM;
	op->c = c;
	op->decision = d;
	snprintf(op->id, sizeof(op->id), "%s", id);
	if ((body = consent_body(id, "decision", consent_decision_name(d))) == NULL) {
		free(op);
		return TE_ERR_NOMEM;
	}
	rc = apiq_post(c->api, "/api/v1/consent", body, consent_decision_done, op);
	free(body);
	if (rc != 0)
		free(op);
	return rc;
}

static void consent_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consent_sess *s = arg;
	struct consent *c = s->c;

	if (s->state == CS_ACTIVE) {
		log_info("session %s: maximum duration reached", s->ev.session);
		agentaudit_log(c->conf, "agent", "session_end",
		               "session %s: maximum duration of %d s reached",
		               s->ev.session, SESSION_MAX_S);
		if (!s->worker_ending) {
			snprintf(s->end_reason, sizeof(s->end_reason), "maximum duration reached");
			consent_post_end(c, s->ev.session, "maximum duration reached");
		}
		(void)consent_sess_stop(c, s);   /* now, or when the last worker is reaped */
		return;
	}
	if (s->state == CS_ANSWERING) {
		/* The server has not answered yet; look again shortly. */
		consent_arm(s, 5);
		return;
	}
	log_info("session %s: no answer from the operator; refusing", s->ev.session);
	agentaudit_log(c->conf, "agent", "consent_timeout",
	               "session %s user %s: no answer within the consent timeout",
	               s->ev.session, s->ev.user);
	if (consent_send(c, s->ev.session, DEC_TIMEOUT) != 0)
		log_error("session %s: cannot send the timeout", s->ev.session);
	snprintf(s->end_reason, sizeof(s->end_reason), "no answer from the operator");
	consent_sess_remove(c, s);
}

/* A request the device cannot record: end it at the server with the
 * reason, and remember its id so that a repeat is not asked again. */
static void consent_refuse_unaudited(struct consent *c, const char *session)
{
	char why[MAX_REASON_BYTES];

	consent_audit_reason(why, sizeof(why));
	log_error("session %s: refused: %s", session, why);
	consent_post_end(c, session, why);
	snprintf(c->done[c->done_next], MAX_NAME_BYTES, "%s", session);
	c->done_next = (c->done_next + 1) % CONSENT_DONE_RING;
}

void consent_on_request(struct consent *c, const struct consent_event *ev)
{
	struct consent_sess *s;
	char svcs[MAX_SERVICES * MAX_NAME_BYTES];
	long timeout;
	size_t n = 0;

	if (consent_find(c, ev->session) != NULL || consent_was_done(c, ev->session))
		return;
	for (s = c->sessions; s != NULL; s = s->next)
		n++;
	if (n >= CONSENT_MAX_SESSIONS) {
		log_warn("session %s: too many sessions; request ignored", ev->session);
		return;
	}
	consent_services_text(ev, svcs, sizeof(svcs));
	/* No session without a trail: a request that cannot be recorded is
	 * never put to the operator. */
	if (agentaudit_log(c->conf, ev->user, "session_request",
	                   "session %s level %ld region %s reason \"%s\" services %s "
	                   "actions %s", ev->session, ev->level, ev->region, ev->reason,
	                   svcs, ev->actions[0] ? ev->actions : "-") != 0) {
		consent_refuse_unaudited(c, ev->session);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return;
	s->c = c;
	s->ev = *ev;
	s->state = CS_PENDING;
	s->notify_fd = -1;
	if ((s->timer = evtimer_new(c->base, consent_timer_cb, s)) == NULL) {
		free(s);
		return;
	}
	timeout = c->conf->consent_timeout_s;
	if (ev->timeout_s > 0 && ev->timeout_s < timeout)
		timeout = ev->timeout_s;
	consent_arm(s, timeout);
	s->next = c->sessions;
	c->sessions = s;
	log_info("session %s: %s (level %ld, %s) asks for a session: %s; services %s; "
	         "answer within %ld s", ev->session, ev->user, ev->level, ev->region,
	         ev->reason, svcs, timeout);
	consent_notify(c, consent_pending_event(s));
}

void consent_on_session_end(struct consent *c, const char *session,
                            const char *reason)
{
	struct consent_sess *s = consent_find(c, session);

	if (s == NULL)
		return;
	agentaudit_log(c->conf, "server", "session_end", "session %s: %s", session,
	               reason != NULL ? reason : "");
	snprintf(s->end_reason, sizeof(s->end_reason), "%s",
	         reason != NULL && reason[0] ? reason : "ended at the server");
	if (s->state == CS_ACTIVE) {
		(void)consent_sess_stop(c, s);   /* every connection of the visit */
		return;
	}
	consent_sess_remove(c, s);
}

/* The session ends on the agent's side with why: kept and reported. */
static void consent_end_here(struct consent_sess *s, const char *why)
{
	log_error("session %s: %s", s->ev.session, why);
	agentaudit_log(s->c->conf, "agent", "session_end", "session %s: %s", s->ev.session, why);
	consent_post_end(s->c, s->ev.session, why);
	snprintf(s->end_reason, sizeof(s->end_reason), "%s", why);
	(void)consent_sess_stop(s->c, s);   /* every connection it still has */
}

/* Connection 0's relay gave no usable answer and no move is possible. */
static void consent_relay_gave_up(struct consent_sess *s)
{
	char why[MAX_REASON_BYTES];

	snprintf(why, sizeof(why), "relay %s gave no usable answer within %d s and %s",
	         s->relay[0] != '\0' ? s->relay : "(unknown)", TUNNEL_RELAY_DEADLINE_S,
	         s->relay_moves >= TUNNEL_RELAY_MOVES ? "the session moved relays as often as"
	         " it may" : "the server could not be asked for another");
	consent_end_here(s, why);
}

/* The "message" of a server's error answer, escaped for display, else
 * what went wrong on the way. */
static void consent_server_message(int status, const char *body, size_t len,
                                   const char *err, char *out, size_t outsz)
{
	json_t *o = status != 0 && body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(o, "message"));

	if (m != NULL)
		text_escape_display(m, out, outsz);
	else if (status != 0)
		snprintf(out, outsz, "HTTP %d", status);
	else
		snprintf(out, outsz, "%s", err != NULL ? err : "no response");
	json_decref(o);
}

static void consent_relay_moved(int status, const char *body, size_t len,
                                const char *err, void *arg)
{
	struct consent_op *op = arg;
	struct consent_sess *s = consent_find(op->c, op->id);
	char why[MAX_REASON_BYTES], msg[MAX_REASON_BYTES / 2];

	free(op);
	/* Ended meanwhile, at the server or by the operator: nothing to start. */
	if (s == NULL || !s->moving)
		return;
	s->moving = 0;
	if (s->worker_ending) {
		(void)consent_sess_stop(s->c, s);   /* stopped meanwhile (consent_shutdown) */
		return;
	}
	if (status == 200) {
		if (consent_start_tunnel(s, body, len, why, sizeof(why)) == 0) {
			log_info("session %s: moved to relay %s", s->ev.session, s->relay);
			return;
		}
	} else {
		consent_server_message(status, body, len, err, msg, sizeof(msg));
		snprintf(why, sizeof(why), "relay %s did not answer and the server gave no other"
		         " relay: %s", s->relay, msg);
	}
	consent_end_here(s, why);
}

/* The worker found the session's relay unusable: ask the server for a
 * ticket on the relay the session is on now (relaymove.h at the server);
 * 0 when asked, and the session waits for the answer without a worker. */
static int consent_relay_move(struct consent *c, struct consent_sess *s)
{
	struct consent_op *op;
	json_t *o;
	char *body;
	int rc;

	if (s->relay_moves >= TUNNEL_RELAY_MOVES || s->relay[0] == '\0')
		return -1;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -1;
	op->c = c;
	snprintf(op->id, sizeof(op->id), "%s", s->ev.session);
	o = json_pack("{s:s, s:s, s:s}", "session", s->ev.session, "relay", s->relay,
	              "reason", "no usable answer from the relay within its deadline");
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	rc = body != NULL ? apiq_post(c->api, "/api/v1/device/relay-failed", body,
	                              consent_relay_moved, op) : TE_ERR_NOMEM;
	free(body);
	if (rc != 0) {
		free(op);
		return -1;
	}
	s->relay_moves++;
	s->moving = 1;
	if (s->notify_ev != NULL) {
		event_free(s->notify_ev);
		s->notify_ev = NULL;
	}
	if (s->notify_fd >= 0) {
		close(s->notify_fd);
		s->notify_fd = -1;
	}
	agentaudit_log(c->conf, "agent", "relay_failed", "session %s relay %s: no usable answer"
	               " within %d s; asking the server for another", s->ev.session, s->relay,
	               TUNNEL_RELAY_DEADLINE_S);
	return 0;
}

void consent_on_worker_exit(struct consent *c, pid_t pid, int status)
{
	struct consent_sess *s;
	char what[64];

	if ((s = visit_on_exit(c, pid, status)) != NULL) {
		consent_conn_closed(c, s, status);   /* a later connection */
		return;
	}
	for (s = c->sessions; s != NULL; s = s->next)
		if (s->state == CS_ACTIVE && s->worker == pid)
			break;
	if (s == NULL)
		return;
	if (WIFEXITED(status))
		snprintf(what, sizeof(what), "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(what, sizeof(what), "signal %d", WTERMSIG(status));
	else
		snprintf(what, sizeof(what), "status %d", status);
	log_info("session %s: connection 0 (worker %ld) ended (%s)", s->ev.session,
	         (long)pid, what);
	agentaudit_log(c->conf, "agent", "tunnel_end", "session %s conn 0 worker %ld: %s",
	               s->ev.session, (long)pid, what);
	s->worker = 0;
	if (s->notify_ev != NULL)
		event_free(s->notify_ev);
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	s->notify_ev = NULL;
	s->notify_fd = -1;
	/* Connection 0 that never reached its relay (it alone can: a later
	 * connection's ticket exists only once connection 0 was paired, and a
	 * later connection's worker is visit_on_exit's above). The session is
	 * still consented at the server and moves (relaymove.h); with no move
	 * left it ends here, as nothing else could reach the device. */
	if (!s->worker_ending && WIFEXITED(status) &&
	    WEXITSTATUS(status) == TUNNEL_EXIT_RELAY_FAILED && consent_sess_workers(s) == 0) {
		if (consent_relay_move(c, s) != 0)
			consent_relay_gave_up(s);
		return;   /* else the next worker starts with the server's answer */
	}
	/* Connection 0 refused by its relay (for example a relay without its
	 * audit trail) never reached the specialist and no later connection
	 * can exist: the visit cannot start, so it ends here with the reason
	 * rather than waiting out its idle limit. */
	if (!s->worker_ending && WIFEXITED(status) &&
	    WEXITSTATUS(status) == TUNNEL_EXIT_REFUSED && consent_sess_workers(s) == 0) {
		char why[MAX_REASON_BYTES];

		snprintf(why, sizeof(why), "relay %s refused the device's connection"
		         " (the device log says why)", s->relay[0] != '\0' ? s->relay : "(unknown)");
		consent_end_here(s, why);
		return;
	}
	/* The first connection's close is one connection's: the visit goes on. */
	consent_conn_closed(c, s, status);
}

const char *consent_worker_end_reason(int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == TUNNEL_EXIT_IDLE)
		return "idle timeout";
	if (WIFEXITED(status) && WEXITSTATUS(status) == TUNNEL_EXIT_MAX_DURATION)
		return "maximum duration reached";
	if (WIFEXITED(status) && WEXITSTATUS(status) == TUNNEL_EXIT_NO_AUDIT)
		return CONSENT_NO_AUDIT_SESSION_REASON;
	return "tunnel closed";
}

size_t consent_workers(const struct consent *c)
{
	const struct consent_sess *s;
	size_t n = 0;

	for (s = c->sessions; s != NULL; s = s->next)
		n += (s->worker > 0 ? 1 : 0) + visit_workers(s);
	return n;
}

int consent_new(struct event_base *base, const struct agent_conf *conf,
                struct apiq *api, struct apiq *upq, EVP_PKEY *ticket_pub, int listen_fd,
                struct consent **out)
{
	struct consent *c;
	int fd = listen_fd, rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TE_ERR_NOMEM;
	c->base = base;
	c->conf = conf;
	c->api = api;
	c->ticket_pub = ticket_pub;
	/* A socket the monitor made outlives this process (a restarted
	 * network part serves it again): only the monitor removes it. */
	c->owns_path = fd < 0;
	if (fd < 0 && (rc = consent_socket_open(conf, &fd)) != 0) {
		log_error("consent socket %s: %s (%s)", conf->consent_socket,
		          te_strerror(rc), strerror(errno));
		goto fail;
	}
	c->listener = evconnlistener_new(base, consent_accept_cb, c,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	                                 -1, fd);
	if (c->listener == NULL) {
		close(fd);
		rc = TE_ERR_SYS;
		goto fail;
	}
	/* Recordings left by an earlier run go now; later ones at their
	 * session's end (consent_sess_remove). */
	if (recup_new(base, conf, upq != NULL ? upq : api, consent_sess_live, c, &c->rec) != 0)
		log_error("cannot send shell recordings to the server: out of memory");
	recup_kick(c->rec);
	*out = c;
	return 0;
fail:
	free(c);
	return rc;
}

void consent_shutdown(struct consent *c)
{
	struct consent_sess *s;

	if (c == NULL)
		return;
	c->stopping = 1;
	for (s = c->sessions; s != NULL; s = s->next) {
		/* CS_ACTIVE covers a visit with no connection open and a session
		 * moving between relays (s->moving, no worker for now). */
		if (s->state == CS_ACTIVE && !s->worker_ending) {
			/* Ended here, with records on both sides (issue 8); the
			 * tunnel closes once the server has the reason (or could not
			 * take it: consent_end_posted), so that the relay's view of a
			 * closed tunnel does not come first. A second call (after
			 * AGENT_STOP_REPORT_S) stops what is left. */
			agentaudit_log(c->conf, "agent", "session_end", "session %s: %s",
			               s->ev.session, SESSREC_REASON_STOPPED);
			snprintf(s->end_reason, sizeof(s->end_reason), "%s",
			         SESSREC_REASON_STOPPED);
			s->worker_ending = 1;
			consent_post_end(c, s->ev.session, SESSREC_REASON_STOPPED);
			continue;
		}
		if (s->worker_ending) {
			tunnel_stop(s->worker);
			visit_stop(s);
		}
	}
	if (c->listener != NULL) {
		evconnlistener_free(c->listener);
		c->listener = NULL;
		if (c->owns_path)
			unlink(c->conf->consent_socket);
	}
}

void consent_free(struct consent *c)
{
	if (c == NULL)
		return;
	consent_shutdown(c);
	while (c->sessions != NULL)
		consent_sess_remove(c, c->sessions);
	while (c->conns != NULL)
		consent_conn_free(c->conns);
	recup_free(c->rec);
	free(c);
}

void consent_kill_workers(struct consent *c)
{
	struct consent_sess *s, *next;
	int status;
	pid_t pid;

	for (s = c->sessions; s != NULL; s = next) {
		next = s->next;
		visit_kill(c, s);
		if ((pid = s->worker) <= 0)
			continue;
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) == pid)
			consent_on_worker_exit(c, pid, status);
	}
}

void consent_recover(struct consent *c)
{
	struct sessrec *r = calloc(SESSREC_MAX, sizeof(*r));
	size_t n = 0, i;

	if (r == NULL)
		return;
	if (sessrec_load(c->conf, SESSREC_LIVE_FILE, r, SESSREC_MAX, &n) != 0)
		log_error("cannot read %s: sessions of an earlier run may go unreported",
		          SESSREC_LIVE_FILE);
	for (i = 0; i < n; i++) {
		log_warn("session %s was live when the agent last stopped without ending it:"
		         " ended (%s)", r[i].id, SESSREC_REASON_RESTARTED);
		agentaudit_log(c->conf, "agent", "session_end", "session %s: %s", r[i].id,
		               SESSREC_REASON_RESTARTED);
		if (sessrec_end_add(c->conf, r[i].id, SESSREC_REASON_RESTARTED) != 0)
			log_error("session %s: cannot keep its end report on disk", r[i].id);
	}
	if (n > 0)
		(void)sessrec_store(c->conf, SESSREC_LIVE_FILE, NULL, 0);
	/* These and any an earlier run could not deliver: sent now. */
	if (sessrec_load(c->conf, SESSREC_ENDS_FILE, r, SESSREC_MAX, &n) == 0)
		for (i = 0; i < n; i++)
			consent_send_end(c, r[i].id, r[i].reason);
	free(r);
}

void consent_each_id(const struct consent *c, void (*fn)(const char *id, void *arg),
                     void *arg)
{
	const struct consent_sess *s;

	for (s = c->sessions; s != NULL; s = s->next)
		fn(s->ev.session, arg);
}

size_t consent_ending(const struct consent *c)
{
	return c->ends_inflight;
}
