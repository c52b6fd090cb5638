/* tufonline.h: the two TUF roles the server signs online, snapshot and
 * timestamp (issue 10; docs/updates.md). The signer process builds and signs
 * them itself from a few numbers the HTTP process sends (signmsg.h), so
 * that a taken-over HTTP process can ask for a snapshot or a timestamp but
 * never have anything else signed with those keys, nor one that outlives
 * the bounds below. Root, targets and the delegated roles are signed
 * offline by the release managers (tether repo). */
#ifndef TETHER_SERVER_TUFONLINE_H
#define TETHER_SERVER_TUFONLINE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "bounds.h"
#include "tuf.h"

#define TUFONLINE_MAX_ROLES       (TUF_MAX_DELEGATIONS + 1)  /* targets and delegations */
#define TUFONLINE_SNAPSHOT_MAX_S  (14 * 86400)  /* the furthest expiry the signer signs */
#define TUFONLINE_TIMESTAMP_MAX_S (2 * 86400)
#define TUFONLINE_SNAPSHOT_KEY    "repo/keys/snapshot.key"   /* in the server's dir */
#define TUFONLINE_SNAPSHOT_PUB    "repo/keys/snapshot.pub"
#define TUFONLINE_TIMESTAMP_KEY   "repo/keys/timestamp.key"
#define TUFONLINE_TIMESTAMP_PUB   "repo/keys/timestamp.pub"

struct tufonline_role {
	char name[MAX_NAME_BYTES];      /* "targets" or a delegated role */
	int64_t version;
};

/* The snapshot document (version, expiry, each role's "NAME.json"
 * version), signed, as text into *doc (malloc'd) of *len bytes. Refused
 * (TE_ERR_INVALID): a version below 1, an expiry not ahead of now or past
 * TUFONLINE_SNAPSHOT_MAX_S, no "targets", a name that is not
 * [A-Za-z0-9._-], a role twice, more than TUFONLINE_MAX_ROLES. */
int tufonline_snapshot(EVP_PKEY *key, int64_t now, int64_t version, int64_t expires,
                       const struct tufonline_role *roles, size_t n, char **doc, size_t *len);
/* The timestamp document naming the snapshot's version, length and
 * SHA-256 (hex); the same checks, with TUFONLINE_TIMESTAMP_MAX_S. */
int tufonline_timestamp(EVP_PKEY *key, int64_t now, int64_t version, int64_t expires,
                        int64_t snap_version, int64_t snap_len, const char *snap_sha256,
                        char **doc, size_t *len);
/* Make the two keys in dir when they are missing (tether-server init, and
 * the signer's start for a deployment older than the repository): 0, or
 * TE_ERR_* with errbuf saying why. */
int tufonline_keys_ensure(const char *dir, char *errbuf, size_t errsz);

#endif
