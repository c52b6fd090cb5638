/* sshd.h: the embedded SSH server (libssh) that runs inside the tunnel.
 *
 * It never listens: it serves one SSH connection on a file descriptor the
 * tunnel worker hands it (one end of a socketpair spliced to the relay).
 * Authentication: password only, for the support user, against
 * state_dir/support.hash with the lockout counter. After that the ticket
 * decides, again, on the device:
 *   "direct-tcpip" to an allowlisted local service: "forward:<name>";
 *   a session channel's pty-req / shell / exec: "shell" (recorded, shell.h);
 *   exec of exactly a configured diagnostic NAME: "diag:<NAME>" (diag.h);
 *   subsystem "sftp": "files:read" or "files:write" (sftpd.h), with the
 *   patient-data refusal list lifted only by "patient_records".
 * Everything else is refused and audited. The ticket's "end" (absolute) and
 * "idle" (no channel data either way) limits end the connection. */
#ifndef TETHER_SSHD_H
#define TETHER_SSHD_H

#include "agentconf.h"
#include "ticket.h"

#define SSHD_MAX_AUTH_TRIES 3
#define SSHD_MAX_CHANNELS   32
#define SSHD_KEX_TIMEOUT_S  30

/* Why sshd_serve returned. */
enum sshd_end {
	SSHD_END_CLOSED = 0,         /* the client or the tunnel went away, or a stop */
	SSHD_END_IDLE,               /* the ticket's idle timeout */
	SSHD_END_MAX_DURATION,       /* the ticket's end time */
	SSHD_END_NO_AUDIT,           /* a record of the session could not be written */
};

/* What an exec request's command runs, pure: SSHD_EXEC_DIAG (*diag set)
 * when it is exactly a configured diagnostic's name and the ticket grants
 * diag:NAME; SSHD_EXEC_SHELL when the ticket grants "shell" (the command
 * runs through the shell, recorded); otherwise a refusal with *why. */
enum sshd_exec {
	SSHD_EXEC_REFUSED = 0,
	SSHD_EXEC_DIAG,
	SSHD_EXEC_SHELL,
};
enum sshd_exec sshd_exec_decide(const struct agent_conf *conf,
                                const struct ticket *t, const char *command,
                                const struct agent_diag **diag,
                                const char **why);

/* The ticket's limits at time now, with the last channel data at last_io:
 * SSHD_END_CLOSED while within them. */
enum sshd_end sshd_limit_check(const struct ticket *t, int64_t now,
                               int64_t last_io);

/* Must a shell under ticket t hide the refusal list? 1 when the device
 * has one and the ticket lacks patient_records. */
int sshd_shell_hides(const struct agent_conf *conf, const struct ticket *t);

/* The forwarding decision, pure (no I/O): may a channel to host:port be
 * opened under ticket t? 0 and *svc set when yes; TE_ERR_NOT_FOUND when
 * host:port is not an allowlisted local service; TE_ERR_DENIED when the
 * ticket does not grant "forward:<name>". */
int sshd_forward_allowed(const struct agent_conf *conf, const struct ticket *t,
                         const char *host, int port,
                         const struct agent_service **svc);

/* Async-signal-safe: make a running sshd_serve end its connection cleanly
 * (channels closed and audited) within about a second. Returns 1 when a
 * connection loop is running and will stop, 0 when none is (yet). */
int sshd_request_stop(void);

#define SSHD_LIMIT_REPORT_WAIT_S 5

/* Serve one SSH connection on fd (the session takes ownership of fd).
 * Returns when the connection ends; 0 for an orderly end, *end says why
 * (end may be NULL). When a ticket limit ends it, nothing more flows, one
 * byte ('i' idle, 'm' maximum duration, 'a' an audit record could not be
 * written) is written to notify_fd (-1: none),
 * and the channels are closed only after sshd_request_stop or
 * SSHD_LIMIT_REPORT_WAIT_S, so that the agent tells the server the reason
 * before the client or the relay sees anything close. */
int sshd_serve(const struct agent_conf *conf, const struct ticket *t, int fd,
               int notify_fd, enum sshd_end *end);

/* In this worker, the session's support password was given on an earlier
 * connection (visit.h): the support user is let in with the "none" method
 * (audited auth_success "proven"). */
void sshd_visit_proof(int proven);

#endif
