/* bundle.h: an offline update bundle (issue 10, section 4; docs/updates.md,
 * "Offline: a USB bundle").
 *
 * A bundle is a POSIX ustar archive of the repository's files, as the
 * server serves them:
 *     metadata/N.root.json ...  every root version, from 1
 *     metadata/timestamp.json
 *     metadata/V.snapshot.json, metadata/V.targets.json, metadata/V.ROLE.json
 *     targets/PATH/SHA256.NAME  the one release it carries
 * so the device's TUF client reads it exactly as it reads the server, and
 * trusts nothing of it that does not verify against the root the device
 * already holds.
 *
 * The reader is bounded and strict (fuzzed: fuzz_bundle): regular files
 * and folders only (no links, devices or extended headers), names under
 * metadata/ or targets/ that keep to the repository's name rules, each
 * name once, header checksums right, sizes within the archive, at most
 * BUNDLE_MAX_ENTRIES entries. It reads through a callback, so it parses a
 * file (pread) or memory alike. */
#ifndef TETHER_BUNDLE_H
#define TETHER_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define BUNDLE_BLOCK         512
#define BUNDLE_MAX_ENTRIES   1024
#define BUNDLE_NAME_BYTES    256           /* "targets/" + a target name, NUL */
#define BUNDLE_MAX_SIZE      ((uint64_t)1 << 40)

struct bundle_entry {
	char name[BUNDLE_NAME_BYTES];     /* "metadata/1.root.json", "targets/a/HEX.b" */
	uint64_t offset;                  /* of its bytes in the archive */
	uint64_t size;
};

struct bundle {
	struct bundle_entry *entries;     /* malloc'd; bundle_free */
	size_t n;
};

/* Read n bytes at off into buf: 0, or a te_err (TE_ERR_TRUNCATED past the end). */
typedef int (*bundle_read_fn)(void *arg, uint64_t off, void *buf, size_t n);

/* Index the archive of total bytes. 0, or a te_err with why set:
 * TE_ERR_INVALID (a bad header, name, type or checksum), TE_ERR_TOO_LONG
 * (too many entries, an entry past the end), TE_ERR_EXISTS (a name twice). */
int bundle_index(bundle_read_fn rd, void *arg, uint64_t total, struct bundle *b, char *why,
                 size_t whysz);
void bundle_free(struct bundle *b);
/* The entry called name, or NULL. */
const struct bundle_entry *bundle_find(const struct bundle *b, const char *name);

/* Writing one (tether-server repo bundle): a regular file's header for
 * name and size into blk (BUNDLE_BLOCK bytes; mode 0644, mtime mtime).
 * TE_ERR_TOO_LONG when name cannot be a ustar name. The file's bytes
 * follow, padded with zeros to a whole block; the archive ends with two
 * zero blocks. */
int bundle_header(uint8_t blk[BUNDLE_BLOCK], const char *name, uint64_t size, int64_t mtime);

#endif
