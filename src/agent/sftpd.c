/* sftpd.c: SFTP version 3 server engine (draft-ietf-secsh-filexfer-02):
 * framing, the output queue, audit records, handles and the public API. The
 * requests themselves are in sftpops.c.
 *
 * Bytes in, bytes out, no sockets. Input is framed into packets (each
 * bounded), a packet is parsed completely with the bounded reader before
 * anything is done, and every reply is built into one bounded output queue.
 * Processing pauses while the queue is over MAX_SFTP_OUTPUT_BYTES, so a
 * client that pipelines many READs cannot make the agent buffer gigabytes:
 * its requests wait in the input buffer, and the SSH layer stops reading the
 * channel (sftpd_wants_input) until the client has taken the replies. */
#include "sftpd_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agentaudit.h"
#include "codec.h"
#include "err.h"
#include "log.h"
#include "secret.h"

/* ---- reading requests ----------------------------------------------------- */

int sftpd_get_u64(struct rbuf *r, uint64_t *v)
{
	uint32_t hi, lo;
	int rc;

	if ((rc = rbuf_get_u32be(r, &hi)) != 0 || (rc = rbuf_get_u32be(r, &lo)) != 0)
		return rc;
	*v = ((uint64_t)hi << 32) | lo;
	return 0;
}

int sftpd_get_string(struct rbuf *r, const uint8_t **p, uint32_t *n)
{
	size_t save = r->off;
	int rc;

	if ((rc = rbuf_get_u32be(r, n)) != 0)
		return rc;
	if (*n > rbuf_remaining(r)) {
		r->off = save;
		return TE_ERR_TRUNCATED;
	}
	*p = r->data + r->off;
	r->off += *n;
	return 0;
}

/* Named areas: the client's path, normalized from the virtual "/", with a
 * leading area name replaced by its root. ".." cannot climb out of an area
 * into another one's name: the path is normalized before the name is
 * looked at, and the result is checked against the roots as any path is. */
static int sftpd_map_in(const struct sftpd *s, char path[PATH_MAX])
{
	char norm[PATH_MAX];
	const char *first, *rest;
	size_t i, n;
	int w;

	if (sftppath_normalize(NULL, path, norm) != 0)
		return TE_ERR_TOO_LONG;
	first = norm + 1;
	rest = strchrnul(first, '/');
	n = (size_t)(rest - first);
	for (i = 0; n > 0 && s->names[i] != NULL; i++) {
		if (strlen(s->names[i]) != n || memcmp(s->names[i], first, n) != 0)
			continue;
		w = snprintf(path, PATH_MAX, "%s%s", s->roots[i], rest);
		return w < 0 || w >= PATH_MAX ? TE_ERR_TOO_LONG : 0;
	}
	memcpy(path, norm, strlen(norm) + 1);
	return 0;
}

int sftpd_get_path(struct sftpd *s, struct rbuf *r, char out[PATH_MAX])
{
	const uint8_t *p;
	uint32_t n;
	int rc;

	if ((rc = sftpd_get_string(r, &p, &n)) != 0)
		return rc;
	if (n >= PATH_MAX)
		return TE_ERR_TOO_LONG;
	if (n > 0 && memchr(p, '\0', n) != NULL)
		return TE_ERR_INVALID;
	memcpy(out, p, n);
	out[n] = '\0';
	return s->vroot_on ? sftpd_map_in(s, out) : 0;
}

int sftpd_is_vroot(const struct sftpd *s, const char *path)
{
	return s->vroot_on && strcmp(path, "/") == 0;
}

void sftpd_vroot_stat(const struct sftpd *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atime = st->st_mtime = st->st_ctime = s->started;
}

void sftpd_client_path(const struct sftpd *s, const char *real, char out[PATH_MAX])
{
	size_t i, best = 0, bestlen = 0, l;

	for (i = 0; s->vroot_on && s->names[i] != NULL; i++) {
		l = strlen(s->real_roots[i]);
		if (s->names[i][0] != '\0' && l > bestlen &&
		    sftppath_under(real, s->real_roots[i]))
			best = i, bestlen = l;
	}
	if (bestlen == 0 ||
	    snprintf(out, PATH_MAX, "/%s%s", s->names[best], real + bestlen) >= PATH_MAX)
		snprintf(out, PATH_MAX, "%s", real);
}

