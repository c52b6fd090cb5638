/* sshsession.c: session channels of the embedded SSH server: pty-req,
 * shell, exec (shell command or diagnostic), subsystem sftp, window-change,
 * each decided against the ticket again (sshd.h), then pumped.
 *
 * Session channels are pulled from libssh's channel buffer in sshd's loop
 * (sshd_session_pump_all), only as fast as the PTY, the diagnostic or the
 * SFTP engine takes it, so a slow consumer holds the client back through
 * the SSH window; output is written only as far as the client's window
 * allows, so the loop never blocks on a slow client. */
#include "sshd.h"
#include "sshd_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentaudit.h"
#include "err.h"
#include "log.h"

/* Refuse a channel request: audited under action, answered with failure. */
static int sshd_refuse(struct sshd_chan *c, const char *action, const char *request,
                       const char *why, json_t *extra)
{
	json_t *o = json_pack("{s:I, s:s, s:s}", "channel", (json_int_t)c->no,
	                      "request", request, "reason", why);

	if (o != NULL && extra != NULL)
		json_object_update(o, extra);
	json_decref(extra);
	sshd_audit(c->d, action, o);
	return -1;
}

/* ---- session channels: output and input ------------------------------------- */

static void sshd_unpoll(struct sshd_chan *c)
{
	if (c->fd_polled)
		ssh_event_remove_fd(c->d->event, c->fd);
	c->fd_polled = 0;
}

/* Shell or diagnostic output to the client, never more than its window.
 * 1 when bytes were sent. */
static int sshd_session_output(struct sshd_chan *c)
{
	char buf[SSHD_IO_BYTES];
	uint32_t win;
	ssize_t n;

	if (c->dead || c->out_eof || c->fd < 0)
		return 0;
	win = ssh_channel_window_size(c->ch);
	if (win == 0) {
		sshd_unpoll(c);          /* polled again once the window opens */
		return 0;
	}
	n = read(c->fd, buf, win < sizeof(buf) ? win : sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* EOF from a pipe, EIO from a PTY whose other side is closed. */
		c->out_eof = 1;
		sshd_unpoll(c);
		c->d->waiting_child = 1;
		return 0;
	}
	if (ssh_channel_write(c->ch, buf, (uint32_t)n) != n) {
		c->dead = 1;
		return 0;
	}
	if (c->run == RUN_SHELL)
		shell_record(c->sh, buf, (size_t)n);
	else if (c->run == RUN_DIAG)
		diag_account(c->dg, buf, (size_t)n);
	c->d->last_io = (int64_t)time(NULL);
	return 1;
}

static int sshd_session_readable(socket_t fd, int revents, void *userdata)
{
	sshd_session_output(userdata);
	return 0;
}

static void sshd_poll_output(struct sshd_chan *c)
{
	if (c->fd_polled || c->out_eof || c->fd < 0 || c->dead ||
	    ssh_channel_window_size(c->ch) == 0)
		return;
	if (ssh_event_add_fd(c->d->event, c->fd, POLLIN, sshd_session_readable, c) == SSH_OK)
		c->fd_polled = 1;
}

/* Client input into the PTY, as far as the shell takes it. */
static void sshd_shell_input(struct sshd_chan *c)
{
	ssize_t w;
	int n;

	for (;;) {
		if (c->inoff == c->inlen) {
			n = ssh_channel_read_nonblocking(c->ch, c->in, sizeof(c->in), 0);
			if (n <= 0)
				return;
			c->inlen = (size_t)n;
			c->inoff = 0;
			c->d->last_io = (int64_t)time(NULL);
		}
		w = write(c->fd, c->in + c->inoff, c->inlen - c->inoff);
		if (w <= 0) {
			c->d->waiting_child = 1;   /* the shell is not reading yet */
			return;
		}
		c->inoff += (size_t)w;
	}
}

/* A diagnostic's stdin is /dev/null: what the client sends is dropped. */
static void sshd_drop_input(struct sshd_chan *c)
{
	char buf[SSHD_IO_BYTES];
	int i;

	for (i = 0; i < SSHD_PUMP_ROUNDS; i++)
		if (ssh_channel_read_nonblocking(c->ch, buf, sizeof(buf), 0) <= 0)
			return;
}

/* ---- session channels: ends ------------------------------------------------ */

