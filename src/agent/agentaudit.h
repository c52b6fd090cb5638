/* agentaudit.h: the agent's hash-chained audit trail, state_dir/audit.log.
 *
 * The agent process and its tunnel workers all append to one file, so every
 * append takes an exclusive lock (state_dir/audit.lock), reopens the log
 * (which re-verifies the chain and learns the last hash), appends and closes.
 * That keeps one unbroken chain across processes. */
#ifndef TETHER_AGENTAUDIT_H
#define TETHER_AGENTAUDIT_H

#include <stdint.h>

#include "agentconf.h"
#include "secret.h"

/* Append one record; failures are logged (an audit failure never takes the
 * agent down) and returned. detail is printf-formatted free text. */
int agentaudit_log(const struct agent_conf *conf, const char *actor,
                   const char *action, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Replace in place every byte of text that is not valid UTF-8 with '?'. */
void agentaudit_clean_utf8(char *text);

/* The newest record's seq and hash, for the ping (the server keeps the
 * highest head it has seen, so a truncated log shows up as a rollback).
 * Only the last line is read, under the log's shared lock, so this is cheap
 * enough to run before every ping; the full check is `audit verify`. An
 * absent or empty log is seq 0 with AUDIT_GENESIS_HASH. TE_ERR_CHAIN when
 * the last line is incomplete or unreadable. */
int agentaudit_head(const struct agent_conf *conf, int64_t *seq,
                    char hash[SHA256_HEX_BYTES]);

/* `audit verify`: prints "audit: N records, chain intact" or the first
 * problem; returns 0 when intact. */
int agentaudit_verify(const struct agent_conf *conf);

#endif
