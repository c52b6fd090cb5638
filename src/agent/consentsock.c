/* consentsock.c: the consent socket itself: peer credentials, one request
 * line per connection (consent_parse_line), LIST / ACCEPT / DENY / END /
 * STATUS / WATCH, and the watchers that get every change as a JSON line. */
#include "consent.h"
#include "consent_int.h"
#include "actenv.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "actenv.h"
#include "agentaudit.h"
#include "err.h"
#include "log.h"
#include "tunnel.h"

/* Every line on the socket is ASCII: a device UI or a terminal reading it
 * sees any non-ASCII character as a JSON escape (backslash, u, four hex
 * digits), never raw. */
#define CONSENTSOCK_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)

/* One JSON line (o stolen) to every watcher; a watcher that does not read
 * is dropped rather than let its backlog grow. */
void consent_notify(struct consent *c, json_t *o)
{
	struct consent_conn *cn, *next;
	struct evbuffer *out;
	char *line = o != NULL ? json_dumps(o, CONSENTSOCK_JSON_FLAGS) : NULL;

	json_decref(o);
	if (line == NULL)
		return;
	for (cn = c->conns; cn != NULL; cn = next) {
		next = cn->next;
		if (!cn->watching)
			continue;
		out = bufferevent_get_output(cn->bev);
		if (evbuffer_get_length(out) > CONSENT_WATCH_BACKLOG_BYTES) {
			log_warn("consent socket: %s does not read its watch; dropped", cn->who);
			consent_conn_free(cn);
			continue;
		}
		evbuffer_add_printf(out, "%s\n", line);
	}
	free(line);
}

void consent_set_activity_hooks(struct consent *c, const struct consent_activity_hooks *h)
{
	c->act = *h;
}

void consent_announce(struct consent *c, json_t *o)
{
	if (c == NULL) {
		json_decref(o);
		return;
	}
	consent_notify(c, o);
}

/* ---- the socket ------------------------------------------------------------ */

/* o (stolen) as one compact JSON line on out; nothing when o is NULL. */
static void consent_put_json(struct evbuffer *out, json_t *o)
{
	char *line = o != NULL ? json_dumps(o, CONSENTSOCK_JSON_FLAGS) : NULL;

	if (line != NULL)
		evbuffer_add_printf(out, "%s\n", line);
	free(line);
	json_decref(o);
}

void consent_conn_free(struct consent_conn *cn)
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
			if (cn->watching)
				c->nwatchers--;
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

void consent_conn_reply(struct consent_conn *cn, const char *fmt, ...)
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

/* The activity waiting for the operator, for LIST and WATCH. */
static void consent_put_activity(struct consent *c, struct evbuffer *out)
{
	json_t *o = c->act.pending != NULL ? c->act.pending(c->act.arg) : NULL;

	if (o != NULL)
		consent_put_json(out, o);
}

static void consent_list(struct consent *c, struct consent_conn *cn)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	struct consent_sess *s;
	time_t now = time(NULL);
	json_t *o, *svcs;
	size_t i;

	for (s = c->sessions; s != NULL; s = s->next) {
		svcs = json_array();
		for (i = 0; i < s->ev.nservices; i++)
			json_array_append_new(svcs, json_string(s->ev.services[i]));
		o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:s, s:s, s:I}",
		              "session", s->ev.session, "user", s->ev.user,
		              "level", (json_int_t)s->ev.level, "region", s->ev.region,
		              "reason", s->ev.reason, "services", svcs,
		              "actions", s->state == CS_ACTIVE && s->actions[0] ? s->actions
		                                                       : s->ev.actions,
		              "state", s->state == CS_ACTIVE ? "active" : "pending",
		              "expires_in_s",
		              (json_int_t)(s->deadline > now ? s->deadline - now : 0));
		consent_put_json(out, o);
	}
	consent_put_activity(c, out);
	consent_conn_reply(cn, "END\n");
}

static void consent_answer(struct consent *c, struct consent_conn *cn,
                           const struct consent_line *l)
{
	struct consent_sess *s = consent_find(c, l->id);
	enum consent_decision d = l->cmd == CONSENT_CMD_ACCEPT ? DEC_ACCEPT : DEC_DENY;

	if (s == NULL && actenv_id_ok(l->id) && c->act.answer != NULL) {
		if (c->act.answer(c->act.arg, cn->who, l->id, d == DEC_ACCEPT) == 0)
			consent_conn_reply(cn, d == DEC_ACCEPT ? "OK accepted\n" : "OK denied\n");
		else
			consent_conn_reply(cn, "ERR no activity %s is waiting for you\n", l->id);
		return;
	}
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
	snprintf(s->end_reason, sizeof(s->end_reason), "ended by the operator");
	if (!s->worker_ending) {
		/* The whole visit: every connection goes, not only the first. */
		consent_post_end(c, s->ev.session, "ended by the operator");
		(void)consent_sess_stop(c, s);
	}
	consent_conn_reply(cn, "OK ended\n");
}

