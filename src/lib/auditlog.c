/* auditlog.c: the file-backed audit log of the agent and the relay (one
 * JSON record per line, see audit.h): full verification, recovery of a torn
 * last line at open, and appends that cost the same at any size. */
#include "audit.h"
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "codec.h"
#include "err.h"
#include "log.h"

struct audit_log {
	int fd;
	pid_t pid;           /* the process fd belongs to; a fork reopens */
	char *path;
	dev_t dev;           /* the file we verified; another one at path */
	ino_t ino;           /* means it was replaced under us */
	off_t size;          /* file size after our last scan or append */
	int64_t last_seq;
	char last_hash[SHA256_HEX_BYTES];
	uint64_t bytes_read;
	int broken;          /* 0, or the error every append now returns */
	char why[AUDIT_WHY_BYTES];
};

/* Where a scan stopped. */
struct audit_scan {
	off_t good_end;      /* just past the last record that verified */
	off_t end;           /* how far the file was read */
	int torn;            /* the failure is the file's last line, cut short */
};

static ssize_t audit_pread(int fd, void *buf, size_t n, off_t off, uint64_t *count)
{
	ssize_t got;

	do
		got = pread(fd, buf, n, off);
	while (got < 0 && errno == EINTR);
	if (got > 0 && count != NULL)
		*count += (uint64_t)got;
	return got;
}

/* A line that does not parse is torn only when nothing follows it. */
static int audit_at_eof(int fd, off_t off, int eof, uint64_t *count)
{
	char c;

	return eof || audit_pread(fd, &c, 1, off, count) == 0;
}

/* Read fd from offset from to its end line by line, feeding v (set up for
 * the record expected at from). Any unparseable, over-long or unterminated
 * line is a chain failure; sc says whether it is the file's torn last line.
 * count (may be NULL) adds up the bytes read. */
static int audit_scan_fd(int fd, off_t from, struct audit_verifier *v,
                         struct audit_scan *sc, uint64_t *count)
{
	char *buf = NULL, *nl;
	struct audit_record rec;
	size_t cap = MAX_AUDIT_LINE_BYTES, have = 0, n;
	off_t off = from;
	ssize_t got;
	int rc = 0, eof = 0;

	memset(sc, 0, sizeof(*sc));
	sc->good_end = from;
	if ((buf = malloc(cap)) == NULL)
		return TE_ERR_NOMEM;
	for (;;) {
		nl = have > 0 ? memchr(buf, '\n', have) : NULL;
		if (nl == NULL) {
			if (eof) {
				if (have > 0) {
					sc->torn = 1;
					rc = audit_verifier_fail(v, v->expect_seq,
					                         "last line is incomplete (a torn "
					                         "write: cut off at the next start)");
				}
				break;
			}
			if (have == cap) {
				rc = audit_verifier_fail(v, v->expect_seq, "line too long");
				break;
			}
			if ((got = audit_pread(fd, buf + have, cap - have, off, count)) < 0) {
				rc = TE_ERR_IO;
				break;
			}
			eof = got == 0;
			have += (size_t)got;
			off += got;
			continue;
		}
		n = (size_t)(nl - buf) + 1;
		if (audit_parse_line(buf, n, &rec) != 0) {
			sc->torn = n == have && audit_at_eof(fd, off, eof, count);
			rc = audit_verifier_fail(v, v->expect_seq, sc->torn ?
			                         "last line is unreadable (a torn write: cut "
			                         "off at the next start)" : "unreadable record");
			break;
		}
		if ((rc = audit_verifier_feed(v, &rec)) != 0)
			break;
		sc->good_end += (off_t)n;
		memmove(buf, buf + n, have - n);
		have -= n;
	}
	free(buf);
	sc->end = off;
	return rc;
}

int audit_file_verify(const char *path, struct audit_verifier *v)
{
	struct audit_scan sc;
	int fd, rc;

	if (path == NULL || v == NULL)
		return TE_ERR_INVALID;
	audit_verifier_init(v);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_SYS;
	/* A shared lock waits out an append in progress in another process. */
	(void)flock(fd, LOCK_SH);
	rc = audit_scan_fd(fd, 0, v, &sc, NULL);
	close(fd);
	return rc;
}

