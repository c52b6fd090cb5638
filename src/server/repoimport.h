/* repoimport.h: what a release manager publishes (a `tether repo` folder:
 * metadata/N.root.json, targets.json, ROLE.json and targets/) checked
 * against what the server already serves, and added to it (issue 10;
 * docs/updates.md).
 *
 * Nothing goes in that a TUF client would refuse: each new root version in
 * order, signed by the threshold of the root before it and of its own, and
 * naming this server's online snapshot and timestamp keys; targets signed
 * by the root's targets keys; each delegated role by its delegation's keys,
 * listing only paths the delegation allows (a release manager for one
 * product family cannot publish for another); no version below what is
 * served, and the same version only with the same contents; nothing
 * expired; every target file present with its declared length and SHA-256.
 * The files land under DIR/repo in the layout clients fetch
 * (metadata/N.ROLE.json, targets/PATH/SHA256.NAME), written whole before
 * the metadata that names them, and DIR/repo/metadata/.published is
 * touched so that the running server signs a new snapshot and timestamp.
 *
 * Two ways in: `tether-server repo publish` (root, on the server's host:
 * repoimport_run, paths) and a release manager's upload through the API
 * (api_repo.c, the dropped server: repoimport_run_at on folders it opened
 * while root). Only one runs at a time in one server; the two at once are
 * not locked against each other. */
#ifndef TETHER_SERVER_REPOIMPORT_H
#define TETHER_SERVER_REPOIMPORT_H

#include <stddef.h>

#include <jansson.h>

#define REPO_MAX_TARGETS  10000      /* entries one role may list */
#define REPO_MARKER       ".published"

/* Import src into the repository of the server in dir. 0 with what was
 * added in msg, or a te_err with why it was refused in msg (nothing of a
 * refused role is served; roots and roles before it that passed stay). */
int repoimport_run(const char *dir, const char *src, char *msg, size_t msgsz);

/* The same on open folders: metadata and targets (DIR/repo/...), and the
 * publication (metadata/, targets/). online: the snapshot and timestamp
 * key objects, borrowed. take_targets: the publication's target files are
 * the server's own (an upload): each is read once, checked and renamed
 * in, not copied. Folders made under targets get its owner. The caller's
 * folders must be opens of their own (openat "."), not dups of
 * folders another thread reads: a dup shares its read offset. */
struct repoimport_dirs {
	int metafd, targetsfd, srcfd;
	const json_t *online[2];
	int take_targets;
};
int repoimport_run_at(const struct repoimport_dirs *d, char *msg, size_t msgsz);

/* The online keys as TUF key objects (DIR/repo/keys, the .pub files). */
int repoimport_online_keys(const char *dir, json_t **snapshot, json_t **timestamp);

/* The highest N of N.NAME.json in the open folder dirfd, 0 when none. */
long long repoimport_newest_at(int dirfd, const char *name);

#endif
