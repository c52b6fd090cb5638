/* relayaudit.h: the head (newest record) of the relay's own audit log, which
 * the relay reports to the server so that it can anchor it (docs/security.md).
 * The relay process is the log's only writer, so no lock is taken. */
#ifndef TETHER_RELAY_AUDIT_H
#define TETHER_RELAY_AUDIT_H

#include <stdint.h>

#include "audit.h"

struct relay_audit_head {
	int64_t seq;                     /* 0: empty or absent log */
	char hash[SHA256_HEX_BYTES];     /* AUDIT_GENESIS_HASH when seq is 0 */
};

/* Read the last record of the log at path (at most MAX_AUDIT_LINE_BYTES + 1
 * bytes from its end). An absent or empty file is seq 0 with the genesis
 * hash; a last line that is cut short or does not parse is TE_ERR_CHAIN. */
int relay_audit_file_head(const char *path, struct relay_audit_head *out);
/* The same from a descriptor opened read-only before the relay dropped
 * privileges (the log stays readable by its owner only). */
int relay_audit_fd_head(int fd, struct relay_audit_head *out);
/* Open path read-only for relay_audit_fd_head: a descriptor, or -1. */
int relay_audit_open_ro(const char *path);

#endif
