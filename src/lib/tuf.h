/* tuf.h: The Update Framework's metadata (specification 1.0): Ed25519 keys
 * and their ids, signing and checking a role's document, the common fields
 * of every role, and delegation paths. Shared by the release manager's
 * `tether repo` (which signs root, targets and delegated roles offline), the
 * server (which signs snapshot and timestamp online, through its signer)
 * and the agent (which checks everything against its trusted root).
 *
 * A document is {"signatures": [{"keyid", "sig"}], "signed": {...}}; a
 * signature is Ed25519 over the canonical JSON (cjson.h) of "signed", in
 * hex. A key is {"keytype": "ed25519", "scheme": "ed25519", "keyval":
 * {"public": HEX}} and its id the hex SHA-256 of that key's canonical JSON,
 * as securesystemslib and tuf-js compute it. */
#ifndef TETHER_TUF_H
#define TETHER_TUF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define TUF_SPEC_VERSION    "1.0.31"
#define TUF_KEYID_BYTES     65          /* 64 hex digits and NUL */
#define TUF_TIME_BYTES      21          /* "2026-12-07T10:00:00Z" */
#define TUF_MAX_META_BYTES  (4 * 1024 * 1024)  /* one role's document */
#define TUF_MAX_KEYS        64          /* keys one role may list */
#define TUF_MAX_SIGS        64          /* signatures one document may carry */
#define TUF_MAX_DELEGATIONS 64
#define TUF_MAX_PATHS       64          /* path patterns of one delegation */

/* The public key object of an Ed25519 key (private or public) into *out
 * (new reference) and its id into keyid. */
int tuf_key_json(EVP_PKEY *key, json_t **out, char keyid[TUF_KEYID_BYTES]);
/* The id of a key object. TE_ERR_INVALID when it is not an Ed25519 key of
 * the form above. */
int tuf_keyid(const json_t *key, char keyid[TUF_KEYID_BYTES]);

/* Sign md's "signed" with key, replacing any signature of the same key id. */
int tuf_sign(json_t *md, EVP_PKEY *key);
/* Count md's valid signatures by distinct keys among keyids, looked up in
 * keys (an object keyid -> key). 0 when at least threshold verify;
 * TE_ERR_SIGNATURE otherwise (*valid says how many did, when not NULL).
 * A key listed under an id that is not its own counts for nothing. */
int tuf_verify(const json_t *md, const json_t *keys, const json_t *keyids, long threshold,
               long *valid);

/* Parse a document of len bytes (at most TUF_MAX_META_BYTES): an object
 * with "signed" (an object) and "signatures" (an array of at most
 * TUF_MAX_SIGS objects with hex "keyid" and "sig"). */
int tuf_parse(const char *buf, size_t len, json_t **md);
/* The common fields of md's "signed": "_type" is type, "spec_version" is
 * 1.x, "version" an integer >= 1, "expires" a time (tuf_time_parse).
 * TE_ERR_INVALID names nothing: these are checks of form. */
int tuf_check_signed(const json_t *md, const char *type, int64_t *version, int64_t *expires);

/* "YYYY-MM-DDTHH:MM:SSZ" <-> seconds since the epoch (UTC). */
int tuf_time_parse(const char *s, int64_t *out);
void tuf_time_format(int64_t t, char out[TUF_TIME_BYTES]);

/* Role r's keyids (array) and threshold (>= 1) in a root's or a targets'
 * "signed": for root, r names one of the four top roles; for delegations,
 * pass the delegation object itself as role. */
int tuf_role_keys(const json_t *root_signed, const char *r, const json_t **keyids,
                  long *threshold);
int tuf_delegation_keys(const json_t *delegation, const json_t **keyids, long *threshold);

/* A role or target name as tether writes and serves them: '/'-separated
 * parts (a role name: one part) of [A-Za-z0-9._-], none empty or starting
 * with '.' or '-' (so no "..", no hidden or temporary file), at most
 * TUF_MAX_NAME_BYTES - 1 bytes. */
#define TUF_MAX_NAME_BYTES   256
/* A published target's name: room left for the "SHA256." its served file
 * name gains (targets/PATH/SHA256.NAME) within TUF_MAX_NAME_BYTES. */
#define TUF_MAX_TARGET_BYTES 180
int tuf_target_name_ok(const char *name);
int tuf_role_name_ok(const char *name);

/* 1 when target (a relative path) matches a delegation's path pattern: the
 * same number of '/'-separated parts, each matched as a shell pattern
 * ('*', '?', '[...]') within the part. */
int tuf_path_match(const char *pattern, const char *target);

#endif
