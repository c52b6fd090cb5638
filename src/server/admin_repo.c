/* admin_repo.c: `tether-server repo publish|keys` (issue 10; docs/updates.md):
 * on the server's host, the administrator adds what a release manager
 * published in a `tether repo` folder (checked by repoimport.h; the running
 * server then signs a new snapshot and timestamp within a second), and
 * hands the release managers the online keys' public halves. */
#include "admin.h"
#include "admin_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "jbody.h"
#include "repoimport.h"
#include "store.h"
#include "tufonline.h"

int admin_repo_publish(const char *dir, const char *src)
{
	char msg[4096], *detail;
	struct srvconf cfg;
	struct store *st = NULL;
	int rc;

	if (admin_open(dir, &cfg, &st) != 0)
		return 1;
	rc = repoimport_run(dir, src, msg, sizeof(msg));
	fprintf(rc == 0 ? stdout : stderr, "%s%s", rc == 0 ? "" : "tether-server: repo publish: "
	        "refused: ", msg);
	detail = jbody_dump(json_pack("{s:s, s:s, s:s}", "source", src, "result",
	                              rc == 0 ? "published" : "refused", "detail", msg));
	if (store_audit_append(st, ADMIN_ACTOR, rc == 0 ? "repo_published" : "repo_refused",
	                       detail != NULL ? detail : "{}") != 0)
		admin_err("warning: could not write the audit record");
	free(detail);
	store_close(st);
	if (rc == 0)
		fprintf(stderr, "tether-server: the running server signs a new snapshot and "
		        "timestamp within a second; clients see the release then\n");
	return rc == 0 ? 0 : 1;
}

int admin_repo_keys(const char *dir)
{
	char err[PATH_MAX + 128];
	json_t *snap = NULL, *ts = NULL;

	if (tufonline_keys_ensure(dir, err, sizeof(err)) != 0) {
		admin_err("repo keys: %s", err);
		return 1;
	}
	if (repoimport_online_keys(dir, &snap, &ts) != 0) {
		admin_err("repo keys: cannot read %s/repo/keys", dir);
		return 1;
	}
	printf("%s/%s\n%s/%s\n", dir, TUFONLINE_SNAPSHOT_PUB, dir, TUFONLINE_TIMESTAMP_PUB);
	fprintf(stderr, "tether-server: give these two public keys to the release managers: "
	        "tether repo init DIR ... --snapshot-key %s/%s --timestamp-key %s/%s\n", dir,
	        TUFONLINE_SNAPSHOT_PUB, dir, TUFONLINE_TIMESTAMP_PUB);
	json_decref(snap);
	json_decref(ts);
	return 0;
}
