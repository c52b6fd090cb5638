/* supportlock.c: lockout arithmetic for the device support account. */
#include "supportlock.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

/* A decimal number of at most 18 digits at *p (below end); advances *p. */
static int supportlock_num(const char **p, const char *end, int64_t *out)
{
	int64_t v = 0;
	int n = 0;

	while (*p < end && **p >= '0' && **p <= '9') {
		if (++n > 18)
			return TE_ERR_INVALID;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	if (n == 0)
		return TE_ERR_INVALID;
	*out = v;
	return 0;
}

static int supportlock_word(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
		return TE_ERR_INVALID;
	*p += n;
	return 0;
}

int supportlock_parse(const char *text, size_t len, struct supportlock *out)
{
	const char *p = text, *end = text + len;
	int64_t failures = 0, at = 0;

	memset(out, 0, sizeof(*out));
	if (len > SUPPORTLOCK_TEXT_BYTES)
		return TE_ERR_INVALID;
	if (len == 0)
		return 0;
	if (supportlock_word(&p, end, "failures ") == 0) {
		if (supportlock_num(&p, end, &failures) != 0 ||
		    supportlock_word(&p, end, " last_failure_at ") != 0 ||
		    supportlock_num(&p, end, &at) != 0)
			return TE_ERR_INVALID;
	} else if (supportlock_num(&p, end, &failures) != 0) {
		return TE_ERR_INVALID;
	}
	if (supportlock_word(&p, end, "\n") != 0 || p != end ||
	    failures > SUPPORTLOCK_MAX_COUNT)
		return TE_ERR_INVALID;
	out->failures = (long)failures;
	out->last_failure_at = at;
	return 0;
}

int supportlock_format(const struct supportlock *l, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "failures %ld last_failure_at %lld\n",
	                 l->failures, (long long)l->last_failure_at);

	return n < 0 || (size_t)n >= outsz ? TE_ERR_TOO_LONG : n;
}

long supportlock_lock_s(const struct supportlock_policy *p, long failures)
{
	long secs = p->base_s;

	if (failures < p->max_failures)
		return 0;
	for (long i = p->max_failures; i < failures && secs < p->max_s; i++)
		secs *= 2;
	return secs < p->max_s ? secs : p->max_s;
}

long supportlock_remaining(const struct supportlock_policy *p,
                           const struct supportlock *l, int64_t now)
{
	long lock_s = supportlock_lock_s(p, l->failures);
	int64_t passed = now - l->last_failure_at;

	if (lock_s == 0)
		return 0;
	if (passed < 0)
		passed = 0;
	return passed >= lock_s ? 0 : (long)(lock_s - passed);
}

void supportlock_fail(const struct supportlock_policy *p, struct supportlock *l,
                      int64_t now)
{
	/* Failures spread over longer than the longest lock never add up. */
	if (l->last_failure_at > 0 && now - l->last_failure_at > p->max_s)
		l->failures = 0;
	if (l->failures < SUPPORTLOCK_MAX_COUNT)
		l->failures++;
	l->last_failure_at = now;
}
