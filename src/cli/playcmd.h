/* playcmd.h: `tether play SESSION | --file PATH`: a session's shell
 * recordings, fetched from the server and checked against their SHA-256,
 * played through the terminal filter (play.h). */
#ifndef TETHER_CLI_PLAYCMD_H
#define TETHER_CLI_PLAYCMD_H

#include "cliout.h"

#define PLAYCMD_MAX_RECORDINGS 1000    /* listed by the server per session */

int playcmd_main(const struct cli *cli, int argc, char **argv);

#endif
