/* ratelimit.c: per-address token buckets in a fixed table. */
#include "ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct ratelimit_bucket {
	char addr[RATELIMIT_ADDR_BYTES];   /* "" when free */
	double tokens;
	int64_t last_ms;
};

struct ratelimit {
	double per_ms;
	double burst;
	struct ratelimit_bucket b[RATELIMIT_MAX_ADDRS];
};

int ratelimit_new(long per_min, long burst, struct ratelimit **out)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	*out = NULL;
	if (rl == NULL)
		return TE_ERR_NOMEM;
	rl->per_ms = (double)per_min / 60000.0;
	rl->burst = (double)burst;
	*out = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

/* addr's bucket, or a free one, or the one idle longest (its address then
 * starts again with a full bucket, which only ever errs towards serving). */
static struct ratelimit_bucket *ratelimit_find(struct ratelimit *rl, const char *addr)
{
	struct ratelimit_bucket *free_b = NULL, *oldest = &rl->b[0];

	for (size_t i = 0; i < RATELIMIT_MAX_ADDRS; i++) {
		struct ratelimit_bucket *b = &rl->b[i];

		if (b->addr[0] == '\0') {
			if (free_b == NULL)
				free_b = b;
			continue;
		}
		if (strcmp(b->addr, addr) == 0)
			return b;
		if (b->last_ms < oldest->last_ms)
			oldest = b;
	}
	return free_b != NULL ? free_b : oldest;
}

long ratelimit_take(struct ratelimit *rl, const char *addr, int64_t now_ms)
{
	struct ratelimit_bucket *b = ratelimit_find(rl, addr);
	long wait_s;

	if (strcmp(b->addr, addr) != 0) {
		snprintf(b->addr, sizeof(b->addr), "%s", addr);
		b->tokens = rl->burst;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rl->per_ms;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	/* Whole seconds until a token is back, rounded up. */
	wait_s = (long)(((1.0 - b->tokens) / rl->per_ms + 999.0) / 1000.0);
	return wait_s > 0 ? wait_s : 1;
}
