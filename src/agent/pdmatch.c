/* pdmatch.c: patient-data patterns, their scan, and the shell's cover list.
 * The rule itself is stated in pdmatch.h; docs/security.md repeats it. */
#include "pdmatch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

#define PDMATCH_WILD "*?[\\"
#define PDMATCH_STR2(x) #x
#define PDMATCH_STR(x) PDMATCH_STR2(x)
#define PDMATCH_MAX_COVER_TEXT  PDMATCH_STR(PDMATCH_MAX_COVER)
#define PDMATCH_MAX_LINKED_TEXT PDMATCH_STR(PDMATCH_MAX_LINKED)
#define PDMATCH_MAX_WALK_TEXT   PDMATCH_STR(PDMATCH_MAX_WALK_ENTRIES)
#define PDMATCH_MAX_DEPTH_TEXT  PDMATCH_STR(PDMATCH_MAX_DEPTH)

struct pdmatch_pat {
	char *prefix;      /* a directory, "/" or without a trailing slash */
	size_t plen;
	char *rest;        /* fnmatch pattern relative to prefix */
	int literal;       /* rest is one plain name: only children of prefix match */
};

struct pdmatch_ino {
	dev_t dev;
	ino_t ino;
};

struct pdmatch_cand {          /* a file with several links not refused by name */
	dev_t dev;
	ino_t ino;
	char *path;
};

struct pdmatch {
	struct pdmatch_pat *p;
	size_t n, cap;
	int flags;                 /* 0 or FNM_CASEFOLD */
	struct pdmatch_ino *links;
	size_t nlinks;
	int links_known;           /* 0 until a scan succeeded */
};

/* ---- compiling ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static void pdmatch_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

int pdmatch_pattern_ok(const char *pat, char *why, size_t whysz)
{
	const char *p, *end;
	size_t n;

	if (pat == NULL || pat[0] != '/') {
		pdmatch_why(why, whysz, "must be an absolute path or pattern");
		return TE_ERR_INVALID;
	}
	if (strlen(pat) >= PATH_MAX) {
		pdmatch_why(why, whysz, "longer than %d bytes", PATH_MAX - 1);
		return TE_ERR_INVALID;
	}
	for (p = pat; *p != '\0'; p = end) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			pdmatch_why(why, whysz, "must not hold a \".\" or \"..\" component");
			return TE_ERR_INVALID;
		}
	}
	if (strspn(pat, "/") == strlen(pat)) {
		pdmatch_why(why, whysz, "must name something below \"/\"");
		return TE_ERR_INVALID;
	}
	return 0;
}

static int pdmatch_add(struct pdmatch *m, const char *prefix, size_t plen,
                       const char *rest, int literal)
{
	struct pdmatch_pat *p;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->p[i].plen == plen && strncmp(m->p[i].prefix, prefix, plen) == 0 &&
		    strcmp(m->p[i].rest, rest) == 0)
			return 0;
	if (m->n == m->cap) {
		p = realloc(m->p, (m->cap * 2 + 4) * sizeof(*p));
		if (p == NULL)
			return TE_ERR_NOMEM;
		m->p = p;
		m->cap = m->cap * 2 + 4;
	}
	p = &m->p[m->n];
	p->prefix = plen == 0 ? strdup("/") : strndup(prefix, plen);
	p->rest = strdup(rest);
	p->plen = plen == 0 ? 1 : plen;
	p->literal = literal;
	m->n++;
	return p->prefix != NULL && p->rest != NULL ? 0 : TE_ERR_NOMEM;
}

/* name with fnmatch's special characters escaped, so a real directory or
 * file name is matched as itself. */
static int pdmatch_escape(const char *name, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *name != '\0'; name++) {
		if (o + 3 > outsz)
			return TE_ERR_TOO_LONG;
		if (strchr(PDMATCH_WILD, *name) != NULL)
			out[o++] = '\\';
		out[o++] = *name;
	}
	out[o] = '\0';
	return 0;
}

/* The entry through its real path: the whole entry when it has no wildcard
 * and exists, else its prefix. Nothing to add when neither resolves. */
