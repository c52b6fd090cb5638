/* clockoff.c: the process-wide offset from the server's clock. */
#include "clockoff.h"

#include <stdio.h>
#include <time.h>

#include "err.h"

static int clockoff_is_known;
static int64_t clockoff_ms;

int clockoff_estimate(int64_t elapsed_ms, int64_t recv_wall_ms, int64_t server_ms,
                      int64_t held_ms, int64_t *offset_ms)
{
	int64_t rtt_ms, off;

	*offset_ms = 0;
	if (elapsed_ms < 0 || elapsed_ms > CLOCKOFF_MAX_HELD_MS * 2 ||
	    held_ms < 0 || held_ms > CLOCKOFF_MAX_HELD_MS ||
	    server_ms <= 0 || server_ms > CLOCKOFF_MAX_S * 1000 * 10 ||
	    recv_wall_ms <= 0 || recv_wall_ms > CLOCKOFF_MAX_S * 1000 * 10)
		return TE_ERR_INVALID;
	/* The time on the wire both ways; a hold longer than what we measured
	 * (clock steps, rounding) leaves none. */
	rtt_ms = elapsed_ms - held_ms;
	if (rtt_ms < 0)
		rtt_ms = 0;
	off = server_ms + rtt_ms / 2 - recv_wall_ms;
	if (off > CLOCKOFF_MAX_S * 1000 || off < -CLOCKOFF_MAX_S * 1000)
		return TE_ERR_INVALID;
	*offset_ms = off;
	return 0;
}

int clockoff_set_ms(int64_t offset_ms)
{
	if (offset_ms > CLOCKOFF_MAX_S * 1000 || offset_ms < -CLOCKOFF_MAX_S * 1000)
		return TE_ERR_INVALID;
	clockoff_ms = offset_ms;
	clockoff_is_known = 1;
	return 0;
}

void clockoff_clear(void)
{
	clockoff_ms = 0;
	clockoff_is_known = 0;
}

int clockoff_known(void)
{
	return clockoff_is_known;
}

int64_t clockoff_offset_s(void)
{
	if (!clockoff_is_known)
		return 0;
	return clockoff_ms >= 0 ? (clockoff_ms + 500) / 1000 : -((-clockoff_ms + 500) / 1000);
}

static int64_t clockoff_read_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clockoff_wall_ms(void)
{
	return clockoff_read_ms(CLOCK_REALTIME);
}

int64_t clockoff_mono_ms(void)
{
	return clockoff_read_ms(CLOCK_MONOTONIC);
}

int64_t clockoff_now(void)
{
	int64_t ms = clockoff_wall_ms() + (clockoff_is_known ? clockoff_ms : 0);

	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

void clockoff_describe(int64_t seconds, char *out, size_t outsz)
{
	int64_t s = seconds < 0 ? -seconds : seconds;

	if (s < 60)
		snprintf(out, outsz, "%lld s", (long long)s);
	else if (s < 3600)
		snprintf(out, outsz, "%lld min %lld s", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(out, outsz, "%lld h %lld min", (long long)(s / 3600),
		         (long long)(s % 3600 / 60));
	else
		snprintf(out, outsz, "%lld day%s %lld h", (long long)(s / 86400),
		         s < 2 * 86400 ? "" : "s", (long long)(s % 86400 / 3600));
}
