/* monitor.h: the agent's privileged part and the network part's way to it.
 *
 * `tether-agent run` becomes the MONITOR (root when started as root). It
 * makes the consent socket, then forks the NETWORK PART, which drops to
 * `user` and runs the event loop (ping, consent, session workers, the SSH
 * server). The monitor holds no key and does three things only:
 *  - serves SPAWN requests on a SOCK_SEQPACKET socketpair: size-checked
 *    messages (spawnmsg.h) with the child's fds and a per-spawn status
 *    socket attached (SCM_RIGHTS); each request is checked (spawn_check)
 *    and run by a keeper (spawn.h). A message that does not decode, or
 *    carries the wrong number of fds, drops the peer: the network part is
 *    killed and started again, as after a crash;
 *  - restarts the network part when it dies (backoff MONITOR_BACKOFF_MIN_S
 *    doubling to MONITOR_BACKOFF_MAX_S), killing its workers and every
 *    child spawned for it first;
 *  - on SIGTERM or SIGINT, passes SIGTERM on, waits (bounded) and stops;
 *  - watches the network part's HEARTBEAT: a byte on a pipe every
 *    MONITOR_HEARTBEAT_S from its event loop. None for MONITOR_HEARTBEAT_MISS_S
 *    (a hung or stopped loop) and the monitor kills it; the SIGCHLD path
 *    restarts it. The monitor itself is what the service manager watches
 *    (sdnotify.h: READY=1, WATCHDOG=1 from its own loop);
 *  - on SIGHUP, applies the config file's log level and passes SIGHUP on.
 *
 * The network part's side: monitor_spawn and friends. Where no monitor
 * channel was set (unit tests), monitor_spawn runs the keeper itself in a
 * double-forked process, in namespace mode. */
#ifndef TETHER_MONITOR_H
#define TETHER_MONITOR_H

#include <sys/types.h>

#include "agentconf.h"
#include "spawnmsg.h"

#define MONITOR_MAX_KEEPERS   64
#define MONITOR_BACKOFF_MIN_S 1
#define MONITOR_BACKOFF_MAX_S 60
#define MONITOR_STABLE_S      60     /* a run this long resets the backoff */
#define MONITOR_STOP_GRACE_S  15     /* for the network part to end its sessions */
#define MONITOR_EXIT_CONFIG   78     /* the network part cannot start at all: stop */
#define MONITOR_EXIT_UPDATE   75     /* the agent's binary was replaced: run it again */
#define MONITOR_HEARTBEAT_S   1      /* the network part's heartbeat period */
/* Longer than anything the network part may legitimately block for (a spawn
 * waits up to SPAWN_START_TIMEOUT_S + 5 s for the monitor's answer). */
#define MONITOR_HEARTBEAT_MISS_S 20

/* The network part's body: runs the event loop with the consent socket
 * listen_fd and returns the process's exit status. */
typedef int (*monitor_network_fn)(struct agent_conf *conf, int listen_fd);

/* Run the monitor until SIGTERM/SIGINT. Returns the exit status. */
int monitor_run(struct agent_conf *conf, monitor_network_fn network);

/* ---- in the network part and its workers ---------------------------------- */

/* The channel to the monitor in this process (-1: none). */
int monitor_client_fd(void);
void monitor_client_set(int fd);
/* From the network part's event loop, every MONITOR_HEARTBEAT_S: "alive".
 * A no-op without a monitor, and in any process forked from the network
 * part (a worker must not vouch for a hung loop). */
void monitor_heartbeat(void);

struct spawn_handle {
	int status_fd;               /* SOCK_SEQPACKET, close-on-exec */
	pid_t pid;                   /* as the monitor's namespace sees it */
	int exited;
	int exit_status;             /* exit code, 128+signal, -1 unknown */
};

/* Ask for req to be started with fds (req->nfds of them, still owned by
 * the caller, who closes them after). 0 with h filled once the child has
 * exec'd; TE_ERR_DENIED when it could not be isolated or covered (why
 * says what), another error otherwise. */
int monitor_spawn(const struct agent_conf *conf, const struct spawn_req *req,
                  const int *fds, struct spawn_handle *h, char *why, size_t whysz);
/* Has it exited? Non-blocking; 1 yes (h->exit_status set), 0 not yet. */
int monitor_spawn_poll(struct spawn_handle *h);
/* Stop it (the keeper hangs up its group, then kills it), wait for its
 * status (bounded) and close the handle. */
void monitor_spawn_stop(struct spawn_handle *h);

#endif
