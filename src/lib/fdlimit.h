/* fdlimit.h: the descriptor limit a daemon runs with. A unit's LimitNOFILE
 * (or a shell's ulimit) sets a hard limit, but the soft limit a process
 * starts with is often 1024; each daemon raises its soft limit to the hard
 * one at start, so that its connection limits (connlimit.h), which are
 * derived from the soft limit, can use what the administrator granted. */
#ifndef TETHER_FDLIMIT_H
#define TETHER_FDLIMIT_H

/* Raise RLIMIT_NOFILE's soft limit to its hard limit and log the result
 * once ("descriptors: ..."). Returns the soft limit now in force (capped
 * at 1<<20 when unlimited), or -1 when it cannot be read. */
long fdlimit_raise(void);

#endif
