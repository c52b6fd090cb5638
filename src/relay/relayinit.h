/* relayinit.h: `tether-relay init`: the relay's key pair, made on the relay
 * host so the private key never leaves it, and the CSR the server signs. */
#ifndef TETHER_RELAY_INIT_H
#define TETHER_RELAY_INIT_H

#include <stddef.h>

#define RELAYINIT_KEY_FILE "relay.key"
#define RELAYINIT_CSR_FILE "relay.csr"

/* 1 when name is a relay name: 1..MAX_NAME_BYTES-1 of [A-Za-z0-9._-]. */
int relayinit_name_ok(const char *name);

/* Create dir (0700) when missing, write dir/relay.key (P-256, 0600) and
 * dir/relay.csr (role relay, CN name, 0644). Refuses with TE_ERR_EXISTS when
 * dir/relay.key exists already, leaving it untouched. On success csr_path
 * holds the CSR's path; on failure errbuf says what to do. */
int relayinit_run(const char *dir, const char *name, char *csr_path, size_t csr_pathsz,
                  char *errbuf, size_t errsz);

#endif
