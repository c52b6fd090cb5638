/* agentclock.h: the agent's offset from the server's clock, kept across
 * restarts in state_dir/clock.json.
 *
 * Hospital devices often run without NTP. The agent learns the offset from
 * every ping answer (clockoff.h) and judges the times the server set (ticket
 * windows, certificate validity) by the server's clock. The offset is kept so
 * that a restarted agent, before its first ping, still connects to a server
 * whose certificates its own clock would call not yet valid. */
#ifndef TETHER_AGENTCLOCK_H
#define TETHER_AGENTCLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "agentconf.h"

#define AGENTCLOCK_FILE "clock.json"
#define AGENTCLOCK_MAX_FILE_BYTES 512
/* An estimate that moved this much from the kept one is written again; one
 * that moved AGENTCLOCK_LOG_STEP_MS from the last logged one is logged. */
#define AGENTCLOCK_SAVE_STEP_MS 1000
#define AGENTCLOCK_LOG_STEP_MS  2000

/* Load the kept offset into clockoff (none kept: nothing; a malformed file:
 * logged and ignored). Also makes TLS judge certificate times by it. */
void agentclock_start(const struct agent_conf *conf);
/* A new estimate (ms, server minus device) from a ping answer: set, logged
 * when first learned or when it moved, and kept when it moved. */
void agentclock_learned(const struct agent_conf *conf, int64_t offset_ms);
/* Why a ticket whose signature verified but whose window [iat - skew_s, exp)
 * does not hold now (the corrected clock) was refused, naming the skew when
 * a skew explains it. Pure but for clockoff's state (known, offset). */
void agentclock_ticket_why(int64_t iat, int64_t exp, int64_t skew_s, int64_t now,
                           char *out, size_t outsz);

#endif
