/* auditcp.h: when the running server has its audit head signed, and how a
 * signed checkpoint is judged against the chain (docs/architecture.md,
 * "audit verify"). */
#ifndef TETHER_SERVER_AUDITCP_H
#define TETHER_SERVER_AUDITCP_H

#include <stdint.h>

#include <openssl/evp.h>

#include "checkpoint.h"

#define AUDITCP_EVERY_RECORDS 16   /* sign once the head moved this many records */
#define AUDITCP_INTERVAL_S    60   /* or this long after the last one, if it moved */

struct server;

/* 1 when a checkpoint of head_seq is due after last (seq 0: none yet);
 * force: whenever the head moved (start and shutdown). Pure. */
int auditcp_due(const struct checkpoint *last, int64_t head_seq, int64_t now, int force);
/* Read the head and, when due, have the signer sign it, store it and keep
 * it in srv->checkpoint for the ping and relay answers. Failures are logged. */
void auditcp_tick(struct server *srv, int force);
/* srv->checkpoint from the store at start (none: seq 0). */
void auditcp_load(struct server *srv);

enum auditcp_finding {
	AUDITCP_OK,
	AUDITCP_BAD_SIGNATURE,   /* not signed by the checkpoint key */
	AUDITCP_BEYOND_HEAD,     /* signed a seq the chain no longer reaches: truncated */
	AUDITCP_HASH_DIFFERS,    /* the record at its seq is not the one signed: edited */
};

/* Judge cp against a chain whose head is head_seq and whose record at
 * cp->seq has hash_at ("" when there is none). Pure but for the signature. */
enum auditcp_finding auditcp_judge(const struct checkpoint *cp, EVP_PKEY *pub,
                                   int64_t head_seq, const char *hash_at);
/* One line saying what a finding means. */
const char *auditcp_finding_text(enum auditcp_finding f);

#endif
