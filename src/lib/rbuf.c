/* rbuf.c: the bounded reader. */
#include "rbuf.h"

#include <string.h>

#include "err.h"

int rbuf_init(struct rbuf *r, const void *data, size_t len, size_t max)
{
	if (r == NULL || (data == NULL && len > 0))
		return TE_ERR_INVALID;
	if (len > max)
		return TE_ERR_TOO_LONG;
	r->data = data;
	r->len = len;
	r->off = 0;
	return 0;
}

size_t rbuf_remaining(const struct rbuf *r)
{
	return r->len - r->off;
}

int rbuf_get_bytes(struct rbuf *r, void *out, size_t n)
{
	if (rbuf_remaining(r) < n)
		return TE_ERR_TRUNCATED;
	if (n > 0)
		memcpy(out, r->data + r->off, n);
	r->off += n;
	return 0;
}

int rbuf_skip(struct rbuf *r, size_t n)
{
	if (rbuf_remaining(r) < n)
		return TE_ERR_TRUNCATED;
	r->off += n;
	return 0;
}

int rbuf_get_u8(struct rbuf *r, uint8_t *v)
{
	return rbuf_get_bytes(r, v, 1);
}

int rbuf_get_u16be(struct rbuf *r, uint16_t *v)
{
	uint8_t b[2];
	int rc;

	if ((rc = rbuf_get_bytes(r, b, sizeof(b))) != 0)
		return rc;
	*v = (uint16_t)((b[0] << 8) | b[1]);
	return 0;
}

int rbuf_get_u32be(struct rbuf *r, uint32_t *v)
{
	uint8_t b[4];
	int rc;

	if ((rc = rbuf_get_bytes(r, b, sizeof(b))) != 0)
		return rc;
	*v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
	     ((uint32_t)b[2] << 8) | (uint32_t)b[3];
	return 0;
}

/* Copy n bytes at the cursor into out as a string, checking the bounds and
 * rejecting embedded NULs (they would silently shorten the token). */
static int rbuf_copy_str(const struct rbuf *r, size_t n, char *out, size_t outsz)
{
	if (out == NULL || outsz == 0 || n > outsz - 1)
		return TE_ERR_TOO_LONG;
	if (n > 0 && memchr(r->data + r->off, '\0', n) != NULL)
		return TE_ERR_INVALID;
	if (n > 0)
		memcpy(out, r->data + r->off, n);
	out[n] = '\0';
	return 0;
}

int rbuf_get_token(struct rbuf *r, char delim, char *out, size_t outsz)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if (rbuf_remaining(r) == 0)
		return TE_ERR_TRUNCATED;
	p = memchr(r->data + r->off, (unsigned char)delim, rbuf_remaining(r));
	if (p == NULL)
		return TE_ERR_TRUNCATED;
	n = (size_t)(p - (r->data + r->off));
	if ((rc = rbuf_copy_str(r, n, out, outsz)) != 0)
		return rc;
	r->off += n + 1;
	return 0;
}

int rbuf_get_rest(struct rbuf *r, char *out, size_t outsz)
{
	size_t n = rbuf_remaining(r);
	int rc;

	if ((rc = rbuf_copy_str(r, n, out, outsz)) != 0)
		return rc;
	r->off += n;
	return 0;
}
