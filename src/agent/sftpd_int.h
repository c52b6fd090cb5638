/* sftpd_int.h: what sftpd.c (framing, replies, audit, handles, public API)
 * and sftpops.c (one function per request type) share. Not for other
 * modules: they use sftpd.h. */
#ifndef TETHER_SFTPD_INT_H
#define TETHER_SFTPD_INT_H

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "bounds.h"
#include "rbuf.h"
#include "sftpd.h"
#include "pdmatch.h"
#include "sftppath.h"

/* Packet types, status codes and flags of draft-ietf-secsh-filexfer-02. */
enum {
	FXP_INIT = 1, FXP_VERSION = 2, FXP_OPEN = 3, FXP_CLOSE = 4, FXP_READ = 5,
	FXP_WRITE = 6, FXP_LSTAT = 7, FXP_FSTAT = 8, FXP_SETSTAT = 9,
	FXP_FSETSTAT = 10, FXP_OPENDIR = 11, FXP_READDIR = 12, FXP_REMOVE = 13,
	FXP_MKDIR = 14, FXP_RMDIR = 15, FXP_REALPATH = 16, FXP_STAT = 17,
	FXP_RENAME = 18, FXP_READLINK = 19, FXP_SYMLINK = 20,
	FXP_STATUS = 101, FXP_HANDLE = 102, FXP_DATA = 103, FXP_NAME = 104,
	FXP_ATTRS = 105, FXP_EXTENDED = 200,
};

enum {
	FX_OK = 0, FX_EOF = 1, FX_NO_SUCH_FILE = 2, FX_PERMISSION_DENIED = 3,
	FX_FAILURE = 4, FX_BAD_MESSAGE = 5, FX_OP_UNSUPPORTED = 8,
};

#define FXF_READ   0x01u
#define FXF_WRITE  0x02u
#define FXF_APPEND 0x04u
#define FXF_CREAT  0x08u
#define FXF_TRUNC  0x10u
#define FXF_EXCL   0x20u

#define ATTR_SIZE        0x00000001u
#define ATTR_UIDGID      0x00000002u
#define ATTR_PERMISSIONS 0x00000004u
#define ATTR_ACMODTIME   0x00000008u
#define ATTR_EXTENDED    0x80000000u

#define SFTPD_VERSION      3
#define SFTPD_HANDLE_BYTES 8     /* slot and generation, 4 bytes each */
#define SFTPD_MSG_BYTES    512   /* a STATUS message */
#define SFTPD_OUT_CAP      (MAX_SFTP_OUTPUT_BYTES + MAX_SFTP_PACKET_BYTES)

/* Refusal reasons, as they appear in the audit trail. */
#define WHY_OUTSIDE  "outside allowlist"
#define WHY_PATIENT  "patient data"
#define WHY_LINKED   "hard link to patient data"
#define WHY_HOLDS    "holds patient data"
#define WHY_READONLY "read-only session"
#define WHY_ROOT     "allowlisted root"
#define WHY_SYMLINK  "symbolic link"

struct sftpd_attrs {
	uint32_t flags;
	uint32_t perm;
};

struct sftpd_handle {
	int used;
	uint32_t gen;
	int fd;                    /* an open file, or -1 */
	DIR *dir;                  /* an open directory, or NULL */
	int can_read, can_write;
	uint64_t bytes_read, bytes_written;
	char *path;                /* real path */
	int vroot;                 /* a listing of the virtual root (named areas) */
	size_t vnext;              /* its next area */
};

struct sftpd {
	char **roots, **real_roots;
	char **names;              /* the area name of each kept root ("": none) */
	int vroot_on;              /* named areas: the client's "/" is virtual */
	time_t started;            /* the virtual root's times */
	struct pdmatch *pd;        /* NULL when no refusal list applies */
	struct sftppath_rules rules;
	int write_ok;
	sftpd_audit_fn audit;
	void *audit_arg;
	int inited;
	int err;                   /* sticky: the channel must close */
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	uint8_t *out;
	size_t out_head, out_len, out_cap;
	size_t pkt_start;
	int pkt_err;
	uint32_t next_gen;
	struct sftpd_handle h[MAX_SFTP_HANDLES];
	uint8_t scratch[MAX_SFTP_READ_BYTES];
};

