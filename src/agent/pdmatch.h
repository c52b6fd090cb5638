/* pdmatch.h: the one rule that decides what is patient data on the device,
 * for the SFTP engine and for the shell's cover alike.
 *
 * An entry ("patient_data.NAME = PATTERN", absolute) is split into its
 * fixed prefix, the directories before the first component holding a
 * wildcard (or before the last component when none does), and the rest, an
 * fnmatch(3) pattern relative to that prefix. The prefix is also resolved
 * to its real path, so an entry written through a symbolic link matches the
 * real paths both sides see. A path is refused when it, or a directory above
 * it, lies strictly under a prefix and its remainder matches the rest with
 * fnmatch without FNM_PATHNAME: "*" and "?" also match "/", so
 * "/D/data/STAR.dcm" refuses /D/data/sub/deep.dcm at any depth. With
 * case-insensitive matching (FNM_CASEFOLD) only the rest folds case; the
 * prefix is a real directory, compared as it is on disk.
 *
 * Hard links: a regular file with more than one link that is refused (by
 * name, or by lying under a refused directory) is remembered by device and
 * inode when the trees under the prefixes are scanned, and every other name
 * of that file is refused too (in the trees the scan walks, for the shell;
 * wherever SFTP reaches, for SFTP). The scan is bounded (PDMATCH_MAX_*):
 * past a bound the caller fails closed. */
#ifndef TETHER_PDMATCH_H
#define TETHER_PDMATCH_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PDMATCH_MAX_WALK_ENTRIES 50000 /* directory entries one scan looks at */
#define PDMATCH_MAX_DEPTH        32    /* directory levels below a prefix */
#define PDMATCH_MAX_LINKED       1024  /* refused files with more than one link */
#define PDMATCH_MAX_COVER        1024  /* paths the shell's cover mounts over */
#define PDMATCH_WHY_BYTES        512

struct pdmatch;

/* One path the shell's cover hides: a directory (under an empty tmpfs) or
 * anything else (under /dev/null). */
struct pdmatch_cover {
	char *path;
	int dir;
};

/* Compile the patterns (absolute, no "." or ".." component, not "/"
 * itself). 0, TE_ERR_INVALID (why says which pattern and what is wrong) or
 * TE_ERR_NOMEM. */
int pdmatch_new(const char *const *pats, size_t npats, int casefold,
                struct pdmatch **out, char *why, size_t whysz);
void pdmatch_free(struct pdmatch *m);

/* Check one pattern as the config loader does: 0 or TE_ERR_INVALID. */
int pdmatch_pattern_ok(const char *pat, char *why, size_t whysz);

/* 1 when the absolute, normalized path or a directory above it matches. */
int pdmatch_refused(const struct pdmatch *m, const char *path);

/* Walk the trees under the prefixes (and, when cover is wanted, the extra
 * roots, where other names of refused files are looked for) and remember
 * the refused files with more than one link. With cover != NULL also list
 * what the shell must hide: the top-most refused paths and the other names
 * of refused files (caller frees with pdmatch_cover_free). 0, or
 * TE_ERR_TOO_LONG / TE_ERR_DENIED when a bound was hit or a directory could
 * not be read (why says which): the caller fails closed. */
int pdmatch_scan(struct pdmatch *m, const char *const *extra, size_t nextra,
                 struct pdmatch_cover **cover, size_t *ncover, char *why,
                 size_t whysz);
void pdmatch_cover_free(struct pdmatch_cover *c, size_t n);

/* 1 when st is another name of a refused file (pdmatch_scan first). When
 * the last scan failed, every regular file with more than one link is
 * refused, so a failed scan never lets a link through. */
int pdmatch_linked(const struct pdmatch *m, const struct stat *st);

/* 1 when renaming or removing the real path would move or drop patient
 * data: it is a directory above (or equal to) a prefix, or it holds
 * something refused (a bounded walk; past the bound it counts as holding). */
int pdmatch_holds(const struct pdmatch *m, const char *path);

#endif
