/* spool.c: see spool.h. Item files are named by a 20-digit sequence number,
 * so their order survives restarts; only names of exactly that shape are
 * read, and every read is bounded by SPOOL_MAX_ITEM_BYTES. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "filerepl.h"
#include "log.h"

#define SPOOL_DIGITS   20
#define SPOOL_SUFFIX   ".report"
#define SPOOL_TMP      ".tmp"
#define SPOOL_NAME_BYTES (SPOOL_DIGITS + sizeof(SPOOL_SUFFIX) + sizeof(SPOOL_TMP))

struct spool {
	int dirfd;
	uint64_t next;        /* id of the next item */
	char *path;           /* for log lines */
};

static void spool_name(uint64_t id, int tmp, char *out, size_t outsz)
{
	snprintf(out, outsz, "%0*llu%s", SPOOL_DIGITS, (unsigned long long)id,
	         tmp ? SPOOL_SUFFIX SPOOL_TMP : SPOOL_SUFFIX);
}

/* 1 and *id for "<20 digits>.report"; 2 for the same with ".tmp"; else 0. */
static int spool_parse_name(const char *name, uint64_t *id)
{
	size_t n = strlen(name);
	uint64_t v = 0;

	if (n < SPOOL_DIGITS + sizeof(SPOOL_SUFFIX) - 1)
		return 0;
	for (size_t i = 0; i < SPOOL_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*id = v;
	if (strcmp(name + SPOOL_DIGITS, SPOOL_SUFFIX) == 0)
		return 1;
	if (strcmp(name + SPOOL_DIGITS, SPOOL_SUFFIX SPOOL_TMP) == 0)
		return 2;
	return 0;
}

static int spool_mkdir(const char *path, const char *owner)
{
	struct passwd *pw;

	if (mkdir(path, 0700) != 0)
		return errno == EEXIST ? 0 : TE_ERR_IO;
	if (geteuid() != 0 || owner == NULL || owner[0] == '\0')
		return 0;
	if ((pw = getpwnam(owner)) == NULL || chown(path, pw->pw_uid, pw->pw_gid) != 0) {
		log_error("cannot give the report spool %s to user %s", path, owner);
		return TE_ERR_IO;
	}
	return 0;
}

int spool_open(const char *path, const char *owner, struct spool **out)
{
	struct spool *sp;
	int rc;

	*out = NULL;
	if ((rc = spool_mkdir(path, owner)) != 0)
		return rc;
	if ((sp = calloc(1, sizeof(*sp))) == NULL || (sp->path = strdup(path)) == NULL) {
		free(sp);
		return TE_ERR_NOMEM;
	}
	sp->next = 1;
	sp->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (sp->dirfd < 0) {
		spool_free(sp);
		return TE_ERR_IO;
	}
	*out = sp;
	return 0;
}

void spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->path);
	free(sp);
}

int spool_put(struct spool *sp, const char *body, size_t len, uint64_t *id)
{
	char tmp[SPOOL_NAME_BYTES], name[SPOOL_NAME_BYTES];
	int fd, rc;

	if (len > SPOOL_MAX_ITEM_BYTES)
		return TE_ERR_TOO_LONG;
	spool_name(sp->next, 1, tmp, sizeof(tmp));
	spool_name(sp->next, 0, name, sizeof(name));
	fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return TE_ERR_IO;
	rc = fd_write_all(fd, body, len);
	/* On disk before it has a name a restart reads: never a torn item. */
	if (rc == 0 && fsync(fd) != 0)
		rc = TE_ERR_IO;
	if (close(fd) != 0 && rc == 0)
		rc = TE_ERR_IO;
	if (rc == 0 && renameat(sp->dirfd, tmp, sp->dirfd, name) != 0)
		rc = TE_ERR_IO;
	if (rc != 0) {
		unlinkat(sp->dirfd, tmp, 0);
		return rc;
	}
	fsync(sp->dirfd);   /* the rename itself survives a power cut */
	*id = sp->next++;
	return 0;
}

int spool_remove(struct spool *sp, uint64_t id)
{
	char name[SPOOL_NAME_BYTES];

	spool_name(id, 0, name, sizeof(name));
	if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
		return TE_ERR_IO;
	return 0;
}

static int spool_cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Read item id whole (NUL-terminated, malloc'd), bounded. */
static int spool_read(struct spool *sp, uint64_t id, char **out)
{
	char name[SPOOL_NAME_BYTES];
	struct stat st;
	size_t off = 0;
	char *buf;
	int fd;

	*out = NULL;
	spool_name(id, 0, name, sizeof(name));
	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return TE_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SPOOL_MAX_ITEM_BYTES) {
		close(fd);
		return TE_ERR_INVALID;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return TE_ERR_NOMEM;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*out = buf;
	return 0;
}

int spool_load(struct spool *sp, int (*fn)(void *arg, uint64_t id, char *body),
               void *arg)
{
	uint64_t *ids, id;
	size_t n = 0, skipped = 0;
	struct dirent *de;
	DIR *d;
	int fd, kind, rc = 0;
	char *body;

	if ((ids = calloc(SPOOL_MAX_ITEMS, sizeof(*ids))) == NULL)
		return TE_ERR_NOMEM;
	if ((fd = dup(sp->dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		free(ids);
		return TE_ERR_IO;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if ((kind = spool_parse_name(de->d_name, &id)) == 0)
			continue;
		if (id >= sp->next)
			sp->next = id + 1;
		if (kind == 2) {
			unlinkat(sp->dirfd, de->d_name, 0);   /* a write cut short */
			continue;
		}
		if (n < SPOOL_MAX_ITEMS)
			ids[n++] = id;
		else
			skipped++;
	}
	closedir(d);
	qsort(ids, n, sizeof(*ids), spool_cmp_id);
	if (skipped > 0)
		log_warn("report spool %s: %zu reports over %d; they wait for a restart",
		         sp->path, skipped, SPOOL_MAX_ITEMS);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (spool_read(sp, ids[i], &body) != 0) {
			log_warn("report spool %s: item %llu unreadable; skipped", sp->path,
			         (unsigned long long)ids[i]);
			continue;
		}
		rc = fn(arg, ids[i], body);
	}
	free(ids);
	return rc;
}
