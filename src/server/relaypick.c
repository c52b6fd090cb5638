/* relaypick.c: round-robin relay choice with a quick TCP health probe.
 * The probe blocks the event loop for at most RELAYPICK_CONNECT_MS per dead
 * relay; on loopback a dead port is refused at once. */
#include "relaypick.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

static int relaypick_try(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	int fd, rc = TE_ERR_IO, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            ai->ai_protocol);
	if (fd < 0)
		return TE_ERR_SYS;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		rc = 0;
		goto out;
	}
	if (errno != EINPROGRESS)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) == 1 &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
		rc = 0;
out:
	close(fd);
	return rc;
}

int relaypick_probe(const char *host, int port, int timeout_ms)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int rc = TE_ERR_IO;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0)
		return TE_ERR_IO;
	for (struct addrinfo *ai = res; ai != NULL && rc != 0; ai = ai->ai_next)
		rc = relaypick_try(ai, timeout_ms);
	freeaddrinfo(res);
	return rc;
}

int relaypick_choose(struct store *st, unsigned *cursor, struct store_relay *out)
{
	struct store_relay *relays;
	size_t n = 0;
	int rc;

	if ((relays = calloc(RELAYPICK_MAX_RELAYS, sizeof(*relays))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = store_relay_list(st, relays, RELAYPICK_MAX_RELAYS, &n)) != 0)
		goto out;
	if (n == 0) {
		rc = TE_ERR_NOT_FOUND;
		goto out;
	}
	rc = TE_ERR_IO;
	for (size_t i = 0; i < n; i++) {
		const struct store_relay *r = &relays[(*cursor + i) % n];

		if (relaypick_probe(r->host, r->device_port, RELAYPICK_CONNECT_MS) == 0) {
			*out = *r;
			*cursor = (unsigned)((*cursor + i + 1) % n);
			rc = 0;
			break;
		}
		log_warn("relay %s (%s:%d) does not answer; skipping it", r->name,
		         r->host, r->device_port);
	}
out:
	free(relays);
	return rc;
}
