/* support.h: the device support account checked by the embedded SSH server.
 * Only the argon2id hash is stored (state_dir/support.hash, 0600); failed
 * attempts are counted in state_dir/support.failures and the account locks
 * after SUPPORT_MAX_FAILURES until `support-password` sets a new password. */
#ifndef TETHER_SUPPORT_H
#define TETHER_SUPPORT_H

#include <stddef.h>
#include "agentconf.h"

/* Hash password and store it (0600); resets the failure counter. */
int support_store(const struct agent_conf *conf, const char *password);
/* 0 on success (resets the counter), TE_ERR_DENIED on a wrong password
 * (counts it), TE_ERR_LOCKED when locked (before or because of this try). */
int support_verify(const struct agent_conf *conf, const char *password);
/* Current failure count (0 when none recorded). */
int support_failures(const struct agent_conf *conf);
/* A random password for enrollment without --support-password-file. */
int support_generate(char *out, size_t outsz);
/* Read one line (newline stripped) from a file descriptor; bounded. */
int support_read_password(int fd, char *out, size_t outsz);
/* `support-password`: new password from stdin, audited. */
int support_cmd_password(const struct agent_conf *conf);

#endif