static int audit_log_fail(struct audit_log *log, int rc, int sticky, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Say why an append failed; a sticky failure breaks the handle for good. */
static int audit_log_fail(struct audit_log *log, int rc, int sticky, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log->why, sizeof(log->why), fmt, ap);
	va_end(ap);
	if (sticky) {
		log->broken = rc;
		log_error("audit log %s: %s; no more records can be added until it is "
		          "opened again", log->path, log->why);
	}
	return rc;
}

/* One record as a JSON line ending in '\n'; caller frees. */
static int audit_format_line(const struct audit_record *rec, char **out, size_t *outlen)
{
	json_t *o;
	char *s;
	size_t n;

	*out = NULL;
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)rec->seq,
	              "ts", rec->ts, "actor", rec->actor, "action", rec->action,
	              "detail", rec->detail, "prev", rec->prev, "hash", rec->hash);
	if (o == NULL)
		return TE_ERR_INVALID; /* not valid UTF-8 (or out of memory) */
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return TE_ERR_NOMEM;
	n = strlen(s);
	if (n + 1 > MAX_AUDIT_LINE_BYTES) {
		free(s);
		return TE_ERR_TOO_LONG;
	}
	/* json_dumps allocates exactly n + 1; grow by one for the newline. */
	if ((*out = realloc(s, n + 2)) == NULL) {
		free(s);
		return TE_ERR_NOMEM;
	}
	(*out)[n] = '\n';
	(*out)[n + 1] = '\0';
	*outlen = n + 1;
	return 0;
}

static int audit_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write one record at the end (log->size) and fsync, holding the lock. A
 * refused write is undone so that the file still ends on a whole record. */
static int audit_log_write_locked(struct audit_log *log, const char *actor,
                                  const char *action, const char *detail)
{
	struct audit_record rec;
	char *line = NULL;
	size_t len = 0;
	int rc, err;

	memset(&rec, 0, sizeof(rec));
	rec.seq = log->last_seq + 1;
	audit_now(rec.ts);
	rec.actor = actor;
	rec.action = action;
	rec.detail = detail;
	memcpy(rec.prev, log->last_hash, SHA256_HEX_BYTES);
	if ((rc = audit_chain_hash(rec.seq, rec.ts, actor, action, detail, rec.prev,
	                           rec.hash)) != 0 ||
	    (rc = audit_format_line(&rec, &line, &len)) != 0)
		goto out;
	if ((err = audit_write_all(log->fd, line, len)) != 0) {
		if (ftruncate(log->fd, log->size) != 0)
			rc = audit_log_fail(log, TE_ERR_IO, 1, "cannot write (%s), and cannot "
			                    "undo the partial record (%s)", strerror(-err),
			                    strerror(errno));
		else
			rc = audit_log_fail(log, TE_ERR_IO, 0, "cannot write: %s", strerror(-err));
		goto out;
	}
	if (fsync(log->fd) != 0) {
		/* After a failed fsync the kernel may have dropped the data: what is
		 * on disk is unknown, so stop rather than build on it. */
		err = errno;
		if (ftruncate(log->fd, log->size) != 0)
			log_error("audit log %s: cannot undo the unsynced record: %s",
			          log->path, strerror(errno));
		rc = audit_log_fail(log, TE_ERR_IO, 1, "fsync failed: %s", strerror(err));
		goto out;
	}
	log->size += (off_t)len;
	log->last_seq = rec.seq;
	memcpy(log->last_hash, rec.hash, SHA256_HEX_BYTES);
	log->why[0] = '\0';
out:
	free(line);
	return rc;
}

/* Bring the cached head up to date with the file, holding the lock: only
 * what other processes appended since our last look is read. */
static int audit_log_catch_up(struct audit_log *log)
{
	struct audit_verifier v;
	struct audit_scan sc;
	struct stat st, pst;
	int rc;

	if (fstat(log->fd, &st) != 0)
		return audit_log_fail(log, TE_ERR_SYS, 0, "cannot stat: %s", strerror(errno));
	/* A daemon that opened the log before dropping privileges may no longer
	 * search its folder (EACCES): then only the file itself can be checked. */
	if (stat(log->path, &pst) != 0 ? errno == ENOENT || errno == ENOTDIR
	                               : pst.st_dev != log->dev || pst.st_ino != log->ino)
		return audit_log_fail(log, TE_ERR_CHAIN, 1, "%s was replaced or removed "
		                      "while open", log->path);
	if (st.st_size == log->size)
		return 0;
	if (st.st_size < log->size)
		return audit_log_fail(log, TE_ERR_CHAIN, 1, "it shrank from %lld to %lld "
		                      "bytes while open (records removed)",
		                      (long long)log->size, (long long)st.st_size);
	audit_verifier_init(&v);
	v.expect_seq = log->last_seq + 1;
	memcpy(v.prev, log->last_hash, SHA256_HEX_BYTES);
	if ((rc = audit_scan_fd(log->fd, log->size, &v, &sc, &log->bytes_read)) != 0)
		return audit_log_fail(log, rc, 1, "records appended by another process do "
		                      "not continue the chain: %s", v.why[0] ? v.why
		                      : te_strerror(rc));
	log->size = sc.good_end;
	log->last_seq = v.expect_seq - 1;
	memcpy(log->last_hash, v.prev, SHA256_HEX_BYTES);
	return 0;
}

