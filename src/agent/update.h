/* update.h: the device's side of the software repository (update.c). */
#ifndef TETHER_AGENT_UPDATE_H
#define TETHER_AGENT_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agentconf.h"

/* `tether-agent update check [TARGET]`: refresh the trusted TUF metadata
 * in state_dir/tuf from the server; with TARGET, print its verified entry.
 * 0 ok, 1 refused or failed (said on stderr and audited), 2 usage. */
int update_check(const struct agent_conf *conf, const char *target);

/* The version of the timestamp the device trusts (state_dir/tuf), 0 when
 * none: what its ping says, for the server to tell it of a newer one. */
int64_t update_trusted_timestamp(const struct agent_conf *conf);

/* Where an update lives on the device:
 *   state_dir/tuf/              the trusted metadata, installed.json
 *   state_dir/tuf/download/     HEX.part while it comes (kept across tries)
 *   state_dir/tuf/staged/       HEX once its length and SHA-256 held
 *   STATE_DIR-install/          the monitor's copy the installer reads
 * (HEX is the target's SHA-256.) */
#define UPDATE_INSTALLED_FILE "installed.json"
#define UPDATE_FETCH_TRIES    5         /* downloads in one run, each resuming */
#define UPDATE_SPARE_BYTES    (16LL * 1024 * 1024)   /* free disk kept besides */

/* The worker's exit statuses (SPAWN_KIND_UPDATE): */
#define UPDATE_STAGED    0   /* last line: staged HEX LENGTH VERSION COUNTER */
#define UPDATE_FAILED    1   /* worth another try later (network, disk) */
#define UPDATE_REFUSED   2   /* the device will not install it: last line says why */
#define UPDATE_CURRENT   3   /* already installed: last line current VERSION COUNTER */

/* `tether-agent update fetch COMPONENT TARGET` (the update worker, run by
 * the monitor as the agent's user for an install activity): refresh the
 * trusted metadata, check the target (its component, this device's
 * hardware, a release counter not below the installed one's), check the
 * free disk, download it resumably (download.h; download_rate) and check
 * its length and SHA-256, then move it to staged/. Each refusal and the
 * download are audited on the device. Returns an UPDATE_* status. */
int update_fetch(const struct agent_conf *conf, const char *component, const char *target);

/* For the monitor (root), before the installer runs: copy staged/HEX into
 * STATE_DIR-install/HEX (that folder made 0700, emptied of older copies),
 * checking the copy's SHA-256 is HEX; its path into out. 0 or a te_err
 * with why set. */
int update_stage_copy(const struct agent_conf *conf, const char *hex, char *out, size_t outsz,
                      char *why, size_t whysz);

/* Remove staged/HEX (installed: no longer needed). */
void update_unstage(const struct agent_conf *conf, const char *hex);
/* After a good install: component is at version, release counter counter
 * (installed.json, fsynced). */
int update_installed_set(const struct agent_conf *conf, const char *component,
                         const char *version, long long counter, const char *target);
/* The installed version of component (out "" and *counter -1 when none). */
void update_installed_get(const struct agent_conf *conf, const char *component, char *version,
                          size_t versz, long long *counter);
/* installed.json as parsed JSON ({} when none or unreadable). */
json_t *update_installed_load(const struct agent_conf *conf);

#endif
