/* login.h: `tether login` and `tether logout`. */
#ifndef TETHER_CLI_LOGIN_H
#define TETHER_CLI_LOGIN_H

#include <stddef.h>

#include <jansson.h>

#include "cliout.h"

#define LOGIN_MAX_PASSWORD_BYTES 1024
#define LOGIN_MAX_CODE_BYTES     64     /* a TOTP code or a recovery code */

/* Exit code of login, mfa confirm and password when the password was right
 * but the account setup (TOTP enrollment, a forced password change) must be
 * finished first: a setup-only login was saved and the next commands were
 * printed. Distinct from CLI_EXIT_FAIL so scripts can tell. */
#define LOGIN_EXIT_SETUP 3

/* Each returns an exit code (enum cli_exit). argv starts after the command. */
int login_main(const struct cli *cli, int argc, char **argv);
int logout_main(const struct cli *cli, int argc, char **argv);
/* `tether renew [--totp CODE | --recovery-code CODE]`: a new token for the
 * profile's login with the second factor alone, while the server's renewal
 * limit after the password login lasts. */
int renew_main(const struct cli *cli, int argc, char **argv);

/* The password: TETHER_PASSWORD (then wiped from the environment), else a
 * prompt on the terminal without echo, else one line from stdin. */
int login_read_password(const char *prompt, char *out, size_t outsz);
/* The same for any variable: env_name (then wiped and unset), else the
 * terminal without echo, else one line from stdin. */
int login_read_secret(const char *env_name, const char *prompt, char *out, size_t outsz);
/* Check the --server, --ca, --user and --proxy of login or enroll (a
 * usage error or a CA that cannot be read is reported); the CA's absolute
 * path into ca_abs (PATH_MAX). Returns an exit code, CLI_EXIT_OK when fine. */
int login_check_args(const struct cli *cli, const char *server, const char *ca,
                     const char *user, const char *proxy, char *ca_abs);
/* Print what a setup-scope answer (login, mfa confirm, password) still
 * needs and the commands that do it; returns LOGIN_EXIT_SETUP. */
int login_setup_report(const struct cli *cli, const json_t *resp);

#endif