static void consent_status(struct consent *c, struct consent_conn *cn)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	struct consent_sess *s;
	json_t *o;

	for (s = c->sessions; s != NULL; s = s->next) {
		if (s->state != CS_ACTIVE)
			continue;
		o = consent_active_event(s, "session_active");
		json_object_del(o, "event");
		consent_put_json(out, o);
	}
	consent_conn_reply(cn, "END\n");
}

/* WATCH: "OK watching", the current state as events, then every change. */
static void consent_watch(struct consent *c, struct consent_conn *cn)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	struct consent_sess *s;

	if (c->nwatchers >= CONSENT_MAX_WATCHERS) {
		log_warn("consent socket: %s wants to watch; %d watchers already",
		         cn->who, CONSENT_MAX_WATCHERS);
		consent_conn_reply(cn, "ERR too many watchers (at most %d)\n",
		                   CONSENT_MAX_WATCHERS);
		return;
	}
	cn->watching = 1;
	c->nwatchers++;
	/* A watcher stays as long as it likes; only its EOF ends it. */
	bufferevent_set_timeouts(cn->bev, NULL, NULL);
	evbuffer_add_printf(out, "OK watching\n");
	for (s = c->sessions; s != NULL; s = s->next)
		consent_put_json(out, s->state == CS_ACTIVE
		                      ? consent_active_event(s, "session_active")
		                      : consent_pending_event(s));
	consent_put_activity(c, out);
}

static void consent_handle(struct consent_conn *cn, const char *line, size_t len)
{
	struct consent_line l;

	if (consent_parse_line(line, len, &l) != 0) {
		/* The line itself is not logged: it may hold anything. */
		log_warn("consent socket: malformed request (%zu bytes) from %s", len, cn->who);
		consent_conn_reply(cn, "ERR malformed request (expected LIST, STATUS, "
		                   "WATCH, ACCEPT ID, DENY ID or END ID)\n");
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
	case CONSENT_CMD_STATUS:
		consent_status(cn->c, cn);
		break;
	case CONSENT_CMD_WATCH:
		consent_watch(cn->c, cn);
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

	if (cn->watching) {
		/* A watcher has said all it may say: drop what it sends. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
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

/* Root, the agent's own uid, or a member of consent_group; never the
 * support user, whose uid every shell, diagnostic and SFTP server runs as. */
static int consent_peer_allowed(const struct agent_conf *conf, uid_t uid, gid_t gid)
{
	struct group *gr;
	struct passwd *pw;

	if ((pw = getpwnam(conf->support_user)) != NULL && pw->pw_uid == uid)
		return 0;
	if (uid == 0 || uid == getuid())
		return 1;
	/* The peer's own gid first: it may be in the group with no passwd entry. */
	if (conf->consent_group[0] != '\0' && (gr = getgrnam(conf->consent_group)) != NULL &&
	    gid == gr->gr_gid)
		return 1;
	return (pw = getpwuid(uid)) != NULL && agentconf_user_in_group(pw, conf->consent_group);
}

void consent_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
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

/* The socket belongs to whoever made it (root, the monitor, when started as
 * root) and to consent_group: 0660 with a group, 0600 without. The network
 * part accepts on the descriptor it inherits and checks every peer. */
static int consent_socket_owner(const struct agent_conf *conf, const char *path)
{
	struct group *gr;

	if (conf->consent_group[0] == '\0')
		return chmod(path, 0600) == 0 ? 0 : TE_ERR_SYS;
	if ((gr = getgrnam(conf->consent_group)) == NULL) {
		log_error("consent socket: no such group %s", conf->consent_group);
		return TE_ERR_NOT_FOUND;
	}
	if (chown(path, (uid_t)-1, gr->gr_gid) != 0 || chmod(path, 0660) != 0) {
		log_error("consent socket: cannot give it to group %s: %s",
		          conf->consent_group, strerror(errno));
		return TE_ERR_SYS;
	}
	return 0;
}

int consent_socket_open(const struct agent_conf *conf, int *out)
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
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0 || listen(fd, 8) != 0) {
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
