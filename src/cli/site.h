/* site.h: `tether site list | off SITE --reason TEXT | on SITE |
 * approval SITE none|escalations|all`, a customer site's remote-service
 * switch and approval setting (docs/access-control.md). */
#ifndef TETHER_CLI_SITE_H
#define TETHER_CLI_SITE_H

#include "cliout.h"

int site_main(const struct cli *cli, int argc, char **argv);

#endif
