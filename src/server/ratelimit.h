/* ratelimit.h: a token bucket per source address for the endpoints that
 * strangers may call (login, enrollment). A bucket holds up to burst
 * tokens and gains per_min a minute; each request takes one, and without
 * one the request is answered 429 with Retry-After. The table is bounded:
 * when it is full the bucket idle longest is reused. */
#ifndef TETHER_SERVER_RATELIMIT_H
#define TETHER_SERVER_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_MAX_ADDRS       4096  /* addresses tracked at once */
#define RATELIMIT_LOGIN_PER_MIN   30    /* ratelimit.login_per_min */
#define RATELIMIT_LOGIN_BURST     20    /* ratelimit.login_burst */
#define RATELIMIT_ENROLL_PER_MIN  10    /* ratelimit.enroll_per_min */
#define RATELIMIT_ENROLL_BURST    10    /* ratelimit.enroll_burst */
#define RATELIMIT_ADDR_BYTES      64

struct ratelimit;

int ratelimit_new(long per_min, long burst, struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);
/* Take a token for addr at now_ms (a monotonic clock): 0, or the seconds
 * until one will be there (at least 1). */
long ratelimit_take(struct ratelimit *rl, const char *addr, int64_t now_ms);

#endif