struct sftpd_req {
	struct sftpd *s;
	uint32_t id;
	const char *op;
	struct rbuf *r;
};

struct sftpd_op {
	uint8_t type;
	const char *name;                  /* "op" in file_refused records */
	int (*fn)(struct sftpd_req *q);    /* 0, or a parse error: BAD_MESSAGE */
};

/* The handler for a request type, or NULL. */
const struct sftpd_op *sftpd_op_find(uint8_t type);

/* Request fields: 0 or a te_err; never read past the packet. */
int sftpd_get_u64(struct rbuf *r, uint64_t *v);
int sftpd_get_string(struct rbuf *r, const uint8_t **p, uint32_t *n);
/* A path field, mapped from the client's names to the device's paths
 * (named areas, sftpd.h). */
int sftpd_get_path(struct sftpd *s, struct rbuf *r, char out[PATH_MAX]);
/* Named areas: 1 when path (as sftpd_get_path gave it) is the virtual root;
 * its attributes; the client's name of a real path (for REALPATH). */
int sftpd_is_vroot(const struct sftpd *s, const char *path);
void sftpd_vroot_stat(const struct sftpd *s, struct stat *st);
void sftpd_client_path(const struct sftpd *s, const char *real, char out[PATH_MAX]);
int sftpd_get_attrs(struct rbuf *r, struct sftpd_attrs *a);
int sftpd_get_handle(struct sftpd *s, struct rbuf *r, struct sftpd_handle **h);

/* Replies: sftpd_begin() starts a packet in the output queue, the puts add
 * to it, sftpd_end() seals it (or drops it and makes the error sticky). */
void sftpd_put(struct sftpd *s, const void *p, size_t n);
void sftpd_put_u32(struct sftpd *s, uint32_t v);
void sftpd_put_u64(struct sftpd *s, uint64_t v);
void sftpd_put_str(struct sftpd *s, const void *p, size_t n);
void sftpd_put_cstr(struct sftpd *s, const char *str);
void sftpd_begin(struct sftpd *s, uint8_t type, uint32_t id);
void sftpd_end(struct sftpd *s);
void sftpd_put_stat(struct sftpd *s, const struct stat *st);
void sftpd_status(struct sftpd *s, uint32_t id, uint32_t code,
                  const char *msg);
void sftpd_status_errno(struct sftpd *s, uint32_t id, int err);
void sftpd_attrs_reply(struct sftpd *s, uint32_t id, const struct stat *st);
void sftpd_handle_reply(struct sftpd *s, uint32_t id,
                        const struct sftpd_handle *h);

/* Refusals (audited "file_refused", answered PERMISSION_DENIED) and the
 * answer for a path that did not resolve. */
void sftpd_refuse(struct sftpd *s, uint32_t id, const char *op,
                  const char *path, const char *why, const char *req);
void sftpd_path_error(struct sftpd *s, uint32_t id, const char *op,
                      enum sftppath_verdict v, const char *path,
                      const char *req);
void sftpd_audit_path(struct sftpd *s, const char *action, const char *path,
                      const char *to);

/* 1 when st is another name of a refused file and the session may not
 * see patient data. */
int sftpd_linked(const struct sftpd *s, const struct stat *st);

/* Handles: at most MAX_SFTP_HANDLES; closing a file audits its transfer. */
struct sftpd_handle *sftpd_handle_new(struct sftpd *s, const char *path);
int sftpd_handles_full(const struct sftpd *s);
void sftpd_handle_close(struct sftpd *s, struct sftpd_handle *h);

#endif
