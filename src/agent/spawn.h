/* spawn.h: start one program for a specialist (a shell, a diagnostic, the
 * SFTP server) in a keeper process, with nothing of the agent's.
 *
 * The keeper is forked by the monitor (monitor.h) for one SPAWN request. It
 * forks the child, tells the worker the child's pid or why it could not
 * start on the status socket, then waits for whichever comes first: the
 * child's exit (reported, and the child's process group killed), or the
 * status socket closing (the worker is gone or wants the child stopped:
 * SIGHUP to the group, SPAWN_KILL_WAIT_MS, then SIGKILL). So a child dies
 * with its session although its parent is the keeper, not the worker.
 *
 * Two modes:
 *  - SPAWN_MODE_SUPPORT_USER (the agent started as root): the child runs
 *    as support_user (setgroups, setresgid, setresuid), which can read
 *    none of the agent's state. The patient-data cover is a new mount and
 *    PID namespace made as root, covers mounted, then the uid drop: the
 *    support user cannot unmount them.
 *  - SPAWN_MODE_NAMESPACE (the agent runs as an ordinary user): no uid can
 *    be switched, so the child gets new user, mount and PID namespaces in
 *    which state_dir, the consent socket's folder and recordings_dir (and
 *    the refusal list when asked) are covered by empty read-only tmpfs, a
 *    fresh /proc, and a second user namespace that locks the mounts. When
 *    that is impossible the spawn fails (SPAWN_FAIL_ISOLATE): fail closed.
 *
 * In both, the child has only fds 0..nfds-1 (close_range), a clean
 * environment (HOME, PATH, SHELL, USER, LOGNAME, TERM, TETHER_SESSION), its
 * own session, default signals, and dies with its keeper. */
#ifndef TETHER_SPAWN_H
#define TETHER_SPAWN_H

#include "agentconf.h"
#include "spawnmsg.h"

#define SPAWN_KILL_WAIT_MS    1000
#define SPAWN_START_TIMEOUT_S 10

enum spawn_mode {
	SPAWN_MODE_SUPPORT_USER = 1,
	SPAWN_MODE_NAMESPACE = 2,
};

/* Is req something this device may run (the shell is conf->shell, a
 * diagnostic is exactly a configured diag.NAME's argv)? 0, or
 * TE_ERR_DENIED with why set. */
int spawn_check(const struct agent_conf *conf, const struct spawn_req *req,
                char *why, size_t whysz);

/* The keeper's body: fds are the req->nfds descriptors for the child,
 * status_fd the SOCK_SEQPACKET status socket. Never returns. */
void spawn_keeper(const struct agent_conf *conf, enum spawn_mode mode,
                  const struct spawn_req *req, const int *fds, int status_fd)
	__attribute__((noreturn));

/* Send one status message (best effort: the worker may be gone). */
void spawn_send_status(int fd, uint32_t type, int32_t value, const char *text);

#endif
