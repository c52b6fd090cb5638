/* audit.h: append-only, hash-chained audit records.
 *
 * Each record's hash is SHA-256 over
 *     seq "\n" ts "\n" actor "\n" action "\n" detail "\n" prev_hash
 * (all as text; seq in decimal; ts as RFC 3339 UTC "2026-11-27T10:00:00Z";
 * prev_hash is 64 zeros for seq 1). Records are numbered from 1 with no gaps.
 * The server keeps its chain in its database (using audit_chain_hash); the
 * agent and the relay keep theirs in a file, one JSON object per line:
 *     {"seq":1,"ts":"...","actor":"...","action":"...","detail":"...",
 *      "prev":"<64 hex>","hash":"<64 hex>"}
 */
#ifndef TETHER_AUDIT_H
#define TETHER_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include "secret.h"

#define AUDIT_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_TS_BYTES 21

struct audit_record {
	int64_t seq;
	char ts[AUDIT_TS_BYTES];
	const char *actor;
	const char *action;
	const char *detail;
	char prev[SHA256_HEX_BYTES];
	char hash[SHA256_HEX_BYTES];
};

/* Current UTC time as RFC 3339 text. */
void audit_now(char out[AUDIT_TS_BYTES]);
/* Compute a record's hash from its fields and prev. */
int audit_chain_hash(int64_t seq, const char *ts, const char *actor,
                     const char *action, const char *detail, const char *prev,
                     char out[SHA256_HEX_BYTES]);

/* Incremental checker, used for both files and database rows: feed records in
 * stored order; the first problem is reported and sticks. */
struct audit_verifier {
	int64_t expect_seq;
	char prev[SHA256_HEX_BYTES];
	int64_t count;
	int failed;
	int64_t bad_seq;     /* seq (or position) of the first bad record */
	char why[160];       /* e.g. "record 7: hash mismatch (edited)" */
};
void audit_verifier_init(struct audit_verifier *v);
/* Returns 0 or TE_ERR_CHAIN (and fills why). */
int audit_verifier_feed(struct audit_verifier *v, const struct audit_record *rec);

/* File-backed log (agent, relay).
 *
 * The handle keeps the head (last seq and hash) and the file size it
 * belongs to, so an append costs the same at any log size: under the
 * exclusive lock it compares the size on disk with the one it last saw and
 * reads only what other processes appended since (verifying that it
 * continues the chain), never the whole file. Full verification happens at
 * open and in audit_file_verify.
 *
 * A failure that leaves the file in a state the handle cannot vouch for (a
 * failed fsync, a write that could not be undone, the file shrinking,
 * replaced or removed under it, records from another process that do not
 * continue the chain) makes the handle broken: every later append fails
 * with the same error and audit_log_why() says why, until the owner opens
 * the log again (a restart). A write refused cleanly (ENOSPC, EFBIG) is
 * undone (ftruncate back to the last record) and only that append fails. */
struct audit_log;

#define AUDIT_WHY_BYTES 192

/* What audit_log_open_recover found. */
struct audit_open_report {
	uint64_t dropped_bytes;              /* 0: nothing was cut off */
	int64_t after_seq;                   /* the last good record's seq */
	char dropped_sha256[SHA256_HEX_BYTES];
	char why[AUDIT_WHY_BYTES];           /* why the open failed, or what was cut */
};

/* Opens or creates (0600, a regular file, no symlink). Verifies the whole
 * existing chain. A torn last line (power cut during an append: no newline
 * at the end, or a last line that does not parse, at most one record long)
 * is cut off (ftruncate to the end of the last good record, fsync), and an
 * "audit_recovered" record by actor is appended whose detail says what was
 * dropped: {"dropped_bytes":N,"dropped_sha256":"<hex>","after_seq":S,
 * "why":"..."}. Anything else that breaks the chain (an edited, deleted or
 * reordered record anywhere, or a last line that parses but does not
 * chain) is refused with TE_ERR_CHAIN and nothing is changed. rep may be
 * NULL. */
int audit_log_open_recover(const char *path, const char *actor,
                           struct audit_log **out, struct audit_open_report *rep);
/* The same, strict: a torn last line is refused as TE_ERR_CHAIN too. */
int audit_log_open(const char *path, struct audit_log **out);
/* Append one record and fsync. detail is free text (often JSON). A handle
 * used in a process forked after the open reopens the file by its path on
 * first use (flock locks belong to the open file, which parent and child
 * would otherwise share) and keeps its cached head. */
int audit_log_append(struct audit_log *log, const char *actor,
                     const char *action, const char *detail);
/* Why the last append failed, or why the handle is broken ("" when the
 * last append worked). */
const char *audit_log_why(const struct audit_log *log);
/* Nonzero once the handle is broken (see above). */
int audit_log_broken(const struct audit_log *log);
/* Bytes this handle has read from the file since it was opened: tests use
 * it to show that an append reads nothing, or only what others appended. */
uint64_t audit_log_bytes_read(const struct audit_log *log);
void audit_log_close(struct audit_log *log);
/* Verify a file: 0 when intact; TE_ERR_CHAIN with v->why otherwise (a
 * torn last line says so: the next open with recovery cuts it off). */
int audit_file_verify(const char *path, struct audit_verifier *v);
/* Parse one file line into rec (strings point into buf, which is modified). */
int audit_parse_line(char *buf, size_t len, struct audit_record *rec);
/* The head (last record's seq and hash) of the log open read-only on fd,
 * reading at most MAX_AUDIT_LINE_BYTES + 1 bytes from its end; the chain is
 * not verified. An empty file is seq 0 with AUDIT_GENESIS_HASH; a last line
 * that is cut short, over-long or unparseable is TE_ERR_CHAIN. On any error
 * *seq and hash are left as for an empty file. Takes no lock: a caller that
 * shares the file with writers holds LOCK_SH on fd around the call. */
int audit_fd_head(int fd, int64_t *seq, char hash[SHA256_HEX_BYTES]);

#endif
