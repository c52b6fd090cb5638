/* signmsg.c: the signer's message codec (signmsg.h). */
#include "signmsg.h"
#include "tufonline.h"

#include <string.h>

#include "err.h"

#define SIGNMSG_STR_HDR 2
#define SIGNMSG_U64     8

/* Payload bounds per type: a request or reply outside them is refused
 * before any field is read. */
static const struct { size_t min, max; } signmsg_bounds[SIGNMSG_TYPE_END] = {
	[SIGNMSG_ERROR] = { SIGNMSG_U64, SIGNMSG_U64 },
	[SIGNMSG_TICKET] = { 5 * SIGNMSG_STR_HDR + 4 * SIGNMSG_U64,
	                     4 * (SIGNMSG_STR_HDR + MAX_NAME_BYTES) + 4 * SIGNMSG_U64 +
	                     SIGNMSG_STR_HDR + MAX_ACTIONS_BYTES },
	[SIGNMSG_TICKET_OK] = { SIGNMSG_STR_HDR + 1, SIGNMSG_STR_HDR + MAX_TICKET_BYTES },
	[SIGNMSG_CERT] = { 2 * SIGNMSG_STR_HDR + 2,
	                   2 * SIGNMSG_STR_HDR + MAX_NAME_BYTES + MAX_CSR_BYTES },
	[SIGNMSG_CERT_OK] = { SIGNMSG_STR_HDR + 1, SIGNMSG_STR_HDR + MAX_PEM_BYTES },
	[SIGNMSG_TOTP_NEW] = { 0, 0 },
	[SIGNMSG_TOTP_NEW_OK] = { 2 * SIGNMSG_STR_HDR + TOTP_SECRET_BYTES + 1,
	                          2 * SIGNMSG_STR_HDR + TOTP_SECRET_BYTES + STORE_BOX_BYTES },
	[SIGNMSG_TOTP_CHECK] = { 2 * SIGNMSG_STR_HDR + SIGNMSG_U64 + 2,
	                         2 * SIGNMSG_STR_HDR + STORE_BOX_BYTES + TOTP_CODE_BYTES +
	                         SIGNMSG_U64 },
	[SIGNMSG_TOTP_CHECK_OK] = { 2 * SIGNMSG_U64, 2 * SIGNMSG_U64 },
	[SIGNMSG_CHECKPOINT] = { SIGNMSG_U64 + SIGNMSG_STR_HDR + SHA256_HEX_BYTES - 1,
	                         SIGNMSG_U64 + SIGNMSG_STR_HDR + SHA256_HEX_BYTES - 1 },
	[SIGNMSG_CHECKPOINT_OK] = { SIGNMSG_STR_HDR + 1, SIGNMSG_STR_HDR + MAX_CHECKPOINT_BYTES },
	[SIGNMSG_ACTIVITY] = { 5 * SIGNMSG_STR_HDR + 4 + SIGNMSG_U64,
	                       5 * SIGNMSG_STR_HDR + ACTENV_ID_BYTES + 2 * MAX_NAME_BYTES +
	                       ACTENV_KIND_BYTES + ACTENV_INPUT_BYTES + SIGNMSG_U64 },
	[SIGNMSG_ACTIVITY_OK] = { SIGNMSG_STR_HDR + 1, SIGNMSG_STR_HDR + MAX_ACTENV_BYTES },
	[SIGNMSG_TUF_SNAPSHOT] = { 3 * SIGNMSG_U64 + SIGNMSG_STR_HDR + 1 + SIGNMSG_U64,
	                           3 * SIGNMSG_U64 + TUFONLINE_MAX_ROLES *
	                           (SIGNMSG_STR_HDR + MAX_NAME_BYTES - 1 + SIGNMSG_U64) },
	[SIGNMSG_TUF_TIMESTAMP] = { 4 * SIGNMSG_U64 + SIGNMSG_STR_HDR + 64,
	                            4 * SIGNMSG_U64 + SIGNMSG_STR_HDR + 64 },
	[SIGNMSG_TUF_OK] = { SIGNMSG_STR_HDR + 1, MAX_SIGNMSG_BYTES - SIGNMSG_HDR_BYTES },
};

static void signmsg_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t signmsg_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void signmsg_begin(struct signmsg_wr *w, enum signmsg_type type)
{
	w->err = 0;
	w->len = SIGNMSG_HDR_BYTES;
	signmsg_be32(w->buf, (uint32_t)type);
	signmsg_be32(w->buf + 4, 0);
}

