/* err.h: tether's error codes. Functions return 0 or one of these (negative). */
#ifndef TETHER_ERR_H
#define TETHER_ERR_H

enum te_err {
	TE_OK = 0,
	TE_ERR_NOMEM = -1,       /* allocation failed */
	TE_ERR_INVALID = -2,     /* malformed input */
	TE_ERR_TOO_LONG = -3,    /* input exceeds its bound */
	TE_ERR_TRUNCATED = -4,   /* input ended early */
	TE_ERR_SYS = -5,         /* system call failed; see errno */
	TE_ERR_CRYPTO = -6,      /* OpenSSL or libsodium failed */
	TE_ERR_SIGNATURE = -7,   /* signature does not verify */
	TE_ERR_EXPIRED = -8,     /* past its expiry */
	TE_ERR_MISMATCH = -9,    /* valid, but bound to something else */
	TE_ERR_NOT_FOUND = -10,  /* no such record, key or file */
	TE_ERR_EXISTS = -11,     /* already present */
	TE_ERR_DENIED = -12,     /* not permitted */
	TE_ERR_REPLAY = -13,     /* single-use item used again */
	TE_ERR_CHAIN = -14,      /* audit chain broken */
	TE_ERR_TIMEOUT = -15,    /* gave up waiting */
	TE_ERR_IO = -16,         /* read, write or connect failed */
	TE_ERR_TLS = -17,        /* TLS handshake or verification failed */
	TE_ERR_PROTOCOL = -18,   /* peer broke the protocol */
	TE_ERR_STORE = -19,      /* database failed */
	TE_ERR_LOCKED = -20,     /* locked after repeated failures */
};

/* Human-readable text for a te_err value; never NULL. */
const char *te_strerror(int err);

#endif
