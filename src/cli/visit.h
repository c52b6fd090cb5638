/* visit.h: plain OpenSSH on a session the specialist already holds.
 * `tether ssh-config` prints the ~/.ssh/config entry; its ProxyCommand is
 * `tether connect %n`, where %n is DEVICE.tether: visit_resolve finds the
 * caller's open session on DEVICE, and visit_known_host keeps the device's
 * registered host key where the entry's UserKnownHostsFile points. */
#ifndef TETHER_CLI_VISIT_H
#define TETHER_CLI_VISIT_H

#include <stddef.h>

#include "api.h"
#include "cliout.h"

/* The host-name suffix that names a device in the ssh config entry. */
#define VISIT_HOST_SUFFIX ".tether"
/* The known_hosts file under $TETHER_HOME. */
#define VISIT_KNOWN_HOSTS "known_hosts"

int visit_ssh_config_main(const struct cli *cli, int argc, char **argv);

/* arg is a session id, or DEVICE.tether: then id gets the caller's newest
 * consented or active session on DEVICE and host the name ("" for a
 * session id). 0, or an error already printed (no open session, ...). */
int visit_resolve(const struct cli *cli, struct api *a, const char *arg, char *id,
                  size_t idsz, char *host, size_t hostsz);
/* `tether ssh|sftp|diag|forward DEVICE` without --reason: the caller's
 * newest consented or active session on device, which must grant each of
 * need ("shell", "files:read", "forward:http", ...); *id is malloc'd. The
 * session stays the caller's to end. Errors printed. */
int visit_open_session(const struct cli *cli, struct api *a, const char *device,
                       const char *const *need, size_t nneed, char **id);
/* Replace host's line in $TETHER_HOME/known_hosts by "host key" (0600);
 * an error is printed. */
int visit_known_host(const struct cli *cli, const char *host, const char *key);

#endif
