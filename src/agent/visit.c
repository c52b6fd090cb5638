/* visit.c: a visit's later connections on the device (visit.h). */
#include "visit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentaudit.h"
#include "clockoff.h"
#include "consent_int.h"
#include "err.h"
#include "log.h"
#include "secret.h"
#include "tunnel.h"

/* Copy a string member of o into dst (bounded, not empty); 0 or -1. */
static int visit_str(const json_t *o, const char *key, char *dst, size_t dstsz)
{
	const json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v) || (n = json_string_length(v)) == 0 || n >= dstsz ||
	    strlen(json_string_value(v)) != n)
		return -1;
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

int visit_event_parse(const json_t *ev, struct visit_event *out)
{
	const json_t *relay = json_object_get(ev, "relay");
	const json_t *conn = json_object_get(ev, "conn");
	const json_t *port = json_object_get(relay, "device_port");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(ev) || !json_is_object(relay) ||
	    visit_str(ev, "session", out->session, sizeof(out->session)) != 0 ||
	    !consent_id_ok(out->session) ||
	    visit_str(ev, "ticket", out->ticket, sizeof(out->ticket)) != 0 ||
	    visit_str(relay, "name", out->relay_name, sizeof(out->relay_name)) != 0 ||
	    visit_str(relay, "host", out->relay_host, sizeof(out->relay_host)) != 0 ||
	    !json_is_integer(conn) || json_integer_value(conn) < 1 ||
	    json_integer_value(conn) > TICKET_MAX_CONN || !json_is_integer(port) ||
	    json_integer_value(port) < 1 || json_integer_value(port) > 65535) {
		memset(out, 0, sizeof(*out));
		return TE_ERR_INVALID;
	}
	out->conn = json_integer_value(conn);
	snprintf(out->relay_port, sizeof(out->relay_port), "%d", (int)json_integer_value(port));
	return 0;
}

/* A later worker's notify pipe: the proof byte marks the session proven;
 * a limit byte goes to consent_limit, as the first worker's do. */
static void visit_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consent_sess *s = arg;
	char code;
	ssize_t n = read(fd, &code, 1);
	size_t i;

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (i = 0; i < VISIT_MAX_CONNS; i++)
		if (s->conn_ev[i] != NULL && s->conn_fd[i] == fd)
			break;
	if (i == VISIT_MAX_CONNS)
		return;
	if (n != 1) {
		event_del(s->conn_ev[i]);   /* the worker is gone */
		return;
	}
	if (code == VISIT_PROOF_BYTE)
		s->proven = 1;
	else
		consent_limit(s, s->conn_pid[i], code);   /* may stop s's workers */
}

static void visit_slot_clear(struct consent_sess *s, size_t i)
{
	if (s->conn_ev[i] != NULL)
		event_free(s->conn_ev[i]);
	if (s->conn_pid[i] > 0 && s->conn_fd[i] >= 0)
		close(s->conn_fd[i]);
	s->conn_ev[i] = NULL;
	s->conn_fd[i] = -1;
	s->conn_pid[i] = 0;
	s->conn_no[i] = 0;
}

/* Verify the device-leg ticket of connection conn of s; 0 or why. */
static int visit_verify(struct consent *c, struct consent_sess *s, int64_t conn,
                        const char *relay_name, struct tunnel_spec *spec, char *why,
                        size_t whysz)
{
	int rc;

	rc = ticket_verify(spec->ticket, strlen(spec->ticket), c->ticket_pub, clockoff_now(),
	                   &spec->verified);
	if (rc == 0)
		rc = ticket_check_binding(&spec->verified, TICKET_LEG_DEVICE, relay_name,
		                          c->conf->serial);
	if (rc == 0 && (strcmp(spec->verified.session, s->ev.session) != 0 ||
	                spec->verified.conn != conn || conn <= 0))
		rc = TE_ERR_MISMATCH;
	if (rc != 0)
		snprintf(why, whysz, "ticket rejected: %s", te_strerror(rc));
	return rc;
}

