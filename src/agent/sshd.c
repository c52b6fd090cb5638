/* sshd.c: libssh server on a socketpair, password auth, the ticket's channels.
 *
 * One thread, one ssh_event: the SSH session, every forwarded TCP socket and
 * every shell's PTY and diagnostic's pipe are polled together. Forward data
 * goes straight to the service socket (a data callback); session channels
 * (shell, diagnostic, SFTP) live in sshsession.c. Channels are only freed
 * after ssh_event_dopoll returns, never inside a callback. The loop also
 * enforces the ticket's end and idle limits. */
#include "sshd.h"
#include "sshd_int.h"
#include "visit.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <jansson.h>

#include "agentaudit.h"
#include "clockoff.h"
#include "diag.h"
#include "err.h"
#include "log.h"
#include "sftpd.h"
#include "shell.h"
#include "support.h"

#define SSHD_POLL_MS      1000
#define SSHD_KICK_FLUSH_MS 2000
#define SSHD_CONNECT_TIMEOUT_S 5

static volatile sig_atomic_t sshd_stop_requested;
static volatile sig_atomic_t sshd_in_loop;

int sshd_request_stop(void)
{
	sshd_stop_requested = 1;
	return sshd_in_loop;
}

int sshd_forward_allowed(const struct agent_conf *conf, const struct ticket *t,
                         const char *host, int port,
                         const struct agent_service **svc)
{
	char action[MAX_NAME_BYTES + 16];
	size_t i;

	*svc = NULL;
	if (host == NULL || (strcmp(host, "127.0.0.1") != 0 &&
	                     strcmp(host, "localhost") != 0))
		return TE_ERR_NOT_FOUND;
	for (i = 0; i < conf->nservices; i++) {
		if (conf->services[i].port != port)
			continue;
		snprintf(action, sizeof(action), "forward:%s", conf->services[i].name);
		if (!ticket_allows(t, action))
			return TE_ERR_DENIED;
		*svc = &conf->services[i];
		return 0;
	}
	return TE_ERR_NOT_FOUND;
}

/* ---- data pumps ----------------------------------------------------------- */

static int sshd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return TE_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sshd_chan_data(ssh_session session, ssh_channel channel, void *data,
                          uint32_t len, int is_stderr, void *userdata)
{
	struct sshd_chan *c = userdata;

	if (c->dead || c->fd < 0 || c->svc_wr_broken)
		return (int)len;
	/* A service that stops reading may still be sending its answer: keep
	 * the other direction going and drop what it will not take. */
	if (sshd_write_all(c->fd, data, len) != 0) {
		c->svc_wr_broken = 1;
		shutdown(c->fd, SHUT_WR);
		return (int)len;
	}
	c->to_svc += len;
	c->d->last_io = (int64_t)time(NULL);
	return (int)len;
}

static void sshd_chan_eof(ssh_session session, ssh_channel channel, void *userdata)
{
	struct sshd_chan *c = userdata;

	c->client_eof = 1;
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_WR);
	if (c->svc_eof)
		c->dead = 1;
}

static void sshd_chan_closed(ssh_session session, ssh_channel channel, void *userdata)
{
	struct sshd_chan *c = userdata;

	c->dead = 1;
}

int sshd_chan_start(struct sshd *d, struct sshd_chan *c, ssh_message msg)
{
	if ((c->ch = ssh_message_channel_request_open_reply_accept(msg)) == NULL)
		return -1;
	ssh_callbacks_init(&c->cb);
	c->cb.userdata = c;
	c->cb.channel_close_function = sshd_chan_closed;
	ssh_set_channel_callbacks(c->ch, &c->cb);
	c->next = d->chans;
	d->chans = c;
	d->nchans++;
	return 0;
}