int sftpd_area_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= NAME_MAX && strchr(name, '/') == NULL &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* ATTRS: only the permissions are used (for new files and directories); the
 * rest is parsed to stay in step and then ignored. */
int sftpd_get_attrs(struct rbuf *r, struct sftpd_attrs *a)
{
	const uint8_t *p;
	uint32_t n, count, i, skip;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = rbuf_get_u32be(r, &a->flags)) != 0)
		return rc;
	if ((a->flags & ATTR_SIZE) && (rc = rbuf_skip(r, 8)) != 0)
		return rc;
	if ((a->flags & ATTR_UIDGID) && (rc = rbuf_skip(r, 8)) != 0)
		return rc;
	if ((a->flags & ATTR_PERMISSIONS) && (rc = rbuf_get_u32be(r, &a->perm)) != 0)
		return rc;
	skip = (a->flags & ATTR_ACMODTIME) ? 8 : 0;
	if ((rc = rbuf_skip(r, skip)) != 0)
		return rc;
	if (!(a->flags & ATTR_EXTENDED))
		return 0;
	if ((rc = rbuf_get_u32be(r, &count)) != 0)
		return rc;
	/* Each pair takes at least 8 bytes, so this ends within the packet. */
	for (i = 0; i < count; i++)
		if ((rc = sftpd_get_string(r, &p, &n)) != 0 ||
		    (rc = sftpd_get_string(r, &p, &n)) != 0)
			return rc;
	return 0;
}

/* ---- building replies ----------------------------------------------------- */

static size_t sftpd_out_pending(const struct sftpd *s)
{
	return s->out_len - s->out_head;
}

static void sftpd_reserve(struct sftpd *s, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (s->pkt_err != 0)
		return;
	if (n > SFTPD_OUT_CAP - s->out_len) {
		s->pkt_err = TE_ERR_TOO_LONG;
		return;
	}
	if (s->out_len + n <= s->out_cap)
		return;
	cap = s->out_cap ? s->out_cap : 16384;
	while (cap < s->out_len + n)
		cap *= 2;
	if (cap > SFTPD_OUT_CAP)
		cap = SFTPD_OUT_CAP;
	if ((p = realloc(s->out, cap)) == NULL) {
		s->pkt_err = TE_ERR_NOMEM;
		return;
	}
	s->out = p;
	s->out_cap = cap;
}

void sftpd_put(struct sftpd *s, const void *p, size_t n)
{
	sftpd_reserve(s, n);
	if (s->pkt_err != 0 || n == 0)
		return;
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
}

void sftpd_put_u32(struct sftpd *s, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
	                 (uint8_t)v };

	sftpd_put(s, b, sizeof(b));
}

void sftpd_put_u64(struct sftpd *s, uint64_t v)
{
	sftpd_put_u32(s, (uint32_t)(v >> 32));
	sftpd_put_u32(s, (uint32_t)v);
}

void sftpd_put_str(struct sftpd *s, const void *p, size_t n)
{
	sftpd_put_u32(s, (uint32_t)n);
	sftpd_put(s, p, n);
}

void sftpd_put_cstr(struct sftpd *s, const char *str)
{
	sftpd_put_str(s, str, strlen(str));
}

void sftpd_begin(struct sftpd *s, uint8_t type, uint32_t id)
{
	if (s->out_head > 0) {
		memmove(s->out, s->out + s->out_head, s->out_len - s->out_head);
		s->out_len -= s->out_head;
		s->out_head = 0;
	}
	s->pkt_err = 0;
	s->pkt_start = s->out_len;
	sftpd_put_u32(s, 0);
	sftpd_put(s, &type, 1);
	sftpd_put_u32(s, id);
}

/* Patch the length in; a reply that failed to build is dropped and its error
 * made sticky (the queue is sized so this never happens to a good client). */
