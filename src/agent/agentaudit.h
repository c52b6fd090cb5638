/* agentaudit.h: the agent's hash-chained audit trail, state_dir/audit.log.
 *
 * The agent process and its tunnel workers all append to one file, so every
 * append takes an exclusive lock (state_dir/audit.lock), reopens the log
 * (which re-verifies the chain and learns the last hash), appends and closes.
 * That keeps one unbroken chain across processes. */
#ifndef TETHER_AGENTAUDIT_H
#define TETHER_AGENTAUDIT_H

#include "agentconf.h"

/* Append one record; failures are logged (an audit failure never takes the
 * agent down) and returned. detail is printf-formatted free text. */
int agentaudit_log(const struct agent_conf *conf, const char *actor,
                   const char *action, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Replace in place every byte of text that is not valid UTF-8 with '?'. */
void agentaudit_clean_utf8(char *text);

/* `audit verify`: prints "audit: N records, chain intact" or the first
 * problem; returns 0 when intact. */
int agentaudit_verify(const struct agent_conf *conf);

#endif
