/* store_sqlite_int.h: what the SQLite backend's files share (store_sqlite.c
 * and the store_*.c files beside it). Private to src/server's store: callers use store.h. */
#ifndef TETHER_STORE_SQLITE_INT_H
#define TETHER_STORE_SQLITE_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Prepared statements kept for reuse (store_prep, store_finish): a ping
 * runs the same handful of queries each time, and parsing them again was
 * most of the server's CPU per ping. Direct-mapped by a hash of the SQL
 * text; a collision only costs a prepare, as before. */
#define STORE_STMT_SLOTS 128

struct store_stmt_slot {
	sqlite3_stmt *stmt;
	uint32_t hash;
	int busy;                 /* handed out by store_prep, not yet finished */
};

struct store {
	sqlite3 *db;
	struct store_stmt_slot stmts[STORE_STMT_SLOTS];
	unsigned long failures;   /* database failures so far (store_failures) */
	int last_code;            /* sqlite's primary code of the newest one */
	store_session_hook_fn session_hook;   /* a session's state or relay changed */
	void *session_hook_arg;
};

/* Count a database failure of code (sqlite's result) for store_failures(). */
void store_note_failure(struct store *st, int code);

/* Log sqlite's message for what; returns TE_ERR_STORE. */
int store_fail(struct store *st, const char *what);
/* A prepared statement for sql: a kept one when it is free, else a new
 * one. Every statement store_prep gives must go back through store_finish,
 * never sqlite3_finalize (a kept one would be freed under the cache). */
int store_prep(struct store *st, const char *sql, sqlite3_stmt **out);
/* Done with s (NULL is fine): reset and kept for the next store_prep of
 * its SQL, or finalized. */
void store_finish(struct store *st, sqlite3_stmt *s);
/* Bind text parameters first..first+n-1 from a NULL-safe array (NULL binds
 * SQL NULL). */
int store_bind_texts(struct store *st, sqlite3_stmt *s, int first,
                     const char *const *v, int n);
/* Copy text column col of the current row to out ("" for NULL). */
void store_col(sqlite3_stmt *s, int col, char *out, size_t outsz);
/* Step a statement that returns no rows; maps constraint errors to EXISTS. */
int store_step_done(struct store *st, sqlite3_stmt *s);
/* Run one statement with text parameters 1..n and then int64 parameters
 * n+1..n+ni; *changes (may be NULL) gets the rows changed. */
int store_run(struct store *st, const char *sql, const char *const *t, int n,
              const int64_t *iv, int ni, int *changes);
/* store_run and then the (NULL: no) audit entry in one transaction; when the
 * statement changed no row, none_rc instead (0: that is fine). */
int store_run_audited(struct store *st, const char *sql, const char *const *t, int n,
                      const int64_t *iv, int ni, int none_rc,
                      const struct store_audit_entry *audit);
/* Step s, whose rows have a hash in column 0, and compare every one with hash
 * in constant time, so the index never acts as an oracle: 0 with the match
 * copied, TE_ERR_DENIED when none matched, or a store error logged as what. */
int store_match_hash(struct store *st, sqlite3_stmt *s, const char *hash,
                     char match[SHA256_HEX_BYTES], const char *what);
/* BEGIN IMMEDIATE; store_end commits on rc 0, rolls back otherwise, and
 * returns rc (or the commit error). */
int store_begin(struct store *st);
int store_end(struct store *st, int rc);
/* detail with the origin set by store_audit_set_origin added (malloc'd),
 * or NULL when no origin is set or memory ran out (store_origin.c). */
char *store_audit_with_origin(const char *detail);
/* Append a (NULL: no) audit entry inside the caller's transaction. */
int store_audit_opt(struct store *st, const struct store_audit_entry *a);

#endif
