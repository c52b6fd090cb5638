/* api_part.c: files a device sends in chunks (shell recordings,
 * api_recording.c; data files, api_files.c) and people read back in
 * chunks: one way to append a chunk to a part, and one to read a chunk. */
#include "srvapi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "err.h"
#include "http.h"

int api_part_write(struct http_req *r, const char *what, const char *part, int64_t size,
                   int64_t offset, const uint8_t *buf, size_t n, int *fd, int64_t *have,
                   int *wrote)
{
	struct stat st;

	*wrote = 0;
	if ((*fd = open(part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fstat(*fd, &st) != 0) {
		http_error(r, 503, "storage", "cannot keep the %s (%s)", what, strerror(errno));
		return -1;
	}
	if (st.st_size > size) {          /* a part of another attempt: start again */
		if (ftruncate(*fd, 0) != 0) {
			http_error(r, 503, "storage", "cannot reset the %s", what);
			return -1;
		}
		st.st_size = 0;
	}
	*have = (int64_t)st.st_size;
	if (offset != *have)
		return 0;                 /* the device resumes from what is here */
	if ((int64_t)n > size - offset) {
		api_bad_field(r, "data", TE_ERR_TOO_LONG);
		return -1;
	}
	if (n > 0 && (pwrite(*fd, buf, n, (off_t)offset) != (ssize_t)n || fdatasync(*fd) != 0)) {
		/* what did land is kept; the device resumes from the part's size */
		http_error(r, 503, "storage", "cannot write the %s (%s)", what, strerror(errno));
		return -1;
	}
	*have = offset + (int64_t)n;
	*wrote = 1;
	return 0;
}

int api_part_append(struct http_req *r, const char *what, const char *part, int64_t size,
                    int64_t offset, const char *b64, size_t maxchunk, int *fd,
                    int64_t *have, int *wrote)
{
	uint8_t *buf = malloc(maxchunk);
	size_t n = 0;
	int rc;

	*fd = -1;
	*wrote = 0;
	if (buf == NULL || b64url_decode(b64, strlen(b64), buf, maxchunk, &n) != 0) {
		api_bad_field(r, "data", buf == NULL ? TE_ERR_NOMEM : TE_ERR_INVALID);
		free(buf);
		return -1;
	}
	rc = api_part_write(r, what, part, size, offset, buf, n, fd, have, wrote);
	free(buf);
	return rc;
}

int api_chunk_read(const char *path, int64_t offset, size_t maxchunk, char **text)
{
	size_t tsz = (maxchunk / 3 + 2) * 4 + 1;
	uint8_t *buf = malloc(maxchunk);
	ssize_t n = -1;
	int fd, rc = TE_ERR_IO;

	*text = NULL;
	if (buf == NULL || (*text = malloc(tsz)) == NULL) {
		free(buf);
		return TE_ERR_NOMEM;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		n = pread(fd, buf, maxchunk, (off_t)offset);
		close(fd);
	}
	if (n >= 0 && b64url_encode(buf, (size_t)n, *text, tsz) == 0)
		rc = 0;
	free(buf);
	if (rc != 0) {
		free(*text);
		*text = NULL;
	}
	return rc;
}
