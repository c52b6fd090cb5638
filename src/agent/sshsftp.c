/* sshsftp.c: the session worker's side of the SFTP child (sftpchild.h):
 * its audit lines into the device's trail with the session's context, the
 * polling of its stdin, and its end. The byte pump is in sshsession.c. */
#include "sshd.h"
#include "sshd_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "monitor.h"

#define SSHD_SFTP_END_WAIT_MS 3000   /* for the child's last records and exit */

/* Nothing to do in the callback: the loop pumps after every poll. */
int sshd_sftp_wake(socket_t fd, int revents, void *userdata)
{
	(void)fd;
	(void)revents;
	(void)userdata;
	return 0;
}

static void sshd_sftp_close_aud(struct sshd *d, struct sshd_chan *c)
{
	if (c->sftp_aud < 0)
		return;
	ssh_event_remove_fd(d->event, c->sftp_aud);
	close(c->sftp_aud);
	c->sftp_aud = -1;
}

void sshd_sftp_close_in(struct sshd *d, struct sshd_chan *c)
{
	sshd_sftp_poll_in(d, c, 0);
	if (c->sftp_in >= 0)
		close(c->sftp_in);
	c->sftp_in = -1;
}

void sshd_sftp_poll_in(struct sshd *d, struct sshd_chan *c, int want)
{
	if (want && !c->sftp_in_polled && c->sftp_in >= 0 &&
	    ssh_event_add_fd(d->event, c->sftp_in, POLLOUT, sshd_sftp_wake, c) == SSH_OK)
		c->sftp_in_polled = 1;
	else if (!want && c->sftp_in_polled) {
		ssh_event_remove_fd(d->event, c->sftp_in);
		c->sftp_in_polled = 0;
	}
}

/* A child that breaks the audit-line contract may be compromised: its
 * records stop here, it is killed, and the channel ends. */
static void sshd_sftp_bad(struct sshd *d, struct sshd_chan *c, const char *why)
{
	log_warn("ssh: session %s: SFTP server: %s; ending it", d->t->session, why);
	sshd_audit(d, "sftp_child_error", json_pack("{s:I, s:s}", "channel",
	           (json_int_t)c->no, "reason", why));
	if (c->sftp_on)
		monitor_spawn_stop(&c->sftp);   /* its keeper kills it */
	sshd_sftp_close_aud(d, c);
}

/* Complete lines in the buffer: each validated, then audited. */
static void sshd_sftp_audit_lines(struct sshd *d, struct sshd_chan *c)
{
	char action[SFTPCHILD_ACTION_BYTES];
	json_t *detail;
	char *nl;
	size_t len;

	while (c->sftp_aud >= 0 &&
	       (nl = memchr(c->sftp_line, '\n', c->sftp_linelen)) != NULL) {
		len = (size_t)(nl - c->sftp_line);
		if (sftpchild_audit_line(c->sftp_line, len, action, &detail) != 0) {
			sshd_sftp_bad(d, c, "malformed audit record");
			return;
		}
		sshd_audit(d, action, detail);
		c->sftp_linelen -= len + 1;
		memmove(c->sftp_line, nl + 1, c->sftp_linelen);
	}
	if (c->sftp_aud >= 0 && c->sftp_linelen == sizeof(c->sftp_line))
		sshd_sftp_bad(d, c, "audit record longer than MAX_SFTP_AUDIT_LINE_BYTES");
}

int sshd_sftp_audit_read(struct sshd *d, struct sshd_chan *c)
{
	ssize_t n;
	int round, progress = 0;

	for (round = 0; round < SSHD_PUMP_ROUNDS && c->sftp_aud >= 0; round++) {
		n = read(c->sftp_aud, c->sftp_line + c->sftp_linelen,
		         sizeof(c->sftp_line) - c->sftp_linelen);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		progress = 1;
		if (n <= 0) {
			if (c->sftp_linelen > 0)
				sshd_sftp_bad(d, c, "audit record cut off");
			sshd_sftp_close_aud(d, c);
			break;
		}
		c->sftp_linelen += (size_t)n;
		sshd_sftp_audit_lines(d, c);
	}
	return progress;
}

int sshd_sftp_exited(struct sshd_chan *c, int *status)
{
	int done = !c->sftp_on || monitor_spawn_poll(&c->sftp);

	*status = done ? c->sftp.exit_status : -1;
	return done;
}

static long sshd_ms_left(const struct timespec *until)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(until->tv_sec - now.tv_sec) * 1000 +
	       (until->tv_nsec - now.tv_nsec) / 1000000;
}

/* End the child: EOF on its stdin and its stdout closed, so it frees the
 * engine (which audits files left open); read its last records, reap it
 * (SIGKILL after SSHD_SFTP_END_WAIT_MS). Its exit status, or -1. */
int sshd_sftp_end(struct sshd *d, struct sshd_chan *c)
{
	struct timespec until;
	struct pollfd p;
	int status = -1;

	sshd_sftp_close_in(d, c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += SSHD_SFTP_END_WAIT_MS / 1000;
	while (c->sftp_aud >= 0 && sshd_ms_left(&until) > 0) {
		p.fd = c->sftp_aud;
		p.events = POLLIN;
		if (poll(&p, 1, (int)sshd_ms_left(&until)) > 0)
			sshd_sftp_audit_read(d, c);
	}
	while (!sshd_sftp_exited(c, &status) && sshd_ms_left(&until) > 0)
		usleep(10 * 1000);
	if (!c->sftp.exited)
		status = -1;
	monitor_spawn_stop(&c->sftp);       /* killed by its keeper if still there */
	sshd_sftp_close_aud(d, c);
	c->sftp_on = 0;
	return status;
}