/* In a forked child: a descriptor of our own for the same file, so that
 * flock excludes the parent too. The old number may have been closed (or
 * reused) by the child; it is closed only if it is still our file. */
static int audit_log_reopen(struct audit_log *log)
{
	struct stat st;
	int fd;

	if (fstat(log->fd, &st) == 0 && st.st_dev == log->dev && st.st_ino == log->ino)
		close(log->fd);
	log->fd = -1;
	log->pid = getpid();
	fd = open(log->path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return audit_log_fail(log, TE_ERR_CHAIN, 1, "cannot reopen after fork: %s",
		                      strerror(errno));
	log->fd = fd;
	if (fstat(fd, &st) != 0 || st.st_dev != log->dev || st.st_ino != log->ino)
		return audit_log_fail(log, TE_ERR_CHAIN, 1, "%s was replaced or removed "
		                      "while open", log->path);
	return 0;
}

int audit_log_append(struct audit_log *log, const char *actor,
                     const char *action, const char *detail)
{
	int rc;

	if (log == NULL || actor == NULL || action == NULL || detail == NULL ||
	    strchr(actor, '\n') != NULL || strchr(action, '\n') != NULL)
		return TE_ERR_INVALID;
	if (log->broken)
		return log->broken;
	if (log->pid != getpid() && (rc = audit_log_reopen(log)) != 0)
		return rc;
	if (flock(log->fd, LOCK_EX) != 0)
		return audit_log_fail(log, TE_ERR_SYS, 0, "cannot lock: %s", strerror(errno));
	if ((rc = audit_log_catch_up(log)) == 0)
		rc = audit_log_write_locked(log, actor, action, detail);
	(void)flock(log->fd, LOCK_UN);
	return rc;
}

/* Cut the torn last line off (the scan stopped at sc), holding the lock,
 * and leave a record of what was dropped. */
static int audit_log_recover(struct audit_log *log, const char *actor,
                             const struct audit_scan *sc, const char *what,
                             struct audit_open_report *rep)
{
	char buf[MAX_AUDIT_LINE_BYTES], hex[SHA256_HEX_BYTES], why[96], *paren;
	size_t n = (size_t)(sc->end - sc->good_end);
	int64_t after = log->last_seq;
	json_t *d;
	char *text;
	int rc;

	/* The scan refuses lines longer than a record, so n fits. */
	if (n == 0 || n > sizeof(buf) ||
	    audit_pread(log->fd, buf, n, sc->good_end, &log->bytes_read) != (ssize_t)n)
		return TE_ERR_IO;
	if ((rc = secret_sha256_hex(buf, n, hex)) != 0)
		return rc;
	if (ftruncate(log->fd, sc->good_end) != 0 || fsync(log->fd) != 0)
		return TE_ERR_IO;
	log->size = sc->good_end;
	snprintf(why, sizeof(why), "%s", what);
	if ((paren = strstr(why, " (")) != NULL)
		*paren = '\0';               /* the verifier's advice, not the fact */
	log_warn("audit log %s: cut off a torn last line (%zu bytes, sha256 %s) after "
	         "record %" PRId64 ": %s", log->path, n, hex, after, why);
	d = json_pack("{s:I, s:s, s:I, s:s}", "dropped_bytes", (json_int_t)n,
	              "dropped_sha256", hex, "after_seq", (json_int_t)after,
	              "why", why);
	text = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	rc = text != NULL ? audit_log_write_locked(log, actor, "audit_recovered", text)
	                  : TE_ERR_NOMEM;
	free(text);
	if (rc == 0 && rep != NULL) {
		rep->dropped_bytes = n;
		rep->after_seq = after;
		memcpy(rep->dropped_sha256, hex, SHA256_HEX_BYTES);
		snprintf(rep->why, sizeof(rep->why), "%s", why);
	}
	return rc;
}

/* Verify the whole chain into log's state, holding the lock; recover a
 * torn last line when actor is set. */
static int audit_log_load(struct audit_log *log, const char *actor,
                          struct audit_open_report *rep)
{
	struct audit_verifier v;
	struct audit_scan sc;
	const char *colon;
	int rc;

	audit_verifier_init(&v);
	rc = audit_scan_fd(log->fd, 0, &v, &sc, &log->bytes_read);
	if (rc != 0 && rc != TE_ERR_CHAIN)
		return rc;
	log->size = sc.good_end;
	log->last_seq = v.expect_seq - 1;
	memcpy(log->last_hash, v.prev, SHA256_HEX_BYTES);
	if (rc == 0)
		return 0;
	if (sc.torn && actor != NULL) {
		colon = strstr(v.why, ": ");
		rc = audit_log_recover(log, actor, &sc, colon != NULL ? colon + 2 : v.why, rep);
		if (rc != 0 && rep != NULL)
			snprintf(rep->why, sizeof(rep->why), "cannot cut off a torn last line: %s",
			         te_strerror(rc));
		return rc;
	}
	log_error("audit log %s: chain broken: %s", log->path, v.why);
	if (rep != NULL)
		snprintf(rep->why, sizeof(rep->why), "chain broken: %s", v.why);
	return TE_ERR_CHAIN;
}

/* A new (empty) log's name must survive a power cut as well as its first
 * record: sync the folder that holds it. Best effort: a daemon that may no
 * longer open its folder still has the file's own fsync at every append. */
static void audit_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
	int fd;

	if (n >= sizeof(dir))
		return;
	memcpy(dir, slash == NULL ? "." : path, n);
	dir[n] = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (fsync(fd) != 0)
		log_warn("audit log %s: cannot sync its folder: %s", path, strerror(errno));
	close(fd);
}

