/* connect.h: `tether connect SESSION`, an OpenSSH ProxyCommand. It asks the
 * server for the client-leg ticket, opens the TLS leg to the relay, sends the
 * preamble and then copies bytes between stdin/stdout and the relay. Nothing
 * but tunnel bytes ever goes to stdout. */
#ifndef TETHER_CLI_CONNECT_H
#define TETHER_CLI_CONNECT_H

#include "cliout.h"

/* TCP connect, TLS handshake and the relay's answer to the ticket, all
 * within this: a stopped or stuck relay is given up on quickly. */
#define CONNECT_RELAY_DEADLINE_S 5
/* How often one connect asks the server for another relay (the server
 * allows RELAYMOVE_MAX moves per session). */
#define CONNECT_RELAY_MOVES 3

int connect_main(const struct cli *cli, int argc, char **argv);

/* "TETHER/1 client <ticket>\n" into out; TE_ERR_INVALID when the ticket is
 * empty, too long or holds whitespace or control characters. */
int connect_preamble(const char *ticket, char *out, size_t outsz);

#endif
