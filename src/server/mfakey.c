/* mfakey.c: the TOTP sealing key and crypto_secretbox around it. */
#include "mfakey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "secret.h"

#define MFAKEY_BOX_MAX_PLAIN ((STORE_BOX_BYTES - 1) / 2 - crypto_secretbox_NONCEBYTES - \
                              crypto_secretbox_MACBYTES)

static int mfakey_create(const char *path)
{
	uint8_t key[MFAKEY_BYTES];
	int fd, rc = TE_ERR_IO;

	if ((rc = secret_random(key, sizeof(key))) != 0)
		return rc;
	rc = TE_ERR_IO;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		goto out;
	if (write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = TE_ERR_IO;
	if (rc != 0)
		unlink(path);
out:
	secret_wipe(key, sizeof(key));
	return rc;
}

int mfakey_ensure(const char *dir, uint8_t key[MFAKEY_BYTES], char *errbuf, size_t errsz)
{
	char path[PATH_MAX];
	struct stat sb;
	ssize_t n;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/mfa", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(errbuf, errsz, "cannot create %s: %s", path, strerror(errno));
		return TE_ERR_SYS;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, MFAKEY_FILE);
	if (access(path, F_OK) != 0 && (rc = mfakey_create(path)) != 0) {
		snprintf(errbuf, errsz, "cannot create the TOTP key %s: %s", path, strerror(errno));
		return rc;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &sb) != 0) {
		snprintf(errbuf, errsz, "cannot read the TOTP key %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return TE_ERR_IO;
	}
	if ((sb.st_mode & 077) != 0 || sb.st_size != MFAKEY_BYTES) {
		snprintf(errbuf, errsz, "the TOTP key %s must be %d bytes with mode 0600 (it is"
		         " %lld bytes, mode %03o)", path, MFAKEY_BYTES, (long long)sb.st_size,
		         (unsigned)(sb.st_mode & 0777));
		close(fd);
		return TE_ERR_INVALID;
	}
	n = read(fd, key, MFAKEY_BYTES);
	close(fd);
	if (n != MFAKEY_BYTES) {
		secret_wipe(key, MFAKEY_BYTES);
		snprintf(errbuf, errsz, "cannot read the TOTP key %s", path);
		return TE_ERR_IO;
	}
	return 0;
}

int mfakey_seal(const uint8_t key[MFAKEY_BYTES], const uint8_t *secret, size_t len,
                char box_hex[STORE_BOX_BYTES])
{
	uint8_t buf[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
	            MFAKEY_BOX_MAX_PLAIN];
	size_t total = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	int rc;

	if (len == 0 || len > MFAKEY_BOX_MAX_PLAIN)
		return TE_ERR_TOO_LONG;
	if ((rc = secret_random(buf, crypto_secretbox_NONCEBYTES)) != 0)
		return rc;
	if (crypto_secretbox_easy(buf + crypto_secretbox_NONCEBYTES, secret, len, buf, key) != 0)
		return TE_ERR_CRYPTO;
	sodium_bin2hex(box_hex, STORE_BOX_BYTES, buf, total);
	secret_wipe(buf, sizeof(buf));
	return 0;
}

int mfakey_open(const uint8_t key[MFAKEY_BYTES], const char *box_hex, uint8_t *out,
                size_t outsz, size_t *outlen)
{
	uint8_t buf[(STORE_BOX_BYTES - 1) / 2];
	size_t n = 0, plain;
	int rc = 0;

	*outlen = 0;
	if (sodium_hex2bin(buf, sizeof(buf), box_hex, strlen(box_hex), NULL, &n, NULL) != 0 ||
	    n <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return TE_ERR_INVALID;
	plain = n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (plain > outsz)
		rc = TE_ERR_TOO_LONG;
	else if (crypto_secretbox_open_easy(out, buf + crypto_secretbox_NONCEBYTES,
	                                    n - crypto_secretbox_NONCEBYTES, buf, key) != 0)
		rc = TE_ERR_SIGNATURE;
	else
		*outlen = plain;
	secret_wipe(buf, sizeof(buf));
	return rc;
}
