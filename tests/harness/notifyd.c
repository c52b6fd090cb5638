/* notifyd: stands in for systemd's side of Type=notify with WatchdogSec= and
 * Restart=on-failure, where the tests run without systemd (README.md).
 *
 *   notifyd --socket PATH|@NAME --watchdog-ms MS [--restarts N]
 *           [--restart-ms MS] [--pidfile FILE] -- COMMAND ARGS...
 *
 * It binds the datagram socket, starts COMMAND in a process group of its
 * own with NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID set, and prints one
 * line per event on stdout ("started pid P", "pid P: READY=1", ...). Only
 * datagrams whose sender is the main pid count (NotifyAccess=main, checked
 * with SCM_CREDENTIALS). After READY=1, a WATCHDOG=1 must come every MS;
 * when one is missed it kills the group with SIGKILL, as systemd does after
 * its watchdog signal, and starts COMMAND again after --restart-ms (at most
 * --restarts times). COMMAND exiting non-zero or on a signal is restarted
 * the same way; exiting 0 ends notifyd. SIGTERM to notifyd is passed on,
 * and it exits when COMMAND does (bounded). Every wait is bounded. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOTIFYD_MSG_BYTES   4096
#define NOTIFYD_MAX_RESTART 20
#define NOTIFYD_STOP_WAIT_MS 20000

static volatile sig_atomic_t notifyd_term;

static void on_term(int sig)
{
	(void)sig;
	notifyd_term = 1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int bind_socket(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	socklen_t len;
	int fd, one = 1;

	if (n == 0 || n >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		unlink(name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '@' ? 0 : 1));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static pid_t start(char **argv, const char *sock, long wd_ms, const char *pidfile)
{
	char usec[32], pid[32];
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		setpgid(0, 0);                 /* the group stands for the unit's cgroup */
		snprintf(usec, sizeof(usec), "%ld", wd_ms * 1000);
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		setenv("NOTIFY_SOCKET", sock, 1);
		setenv("WATCHDOG_USEC", usec, 1);
		setenv("WATCHDOG_PID", pid, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "notifyd: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(p, p);
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");

		if (f != NULL) {
			fprintf(f, "%ld\n", (long)p);
			fclose(f);
		}
	}
	say("started pid %ld", (long)p);
	return p;
}

/* One datagram: print each line, note READY and WATCHDOG from the main pid. */
static void read_msg(int fd, pid_t main_pid, int *ready, long *last_wd)
{
	char buf[NOTIFYD_MSG_BYTES + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} cm;
	struct iovec iov = { buf, NOTIFYD_MSG_BYTES };
	struct msghdr msg;
	struct cmsghdr *c;
	struct ucred cred = { 0, 0, 0 };
	ssize_t n;
	char *line, *save = NULL;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.b;
	msg.msg_controllen = sizeof(cm.b);
	if ((n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) <= 0)
		return;
	buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	if (cred.pid != main_pid) {
		say("ignored a message from pid %ld (not the main pid %ld)", (long)cred.pid,
		    (long)main_pid);
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "WATCHDOG=1") == 0) {
			*last_wd = now_ms();
			continue;            /* too frequent to print each */
		}
		say("pid %ld: %s", (long)main_pid, line);
		if (strcmp(line, "READY=1") == 0) {
			*ready = 1;
			*last_wd = now_ms();
		}
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: notifyd --socket PATH|@NAME --watchdog-ms MS [--restarts N] "
	        "[--restart-ms MS] [--pidfile FILE] -- COMMAND ARGS...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *pidfile = NULL;
	long wd_ms = 0, restart_ms = 1000, last_wd = 0, term_at = 0;
	int restarts = 3, i, fd, ready = 0, status, done = 0;
	pid_t pid;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--socket") == 0)
			sock = argv[++i];
		else if (strcmp(argv[i], "--watchdog-ms") == 0)
			wd_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--restarts") == 0)
			restarts = atoi(argv[++i]);
		else if (strcmp(argv[i], "--restart-ms") == 0)
			restart_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--pidfile") == 0)
			pidfile = argv[++i];
		else
			return usage();
	}
	if (sock == NULL || wd_ms < 100 || i + 1 >= argc || restarts < 0 ||
	    restarts > NOTIFYD_MAX_RESTART || restart_ms < 0 || restart_ms > 60000)
		return usage();
	argv += i + 1;
	if ((fd = bind_socket(sock)) < 0) {
		fprintf(stderr, "notifyd: cannot bind %s: %s\n", sock, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if ((pid = start(argv, sock, wd_ms, pidfile)) < 0)
		return 1;
	while (!done) {
		struct pollfd pf = { fd, POLLIN, 0 };
		pid_t w;

		if (poll(&pf, 1, 50) > 0)
			read_msg(fd, pid, &ready, &last_wd);
		if (notifyd_term && term_at == 0) {
			say("stopping pid %ld", (long)pid);
			kill(pid, SIGTERM);
			term_at = now_ms();
		}
		if (term_at != 0 && now_ms() - term_at > NOTIFYD_STOP_WAIT_MS) {
			say("pid %ld did not stop: killing it", (long)pid);
			kill(-pid, SIGKILL);
			term_at = now_ms();
		}
		if (term_at == 0 && ready && now_ms() - last_wd > wd_ms) {
			say("watchdog timeout: pid %ld sent no WATCHDOG=1 for %ld ms; killing it",
			    (long)pid, wd_ms);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			ready = 0;
		}
		w = waitpid(pid, &status, WNOHANG);
		if (w != pid)
			continue;
		while (poll(&pf, 1, 0) > 0 && read(fd, &(char){ 0 }, 0) >= 0)
			read_msg(fd, pid, &ready, &last_wd);
		kill(-pid, SIGKILL);           /* what is left of the group, as a unit stop */
		if (WIFEXITED(status))
			say("pid %ld exited %d", (long)pid, WEXITSTATUS(status));
		else
			say("pid %ld killed by signal %d", (long)pid, WTERMSIG(status));
		ready = 0;
		if (term_at != 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
		    restarts-- <= 0) {
			done = 1;
			break;
		}
		usleep((useconds_t)restart_ms * 1000);
		if ((pid = start(argv, sock, wd_ms, pidfile)) < 0)
			return 1;
	}
	close(fd);
	if (sock[0] != '@')
		unlink(sock);
	return 0;
}
