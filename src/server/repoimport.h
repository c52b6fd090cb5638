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
 * touched so that the running server signs a new snapshot and timestamp. */
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

/* The online keys as TUF key objects (DIR/repo/keys, the .pub files). */
int repoimport_online_keys(const char *dir, json_t **snapshot, json_t **timestamp);

/* The highest N of DIR/repo/metadata/N.NAME.json, 0 when none; _at: in
 * the open folder dirfd. */
long long repoimport_newest(const char *metadir, const char *name);
long long repoimport_newest_at(int dirfd, const char *name);

#endif
