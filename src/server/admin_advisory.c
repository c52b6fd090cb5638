/* admin_advisory.c: `tether-server advisories import FILE` (issue 10,
 * section 6; docs/updates.md): OSV advisories from a file the
 * administrator brought (no network at run time), each checked (lib osv.h)
 * before any is kept, so a file is taken whole or not at all. */
#include "admin.h"
#include "admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "err.h"
#include "filerepl.h"
#include "jbody.h"
#include "osv.h"
#include "store.h"

#define ADVISORY_FILE_MAX   (64 * 1024 * 1024)
#define ADVISORY_MAX_COUNT  100000

/* The file's advisories as an array: one object, an array, or JSON lines. */
static json_t *admin_advisory_list(const char *text, size_t len, char *why, size_t whysz)
{
	json_error_t e;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e), *arr;
	const char *p = text, *nl;

	if (j != NULL) {
		if (json_is_array(j))
			return j;
		arr = json_array();
		json_array_append_new(arr, j);
		return arr;
	}
	arr = json_array();
	for (int line = 1; p < text + len; line++, p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(text + len - p))) == NULL)
			nl = text + len;
		if (nl == p || (nl - p == 1 && *p == '\r'))
			continue;
		if ((j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &e)) == NULL) {
			snprintf(why, whysz, "line %d: not JSON (%s): the file must be one OSV "
			         "advisory, an array of them, or one per line", line, e.text);
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, j);
	}
	return arr;
}

int admin_advisories_import(const char *dir, const char *file)
{
	char why[512], *text = NULL, *body;
	struct srvconf cfg;
	struct store *st = NULL;
	struct osv *a = malloc(sizeof(*a));
	json_t *list = NULL, *x;
	size_t len = 0, i;
	int rc, code = 1;

	if (a == NULL)
		return 1;
	if ((rc = file_read_all(file, ADVISORY_FILE_MAX, &text, &len)) != 0) {
		admin_err("advisories import: cannot read %s: %s", file, rc == TE_ERR_TOO_LONG ?
		          "not a regular file of at most 64 MiB" : te_strerror(rc));
		goto out;
	}
	if ((list = admin_advisory_list(text, len, why, sizeof(why))) == NULL) {
		admin_err("advisories import: %s: %s; nothing imported", file, why);
		goto out;
	}
	if (json_array_size(list) == 0 || json_array_size(list) > ADVISORY_MAX_COUNT) {
		admin_err("advisories import: %s holds %zu advisories (1 to %d); nothing imported",
		          file, json_array_size(list), ADVISORY_MAX_COUNT);
		goto out;
	}
	json_array_foreach(list, i, x) {
		char *one = json_dumps(x, JSON_COMPACT);
		size_t n = one != NULL ? strlen(one) : 0;

		free(one);
		if (n > OSV_MAX_BYTES || osv_from_json(x, a, why, sizeof(why)) != 0) {
			admin_err("advisories import: %s: advisory %zu: %s; nothing imported", file, i + 1,
			          n > OSV_MAX_BYTES ? "larger than 64 KiB" : why);
			goto out;
		}
	}
	if (admin_open(dir, &cfg, &st) != 0)
		goto out;
	json_array_foreach(list, i, x) {
		(void)osv_from_json(x, a, why, sizeof(why));
		if ((body = json_dumps(x, JSON_COMPACT)) == NULL ||
		    store_advisory_put(st, a->id, a->modified, body, (int64_t)time(NULL)) != 0) {
			free(body);
			admin_err("advisories import: cannot keep %s; run it again (each id is kept "
			          "once, the newest import wins)", a->id);
			goto out;
		}
		free(body);
	}
	body = jbody_dump(json_pack("{s:s, s:I}", "file", file, "count",
	                            (json_int_t)json_array_size(list)));
	if (store_audit_append(st, ADMIN_ACTOR, "advisories_imported", body != NULL ? body : "{}") != 0)
		admin_err("warning: could not write the audit record");
	free(body);
	printf("%zu advisories imported from %s\n", json_array_size(list), file);
	code = 0;
out:
	store_close(st);
	json_decref(list);
	free(text);
	free(a);
	return code;
}
