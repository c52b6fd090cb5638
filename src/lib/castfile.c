/* castfile.c: recording names and hashes (castfile.h). */
#include "castfile.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "codec.h"
#include "err.h"

/* Digits up to the next '-' or '.': at least one, at most 10. */
static const char *castfile_digits(const char *p)
{
	size_t n = 0;

	while (p[n] >= '0' && p[n] <= '9' && n <= 10)
		n++;
	return n == 0 || n > 10 ? NULL : p + n;
}

int castfile_name_ok(const char *session, const char *name)
{
	size_t sl = strlen(session), nl = strnlen(name, CASTFILE_NAME_BYTES);
	const char *p;

	if (sl == 0 || nl >= CASTFILE_NAME_BYTES || strncmp(name, session, sl) != 0 ||
	    name[sl] != '-' || strchr(session, '/') != NULL || strstr(session, "..") != NULL)
		return 0;
	p = name + sl + 1;
	if (*p == 'c') {                     /* a visit's later connection */
		if ((p = castfile_digits(p + 1)) == NULL || *p != '-')
			return 0;
		p++;
	}
	if ((p = castfile_digits(p)) == NULL)
		return 0;
	return strcmp(p, CASTFILE_SUFFIX) == 0;
}

int castfile_sha256_fd(int fd, uint64_t *size, char hex[65])
{
	unsigned char buf[64 * 1024], md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	uint64_t off = 0;
	ssize_t n;
	int rc = TE_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = TE_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
		goto out;
	*size = off;
	rc = hex_encode(md, sizeof(md), hex, 65);
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