static uint8_t *signmsg_room(struct signmsg_wr *w, size_t n)
{
	uint8_t *p;

	if (w->err != 0)
		return NULL;
	if (n > sizeof(w->buf) - w->len) {
		w->err = TE_ERR_TOO_LONG;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void signmsg_put_u64(struct signmsg_wr *w, uint64_t v)
{
	uint8_t *p = signmsg_room(w, SIGNMSG_U64);

	if (p == NULL)
		return;
	signmsg_be32(p, (uint32_t)(v >> 32));
	signmsg_be32(p + 4, (uint32_t)v);
}

void signmsg_put_bytes(struct signmsg_wr *w, const void *src, size_t n)
{
	uint8_t *p;

	if (n > UINT16_MAX) {
		w->err = w->err ? w->err : TE_ERR_TOO_LONG;
		return;
	}
	if ((p = signmsg_room(w, SIGNMSG_STR_HDR + n)) == NULL)
		return;
	p[0] = (uint8_t)(n >> 8);
	p[1] = (uint8_t)n;
	if (n > 0)
		memcpy(p + SIGNMSG_STR_HDR, src, n);
}

void signmsg_put_str(struct signmsg_wr *w, const char *s)
{
	signmsg_put_bytes(w, s, strlen(s));
}

int signmsg_end(struct signmsg_wr *w)
{
	uint32_t type = signmsg_rd32(w->buf);
	size_t plen = w->len - SIGNMSG_HDR_BYTES;

	if (w->err != 0)
		return w->err;
	if (type == 0 || type >= SIGNMSG_TYPE_END || plen < signmsg_bounds[type].min ||
	    plen > signmsg_bounds[type].max)
		return w->err = TE_ERR_INVALID;
	signmsg_be32(w->buf + 4, (uint32_t)plen);
	return 0;
}

int signmsg_parse(const uint8_t *buf, size_t len, enum signmsg_type *type,
                  struct signmsg_rd *rd)
{
	uint32_t t, plen;

	memset(rd, 0, sizeof(*rd));
	rd->err = TE_ERR_INVALID;
	if (len < SIGNMSG_HDR_BYTES || len > MAX_SIGNMSG_BYTES)
		return TE_ERR_INVALID;
	t = signmsg_rd32(buf);
	plen = signmsg_rd32(buf + 4);
	if (t == 0 || t >= SIGNMSG_TYPE_END || plen != len - SIGNMSG_HDR_BYTES ||
	    plen < signmsg_bounds[t].min || plen > signmsg_bounds[t].max)
		return TE_ERR_INVALID;
	*type = (enum signmsg_type)t;
	rd->p = buf + SIGNMSG_HDR_BYTES;
	rd->left = plen;
	rd->err = 0;
	return 0;
}

static const uint8_t *signmsg_take(struct signmsg_rd *rd, size_t n)
{
	const uint8_t *p;

	if (rd->err != 0)
		return NULL;
	if (n > rd->left) {
		rd->err = TE_ERR_TRUNCATED;
		return NULL;
	}
	p = rd->p;
	rd->p += n;
	rd->left -= n;
	return p;
}

uint64_t signmsg_get_u64(struct signmsg_rd *rd)
{
	const uint8_t *p = signmsg_take(rd, SIGNMSG_U64);

	if (p == NULL)
		return 0;
	return (uint64_t)signmsg_rd32(p) << 32 | signmsg_rd32(p + 4);
}

void signmsg_get_bytes(struct signmsg_rd *rd, uint8_t *out, size_t outsz, size_t *n)
{
	const uint8_t *h = signmsg_take(rd, SIGNMSG_STR_HDR), *p;
	size_t len;

	*n = 0;
	if (h == NULL)
		return;
	len = (size_t)h[0] << 8 | h[1];
	if (len > outsz) {
		rd->err = TE_ERR_TOO_LONG;
		return;
	}
	if ((p = signmsg_take(rd, len)) == NULL)
		return;
	if (len > 0)
		memcpy(out, p, len);
	*n = len;
}

void signmsg_get_str(struct signmsg_rd *rd, char *out, size_t outsz)
{
	size_t n = 0;

	if (outsz == 0) {
		rd->err = TE_ERR_TOO_LONG;
		return;
	}
	out[0] = '\0';
	signmsg_get_bytes(rd, (uint8_t *)out, outsz - 1, &n);
	if (rd->err != 0)
		return;
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL) {
		out[0] = '\0';
		rd->err = TE_ERR_INVALID;
	}
}

int signmsg_done(const struct signmsg_rd *rd)
{
	if (rd->err != 0)
		return rd->err;
	return rd->left == 0 ? 0 : TE_ERR_INVALID;
}

int signmsg_ticket_encode(struct signmsg_wr *w, const struct signmsg_ticket *t)
{
	signmsg_begin(w, SIGNMSG_TICKET);
	signmsg_put_str(w, t->session);
	signmsg_put_str(w, t->device);
	signmsg_put_str(w, t->user);
	signmsg_put_str(w, t->relay);
	signmsg_put_u64(w, (uint64_t)t->leg);
	signmsg_put_u64(w, (uint64_t)t->end_at);
	signmsg_put_u64(w, (uint64_t)t->idle_s);
	signmsg_put_str(w, t->actions);
	signmsg_put_u64(w, (uint64_t)t->conn);
	return signmsg_end(w);
}

int signmsg_ticket_decode(struct signmsg_rd *rd, struct signmsg_ticket *t)
{
	memset(t, 0, sizeof(*t));
	signmsg_get_str(rd, t->session, sizeof(t->session));
	signmsg_get_str(rd, t->device, sizeof(t->device));
	signmsg_get_str(rd, t->user, sizeof(t->user));
	signmsg_get_str(rd, t->relay, sizeof(t->relay));
	t->leg = (int64_t)signmsg_get_u64(rd);
	t->end_at = (int64_t)signmsg_get_u64(rd);
	t->idle_s = (int64_t)signmsg_get_u64(rd);
	signmsg_get_str(rd, t->actions, sizeof(t->actions));
	t->conn = (int64_t)signmsg_get_u64(rd);
	return signmsg_done(rd);
}

int signmsg_totp_check_encode(struct signmsg_wr *w, const struct signmsg_totp_check *c)
{
	signmsg_begin(w, SIGNMSG_TOTP_CHECK);
	signmsg_put_str(w, c->box);
	signmsg_put_str(w, c->code);
	signmsg_put_u64(w, (uint64_t)c->last_step);
	return signmsg_end(w);
}

int signmsg_totp_check_decode(struct signmsg_rd *rd, struct signmsg_totp_check *c)
{
	memset(c, 0, sizeof(*c));
	signmsg_get_str(rd, c->box, sizeof(c->box));
	signmsg_get_str(rd, c->code, sizeof(c->code));
	c->last_step = (int64_t)signmsg_get_u64(rd);
	return signmsg_done(rd);
}
