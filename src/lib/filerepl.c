/* filerepl.c: see filerepl.h. */
#include "filerepl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "codec.h"
#include "err.h"

static void file_sync_folder(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= (int)sizeof(dir))
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int fd_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return TE_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_replace(const char *path, const void *data, size_t len)
{
	return file_replace_mode(path, data, len, 0600);
}

int file_replace_mode(const char *path, const void *data, size_t len, mode_t mode)
{
	return file_replace_at(AT_FDCWD, path, data, len, mode);
}

json_t *file_read_json(const char *path, size_t max)
{
	char *text = NULL;
	size_t len = 0;
	json_t *v = NULL;

	if (file_read_all(path, max, &text, &len) == 0)
		v = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	return v;
}

int file_replace_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, rc = TE_ERR_IO, saved, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return TE_ERR_TOO_LONG;
	(void)unlinkat(dirfd, tmp, 0);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	                 mode)) < 0)
		return TE_ERR_IO;
	if (mode != 0600)
		(void)fchmod(fd, mode);       /* past the umask: the file is meant for readers */
	if (fd_write_all(fd, data, len) == 0 && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = TE_ERR_IO;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, path) != 0)
		rc = TE_ERR_IO;
	if (rc != 0) {
		saved = errno;
		(void)unlinkat(dirfd, tmp, 0);
		errno = saved;
		return rc;
	}
	if (dirfd == AT_FDCWD) {
		file_sync_folder(path);
	} else if (strchr(path, '/') == NULL) {
		(void)fsync(dirfd);
	} else {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
		if ((fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	return 0;
}

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	return file_read_all_at(AT_FDCWD, path, max, out, len);
}

int file_read_all_at(int dirfd, const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t have = 0;
	ssize_t got;
	int fd;

	*out = NULL;
	*len = 0;
	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return TE_ERR_TOO_LONG;
	}
	if ((*out = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return TE_ERR_NOMEM;
	}
	while (have < (size_t)st.st_size) {
		got = read(fd, *out + have, (size_t)st.st_size - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	close(fd);
	(*out)[have] = '\0';
	if (have != (size_t)st.st_size) {
		free(*out);
		*out = NULL;
		return TE_ERR_IO;
	}
	*len = have;
	return 0;
}

int file_copy_sha256(int infd, int outfd, int64_t max, int64_t *len, char sha[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = TE_ERR_IO;
	ssize_t n;

	*len = 0;
	sha[0] = '\0';
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		n = read(infd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (*len + n > max) {
			rc = TE_ERR_TOO_LONG;
			goto out;
		}
		if ((outfd >= 0 && fd_write_all(outfd, buf, (size_t)n) != 0) ||
		    EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		*len += n;
	}
	if (n < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32 ||
	    hex_encode(md, mdlen, sha, 65) != 0)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
