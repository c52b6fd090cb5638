/* admin_verify.c: `tether-server audit verify`: the hash chain, then each
 * signed checkpoint against it (docs/architecture.md, "audit verify").
 *
 * The chain alone proves only that its records link up: whoever can write
 * the database can cut its end, or edit a record and hash the chain again.
 * A checkpoint signed by the signer's key, which the database's
 * administrator does not hold, pins {seq, hash}: a chain that no longer
 * reaches seq was cut; a record at seq with another hash was edited. What
 * follows the last checkpoint is not covered yet, and the output says how
 * many records that is. A checkpoint kept off the host (a device's or a
 * relay's) is checked with --checkpoint FILE, which also catches the
 * checkpoints table itself being cut. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "admin_int.h"
#include "audit.h"
#include "auditcp.h"
#include "err.h"
#include "signer.h"
#include "store.h"
#include "ticket.h"

struct admin_verify {
	struct store *st;
	EVP_PKEY *pub;
	struct audit_verifier v;
	int64_t head;            /* the chain's last seq */
	int64_t checkpoints;     /* stored checkpoints read */
	int failed;
	struct checkpoint last;  /* the highest one that matched */
};

static int admin_verify_rec(const struct audit_record *rec, void *arg)
{
	struct admin_verify *c = arg;

	(void)audit_verifier_feed(&c->v, rec);
	c->head = rec->seq;
	return 0;
}

static void admin_verify_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* Judge one checkpoint; print a failure naming it. 0 when it matched. */
static int admin_verify_one(struct admin_verify *c, const struct checkpoint *cp,
                            const char *where)
{
	char hash_at[SHA256_HEX_BYTES] = "", when[32];
	enum auditcp_finding f;
	int rc;

	if (cp->seq >= 1 && (rc = store_audit_hash_at(c->st, cp->seq, hash_at)) != 0 &&
	    rc != TE_ERR_NOT_FOUND)
		return rc;
	f = auditcp_judge(cp, c->pub, c->head, hash_at);
	if (f == AUDITCP_OK)
		return 0;
	admin_verify_time(cp->time, when);
	printf("audit: FAILED: %scheckpoint seq %lld signed at %s: %s (chain head: seq %lld)\n",
	       where, (long long)cp->seq, when, auditcp_finding_text(f), (long long)c->head);
	return TE_ERR_CHAIN;
}

static int admin_verify_cp(const struct checkpoint *cp, void *arg)
{
	struct admin_verify *c = arg;
	int rc;

	c->checkpoints++;
	if ((rc = admin_verify_one(c, cp, "")) == TE_ERR_CHAIN)
		c->failed = 1;
	else if (rc != 0)
		return rc;
	else if (cp->seq > c->last.seq)
		c->last = *cp;
	return 0;
}

/* The summary once everything matched: how far a cut could go unseen. */
static void admin_verify_summary(const struct admin_verify *c)
{
	char when[32];

	printf("audit: %lld records, chain intact to seq %lld\n", (long long)c->v.count,
	       (long long)c->head);
	if (c->last.seq == 0) {
		printf("audit: no signed checkpoint yet: a truncation of up to %lld records could"
		       " go undetected\n", (long long)c->head);
		return;
	}
	admin_verify_time(c->last.time, when);
	printf("audit: %lld signed checkpoints match; the last is seq %lld at %s\n",
	       (long long)c->checkpoints, (long long)c->last.seq, when);
	if (c->head > c->last.seq)
		printf("audit: records after seq %lld are not yet covered by a checkpoint: a"
		       " truncation of up to %lld records could go undetected\n",
		       (long long)c->last.seq, (long long)(c->head - c->last.seq));
	else
		printf("audit: every record is covered by a signed checkpoint\n");
}

static int admin_verify_file(struct admin_verify *c, const char *path)
{
	struct checkpoint cp;
	char where[PATH_MAX + 16];
	int rc;

	if ((rc = checkpoint_file_load(path, &cp)) != 0) {
		admin_err("audit verify: cannot read a checkpoint from %s: %s", path, te_strerror(rc));
		return rc;
	}
	snprintf(where, sizeof(where), "%s: ", path);
	if ((rc = admin_verify_one(c, &cp, where)) != 0)
		return rc;
	printf("audit: the checkpoint in %s (seq %lld) matches the chain\n", path,
	       (long long)cp.seq);
	return 0;
}

int admin_audit_verify(const char *dir, const char *checkpoint_file)
{
	struct admin_verify c;
	struct srvconf cfg;
	char path[PATH_MAX + 32];
	int code = 1, rc;

	memset(&c, 0, sizeof(c));
	audit_verifier_init(&c.v);
	if (admin_open(dir, &cfg, &c.st) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", dir, SIGNER_CHECKPOINT_PUB);
	if (access(path, F_OK) == 0 && (rc = ticket_key_load_public(path, &c.pub)) != 0) {
		admin_err("audit verify: cannot load %s: %s", path, te_strerror(rc));
		goto out;
	}
	if (store_audit_each(c.st, admin_verify_rec, &c) != 0) {
		admin_err("audit: could not read the audit table");
		goto out;
	}
	if (c.v.failed) {
		printf("audit: chain broken: %s\n", c.v.why);
		goto out;
	}
	if (c.pub == NULL)
		printf("audit: no %s (a deployment from before checkpoints, not run since):"
		       " checkpoints are not checked\n", path);
	else if (store_checkpoint_each(c.st, admin_verify_cp, &c) != 0) {
		admin_err("audit: could not read the audit_checkpoints table");
		goto out;
	}
	if (checkpoint_file != NULL && (c.pub == NULL || admin_verify_file(&c, checkpoint_file) != 0))
		c.failed = 1;
	if (c.failed)
		goto out;
	admin_verify_summary(&c);
	code = 0;
out:
	EVP_PKEY_free(c.pub);
	store_close(c.st);
	return code;
}
