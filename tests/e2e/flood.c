/* flood.c: tether-test-flood, a bounded connection flood for e2e tests, on
 * loopback only.
 *
 *   tether-test-flood hold SRCADDR PORT COUNT SECONDS
 *       From SRCADDR (a 127.x.y.z address) hold up to COUNT connections to
 *       127.0.0.1:PORT, each sending 3 bytes and then nothing (half-open
 *       handshakes). Connections the daemon closes are opened again, at most
 *       FLOOD_RECONNECTS_PER_S a second. Prints "ready" once COUNT connects
 *       were attempted, and a summary when SECONDS are over.
 *   tether-test-flood blackhole PORT SECONDS
 *       Listen on 127.0.0.1:PORT and never accept, with the accept queue
 *       filled, so that a new connect to PORT hangs (a relay that does not
 *       answer). Prints "ready" when a probe connect is seen to hang.
 *
 * Raises its own RLIMIT_NOFILE as far as the hard limit allows. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_MAX_COUNT        8192
#define FLOOD_MAX_SECONDS      300
#define FLOOD_RECONNECTS_PER_S 200
#define FLOOD_QUEUE_FILL       8

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = (rlim_t)want < rl.rlim_max ? (rlim_t)want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int loopback(const char *addr, int port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1 ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "tether-test-flood: %s is not a loopback address\n", addr);
		return -1;
	}
	return 0;
}

static int open_one(const struct sockaddr_in *src, const struct sockaddr_in *dst)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (const struct sockaddr *)src, sizeof(*src)) != 0 ||
	    (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) != 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int hold(const char *srcaddr, int port, long count, long seconds)
{
	struct sockaddr_in src, dst;
	struct pollfd *p = calloc((size_t)count, sizeof(*p));
	int *sent = calloc((size_t)count, sizeof(*sent));
	long opened = 0, closed = 0, failed = 0, budget;
	double end = now_s() + (double)seconds, next_budget;
	int ready = 0;

	if (p == NULL || sent == NULL || loopback(srcaddr, 0, &src) != 0 ||
	    loopback("127.0.0.1", port, &dst) != 0)
		return 2;
	raise_nofile(count + 64);
	for (long i = 0; i < count; i++) {
		p[i].fd = open_one(&src, &dst);
		p[i].events = POLLOUT;
		opened++;
		if (p[i].fd < 0)
			failed++;
	}
	printf("ready\n");
	fflush(stdout);
	ready = 1;
	budget = FLOOD_RECONNECTS_PER_S;
	next_budget = now_s() + 1;
	while (ready && now_s() < end) {
		if (poll(p, (nfds_t)count, 100) < 0 && errno != EINTR)
			break;
		if (now_s() >= next_budget) {
			budget = FLOOD_RECONNECTS_PER_S;
			next_budget = now_s() + 1;
		}
		for (long i = 0; i < count; i++) {
			char buf[512];

			if (p[i].fd >= 0 && (p[i].revents & POLLOUT) && !sent[i]) {
				/* Three bytes: not even a whole TLS record header. */
				if (write(p[i].fd, "\x16\x03\x01", 3) == 3)
					sent[i] = 1;
				p[i].events = POLLIN;
			}
			if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    read(p[i].fd, buf, sizeof(buf)) <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				closed++;
			}
			if (p[i].fd < 0 && budget > 0) {
				budget--;
				p[i].fd = open_one(&src, &dst);
				p[i].events = POLLOUT;
				sent[i] = 0;
				opened++;
				if (p[i].fd < 0)
					failed++;
			}
		}
	}
	printf("opened %ld closed-by-peer %ld failed %ld\n", opened, closed, failed);
	for (long i = 0; i < count; i++) {
		if (p[i].fd >= 0)
			close(p[i].fd);
	}
	free(p);
	free(sent);
	return 0;
}

static int blackhole(int port, long seconds)
{
	struct sockaddr_in a;
	struct pollfd pfd;
	int lfd, fill[FLOOD_QUEUE_FILL], probe, one = 1;

	if (loopback("127.0.0.1", port, &a) != 0)
		return 2;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 0) != 0) {
		perror("tether-test-flood: listen");
		return 1;
	}
	/* Fill the accept queue; once it is full the kernel drops new SYNs. */
	for (int i = 0; i < FLOOD_QUEUE_FILL; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		(void)connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(200 * 1000);
	probe = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	(void)connect(probe, (struct sockaddr *)&a, sizeof(a));
	pfd.fd = probe;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 500) != 0) {
		fprintf(stderr, "tether-test-flood: a connect to the blackhole did not hang\n");
		return 1;
	}
	close(probe);
	printf("ready\n");
	fflush(stdout);
	sleep((unsigned)seconds);
	for (int i = 0; i < FLOOD_QUEUE_FILL; i++)
		close(fill[i]);
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "hold") == 0) {
		long count = strtol(argv[4], NULL, 10), secs = strtol(argv[5], NULL, 10);

		if (count < 1 || count > FLOOD_MAX_COUNT || secs < 1 || secs > FLOOD_MAX_SECONDS)
			return 2;
		return hold(argv[2], atoi(argv[3]), count, secs);
	}
	if (argc == 4 && strcmp(argv[1], "blackhole") == 0) {
		long secs = strtol(argv[3], NULL, 10);

		if (secs < 1 || secs > FLOOD_MAX_SECONDS)
			return 2;
		return blackhole(atoi(argv[2]), secs);
	}
	fprintf(stderr, "usage: tether-test-flood hold SRCADDR PORT COUNT SECONDS\n"
	                "       tether-test-flood blackhole PORT SECONDS\n");
	return 2;
}