static int pdmatch_add_real(struct pdmatch *m, const char *norm, size_t cut,
                            const char *rest, int literal)
{
	char prefix[PATH_MAX], real[PATH_MAX], esc[PATH_MAX];
	char *slash;

	if (literal && realpath(norm, real) != NULL && strcmp(real, "/") != 0) {
		slash = strrchr(real, '/');
		if (pdmatch_escape(slash + 1, esc, sizeof(esc)) != 0)
			return 0;
		return pdmatch_add(m, real, (size_t)(slash - real), esc, 1);
	}
	memcpy(prefix, norm, cut);
	prefix[cut] = '\0';
	if (cut == 0 || realpath(prefix, real) == NULL)
		return 0;
	return pdmatch_add(m, real, strcmp(real, "/") == 0 ? 0 : strlen(real), rest,
	                   literal);
}

/* Split one pattern at its fixed prefix; add it as written and through its
 * real path. */
static int pdmatch_compile(struct pdmatch *m, const char *pat)
{
	char norm[PATH_MAX];
	const char *p, *end, *cut = NULL, *last = NULL;
	size_t pos = 0, n;
	int rc;

	for (p = pat; *p != '\0'; p = end) {     /* collapse "//", drop a final "/" */
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 0)
			continue;
		norm[pos++] = '/';
		memcpy(norm + pos, p, n);
		pos += n;
	}
	norm[pos] = '\0';
	for (p = norm; *p != '\0'; p = end) {
		end = strchrnul(p + 1, '/');
		last = p;
		if (cut == NULL && strcspn(p + 1, PDMATCH_WILD) < (size_t)(end - p - 1))
			cut = p;
	}
	if (cut == NULL)
		cut = last;
	if ((rc = pdmatch_add(m, norm, (size_t)(cut - norm), cut + 1,
	                      strpbrk(cut + 1, PDMATCH_WILD) == NULL)) != 0)
		return rc;
	return pdmatch_add_real(m, norm, (size_t)(cut - norm), cut + 1,
	                        strpbrk(cut + 1, PDMATCH_WILD) == NULL);
}

int pdmatch_new(const char *const *pats, size_t npats, int casefold,
                struct pdmatch **out, char *why, size_t whysz)
{
	struct pdmatch *m;
	char what[PDMATCH_WHY_BYTES];
	size_t i;
	int rc;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return TE_ERR_NOMEM;
	m->flags = casefold ? FNM_CASEFOLD : 0;
	m->links_known = npats == 0;
	for (i = 0; i < npats; i++) {
		if ((rc = pdmatch_pattern_ok(pats[i], what, sizeof(what))) != 0) {
			pdmatch_why(why, whysz, "patient data pattern %.300s: %s",
			            pats[i] != NULL ? pats[i] : "(null)", what);
			pdmatch_free(m);
			return rc;
		}
		if ((rc = pdmatch_compile(m, pats[i])) != 0) {
			pdmatch_free(m);
			return rc;
		}
	}
	*out = m;
	return 0;
}

void pdmatch_free(struct pdmatch *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->p[i].prefix);
		free(m->p[i].rest);
	}
	free(m->p);
	free(m->links);
	free(m);
}

/* ---- matching ------------------------------------------------------------- */

/* 1 when path is root itself or lies below it. */
static int pdmatch_under(const char *path, const char *root, size_t rlen)
{
	if (rlen == 1 && root[0] == '/')
		return path[0] == '/';
	return strncmp(path, root, rlen) == 0 && (path[rlen] == '\0' || path[rlen] == '/');
}

static int pdmatch_one(const struct pdmatch_pat *p, const char *path, int flags)
{
	char tmp[PATH_MAX];
	const char *rel;
	char *slash;
	size_t len;

	if (!pdmatch_under(path, p->prefix, p->plen))
		return 0;
	rel = p->plen == 1 ? path + 1 : path + p->plen;
	if (*rel == '/')
		rel++;
	if (*rel == '\0')
		return 0;                /* the prefix itself is never refused by it */
	if ((len = strlen(rel)) >= sizeof(tmp))
		return 1;
	memcpy(tmp, rel, len + 1);
	/* The path, then every directory above it up to the prefix. */
	for (;;) {
		if (fnmatch(p->rest, tmp, flags) == 0)
			return 1;
		if ((slash = strrchr(tmp, '/')) == NULL)
			return 0;
		*slash = '\0';
	}
}

