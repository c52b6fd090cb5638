/* signer.h: the server's key-holding process (docs/security.md).
 *
 * As relayd's ca process: `tether-server run` forks the signer before it
 * loads anything else. The signer alone loads and holds the Ed25519 ticket
 * key, the issuing CA key, the TOTP sealing key (DIR/mfa/totp.key) and the
 * audit checkpoint key (DIR/audit/checkpoint.key), drops to the server's
 * `user` as well, and answers size-checked requests (signmsg.h) over a
 * SOCK_SEQPACKET socketpair. The HTTP process never opens those files.
 *
 * The signer decides the policy of what it signs: a ticket's issue time,
 * TICKET_TTL_S expiry and nonce; a certificate's role (device), name (the
 * serial asked for, checked), and SIGNER_CERT_DAYS; a checkpoint's time and
 * server name, and never a checkpoint below one it signed already.
 *
 * A malformed message ends the signer (its one peer broke the protocol);
 * a signer that is gone makes every call fail with TE_ERR_IO and calls the
 * dead callback once: the server stops (fail closed). */
#ifndef TETHER_SERVER_SIGNER_H
#define TETHER_SERVER_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "checkpoint.h"
#include "signmsg.h"
#include "srvconf.h"
#include "tufonline.h"

#define SIGNER_CERT_DAYS       365    /* device certificates issued at enrollment */
#define SIGNER_REPLY_TIMEOUT_MS 5000  /* a signer that does not answer is dead */
#define SIGNER_CHECKPOINT_KEY  "audit/checkpoint.key"
#define SIGNER_CHECKPOINT_PUB  "audit/checkpoint.pub"

struct signer;

/* Fork the signer for the deployment cfg describes. Call before anything
 * else is opened: the child closes every descriptor but its socket and
 * stdio. Returns 0 once the signer said it loaded its keys. */
int signer_start(const struct srvconf *cfg, struct signer **out);
/* Close the socket (the signer then exits) and reap it. NULL-safe. */
void signer_free(struct signer *s);
/* Called once, from the failing call or signer_check, when the signer is
 * gone or broke the protocol. */
void signer_on_dead(struct signer *s, void (*cb)(void *arg), void *arg);
/* Reap without blocking: 0 while the signer runs, else TE_ERR_IO (and the
 * dead callback). */
int signer_check(struct signer *s);
pid_t signer_pid(const struct signer *s);

int signer_ticket(struct signer *s, const struct signmsg_ticket *t, char *out, size_t outsz);
/* A device certificate for serial from csr_pem; *pem malloc'd. */
int signer_cert(struct signer *s, const char *serial, const char *csr_pem, char **pem);
/* A fresh TOTP secret, and it sealed. */
int signer_totp_new(struct signer *s, uint8_t secret[TOTP_SECRET_BYTES],
                    char box[STORE_BOX_BYTES]);
/* totp_verify against the sealed secret, inside the signer on its own
 * clock. 0 when the signer checked: *verdict is totp_verify's result (0,
 * TE_ERR_DENIED, TE_ERR_REPLAY, TE_ERR_INVALID) and *matched its step. Else
 * the secret could not be opened or the signer not asked. */
int signer_totp_check(struct signer *s, const char *box, const char *code,
                      int64_t last_step, int *verdict, int64_t *matched);
/* An activity envelope (actenv.h) for e's id, device, kind, name and
 * input, to expire at e->expires_at; the signer sets the issue time and
 * nonce and refuses an expiry that is past or more than ACTENV_MAX_TTL_S
 * ahead. */
int signer_activity(struct signer *s, const struct actenv *e, char *out, size_t outsz);
/* The repository's snapshot and timestamp, built and signed by the signer
 * (tufonline.h): the document's text into *doc (malloc'd). */
int signer_tuf_snapshot(struct signer *s, int64_t version, int64_t expires,
                        const struct tufonline_role *roles, size_t n, char **doc);
int signer_tuf_timestamp(struct signer *s, int64_t version, int64_t expires,
                         int64_t snap_version, int64_t snap_len, const char *snap_sha256,
                         char **doc);
int signer_checkpoint(struct signer *s, int64_t seq, const char *hash, struct checkpoint *out);

/* Make DIR/audit (0700) and the checkpoint key pair when missing (`init`,
 * and the signer at start). */
int signer_checkpoint_key_ensure(const char *dir, char *errbuf, size_t errsz);

#endif
