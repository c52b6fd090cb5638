/* sessions.h: `tether sessions`, the caller's open and recent sessions. */
#ifndef TETHER_CLI_SESSIONS_H
#define TETHER_CLI_SESSIONS_H

#include "cliout.h"

int sessions_main(const struct cli *cli, int argc, char **argv);

#endif
