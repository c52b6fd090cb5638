/* childproc.h: the first steps of a forked child that will exec a program.
 *
 * The agent's monitor and keepers handle SIGPIPE, SIGTERM, SIGINT and
 * SIGCHLD and block signals; a program they start (a diagnostic, the shell,
 * spawn.c) must begin
 * with the default dispositions, an empty signal mask, and die with its
 * parent. Only async-signal-safe calls, so it may run between fork and
 * execve. */
#ifndef TETHER_CHILDPROC_H
#define TETHER_CHILDPROC_H

#include <sys/types.h>

#define CHILDPROC_NOFILE 1024      /* soft descriptor limit a program starts with */

/* Default SIGPIPE/SIGTERM/SIGINT/SIGCHLD/SIGHUP, unblock all signals, ask for
 * SIGKILL when the parent dies, and put the soft descriptor limit back to
 * CHILDPROC_NOFILE. */
void childproc_reset_signals(void);
/* Die with the parent: SIGKILL (sig) when it dies, and, because it may
 * have died between fork and here, _exit(code) now when the parent is no
 * longer `parent` (its pid as the parent saw it before fork). Every
 * process the agent forks calls it first, on systems without systemd too. */
void childproc_die_with(pid_t parent, int sig, int code);

#endif
