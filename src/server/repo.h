/* repo.h: the software repository the server serves (issue 10;
 * docs/updates.md): GET /repo/metadata/NAME and /repo/targets/PATH from
 * DIR/repo, in the layout TUF clients fetch, to anyone (the metadata and
 * the targets' signatures, not the transport, are what a client trusts);
 * and the two roles it signs online through its signer, kept fresh: a new
 * snapshot and timestamp when a publication arrives (repoimport.h touches
 * DIR/repo/metadata/.published), and before either runs out. */
#ifndef TETHER_SERVER_REPO_H
#define TETHER_SERVER_REPO_H

#include <stdint.h>

#include <jansson.h>

#include "http.h"

#define REPO_SNAPSHOT_TTL_S  (7 * 86400)
#define REPO_TIMESTAMP_TTL_S 86400

struct server;
struct repo_online;

/* Every release the served targets and their delegated roles list, as
 * [{name, component, version, sbom}] (sbom "" when none). The files were
 * checked at publication; unreadable ones are left out. */
json_t *repo_releases(struct server *srv);
/* The release called name (a target name) in releases, or NULL. */
const json_t *repo_release_find(const json_t *releases, const char *name);

/* Once a second (server.c): sign what a publication or the clock needs. */
void repo_tick(struct server *srv);
void repo_free(struct repo_online *r);
/* The version of the timestamp served now; 0 when none. */
int64_t repo_timestamp_version(const struct server *srv);
/* The served folders (opened by repo_prepare), or -1. */
int repo_metadata_fd(const struct server *srv);
int repo_targets_fd(const struct server *srv);
/* DIR/repo/metadata and targets made and opened at the start, while root
 * (metadata given to the config's user, who writes snapshot and timestamp
 * there): after the drop the server reaches them through these handles,
 * DIR itself staying closed to that user. */
int repo_prepare(struct server *srv);
/* GET (or HEAD) of /repo/...: 404 for anything not there, as TUF clients
 * expect for the root version after the newest. */
void repo_serve(struct http_req *r);

#endif