void visit_on_connect(struct consent *c, const char *session, int64_t conn,
                      const char *ticket, const char *relay_name, const char *host,
                      const char *port)
{
	struct consent_sess *s = consent_find(c, session);
	struct tunnel_spec *spec = NULL;
	char why[160] = "";
	size_t i, slot = VISIT_MAX_CONNS;
	pid_t pid;
	int nfd = -1;

	if (s == NULL || s->state != CS_ACTIVE || s->worker_ending) {
		snprintf(why, sizeof(why), "the session is not open on this device");
		goto refuse;
	}
	for (i = 0; i < VISIT_MAX_CONNS; i++)
		if (s->conn_pid[i] <= 0) {
			slot = i;
			break;
		}
	if (slot == VISIT_MAX_CONNS) {
		snprintf(why, sizeof(why), "%d connections of this session are open already",
		         VISIT_MAX_CONNS + 1);
		goto refuse;
	}
	if ((spec = calloc(1, sizeof(*spec))) == NULL ||
	    strlen(ticket) >= sizeof(spec->ticket) || strlen(host) >= sizeof(spec->relay_host) ||
	    strlen(port) >= sizeof(spec->relay_port)) {
		snprintf(why, sizeof(why), "the connection's ticket or relay is too long");
		goto refuse;
	}
	memcpy(spec->ticket, ticket, strlen(ticket) + 1);
	memcpy(spec->relay_host, host, strlen(host) + 1);
	memcpy(spec->relay_port, port, strlen(port) + 1);
	snprintf(spec->session, sizeof(spec->session), "%s", session);
	if (visit_verify(c, s, conn, relay_name, spec, why, sizeof(why)) != 0)
		goto refuse;
	spec->proven = s->proven;
	if (tunnel_start(c->conf, spec, &pid, &nfd) != 0) {
		snprintf(why, sizeof(why), "cannot start the tunnel worker");
		goto refuse;
	}
	s->conn_pid[slot] = pid;
	s->conn_no[slot] = conn;
	s->conn_fd[slot] = nfd;
	if (s->empty_ev != NULL)
		evtimer_del(s->empty_ev);      /* a connection is open again */
	s->conn_ev[slot] = event_new(c->base, nfd, EV_READ | EV_PERSIST, visit_notify_cb, s);
	if (s->conn_ev[slot] == NULL || event_add(s->conn_ev[slot], NULL) != 0)
		log_warn("session %s connection %lld: its proof will not be seen", session,
		         (long long)conn);
	log_info("session %s: connection %lld through relay %s (worker %ld%s)", session,
	         (long long)conn, relay_name, (long)pid,
	         spec->proven ? ", support password already given" : "");
	if (agentaudit_log(c->conf, "agent", "tunnel_start",
	                   "session %s conn %lld user %s relay %s at %s:%s actions %s worker %ld"
	                   " proven %s", session, (long long)conn, spec->verified.user,
	                   relay_name, host, port, spec->verified.actions, (long)pid,
	                   spec->proven ? "yes" : "no") != 0)
		tunnel_stop(pid);    /* no connection without a trail */
	goto out;
refuse:
	log_warn("session %s: connection %lld refused: %s", session, (long long)conn, why);
	agentaudit_log(c->conf, "agent", "connection_refused", "session %s conn %lld: %s",
	               session, (long long)conn, why);
out:
	if (spec != NULL)
		secret_wipe(spec, sizeof(*spec));
	free(spec);
}

struct consent_sess *visit_on_exit(struct consent *c, pid_t pid, int status)
{
	struct consent_sess *s;
	size_t i;

	for (s = c->sessions; s != NULL; s = s->next) {
		for (i = 0; i < VISIT_MAX_CONNS; i++) {
			if (s->conn_pid[i] != pid)
				continue;
			log_info("session %s: connection %lld (worker %ld) ended, status %d",
			         s->ev.session, (long long)s->conn_no[i], (long)pid, status);
			agentaudit_log(c->conf, "agent", "tunnel_end", "session %s conn %lld worker"
			               " %ld: status %d", s->ev.session, (long long)s->conn_no[i],
			               (long)pid, status);
			visit_slot_clear(s, i);
			return s;
		}
	}
	return NULL;
}

void visit_stop(struct consent_sess *s)
{
	size_t i;

	for (i = 0; i < VISIT_MAX_CONNS; i++)
		if (s->conn_pid[i] > 0)
			tunnel_stop(s->conn_pid[i]);
}

void visit_kill(struct consent *c, struct consent_sess *s)
{
	size_t i;
	int status;
	pid_t pid;

	for (i = 0; i < VISIT_MAX_CONNS; i++) {
		if ((pid = s->conn_pid[i]) <= 0)
			continue;
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) == pid)
			(void)visit_on_exit(c, pid, status);
	}
}

void visit_forget(struct consent_sess *s)
{
	size_t i;

	visit_stop(s);
	for (i = 0; i < VISIT_MAX_CONNS; i++)
		if (s->conn_pid[i] > 0)
			visit_slot_clear(s, i);
}

size_t visit_workers(const struct consent_sess *s)
{
	size_t i, n = 0;

	for (i = 0; i < VISIT_MAX_CONNS; i++)
		if (s->conn_pid[i] > 0)
			n++;
	return n;
}