static json_t *sshd_diag_argv_json(const struct agent_diag *dg)
{
	char *argv[AGENT_DIAG_MAX_ARGS + 1];
	json_t *a = json_array();
	size_t i;

	agentconf_diag_argv(dg, argv);
	for (i = 0; argv[i] != NULL; i++)
		json_array_append_new(a, sshd_jtext(argv[i]));
	return a;
}

/* End what runs on a session channel and audit it; the exit status, or -1
 * when nothing ran. */
static int sshd_session_finish(struct sshd *d, struct sshd_chan *c)
{
	struct shell_result sr;
	struct diag_result dr;
	int status = -1;

	sshd_unpoll(c);
	if (c->sh != NULL) {
		shell_finish(c->sh, &sr);
		c->sh = NULL;
		status = sr.exit_status;
		sshd_audit(d, "shell_end", json_pack("{s:I, s:s, s:I, s:s, s:i}",
		           "channel", (json_int_t)c->no, "recording", sr.recording,
		           "bytes", (json_int_t)sr.bytes, "sha256", sr.sha256,
		           "exit_status", sr.exit_status));
	}
	if (c->dg != NULL) {
		diag_finish(c->dg, &dr);
		c->dg = NULL;
		status = dr.exit_status;
		sshd_audit(d, "diag_run", json_pack("{s:I, s:s, s:o, s:i, s:I, s:s, s:b}",
		           "channel", (json_int_t)c->no, "name", c->diag->name,
		           "argv", sshd_diag_argv_json(c->diag), "exit_status", dr.exit_status,
		           "output_bytes", (json_int_t)dr.output_bytes, "sha256", dr.sha256,
		           "timed_out", dr.timed_out));
	}
	if (c->sftp_on) {
		status = sshd_sftp_end(d, c);   /* its records of files left open too */
		sshd_audit(d, "sftp_end", json_pack("{s:I, s:i}", "channel",
		           (json_int_t)c->no, "exit_status", status));
	}
	c->fd = -1;                         /* owned by the shell or diagnostic */
	c->run = RUN_NONE;
	return status;
}

void sshd_session_stop(struct sshd *d, struct sshd_chan *c)
{
	(void)sshd_session_finish(d, c);
}

/* Normal end: exit status, EOF, close. */
static void sshd_session_close(struct sshd *d, struct sshd_chan *c, int status)
{
	if (ssh_channel_is_open(c->ch)) {
		if (status >= 0)
			ssh_channel_request_send_exit_status(c->ch, status);
		ssh_channel_send_eof(c->ch);
		ssh_channel_close(c->ch);
	}
	c->dead = 1;
}

/* Client bytes into the SFTP child's stdin, as fast as it takes them.
 * While its pipe is full the channel is not read, so libssh keeps the
 * bytes and the client's window closes (back-pressure); the pipe is polled
 * for room meanwhile. 1 when something moved. */
static int sshd_sftp_input(struct sshd *d, struct sshd_chan *c)
{
	ssize_t w;
	int n;

	if (c->sftp_in < 0)
		return 0;
	if (c->inoff == c->inlen) {
		n = ssh_channel_read_nonblocking(c->ch, c->in, sizeof(c->in), 0);
		if (n > 0) {
			c->inlen = (size_t)n;
			c->inoff = 0;
			d->last_io = (int64_t)time(NULL);
		} else if (n < 0 || ssh_channel_is_eof(c->ch)) {
			sshd_sftp_close_in(d, c);   /* the child sees EOF and ends */
			return 1;
		} else {
			return 0;
		}
	}
	w = write(c->sftp_in, c->in + c->inoff, c->inlen - c->inoff);
	if (w > 0) {
		c->inoff += (size_t)w;
		sshd_sftp_poll_in(d, c, c->inoff < c->inlen);
		return 1;
	}
	if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
		sshd_sftp_poll_in(d, c, 1);
		return 0;
	}
	sshd_sftp_close_in(d, c);           /* the child is gone */
	return 1;
}

static void sshd_sftp_pump(struct sshd *d, struct sshd_chan *c)
{
	int round, progress, status;

	for (round = 0; round < SSHD_PUMP_ROUNDS && !c->dead; round++) {
		progress = sshd_sftp_audit_read(d, c);
		progress |= sshd_session_output(c);
		progress |= sshd_sftp_input(d, c);
		if (!progress)
			break;
	}
	if (c->dead)
		return;
	if (c->out_eof && c->sftp_aud < 0 && sshd_sftp_exited(c, &status)) {
		/* Its replies and records are all in: the exit status, then close. */
		sshd_session_close(d, c, sshd_session_finish(d, c));
		return;
	}
	if (c->out_eof)
		d->waiting_child = 1;
	sshd_poll_output(c);
}