static int sshd_fd_readable(socket_t fd, int revents, void *userdata)
{
	struct sshd_chan *c = userdata;
	char buf[SSHD_IO_BYTES];
	ssize_t n;

	if (c->dead)
		return 0;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		/* The service finished: pass EOF on, stop polling the socket. */
		ssh_channel_send_eof(c->ch);
		ssh_event_remove_fd(c->d->event, c->fd);
		c->fd_polled = 0;
		c->svc_eof = 1;
		if (n < 0 || c->client_eof || c->svc_wr_broken ||
		    ssh_channel_is_eof(c->ch))
			c->dead = 1;
		return 0;
	}
	if (ssh_channel_write(c->ch, buf, (uint32_t)n) != n) {
		c->dead = 1;
		return 0;
	}
	c->from_svc += (unsigned long long)n;
	c->d->last_io = (int64_t)time(NULL);
	return 0;
}

static void sshd_chan_free(struct sshd *d, struct sshd_chan *c)
{
	if (c->fd_polled)
		ssh_event_remove_fd(d->event, c->fd);
	c->fd_polled = 0;
	if (c->kind == SSHD_SESSION)
		sshd_session_stop(d, c);      /* audits what ran; owns c->fd */
	else if (c->fd >= 0)
		close(c->fd);
	if (c->ch != NULL) {
		ssh_remove_channel_callbacks(c->ch, &c->cb);
		if (ssh_channel_is_open(c->ch))
			ssh_channel_close(c->ch);
		ssh_channel_free(c->ch);
	}
	if (c->kind == SSHD_FORWARD)
		agentaudit_log(d->conf, d->actor, "channel_close",
		               "session %s service %s (%s) bytes to_service %llu "
		               "from_service %llu", d->t->session, c->svc, c->dest,
		               c->to_svc, c->from_svc);
	else
		agentaudit_log(d->conf, d->actor, "channel_close",
		               "session %s session channel %u", d->t->session, c->no);
	d->nchans--;
	free(c);
}

static void sshd_sweep(struct sshd *d, int all)
{
	struct sshd_chan **pp = &d->chans, *c;

	while ((c = *pp) != NULL) {
		if (all || c->dead) {
			*pp = c->next;
			sshd_chan_free(d, c);
		} else {
			pp = &c->next;
		}
	}
}

/* ---- requests ------------------------------------------------------------- */

