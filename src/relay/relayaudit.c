/* relayaudit.c: read the relay audit log's head, bounded. */
#include "relayaudit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

int relay_audit_open_ro(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
}

int relay_audit_fd_head(int fd, struct relay_audit_head *out)
{
	return audit_fd_head(fd, &out->seq, out->hash);
}

int relay_audit_file_head(const char *path, struct relay_audit_head *out)
{
	int fd = relay_audit_open_ro(path), rc;

	if (fd < 0) {
		out->seq = 0;
		memcpy(out->hash, AUDIT_GENESIS_HASH, SHA256_HEX_BYTES);
		return errno == ENOENT ? 0 : TE_ERR_SYS;
	}
	rc = relay_audit_fd_head(fd, out);
	close(fd);
	return rc;
}