void sftpd_end(struct sftpd *s)
{
	size_t body;

	if (s->pkt_err == 0 && s->out_len - s->pkt_start > MAX_SFTP_PACKET_BYTES)
		s->pkt_err = TE_ERR_TOO_LONG;
	if (s->pkt_err != 0) {
		s->out_len = s->pkt_start;
		if (s->err == 0)
			s->err = s->pkt_err;
		return;
	}
	body = s->out_len - s->pkt_start - 4;
	s->out[s->pkt_start] = (uint8_t)(body >> 24);
	s->out[s->pkt_start + 1] = (uint8_t)(body >> 16);
	s->out[s->pkt_start + 2] = (uint8_t)(body >> 8);
	s->out[s->pkt_start + 3] = (uint8_t)body;
}

void sftpd_status(struct sftpd *s, uint32_t id, uint32_t code,
                  const char *msg)
{
	sftpd_begin(s, FXP_STATUS, id);
	sftpd_put_u32(s, code);
	sftpd_put_cstr(s, msg);
	sftpd_put_cstr(s, "en");
	sftpd_end(s);
}

void sftpd_status_errno(struct sftpd *s, uint32_t id, int err)
{
	uint32_t code = FX_FAILURE;

	if (err == ENOENT || err == ENOTDIR)
		code = FX_NO_SUCH_FILE;
	else if (err == EACCES || err == EPERM)
		code = FX_PERMISSION_DENIED;
	sftpd_status(s, id, code, strerror(err));
}

void sftpd_put_stat(struct sftpd *s, const struct stat *st)
{
	sftpd_put_u32(s, ATTR_SIZE | ATTR_UIDGID | ATTR_PERMISSIONS | ATTR_ACMODTIME);
	sftpd_put_u64(s, (uint64_t)st->st_size);
	sftpd_put_u32(s, (uint32_t)st->st_uid);
	sftpd_put_u32(s, (uint32_t)st->st_gid);
	sftpd_put_u32(s, (uint32_t)st->st_mode);
	sftpd_put_u32(s, (uint32_t)st->st_atime);
	sftpd_put_u32(s, (uint32_t)st->st_mtime);
}

void sftpd_attrs_reply(struct sftpd *s, uint32_t id, const struct stat *st)
{
	sftpd_begin(s, FXP_ATTRS, id);
	sftpd_put_stat(s, st);
	sftpd_end(s);
}

/* ---- audit ---------------------------------------------------------------- */

static json_t *sftpd_jpath(const char *path)
{
	char clean[PATH_MAX];

	snprintf(clean, sizeof(clean), "%s", path);
	agentaudit_clean_utf8(clean);
	return json_string(clean);
}

static void sftpd_audit(struct sftpd *s, const char *action, json_t *detail)
{
	if (detail == NULL)
		return;
	if (s->audit != NULL)
		s->audit(s->audit_arg, action, detail);
	else
		json_decref(detail);
}

/* Refuse a request: audited "file_refused" with its reason, and a STATUS
 * PERMISSION_DENIED the user can act on. */
static void sftpd_refuse_msg(struct sftpd *s, uint32_t id, const char *op,
                             const char *path, const char *why, const char *msg)
{
	json_t *d = json_object();

	if (d != NULL) {
		json_object_set_new(d, "path", sftpd_jpath(path));
		json_object_set_new(d, "op", json_string(op));
		json_object_set_new(d, "reason", json_string(why));
	}
	sftpd_audit(s, "file_refused", d);
	sftpd_status(s, id, FX_PERMISSION_DENIED, msg);
}

