/* login.h: `tether login` and `tether logout`. */
#ifndef TETHER_CLI_LOGIN_H
#define TETHER_CLI_LOGIN_H

#include <stddef.h>

#include "cliout.h"

#define LOGIN_MAX_PASSWORD_BYTES 1024

/* Each returns an exit code (enum cli_exit). argv starts after the command. */
int login_main(const struct cli *cli, int argc, char **argv);
int logout_main(const struct cli *cli, int argc, char **argv);

/* The password: TETHER_PASSWORD (then wiped from the environment), else a
 * prompt on the terminal without echo, else one line from stdin. */
int login_read_password(const char *prompt, char *out, size_t outsz);

#endif
