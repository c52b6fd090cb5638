/* consent.c: consent socket server, pending/active session table.
 *
 * Sessions move pending -> (answer in flight) -> active -> gone. Each
 * decision is audited. Ids already answered are remembered for a while so
 * that a session_request the server repeats (it repeats it until answered)
 * is never put to the operator twice. */
#include "consent.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "agentaudit.h"
#include "err.h"
#include "log.h"
#include "rbuf.h"
#include "secret.h"
#include "ticket.h"
#include "tunnel.h"

#define CONSENT_MAX_SESSIONS   8
#define CONSENT_MAX_CONNS      16
#define CONSENT_DONE_RING      32
#define CONSENT_CONN_TIMEOUT_S 10

enum consent_state { CS_PENDING = 1, CS_ANSWERING, CS_ACTIVE };

struct consent_conn;

struct consent_sess {
	struct consent_sess *next;
	struct consent *c;
	struct consent_event ev;
	enum consent_state state;
	time_t deadline;           /* pending: consent timeout; active: max duration */
	struct event *timer;
	pid_t worker;
	struct consent_conn *waiter; /* operator waiting for the server's answer */
	int worker_ending;         /* stop requested; no session-end report */
};

struct consent_conn {
	struct consent_conn *next;
	struct consent *c;
	struct bufferevent *bev;
	char who[MAX_NAME_BYTES + 16];
	int waiting;               /* an answer depends on a server round trip */
	int closing;               /* reply queued; free once flushed */
};