/* A shell's or diagnostic's output: once it hit EOF only the child's exit
 * is left, so poll faster for it. */
static void sshd_child_output(struct sshd *d, struct sshd_chan *c)
{
	if (c->out_eof)
		d->waiting_child = 1;
	sshd_poll_output(c);
}

static void sshd_pump_session(struct sshd *d, struct sshd_chan *c)
{
	int i;

	switch (c->run) {
	case RUN_SHELL:
		sshd_shell_input(c);
		if (shell_exited(c->sh)) {
			/* Send what it wrote last, then the exit status. */
			for (i = 0; i < SSHD_PUMP_ROUNDS; i++)
				if (!sshd_session_output(c))
					break;
			sshd_session_close(d, c, sshd_session_finish(d, c));
			return;
		}
		sshd_child_output(d, c);
		break;
	case RUN_DIAG:
		sshd_drop_input(c);
		if (diag_overdue(c->dg, time(NULL)) || (c->out_eof && diag_exited(c->dg))) {
			sshd_session_close(d, c, sshd_session_finish(d, c));
			return;
		}
		sshd_child_output(d, c);
		break;
	case RUN_SFTP:
		sshd_sftp_pump(d, c);
		break;
	case RUN_REFUSED:
		ssh_channel_write_stderr(c->ch, c->refusal, (uint32_t)strlen(c->refusal));
		c->run = RUN_NONE;
		sshd_session_close(d, c, 1);
		break;
	case RUN_NONE:
		break;
	}
}

void sshd_session_pump_all(struct sshd *d)
{
	struct sshd_chan *c;

	for (c = d->chans; c != NULL; c = c->next)
		if (c->kind == SSHD_SESSION && !c->dead)
			sshd_pump_session(d, c);
}

/* ---- session channels: requests --------------------------------------------- */

static int sshd_start_shell(struct sshd_chan *c, const char *command)
{
	struct sshd *d = c->d;
	struct shell_spec sp;
	char why[SSHD_TEXT_BYTES];
	int rc;

	memset(&sp, 0, sizeof(sp));
	sp.session = d->t->session;
	sp.channel = c->no;
	sp.conn = d->t->conn;
	sp.term = c->pty ? c->term : NULL;
	sp.cols = c->cols;
	sp.rows = c->rows;
	sp.command = command;
	sp.hide_patient = sshd_shell_hides(d->conf, d->t);
	rc = shell_start(d->conf, &sp, &c->sh, why, sizeof(why));
	if (rc == TE_ERR_DENIED) {
		/* Fail closed, and say why on the client's terminal. */
		sshd_audit(d, "shell_refused", json_pack("{s:I, s:s}", "channel",
		           (json_int_t)c->no, "reason", why));
		snprintf(c->refusal, sizeof(c->refusal), "tether: %s; the shell is "
		         "refused.\r\n", why);
		c->run = RUN_REFUSED;
		return 0;
	}
	if (rc != 0) {
		log_error("ssh: session %s: %s", d->t->session, why);
		return sshd_refuse(c, "shell_refused", command ? "exec" : "shell", why, NULL);
	}
	c->fd = shell_fd(c->sh);
	c->run = RUN_SHELL;
	d->last_io = (int64_t)time(NULL);
	sshd_audit(d, "shell_start", json_pack("{s:I, s:s, s:s, s:i, s:i, s:o, s:b}",
	           "channel", (json_int_t)c->no, "recording", shell_recording(c->sh),
	           "term", c->pty ? c->term : "dumb", "cols", (int)c->cols,
	           "rows", (int)c->rows, "command", command ? sshd_jtext(command) : json_null(),
	           "patient_data_hidden", sp.hide_patient));
	sshd_poll_output(c);
	return 0;
}

