/* agentaudit.h: the agent's hash-chained audit trail, state_dir/audit.log.
 *
 * The agent process, its tunnel workers and the operator's commands all
 * append to one file under its flock. Each process opens it once (the whole
 * chain is verified then, and a torn last line left by a power cut is cut
 * off and recorded as audit_recovered) and keeps the head in memory, so an
 * append costs the same at any log size (audit.h). A process whose trail
 * cannot be written (the chain broken, the file replaced, the disk full)
 * says why: the agent refuses sessions then (docs/security.md). A refused
 * write (a full disk) costs only that record; a failed fsync closes the
 * handle and the next append opens the log again (verified, a torn tail cut
 * off), so the trail comes back by itself once the disk does. */
#ifndef TETHER_AGENTAUDIT_H
#define TETHER_AGENTAUDIT_H

#include <stdint.h>

#include "agentconf.h"
#include "secret.h"

/* Append one record; failures are logged (an audit failure never takes the
 * agent down) and returned, and agentaudit_why() says why. detail is
 * printf-formatted free text. */
int agentaudit_log(const struct agent_conf *conf, const char *actor,
                   const char *action, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Why the last append in this process failed (for a refusal's reason). */
const char *agentaudit_why(void);
/* How many appends have failed in this process: a session worker ends its
 * session when this grows (no session without a trail). */
unsigned long agentaudit_failures(void);
/* Forget the open log (tests: as after a restart). */
void agentaudit_close(void);

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
