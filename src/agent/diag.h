/* diag.h: predefined diagnostics (`diag.NAME = /abs/prog arg ...`).
 *
 * An exec request whose command is exactly a configured NAME runs that
 * entry's argv with execve: no shell, no argument from the client, stdin
 * /dev/null, stdout and stderr both into one pipe (sent to the client as
 * channel data, in order), started by the agent's monitor like the shell
 * (spawn.h: the support user or namespaces, a clean environment), in a
 * session of its own that is killed after DIAG_MAX_RUNTIME_S. */
#ifndef TETHER_DIAG_H
#define TETHER_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "agentconf.h"
#include "secret.h"

#define DIAG_MAX_RUNTIME_S 60

struct diag;

/* Have d's argv started. 0, or an error with why set: TE_ERR_DENIED when
 * it cannot be kept apart from the agent here (refuse, say why). */
int diag_start(const struct agent_conf *conf, const struct agent_diag *d,
               const char *session, struct diag **out, char *why, size_t whysz);
/* Have d's argv started by the monitor as kind (SPAWN_KIND_DIAG,
 * SPAWN_KIND_STATUS, ...), stdin in_fd (-1: /dev/null; still the caller's
 * to close), stdout (and stderr too when
 * with_stderr, else /dev/null) into a pipe whose non-blocking read end is
 * *out_fd. 0 with h filled, or an error with why set. */
struct spawn_handle;
int diag_spawn_output(const struct agent_conf *conf, const struct agent_diag *d,
                      uint32_t kind, const char *session, int with_stderr, int in_fd,
                      struct spawn_handle *h, int *out_fd, char *why, size_t whysz);
/* The output pipe (non-blocking), to poll. */
int diag_fd(const struct diag *dg);
/* Count and hash output bytes sent to the client. */
void diag_account(struct diag *dg, const void *data, size_t len);
/* Has it exited? Reaps it (non-blocking); 1 yes, 0 not yet. */
int diag_exited(struct diag *dg);
/* Past its runtime bound? */
int diag_overdue(const struct diag *dg, time_t now);

struct diag_result {
	int exit_status;                  /* exit code, 128+signal */
	int timed_out;                    /* killed at DIAG_MAX_RUNTIME_S */
	unsigned long long output_bytes;
	char sha256[SHA256_HEX_BYTES];    /* of the output as sent */
};

/* Reap it (killing its group first when it is still running or overdue),
 * fill res and free dg. */
void diag_finish(struct diag *dg, struct diag_result *res);

#endif
