/* relayinit.c: `tether-relay init --dir DIR --name NAME`.
 *
 * The relay's private key is made here, on the relay host, and never leaves
 * it: the server only ever sees the CSR and sends back a certificate. */
#include "relayinit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bounds.h"
#include "err.h"
#include "pki.h"

int relayinit_name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return 0;
	n = strnlen(name, MAX_NAME_BYTES);
	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* The folder may exist (an operator prepares it with the right owner), but
 * must be a directory. */
static int relayinit_dir(const char *dir, char *errbuf, size_t errsz)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		snprintf(errbuf, errsz, "cannot create %s: %s", dir, strerror(errno));
		return TE_ERR_SYS;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(errbuf, errsz, "%s exists and is not a directory", dir);
		return TE_ERR_INVALID;
	}
	return 0;
}

/* Save key under a private temporary name, then link() it into place: link
 * fails with EEXIST instead of replacing, so a key that appeared meanwhile
 * (a second init, an operator's copy) is never overwritten. */
static int relayinit_save_key(const char *dir, const char *keypath, EVP_PKEY *key,
                              char *errbuf, size_t errsz)
{
	char tmp[PATH_MAX];
	int rc, n;

	n = snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, RELAYINIT_KEY_FILE, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(errbuf, errsz, "the path %s is too long", dir);
		return TE_ERR_TOO_LONG;
	}
	if ((rc = pki_key_save(tmp, key)) != 0) {
		snprintf(errbuf, errsz, "cannot write the key in %s: %s", dir, te_strerror(rc));
		return rc;
	}
	rc = 0;
	if (link(tmp, keypath) != 0) {
		rc = errno == EEXIST ? TE_ERR_EXISTS : TE_ERR_SYS;
		snprintf(errbuf, errsz, "cannot create %s: %s", keypath, rc == TE_ERR_EXISTS ?
		         "it exists already; this relay has a key (move it away to start over)" :
		         strerror(errno));
	}
	unlink(tmp);
	return rc;
}

static int relayinit_write_csr(const char *path, const char *pem)
{
	size_t len = strlen(pem), off = 0;
	ssize_t n;
	int fd, rc = 0;

	/* The CSR is public and may be regenerated: replace an old one. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return TE_ERR_IO;
	while (off < len) {
		n = write(fd, pem + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = TE_ERR_IO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) != 0)
		rc = TE_ERR_IO;
	return rc;
}

int relayinit_run(const char *dir, const char *name, char *csr_path, size_t csr_pathsz,
                  char *errbuf, size_t errsz)
{
	char keypath[PATH_MAX];
	EVP_PKEY *key = NULL;
	char *pem = NULL;
	int rc, n, m;

	if (!relayinit_name_ok(name)) {
		snprintf(errbuf, errsz, "the relay name must be 1-%d characters of [A-Za-z0-9._-]",
		         MAX_NAME_BYTES - 1);
		return TE_ERR_INVALID;
	}
	n = snprintf(keypath, sizeof(keypath), "%s/%s", dir, RELAYINIT_KEY_FILE);
	m = snprintf(csr_path, csr_pathsz, "%s/%s", dir, RELAYINIT_CSR_FILE);
	if (n < 0 || (size_t)n >= sizeof(keypath) || m < 0 || (size_t)m >= csr_pathsz) {
		snprintf(errbuf, errsz, "the path %s is too long", dir);
		return TE_ERR_TOO_LONG;
	}
	if ((rc = relayinit_dir(dir, errbuf, errsz)) != 0)
		return rc;
	/* Fail early with the clear message; relayinit_save_key re-checks atomically. */
	if (access(keypath, F_OK) == 0) {
		snprintf(errbuf, errsz, "%s exists already; this relay has a key"
		         " (move it away to start over)", keypath);
		return TE_ERR_EXISTS;
	}
	if ((rc = pki_key_new(&key)) != 0 ||
	    (rc = pki_csr_new(key, PKI_ROLE_RELAY, name, &pem)) != 0) {
		snprintf(errbuf, errsz, "cannot make the key and CSR: %s", te_strerror(rc));
		goto out;
	}
	if ((rc = relayinit_save_key(dir, keypath, key, errbuf, errsz)) != 0)
		goto out;
	if ((rc = relayinit_write_csr(csr_path, pem)) != 0) {
		int e = errno;

		snprintf(errbuf, errsz, "cannot write %s: %s", csr_path, strerror(e));
		/* Without its CSR the new key is useless; leave the folder re-runnable. */
		unlink(keypath);
		goto out;
	}
out:
	free(pem);
	EVP_PKEY_free(key);
	return rc;
}
