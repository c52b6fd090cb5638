/* collectmsg.h: the frames a collection's reader (`tether-agent
 * collect-read`, run as the support user) writes to the network part on a
 * pipe.
 *
 * Each frame is u8 type, u32 payload length (big-endian), payload:
 *   'F' a file begins: u64 mtime (Unix seconds), then its path
 *   'D' the file's bytes: 1..COLLECTMSG_DATA_MAX of them
 *   'Z' the file ended, whole
 *   'X' the file could not be read to the end: why (text)
 *   'R' a file refused, not read: u16 path length, path, why (text)
 *   'E' the collection is over
 * A path is 1..COLLECTMSG_PATH_MAX-1 bytes, absolute, without NUL; a reason
 * 1..COLLECTMSG_WHY_MAX-1 bytes of displayable text. Anything else is
 * refused whole and ends the reader. */
#ifndef TETHER_COLLECTMSG_H
#define TETHER_COLLECTMSG_H

#include <stddef.h>
#include <stdint.h>

#define COLLECTMSG_HEAD       5
#define COLLECTMSG_DATA_MAX   (64 * 1024)
#define COLLECTMSG_PATH_MAX   1024
#define COLLECTMSG_WHY_MAX    160

enum collectmsg_type {
	COLLECTMSG_FILE = 'F',
	COLLECTMSG_DATA = 'D',
	COLLECTMSG_END_FILE = 'Z',
	COLLECTMSG_ABORT = 'X',
	COLLECTMSG_REFUSED = 'R',
	COLLECTMSG_END = 'E',
};

struct collectmsg {
	int type;
	int64_t mtime;
	char path[COLLECTMSG_PATH_MAX];
	char why[COLLECTMSG_WHY_MAX];
	const uint8_t *data;         /* 'D': points into the buffer parsed */
	size_t len;
};

/* Parse the first frame of buf[0..len): 0 with *used its size,
 * TE_ERR_TRUNCATED when more bytes are needed, else TE_ERR_INVALID /
 * TE_ERR_TOO_LONG. */
int collectmsg_parse(const uint8_t *buf, size_t len, struct collectmsg *out, size_t *used);
/* Encode a frame (payload for 'D', path and why for the others) into out;
 * the length, or a negative te_err when a field breaks its bound. */
int collectmsg_encode(int type, int64_t mtime, const char *path, const char *why,
                      const void *data, size_t dlen, uint8_t *out, size_t outsz);

#endif