void sftpd_refuse(struct sftpd *s, uint32_t id, const char *op,
                  const char *path, const char *why, const char *req)
{
	char msg[SFTPD_MSG_BYTES];

	if (strcmp(why, WHY_OUTSIDE) == 0)
		snprintf(msg, sizeof(msg), "refused: %.300s is outside the allowlisted "
		         "directories", req);
	else if (strcmp(why, WHY_PATIENT) == 0)
		snprintf(msg, sizeof(msg), "refused: %.300s is patient data; this session "
		         "does not hold the patient_records permission", req);
	else if (strcmp(why, WHY_READONLY) == 0)
		snprintf(msg, sizeof(msg), "refused: this session is read-only (the "
		         "ticket does not grant files:write)");
	else if (strcmp(why, WHY_LINKED) == 0)
		snprintf(msg, sizeof(msg), "refused: %.300s is another name (a hard "
		         "link) of patient data; this session does not hold the "
		         "patient_records permission", req);
	else if (strcmp(why, WHY_HOLDS) == 0)
		snprintf(msg, sizeof(msg), "refused: %.300s holds patient data (or "
		         "leads to it) and cannot be renamed or removed in this session",
		         req);
	else if (strcmp(why, WHY_ROOT) == 0)
		snprintf(msg, sizeof(msg), "refused: %.300s is an allowlisted directory "
		         "and cannot be removed or renamed", req);
	else
		snprintf(msg, sizeof(msg), "refused: symbolic links are neither read "
		         "nor created over this session");
	sftpd_refuse_msg(s, id, op, path, why, msg);
}

/* Answer a path that did not resolve to SFTPPATH_OK. */
void sftpd_path_error(struct sftpd *s, uint32_t id, const char *op,
                      enum sftppath_verdict v, const char *path,
                      const char *req)
{
	char msg[SFTPD_MSG_BYTES];

	switch (v) {
	case SFTPPATH_OUTSIDE:
		sftpd_refuse(s, id, op, path, WHY_OUTSIDE, req);
		return;
	case SFTPPATH_NO_ROOTS:
		sftpd_refuse_msg(s, id, op, path, WHY_OUTSIDE, "refused: none of the "
		                 "allowlisted directories exists on this device");
		return;
	case SFTPPATH_PATIENT:
		sftpd_refuse(s, id, op, path, WHY_PATIENT, req);
		return;
	case SFTPPATH_NOACCESS:
		snprintf(msg, sizeof(msg), "the agent has no access to %.300s", req);
		sftpd_status(s, id, FX_PERMISSION_DENIED, msg);
		return;
	case SFTPPATH_TOO_LONG:
		sftpd_status(s, id, FX_FAILURE, "path too long");
		return;
	default:
		snprintf(msg, sizeof(msg), "no such file or directory: %.300s", req);
		sftpd_status(s, id, FX_NO_SUCH_FILE, msg);
		return;
	}
}

/* SHA-256 and size of the file as it is on disk now, read through the
 * handle's own descriptor; bounded by the size fstat reports. */
