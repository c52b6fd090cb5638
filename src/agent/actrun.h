/* actrun.h: the maintenance queue on the device (docs/fleet.md, "The
 * maintenance queue").
 *
 * A ping's "activity" event carries an envelope (actenv.h). The agent runs
 * it only when the server's ticket key signed it, it names this device,
 * it has not expired by the device's clock (with the server's offset),
 * and its kind and name are in this agent.conf: diag.NAME, collect.NAME
 * or config.NAME. Anything else is refused and reported with why
 * (refused_by_device); an envelope that expired before it could start is
 * reported not_started, for the server to release again in a later
 * window.
 *
 * Exactly once: before the program starts, state_dir/activities/ID.json
 * says "started" (written whole and fsynced, filerepl.h); when it ends,
 * the same file holds the result, and then it is reported until the
 * server answers. A delivery of an id that has a file is never run again
 * (its result is reported again instead). An agent that finds "started"
 * at its start was stopped while it ran: it reports "interrupted" and
 * does not run it again.
 *
 * Programs run as the support user through the monitor, as diagnostics
 * do: diag (SPAWN_KIND_DIAG) and config (SPAWN_KIND_CONFIG, the signed
 * values on stdin), output (stdout and stderr) kept up to
 * ACTRUN_OUTPUT_BYTES, killed after ACTRUN_RUN_S; collect runs the
 * collection (collect.h) with its files tagged with the activity; install
 * (its input a repository target, its name the target's component) runs
 * the update worker, then install.command, install.health and on a
 * failure install.rollback through the monitor (actrun_install_*,
 * update.h). The consent socket's watchers see activity_started and
 * activity_ended. */
#ifndef TETHER_ACTRUN_H
#define TETHER_ACTRUN_H

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "agentconf.h"
#include "apiq.h"
#include "devreport.h"

#define ACTRUN_DIR           "activities"      /* in state_dir */
/* An install whose install.restart ran (through the queue, or offline):
 * the agent that starts after the restart runs install.health for it. */
#define ACTRUN_RESTART_NOTE  "tuf/restart-pending.json"   /* in state_dir */
#define ACTRUN_OUTPUT_BYTES  (31 * 1024)       /* output kept and reported */
#define ACTRUN_RUN_S         600               /* a program's time limit */
#define ACTRUN_RETRY_S       15                /* a report the server did not take */
#define ACTRUN_KEEP_S        (8 * 86400)       /* reported files kept to spot repeats */

struct actrun;
struct collector;
struct consent;

int actrun_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
               EVP_PKEY *ticket_pub, struct collector *collector, struct consent *consent,
               struct actrun **out);
/* Look at what a previous run left: "started" becomes interrupted; results
 * not yet taken by the server are reported. */
void actrun_start(struct actrun *ar);
/* A ping's {"type":"activity","id","envelope"} event. */
void actrun_on_event(struct actrun *ar, const json_t *ev);
void actrun_free(struct actrun *ar);
/* The server serves timestamp version (newer than the device trusts):
 * refresh the trusted metadata (`update check` through the monitor, as
 * the agent's user) unless a refresh runs or already ran for it. */
void actrun_repo_noticed(struct actrun *ar, int64_t version);
/* An own update swapped the binary: the network part ends (with
 * MONITOR_EXIT_UPDATE) for the monitor to run the new one. */
int actrun_wants_restart(const struct actrun *ar);
/* The server answered a ping (the own update's health check). */
void actrun_server_answered(struct actrun *ar);
/* Where a finished install asks for the new version to be reported now. */
void actrun_set_devreport(struct actrun *ar, struct devreport *dr);

#endif
