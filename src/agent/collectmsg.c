/* collectmsg.c: the collection reader's frames (collectmsg.h). */
#include "collectmsg.h"

#include <string.h>

#include "err.h"
#include "text.h"

static uint32_t collectmsg_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void collectmsg_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* path: 1..MAX-1 bytes, absolute, no NUL. */
static int collectmsg_path(const uint8_t *p, size_t n, char *out)
{
	if (n == 0 || n >= COLLECTMSG_PATH_MAX || p[0] != '/' || memchr(p, '\0', n) != NULL)
		return TE_ERR_INVALID;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int collectmsg_why(const uint8_t *p, size_t n, char *out)
{
	if (n == 0 || n >= COLLECTMSG_WHY_MAX || memchr(p, '\0', n) != NULL)
		return TE_ERR_INVALID;
	memcpy(out, p, n);
	out[n] = '\0';
	return text_check_display(out, COLLECTMSG_WHY_MAX, NULL) == 0 ? 0 : TE_ERR_INVALID;
}

int collectmsg_parse(const uint8_t *buf, size_t len, struct collectmsg *out, size_t *used)
{
	const uint8_t *p = buf + COLLECTMSG_HEAD;
	uint32_t n;
	size_t pl;

	memset(out, 0, sizeof(*out));
	*used = 0;
	if (len < COLLECTMSG_HEAD)
		return TE_ERR_TRUNCATED;
	out->type = buf[0];
	n = collectmsg_u32(buf + 1);
	switch (out->type) {
	case COLLECTMSG_FILE:
		if (n < 9 || n > 8 + COLLECTMSG_PATH_MAX)
			return TE_ERR_INVALID;
		break;
	case COLLECTMSG_DATA:
		if (n == 0 || n > COLLECTMSG_DATA_MAX)
			return TE_ERR_TOO_LONG;
		break;
	case COLLECTMSG_END_FILE:
	case COLLECTMSG_END:
		if (n != 0)
			return TE_ERR_INVALID;
		break;
	case COLLECTMSG_ABORT:
		if (n == 0 || n >= COLLECTMSG_WHY_MAX)
			return TE_ERR_INVALID;
		break;
	case COLLECTMSG_REFUSED:
		if (n < 4 || n > 2 + COLLECTMSG_PATH_MAX + COLLECTMSG_WHY_MAX)
			return TE_ERR_INVALID;
		break;
	default:
		return TE_ERR_INVALID;
	}
	if (len - COLLECTMSG_HEAD < n)
		return TE_ERR_TRUNCATED;
	switch (out->type) {
	case COLLECTMSG_FILE:
		out->mtime = (int64_t)((uint64_t)collectmsg_u32(p) << 32 | collectmsg_u32(p + 4));
		if (out->mtime < 0 || collectmsg_path(p + 8, n - 8, out->path) != 0)
			return TE_ERR_INVALID;
		break;
	case COLLECTMSG_DATA:
		out->data = p;
		out->len = n;
		break;
	case COLLECTMSG_ABORT:
		if (collectmsg_why(p, n, out->why) != 0)
			return TE_ERR_INVALID;
		break;
	case COLLECTMSG_REFUSED:
		pl = (size_t)p[0] << 8 | p[1];
		if (pl + 2 >= n || collectmsg_path(p + 2, pl, out->path) != 0 ||
		    collectmsg_why(p + 2 + pl, n - 2 - pl, out->why) != 0)
			return TE_ERR_INVALID;
		break;
	default:
		break;
	}
	*used = COLLECTMSG_HEAD + n;
	return 0;
}

int collectmsg_encode(int type, int64_t mtime, const char *path, const char *why,
                      const void *data, size_t dlen, uint8_t *out, size_t outsz)
{
	size_t pl = path != NULL ? strlen(path) : 0, wl = why != NULL ? strlen(why) : 0, n = 0;
	uint8_t *p = out + COLLECTMSG_HEAD;

	switch (type) {
	case COLLECTMSG_FILE:
		if (pl == 0 || pl >= COLLECTMSG_PATH_MAX || mtime < 0)
			return TE_ERR_INVALID;
		n = 8 + pl;
		break;
	case COLLECTMSG_DATA:
		if (dlen == 0 || dlen > COLLECTMSG_DATA_MAX)
			return TE_ERR_INVALID;
		n = dlen;
		break;
	case COLLECTMSG_END_FILE:
	case COLLECTMSG_END:
		break;
	case COLLECTMSG_ABORT:
		if (wl == 0 || wl >= COLLECTMSG_WHY_MAX)
			return TE_ERR_INVALID;
		n = wl;
		break;
	case COLLECTMSG_REFUSED:
		if (pl == 0 || pl >= COLLECTMSG_PATH_MAX || wl == 0 || wl >= COLLECTMSG_WHY_MAX)
			return TE_ERR_INVALID;
		n = 2 + pl + wl;
		break;
	default:
		return TE_ERR_INVALID;
	}
	if (COLLECTMSG_HEAD + n > outsz)
		return TE_ERR_TOO_LONG;
	out[0] = (uint8_t)type;
	collectmsg_put32(out + 1, (uint32_t)n);
	switch (type) {
	case COLLECTMSG_FILE:
		collectmsg_put32(p, (uint32_t)((uint64_t)mtime >> 32));
		collectmsg_put32(p + 4, (uint32_t)mtime);
		memcpy(p + 8, path, pl);
		break;
	case COLLECTMSG_DATA:
		memcpy(p, data, dlen);
		break;
	case COLLECTMSG_ABORT:
		memcpy(p, why, wl);
		break;
	case COLLECTMSG_REFUSED:
		p[0] = (uint8_t)(pl >> 8);
		p[1] = (uint8_t)pl;
		memcpy(p + 2, path, pl);
		memcpy(p + 2 + pl, why, wl);
		break;
	default:
		break;
	}
	return (int)(COLLECTMSG_HEAD + n);
}