static int sftpd_hash_fd(struct sftpd *s, int fd, uint64_t *size,
                         char hex[SHA256_HEX_BYTES])
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	uint64_t off = 0, want;
	ssize_t n;
	int rc = TE_ERR_CRYPTO;

	if (fstat(fd, &st) != 0)
		return TE_ERR_SYS;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (off < (uint64_t)st.st_size) {
		want = (uint64_t)st.st_size - off;
		if (want > sizeof(s->scratch))
			want = sizeof(s->scratch);
		n = pread(fd, s->scratch, (size_t)want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;   /* shrank while we read: hash what is there */
		if (EVP_DigestUpdate(ctx, s->scratch, (size_t)n) != 1)
			goto out;
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
		goto out;
	*size = off;
	rc = hex_encode(md, sizeof(md), hex, SHA256_HEX_BYTES);
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void sftpd_audit_transfer(struct sftpd *s, struct sftpd_handle *h)
{
	char hex[SHA256_HEX_BYTES];
	uint64_t size = 0;
	json_t *d = json_object();
	int hashed = sftpd_hash_fd(s, h->fd, &size, hex) == 0;

	if (d == NULL)
		return;
	json_object_set_new(d, "path", sftpd_jpath(h->path));
	json_object_set_new(d, "bytes", json_integer((json_int_t)(h->can_write ?
	                    h->bytes_written : h->bytes_read)));
	if (h->can_write && h->bytes_read > 0)
		json_object_set_new(d, "bytes_read", json_integer((json_int_t)h->bytes_read));
	json_object_set_new(d, "size", hashed ? json_integer((json_int_t)size) : json_null());
	json_object_set_new(d, "sha256", hashed ? json_string(hex) : json_null());
	sftpd_audit(s, h->can_write ? "file_write" : "file_read", d);
}

void sftpd_audit_path(struct sftpd *s, const char *action, const char *path,
                      const char *to)
{
	json_t *d = json_object();

	if (d == NULL)
		return;
	json_object_set_new(d, "path", sftpd_jpath(path));
	if (to != NULL)
		json_object_set_new(d, "to", sftpd_jpath(to));
	sftpd_audit(s, action, d);
}

/* ---- handles -------------------------------------------------------------- */

struct sftpd_handle *sftpd_handle_new(struct sftpd *s, const char *path)
{
	size_t i;

	for (i = 0; i < MAX_SFTP_HANDLES; i++) {
		if (s->h[i].used)
			continue;
		if ((s->h[i].path = strdup(path)) == NULL)
			return NULL;
		s->h[i].used = 1;
		s->h[i].gen = ++s->next_gen;
		s->h[i].fd = -1;
		s->h[i].dir = NULL;
		return &s->h[i];
	}
	return NULL;
}

int sftpd_handles_full(const struct sftpd *s)
{
	size_t i;

	for (i = 0; i < MAX_SFTP_HANDLES; i++)
		if (!s->h[i].used)
			return 0;
	return 1;
}

void sftpd_handle_close(struct sftpd *s, struct sftpd_handle *h)
{
	if (h->fd >= 0) {
		sftpd_audit_transfer(s, h);
		close(h->fd);
	}
	if (h->dir != NULL)
		closedir(h->dir);
	free(h->path);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

void sftpd_handle_reply(struct sftpd *s, uint32_t id,
                        const struct sftpd_handle *h)
{
	sftpd_begin(s, FXP_HANDLE, id);
	sftpd_put_u32(s, SFTPD_HANDLE_BYTES);
	sftpd_put_u32(s, (uint32_t)(h - s->h));
	sftpd_put_u32(s, h->gen);
	sftpd_end(s);
}

/* Parse a handle; *h is NULL when it names nothing open (answered by the
 * caller with a STATUS, since the packet itself was well formed). */
int sftpd_get_handle(struct sftpd *s, struct rbuf *r, struct sftpd_handle **h)
{
	const uint8_t *p;
	uint32_t n, slot, gen;
	struct rbuf hr;
	int rc;

	*h = NULL;
	if ((rc = sftpd_get_string(r, &p, &n)) != 0)
		return rc;
	if (n != SFTPD_HANDLE_BYTES)
		return 0;
	if (rbuf_init(&hr, p, n, n) != 0 || rbuf_get_u32be(&hr, &slot) != 0 ||
	    rbuf_get_u32be(&hr, &gen) != 0)
		return 0;
	if (slot < MAX_SFTP_HANDLES && s->h[slot].used && s->h[slot].gen == gen)
		*h = &s->h[slot];
	return 0;
}

/* One complete packet (without its length). A malformed request is answered
 * BAD_MESSAGE and the session goes on, since the framing is intact; only a
 * broken handshake is fatal. */
static int sftpd_packet(struct sftpd *s, const uint8_t *p, size_t n)
{
	char msg[SFTPD_MSG_BYTES];
	struct sftpd_req q = { s, 0, NULL, NULL };
	struct rbuf r;
	uint8_t type;
	const struct sftpd_op *op;
	uint32_t word;
	int rc;

	if (rbuf_init(&r, p, n, MAX_SFTP_PACKET_BYTES) != 0 ||
	    rbuf_get_u8(&r, &type) != 0 || rbuf_get_u32be(&r, &word) != 0)
		return TE_ERR_PROTOCOL;
	if (!s->inited) {
		if (type != FXP_INIT)
			return TE_ERR_PROTOCOL;
		s->inited = 1;   /* word is the client's version; we speak 3 */
		sftpd_begin(s, FXP_VERSION, SFTPD_VERSION);
		sftpd_end(s);
		return s->err;
	}
	if (type == FXP_INIT)
		return TE_ERR_PROTOCOL;
	q.id = word;
	q.r = &r;
	if ((op = sftpd_op_find(type)) == NULL) {
		snprintf(msg, sizeof(msg), "request type %u is not supported", type);
		sftpd_status(s, q.id, FX_OP_UNSUPPORTED, msg);
		return s->err;
	}
	q.op = op->name;
	rc = op->fn(&q);
	if (rc == TE_ERR_NOMEM)
		return rc;
	if (rc != 0 && s->err == 0) {
		snprintf(msg, sizeof(msg), "malformed %s request: %s", q.op, te_strerror(rc));
		sftpd_status(s, q.id, FX_BAD_MESSAGE, msg);
	}
	return s->err;
}

/* Work through the complete packets buffered, while the output has room. */
static int sftpd_process(struct sftpd *s)
{
	size_t avail;
	uint32_t len;
	uint8_t *p;
	int rc;

	while (s->err == 0 && sftpd_out_pending(s) < MAX_SFTP_OUTPUT_BYTES) {
		avail = s->in_len - s->in_off;
		if (avail < 4)
			break;
		p = s->in + s->in_off;
		len = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
		      ((uint32_t)p[2] << 8) | (uint32_t)p[3];
		if (len > MAX_SFTP_PACKET_BYTES - 4) {
			s->err = TE_ERR_TOO_LONG;
			break;
		}
		if (len < 5) {   /* type and request id (or version) at least */
			s->err = TE_ERR_PROTOCOL;
			break;
		}
		if (avail - 4 < len)
			break;
		if ((rc = sftpd_packet(s, p + 4, len)) != 0 && s->err == 0)
			s->err = rc;
		s->in_off += 4 + (size_t)len;
	}
	if (s->in_off == s->in_len)
		s->in_off = s->in_len = 0;
	return s->err;
}

/* ---- public API ----------------------------------------------------------- */

static char **sftpd_strv_new(size_t n)
{
	return calloc(n + 1, sizeof(char *));
}

static void sftpd_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Keep the roots that exist as directories, with their real paths; a missing
 * one is logged and skipped so the rest stay usable. */
static int sftpd_set_roots(struct sftpd *s, const struct sftpd_policy *pol)
{
	char norm[PATH_MAX], real[PATH_MAX];
	const char *name;
	struct stat st;
	size_t i, n = 0;
	int root_is_slash = 0;

	if ((s->roots = sftpd_strv_new(pol->nroots)) == NULL ||
	    (s->real_roots = sftpd_strv_new(pol->nroots)) == NULL ||
	    (s->names = sftpd_strv_new(pol->nroots)) == NULL)
		return TE_ERR_NOMEM;
	for (i = 0; i < pol->nroots; i++) {
		if (pol->roots[i] == NULL || pol->roots[i][0] != '/' ||
		    sftppath_normalize(NULL, pol->roots[i], norm) != 0)
			return TE_ERR_INVALID;
		if (realpath(norm, real) == NULL || stat(real, &st) != 0 ||
		    !S_ISDIR(st.st_mode)) {
			log_warn("sftp: allowlisted directory %s is not there; skipped",
			         pol->roots[i]);
			continue;
		}
		name = pol->names != NULL && pol->names[i] != NULL ? pol->names[i] : "";
		if (name[0] != '\0' && !sftpd_area_name_ok(name)) {
			log_warn("sftp: area name \"%s\" cannot be a folder name; %s is"
			         " reachable by its path only", name, norm);
			name = "";
		}
		if ((s->roots[n] = strdup(norm)) == NULL ||
		    (s->real_roots[n] = strdup(real)) == NULL ||
		    (s->names[n++] = strdup(name)) == NULL)
			return TE_ERR_NOMEM;
		/* "/" as a root leaves nothing outside to name */
		if (strcmp(norm, "/") == 0 || strcmp(real, "/") == 0)
			root_is_slash = 1;
	}
	s->vroot_on = pol->names != NULL && !root_is_slash;
	s->rules.roots = (const char *const *)s->roots;
	s->rules.real_roots = (const char *const *)s->real_roots;
	s->rules.nroots = n;
	return 0;
}

/* The refusal list, and the scan for its files' other names; none when
 * the session may see patient data. */
static int sftpd_set_refuse(struct sftpd *s, const struct sftpd_policy *pol)
{
	char why[PDMATCH_WHY_BYTES];
	int rc;

	if (pol->patient_ok || pol->nrefuse == 0)
		return 0;
	if ((rc = pdmatch_new(pol->refuse, pol->nrefuse, pol->casefold, &s->pd, why,
	                      sizeof(why))) != 0) {
		if (rc == TE_ERR_INVALID)
			log_warn("sftp: %s", why);
		return rc;
	}
	if (pdmatch_scan(s->pd, NULL, 0, NULL, NULL, why, sizeof(why)) != 0)
		log_warn("sftp: %s; every file with more than one link is refused", why);
	s->rules.pd = s->pd;
	return 0;
}

int sftpd_linked(const struct sftpd *s, const struct stat *st)
{
	return !s->rules.patient_ok && pdmatch_linked(s->pd, st);
}

int sftpd_new(const struct sftpd_policy *pol, sftpd_audit_fn audit, void *arg,
              struct sftpd **out)
{
	struct sftpd *s;
	size_t i;
	int rc;

	*out = NULL;
	if (pol == NULL || (pol->nroots > 0 && pol->roots == NULL) ||
	    (pol->nrefuse > 0 && pol->refuse == NULL))
		return TE_ERR_INVALID;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TE_ERR_NOMEM;
	for (i = 0; i < MAX_SFTP_HANDLES; i++)
		s->h[i].fd = -1;
	s->write_ok = pol->write_ok != 0;
	s->rules.patient_ok = pol->patient_ok != 0;
	s->audit = audit;
	s->audit_arg = arg;
	s->started = time(NULL);
	if ((rc = sftpd_set_roots(s, pol)) != 0 || (rc = sftpd_set_refuse(s, pol)) != 0) {
		sftpd_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int sftpd_input(struct sftpd *s, const void *data, size_t len)
{
	size_t have, cap;
	uint8_t *p;

	if (s->err != 0)
		return s->err;
	if (len > 0) {
		if (data == NULL)
			return TE_ERR_INVALID;
		have = s->in_len - s->in_off;
		if (len > MAX_SFTP_INPUT_BYTES - have) {
			s->err = TE_ERR_TOO_LONG;
			return s->err;
		}
		if (s->in_off > 0) {
			memmove(s->in, s->in + s->in_off, have);
			s->in_off = 0;
			s->in_len = have;
		}
		if (have + len > s->in_cap) {
			cap = s->in_cap ? s->in_cap : 16384;
			while (cap < have + len)
				cap *= 2;
			if (cap > MAX_SFTP_INPUT_BYTES)
				cap = MAX_SFTP_INPUT_BYTES;
			if ((p = realloc(s->in, cap)) == NULL)
				return TE_ERR_NOMEM;
			s->in = p;
			s->in_cap = cap;
		}
		memcpy(s->in + s->in_len, data, len);
		s->in_len += len;
	}
	return sftpd_process(s);
}

size_t sftpd_output(struct sftpd *s, const void **data)
{
	*data = s->out != NULL ? s->out + s->out_head : NULL;
	return sftpd_out_pending(s);
}

void sftpd_consume(struct sftpd *s, size_t n)
{
	if (n > sftpd_out_pending(s))
		n = sftpd_out_pending(s);
	s->out_head += n;
	if (s->out_head == s->out_len)
		s->out_head = s->out_len = 0;
	/* Requests held back while the queue was full go on now; an error here
	 * stays sticky and is returned by the next sftpd_input. */
	sftpd_process(s);
}

int sftpd_wants_input(const struct sftpd *s)
{
	return s->err != 0 || sftpd_out_pending(s) < MAX_SFTP_OUTPUT_BYTES;
}

void sftpd_free(struct sftpd *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < MAX_SFTP_HANDLES; i++)
		if (s->h[i].used)
			sftpd_handle_close(s, &s->h[i]);
	sftpd_strv_free(s->roots);
	sftpd_strv_free(s->real_roots);
	sftpd_strv_free(s->names);
	pdmatch_free(s->pd);
	free(s->in);
	free(s->out);
	free(s);
}
