/* filerepl.h: replace a small file whole, so that a crash or a power cut
 * leaves either the old contents or the new, never a torn mix. */
#ifndef TETHER_FILEREPL_H
#define TETHER_FILEREPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Write data to PATH.tmp (mode 0600, never through a symlink), fsync it,
 * rename it over path and fsync the folder, so the rename survives a power
 * cut too. 0, TE_ERR_TOO_LONG (path) or TE_ERR_IO (errno says why; the
 * temporary file is removed and path left as it was). */
int file_replace(const char *path, const void *data, size_t len);
/* The same with another mode (a file others read, 0644). */
int file_replace_mode(const char *path, const void *data, size_t len, mode_t mode);
/* A regular file of at most max bytes (never through a symlink), whole,
 * into *out (malloc'd, NUL-terminated), its length in *len. 0,
 * TE_ERR_NOT_FOUND, TE_ERR_TOO_LONG (or not a regular file), TE_ERR_IO. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);
/* file_read_all's file parsed as JSON (a key twice is refused): the value,
 * or NULL when the file is missing, longer than max, not a regular file or
 * not JSON. For the small state files a program keeps for itself. */
json_t *file_read_json(const char *path, size_t max);
/* The same relative to an open folder (dirfd; AT_FDCWD: the cwd), for a
 * process that kept the folder open before it dropped its privileges. */
int file_replace_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode);
int file_read_all_at(int dirfd, const char *path, size_t max, char **out, size_t *len);
/* Copy infd to outfd (each from where it stands; outfd -1: only read)
 * and give the bytes' count and SHA-256 (hex) on the way; TE_ERR_TOO_LONG as soon as more than
 * max bytes came (a file longer than it was declared), TE_ERR_IO. */
int file_copy_sha256(int infd, int outfd, int64_t max, int64_t *len, char sha[65]);

/* write(2) all of data to fd, again after EINTR or a short write.
 * 0 or TE_ERR_IO. */
int fd_write_all(int fd, const void *data, size_t len);

#endif
