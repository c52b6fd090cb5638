/* enroll.h: `tether enroll`, a user's first step with an enrollment code. */
#ifndef TETHER_CLI_ENROLL_H
#define TETHER_CLI_ENROLL_H

#include "cliout.h"

/* Returns an exit code (enum cli_exit). argv starts after the command. */
int enroll_main(const struct cli *cli, int argc, char **argv);

#endif
