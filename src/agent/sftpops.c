/* sftpops.c: one function per SFTP request type, and the table of them.
 *
 * Each handler parses its whole request first (a parse error is answered
 * BAD_MESSAGE by the caller), then resolves every path with sftppath
 * (inside a root, not patient data unless granted), checks the write grant,
 * and reaches the file only through sftppath_open_parent(), so no symbolic
 * link is followed after the check. */
#include "sftpd_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentaudit.h"
#include "err.h"

static int sftpd_do_realpath(struct sftpd_req *q)
{
	char req[PATH_MAX], real[PATH_MAX], shown[PATH_MAX];
	enum sftppath_verdict v;
	struct sftpd *s = q->s;
	int rc;

	if ((rc = sftpd_get_path(q->s, q->r, req)) != 0)
		return rc;
	if (req[0] == '\0')
		strcpy(req, ".");
	if (sftpd_is_vroot(s, req)) {
		strcpy(shown, "/");
	} else {
		v = sftppath_resolve(&s->rules, req, SFTPPATH_FOLLOW, real);
		if (v == SFTPPATH_MISSING)   /* a name about to be created */
			v = sftppath_resolve(&s->rules, req, SFTPPATH_ENTRY, real);
		if (v != SFTPPATH_OK) {
			sftpd_path_error(s, q->id, q->op, v, real, req);
			return 0;
		}
		sftpd_client_path(s, real, shown);
	}
	sftpd_begin(s, FXP_NAME, q->id);
	sftpd_put_u32(s, 1);
	sftpd_put_cstr(s, shown);
	sftpd_put_cstr(s, shown);
	sftpd_put_u32(s, 0);   /* no attributes */
	sftpd_end(s);
	return 0;
}

