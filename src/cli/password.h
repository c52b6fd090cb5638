/* password.h: `tether password`, the user's own password change. */
#ifndef TETHER_CLI_PASSWORD_H
#define TETHER_CLI_PASSWORD_H

#include "cliout.h"

int password_main(const struct cli *cli, int argc, char **argv);

#endif