int pdmatch_refused(const struct pdmatch *m, const char *path)
{
	size_t i;

	if (m == NULL)
		return 0;
	if (strlen(path) >= PATH_MAX)
		return m->n > 0;         /* cannot check it, so it is not shown */
	for (i = 0; i < m->n; i++)
		if (pdmatch_one(&m->p[i], path, m->flags))
			return 1;
	return 0;
}

static int pdmatch_in_links(const struct pdmatch *m, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < m->nlinks; i++)
		if (m->links[i].dev == dev && m->links[i].ino == ino)
			return 1;
	return 0;
}

int pdmatch_linked(const struct pdmatch *m, const struct stat *st)
{
	if (m == NULL || m->n == 0 || !S_ISREG(st->st_mode) || st->st_nlink < 2)
		return 0;
	return !m->links_known || pdmatch_in_links(m, st->st_dev, st->st_ino);
}

/* ---- walking -------------------------------------------------------------- */

struct pdwalk {
	struct pdmatch *m;
	char path[PATH_MAX];
	size_t len;
	size_t entries;
	int holds;                     /* stop at the first refused entry */
	int found;
	int want_cover;
	struct pdmatch_cover *cov;
	size_t ncov;
	struct pdmatch_cand *cand;
	size_t ncand;
	int rc;
	char *why;
	size_t whysz;
};

__attribute__((format(printf, 3, 4)))
static void pdwalk_fail(struct pdwalk *w, int rc, const char *fmt, ...)
{
	va_list ap;

	if (w->rc != 0)
		return;
	w->rc = rc;
	if (w->why == NULL || w->whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, w->whysz, fmt, ap);
	va_end(ap);
}

static void pdwalk_cover(struct pdwalk *w, const char *path, int dir)
{
	size_t i;

	for (i = 0; i < w->ncov; i++)
		if (strcmp(w->cov[i].path, path) == 0)
			return;
	if (w->ncov >= PDMATCH_MAX_COVER) {
		pdwalk_fail(w, TE_ERR_TOO_LONG, "the refusal list matches more than "
		            "%s paths", PDMATCH_MAX_COVER_TEXT);
		return;
	}
	w->cov[w->ncov].dir = dir;
	if ((w->cov[w->ncov].path = strdup(path)) == NULL) {
		pdwalk_fail(w, TE_ERR_NOMEM, "out of memory%s", "");
		return;
	}
	w->ncov++;
}

static void pdwalk_link(struct pdwalk *w, const struct stat *st)
{
	struct pdmatch *m = w->m;

	if (m->nlinks >= PDMATCH_MAX_LINKED) {
		pdwalk_fail(w, TE_ERR_TOO_LONG, "more than %s patient-data files have "
		            "hard links", PDMATCH_MAX_LINKED_TEXT);
		return;
	}
	m->links[m->nlinks].dev = st->st_dev;
	m->links[m->nlinks].ino = st->st_ino;
	m->nlinks++;
}

static void pdwalk_cand(struct pdwalk *w, const struct stat *st)
{
	if (w->ncand >= PDMATCH_MAX_LINKED) {
		pdwalk_fail(w, TE_ERR_TOO_LONG, "more than %s files with hard links "
		            "to check against patient data", PDMATCH_MAX_LINKED_TEXT);
		return;
	}
	w->cand[w->ncand].dev = st->st_dev;
	w->cand[w->ncand].ino = st->st_ino;
	if ((w->cand[w->ncand].path = strdup(w->path)) == NULL) {
		pdwalk_fail(w, TE_ERR_NOMEM, "out of memory%s", "");
		return;
	}
	w->ncand++;
}

/* One entry the walk met (w->path); links are neither followed nor covered:
 * a link leads to a real path, which is judged where it lies. */
