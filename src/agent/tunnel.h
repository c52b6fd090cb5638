/* tunnel.h: one worker process per session: relay leg + embedded SSH server.
 *
 * The worker is a forked child so that a crash or hang while handling SSH
 * cannot take the agent (and its consent socket and ping loop) down. The
 * parent keeps the pid, signals it on END / session_end and reaps it on
 * SIGCHLD. */
#ifndef TETHER_TUNNEL_H
#define TETHER_TUNNEL_H

#include <sys/types.h>

#include "agentconf.h"
#include "bounds.h"
#include "ticket.h"

#define TUNNEL_HOST_BYTES 256
#define TUNNEL_PORT_BYTES 8
/* TCP connect, TLS handshake and the relay's answer to the preamble, all
 * within this: a stopped or stuck relay costs a session at most this long,
 * and the server's health check has marked it down by the next one. */
#define TUNNEL_RELAY_DEADLINE_S 5
/* After the SSH server ends: how long its last bytes and the relay's close
 * may take before the leg is cut anyway (well below the agent's stop grace,
 * AGENT_STOP_GRACE_S in main.c). */
#define TUNNEL_DRAIN_S 2

/* Worker exit codes that tell the agent why the session ended, so that it
 * reports the reason to the server (consent_on_worker_exit). */
/* The relay refused the leg, or was not the relay the ticket names. */
#define TUNNEL_EXIT_REFUSED      3
#define TUNNEL_EXIT_IDLE         6    /* the ticket's idle timeout */
#define TUNNEL_EXIT_MAX_DURATION 7    /* the ticket's end time */
#define TUNNEL_EXIT_NO_AUDIT     8    /* an audit record could not be written */
/* The relay gave no usable answer within TUNNEL_RELAY_DEADLINE_S: the agent
 * asks the server for another (POST /device/relay-failed) and starts a new
 * worker there, at most TUNNEL_RELAY_MOVES times per session. */
#define TUNNEL_EXIT_RELAY_FAILED 9
#define TUNNEL_RELAY_MOVES       3

struct tunnel_spec {
	char session[MAX_NAME_BYTES];
	char ticket[MAX_TICKET_BYTES];      /* as received; sent in the preamble */
	char relay_host[TUNNEL_HOST_BYTES];
	char relay_port[TUNNEL_PORT_BYTES];
	struct ticket verified;             /* the parsed, verified ticket */
	int proven;                         /* the session's support password was given */
};

/* Fork the worker. The child never returns. *notify (non-blocking, close
 * on exec) is the read end of a pipe on which the worker writes one byte
 * when a ticket limit ends the session ('i' idle, 'm' maximum duration), or
 * an audit record cannot be written ('a'):
 * the caller reports the reason to the server, then stops the worker. */
int tunnel_start(const struct agent_conf *conf, const struct tunnel_spec *spec,
                 pid_t *out, int *notify);
/* Ask a worker to stop (SIGTERM); the caller reaps it. */
void tunnel_stop(pid_t pid);
/* The worker's body (exposed for tests): dial, preamble, SSH. Returns the
 * process exit status to use. */
int tunnel_worker(const struct agent_conf *conf, const struct tunnel_spec *spec,
                  int notify_fd);

#endif
