/* signmsg.h: the messages between the HTTP process and the signer process
 * (signer.h), and their codec.
 *
 * One message per SOCK_SEQPACKET datagram:
 *     u32 type | u32 payload length | payload
 * (big-endian). The length must equal what was received, and each type has
 * a minimum and a maximum payload size (signmsg_parse checks both); fields
 * inside a payload are u64 integers and u16-length-prefixed strings or byte
 * strings, read through a bounded reader that fails on any overrun, on a
 * string longer than its destination or with a NUL inside, and on bytes
 * left over. Nothing is trusted from the other side: the signer decides
 * every policy (ticket times and nonce, certificate role, name and days). */
#ifndef TETHER_SERVER_SIGNMSG_H
#define TETHER_SERVER_SIGNMSG_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "actenv.h"
#include "checkpoint.h"
#include "store.h"
#include "totp.h"

#define SIGNMSG_HDR_BYTES 8

enum signmsg_type {
	SIGNMSG_ERROR = 1,           /* reply: i64 te_err */
	SIGNMSG_TICKET,              /* struct signmsg_ticket */
	SIGNMSG_TICKET_OK,           /* str ticket text */
	SIGNMSG_CERT,                /* str serial, str CSR PEM */
	SIGNMSG_CERT_OK,             /* str leaf certificate PEM */
	SIGNMSG_TOTP_NEW,            /* empty */
	SIGNMSG_TOTP_NEW_OK,         /* bytes secret, str sealed box */
	SIGNMSG_TOTP_CHECK,          /* str box, str code, u64 last step (the signer's clock) */
	SIGNMSG_TOTP_CHECK_OK,       /* i64 te_err of totp_verify, u64 matched step */
	SIGNMSG_CHECKPOINT,          /* u64 seq, str hash */
	SIGNMSG_CHECKPOINT_OK,       /* str checkpoint JSON */
	SIGNMSG_ACTIVITY,            /* str id, device, kind, name, input, u64 not after */
	SIGNMSG_ACTIVITY_OK,         /* str envelope (actenv.h) */
	SIGNMSG_TUF_SNAPSHOT,        /* u64 version, expires, n, then n x (str role, u64 version) */
	SIGNMSG_TUF_TIMESTAMP,       /* u64 version, expires, snapshot version, length, str sha256 */
	SIGNMSG_TUF_OK,              /* str the signed document (tufonline.h) */
	SIGNMSG_TYPE_END
};

/* A ticket request: what the session was granted. The signer adds the
 * issue time, the TICKET_TTL_S expiry and the nonce itself. */
struct signmsg_ticket {
	char session[MAX_NAME_BYTES];
	char device[MAX_NAME_BYTES];
	char user[MAX_NAME_BYTES];
	char relay[MAX_NAME_BYTES];
	int64_t leg;
	int64_t end_at;
	int64_t idle_s;
	char actions[MAX_ACTIONS_BYTES];
	int64_t conn;        /* the connection number (ticket.h "cn"); 0: the first */
};

struct signmsg_totp_check {
	char box[STORE_BOX_BYTES];
	char code[TOTP_CODE_BYTES];
	int64_t last_step;
};

/* A message under construction; err sticks at the first failure. */
struct signmsg_wr {
	uint8_t buf[MAX_SIGNMSG_BYTES];
	size_t len;
	int err;
};

/* The payload of a received message, read front to back. */
struct signmsg_rd {
	const uint8_t *p;
	size_t left;
	int err;
};

void signmsg_begin(struct signmsg_wr *w, enum signmsg_type type);
void signmsg_put_u64(struct signmsg_wr *w, uint64_t v);
void signmsg_put_bytes(struct signmsg_wr *w, const void *p, size_t n);
void signmsg_put_str(struct signmsg_wr *w, const char *s);
/* Fill in the length; 0 or the first error (TE_ERR_TOO_LONG, or a payload
 * outside its type's bounds: TE_ERR_INVALID). */
int signmsg_end(struct signmsg_wr *w);

/* Check a received datagram: header, length, known type, the type's
 * bounds. On success *type and rd over the payload. */
int signmsg_parse(const uint8_t *buf, size_t len, enum signmsg_type *type,
                  struct signmsg_rd *rd);
uint64_t signmsg_get_u64(struct signmsg_rd *rd);
/* A string into out (NUL-terminated, at most outsz - 1 bytes, no NUL). */
void signmsg_get_str(struct signmsg_rd *rd, char *out, size_t outsz);
/* A byte string of at most outsz bytes into out, its length in *n. */
void signmsg_get_bytes(struct signmsg_rd *rd, uint8_t *out, size_t outsz, size_t *n);
/* 0 when everything read fitted and nothing is left over. */
int signmsg_done(const struct signmsg_rd *rd);

/* Typed encoders and decoders for the requests with several fields. */
int signmsg_ticket_encode(struct signmsg_wr *w, const struct signmsg_ticket *t);
int signmsg_ticket_decode(struct signmsg_rd *rd, struct signmsg_ticket *t);
int signmsg_totp_check_encode(struct signmsg_wr *w, const struct signmsg_totp_check *c);
int signmsg_totp_check_decode(struct signmsg_rd *rd, struct signmsg_totp_check *c);

#endif
