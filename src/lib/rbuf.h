/* rbuf.h: the bounded reader. The only way tether reads untrusted bytes.
 * A reader never owns its data and never reads past len; every get returns
 * 0 or a negative te_err and leaves the reader unchanged on error. */
#ifndef TETHER_RBUF_H
#define TETHER_RBUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
	const uint8_t *data;
	size_t len;
	size_t off;
};

/* Fails with TE_ERR_TOO_LONG when len > max. */
int rbuf_init(struct rbuf *r, const void *data, size_t len, size_t max);
size_t rbuf_remaining(const struct rbuf *r);
int rbuf_get_u8(struct rbuf *r, uint8_t *v);
int rbuf_get_u16be(struct rbuf *r, uint16_t *v);
int rbuf_get_u32be(struct rbuf *r, uint32_t *v);
int rbuf_get_bytes(struct rbuf *r, void *out, size_t n);
int rbuf_skip(struct rbuf *r, size_t n);
/* Copy bytes up to (not including) delim into out as a NUL-terminated string
 * and consume the delimiter. TE_ERR_TRUNCATED if no delim is found,
 * TE_ERR_TOO_LONG if the token does not fit in outsz - 1 bytes,
 * TE_ERR_INVALID if the token contains a NUL byte. */
int rbuf_get_token(struct rbuf *r, char delim, char *out, size_t outsz);
/* Everything that remains, as a string (same rules as rbuf_get_token). */
int rbuf_get_rest(struct rbuf *r, char *out, size_t outsz);

#endif
