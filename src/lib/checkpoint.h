/* checkpoint.h: signed checkpoints of the server's audit chain.
 *
 * The server's audit trail is a SHA-256 chain in its database; whoever
 * administers the database could cut its end or edit a record and hash the
 * chain again. A checkpoint is the chain's head {seq, hash} at a time,
 * signed by the server's signer process with the checkpoint key
 * (Ed25519, DIR/audit/checkpoint.key), which the database's administrator
 * does not hold. Devices and relays keep the latest one they were shown.
 *
 * The signature covers this text exactly (decimal integers, '\n' after each
 * line):
 *     tether-audit-checkpoint/1
 *     SERVER
 *     SEQ
 *     HASH
 *     TIME
 * On the wire (the ping and relay event answers, the kept state files):
 *     {"server":"...","seq":N,"hash":"<64 hex>","time":T,"sig":"<128 hex>"}
 */
#ifndef TETHER_CHECKPOINT_H
#define TETHER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "secret.h"

#define CHECKPOINT_SIG_BYTES     64
#define CHECKPOINT_SIG_HEX_BYTES (2 * CHECKPOINT_SIG_BYTES + 1)
#define CHECKPOINT_TAG           "tether-audit-checkpoint/1"

struct checkpoint {
	char server[MAX_NAME_BYTES];      /* the server's public host name */
	int64_t seq;                      /* audit head seq (>= 1) */
	char hash[SHA256_HEX_BYTES];      /* its record hash */
	int64_t time;                     /* unix time it was signed */
	char sig[CHECKPOINT_SIG_HEX_BYTES];
};

/* What a shown checkpoint means against the one a peer holds. */
enum checkpoint_verdict {
	CHECKPOINT_NEWER,     /* nothing held, or a higher seq: keep it */
	CHECKPOINT_SAME,      /* the one held */
	CHECKPOINT_OLDER,     /* a lower seq than held: the trail was cut or rolled back */
	CHECKPOINT_FORK,      /* the held seq with another hash or time: rewritten */
};

/* The signed text into out; TE_ERR_TOO_LONG / TE_ERR_INVALID. */
int checkpoint_message(const struct checkpoint *cp, char *out, size_t outsz);
/* Fill cp->sig over cp's other fields with an Ed25519 key. */
int checkpoint_sign(struct checkpoint *cp, EVP_PKEY *key);
/* 0 when cp->sig verifies under pub; TE_ERR_SIGNATURE otherwise. */
int checkpoint_verify(const struct checkpoint *cp, EVP_PKEY *pub);
/* Strict parse of the wire object: exactly the five members, each bounded.
 * TE_ERR_INVALID otherwise; cp is zeroed first. */
int checkpoint_from_json(const json_t *o, struct checkpoint *cp);
/* The same from text of at most MAX_CHECKPOINT_BYTES. */
int checkpoint_parse(const char *text, size_t len, struct checkpoint *cp);
json_t *checkpoint_to_json(const struct checkpoint *cp);
/* held NULL: nothing held yet. Pure. */
enum checkpoint_verdict checkpoint_compare(const struct checkpoint *held,
                                           const struct checkpoint *shown);
/* The kept checkpoint file: load (TE_ERR_NOT_FOUND when absent) and save
 * (written whole to PATH.tmp, 0600, then renamed). */
int checkpoint_file_load(const char *path, struct checkpoint *cp);
int checkpoint_file_save(const char *path, const struct checkpoint *cp);
/* The same on a file opened read-write before a privilege drop (the relay):
 * an empty file holds nothing (TE_ERR_NOT_FOUND); a save is one pwrite of
 * under a page at offset 0, then ftruncate and fsync. */
int checkpoint_fd_load(int fd, struct checkpoint *cp);
int checkpoint_fd_save(int fd, const struct checkpoint *cp);
/* A peer (device, relay) shown a checkpoint: verify it under pub, compare it
 * with the one held (at path, or on fd when fd >= 0; copied to *held, seq 0
 * when none), and save it there when CHECKPOINT_NEWER. Returns the verdict,
 * or TE_ERR_SIGNATURE when it does not verify, or another te_err when the
 * file cannot be used. */
int checkpoint_keep(EVP_PKEY *pub, const char *path, int fd, const struct checkpoint *shown,
                    struct checkpoint *held);

#endif
