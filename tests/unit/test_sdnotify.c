/* test_sdnotify.c: the notify protocol's sender, against a datagram socket
 * of the test's own (path and abstract names), and the environment it
 * reads and clears. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "sdnotify.h"

static int listen_on(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un,
	                 sun_path) + n + (name[0] == '@' ? 0 : 1))), 0);
	return fd;
}

static void expect_msg(int fd, const char *want)
{
	char buf[SDNOTIFY_MSG_BYTES + 1];
	ssize_t n = recv(fd, buf, SDNOTIFY_MSG_BYTES, 0);

	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_abstract_and_env_cleared(void **state)
{
	char name[64], pid[32];
	int fd;

	snprintf(name, sizeof(name), "@tether-test-sdnotify-%ld", (long)getpid());
	fd = listen_on(name);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	sdnotify_init();
	assert_null(getenv("NOTIFY_SOCKET"));      /* no child can speak for us */
	assert_null(getenv("WATCHDOG_USEC"));
	assert_true(sdnotify_enabled());
	assert_int_equal(sdnotify_watchdog_usec(), 2000000);
	assert_int_equal(sdnotify_send("READY=1"), 0);
	expect_msg(fd, "READY=1");
	assert_int_equal(sdnotify_send("WATCHDOG=1"), 0);
	expect_msg(fd, "WATCHDOG=1");
	close(fd);
}

static void test_path_socket(void **state)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/tether-test-sdnotify-%ld.sock", (long)getpid());
	unlink(path);
	fd = listen_on(path);
	setenv("NOTIFY_SOCKET", path, 1);
	unsetenv("WATCHDOG_USEC");
	sdnotify_init();
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	assert_int_equal(sdnotify_send("STOPPING=1"), 0);
	expect_msg(fd, "STOPPING=1");
	close(fd);
	unlink(path);
}

/* A watchdog meant for another pid, a bad number or a socket that is not a
 * path or abstract name are ignored; with no socket every send is a no-op. */
static void test_ignored(void **state)
{
	char big[SDNOTIFY_MSG_BYTES + 8];

	setenv("NOTIFY_SOCKET", "@x", 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	sdnotify_init();
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("NOTIFY_SOCKET", "@x", 1);
	setenv("WATCHDOG_USEC", "12abc", 1);
	sdnotify_init();
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_not_equal(sdnotify_send(big), 0);   /* bounded */
	setenv("NOTIFY_SOCKET", "vsock:2:1", 1);
	sdnotify_init();
	assert_false(sdnotify_enabled());
	unsetenv("NOTIFY_SOCKET");
	sdnotify_init();
	assert_false(sdnotify_enabled());
	assert_int_equal(sdnotify_send("READY=1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abstract_and_env_cleared),
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
