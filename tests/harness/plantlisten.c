/* plantlisten.c: an LD_PRELOAD library that makes any program hold a
 * listening TCP socket on 127.0.0.1 from its start, inherited by its
 * forks. Only for tests/e2e/t090: it shows that the no-listening-socket
 * check finds a listener in a non-dumpable agent (nothing in tether's
 * binaries can open one on request). */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) static void plant_listener(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Far above the fds the program itself expects to get. */
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 1) != 0 ||
	    dup2(fd, 900) != 900)
		_exit(99);
	close(fd);
}
