/* repo.h: `tether repo`, the release manager's offline side of the
 * software repository (repo.c). */
#ifndef TETHER_CLI_REPO_H
#define TETHER_CLI_REPO_H

#include "cliout.h"

int repo_main(const struct cli *cli, int argc, char **argv);
/* `tether repo publish DIR` (repopub.c): through the API, repo:publish. */
int repo_publish(const struct cli *cli, int argc, char **argv);

#endif
