/* queue.h: `tether queue add|list|show|cancel|retry`, the maintenance
 * queue (docs/fleet.md). */
#ifndef TETHER_CLI_QUEUE_H
#define TETHER_CLI_QUEUE_H

#include "cliout.h"

int queue_main(const struct cli *cli, int argc, char **argv);

#endif
