/* test_monitor.c: the monitor drops a network part that breaks the SPAWN
 * protocol (an undecodable message, a request without its descriptors):
 * it is killed and started again, and the monitor goes on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agentconf.h"
#include "monitor.h"
#include "spawnmsg.h"

static char dir[64];
static int bad_kind;            /* 0: garbage bytes, 1: a request without fds */

static int runs(void)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/runs", dir);
	return stat(path, &st) == 0 ? (int)st.st_size : 0;
}

static void mark(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "a")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* First run: break the protocol, then say whether it survived. Second
 * run: stop the monitor. */
static int network(struct agent_conf *conf, int listen_fd)
{
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	struct spawn_req *req;
	int n, i;

	mark("runs", "x");
	if (runs() > 1) {
		kill(getppid(), SIGTERM);
		return 0;
	}
	if (bad_kind == 0) {
		memcpy(buf, "\0\0\0\x09garbage", 11);
		n = 11;
	} else {
		req = calloc(1, sizeof(*req));
		req->kind = SPAWN_KIND_DIAG;
		req->nfds = 3;
		req->argc = 1;
		snprintf(req->argv[0], sizeof(req->argv[0]), "/bin/true");
		n = spawnmsg_encode_req(req, buf, sizeof(buf));
		free(req);
	}
	if (send(monitor_client_fd(), buf, (size_t)n, 0) != n)
		return 1;
	for (i = 0; i < 50; i++)
		usleep(100 * 1000);
	mark("survived", "yes");
	return 0;
}

static void run_monitor(int kind)
{
	char text[256], err[128], path[128];
	struct agent_conf *c = NULL;
	int status = 0, i;
	pid_t pid;

	snprintf(dir, sizeof(dir), "/tmp/test_monitor.XXXXXX");
	assert_non_null(mkdtemp(dir));
	bad_kind = kind;
	/* No `user`: the network part runs as whoever runs the test. */
	snprintf(text, sizeof(text), "state_dir = %s\n", dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err, sizeof(err)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(monitor_run(c, network));
	/* Bounded: the monitor stops itself within a few seconds. */
	for (i = 0; i < 300 && waitpid(pid, &status, WNOHANG) != pid; i++)
		usleep(100 * 1000);
	if (i == 300) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the monitor did not stop");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(runs(), 2);                 /* dropped, then restarted */
	snprintf(path, sizeof(path), "%s/survived", dir);
	assert_int_not_equal(access(path, F_OK), 0); /* it was killed, not let go on */
	unlink(path);
	snprintf(path, sizeof(path), "%s/runs", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/consent.sock", dir);
	unlink(path);
	rmdir(dir);
	agentconf_free(c);
}

static void test_garbage_drops_the_peer(void **state)
{
	run_monitor(0);
}

static void test_missing_fds_drop_the_peer(void **state)
{
	run_monitor(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_drops_the_peer),
		cmocka_unit_test(test_missing_fds_drop_the_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
