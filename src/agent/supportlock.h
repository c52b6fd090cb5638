/* supportlock.h: the device support account's lockout as data, like the
 * server's login lockout (store_login_fail): how many wrong passwords came
 * in a row and when the last one did. From max_failures on, the account is
 * locked for base_s after the last failure, doubling with each further one
 * up to max_s; a run of failures left alone longer than max_s is forgotten.
 * The lock is computed from the settings in force, so a shorter setting
 * applies to a lock already running. Pure: the clock and the file
 * (state_dir/support.failures) belong to support.c. */
#ifndef TETHER_SUPPORTLOCK_H
#define TETHER_SUPPORTLOCK_H

#include <stddef.h>
#include <stdint.h>

#define SUPPORTLOCK_TEXT_BYTES 64    /* the whole file, at most */
#define SUPPORTLOCK_MAX_COUNT  1000000

struct supportlock_policy {
	long max_failures;
	long base_s;
	long max_s;
};

struct supportlock {
	long failures;              /* wrong passwords in a row */
	int64_t last_failure_at;    /* unix seconds of the last; 0 when unknown */
};

/* "failures N last_failure_at T\n", or a bare "N\n" (the permanent
 * counter of earlier versions: last_failure_at 0, for the caller to set).
 * An empty text is no failures. TE_ERR_INVALID for anything else, out
 * then zeroed. Bounded by len; text need not be NUL-terminated. */
int supportlock_parse(const char *text, size_t len, struct supportlock *out);
/* The file's text; its length, or TE_ERR_TOO_LONG. */
int supportlock_format(const struct supportlock *l, char *out, size_t outsz);
/* How long failures in a row lock the account: 0 below max_failures, else
 * base_s * 2^(failures - max_failures), capped at max_s. */
long supportlock_lock_s(const struct supportlock_policy *p, long failures);
/* Seconds the account stays locked at now (0: not locked). A clock set
 * back before the last failure counts as no time passed (the caller then
 * moves last_failure_at to now, so the lock ends its own length later). */
long supportlock_remaining(const struct supportlock_policy *p,
                           const struct supportlock *l, int64_t now);
/* Count one wrong password at now (a stale run starts again at 1). */
void supportlock_fail(const struct supportlock_policy *p, struct supportlock *l,
                      int64_t now);

#endif
