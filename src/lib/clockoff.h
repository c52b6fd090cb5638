/* clockoff.h: this process's offset from the server's clock, and the
 * "corrected now" that judges times the server set (tickets, certificates).
 *
 * A device without NTP may be hours off. The agent learns the offset from
 * each ping answer (the server's time_ms and held_ms, docs/protocol.md) and
 * sets it here; until then clockoff_now() is the device's own clock. The
 * state is process-wide, so a forked worker inherits what its parent knew. */
#ifndef TETHER_CLOCKOFF_H
#define TETHER_CLOCKOFF_H

#include <stddef.h>
#include <stdint.h>

/* Offsets beyond this are refused as nonsense (a server answer or a state
 * file that cannot be right). */
#define CLOCKOFF_MAX_S  (20LL * 365 * 86400)
/* The longest hold a server may report; more is a malformed answer. */
#define CLOCKOFF_MAX_HELD_MS (24LL * 3600 * 1000)

/* Offset (server minus device, ms) from one exchange: elapsed_ms from send to
 * receive on the device, recv_wall_ms the device's wall clock at receive,
 * server_ms the server's wall clock when it answered, held_ms how long it
 * held the request. Half the network round trip is added to server_ms.
 * Pure; TE_ERR_INVALID when an input or the result is out of bounds. */
int clockoff_estimate(int64_t elapsed_ms, int64_t recv_wall_ms, int64_t server_ms,
                      int64_t held_ms, int64_t *offset_ms);

/* Set or forget the process-wide offset (ms, server minus device). */
int clockoff_set_ms(int64_t offset_ms);
void clockoff_clear(void);
/* 1 when an offset is set. */
int clockoff_known(void);
/* The offset rounded to seconds (0 when none is known). */
int64_t clockoff_offset_s(void);
/* The device's wall clock in ms (CLOCK_REALTIME). */
int64_t clockoff_wall_ms(void);
/* Monotonic ms, for durations. */
int64_t clockoff_mono_ms(void);
/* Unix time by the server's clock when an offset is known, else the
 * device's own. */
int64_t clockoff_now(void);

/* A duration for people: "10 s", "5 min 3 s", "1 h 0 min", "2 days 3 h".
 * The sign is dropped; callers say "behind" or "ahead". */
void clockoff_describe(int64_t seconds, char *out, size_t outsz);

#endif
