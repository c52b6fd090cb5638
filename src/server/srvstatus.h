/* srvstatus.h: a device's status report, from its ping ("device_status")
 * or POST /api/v1/device/status (docs/protocol.md).
 *
 * The latest status is kept for every report; a change of state (health,
 * the set of error codes, a component's version: devstatus_same_state)
 * also adds a history row, an error row for each new code and a clearing
 * time for each code gone, and drops this device's history older than
 * status.history_days. A new alerting health or code (alert.PRODUCT in
 * tether-server.conf) queues a "device_alert" notification first. */
#ifndef TETHER_SERVER_SRVSTATUS_H
#define TETHER_SERVER_SRVSTATUS_H

#include "devstatus.h"
#include "server.h"
#include "store.h"

int srvstatus_take(struct server *srv, const struct store_device *d,
                   const struct devstatus *now);

#endif