static int sshd_start_diag(struct sshd_chan *c, const struct agent_diag *dg)
{
	struct sshd *d = c->d;
	char why[SSHD_TEXT_BYTES];
	int rc;

	rc = diag_start(d->conf, dg, d->t->session, &c->dg, why, sizeof(why));
	if (rc == TE_ERR_DENIED) {
		/* Fail closed, and say why on the client's terminal. */
		sshd_audit(d, "diag_refused", json_pack("{s:I, s:s, s:s}", "channel",
		           (json_int_t)c->no, "name", dg->name, "reason", why));
		snprintf(c->refusal, sizeof(c->refusal), "tether: %s; the diagnostic "
		         "is refused.\r\n", why);
		c->run = RUN_REFUSED;
		return 0;
	}
	if (rc != 0)
		return sshd_refuse(c, "diag_refused", "exec", why,
		                   json_pack("{s:s}", "name", dg->name));
	c->diag = dg;
	c->fd = diag_fd(c->dg);
	c->run = RUN_DIAG;
	d->last_io = (int64_t)time(NULL);
	sshd_poll_output(c);
	return 0;
}

static int sshd_start_sftp(struct sshd_chan *c)
{
	struct sshd *d = c->d;
	const char *roots[AGENT_MAX_FILE_ROOTS], *names[AGENT_MAX_FILE_ROOTS];
	const char *refuse[AGENT_MAX_PATIENT];
	struct sftpchild_spec spec;
	char why[SPAWN_TEXT_BYTES];
	size_t i;
	int rc;

	memset(&spec, 0, sizeof(spec));
	for (i = 0; i < d->conf->nfiles; i++) {
		roots[i] = d->conf->files[i].path;
		names[i] = d->conf->files[i].name;   /* its folder at the client's "/" */
	}
	for (i = 0; i < d->conf->npatient; i++)
		refuse[i] = d->conf->patient[i].path;
	spec.roots = roots;
	spec.names = names;
	spec.nroots = d->conf->nfiles;
	spec.refuse = refuse;
	spec.nrefuse = d->conf->npatient;
	spec.write_ok = ticket_allows(d->t, "files:write");
	spec.patient_ok = ticket_allows(d->t, "patient_records");
	spec.casefold = d->conf->patient_casefold;
	if (d->conf->nfiles == 0)
		return sshd_refuse(c, "sftp_refused", "subsystem", "no files.* directory "
		                   "is configured on this device", NULL);
	if ((rc = sftpchild_start(d->conf, d->t->session, &spec, &c->sftp, &c->sftp_in,
	                          &c->fd, &c->sftp_aud, why, sizeof(why))) != 0) {
		log_error("ssh: session %s: cannot start the SFTP server: %s",
		          d->t->session, why);
		return sshd_refuse(c, "sftp_refused", "subsystem", rc == TE_ERR_DENIED ? why :
		                   "the SFTP server could not be started", NULL);
	}
	c->sftp_on = 1;
	if (ssh_event_add_fd(d->event, c->sftp_aud, POLLIN, sshd_sftp_wake, c) != SSH_OK) {
		(void)sshd_sftp_end(d, c);
		return sshd_refuse(c, "sftp_refused", "subsystem", "the SFTP server could "
		                   "not be started", NULL);
	}
	c->run = RUN_SFTP;
	d->last_io = (int64_t)time(NULL);
	sshd_audit(d, "sftp_start", json_pack("{s:I, s:b, s:b, s:i}", "channel",
	           (json_int_t)c->no, "write", spec.write_ok,
	           "patient_records", spec.patient_ok, "pid", (int)c->sftp.pid));
	sshd_poll_output(c);
	return 0;
}

static int sshd_cb_pty(ssh_session session, ssh_channel channel, const char *term,
                       int width, int height, int pxwidth, int pxheight,
                       void *userdata)
{
	struct sshd_chan *c = userdata;

	if (!ticket_allows(c->d->t, "shell"))
		return sshd_refuse(c, "shell_refused", "pty-req",
		                   "the ticket does not grant shell", NULL);
	if (c->run != RUN_NONE || c->pty)
		return sshd_refuse(c, "request_refused", "pty-req",
		                   "the channel is already in use", NULL);
	snprintf(c->term, sizeof(c->term), "%s", term != NULL ? term : "");
	c->cols = width > 0 && width <= 10000 ? (unsigned int)width : 0;
	c->rows = height > 0 && height <= 10000 ? (unsigned int)height : 0;
	c->pty = 1;
	return 0;
}

