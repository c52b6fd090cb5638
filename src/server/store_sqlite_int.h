/* store_sqlite_int.h: what the SQLite backend's files share (store_sqlite.c
 * and store_anchor.c). Private to src/server's store: callers use store.h. */
#ifndef TETHER_STORE_SQLITE_INT_H
#define TETHER_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
};

/* Log sqlite's message for what; returns TE_ERR_STORE. */
int store_fail(struct store *st, const char *what);
int store_prep(struct store *st, const char *sql, sqlite3_stmt **out);
/* Bind text parameters first..first+n-1 from a NULL-safe array (NULL binds
 * SQL NULL). */
int store_bind_texts(struct store *st, sqlite3_stmt *s, int first,
                     const char *const *v, int n);
/* Step a statement that returns no rows; maps constraint errors to EXISTS. */
int store_step_done(struct store *st, sqlite3_stmt *s);
/* BEGIN IMMEDIATE; store_end commits on rc 0, rolls back otherwise, and
 * returns rc (or the commit error). */
int store_begin(struct store *st);
int store_end(struct store *st, int rc);
/* Append a (NULL: no) audit entry inside the caller's transaction. */
int store_audit_opt(struct store *st, const struct store_audit_entry *a);

#endif
