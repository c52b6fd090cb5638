/* approvals.h: `tether approvals list | approve ID | refuse ID --reason TEXT`,
 * the customer's side of session approval (docs/access-control.md). */
#ifndef TETHER_CLI_APPROVALS_H
#define TETHER_CLI_APPROVALS_H

#include "cliout.h"

int approvals_main(const struct cli *cli, int argc, char **argv);

#endif
