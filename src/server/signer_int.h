/* signer_int.h: between signer.c (the HTTP side) and signer_proc.c (the
 * signer process itself). */
#ifndef TETHER_SERVER_SIGNER_INT_H
#define TETHER_SERVER_SIGNER_INT_H

#include "srvconf.h"

/* The forked signer: load the keys, drop privileges, serve fd until EOF. */
_Noreturn void signer_child_main(const struct srvconf *cfg, int fd);

/* Confine the signer to its socket, memory, clock and randomness
 * (signer_sandbox.c); 0 or TE_ERR_SYS. */
int signer_sandbox(void);

#endif
