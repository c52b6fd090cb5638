/* store_files.c: the index of data files collected from devices
 * (migration 19); the bytes are under DIR/files/blobs (api_files.c). */
#include "store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define STORE_FILE_COLS "id, device, collection, path, size, sha256, mtime, collected_at," \
	" stored_at, refused, activity"

static void store_file_row(sqlite3_stmt *s, struct store_file *f)
{
	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(s, 0);
	store_col(s, 1, f->device, sizeof(f->device));
	store_col(s, 2, f->collection, sizeof(f->collection));
	store_col(s, 3, f->path, sizeof(f->path));
	f->size = sqlite3_column_int64(s, 4);
	store_col(s, 5, f->sha256, sizeof(f->sha256));
	f->mtime = sqlite3_column_int64(s, 6);
	f->collected_at = sqlite3_column_int64(s, 7);
	f->stored_at = sqlite3_column_int64(s, 8);
	store_col(s, 9, f->refused, sizeof(f->refused));
	store_col(s, 10, f->activity, sizeof(f->activity));
}

int store_file_add(struct store *st, struct store_file *f)
{
	const char *t[] = { f->device, f->collection, f->path, f->sha256, f->refused,
	                    f->activity };
	int64_t iv[] = { f->size, f->mtime, f->collected_at, f->stored_at };
	int rc;

	rc = store_run(st, "INSERT INTO device_files(device, collection, path, sha256, refused,"
	                   " activity, size, mtime, collected_at, stored_at) VALUES (?1, ?2, ?3,"
	                   " ?4, ?5, ?6, ?7, ?8, ?9, ?10)", t, 6, iv, 4, NULL);
	if (rc == 0)
		f->id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

static int store_file_one(struct store *st, sqlite3_stmt *s, struct store_file *out)
{
	int rc = 0, step = sqlite3_step(s);

	if (step == SQLITE_ROW)
		store_file_row(s, out);
	else
		rc = step == SQLITE_DONE ? TE_ERR_NOT_FOUND : store_fail(st, "reading a file's record");
	store_finish(st, s);
	return rc;
}

int store_file_find(struct store *st, const char *device, const char *collection,
                    const char *path, int64_t collected_at, struct store_file *out)
{
	const char *t[] = { device, collection, path };
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT " STORE_FILE_COLS " FROM device_files WHERE device = ?1"
	                         " AND collection = ?2 AND path = ?3 AND collected_at = ?4",
	                     &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, t, 3)) != 0) {
		store_finish(st, s);
		return rc;
	}
	sqlite3_bind_int64(s, 4, collected_at);
	return store_file_one(st, s, out);
}

int store_file_get(struct store *st, int64_t id, struct store_file *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT " STORE_FILE_COLS " FROM device_files WHERE id = ?",
	                     &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	return store_file_one(st, s, out);
}

static int store_file_rows(struct store *st, sqlite3_stmt *s, store_file_cb cb, void *arg)
{
	struct store_file *f = malloc(sizeof(*f));
	int rc = 0, step;

	if (f == NULL) {
		store_finish(st, s);
		return TE_ERR_NOMEM;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		store_file_row(s, f);
		if ((rc = cb(f, arg)) != 0)
			break;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = store_fail(st, "reading files");
	store_finish(st, s);
	free(f);
	return rc;
}

int store_file_each_for_device(struct store *st, const char *device, store_file_cb cb,
                               void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT " STORE_FILE_COLS " FROM device_files WHERE device = ?"
	                         " ORDER BY id DESC LIMIT 500", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &device, 1)) != 0) {
		store_finish(st, s);
		return rc;
	}
	return store_file_rows(st, s, cb, arg);
}

int store_file_each_for_activity(struct store *st, const char *activity, store_file_cb cb,
                                 void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_prep(st, "SELECT " STORE_FILE_COLS " FROM device_files WHERE activity = ?"
	                         " ORDER BY id LIMIT 1000", &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &activity, 1)) != 0) {
		store_finish(st, s);
		return rc;
	}
	return store_file_rows(st, s, cb, arg);
}

int store_file_device_bytes(struct store *st, const char *device, int64_t *bytes)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*bytes = 0;
	if ((rc = store_prep(st, "SELECT coalesce(sum(size), 0) FROM (SELECT DISTINCT sha256,"
	                         " size FROM device_files WHERE device = ? AND refused = '')",
	                     &s)) != 0)
		return rc;
	if ((rc = store_bind_texts(st, s, 1, &device, 1)) == 0) {
		if ((step = sqlite3_step(s)) == SQLITE_ROW)
			*bytes = sqlite3_column_int64(s, 0);
		else
			rc = store_fail(st, "summing a device's files");
	}
	store_finish(st, s);
	return rc;
}

int store_file_prune(struct store *st, int64_t keep_from, store_file_cb cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int64_t iv[] = { keep_from };
	int rc;

	if ((rc = store_prep(st, "SELECT " STORE_FILE_COLS " FROM device_files WHERE"
	                         " stored_at < ? ORDER BY id LIMIT 1000", &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, keep_from);
	if ((rc = store_file_rows(st, s, cb, arg)) != 0)
		return rc;
	return store_run(st, "DELETE FROM device_files WHERE id IN (SELECT id FROM device_files"
	                     " WHERE stored_at < ?1 ORDER BY id LIMIT 1000)", NULL, 0, iv, 1, NULL);
}

int store_file_sha_used(struct store *st, const char *sha256)
{
	sqlite3_stmt *s = NULL;
	int rc, used = 0;

	if (store_prep(st, "SELECT 1 FROM device_files WHERE sha256 = ? LIMIT 1", &s) != 0)
		return 1;                        /* when in doubt, keep the blob */
	if ((rc = store_bind_texts(st, s, 1, &sha256, 1)) == 0)
		used = sqlite3_step(s) != SQLITE_DONE;
	store_finish(st, s);
	return rc != 0 || used;
}

int store_file_device_has(struct store *st, const char *device, const char *sha256)
{
	const char *t[] = { device, sha256 };
	sqlite3_stmt *s = NULL;
	int rc, has = 0;

	if (store_prep(st, "SELECT 1 FROM device_files WHERE device = ?1 AND sha256 = ?2 LIMIT 1",
	               &s) != 0)
		return 0;
	if ((rc = store_bind_texts(st, s, 1, t, 2)) == 0)
		has = sqlite3_step(s) == SQLITE_ROW;
	store_finish(st, s);
	return rc == 0 && has;
}
