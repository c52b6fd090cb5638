/* test_connlimit.c: per-address and overall connection counts
 * (src/lib/connlimit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <cmocka.h>

#include <event2/event.h>

#include "connlimit.h"
#include "err.h"

static struct sockaddr_in addr_of(const char *a)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	return sin;
}

static void test_per_address_and_pending(void **state)
{
	struct connlimit_conf c = { 100, 3, 2 };
	struct connlimit *cl;
	struct connlimit_addr a[4], b;
	struct sockaddr_in one = addr_of("127.0.0.2"), two = addr_of("127.0.0.3");

	assert_int_equal(connlimit_new(NULL, "test", &c, &cl), 0);
	/* Two in handshake from one address; the third waits for one to finish. */
	assert_int_equal(connlimit_open(cl, (struct sockaddr *)&one, &a[0]), 0);
	assert_int_equal(connlimit_open(cl, (struct sockaddr *)&one, &a[1]), 0);
	assert_int_equal(connlimit_open(cl, (struct sockaddr *)&one, &a[2]), TE_ERR_DENIED);
	/* Another address is not affected. */
	assert_int_equal(connlimit_open(cl, (struct sockaddr *)&two, &b), 0);
	connlimit_served(cl, &a[0]);
	assert_int_equal(connlimit_open(cl, (struct sockaddr *)&one, &a[2]), 0);
	/* Three open from one address: the per-address limit. */
	connlimit_served(cl, &a[1]);
	assert_int_equal(connlimit_open(cl, (struct sockaddr *)&one, &a[3]), TE_ERR_DENIED);
	connlimit_close(cl, &a[0], 1);
	assert_int_equal(connlimit_open(cl, (struct sockaddr *)&one, &a[3]), 0);
	connlimit_close(cl, &a[1], 1);
	connlimit_close(cl, &a[2], 0);
	connlimit_close(cl, &a[3], 0);
	connlimit_close(cl, &b, 0);
	connlimit_free(cl);
}

static void test_overall_below_rlimit(void **state)
{
	struct connlimit_conf c = { 1 << 20, 1 << 20, 1 << 20 };
	struct connlimit *cl;
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(connlimit_new(NULL, "test", &c, &cl), 0);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1 << 20))
		assert_int_equal(connlimit_max_total(cl),
		                 (long)rl.rlim_cur - connlimit_headroom((long)rl.rlim_cur));
	connlimit_free(cl);
}

/* Room for the store, logs and relay checks grows with the limit. */
static void test_headroom(void **state)
{
	assert_int_equal(connlimit_headroom(1024), CONNLIMIT_FD_HEADROOM + 64);
	assert_int_equal(connlimit_headroom(65536), CONNLIMIT_FD_HEADROOM + 4096);
	assert_true(connlimit_headroom(300) < 300);
}

static void test_overall_limit(void **state)
{
	struct connlimit_conf c = { 16, 100, 100 };
	struct connlimit *cl;
	struct connlimit_addr a[17];
	char ip[32];
	int i;

	assert_int_equal(connlimit_new(NULL, "test", &c, &cl), 0);
	assert_int_equal(connlimit_max_total(cl), 16);
	for (i = 0; i < 16; i++) {
		struct sockaddr_in s;

		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		s = addr_of(ip);
		assert_int_equal(connlimit_open(cl, (struct sockaddr *)&s, &a[i]), 0);
	}
	{
		struct sockaddr_in s = addr_of("10.0.1.1");
		assert_int_equal(connlimit_open(cl, (struct sockaddr *)&s, &a[16]), TE_ERR_DENIED);
	}
	for (i = 0; i < 16; i++)
		connlimit_close(cl, &a[i], 0);
	connlimit_free(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_address_and_pending),
		cmocka_unit_test(test_overall_below_rlimit),
		cmocka_unit_test(test_headroom),
		cmocka_unit_test(test_overall_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
