/* devreport.h: the device's status (devstatus.h), gathered by the agent's
 * network part every status.interval_s.
 *
 * With status.command set, the monitor starts that argv as the support
 * user (spawn.h, SPAWN_KIND_STATUS: exactly the configured words), stdin
 * and stderr /dev/null, stdout a pipe read up to DEVSTATUS_MAX_INPUT
 * bytes within DEVREPORT_RUN_S; its JSON is checked with devstatus_parse.
 * A run that fails (exit status, timeout, too much output, a refused
 * object) keeps the command's last good part and says why in "note", so a
 * broken command never reads as "every error cleared". The agent adds
 * what it knows itself: uptime, free disk where state_dir lives, its
 * own version as component "tether-agent", and the version of each
 * component it installed (update.h, installed.json) that the command
 * does not report itself. An error code the command
 * gives no "since" for keeps the time the agent first saw it, kept in
 * state_dir/DEVREPORT_FILE across restarts.
 *
 * Sending: the ping carries the status ("device_status") whenever it
 * differs from what the server last acknowledged, leaving out uptime and
 * free disk, or when that is DEVREPORT_REFRESH_S old. A change of health,
 * error codes, versions or the note does not wait for a held long-poll to
 * end: it is posted at once (POST /api/v1/device/status through apiq). */
#ifndef TETHER_DEVREPORT_H
#define TETHER_DEVREPORT_H

#include <event2/event.h>

#include "agentconf.h"
#include "apiq.h"
#include "devstatus.h"

#define DEVREPORT_RUN_S      30              /* the command's time limit */
#define DEVREPORT_REFRESH_S  3600            /* resend even when unchanged */
#define DEVREPORT_FILE       "device-status.json"
#define DEVREPORT_AGENT_COMPONENT "tether-agent"

struct devreport;

int devreport_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
                  struct devreport **out);
/* Gather now, then every status_interval_s. */
void devreport_start(struct devreport *dr);
void devreport_free(struct devreport *dr);
/* Gather again now (an install changed a version). */
void devreport_refresh(struct devreport *dr);

/* For the ping: the status as canonical JSON text to send now, or NULL
 * when the server already has it. The pointer stays valid until the next
 * devreport call. */
const char *devreport_pending(struct devreport *dr);
/* The server answered 200 to a body that carried text (from
 * devreport_pending). */
void devreport_acked(struct devreport *dr, const char *text);

/* Pure, for tests: merge the command's status cmd (NULL: none, or its run
 * failed and prev's command part stands) with the agent's own facts into
 * out; an error without "since" takes prev's, else now. */
void devreport_merge(const struct devstatus *prev, const struct devstatus *cmd,
                     const char *note, int64_t uptime_s, int64_t disk_free_mb,
                     int64_t now, struct devstatus *out);

#endif
