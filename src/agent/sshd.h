/* sshd.h: the embedded SSH server (libssh) that runs inside the tunnel.
 *
 * It never listens: it serves one SSH connection on a file descriptor the
 * tunnel worker hands it (one end of a socketpair spliced to the relay).
 * Authentication: password only, for the support user, against
 * state_dir/support.hash with the lockout counter. After that only
 * "direct-tcpip" channels to allowlisted local services that the ticket
 * grants ("forward:<name>") are opened; everything else is refused. */
#ifndef TETHER_SSHD_H
#define TETHER_SSHD_H

#include "agentconf.h"
#include "ticket.h"

#define SSHD_MAX_AUTH_TRIES 3
#define SSHD_MAX_CHANNELS   32
#define SSHD_KEX_TIMEOUT_S  30

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

/* Serve one SSH connection on fd (the session takes ownership of fd).
 * Returns when the connection ends; 0 for an orderly end. */
int sshd_serve(const struct agent_conf *conf, const struct ticket *t, int fd);

#endif
