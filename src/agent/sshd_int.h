/* sshd_int.h: what sshd.c (the connection, forwards, authentication, the
 * loop) and sshsession.c (session channels: shell, diagnostics, SFTP)
 * share. Not for use outside the SSH server. */
#ifndef TETHER_SSHD_INT_H
#define TETHER_SSHD_INT_H

#include <stdint.h>

#include <jansson.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "agentconf.h"
#include "diag.h"
#include "sftpchild.h"
#include "shell.h"
#include "ticket.h"

#define SSHD_IO_BYTES     16384
#define SSHD_BUSY_POLL_MS 100      /* while a child's exit is awaited */
#define SSHD_PUMP_ROUNDS  64       /* pump passes per loop turn, at most */
#define SSHD_TEXT_BYTES   256      /* client text quoted in the audit */

struct sshd;

enum sshd_kind { SSHD_FORWARD = 1, SSHD_SESSION };
enum sshd_run { RUN_NONE = 0, RUN_SHELL, RUN_DIAG, RUN_SFTP, RUN_REFUSED };

struct sshd_chan {
	struct sshd_chan *next;
	struct sshd *d;
	ssh_channel ch;
	enum sshd_kind kind;
	unsigned int no;                 /* channel sequence number in the session */
	int fd;                          /* forward: TCP socket; session: PTY or pipe */
	int fd_polled;
	/* session channels */
	enum sshd_run run;
	int pty;                         /* a pty-req was granted */
	char term[SHELL_TERM_BYTES];
	unsigned int cols, rows;
	struct shell *sh;
	struct diag *dg;
	struct spawn_handle sftp;        /* the SFTP child (sftpchild.h) */
	int sftp_on;                     /* it was started and not yet ended */
	int sftp_in;                     /* its stdin (client bytes), or -1 */
	int sftp_in_polled;
	int sftp_aud;                    /* its audit lines (fd 3), or -1 */
	char sftp_line[MAX_SFTP_AUDIT_LINE_BYTES + 1];
	size_t sftp_linelen;
	const struct agent_diag *diag;
	int out_eof;                     /* the shell/diagnostic output ended */
	char in[SSHD_IO_BYTES];          /* client input not yet taken by the PTY */
	size_t inlen, inoff;
	char refusal[2 * SSHD_TEXT_BYTES]; /* sent on stderr before closing */
	char svc[MAX_NAME_BYTES];
	char dest[80];
	unsigned long long to_svc, from_svc;
	int svc_eof;                     /* the service finished sending */
	int client_eof;                  /* the client finished sending */
	int svc_wr_broken;               /* the service stopped reading */
	int dead;
	struct ssh_channel_callbacks_struct cb;
};

struct sshd {
	const struct agent_conf *conf;
	const struct ticket *t;
	int64_t last_io;                 /* last channel data, either way */
	unsigned int next_no;
	int waiting_child;               /* poll faster: a child's exit is due */
	ssh_session session;
	ssh_event event;
	char actor[2 * MAX_NAME_BYTES + 8];
	int authed;
	int auth_fails;
	int notify_fd;                   /* the network part: limits and the proof byte */
	int kick;                        /* disconnect at the next turn */
	unsigned long audit_fails0;      /* agentaudit_failures() at the start */
	int nchans;
	struct sshd_chan *chans;
	struct ssh_server_callbacks_struct scb;
};

/* Accept the channel open in msg for c (both kinds), with the callbacks
 * the caller set in c->cb plus userdata and the close callback (which marks
 * it for the sweep), and add it to d's channels. -1 when libssh could not
 * accept it (c is then not linked). */
int sshd_chan_start(struct sshd *d, struct sshd_chan *c, ssh_message msg);
/* Client text for an audit detail: bounded, valid UTF-8. */
json_t *sshd_jtext(const char *text);
/* Audit action with detail (stolen), "session" first. */
void sshd_audit(struct sshd *d, const char *action, json_t *detail);

/* sshsession.c */
/* Accept a session channel (requests are decided as they come). 0 when
 * handled, 1 to let libssh refuse. */
int sshd_session_open(struct sshd *d, ssh_message msg);
/* Move data for every session channel; end what finished. */
void sshd_session_pump_all(struct sshd *d);
/* End and audit what runs on a session channel (before it is freed). */
void sshd_session_stop(struct sshd *d, struct sshd_chan *c);

/* The SFTP child of a session channel (sshsftp.c): its audit lines read
 * and audited (1 when something was read), its stdin polled for room or
 * closed, whether it exited (status then set), and its end (its exit
 * status, or -1 when it had to be killed). */
int sshd_sftp_wake(socket_t fd, int revents, void *userdata);
int sshd_sftp_audit_read(struct sshd *d, struct sshd_chan *c);
void sshd_sftp_poll_in(struct sshd *d, struct sshd_chan *c, int want);
void sshd_sftp_close_in(struct sshd *d, struct sshd_chan *c);
int sshd_sftp_exited(struct sshd_chan *c, int *status);
int sshd_sftp_end(struct sshd *d, struct sshd_chan *c);

#endif
