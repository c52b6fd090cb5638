/* selfupdate.h: the agent updating itself (issue 10, section 3;
 * docs/updates.md, "The agent's own update").
 *
 * With `self_update = yes`, an install activity of component tether-agent
 * needs no install.command: after the update worker has staged the
 * verified binary,
 *  1. the monitor's keeper (root) copies it into STATE_DIR-install (its
 *     SHA-256 checked again), and runs the copy twice as the agent's user,
 *     as a health check before anything changes: `--version` must say
 *     "tether-agent VERSION" (the release's), and `selftest --config FILE`
 *     must reach the server as this device. Either failing leaves the
 *     running agent as it is;
 *  2. it swaps the files beside the running binary (BIN.prev a hard link
 *     to the old one, the new one renamed over BIN) and leaves a trial
 *     marker, STATE_DIR-install/SELFUPDATE_TRIAL;
 *  3. the network part notes the activity in state_dir/SELFUPDATE_PENDING
 *     and exits with MONITOR_EXIT_UPDATE; the monitor then executes BIN
 *     again, with its own arguments;
 *  4. the new monitor finds the trial marker: its network part must have
 *     its first ping answered within SELFUPDATE_TRIAL_S (it says so with
 *     state_dir/SELFUPDATE_OK), and the monitor may start at most
 *     SELFUPDATE_MAX_STARTS times meanwhile. Otherwise it renames
 *     BIN.prev back over BIN, leaves why in state_dir/SELFUPDATE_RESULT
 *     and executes the old binary again;
 *  5. the network part that starts then finishes the activity from the
 *     pending note: done ("updated from A to B") once its first ping is
 *     answered, or failed ("fell back to A") when a result says so.
 * Limit: a binary that passes the health check of step 1 but dies before
 * it reads the marker is started again by the service manager as it is;
 * step 1 is there to make that unlikely. */
#ifndef TETHER_AGENT_SELFUPDATE_H
#define TETHER_AGENT_SELFUPDATE_H

#include <stddef.h>
#include <time.h>

#include "agentconf.h"

#define SELFUPDATE_COMPONENT   "tether-agent"
#define SELFUPDATE_TRIAL       "self-trial.json"        /* in STATE_DIR-install */
#define SELFUPDATE_PENDING     "tuf/self-pending.json"  /* in state_dir */
#define SELFUPDATE_OK          "tuf/self-ok"
#define SELFUPDATE_RESULT      "tuf/self-result.json"
#define SELFUPDATE_TRIAL_S     45
#define SELFUPDATE_MAX_STARTS  3
/* each health-check run's limit: both fit in the time a spawn waits for
 * its start (SPAWN_START_TIMEOUT_S + 5) */
#define SELFUPDATE_CHECK_S     6

/* The monitor's own binary and arguments, kept at its start for the
 * execution after a swap (and by the keeper, a fork of it, for the swap). */
void selfupdate_set_self(const char *exe, char **argv);
const char *selfupdate_exe(void);
/* Execute path (NULL: the monitor's binary) with the monitor's arguments,
 * signals unblocked; returns only on failure. */
void selfupdate_reexec(const char *path);

/* Step 1 and 2, in the keeper (root): into bin (the path of the new
 * binary) when the checks passed and the files were swapped. 0, or a
 * te_err with why set and nothing changed. */
int selfupdate_install(const struct agent_conf *conf, const char *hex, const char *version,
                       char *bin, size_t binsz, char *why, size_t whysz);

/* The monitor's trial (step 4). */
struct selfupdate_trial {
	int active;
	time_t deadline;
	char bin[AGENT_PATH_BYTES];
};
/* At the monitor's start: 1 when a trial runs (t filled, the start
 * counted), -1 when it must fall back at once (too many starts), 0 none. */
int selfupdate_trial_begin(const struct agent_conf *conf, struct selfupdate_trial *t);
/* Each turn of the monitor: 1 passed (the marker is gone), -1 the deadline
 * passed, 0 still waiting. */
int selfupdate_trial_check(const struct agent_conf *conf, struct selfupdate_trial *t,
                           time_t now);
/* Put BIN.prev back over BIN and say why for the network part. */
void selfupdate_fall_back(const struct agent_conf *conf, struct selfupdate_trial *t,
                          const char *why);

#endif
