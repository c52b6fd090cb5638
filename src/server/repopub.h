/* repopub.h: a release manager publishes through the API (issue 10;
 * docs/updates.md "Publishing", docs/protocol.md "Repository"): `tether
 * repo publish DIR` uploads what `tether repo` made offline, and the
 * server checks it exactly as `tether-server repo publish` does
 * (repoimport.h) before a device can see any of it.
 *
 * A publication lives in DIR/repo/incoming/ID (made and opened while
 * root, given to the config's user; emptied at every start):
 *   1. POST   /api/v1/repo/publications            a new one, {"id"}
 *   2. PUT    /api/v1/repo/publications/ID?path=P&size=S&offset=N
 *             raw chunks of metadata/N.root.json, metadata/ROLE.json, and
 *             of targets/NAME: only a NAME an uploaded role lists, of the
 *             length it declares, and only while the disk keeps a reserve
 *   3. GET    /api/v1/repo/publications/ID         its state; while
 *             uploading, the targets it still needs (the roles list them
 *             and the server keeps no intact copy yet)
 *   4. POST   /api/v1/repo/publications/ID/publish the import, on a thread
 *             of its own so that the loop keeps serving while the files
 *             are hashed; GET then says published or refused, and why.
 * Each step needs repo:publish, and a publication is seen only by the user
 * who made it. The outcome is audited repo_published or repo_refused with
 * that user as the actor. Nothing uploaded is trusted: the import checks
 * every signature, threshold, delegation, version and hash, and a refused
 * publication changes nothing a client fetches. One import runs at a
 * time (409 busy, with Retry-After, for another). */
#ifndef TETHER_SERVER_REPOPUB_H
#define TETHER_SERVER_REPOPUB_H

#include <stdint.h>

#include "http.h"
#include "tuf.h"

#define REPOPUB_OPEN_MAX      8                /* being uploaded or checked at once */
#define REPOPUB_OPEN_USER_MAX 2                /* of them, one user's */
#define REPOPUB_DONE_MAX      32               /* results kept (each REPOPUB_KEEP_S) */
#define REPOPUB_META_MAX      1024             /* metadata files in one */
#define REPOPUB_BYTES_MAX     (16LL << 30)     /* all of one publication's uploads */
#define REPOPUB_RESERVE_BYTES (256LL << 20)    /* free space a new file must leave */
#define REPOPUB_IDLE_S        3600             /* an upload untouched this long is dropped */
#define REPOPUB_KEEP_S        600              /* a result stays readable this long */
#define REPOPUB_NEED_MAX      500              /* targets one answer names */
#define REPOPUB_ALLOWED_MAX   40000            /* target names the uploaded roles list */
#define REPOPUB_CHUNK_BYTES   (192 * 1024)     /* a raw chunk (below MAX_HTTP_BODY_BYTES) */
#define REPOPUB_PATH_BYTES    (TUF_MAX_NAME_BYTES + 16)

struct server;

/* One chunk's query, parsed by a pure function (fuzzed): path, size and
 * offset each exactly once and nothing else. path is metadata/N.root.json,
 * metadata/ROLE.json or targets/NAME (tuf_target_name_ok); size at most
 * TUF_MAX_META_BYTES for metadata, REPOPUB_BYTES_MAX for a target; offset
 * at most size. *is_target says which. 0, or a te_err with *field naming
 * the key that is missing or wrong ("query" for a malformed pair). */
struct repopub_chunk {
	char path[REPOPUB_PATH_BYTES];
	int64_t size, offset;
	int is_target;
};
int repopub_chunk_parse(const char *query, struct repopub_chunk *out, const char **field);

/* At the start, while root, after repo_prepare: DIR/repo/incoming emptied,
 * made 0700 and given to the config's user, and opened; the online keys'
 * public halves loaded (DIR/repo/keys is closed to the user). */
int repopub_prepare(struct server *srv);
/* Once a second: drop idle uploads and old results, remove their folders. */
void repopub_tick(struct server *srv);
/* Waits for an import still running, then frees everything. */
void repopub_free(struct server *srv);

void api_repo_pub_new(struct http_req *r);
void api_repo_pub_put(struct http_req *r);
void api_repo_pub_get(struct http_req *r);
void api_repo_pub_publish(struct http_req *r);

#endif
