/* pwpool.h: argon2id off the event loop. A fixed set of worker threads
 * hashes and verifies passwords; a bounded queue holds what waits for them.
 * When the queue is full a submit fails at once (the handler answers 503
 * with Retry-After) rather than letting the queue grow. Results come back
 * on the event loop: a worker hands the finished job over under the mutex
 * and wakes the loop through a pipe; the job's done callback then runs on
 * the loop thread, never on a worker. Passwords are wiped as soon as a
 * worker is done with them. */
#ifndef TETHER_SERVER_PWPOOL_H
#define TETHER_SERVER_PWPOOL_H

#include <event2/event.h>

#include "secret.h"

#define PWPOOL_THREADS      2    /* pwhash.workers default */
#define PWPOOL_MAX_THREADS  16
#define PWPOOL_QUEUE        32   /* pwhash.queue default: jobs waiting for a worker */
#define PWPOOL_RETRY_AFTER_S 1   /* what a 503 for a full queue asks clients to wait */
#define PWPOOL_PASSWORD_BYTES 1025
#define PWPOOL_NICE         5    /* workers run at this nice value, below the loop */

enum pwpool_op {
	PWPOOL_VERIFY,      /* password against hash; hash "" compares with a
	                     * hash that never matches, at the same cost */
	PWPOOL_HASH,        /* a new hash of password */
	PWPOOL_CHANGE,      /* verify old against hash, then hash password */
};

struct pwpool_result {
	int rc;                     /* 0; TE_ERR_DENIED: no match; else an error */
	char hash[PWHASH_BYTES];    /* PWPOOL_HASH, PWPOOL_CHANGE */
};

/* Called on the loop thread; res is wiped and freed after it returns. */
typedef void (*pwpool_done_fn)(const struct pwpool_result *res, void *arg);

struct pwpool;

int pwpool_new(struct event_base *base, int threads, int queue, struct pwpool **out);
/* Stops and joins the workers; jobs not done get rc TE_ERR_IO in their
 * done callback, so that every submitter hears back. */
void pwpool_free(struct pwpool *p);
/* Queue one job. old is only for PWPOOL_CHANGE. TE_ERR_TOO_LONG when the
 * queue is full, TE_ERR_INVALID for an over-long hash. A password over
 * PWPOOL_PASSWORD_BYTES - 1 never verifies (TE_ERR_DENIED) and is not
 * hashed (TE_ERR_TOO_LONG in the result). */
int pwpool_submit(struct pwpool *p, enum pwpool_op op, const char *password, const char *old,
                  const char *hash, pwpool_done_fn done, void *arg);

#endif
