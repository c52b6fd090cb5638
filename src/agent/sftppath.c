/* sftppath.c: path resolution and policy for the SFTP engine. */
#include "sftppath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pdmatch.h"

int sftppath_normalize(const char *base, const char *req, char out[PATH_MAX])
{
	char joined[2 * PATH_MAX];
	const char *p, *end;
	size_t pos = 0, n;
	int w;

	if (req[0] == '/' || base == NULL)
		w = snprintf(joined, sizeof(joined), "/%s", req);
	else
		w = snprintf(joined, sizeof(joined), "%s/%s", base, req);
	if (w < 0 || (size_t)w >= sizeof(joined))
		return TE_ERR_TOO_LONG;
	out[0] = '\0';
	for (p = joined; *p != '\0'; p = end) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (pos > 0 && out[pos - 1] != '/')
				pos--;
			if (pos > 0)
				pos--;   /* the slash itself */
			out[pos] = '\0';
			continue;
		}
		if (pos + 1 + n >= PATH_MAX)
			return TE_ERR_TOO_LONG;
		out[pos++] = '/';
		memcpy(out + pos, p, n);
		pos += n;
		out[pos] = '\0';
	}
	if (pos == 0)
		strcpy(out, "/");
	return 0;
}

int sftppath_under(const char *path, const char *root)
{
	size_t rl = strlen(root);

	if (strcmp(root, "/") == 0)
		return path[0] == '/';
	return strncmp(path, root, rl) == 0 && (path[rl] == '\0' || path[rl] == '/');
}

static int sftppath_under_any(const char *path, const char *const *roots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sftppath_under(path, roots[i]))
			return 1;
	return 0;
}

static enum sftppath_verdict sftppath_errno_verdict(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return SFTPPATH_NOACCESS;
	case ENAMETOOLONG:
		return SFTPPATH_TOO_LONG;
	default:
		return SFTPPATH_MISSING;
	}
}

/* The real path of the entry: its parent resolved, its own name kept. */
static enum sftppath_verdict sftppath_real_entry(const char *norm, char real[PATH_MAX])
{
	char parent[PATH_MAX], preal[PATH_MAX];
	const char *slash = strrchr(norm, '/');
	size_t plen = (size_t)(slash - norm);
	int w;

	if (slash[1] == '\0')   /* "/" itself */
		return realpath(norm, real) != NULL ? SFTPPATH_OK
		                                    : sftppath_errno_verdict(errno);
	memcpy(parent, norm, plen);
	parent[plen] = '\0';
	if (plen == 0)
		strcpy(parent, "/");
	if (realpath(parent, preal) == NULL)
		return sftppath_errno_verdict(errno);
	w = snprintf(real, PATH_MAX, "%s/%s", strcmp(preal, "/") == 0 ? "" : preal,
	             slash + 1);
	if (w < 0 || w >= PATH_MAX)
		return SFTPPATH_TOO_LONG;
	return SFTPPATH_OK;
}

enum sftppath_verdict sftppath_resolve(const struct sftppath_rules *r,
                                       const char *req, enum sftppath_mode mode,
                                       char out[PATH_MAX])
{
	char norm[PATH_MAX], real[PATH_MAX];
	enum sftppath_verdict v;

	snprintf(out, PATH_MAX, "%s", req);
	if (r->nroots == 0)
		return SFTPPATH_NO_ROOTS;
	if (sftppath_normalize(r->real_roots[0], req, norm) != 0)
		return SFTPPATH_TOO_LONG;
	snprintf(out, PATH_MAX, "%s", norm);
	/* Lexical checks first, so nothing outside is even looked at. */
	if (!sftppath_under_any(norm, r->roots, r->nroots) &&
	    !sftppath_under_any(norm, r->real_roots, r->nroots))
		return SFTPPATH_OUTSIDE;
	if (!r->patient_ok && pdmatch_refused(r->pd, norm))
		return SFTPPATH_PATIENT;
	if (mode == SFTPPATH_FOLLOW)
		v = realpath(norm, real) != NULL ? SFTPPATH_OK
		                                 : sftppath_errno_verdict(errno);
	else
		v = sftppath_real_entry(norm, real);
	if (v != SFTPPATH_OK)
		return v;
	snprintf(out, PATH_MAX, "%s", real);
	if (!sftppath_under_any(real, r->real_roots, r->nroots))
		return SFTPPATH_OUTSIDE;
	if (!r->patient_ok && pdmatch_refused(r->pd, real))
		return SFTPPATH_PATIENT;
	return SFTPPATH_OK;
}

int sftppath_open_parent(const char *real, int *dirfd, const char **base)
{
	char name[NAME_MAX + 1];
	const char *p, *end, *last = strrchr(real, '/');
	struct stat st;
	size_t n;
	int fd, nfd;

	*dirfd = -1;
	if (real[0] != '/' || last == NULL) {
		errno = EINVAL;
		return TE_ERR_SYS;
	}
	*base = last[1] != '\0' ? last + 1 : ".";
	if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return TE_ERR_SYS;
	for (p = real + 1; p < last; p = end + 1) {
		end = strchr(p, '/');
		n = (size_t)(end - p);
		if (n == 0 || n > NAME_MAX) {
			close(fd);
			errno = n == 0 ? EINVAL : ENAMETOOLONG;
			return TE_ERR_SYS;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		nfd = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0)
			return TE_ERR_SYS;
		/* O_PATH|O_NOFOLLOW may hand back the link itself: only a real
		 * directory is walked through. */
		if (fstat(nfd, &st) != 0 || !S_ISDIR(st.st_mode)) {
			close(nfd);
			errno = ELOOP;
			return TE_ERR_SYS;
		}
		fd = nfd;
	}
	*dirfd = fd;
	return 0;
}
