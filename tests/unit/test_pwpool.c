/* test_pwpool.c: argon2id on worker threads, results on the event loop
 * (src/server/pwpool.c). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "err.h"
#include "pwpool.h"
#include "secret.h"

struct outcome {
	int calls;
	int rc;
	char hash[PWHASH_BYTES];
	pthread_t thread;            /* where the callback ran */
};

static void done_cb(const struct pwpool_result *res, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->rc = res->rc;
	snprintf(o->hash, sizeof(o->hash), "%s", res->hash);
	o->thread = pthread_self();
}

/* Run the loop until n callbacks came (bounded: 600 passes of 100 ms). */
static void run_until(struct event_base *base, const int *calls, int n)
{
	struct timeval tv = { 0, 100000 };

	for (int i = 0; i < 600 && *calls < n; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_true(*calls >= n);
}

static void test_verify_hash_change(void **state)
{
	struct event_base *base = event_base_new();
	struct pwpool *p;
	struct outcome o;
	char hash[PWHASH_BYTES];

	assert_non_null(base);
	assert_int_equal(secret_pwhash("correct horse battery", hash), 0);
	assert_int_equal(pwpool_new(base, 2, 8, &p), 0);

	memset(&o, 0, sizeof(o));
	assert_int_equal(pwpool_submit(p, PWPOOL_VERIFY, "correct horse battery", NULL, hash,
	                               done_cb, &o), 0);
	run_until(base, &o.calls, 1);
	assert_int_equal(o.rc, 0);
	assert_true(pthread_equal(o.thread, pthread_self()));   /* on the loop's thread */

	memset(&o, 0, sizeof(o));
	assert_int_equal(pwpool_submit(p, PWPOOL_VERIFY, "wrong", NULL, hash, done_cb, &o), 0);
	run_until(base, &o.calls, 1);
	assert_int_equal(o.rc, TE_ERR_DENIED);

	/* An unknown user: the dummy hash never matches. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(pwpool_submit(p, PWPOOL_VERIFY, "", NULL, "", done_cb, &o), 0);
	run_until(base, &o.calls, 1);
	assert_int_equal(o.rc, TE_ERR_DENIED);

	/* Over-long: a wrong password like any other, not a failed request. */
	{
		static char big[PWPOOL_PASSWORD_BYTES + 100];

		memset(big, 'p', sizeof(big) - 1);
		memset(&o, 0, sizeof(o));
		assert_int_equal(pwpool_submit(p, PWPOOL_VERIFY, big, NULL, hash, done_cb, &o), 0);
		run_until(base, &o.calls, 1);
		assert_int_equal(o.rc, TE_ERR_DENIED);
	}

	memset(&o, 0, sizeof(o));
	assert_int_equal(pwpool_submit(p, PWPOOL_CHANGE, "a new passphrase", "correct horse battery",
	                               hash, done_cb, &o), 0);
	run_until(base, &o.calls, 1);
	assert_int_equal(o.rc, 0);
	assert_int_equal(secret_pwverify(o.hash, "a new passphrase"), 0);

	memset(&o, 0, sizeof(o));
	assert_int_equal(pwpool_submit(p, PWPOOL_CHANGE, "a new passphrase", "not the old one",
	                               hash, done_cb, &o), 0);
	run_until(base, &o.calls, 1);
	assert_int_equal(o.rc, TE_ERR_DENIED);
	pwpool_free(p);
	event_base_free(base);
}

/* One worker and room for one waiting job: of three submitted at once,
 * at least one is refused (TE_ERR_TOO_LONG) instead of queued; every one
 * accepted is answered, including those still queued at pwpool_free. */
static void test_queue_is_bounded(void **state)
{
	struct event_base *base = event_base_new();
	struct outcome o[3];
	struct pwpool *p;
	int refused = 0, accepted = 0, calls = 0;

	memset(o, 0, sizeof(o));
	assert_int_equal(pwpool_new(base, 1, 1, &p), 0);
	for (int i = 0; i < 3; i++) {
		int rc = pwpool_submit(p, PWPOOL_HASH, "some password here", NULL, NULL, done_cb, &o[i]);

		if (rc == TE_ERR_TOO_LONG)
			refused++;
		else if (rc == 0)
			accepted++;
	}
	assert_true(refused >= 1);
	pwpool_free(p);
	for (int i = 0; i < 3; i++)
		calls += o[i].calls;
	assert_int_equal(calls, accepted);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_hash_change),
		cmocka_unit_test(test_queue_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
