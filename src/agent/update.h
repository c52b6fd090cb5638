/* update.h: the device's side of the software repository (update.c). */
#ifndef TETHER_AGENT_UPDATE_H
#define TETHER_AGENT_UPDATE_H

#include "agentconf.h"

/* `tether-agent update check [TARGET]`: refresh the trusted TUF metadata
 * in state_dir/tuf from the server; with TARGET, print its verified entry.
 * 0 ok, 1 refused or failed (said on stderr and audited), 2 usage. */
int update_check(const struct agent_conf *conf, const char *target);

#endif
