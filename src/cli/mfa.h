/* mfa.h: `tether mfa enroll` and `tether mfa confirm CODE`. */
#ifndef TETHER_CLI_MFA_H
#define TETHER_CLI_MFA_H

#include <stdio.h>

#include "cliout.h"

int mfa_main(const struct cli *cli, int argc, char **argv);

/* Draw text as a QR code on out with Unicode half blocks (two module rows
 * per line, light modules and the quiet zone drawn, for dark terminals). */
int mfa_qr_print(FILE *out, const char *text);

#endif
