/* sftpchild.h: the SFTP server as a child process of the session worker.
 *
 * The worker holds the TLS and SSH state; the SFTP engine (sftpd.h) touches
 * the device's files on the specialist's behalf, so it runs in its own
 * process, `tether-agent sftp-server`, started by sftpchild_start() with
 * the session's grants on argv (no config file, which may hold the proxy
 * password): stdin carries the client's SFTP bytes, stdout the replies,
 * and fd 3 the engine's audit records as JSON lines
 *   {"action":"file_read","detail":{...}}\n
 * at most MAX_SFTP_AUDIT_LINE_BYTES each. The worker reads them with
 * sftpchild_audit_line(), which treats them as untrusted (the child may be
 * less privileged and compromised): a bounded line, one of the engine's
 * actions, a flat detail object. The child exits 0 when the client closed
 * its side, 1 when the engine ended the channel (a protocol error), 2 on
 * bad arguments; the worker sends that as the channel's exit-status. */
#ifndef TETHER_SFTPCHILD_H
#define TETHER_SFTPCHILD_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "agentconf.h"
#include "monitor.h"

#define SFTPCHILD_ACTION_BYTES 32
#define SFTPCHILD_MAX_DETAIL_KEYS 8    /* fields in one audit record's detail */
#define SFTPCHILD_MAX_ARGS     (3 * 16 + 2 * 32 + 8)  /* sftp-server's argv */
#define SFTPCHILD_EXIT_ENGINE  1
#define SFTPCHILD_EXIT_USAGE   2

/* What one SFTP channel may do, from the config and the ticket. */
struct sftpchild_spec {
	const char *const *roots; size_t nroots;     /* files.* */
	const char *const *names;  /* NULL, or each root's NAME (files.NAME):
	                              the client sees them as folders at its
	                              root (sftpd.h, named areas) */
	const char *const *refuse; size_t nrefuse;   /* patient_data.* */
	int write_ok, patient_ok, casefold;
};

/* argv for `tether-agent sftp-server` (NULL-terminated, pointing into spec);
 * argv needs SFTPCHILD_MAX_ARGS slots. 0 or TE_ERR_TOO_LONG. */
int sftpchild_argv(const struct sftpchild_spec *spec, const char **argv, size_t max);

/* Start `tether-agent sftp-server` for spec through the agent's monitor
 * (monitor.h: as support_user, or in namespaces that hide the agent's
 * files): the one place the worker starts it. in is its stdin, out its
 * stdout, aud its audit lines (all non-blocking, the worker's to close);
 * h its pid and status (monitor_spawn_poll / monitor_spawn_stop). 0, or
 * an error with why set (TE_ERR_DENIED: it cannot be isolated here). */
int sftpchild_start(const struct agent_conf *conf, const char *session,
                    const struct sftpchild_spec *spec, struct spawn_handle *h,
                    int *in, int *out, int *aud, char *why, size_t whysz);

/* Fork and exec prog with argv directly (tests; the agent itself goes
 * through sftpchild_start), its stdin, stdout and fd 3 on pipes; fds[0]
 * is written to (its stdin), fds[1] and fds[2] read from (stdout, audit).
 * The worker's ends are non-blocking and close-on-exec; nothing else of the
 * worker's is inherited. 0 or TE_ERR_SYS. */
int sftpchild_spawn(const char *prog, char *const argv[], int fds[3], pid_t *pid);

/* Parse one audit line (without its '\n'): 0 with action and a new detail
 * reference, or TE_ERR_TOO_LONG / TE_ERR_INVALID. */
int sftpchild_audit_line(const char *line, size_t len,
                         char action[SFTPCHILD_ACTION_BYTES], json_t **detail);

/* `tether-agent sftp-server ARGS`: argv[0] is "sftp-server". Returns the
 * exit status. */
int sftpchild_main(int argc, char **argv);

#endif
