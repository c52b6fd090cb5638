/* relayaudit.c: read the relay audit log's head, bounded. */
#include "relayaudit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "err.h"

/* The last line of the n bytes at buf (which end the file) as a record. */
static int relayaudit_last(char *buf, size_t n, int whole_file, struct audit_record *rec)
{
	size_t start;

	if (n == 0 || buf[n - 1] != '\n')
		return TE_ERR_CHAIN;           /* an append cut short */
	for (start = n - 1; start > 0 && buf[start - 1] != '\n'; start--)
		;
	if (start == 0 && !whole_file)
		return TE_ERR_CHAIN;           /* longer than any record may be */
	return audit_parse_line(buf + start, n - start, rec) == 0 ? 0 : TE_ERR_CHAIN;
}

int relay_audit_open_ro(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
}

int relay_audit_fd_head(int fd, struct relay_audit_head *out)
{
	struct audit_record rec;
	struct stat st;
	char *buf = NULL;
	size_t want, have = 0;
	ssize_t got;
	int rc = 0;

	out->seq = 0;
	memcpy(out->hash, AUDIT_GENESIS_HASH, SHA256_HEX_BYTES);
	if (fstat(fd, &st) != 0)
		return TE_ERR_SYS;
	if (st.st_size == 0)
		return 0;
	want = (size_t)st.st_size < MAX_AUDIT_LINE_BYTES + 1 ? (size_t)st.st_size
	                                                     : MAX_AUDIT_LINE_BYTES + 1;
	if ((buf = malloc(want)) == NULL)
		return TE_ERR_NOMEM;
	while (have < want) {
		got = pread(fd, buf + have, want - have, st.st_size - (off_t)want + (off_t)have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = TE_ERR_IO;
			goto out;
		}
		have += (size_t)got;
	}
	if ((rc = relayaudit_last(buf, have, want == (size_t)st.st_size, &rec)) != 0)
		goto out;
	out->seq = rec.seq;
	memcpy(out->hash, rec.hash, SHA256_HEX_BYTES);
out:
	free(buf);
	return rc;
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
