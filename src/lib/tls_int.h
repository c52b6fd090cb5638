/* tls_int.h: helpers shared by tls.c and tlspump.c only; not part of the
 * library's interface (no file outside src/lib includes this). */
#ifndef TETHER_TLS_INT_H
#define TETHER_TLS_INT_H

/* Set or clear O_NONBLOCK on fd. Returns whether it was set before (0/1),
 * or -1 on failure. */
int tls_set_nonblock(int fd, int on);

#endif
