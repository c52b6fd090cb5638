/* spool.h: a folder of small files, each written whole or not at all
 * (temporary name, fsync, rename, fsync of the folder) and read back in the
 * order written. The relay keeps its undelivered event reports here, so a
 * server outage, a relay restart or a crash loses none. */
#ifndef TETHER_RELAY_SPOOL_H
#define TETHER_RELAY_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAX_ITEMS      4096    /* files loaded at start; more wait there */
#define SPOOL_MAX_ITEM_BYTES 16384   /* a larger file is not ours: skipped */

struct spool;

/* Open (creating, 0700) the folder path. When running as root and owner is
 * not empty, a folder made here is given to owner, who runs the relay after
 * the privilege drop. The folder is held open: later calls work on it even
 * when its parent is no longer reachable. */
int spool_open(const char *path, const char *owner, struct spool **out);
void spool_free(struct spool *sp);
/* Store len bytes of body as the next item; *id names it. */
int spool_put(struct spool *sp, const char *body, size_t len, uint64_t *id);
/* Forget item id (delivered); a missing one is not an error. */
int spool_remove(struct spool *sp, uint64_t id);
/* Call fn for every stored item, oldest first, at most SPOOL_MAX_ITEMS; body
 * is NUL-terminated and the callee's to free. Leftover temporary files (a
 * write cut by a crash) are removed. fn returning non-zero stops the walk. */
int spool_load(struct spool *sp, int (*fn)(void *arg, uint64_t id, char *body),
               void *arg);

#endif