/* STAT follows links inside the roots; LSTAT describes the entry itself. */
static int sftpd_do_stat_mode(struct sftpd_req *q, enum sftppath_mode mode)
{
	char req[PATH_MAX], real[PATH_MAX];
	enum sftppath_verdict v;
	const char *base;
	struct stat st;
	int rc, dfd = -1;

	if ((rc = sftpd_get_path(q->s, q->r, req)) != 0)
		return rc;
	if (sftpd_is_vroot(q->s, req)) {
		sftpd_vroot_stat(q->s, &st);
		sftpd_attrs_reply(q->s, q->id, &st);
		return 0;
	}
	if ((v = sftppath_resolve(&q->s->rules, req, mode, real)) != SFTPPATH_OK) {
		sftpd_path_error(q->s, q->id, q->op, v, real, req);
		return 0;
	}
	if (sftppath_open_parent(real, &dfd, &base) != 0 ||
	    fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		sftpd_status_errno(q->s, q->id, errno);
	else if (sftpd_linked(q->s, &st))
		sftpd_refuse(q->s, q->id, q->op, real, WHY_LINKED, req);
	else
		sftpd_attrs_reply(q->s, q->id, &st);
	if (dfd >= 0)
		close(dfd);
	return 0;
}

static int sftpd_do_stat(struct sftpd_req *q)
{
	return sftpd_do_stat_mode(q, SFTPPATH_FOLLOW);
}

static int sftpd_do_lstat(struct sftpd_req *q)
{
	return sftpd_do_stat_mode(q, SFTPPATH_ENTRY);
}

static int sftpd_do_fstat(struct sftpd_req *q)
{
	struct sftpd_handle *h;
	struct stat st;
	int rc, fd;

	if ((rc = sftpd_get_handle(q->s, q->r, &h)) != 0)
		return rc;
	if (h == NULL) {
		sftpd_status(q->s, q->id, FX_FAILURE, "invalid handle");
		return 0;
	}
	if (h->vroot) {
		sftpd_vroot_stat(q->s, &st);
		sftpd_attrs_reply(q->s, q->id, &st);
		return 0;
	}
	fd = h->fd >= 0 ? h->fd : dirfd(h->dir);
	if (fstat(fd, &st) != 0)
		sftpd_status_errno(q->s, q->id, errno);
	else
		sftpd_attrs_reply(q->s, q->id, &st);
	return 0;
}

/* Open the resolved path's last component without following a link; dfd
 * stays open for the caller to close. -1 with errno on failure. */
static int sftpd_openat(const char *real, int flags, mode_t mode, int *dfd)
{
	const char *base;

	if (sftppath_open_parent(real, dfd, &base) != 0)
		return -1;
	return openat(*dfd, base, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* sftpd_openat for a file, refused (EMLINK) before it is opened when it is
 * another name of patient data, so not even O_TRUNC reaches it; checked
 * again on what was opened, in case a link was swapped in between. */
static int sftpd_openat_unlinked(struct sftpd *s, const char *real, int flags,
                                 mode_t mode, int *dfd)
{
	const char *base;
	struct stat st;
	int fd;

	if (sftppath_open_parent(real, dfd, &base) != 0)
		return -1;
	if (fstatat(*dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && sftpd_linked(s, &st)) {
		errno = EMLINK;
		return -1;
	}
	fd = openat(*dfd, base, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0 && (fstat(fd, &st) != 0 || sftpd_linked(s, &st))) {
		close(fd);
		errno = EMLINK;
		return -1;
	}
	return fd;
}

static int sftpd_do_opendir(struct sftpd_req *q)
{
	char req[PATH_MAX], real[PATH_MAX];
	struct sftpd *s = q->s;
	struct sftpd_handle *h;
	enum sftppath_verdict v;
	DIR *d;
	int rc, fd, dfd = -1;

	if ((rc = sftpd_get_path(q->s, q->r, req)) != 0)
		return rc;
	if (sftpd_is_vroot(s, req)) {
		strcpy(real, "/");
	} else if ((v = sftppath_resolve(&s->rules, req, SFTPPATH_FOLLOW, real)) != SFTPPATH_OK) {
		sftpd_path_error(s, q->id, q->op, v, real, req);
		return 0;
	}
	if (sftpd_handles_full(s)) {
		sftpd_status(s, q->id, FX_FAILURE, "too many open handles: close some first");
		return 0;
	}
	if (sftpd_is_vroot(s, req)) {
		if ((h = sftpd_handle_new(s, real)) == NULL)
			return TE_ERR_NOMEM;
		h->vroot = 1;
		sftpd_handle_reply(s, q->id, h);
		return 0;
	}
	fd = sftpd_openat(real, O_RDONLY | O_DIRECTORY, 0, &dfd);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0) {
		sftpd_status_errno(s, q->id, errno);
		return 0;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		sftpd_status_errno(s, q->id, errno);
		return 0;
	}
	if ((h = sftpd_handle_new(s, real)) == NULL) {
		closedir(d);
		return TE_ERR_NOMEM;
	}
	h->dir = d;
	sftpd_handle_reply(s, q->id, h);
	return 0;
}

static void sftpd_mode_text(mode_t m, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' :
	         S_ISBLK(m) ? 'b' : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '-';
	for (i = 0; i < 9; i++)
		out[1 + i] = (m & (1u << (8 - i))) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = (m & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

/* The `ls -l` line OpenSSH's client prints for `ls -l`. */
static void sftpd_longname(const char *name, const struct stat *st, char *out,
                           size_t outsz)
{
	char mode[11], when[32];
	time_t now = time(NULL);
	struct tm tm;

	sftpd_mode_text(st->st_mode, mode);
	if (localtime_r(&st->st_mtime, &tm) == NULL ||
	    strftime(when, sizeof(when), (st->st_mtime > now - 182 * 86400 &&
	             st->st_mtime <= now) ? "%b %e %H:%M" : "%b %e  %Y", &tm) == 0)
		strcpy(when, "?");
	snprintf(out, outsz, "%s %4lu %-8lu %-8lu %8lld %s %s", mode,
	         (unsigned long)st->st_nlink, (unsigned long)st->st_uid,
	         (unsigned long)st->st_gid, (long long)st->st_size, when, name);
}

/* Up to MAX_SFTP_READDIR_ENTRIES names; refused entries are left out unless
 * the session may see patient data. EOF once the directory is exhausted. */
static int sftpd_do_readdir(struct sftpd_req *q)
{
	char full[PATH_MAX], longname[NAME_MAX + 128];
	struct sftpd *s = q->s;
	struct sftpd_handle *h;
	struct dirent *de;
	struct stat st;
	size_t countpos;
	uint32_t count = 0;
	int rc, w;

	if ((rc = sftpd_get_handle(s, q->r, &h)) != 0)
		return rc;
	if (h == NULL || (h->dir == NULL && !h->vroot)) {
		sftpd_status(s, q->id, FX_FAILURE, "invalid handle");
		return 0;
	}
	sftpd_begin(s, FXP_NAME, q->id);
	countpos = s->out_len;
	sftpd_put_u32(s, 0);
	/* the virtual root: one folder per named area, as its root is */
	while (h->vroot && count < MAX_SFTP_READDIR_ENTRIES && s->names[h->vnext] != NULL) {
		const char *name = s->names[h->vnext];

		if (name[0] != '\0' && stat(s->real_roots[h->vnext], &st) == 0) {
			sftpd_longname(name, &st, longname, sizeof(longname));
			sftpd_put_cstr(s, name);
			sftpd_put_cstr(s, longname);
			sftpd_put_stat(s, &st);
			count++;
		}
		h->vnext++;
	}
	while (!h->vroot && count < MAX_SFTP_READDIR_ENTRIES &&
	       (de = readdir(h->dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		w = snprintf(full, sizeof(full), "%s/%s",
		             strcmp(h->path, "/") == 0 ? "" : h->path, de->d_name);
		if (w < 0 || (size_t)w >= sizeof(full))
			continue;
		if (!s->rules.patient_ok && pdmatch_refused(s->rules.pd, full))
			continue;
		if (fstatat(dirfd(h->dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    sftpd_linked(s, &st))
			continue;
		sftpd_longname(de->d_name, &st, longname, sizeof(longname));
		sftpd_put_cstr(s, de->d_name);
		sftpd_put_cstr(s, longname);
		sftpd_put_stat(s, &st);
		count++;
	}
	if (count == 0 && s->pkt_err == 0) {
		s->out_len = s->pkt_start;
		sftpd_status(s, q->id, FX_EOF, "end of directory");
		return 0;
	}
	if (s->pkt_err == 0) {
		s->out[countpos] = (uint8_t)(count >> 24);
		s->out[countpos + 1] = (uint8_t)(count >> 16);
		s->out[countpos + 2] = (uint8_t)(count >> 8);
		s->out[countpos + 3] = (uint8_t)count;
	}
	sftpd_end(s);
	return 0;
}

static int sftpd_open_flags(uint32_t pflags, int *can_read, int *can_write)
{
	int flags;

	*can_write = (pflags & (FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC)) != 0;
	*can_read = (pflags & FXF_READ) != 0 || !*can_write;
	flags = *can_write ? O_RDWR : O_RDONLY;   /* RDWR: the close hashes the file */
	if (pflags & FXF_APPEND)
		flags |= O_APPEND;
	if (pflags & FXF_CREAT)
		flags |= O_CREAT;
	if (pflags & FXF_TRUNC)
		flags |= O_TRUNC;
	if ((pflags & FXF_EXCL) && (pflags & FXF_CREAT))
		flags |= O_EXCL;
	/* A FIFO or device must not block or act on open; it is refused below. */
	return flags | O_NONBLOCK;
}

static int sftpd_do_open(struct sftpd_req *q)
{
	char req[PATH_MAX], real[PATH_MAX];
	struct sftpd *s = q->s;
	struct sftpd_attrs a;
	struct sftpd_handle *h;
	enum sftppath_verdict v;
	uint32_t pflags;
	struct stat st;
	int rc, fd, dfd = -1, flags, can_read, can_write;
	mode_t mode;

	if ((rc = sftpd_get_path(q->s, q->r, req)) != 0 ||
	    (rc = rbuf_get_u32be(q->r, &pflags)) != 0 ||
	    (rc = sftpd_get_attrs(q->r, &a)) != 0)
		return rc;
	flags = sftpd_open_flags(pflags, &can_read, &can_write);
	v = sftppath_resolve(&s->rules, req, SFTPPATH_FOLLOW, real);
	if (v == SFTPPATH_MISSING && (pflags & FXF_CREAT))
		v = sftppath_resolve(&s->rules, req, SFTPPATH_ENTRY, real);
	if (v != SFTPPATH_OK) {
		sftpd_path_error(s, q->id, q->op, v, real, req);
		return 0;
	}
	if (can_write && !s->write_ok) {
		sftpd_refuse(s, q->id, q->op, real, WHY_READONLY, req);
		return 0;
	}
	if (sftpd_handles_full(s)) {
		sftpd_status(s, q->id, FX_FAILURE, "too many open handles: close some first");
		return 0;
	}
	mode = (a.flags & ATTR_PERMISSIONS) ? (mode_t)(a.perm & 0777) : 0644;
	fd = sftpd_openat_unlinked(s, real, flags, mode, &dfd);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0 && errno == EMLINK) {
		sftpd_refuse(s, q->id, q->op, real, WHY_LINKED, req);
		return 0;
	}
	if (fd < 0) {
		if (errno == ELOOP)
			sftpd_refuse(s, q->id, q->op, real, WHY_SYMLINK, req);
		else
			sftpd_status_errno(s, q->id, errno);
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		sftpd_status(s, q->id, FX_FAILURE, "not a regular file");
		return 0;
	}
	if ((h = sftpd_handle_new(s, real)) == NULL) {
		close(fd);
		return TE_ERR_NOMEM;
	}
	h->fd = fd;
	h->can_read = can_read;
	h->can_write = can_write;
	sftpd_handle_reply(s, q->id, h);
	return 0;
}

static int sftpd_do_close(struct sftpd_req *q)
{
	struct sftpd_handle *h;
	int rc;

	if ((rc = sftpd_get_handle(q->s, q->r, &h)) != 0)
		return rc;
	if (h == NULL) {
		sftpd_status(q->s, q->id, FX_FAILURE, "invalid handle");
		return 0;
	}
	sftpd_handle_close(q->s, h);
	sftpd_status(q->s, q->id, FX_OK, "closed");
	return 0;
}

static int sftpd_do_read(struct sftpd_req *q)
{
	struct sftpd *s = q->s;
	struct sftpd_handle *h;
	uint64_t off;
	uint32_t len;
	ssize_t n;
	int rc;

	if ((rc = sftpd_get_handle(s, q->r, &h)) != 0 ||
	    (rc = sftpd_get_u64(q->r, &off)) != 0 ||
	    (rc = rbuf_get_u32be(q->r, &len)) != 0)
		return rc;
	if (h == NULL || h->fd < 0) {
		sftpd_status(s, q->id, FX_FAILURE, "invalid handle");
		return 0;
	}
	if (!h->can_read) {
		sftpd_status(s, q->id, FX_PERMISSION_DENIED, "handle not open for reading");
		return 0;
	}
	if (len > MAX_SFTP_READ_BYTES)
		len = MAX_SFTP_READ_BYTES;
	if (off > (uint64_t)INT64_MAX - MAX_SFTP_READ_BYTES) {
		sftpd_status(s, q->id, FX_EOF, "end of file");
		return 0;
	}
	do
		n = pread(h->fd, s->scratch, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		sftpd_status_errno(s, q->id, errno);
		return 0;
	}
	if (n == 0) {
		sftpd_status(s, q->id, FX_EOF, "end of file");
		return 0;
	}
	h->bytes_read += (uint64_t)n;
	sftpd_begin(s, FXP_DATA, q->id);
	sftpd_put_str(s, s->scratch, (size_t)n);
	sftpd_end(s);
	return 0;
}

static int sftpd_do_write(struct sftpd_req *q)
{
	struct sftpd *s = q->s;
	struct sftpd_handle *h;
	const uint8_t *data;
	uint32_t len;
	uint64_t off;
	struct stat st;
	size_t done = 0;
	ssize_t n;
	int rc;

	if ((rc = sftpd_get_handle(s, q->r, &h)) != 0 ||
	    (rc = sftpd_get_u64(q->r, &off)) != 0 ||
	    (rc = sftpd_get_string(q->r, &data, &len)) != 0)
		return rc;
	if (h == NULL || h->fd < 0) {
		sftpd_status(s, q->id, FX_FAILURE, "invalid handle");
		return 0;
	}
	if (!h->can_write) {
		sftpd_status(s, q->id, FX_PERMISSION_DENIED, "handle not open for writing");
		return 0;
	}
	/* No holes: a write may extend the file but not start past its end, so
	 * an upload cannot make a sparse giant that takes ages to hash. */
	if (fstat(h->fd, &st) != 0 || off > (uint64_t)st.st_size) {
		sftpd_status(s, q->id, FX_FAILURE, "write offset past the end of the file");
		return 0;
	}
	while (done < len) {
		n = pwrite(h->fd, data + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sftpd_status_errno(s, q->id, n < 0 ? errno : EIO);
			h->bytes_written += done;
			return 0;
		}
		done += (size_t)n;
	}
	h->bytes_written += done;
	sftpd_status(s, q->id, FX_OK, "written");
	return 0;
}

/* Attributes are never changed on the device: accepted (so uploads with
 * `put -p` finish) on paths the session may write, refused otherwise. */
static int sftpd_do_setstat(struct sftpd_req *q)
{
	char req[PATH_MAX], real[PATH_MAX];
	struct sftpd_attrs a;
	enum sftppath_verdict v;
	int rc;

	if ((rc = sftpd_get_path(q->s, q->r, req)) != 0 || (rc = sftpd_get_attrs(q->r, &a)) != 0)
		return rc;
	if ((v = sftppath_resolve(&q->s->rules, req, SFTPPATH_FOLLOW, real)) != SFTPPATH_OK)
		sftpd_path_error(q->s, q->id, q->op, v, real, req);
	else if (!q->s->write_ok)
		sftpd_refuse(q->s, q->id, q->op, real, WHY_READONLY, req);
	else
		sftpd_status(q->s, q->id, FX_OK, "attributes left unchanged on the device");
	return 0;
}

static int sftpd_do_fsetstat(struct sftpd_req *q)
{
	struct sftpd_handle *h;
	struct sftpd_attrs a;
	int rc;

	if ((rc = sftpd_get_handle(q->s, q->r, &h)) != 0 ||
	    (rc = sftpd_get_attrs(q->r, &a)) != 0)
		return rc;
	if (h == NULL)
		sftpd_status(q->s, q->id, FX_FAILURE, "invalid handle");
	else if (!q->s->write_ok)
		sftpd_refuse(q->s, q->id, q->op, h->path, WHY_READONLY, h->path);
	else
		sftpd_status(q->s, q->id, FX_OK, "attributes left unchanged on the device");
	return 0;
}

static int sftpd_is_root(const struct sftpd *s, const char *real)
{
	size_t i;

	for (i = 0; i < s->rules.nroots; i++)
		if (strcmp(real, s->rules.real_roots[i]) == 0)
			return 1;
	return 0;
}

/* Resolve a path for a change to the directory entry itself (remove, mkdir,
 * rmdir, rename): inside the roots, not patient data, the session may
 * write, and not a root. An entry that goes away (moves: removed, or the
 * source of a rename) must also not hold patient data: renaming "site"
 * would otherwise turn a refused site/studies/p.txt into a readable
 * site2/studies/p.txt. A rename's target that is itself refused is refused
 * by the resolve (this session neither reads nor writes there); a target
 * that only makes the moved tree patient data is allowed, since that hides
 * data rather than shows it. 1 when the caller may go on. */
static int sftpd_entry_ok(struct sftpd_req *q, const char *req, int moves,
                          char real[PATH_MAX])
{
	enum sftppath_verdict v;
	struct sftpd *s = q->s;

	if ((v = sftppath_resolve(&s->rules, req, SFTPPATH_ENTRY, real)) != SFTPPATH_OK)
		sftpd_path_error(s, q->id, q->op, v, real, req);
	else if (!s->write_ok)
		sftpd_refuse(s, q->id, q->op, real, WHY_READONLY, req);
	else if (sftpd_is_root(s, real))
		sftpd_refuse(s, q->id, q->op, real, WHY_ROOT, req);
	else if (moves && !s->rules.patient_ok && pdmatch_holds(s->rules.pd, real))
		sftpd_refuse(s, q->id, q->op, real, WHY_HOLDS, req);
	else
		return 1;
	return 0;
}

/* remove, mkdir, rmdir: one *at call on the entry's parent. */
static int sftpd_do_entry(struct sftpd_req *q, int type)
{
	char req[PATH_MAX], real[PATH_MAX];
	struct sftpd_attrs a = { 0, 0 };
	const char *base, *action;
	struct stat st;
	int rc, dfd = -1, ok;

	if ((rc = sftpd_get_path(q->s, q->r, req)) != 0 ||
	    (type == FXP_MKDIR && (rc = sftpd_get_attrs(q->r, &a)) != 0))
		return rc;
	if (!sftpd_entry_ok(q, req, type != FXP_MKDIR, real))
		return 0;
	if (sftppath_open_parent(real, &dfd, &base) != 0) {
		sftpd_status_errno(q->s, q->id, errno);
		return 0;
	}
	if (type == FXP_MKDIR) {
		action = "dir_create";
		ok = mkdirat(dfd, base, (a.flags & ATTR_PERMISSIONS) ?
		             (mode_t)(a.perm & 0777) : 0755) == 0;
	} else if (type == FXP_RMDIR) {
		action = "dir_remove";
		ok = unlinkat(dfd, base, AT_REMOVEDIR) == 0;
	} else {
		action = "file_remove";
		ok = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (ok && S_ISDIR(st.st_mode)) {
			ok = 0;
			errno = EISDIR;
		}
		ok = ok && unlinkat(dfd, base, 0) == 0;
	}
	if (!ok) {
		sftpd_status_errno(q->s, q->id, errno);
	} else {
		sftpd_audit_path(q->s, action, real, NULL);
		sftpd_status(q->s, q->id, FX_OK, "done");
	}
	close(dfd);
	return 0;
}

static int sftpd_do_remove(struct sftpd_req *q) { return sftpd_do_entry(q, FXP_REMOVE); }
static int sftpd_do_mkdir(struct sftpd_req *q) { return sftpd_do_entry(q, FXP_MKDIR); }
static int sftpd_do_rmdir(struct sftpd_req *q) { return sftpd_do_entry(q, FXP_RMDIR); }

static int sftpd_do_rename(struct sftpd_req *q)
{
	char oreq[PATH_MAX], nreq[PATH_MAX], oreal[PATH_MAX], nreal[PATH_MAX];
	const char *obase, *nbase;
	int rc, odfd = -1, ndfd = -1;

	if ((rc = sftpd_get_path(q->s, q->r, oreq)) != 0 || (rc = sftpd_get_path(q->s, q->r, nreq)) != 0)
		return rc;
	if (!sftpd_entry_ok(q, oreq, 1, oreal) || !sftpd_entry_ok(q, nreq, 0, nreal))
		return 0;
	/* The SFTP v3 rename never replaces an existing file. */
	if (sftppath_open_parent(oreal, &odfd, &obase) != 0 ||
	    sftppath_open_parent(nreal, &ndfd, &nbase) != 0 ||
	    renameat2(odfd, obase, ndfd, nbase, RENAME_NOREPLACE) != 0) {
		sftpd_status_errno(q->s, q->id, errno);
	} else {
		sftpd_audit_path(q->s, "file_rename", oreal, nreal);
		sftpd_status(q->s, q->id, FX_OK, "renamed");
	}
	if (odfd >= 0)
		close(odfd);
	if (ndfd >= 0)
		close(ndfd);
	return 0;
}

/* Links are how paths escape a root: neither read nor made. */
static int sftpd_do_link(struct sftpd_req *q)
{
	char req[PATH_MAX];
	int rc;

	if ((rc = sftpd_get_path(q->s, q->r, req)) != 0)
		return rc;
	sftpd_refuse(q->s, q->id, q->op, req, WHY_SYMLINK, req);
	return 0;
}

static int sftpd_do_extended(struct sftpd_req *q)
{
	char name[128], msg[SFTPD_MSG_BYTES];
	const uint8_t *p;
	uint32_t n;
	int rc;

	if ((rc = sftpd_get_string(q->r, &p, &n)) != 0)
		return rc;
	snprintf(name, sizeof(name), "%.*s", (int)(n < 100 ? n : 100), (const char *)p);
	agentaudit_clean_utf8(name);
	snprintf(msg, sizeof(msg), "extension %s is not supported", name);
	sftpd_status(q->s, q->id, FX_OP_UNSUPPORTED, msg);
	return 0;
}

static const struct sftpd_op sftpd_ops[] = {
	{ FXP_OPEN, "open", sftpd_do_open },
	{ FXP_CLOSE, "close", sftpd_do_close },
	{ FXP_READ, "read", sftpd_do_read },
	{ FXP_WRITE, "write", sftpd_do_write },
	{ FXP_LSTAT, "lstat", sftpd_do_lstat },
	{ FXP_FSTAT, "fstat", sftpd_do_fstat },
	{ FXP_SETSTAT, "setstat", sftpd_do_setstat },
	{ FXP_FSETSTAT, "fsetstat", sftpd_do_fsetstat },
	{ FXP_OPENDIR, "opendir", sftpd_do_opendir },
	{ FXP_READDIR, "readdir", sftpd_do_readdir },
	{ FXP_REMOVE, "remove", sftpd_do_remove },
	{ FXP_MKDIR, "mkdir", sftpd_do_mkdir },
	{ FXP_RMDIR, "rmdir", sftpd_do_rmdir },
	{ FXP_REALPATH, "realpath", sftpd_do_realpath },
	{ FXP_STAT, "stat", sftpd_do_stat },
	{ FXP_RENAME, "rename", sftpd_do_rename },
	{ FXP_READLINK, "readlink", sftpd_do_link },
	{ FXP_SYMLINK, "symlink", sftpd_do_link },
	{ FXP_EXTENDED, "extended", sftpd_do_extended },
};

const struct sftpd_op *sftpd_op_find(uint8_t type)
{
	size_t i;

	for (i = 0; i < sizeof(sftpd_ops) / sizeof(sftpd_ops[0]); i++)
		if (sftpd_ops[i].type == type)
			return &sftpd_ops[i];
	return NULL;
}