static int sshd_cb_shell(ssh_session session, ssh_channel channel, void *userdata)
{
	struct sshd_chan *c = userdata;

	if (!ticket_allows(c->d->t, "shell"))
		return sshd_refuse(c, "shell_refused", "shell",
		                   "the ticket does not grant shell", NULL);
	if (c->run != RUN_NONE)
		return sshd_refuse(c, "request_refused", "shell",
		                   "the channel is already in use", NULL);
	return sshd_start_shell(c, NULL);
}

static int sshd_cb_exec(ssh_session session, ssh_channel channel,
                        const char *command, void *userdata)
{
	struct sshd_chan *c = userdata;
	const struct agent_diag *dg;
	const char *why;

	if (c->run != RUN_NONE)
		return sshd_refuse(c, "request_refused", "exec",
		                   "the channel is already in use", NULL);
	switch (sshd_exec_decide(c->d->conf, c->d->t, command, &dg, &why)) {
	case SSHD_EXEC_DIAG:
		return sshd_start_diag(c, dg);
	case SSHD_EXEC_SHELL:
		return sshd_start_shell(c, command);
	case SSHD_EXEC_REFUSED:
		break;
	}
	return sshd_refuse(c, dg != NULL ? "diag_refused" : "exec_refused", "exec", why,
	                   json_pack("{s:o}", "command", sshd_jtext(command)));
}

static int sshd_cb_subsystem(ssh_session session, ssh_channel channel,
                             const char *subsystem, void *userdata)
{
	struct sshd_chan *c = userdata;

	if (c->run != RUN_NONE)
		return sshd_refuse(c, "request_refused", "subsystem",
		                   "the channel is already in use", NULL);
	if (subsystem == NULL || strcmp(subsystem, "sftp") != 0)
		return sshd_refuse(c, "request_refused", "subsystem", "only sftp is served",
		                   json_pack("{s:o}", "subsystem", sshd_jtext(subsystem)));
	if (!ticket_allows(c->d->t, "files:read") && !ticket_allows(c->d->t, "files:write"))
		return sshd_refuse(c, "sftp_refused", "subsystem", "the ticket grants "
		                   "neither files:read nor files:write", NULL);
	return sshd_start_sftp(c);
}

static int sshd_cb_winch(ssh_session session, ssh_channel channel, int width,
                         int height, int pxwidth, int pxheight, void *userdata)
{
	struct sshd_chan *c = userdata;

	if (width <= 0 || height <= 0 || width > 10000 || height > 10000)
		return -1;
	c->cols = (unsigned int)width;
	c->rows = (unsigned int)height;
	if (c->run == RUN_SHELL)
		shell_resize(c->sh, c->cols, c->rows);
	return 0;
}

/* The shell's environment is fixed (shell.h); nothing from the client. */
static int sshd_cb_env(ssh_session session, ssh_channel channel, const char *name,
                       const char *value, void *userdata)
{
	return sshd_refuse(userdata, "request_refused", "env", "the environment is "
	                   "fixed on the device", json_pack("{s:o}", "name", sshd_jtext(name)));
}

static void sshd_sess_eof(ssh_session session, ssh_channel channel, void *userdata)
{
	struct sshd_chan *c = userdata;

	c->client_eof = 1;
}

int sshd_session_open(struct sshd *d, ssh_message msg)
{
	struct sshd_chan *c;

	if (d->nchans >= SSHD_MAX_CHANNELS) {
		agentaudit_log(d->conf, d->actor, "channel_refused",
		               "session %s session channel: too many channels", d->t->session);
		return 1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return 1;
	c->d = d;
	c->kind = SSHD_SESSION;
	c->fd = -1;
	c->sftp_in = c->sftp_aud = -1;
	c->sftp.status_fd = -1;
	c->no = d->next_no++;
	c->cb.channel_eof_function = sshd_sess_eof;
	c->cb.channel_pty_request_function = sshd_cb_pty;
	c->cb.channel_shell_request_function = sshd_cb_shell;
	c->cb.channel_exec_request_function = sshd_cb_exec;
	c->cb.channel_subsystem_request_function = sshd_cb_subsystem;
	c->cb.channel_pty_window_change_function = sshd_cb_winch;
	c->cb.channel_env_request_function = sshd_cb_env;
	if (sshd_chan_start(d, c, msg) != 0) {
		free(c);
		return 0;
	}
	agentaudit_log(d->conf, d->actor, "channel_open", "session %s session channel %u",
	               d->t->session, c->no);
	return 0;
}