struct consent {
	struct event_base *base;
	const struct agent_conf *conf;
	struct apiq *api;
	EVP_PKEY *ticket_pub;
	struct evconnlistener *listener;
	struct consent_sess *sessions;
	struct consent_conn *conns;
	size_t nconns;
	char done[CONSENT_DONE_RING][MAX_NAME_BYTES];
	size_t done_next;
};

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
		if (strcmp(line, "LIST") != 0)
			return TE_ERR_INVALID;
		out->cmd = CONSENT_CMD_LIST;
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
	svcs = json_object_get(o, "services");
	if (svcs != NULL && !json_is_array(svcs))
		return TE_ERR_INVALID;
	json_array_foreach(svcs, i, v) {
		if (ev->nservices >= MAX_SERVICES || !json_is_string(v) ||
		    json_string_length(v) >= MAX_NAME_BYTES)
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

static struct consent_sess *consent_find(struct consent *c, const char *id)
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

static void consent_conn_reply(struct consent_conn *cn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Unlink and free a session; remember its id. */
static void consent_sess_remove(struct consent *c, struct consent_sess *s)
{
	struct consent_sess **pp;

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
	if (s->timer != NULL)
		event_free(s->timer);
	free(s);
}

static char *consent_body(const char *session, const char *key, const char *value)
{
	json_t *o = json_pack("{s:s, s:s}", "session", session, key, value);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

static void consent_post_end(struct consent *c, const char *session,
                             const char *reason)
{
	char *body = consent_body(session, "reason", reason);

	if (body == NULL || apiq_post(c->api, "/api/v1/device/session-end", body,
	                              NULL, NULL) != 0)
		log_error("session %s: cannot report its end to the server", session);
	free(body);
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

enum consent_decision { DEC_ACCEPT = 1, DEC_DENY, DEC_TIMEOUT };

struct consent_op {
	struct consent *c;
	char id[MAX_NAME_BYTES];
	enum consent_decision decision;
};

static const char *consent_decision_name(enum consent_decision d)
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

/* Parse the accept answer, verify the ticket, fork the worker. */
static int consent_start_tunnel(struct consent_sess *s, const char *body,
                                size_t len, char *why, size_t whysz)
{
	struct consent *c = s->c;
	struct tunnel_spec *spec = NULL;
	json_t *o = NULL, *relay, *port;
	char relay_name[MAX_NAME_BYTES];
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
	rc = ticket_verify(spec->ticket, strlen(spec->ticket), c->ticket_pub,
	                   (int64_t)time(NULL), &spec->verified);
	if (rc == 0)
		rc = ticket_check_binding(&spec->verified, TICKET_LEG_DEVICE,
		                          relay_name, c->conf->serial);
	if (rc == 0 && strcmp(spec->verified.session, s->ev.session) != 0)
		rc = TE_ERR_MISMATCH;
	if (rc != 0) {
		snprintf(why, whysz, "ticket rejected: %s", te_strerror(rc));
		agentaudit_log(c->conf, "agent", "ticket_rejected", "session %s: %s",
		               s->ev.session, te_strerror(rc));
		goto out;
	}
	if ((rc = tunnel_start(c->conf, spec, &s->worker)) != 0) {
		snprintf(why, whysz, "cannot start the tunnel worker: %s", te_strerror(rc));
		goto out;
	}
	agentaudit_log(c->conf, "agent", "tunnel_start",
	               "session %s user %s relay %s at %s:%s actions %s worker %ld",
	               s->ev.session, spec->verified.user, relay_name,
	               spec->relay_host, spec->relay_port, spec->verified.actions,
	               (long)s->worker);
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
		consent_sess_remove(c, s);
		return;
	}
	if (status == 200) {
		if (consent_start_tunnel(s, body, len, why, sizeof(why)) == 0) {
			s->state = CS_ACTIVE;
			consent_arm(s, SESSION_MAX_S);
			if (w != NULL)
				consent_conn_reply(w, "OK accepted\n");
			return;
		}
		log_error("session %s: %s", s->ev.session, why);
		if (w != NULL)
			consent_conn_reply(w, "ERR %s\n", why);
		consent_post_end(c, s->ev.session, why);
		consent_sess_remove(c, s);
		return;
	}
	if (status == 409 || status == 404) {
		if (w != NULL)
			consent_conn_reply(w, "ERR the server no longer awaits consent "
			                   "for session %s\n", s->ev.session);
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

static int consent_send(struct consent *c, const char *id,
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
		tunnel_stop(s->worker);
		return;   /* removed when the worker is reaped */
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
	consent_sess_remove(c, s);
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
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return;
	s->c = c;
	s->ev = *ev;
	s->state = CS_PENDING;
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
	consent_services_text(ev, svcs, sizeof(svcs));
	log_info("session %s: %s (level %ld, %s) asks for a session: %s; services %s; "
	         "answer within %ld s", ev->session, ev->user, ev->level, ev->region,
	         ev->reason, svcs, timeout);
	agentaudit_log(c->conf, ev->user, "session_request",
	               "session %s level %ld region %s reason \"%s\" services %s",
	               ev->session, ev->level, ev->region, ev->reason, svcs);
}

void consent_on_session_end(struct consent *c, const char *session,
                            const char *reason)
{
	struct consent_sess *s = consent_find(c, session);

	if (s == NULL)
		return;
	agentaudit_log(c->conf, "server", "session_end", "session %s: %s", session,
	               reason != NULL ? reason : "");
	if (s->state == CS_ACTIVE && s->worker > 0) {
		s->worker_ending = 1;
		tunnel_stop(s->worker);
		return;
	}
	consent_sess_remove(c, s);
}

void consent_on_worker_exit(struct consent *c, pid_t pid, int status)
{
	struct consent_sess *s;
	char what[64];

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
	log_info("session %s: tunnel worker %ld ended (%s)", s->ev.session,
	         (long)pid, what);
	agentaudit_log(c->conf, "agent", "tunnel_end", "session %s worker %ld: %s",
	               s->ev.session, (long)pid, what);
	if (!s->worker_ending)
		consent_post_end(c, s->ev.session, "tunnel closed");
	s->worker = 0;
	consent_sess_remove(c, s);
}

size_t consent_workers(const struct consent *c)
{
	const struct consent_sess *s;
	size_t n = 0;

	for (s = c->sessions; s != NULL; s = s->next)
		if (s->worker > 0)
			n++;
	return n;
}

/* ---- the socket ------------------------------------------------------------ */

static void consent_conn_free(struct consent_conn *cn)
{
	struct consent *c = cn->c;
	struct consent_conn **pp;
	struct consent_sess *s;

	for (s = c->sessions; s != NULL; s = s->next)
		if (s->waiter == cn)
			s->waiter = NULL;
	for (pp = &c->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == cn) {
			*pp = cn->next;
			c->nconns--;
			break;
		}
	}
	if (cn->bev != NULL)
		bufferevent_free(cn->bev);
	free(cn);
}

static void consent_conn_flushed(struct bufferevent *bev, void *arg)
{
	struct consent_conn *cn = arg;

	if (cn->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		consent_conn_free(cn);
}

static void consent_conn_reply(struct consent_conn *cn, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	cn->closing = 1;
	cn->waiting = 0;
	bufferevent_disable(cn->bev, EV_READ);
}

static void consent_list(struct consent *c, struct consent_conn *cn)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	struct consent_sess *s;
	time_t now = time(NULL);
	json_t *o, *svcs;
	size_t i;
	char *line;

	for (s = c->sessions; s != NULL; s = s->next) {
		svcs = json_array();
		for (i = 0; i < s->ev.nservices; i++)
			json_array_append_new(svcs, json_string(s->ev.services[i]));
		o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:s, s:I}",
		              "session", s->ev.session, "user", s->ev.user,
		              "level", (json_int_t)s->ev.level, "region", s->ev.region,
		              "reason", s->ev.reason, "services", svcs,
		              "state", s->state == CS_ACTIVE ? "active" : "pending",
		              "expires_in_s",
		              (json_int_t)(s->deadline > now ? s->deadline - now : 0));
		line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		if (line != NULL)
			evbuffer_add_printf(out, "%s\n", line);
		free(line);
		json_decref(o);
	}
	consent_conn_reply(cn, "END\n");
}

static void consent_answer(struct consent *c, struct consent_conn *cn,
                           const struct consent_line *l)
{
	struct consent_sess *s = consent_find(c, l->id);
	enum consent_decision d = l->cmd == CONSENT_CMD_ACCEPT ? DEC_ACCEPT : DEC_DENY;

	if (s == NULL || s->state == CS_ACTIVE) {
		log_warn("consent socket: %s answered session %s, which is not pending",
		         cn->who, l->id);
		consent_conn_reply(cn, "ERR no pending session %s\n", l->id);
		return;
	}
	if (s->state == CS_ANSWERING) {
		consent_conn_reply(cn, "ERR session %s is already being answered\n", l->id);
		return;
	}
	agentaudit_log(c->conf, cn->who, "consent",
	               "session %s user %s decision %s", s->ev.session, s->ev.user,
	               consent_decision_name(d));
	if (consent_send(c, s->ev.session, d) != 0) {
		consent_conn_reply(cn, "ERR cannot send the answer to the server; try again\n");
		return;
	}
	s->state = CS_ANSWERING;
	s->waiter = cn;
	cn->waiting = 1;
	bufferevent_disable(cn->bev, EV_READ);
}

static void consent_end(struct consent *c, struct consent_conn *cn,
                        const struct consent_line *l)
{
	struct consent_sess *s = consent_find(c, l->id);

	if (s == NULL || s->state != CS_ACTIVE) {
		log_warn("consent socket: %s asked to end session %s, which is not active",
		         cn->who, l->id);
		consent_conn_reply(cn, "ERR session %s is not active (use DENY for a "
		                   "pending request)\n", l->id);
		return;
	}
	agentaudit_log(c->conf, cn->who, "session_end",
	               "session %s ended by the operator", s->ev.session);
	if (!s->worker_ending) {
		s->worker_ending = 1;
		tunnel_stop(s->worker);
		consent_post_end(c, s->ev.session, "ended by the operator");
	}
	consent_conn_reply(cn, "OK ended\n");
}

static void consent_handle(struct consent_conn *cn, const char *line, size_t len)
{
	struct consent_line l;

	if (consent_parse_line(line, len, &l) != 0) {
		/* The line itself is not logged: it may hold anything. */
		log_warn("consent socket: malformed request (%zu bytes) from %s", len, cn->who);
		consent_conn_reply(cn, "ERR malformed request (expected LIST, ACCEPT ID, "
		                   "DENY ID or END ID)\n");
		return;
	}
	switch (l.cmd) {
	case CONSENT_CMD_LIST:
		consent_list(cn->c, cn);
		break;
	case CONSENT_CMD_ACCEPT:
	case CONSENT_CMD_DENY:
		consent_answer(cn->c, cn, &l);
		break;
	case CONSENT_CMD_END:
		consent_end(cn->c, cn, &l);
		break;
	}
}

static void consent_conn_read(struct bufferevent *bev, void *arg)
{
	struct consent_conn *cn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr p;
	char line[MAX_CONSENT_LINE_BYTES];
	size_t n;

	if (cn->closing || cn->waiting)
		return;
	p = evbuffer_search(in, "\n", 1, NULL);
	n = p.pos < 0 ? evbuffer_get_length(in) : (size_t)p.pos + 1;
	if (p.pos < 0 && n < MAX_CONSENT_LINE_BYTES)
		return;     /* wait for the rest of the line */
	if (n > sizeof(line) || p.pos < 0) {
		log_warn("consent socket: request from %s longer than %d bytes",
		         cn->who, MAX_CONSENT_LINE_BYTES);
		consent_conn_reply(cn, "ERR request longer than %d bytes\n",
		                   MAX_CONSENT_LINE_BYTES);
		return;
	}
	evbuffer_remove(in, line, n);
	consent_handle(cn, line, n);
}

static void consent_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct consent_conn *cn = arg;

	/* EOF, error or timeout: an operator waiting for an answer has left;
	 * the decision itself still goes through. */
	consent_conn_free(cn);
}

/* Root, the agent's own uid, or a member of consent_group. */
static int consent_peer_allowed(const struct agent_conf *conf, uid_t uid, gid_t gid)
{
	struct group *gr;
	struct passwd *pw;
	char **m;

	if (uid == 0 || uid == getuid())
		return 1;
	if (conf->consent_group[0] == '\0' || (gr = getgrnam(conf->consent_group)) == NULL)
		return 0;
	if (gid == gr->gr_gid)
		return 1;
	if ((pw = getpwuid(uid)) == NULL)
		return 0;
	if (pw->pw_gid == gr->gr_gid)
		return 1;
	for (m = gr->gr_mem; *m != NULL; m++)
		if (strcmp(*m, pw->pw_name) == 0)
			return 1;
	return 0;
}

static void consent_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
                              struct sockaddr *sa, int salen, void *arg)
{
	static const char denied[] = "ERR not permitted\n";
	static const char busy[] = "ERR busy; try again\n";
	struct consent *c = arg;
	struct consent_conn *cn = NULL;
	struct ucred cred = { 0, 0, 0 };   /* logged even if getsockopt fails */
	socklen_t clen = sizeof(cred);
	struct timeval tv = { CONSENT_CONN_TIMEOUT_S, 0 };

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    !consent_peer_allowed(c->conf, cred.uid, cred.gid)) {
		(void)!send(fd, denied, sizeof(denied) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		log_warn("consent socket: refused uid %ld pid %ld", (long)cred.uid,
		         (long)cred.pid);
		agentaudit_log(c->conf, "agent", "consent_peer_refused",
		               "uid %ld gid %ld pid %ld is not permitted", (long)cred.uid,
		               (long)cred.gid, (long)cred.pid);
		close(fd);
		return;
	}
	if (c->nconns >= CONSENT_MAX_CONNS || (cn = calloc(1, sizeof(*cn))) == NULL) {
		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	cn->c = c;
	snprintf(cn->who, sizeof(cn->who), "operator uid %ld", (long)cred.uid);
	cn->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cn->bev == NULL) {
		close(fd);
		free(cn);
		return;
	}
	cn->next = c->conns;
	c->conns = cn;
	c->nconns++;
	bufferevent_setcb(cn->bev, consent_conn_read, consent_conn_flushed,
	                  consent_conn_event, cn);
	bufferevent_set_timeouts(cn->bev, &tv, NULL);
	bufferevent_setwatermark(cn->bev, EV_READ, 0, MAX_CONSENT_LINE_BYTES);
	bufferevent_enable(cn->bev, EV_READ | EV_WRITE);
}

