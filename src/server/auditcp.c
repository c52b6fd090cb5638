/* auditcp.c: signed checkpoints of the server's audit head (auditcp.h). */
#include "auditcp.h"

#include <string.h>

#include "err.h"
#include "log.h"
#include "server.h"
#include "signer.h"
#include "store.h"

int auditcp_due(const struct checkpoint *last, int64_t head_seq, int64_t now, int force)
{
	if (head_seq <= last->seq)
		return 0;
	if (force || last->seq == 0)
		return 1;
	return head_seq - last->seq >= AUDITCP_EVERY_RECORDS ||
	       now - last->time >= AUDITCP_INTERVAL_S;
}

void auditcp_tick(struct server *srv, int force)
{
	char hash[SHA256_HEX_BYTES];
	struct checkpoint cp;
	int64_t seq;
	int rc;

	if ((rc = store_audit_head(srv->store, &seq, hash)) != 0) {
		log_error("audit checkpoint: cannot read the audit head: %s", te_strerror(rc));
		return;
	}
	if (!auditcp_due(&srv->checkpoint, seq, server_now(), force))
		return;
	/* After a refusal, try again a period later, not every second. */
	if (!force && srv->checkpoint_failed_at != 0 &&
	    server_now() - srv->checkpoint_failed_at < AUDITCP_INTERVAL_S)
		return;
	if ((rc = signer_checkpoint(srv->signer, seq, hash, &cp)) != 0) {
		log_error("audit checkpoint: the signer did not sign seq %lld: %s%s", (long long)seq,
		          te_strerror(rc), rc == TE_ERR_TOO_LONG ? " (public_host must be under 64"
		          " characters: it names the server in each checkpoint)" : "");
		srv->checkpoint_failed_at = server_now();
		return;
	}
	srv->checkpoint_failed_at = 0;
	if ((rc = store_checkpoint_add(srv->store, &cp)) != 0 && rc != TE_ERR_EXISTS)
		log_error("audit checkpoint: cannot store seq %lld: %s", (long long)seq,
		          te_strerror(rc));
	srv->checkpoint = cp;
	log_debug("audit checkpoint: seq %lld signed", (long long)seq);
}

void auditcp_load(struct server *srv)
{
	char hash[SHA256_HEX_BYTES];
	int64_t seq = 0;
	int rc;

	memset(&srv->checkpoint, 0, sizeof(srv->checkpoint));
	if ((rc = store_checkpoint_latest(srv->store, &srv->checkpoint)) != 0) {
		memset(&srv->checkpoint, 0, sizeof(srv->checkpoint));
		if (rc != TE_ERR_NOT_FOUND)
			log_error("audit checkpoint: cannot read the latest: %s", te_strerror(rc));
		return;
	}
	/* Said at once: the devices and relays will say it too. */
	if (store_audit_head(srv->store, &seq, hash) == 0 && seq < srv->checkpoint.seq) {
		log_error("audit trail: the chain ends at seq %lld but seq %lld was signed at %lld:"
		          " records were deleted (run tether-server audit verify)", (long long)seq,
		          (long long)srv->checkpoint.seq, (long long)srv->checkpoint.time);
		server_audit(srv, "server", "audit_truncated", json_pack("{s:I, s:I, s:I}",
		             "head_seq", (json_int_t)seq, "checkpoint_seq",
		             (json_int_t)srv->checkpoint.seq, "checkpoint_time",
		             (json_int_t)srv->checkpoint.time));
		memset(&srv->checkpoint, 0, sizeof(srv->checkpoint));
	}
}

enum auditcp_finding auditcp_judge(const struct checkpoint *cp, EVP_PKEY *pub,
                                   int64_t head_seq, const char *hash_at)
{
	if (checkpoint_verify(cp, pub) != 0)
		return AUDITCP_BAD_SIGNATURE;
	if (cp->seq > head_seq || hash_at[0] == '\0')
		return AUDITCP_BEYOND_HEAD;
	if (strcmp(cp->hash, hash_at) != 0)
		return AUDITCP_HASH_DIFFERS;
	return AUDITCP_OK;
}

const char *auditcp_finding_text(enum auditcp_finding f)
{
	switch (f) {
	case AUDITCP_OK:
		return "matches the chain";
	case AUDITCP_BAD_SIGNATURE:
		return "its signature does not verify with audit/checkpoint.pub (forged or damaged)";
	case AUDITCP_BEYOND_HEAD:
		return "the chain no longer reaches its seq: records were deleted (truncation)";
	case AUDITCP_HASH_DIFFERS:
		return "the record at its seq is not the one signed: the trail was edited and"
		       " re-hashed";
	}
	return "unknown";
}
