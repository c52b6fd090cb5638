/* deploy.h: `tether deploy create|status|pause|resume|abort`, a release
 * rolled out in waves through the maintenance queue (docs/updates.md,
 * "Deployments"); `status ID` on a terminal follows a running one live. */
#ifndef TETHER_CLI_DEPLOY_H
#define TETHER_CLI_DEPLOY_H

#include "cliout.h"

int deploy_main(const struct cli *cli, int argc, char **argv);

#endif