static void pdwalk_entry(struct pdwalk *w, const struct stat *st, int refused,
                         int under_refused)
{
	int multi = S_ISREG(st->st_mode) && st->st_nlink > 1;

	if (S_ISLNK(st->st_mode))
		return;
	if (w->holds) {
		if (refused || (multi && pdmatch_linked(w->m, st)))
			w->found = 1;
		return;
	}
	if (refused && !under_refused && w->want_cover)
		pdwalk_cover(w, w->path, S_ISDIR(st->st_mode));
	if (multi && refused)
		pdwalk_link(w, st);
	else if (multi && w->want_cover)
		pdwalk_cand(w, st);
}

static int pdwalk_push(struct pdwalk *w, const char *name)
{
	size_t n = strlen(name), sep = strcmp(w->path, "/") != 0;

	if (w->len + sep + n >= sizeof(w->path)) {
		pdwalk_fail(w, TE_ERR_TOO_LONG, "a path under %s is too long", w->path);
		return -1;
	}
	if (sep)
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	return 0;
}

/* Walk the directory open on fd (taken over) whose path is w->path. A
 * shallow walk looks only at the directory's own entries (and inside the
 * refused ones, for their links). */
static void pdwalk_dir(struct pdwalk *w, int fd, unsigned depth, int under_refused,
                       int shallow)
{
	struct dirent *de;
	struct stat st;
	size_t save = w->len;
	DIR *d;
	int refused, cfd;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		pdwalk_fail(w, TE_ERR_DENIED, "cannot read %s", w->path);
		return;
	}
	while (w->rc == 0 && !w->found && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++w->entries > PDMATCH_MAX_WALK_ENTRIES) {
			pdwalk_fail(w, TE_ERR_TOO_LONG, "more than %s entries to check "
			            "under the patient-data folders", PDMATCH_MAX_WALK_TEXT);
			break;
		}
		if (pdwalk_push(w, de->d_name) != 0)
			break;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				pdwalk_fail(w, TE_ERR_DENIED, "cannot check %s", w->path);
		} else {
			refused = under_refused || pdmatch_refused(w->m, w->path);
			pdwalk_entry(w, &st, refused, under_refused);
			if (S_ISDIR(st.st_mode) && w->rc == 0 && !w->found && (!shallow || refused)) {
				if (depth + 1 > PDMATCH_MAX_DEPTH) {
					pdwalk_fail(w, TE_ERR_TOO_LONG, "%s is more than "
					            PDMATCH_MAX_DEPTH_TEXT " levels deep", w->path);
				} else if ((cfd = openat(dirfd(d), de->d_name, O_RDONLY |
				            O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
					pdwalk_dir(w, cfd, depth + 1, refused, 0);
				} else if (errno != ENOENT) {
					pdwalk_fail(w, TE_ERR_DENIED, "cannot read %s", w->path);
				}
			}
		}
		w->len = save;
		w->path[save] = '\0';
	}
	closedir(d);
}

/* Walk from a directory given by its absolute path; a missing start is
 * nothing to walk. */
static void pdwalk_start(struct pdwalk *w, const char *start, int shallow)
{
	struct stat st;
	int fd;

	if (lstat(start, &st) != 0 || !S_ISDIR(st.st_mode))
		return;
	if ((fd = open(start, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		pdwalk_fail(w, TE_ERR_DENIED, "cannot read %s", start);
		return;
	}
	snprintf(w->path, sizeof(w->path), "%s", start);
	w->len = strlen(w->path);
	pdwalk_dir(w, fd, 0, 0, shallow);
}

/* ---- scanning ------------------------------------------------------------- */

struct pdmatch_start {
	const char *path;
	int shallow;
};

static int pdmatch_start_cmp(const void *a, const void *b)
{
	const struct pdmatch_start *x = a, *y = b;
	size_t lx = strlen(x->path), ly = strlen(y->path);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->shallow - y->shallow;   /* a full walk before a shallow one */
}

/* Whether an earlier start already walks this one. */
static int pdmatch_start_done(const struct pdmatch_start *s, size_t i)
{
	size_t j, len;

	for (j = 0; j < i; j++) {
		if (s[j].path == NULL)
			continue;
		len = strlen(s[j].path);
		if (!s[j].shallow && pdmatch_under(s[i].path, s[j].path, len))
			return 1;
		if (s[j].shallow && s[i].shallow && strcmp(s[i].path, s[j].path) == 0)
			return 1;
	}
	return 0;
}

static void pdmatch_walk_all(struct pdwalk *w, const char *const *extra,
                             size_t nextra, char (*reals)[PATH_MAX])
{
	struct pdmatch *m = w->m;
	struct pdmatch_start *s;
	size_t i, n = 0;

	if ((s = calloc(m->n + nextra + 1, sizeof(*s))) == NULL) {
		pdwalk_fail(w, TE_ERR_NOMEM, "out of memory%s", "");
		return;
	}
	for (i = 0; i < m->n; i++) {
		s[n].path = m->p[i].prefix;
		s[n++].shallow = m->p[i].literal;
	}
	for (i = 0; i < nextra; i++)
		if (realpath(extra[i], reals[i]) != NULL)
			s[n++].path = reals[i];
	qsort(s, n, sizeof(*s), pdmatch_start_cmp);
	for (i = 0; i < n && w->rc == 0; i++) {
		if (pdmatch_refused(m, s[i].path) || pdmatch_start_done(s, i)) {
			s[i].path = NULL;      /* covered, or walked, from above */
			continue;
		}
		pdwalk_start(w, s[i].path, s[i].shallow);
	}
	free(s);
}

void pdmatch_cover_free(struct pdmatch_cover *c, size_t n)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < n; i++)
		free(c[i].path);
	free(c);
}

