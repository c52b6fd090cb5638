/* capture.h: one program started by the agent's monitor (diag.h,
 * diag_spawn_output) whose output the network part reads without
 * blocking, bounded in bytes and in time: the device's status command
 * (devreport.h) and the maintenance queue's programs (actrun.h).
 *
 * Output past max bytes either ends the run (CAPTURE_OVER_FAILS: a status
 * that long is refused anyway) or is counted and dropped while the
 * program goes on (CAPTURE_OVER_DROPS: an activity's log keeps its head).
 * After EOF the exit status is waited for, within the same time limit;
 * a program past it is stopped (its process group killed). done is called
 * once, from the event loop, with fail NULL when the program ran to its
 * exit (exit_status then says how) or why it did not. */
#ifndef TETHER_CAPTURE_H
#define TETHER_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "agentconf.h"

enum capture_over { CAPTURE_OVER_FAILS = 1, CAPTURE_OVER_DROPS = 2 };

struct capture_spec {
	const struct agent_diag *argv;    /* what the monitor starts (its kind's check) */
	uint32_t kind;                    /* SPAWN_KIND_* */
	const char *session;              /* names the run in the monitor's log */
	int with_stderr;                  /* stderr into the same pipe, in order */
	int in_fd;                        /* stdin (still the caller's); -1: /dev/null */
	size_t max;                       /* output bytes kept */
	enum capture_over over;
	int time_s;                       /* the whole run's limit */
};

/* out (NUL-terminated at len) lives in the capture: valid until
 * capture_free, which done may call, last; dropped counts the bytes past
 * max (CAPTURE_OVER_DROPS). */
typedef void (*capture_done_fn)(void *arg, const char *fail, int exit_status, char *out,
                                size_t len, unsigned long long dropped);

struct capture;

/* Start the program. 0 with *out set (done comes later), or an error with
 * why set and done never called. */
int capture_start(struct event_base *base, const struct agent_conf *conf,
                  const struct capture_spec *spec, capture_done_fn done, void *arg,
                  struct capture **out, char *why, size_t whysz);
/* Stop the program if it runs (done is not called) and free c. NULL-safe. */
void capture_free(struct capture *c);

#endif
