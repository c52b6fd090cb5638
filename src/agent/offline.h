/* offline.h: `tether-agent install BUNDLE` (issue 10, section 4;
 * docs/updates.md, "Offline: a USB bundle"; docs/security.md, "Offline
 * installs").
 *
 * Run by the operator at a device without a network: the bundle
 * (bundle.h, made by `tether-server repo bundle`) is read by the same TUF
 * client against the root the device trusts already (a bundle never
 * brings the first root), so signatures, versions (rollback) and the
 * targets' expiry hold as online. Only the expiry of the timestamp and
 * snapshot, which the server renews daily and a stick cannot, may be
 * accepted, by the operator (--accept-expired) with a reason; that is
 * audited with who ran the command. The release is judged as online
 * (component, hardware, release counter), copied into STATE_DIR-install
 * with its SHA-256 checked, and installed with install.command, then
 * install.health (after install.restart, when agent.conf has it: the
 * agent that starts after the restart runs the check and reports it),
 * rolled back with install.rollback on failure. Every
 * step is audited on the device; the result waits in
 * state_dir/OFFLINE_REPORTS for the next ping to carry it to the server. */
#ifndef TETHER_AGENT_OFFLINE_H
#define TETHER_AGENT_OFFLINE_H

#include <stddef.h>

#include <jansson.h>

#include "agentconf.h"

#define OFFLINE_REPORTS           "tuf/offline-reports.json"
#define OFFLINE_MAX_REPORTS       16
#define OFFLINE_REPORTS_MAX_BYTES (64 * 1024)
#define OFFLINE_REASON_BYTES      256

/* 0 installed (or installed already), 1 refused or failed (said on
 * stderr, audited), 2 usage. */
int offline_install(const struct agent_conf *conf, const char *path, int accept_expired,
                    const char *reason);
/* Add a report for the next ping (at most OFFLINE_MAX_REPORTS kept, the
 * oldest dropped first): also by the agent that ran the health check
 * after an offline install's restart (actrun.c). */
void offline_report_add(const struct agent_conf *conf, const char *target, const char *version,
                        long long counter, const char *result, const char *who, int expired,
                        const char *reason);
/* The reports not yet taken by the server, oldest first ([] when none). */
json_t *offline_pending(const struct agent_conf *conf);
/* The server took the first n of them. */
void offline_reported(const struct agent_conf *conf, size_t n);

#endif