/* Give the socket to the user the agent drops to (so that the agent's own
 * uid may use it, as the protocol promises) and to consent_group. */
static int consent_socket_owner(const struct agent_conf *conf, const char *path)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw;
	struct group *gr;

	if (geteuid() == 0 && conf->user[0] != '\0') {
		if ((pw = getpwnam(conf->user)) == NULL) {
			log_error("consent socket: no such user %s", conf->user);
			return TE_ERR_NOT_FOUND;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (conf->consent_group[0] != '\0') {
		if ((gr = getgrnam(conf->consent_group)) == NULL) {
			log_error("consent socket: no such group %s", conf->consent_group);
			return TE_ERR_NOT_FOUND;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) {
		log_error("consent socket: cannot give it to %s%s%s: %s",
		          conf->user[0] ? conf->user : "-", conf->consent_group[0] ? ":" : "",
		          conf->consent_group, strerror(errno));
		return TE_ERR_SYS;
	}
	return 0;
}

static int consent_socket_open(const struct agent_conf *conf, int *out)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(conf->consent_socket) >= sizeof(sun.sun_path))
		return TE_ERR_TOO_LONG;
	memcpy(sun.sun_path, conf->consent_socket, strlen(conf->consent_socket) + 1);
	/* A socket left by a crashed agent would make bind fail; remove only a
	 * socket, never a regular file someone put there. */
	if (lstat(sun.sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return TE_ERR_EXISTS;
		unlink(sun.sun_path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return TE_ERR_SYS;
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0 || chmod(sun.sun_path, 0660) != 0 || listen(fd, 8) != 0) {
		close(fd);
		return TE_ERR_SYS;
	}
	if ((rc = consent_socket_owner(conf, sun.sun_path)) != 0) {
		close(fd);
		unlink(sun.sun_path);
		return rc;
	}
	*out = fd;
	return 0;
}

int consent_new(struct event_base *base, const struct agent_conf *conf,
                struct apiq *api, EVP_PKEY *ticket_pub, struct consent **out)
{
	struct consent *c;
	int fd = -1, rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TE_ERR_NOMEM;
	c->base = base;
	c->conf = conf;
	c->api = api;
	c->ticket_pub = ticket_pub;
	if ((rc = consent_socket_open(conf, &fd)) != 0) {
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
	for (s = c->sessions; s != NULL; s = s->next) {
		if (s->worker > 0) {
			s->worker_ending = 1;
			tunnel_stop(s->worker);
		}
	}
	if (c->listener != NULL) {
		evconnlistener_free(c->listener);
		c->listener = NULL;
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
	free(c);
}

void consent_kill_workers(struct consent *c)
{
	struct consent_sess *s, *next;
	int status;
	pid_t pid;

	for (s = c->sessions; s != NULL; s = next) {
		next = s->next;
		if ((pid = s->worker) <= 0)
			continue;
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) == pid)
			consent_on_worker_exit(c, pid, status);
	}
}
