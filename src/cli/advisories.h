/* advisories.h: `tether advisories` (advisories.c). */
#ifndef TETHER_CLI_ADVISORIES_H
#define TETHER_CLI_ADVISORIES_H

#include "cliout.h"

int advisories_main(const struct cli *cli, int argc, char **argv);

#endif
