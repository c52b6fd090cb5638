/* sdnotify.c: the notify protocol's sender (see sdnotify.h). */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

static char sdnotify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static uint64_t sdnotify_wd_usec;

/* A decimal number, whole string, no sign. */
static int sdnotify_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

void sdnotify_init(void)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t usec = 0, p = 0;

	sdnotify_path[0] = '\0';
	sdnotify_wd_usec = 0;
	/* "/path" or "@abstract"; anything else (vsock, too long) is not ours. */
	if (sock != NULL && (sock[0] == '/' || sock[0] == '@') && sock[1] != '\0' &&
	    strlen(sock) < sizeof(sdnotify_path))
		snprintf(sdnotify_path, sizeof(sdnotify_path), "%s", sock);
	if (sdnotify_u64(getenv("WATCHDOG_USEC"), &usec) == 0 &&
	    (pid == NULL || (sdnotify_u64(pid, &p) == 0 && p == (uint64_t)getpid())) &&
	    usec >= SDNOTIFY_MIN_USEC && usec <= SDNOTIFY_MAX_USEC)
		sdnotify_wd_usec = usec;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int sdnotify_enabled(void)
{
	return sdnotify_path[0] != '\0';
}

uint64_t sdnotify_watchdog_usec(void)
{
	return sdnotify_enabled() ? sdnotify_wd_usec : 0;
}

int sdnotify_send(const char *state)
{
	struct sockaddr_un sa;
	size_t len = strlen(state), plen = strlen(sdnotify_path);
	socklen_t salen;
	ssize_t n;
	int fd, rc = 0;

	if (!sdnotify_enabled())
		return 0;
	if (len == 0 || len >= SDNOTIFY_MSG_BYTES)
		return TE_ERR_INVALID;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sdnotify_path, plen);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';       /* abstract: the name is not NUL-terminated */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	                    (sdnotify_path[0] == '@' ? 0 : 1));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return TE_ERR_IO;
	/* A manager that is slow to read must not stall the event loop. */
	while ((n = sendto(fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT,
	                   (struct sockaddr *)&sa, salen)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)len)
		rc = TE_ERR_IO;
	close(fd);
	return rc;
}

int sdnotify_reloading(void)
{
	char msg[64];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	return sdnotify_send(msg);
}

struct sdnotify_watchdog {
	struct event *ev;
	int failed_logged;
};

static void sdnotify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sdnotify_watchdog *w = arg;

	/* One line when the manager cannot be reached, not one per tick. */
	if (sdnotify_send("WATCHDOG=1") != 0 && !w->failed_logged) {
		log_warn("watchdog: cannot notify the service manager: %s", strerror(errno));
		w->failed_logged = 1;
	}
}

int sdnotify_watchdog_new(struct event_base *base, struct sdnotify_watchdog **out)
{
	uint64_t half = sdnotify_watchdog_usec() / 2;
	struct timeval tv = { (time_t)(half / 1000000), (suseconds_t)(half % 1000000) };
	struct sdnotify_watchdog *w;

	*out = NULL;
	if (half == 0)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TE_ERR_NOMEM;
	if ((w->ev = event_new(base, -1, EV_PERSIST, sdnotify_watchdog_cb, w)) == NULL ||
	    event_add(w->ev, &tv) != 0) {
		sdnotify_watchdog_free(w);
		return TE_ERR_NOMEM;
	}
	log_info("watchdog: notifying the service manager every %llu ms",
	         (unsigned long long)(half / 1000));
	sdnotify_send("WATCHDOG=1");
	*out = w;
	return 0;
}

void sdnotify_watchdog_free(struct sdnotify_watchdog *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
}