int pdmatch_scan(struct pdmatch *m, const char *const *extra, size_t nextra,
                 struct pdmatch_cover **cover, size_t *ncover, char *why,
                 size_t whysz)
{
	struct pdwalk *w;
	char (*reals)[PATH_MAX] = NULL;
	size_t i;
	int rc;

	if (cover != NULL) {
		*cover = NULL;
		*ncover = 0;
	}
	m->nlinks = 0;
	m->links_known = 0;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (m->links == NULL && (m->links = calloc(PDMATCH_MAX_LINKED,
	                                            sizeof(*m->links))) == NULL) ||
	    (reals = calloc(nextra + 1, sizeof(*reals))) == NULL ||
	    (cover != NULL && ((w->cov = calloc(PDMATCH_MAX_COVER, sizeof(*w->cov))) == NULL ||
	     (w->cand = calloc(PDMATCH_MAX_LINKED, sizeof(*w->cand))) == NULL))) {
		rc = TE_ERR_NOMEM;
		pdmatch_why(why, whysz, "out of memory");
		goto out;
	}
	w->m = m;
	w->want_cover = cover != NULL;
	w->why = why;
	w->whysz = whysz;
	pdmatch_walk_all(w, extra, nextra, reals);
	/* Other names of refused files, in the trees walked, are covered too. */
	for (i = 0; i < w->ncand && w->rc == 0; i++)
		if (pdmatch_in_links(m, w->cand[i].dev, w->cand[i].ino))
			pdwalk_cover(w, w->cand[i].path, 0);
	rc = w->rc;
	m->links_known = rc == 0;
	if (rc == 0 && cover != NULL) {
		*cover = w->cov;
		*ncover = w->ncov;
		w->cov = NULL;
	}
out:
	if (w != NULL) {
		pdmatch_cover_free(w->cov, w->ncov);
		for (i = 0; i < w->ncand; i++)
			free(w->cand[i].path);
		free(w->cand);
	}
	free(w);
	free(reals);
	return rc;
}

/* ---- renames and removes ------------------------------------------------- */

int pdmatch_holds(const struct pdmatch *m, const char *path)
{
	struct pdwalk *w;
	size_t i, len = strlen(path);
	int walk = 0, found;

	if (m == NULL || m->n == 0)
		return 0;
	for (i = 0; i < m->n; i++) {
		if (pdmatch_under(m->p[i].prefix, path, len))
			return 1;            /* a directory on the way to a prefix */
		if (!m->p[i].literal && pdmatch_under(path, m->p[i].prefix, m->p[i].plen))
			walk = 1;
	}
	if (!walk)
		return 0;                    /* nothing below it can match */
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return 1;
	w->m = (struct pdmatch *)m;      /* a holds walk only reads m */
	w->holds = 1;
	pdwalk_start(w, path, 0);
	found = w->found || w->rc != 0;
	free(w);
	return found;
}
