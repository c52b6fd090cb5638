/* files.h: `tether files` (files.c). */
#ifndef TETHER_CLI_FILES_H
#define TETHER_CLI_FILES_H

#include "cliout.h"

int files_main(const struct cli *cli, int argc, char **argv);

#endif