static int audit_log_open_fd(struct audit_log *log, struct audit_open_report *rep)
{
	struct stat st;

	log->fd = open(log->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	               O_NOCTTY, 0600);
	if (log->fd < 0) {
		if (rep != NULL)
			snprintf(rep->why, sizeof(rep->why), "cannot open: %s", strerror(errno));
		return TE_ERR_SYS;
	}
	if (fstat(log->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (rep != NULL)
			snprintf(rep->why, sizeof(rep->why), "not a regular file");
		return TE_ERR_INVALID;
	}
	log->dev = st.st_dev;
	log->ino = st.st_ino;
	if (st.st_size == 0)
		audit_sync_dir(log->path);
	if (flock(log->fd, LOCK_EX) != 0) {
		if (rep != NULL)
			snprintf(rep->why, sizeof(rep->why), "cannot lock: %s", strerror(errno));
		return TE_ERR_SYS;
	}
	return 0;
}

int audit_log_open_recover(const char *path, const char *actor,
                           struct audit_log **out, struct audit_open_report *rep)
{
	struct audit_log *log = NULL;
	int rc;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if (path == NULL || out == NULL ||
	    (actor != NULL && strchr(actor, '\n') != NULL))
		return TE_ERR_INVALID;
	*out = NULL;
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return TE_ERR_NOMEM;
	log->fd = -1;
	log->pid = getpid();
	if ((log->path = strdup(path)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if ((rc = audit_log_open_fd(log, rep)) != 0)
		goto out;
	rc = audit_log_load(log, actor, rep);
	(void)flock(log->fd, LOCK_UN);
	if (rc != 0)
		goto out;
	*out = log;
	log = NULL;
out:
	audit_log_close(log);
	return rc;
}

int audit_log_open(const char *path, struct audit_log **out)
{
	return audit_log_open_recover(path, NULL, out, NULL);
}

const char *audit_log_why(const struct audit_log *log)
{
	return log != NULL ? log->why : "";
}

int audit_log_broken(const struct audit_log *log)
{
	return log != NULL && log->broken != 0;
}

uint64_t audit_log_bytes_read(const struct audit_log *log)
{
	return log != NULL ? log->bytes_read : 0;
}

void audit_log_close(struct audit_log *log)
{
	if (log == NULL)
		return;
	/* A handle from before a fork may name a descriptor the child has
	 * closed or reused: close only our own. */
	if (log->fd >= 0 && log->pid == getpid())
		close(log->fd);
	free(log->path);
	free(log);
}
