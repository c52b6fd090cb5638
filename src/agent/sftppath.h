/* sftppath.h: where the SFTP engine may go.
 *
 * A client path is joined to the first root when relative, normalized
 * lexically ("." and ".." removed, slashes collapsed), checked against the
 * roots, then resolved to its real path (of the file itself, or of its parent
 * for an entry being created, removed or lstat'ed) and checked again: inside
 * a root component-wise, and not patient data (pdmatch.h: the same rule as
 * the shell's cover, checked on the lexical and on the real path). The engine then reaches the
 * resolved path with sftppath_open_parent(), which walks it from "/" one
 * component at a time without following any symbolic link, so a link swapped
 * in after the check cannot redirect the operation. */
#ifndef TETHER_SFTPPATH_H
#define TETHER_SFTPPATH_H

#include <limits.h>
#include <stddef.h>

struct pdmatch;

struct sftppath_rules {
	const char *const *roots;      /* as configured, lexically normalized */
	const char *const *real_roots; /* their real paths (same count) */
	size_t nroots;
	const struct pdmatch *pd;      /* patient data (pdmatch.h); NULL: none */
	int patient_ok;
};

enum sftppath_verdict {
	SFTPPATH_OK = 0,
	SFTPPATH_OUTSIDE,   /* not inside an allowlisted root */
	SFTPPATH_PATIENT,   /* matches a refusal pattern */
	SFTPPATH_MISSING,   /* no such file or directory */
	SFTPPATH_NOACCESS,  /* the agent itself may not look there */
	SFTPPATH_TOO_LONG,  /* longer than PATH_MAX */
	SFTPPATH_NO_ROOTS,  /* no allowlisted directory exists */
};

enum sftppath_mode {
	SFTPPATH_FOLLOW,    /* the file itself, symbolic links resolved */
	SFTPPATH_ENTRY,     /* the directory entry: parent resolved, name kept */
};

/* Join req to base when relative and normalize; TE_ERR_TOO_LONG when the
 * result does not fit PATH_MAX. */
int sftppath_normalize(const char *base, const char *req, char out[PATH_MAX]);

/* 1 when path lies inside root component-wise (/data/logs2 is not inside
 * /data/logs); both absolute and normalized. */
int sftppath_under(const char *path, const char *root);

/* Resolve req under the rules; out holds the real path when SFTPPATH_OK and
 * the best known path otherwise (for the audit record). */
enum sftppath_verdict sftppath_resolve(const struct sftppath_rules *r,
                                       const char *req, enum sftppath_mode mode,
                                       char out[PATH_MAX]);

/* Open the parent directory of the absolute, normalized path real (O_PATH,
 * no symbolic link followed anywhere) and point *base at its last component
 * ("." for "/"). 0, or TE_ERR_SYS with errno set. */
int sftppath_open_parent(const char *real, int *dirfd, const char **base);

#endif
