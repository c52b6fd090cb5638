/* admin_life.h: the administrator's lifecycle commands (admin_life.c):
 * device list|reissue-token, user list|set|disable|enable, relay
 * list|remove, product add|list. */
#ifndef TETHER_SERVER_ADMIN_LIFE_H
#define TETHER_SERVER_ADMIN_LIFE_H

#include <stdio.h>

/* 1 when argv (after "tether-server") names one of these commands. */
int admin_life_handles(int argc, char **argv);
/* Run it: argv[0] the group ("user"), argv[1] the command ("set"). --help
 * anywhere prints its usage and exits 0. Returns the exit code. */
int admin_life_main(int argc, char **argv);
/* One usage line (or more) per command, for the main usage text. */
void admin_life_usage(FILE *f);

#endif
