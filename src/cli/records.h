/* records.h: `tether records` (records.c). */
#ifndef TETHER_CLI_RECORDS_H
#define TETHER_CLI_RECORDS_H

#include "cliout.h"

int records_main(const struct cli *cli, int argc, char **argv);

#endif
