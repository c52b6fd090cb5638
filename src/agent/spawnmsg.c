/* spawnmsg.c: encode and strictly decode the monitor's messages. */
#include "spawnmsg.h"

#include <string.h>

#include "err.h"
#include "rbuf.h"

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void put_u32(struct wbuf *w, uint32_t v)
{
	if (w->err || w->cap - w->len < 4) {
		w->err = 1;
		return;
	}
	w->p[w->len++] = (uint8_t)(v >> 24);
	w->p[w->len++] = (uint8_t)(v >> 16);
	w->p[w->len++] = (uint8_t)(v >> 8);
	w->p[w->len++] = (uint8_t)v;
}

static void put_str(struct wbuf *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (w->err || n >= max || w->cap - w->len < 2 + n) {
		w->err = 1;
		return;
	}
	w->p[w->len++] = (uint8_t)(n >> 8);
	w->p[w->len++] = (uint8_t)n;
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* A string of at most outsz - 1 bytes with no NUL inside. */
static int get_str(struct rbuf *r, char *out, size_t outsz)
{
	uint16_t n;
	int rc;

	if ((rc = rbuf_get_u16be(r, &n)) != 0)
		return rc;
	if ((size_t)n >= outsz)
		return TE_ERR_TOO_LONG;
	if ((rc = rbuf_get_bytes(r, out, n)) != 0)
		return rc;
	out[n] = '\0';
	return memchr(out, '\0', n) != NULL ? TE_ERR_INVALID : 0;
}

static int req_valid(const struct spawn_req *req)
{
	if (req->kind < SPAWN_KIND_SHELL || req->kind > SPAWN_KIND_INSTALL)
		return 0;
	if ((req->flags & ~SPAWN_F_ALL) != 0)
		return 0;
	if (req->nfds < 1 || req->nfds > SPAWN_MAX_FDS)
		return 0;
	/* A PTY is one fd for all three; pipes are one fd each. */
	if ((req->flags & SPAWN_F_PTY) && req->nfds != 1)
		return 0;
	return req->argc >= 1 && req->argc <= SPAWN_MAX_ARGS;
}

int spawnmsg_encode_req(const struct spawn_req *req, uint8_t *out, size_t outsz)
{
	struct wbuf w = { out, 0, outsz, 0 };
	uint32_t i;

	if (!req_valid(req))
		return TE_ERR_INVALID;
	put_u32(&w, SPAWN_MSG_REQUEST);
	put_u32(&w, req->kind);
	put_u32(&w, req->flags);
	put_u32(&w, req->nfds);
	put_u32(&w, req->argc);
	put_str(&w, req->term, sizeof(req->term));
	put_str(&w, req->session, sizeof(req->session));
	for (i = 0; i < req->argc; i++)
		put_str(&w, req->argv[i], sizeof(req->argv[i]));
	if (w.err || w.len > SPAWN_MSG_MAX_BYTES)
		return TE_ERR_TOO_LONG;
	return (int)w.len;
}

int spawnmsg_decode_req(const uint8_t *buf, size_t len, struct spawn_req *req)
{
	struct rbuf r;
	uint32_t type, i;
	int rc;

	memset(req, 0, sizeof(*req));
	if ((rc = rbuf_init(&r, buf, len, SPAWN_MSG_MAX_BYTES)) != 0 ||
	    (rc = rbuf_get_u32be(&r, &type)) != 0)
		return rc;
	if (type != SPAWN_MSG_REQUEST)
		return TE_ERR_PROTOCOL;
	if ((rc = rbuf_get_u32be(&r, &req->kind)) != 0 ||
	    (rc = rbuf_get_u32be(&r, &req->flags)) != 0 ||
	    (rc = rbuf_get_u32be(&r, &req->nfds)) != 0 ||
	    (rc = rbuf_get_u32be(&r, &req->argc)) != 0)
		return rc;
	if (!req_valid(req))
		return TE_ERR_INVALID;
	if ((rc = get_str(&r, req->term, sizeof(req->term))) != 0 ||
	    (rc = get_str(&r, req->session, sizeof(req->session))) != 0)
		return rc;
	for (i = 0; i < req->argc; i++)
		if ((rc = get_str(&r, req->argv[i], sizeof(req->argv[i]))) != 0)
			return rc;
	return rbuf_remaining(&r) == 0 ? 0 : TE_ERR_INVALID;
}

int spawnmsg_encode_status(const struct spawn_status *st, uint8_t *out, size_t outsz)
{
	struct wbuf w = { out, 0, outsz, 0 };

	if (st->type < SPAWN_MSG_STARTED || st->type > SPAWN_MSG_EXITED)
		return TE_ERR_INVALID;
	put_u32(&w, st->type);
	put_u32(&w, (uint32_t)st->value);
	put_str(&w, st->text, sizeof(st->text));
	return w.err ? TE_ERR_TOO_LONG : (int)w.len;
}

int spawnmsg_decode_status(const uint8_t *buf, size_t len, struct spawn_status *st)
{
	struct rbuf r;
	uint32_t v;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = rbuf_init(&r, buf, len, SPAWN_MSG_MAX_BYTES)) != 0 ||
	    (rc = rbuf_get_u32be(&r, &st->type)) != 0 ||
	    (rc = rbuf_get_u32be(&r, &v)) != 0)
		return rc;
	if (st->type < SPAWN_MSG_STARTED || st->type > SPAWN_MSG_EXITED)
		return TE_ERR_PROTOCOL;
	st->value = (int32_t)v;
	if ((rc = get_str(&r, st->text, sizeof(st->text))) != 0)
		return rc;
	return rbuf_remaining(&r) == 0 ? 0 : TE_ERR_INVALID;
}