static int sshd_connect_local(int port)
{
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* An outbound connection on loopback; the agent never listens. */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int sshd_open_forward(struct sshd *d, ssh_message msg)
{
	const char *host = ssh_message_channel_request_open_destination(msg);
	int port = ssh_message_channel_request_open_destination_port(msg);
	const struct agent_service *svc;
	struct sshd_chan *c;
	int rc;

	rc = sshd_forward_allowed(d->conf, d->t, host, port, &svc);
	if (rc != 0 || d->nchans >= SSHD_MAX_CHANNELS) {
		agentaudit_log(d->conf, d->actor, "channel_refused",
		               "session %s direct-tcpip to %s:%d: %s", d->t->session,
		               host != NULL ? host : "?", port,
		               rc == TE_ERR_DENIED ? "the ticket does not grant it" :
		               rc != 0 ? "not an allowlisted service" : "too many channels");
		return 1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return 1;
	c->d = d;
	c->kind = SSHD_FORWARD;
	snprintf(c->svc, sizeof(c->svc), "%s", svc->name);
	snprintf(c->dest, sizeof(c->dest), "127.0.0.1:%d", svc->port);
	if ((c->fd = sshd_connect_local(svc->port)) < 0) {
		agentaudit_log(d->conf, d->actor, "channel_refused",
		               "session %s service %s (%s): connect failed: %s",
		               d->t->session, c->svc, c->dest, strerror(errno));
		free(c);
		return 1;
	}
	c->cb.channel_data_function = sshd_chan_data;
	c->cb.channel_eof_function = sshd_chan_eof;
	if (sshd_chan_start(d, c, msg) != 0) {
		close(c->fd);
		free(c);
		return 0;
	}
	if (ssh_event_add_fd(d->event, c->fd, POLLIN, sshd_fd_readable, c) == SSH_OK)
		c->fd_polled = 1;
	else
		c->dead = 1;
	agentaudit_log(d->conf, d->actor, "channel_open",
	               "session %s direct-tcpip service %s (%s)", d->t->session,
	               c->svc, c->dest);
	return 0;
}

/* ---- decisions (pure) ----------------------------------------------------- */

int sshd_shell_hides(const struct agent_conf *conf, const struct ticket *t)
{
	return conf->npatient > 0 && !ticket_allows(t, "patient_records");
}

enum sshd_exec sshd_exec_decide(const struct agent_conf *conf,
                                const struct ticket *t, const char *command,
                                const struct agent_diag **diag,
                                const char **why)
{
	char action[MAX_NAME_BYTES + 8];

	*diag = NULL;
	*why = NULL;
	if (command == NULL || command[0] == '\0') {
		*why = "an empty command";
		return SSHD_EXEC_REFUSED;
	}
	if ((*diag = agentconf_diag(conf, command)) != NULL) {
		snprintf(action, sizeof(action), "diag:%s", (*diag)->name);
		if (ticket_allows(t, action))
			return SSHD_EXEC_DIAG;
		*why = "the ticket does not grant this diagnostic";
		return SSHD_EXEC_REFUSED;
	}
	if (ticket_allows(t, "shell"))
		return SSHD_EXEC_SHELL;
	*why = "not a configured diagnostic, and the ticket does not grant shell";
	return SSHD_EXEC_REFUSED;
}

enum sshd_end sshd_limit_check(const struct ticket *t, int64_t now,
                               int64_t last_io)
{
	if (t->end_at > 0 && now >= t->end_at)
		return SSHD_END_MAX_DURATION;
	if (t->idle_s > 0 && now - last_io >= t->idle_s)
		return SSHD_END_IDLE;
	return SSHD_END_CLOSED;
}

/* ---- audit records with JSON details ---------------------------------------- */

/* Client text (a command, a TERM, an env name) for a detail: bounded and
 * valid UTF-8, since the record must be written whatever was sent. */
json_t *sshd_jtext(const char *text)
{
	char buf[SSHD_TEXT_BYTES];

	snprintf(buf, sizeof(buf), "%s", text != NULL ? text : "");
	agentaudit_clean_utf8(buf);
	return json_string(buf);
}

/* Record action with detail (stolen) and "session" first. */
void sshd_audit(struct sshd *d, const char *action, json_t *detail)
{
	json_t *o = json_pack("{s:s}", "session", d->t->session);
	char *text = NULL;

	if (o != NULL && detail != NULL)
		json_object_update(o, detail);
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL)
		agentaudit_log(d->conf, d->actor, action, "%s", text);
	else
		agentaudit_log(d->conf, d->actor, action, "session %s", d->t->session);
	free(text);
	json_decref(o);
	json_decref(detail);
}

/* Tell the specialist why even the right password is refused now: an
 * authentication banner (OpenSSH shows it at LogLevel INFO, the default). */
static void sshd_auth_locked_banner(struct sshd *d, long seconds)
{
	char text[200];
	ssh_string banner;

	snprintf(text, sizeof(text), "tether: the device support account is locked for "
	         "%ld s more after too many wrong passwords; it unlocks by itself, or "
	         "the operator can set a new password\r\n", seconds);
	if ((banner = ssh_string_from_char(text)) == NULL)
		return;
	(void)ssh_send_issue_banner(d->session, banner);
	ssh_string_free(banner);
}

/* The audit record of a refused password (support.h says what counts). */
static void sshd_auth_refused(struct sshd *d, const char *user, int rc,
                              const struct support_attempt *a)
{
	const char *who = user != NULL ? user : "?";

	if (rc == TE_ERR_LOCKED && a->lock_s == 0)
		agentaudit_log(d->conf, d->actor, "auth_locked", "session %s user %s: "
		               "support account locked for %ld s more after %ld wrong "
		               "passwords; not checked, not counted", d->t->session, who,
		               a->remaining_s, a->failures);
	else if (a->counted)
		agentaudit_log(d->conf, d->actor, "auth_failed", "session %s user %s: wrong "
		               "password (%ld in a row)", d->t->session, who, a->failures);
	else
		agentaudit_log(d->conf, d->actor, "auth_failed", "session %s user %s: %s; "
		               "not counted", d->t->session, who, user == NULL ||
		               strcmp(user, TICKET_SSH_LOGIN) != 0 ? "not the support "
		               "user" : rc == TE_ERR_DENIED ? "empty password" : te_strerror(rc));
	if (rc == TE_ERR_LOCKED)
		sshd_auth_locked_banner(d, a->lock_s > 0 ? a->lock_s : a->remaining_s);
	if (a->lock_s > 0)
		sshd_audit(d, "support_locked", json_pack("{s:s, s:i, s:i, s:I}", "user", who,
		           "failures", (int)a->failures, "lock_s", (int)a->lock_s,
		           "until", (json_int_t)a->until));
}

/* Password for the support user only; every attempt is audited. */
static int sshd_auth_password(ssh_session session, const char *user,
                              const char *password, void *userdata)
{
	struct sshd *d = userdata;
	struct support_attempt a = { 0 };
	int rc;

	/* A connection being ended checks and counts nothing more. */
	if (d->kick || d->auth_fails >= SSHD_MAX_AUTH_TRIES)
		return SSH_AUTH_DENIED;
	if (user == NULL || strcmp(user, TICKET_SSH_LOGIN) != 0)
		rc = TE_ERR_DENIED;
	else
		rc = support_verify(d->conf, password, &a);
	if (rc == 0) {
		d->authed = 1;
		agentaudit_log(d->conf, d->actor, "auth_success",
		               "session %s user %s password", d->t->session, user);
		/* The network part remembers it for this session only (visit.h). */
		if (d->notify_fd >= 0 && write(d->notify_fd, &(char){ VISIT_PROOF_BYTE }, 1) != 1)
			log_warn("ssh: cannot pass the session's proof on; its next connections"
			         " will ask for the password");
		return SSH_AUTH_SUCCESS;
	}
	d->auth_fails++;
	sshd_auth_refused(d, user, rc, &a);
	/* Too many tries, or locked: end the connection (from the loop). */
	if (d->auth_fails >= SSHD_MAX_AUTH_TRIES || rc == TE_ERR_LOCKED)
		d->kick = 1;
	return SSH_AUTH_DENIED;
}

static int sshd_proven;             /* sshd_visit_proof: this worker's session */

void sshd_visit_proof(int proven)
{
	sshd_proven = proven;
}

/* Only with the session's proof, and only for the support user. */
static int sshd_auth_none(ssh_session session, const char *user, void *userdata)
{
	struct sshd *d = userdata;

	(void)session;
	if (!sshd_proven || user == NULL || strcmp(user, TICKET_SSH_LOGIN) != 0)
		return SSH_AUTH_DENIED;
	d->authed = 1;
	agentaudit_log(d->conf, d->actor, "auth_success",
	               "session %s user %s proven (support password given earlier in this"
	               " session)", d->t->session, user);
	return SSH_AUTH_SUCCESS;
}

static int sshd_auth_pubkey(ssh_session session, const char *user,
                            struct ssh_key_struct *pubkey, char signature_state,
                            void *userdata)
{
	return SSH_AUTH_DENIED;
}

static const char *sshd_open_type(int subtype)
{
	switch (subtype) {
	case SSH_CHANNEL_SESSION: return "session";
	case SSH_CHANNEL_DIRECT_TCPIP: return "direct-tcpip";
	case SSH_CHANNEL_FORWARDED_TCPIP: return "forwarded-tcpip";
	case SSH_CHANNEL_X11: return "x11";
	case SSH_CHANNEL_AUTH_AGENT: return "auth-agent";
	default: return "unknown";
	}
}

/* Returns 0 when handled, 1 to let libssh send its default refusal. */
static int sshd_message(ssh_session session, ssh_message msg, void *userdata)
{
	struct sshd *d = userdata;
	int type = ssh_message_type(msg), sub = ssh_message_subtype(msg);

	switch (type) {
	case SSH_REQUEST_AUTH:
		ssh_message_auth_set_methods(msg, SSH_AUTH_METHOD_PASSWORD);
		return 1;
	case SSH_REQUEST_SERVICE:
		return 1;
	case SSH_REQUEST_CHANNEL_OPEN:
		if (d->authed && sub == SSH_CHANNEL_DIRECT_TCPIP)
			return sshd_open_forward(d, msg);
		if (d->authed && sub == SSH_CHANNEL_SESSION)
			return sshd_session_open(d, msg);
		agentaudit_log(d->conf, d->actor, "channel_refused",
		               "session %s %s channel%s", d->t->session,
		               sshd_open_type(sub), d->authed ? "" : " before authentication");
		return 1;
	case SSH_REQUEST_CHANNEL:
		agentaudit_log(d->conf, d->actor, "request_refused",
		               "session %s channel request type %d", d->t->session, sub);
		return 1;
	case SSH_REQUEST_GLOBAL:
		agentaudit_log(d->conf, d->actor, "request_refused",
		               "session %s global request type %d", d->t->session, sub);
		return 1;
	default:
		return 1;
	}
}

/* ---- the connection ------------------------------------------------------- */

static const char *sshd_end_name(enum sshd_end e)
{
	return e == SSHD_END_IDLE ? "idle" : e == SSHD_END_MAX_DURATION ?
	       "max_duration" : e == SSHD_END_NO_AUDIT ? "no_audit" : "closed";
}

static enum sshd_end sshd_loop(struct sshd *d)
{
	time_t end = time(NULL) + SESSION_MAX_S;
	enum sshd_end why = SSHD_END_CLOSED;
	int64_t local, corrected;
	int ms;

	sshd_in_loop = 1;
	d->last_io = (int64_t)time(NULL);
	while (ssh_is_connected(d->session) && time(NULL) < end && !d->kick &&
	       !sshd_stop_requested) {
		ms = d->waiting_child ? SSHD_BUSY_POLL_MS : SSHD_POLL_MS;
		d->waiting_child = 0;
		if (ssh_event_dopoll(d->event, ms) == SSH_ERROR &&
		    !ssh_is_connected(d->session))
			break;
		/* No session without a trail: a record that could not be written
		 * in this turn's callbacks ends the session before anything flows. */
		if (agentaudit_failures() != d->audit_fails0) {
			log_error("ssh: session %s: an audit record could not be written (%s); "
			          "ending the session", d->t->session, agentaudit_why());
			why = SSHD_END_NO_AUDIT;
			break;
		}
		sshd_session_pump_all(d);
		sshd_sweep(d, 0);
		if (ssh_get_status(d->session) & (SSH_CLOSED | SSH_CLOSED_ERROR))
			break;
		/* The ticket's limits hold whatever the client does. */
		/* end_at is by the server's clock; last_io by the device's. */
		local = (int64_t)time(NULL);
		corrected = clockoff_now();
		why = sshd_limit_check(d->t, corrected, d->last_io + (corrected - local));
		if (why != SSHD_END_CLOSED) {
			log_info("ssh: session %s: %s limit reached; ending it",
			         d->t->session, sshd_end_name(why));
			sshd_audit(d, "session_limit", json_pack("{s:s, s:I, s:I}", "limit",
			           sshd_end_name(why), "idle_s", (json_int_t)d->t->idle_s,
			           "end", (json_int_t)d->t->end_at));
			break;
		}
	}
	/* An ended login's last packets, the banner saying why and the
	 * refusal, may still sit in libssh's output buffer (it writes at once
	 * only when the last poll saw the socket writable), and ssh_disconnect
	 * closes without flushing: send them first, bounded. */
	if (d->kick && ssh_is_connected(d->session) &&
	    ssh_blocking_flush(d->session, SSHD_KICK_FLUSH_MS) != SSH_OK)
		log_info("ssh: session %s: the refusal could not be sent: %s",
		         d->t->session, ssh_get_error(d->session));
	sshd_in_loop = 0;
	return why;
}

/* A limit ended the session: tell the agent, and wait (no longer polling
 * the connection, so nothing flows either way) until it has told the server
 * and stops us; only then close every channel. Closing first would let the
 * client hang up, and the relay's "client closed" report could reach the
 * server before the agent's reason. */
static void sshd_limit_report(struct sshd *d, enum sshd_end why, int notify_fd)
{
	char code = why == SSHD_END_IDLE ? 'i' : why == SSHD_END_MAX_DURATION ? 'm' : 'a';
	time_t until = time(NULL) + SSHD_LIMIT_REPORT_WAIT_S;

	sshd_in_loop = 1;          /* a stop request now means: go on below */
	if (notify_fd >= 0 && write(notify_fd, &code, 1) == 1)
		while (!sshd_stop_requested && time(NULL) < until)
			(void)poll(NULL, 0, SSHD_BUSY_POLL_MS);
	sshd_sweep(d, 1);
	sshd_in_loop = 0;
}

int sshd_serve(const struct agent_conf *conf, const struct ticket *t, int fd,
               int notify_fd, enum sshd_end *end)
{
	struct sshd d;
	ssh_bind bind = NULL;
	char keypath[AGENT_PATH_BYTES];
	long timeout = SSHD_KEX_TIMEOUT_S;
	enum sshd_end why = SSHD_END_CLOSED;
	int rc = TE_ERR_PROTOCOL;

	memset(&d, 0, sizeof(d));
	d.conf = conf;
	d.t = t;
	d.notify_fd = notify_fd;
	snprintf(d.actor, sizeof(d.actor), "%s", t->user);
	d.audit_fails0 = agentaudit_failures();
	if (agentconf_state_path(conf, "ssh_hostkey", keypath, sizeof(keypath)) != 0 ||
	    (bind = ssh_bind_new()) == NULL || (d.session = ssh_new()) == NULL) {
		close(fd);
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HOSTKEY, keypath) != SSH_OK) {
		log_error("ssh: cannot load host key %s: %s", keypath, ssh_get_error(bind));
		close(fd);
		goto out;
	}
	if (ssh_bind_accept_fd(bind, d.session, fd) != SSH_OK) {
		log_error("ssh: accept: %s", ssh_get_error(bind));
		close(fd);
		goto out;
	}
	ssh_options_set(d.session, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_set_auth_methods(d.session, SSH_AUTH_METHOD_PASSWORD);
	ssh_callbacks_init(&d.scb);
	d.scb.userdata = &d;
	d.scb.auth_password_function = sshd_auth_password;
	d.scb.auth_none_function = sshd_auth_none;
	d.scb.auth_pubkey_function = sshd_auth_pubkey;
	ssh_set_server_callbacks(d.session, &d.scb);
	ssh_set_message_callback(d.session, sshd_message, &d);
	if (ssh_handle_key_exchange(d.session) != SSH_OK) {
		log_error("ssh: key exchange: %s", ssh_get_error(d.session));
		goto out;
	}
	if ((d.event = ssh_event_new()) == NULL ||
	    ssh_event_add_session(d.event, d.session) != SSH_OK) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	why = sshd_loop(&d);
	if (why != SSHD_END_CLOSED)
		sshd_limit_report(&d, why, notify_fd);
	rc = 0;
out:
	sshd_sweep(&d, 1);
	if (d.event != NULL) {
		if (d.session != NULL)
			ssh_event_remove_session(d.event, d.session);
		ssh_event_free(d.event);
	}
	if (d.session != NULL) {
		ssh_disconnect(d.session);
		ssh_free(d.session);
	}
	if (bind != NULL)
		ssh_bind_free(bind);
	if (end != NULL)
		*end = why;
	return rc;
}
