/* tufclient.h: the TUF client workflow (specification 1.0, section 5.3 to
 * 5.6) against a repository reached through a fetch callback: the agent
 * over HTTPS, a USB bundle from its files, a unit test from memory.
 *
 * The client starts from metadata it trusts (root, and the timestamp,
 * snapshot and targets it accepted before; the caller keeps them between
 * runs) and ends with the newest it can verify, or refuses with one of the
 * reasons below and a sentence saying what was wrong. Nothing is trusted
 * that did not verify: every document is checked before any field of it is
 * used, every download is bounded, delegations are searched in order with
 * a bound on how many roles are visited. */
#ifndef TETHER_TUFCLIENT_H
#define TETHER_TUFCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TUFCLIENT_ROOT_MAX_BYTES      (512 * 1024)
#define TUFCLIENT_TIMESTAMP_MAX_BYTES 16384
#define TUFCLIENT_META_MAX_BYTES      (4 * 1024 * 1024)  /* snapshot, targets: unless meta says */
#define TUFCLIENT_MAX_ROOTS           256       /* root versions one refresh may follow */
#define TUFCLIENT_MAX_VISITS          32        /* delegated roles one search may visit */
#define TUFCLIENT_WHY_BYTES           512

/* Why a refresh or a search was refused: what the audit trail records. */
enum tufclient_refusal {
	TUFCLIENT_OK = 0,
	TUFCLIENT_FETCH,          /* the repository could not be reached or read */
	TUFCLIENT_MALFORMED,      /* not a TUF document of the expected role */
	TUFCLIENT_SIGNATURES,     /* too few valid signatures of the role's keys */
	TUFCLIENT_ROLLBACK,       /* a version below one trusted before */
	TUFCLIENT_FREEZE,         /* expired metadata */
	TUFCLIENT_MIX_AND_MATCH,  /* a version other than the one the role above names */
	TUFCLIENT_ENDLESS_DATA,   /* more bytes than declared, or than the bound */
	TUFCLIENT_NOT_FOUND,      /* no such target where the client may look */
};

/* Fetch name ("3.root.json", "timestamp.json", "7.snapshot.json",
 * "4.targets.json", "2.injector.json") into *out (malloc'd), at most max
 * bytes: 0; TE_ERR_NOT_FOUND when the repository has no such file;
 * TE_ERR_TOO_LONG past max; another te_err when it cannot be read. */
typedef int (*tufclient_fetch_fn)(void *arg, const char *name, size_t max, char **out,
                                  size_t *len);

struct tufclient {
	json_t *root, *timestamp, *snapshot, *targets;  /* trusted; caller may preset */
	int64_t now;                                     /* the clock expiry is judged by */
	tufclient_fetch_fn fetch;
	void *fetch_arg;
	enum tufclient_refusal refusal;
	char why[TUFCLIENT_WHY_BYTES];
	/* Offline (a USB bundle; docs/security.md, "Offline installs"): an
	 * expired timestamp or snapshot is taken when this is set, and
	 * expired_online says one was. Root, targets and delegated roles must
	 * still be unexpired; versions may still never go down. */
	int allow_expired_online;
	int expired_online;
};

/* Start from root (text of a root document, which must verify with its own
 * root keys); the other trusted documents may be set by the caller after
 * (from state, as parsed JSON: the client checks them again against root).
 * 0 or a te_err with refusal and why set. */
int tufclient_init(struct tufclient *c, const char *root, size_t len, int64_t now,
                   tufclient_fetch_fn fetch, void *arg);
void tufclient_free(struct tufclient *c);
/* Update root, timestamp, snapshot and targets (section 5.3 to 5.6.6). */
int tufclient_refresh(struct tufclient *c);
/* The target's entry (length, hashes, custom: a new reference into *info)
 * as the first role that may sign it lists it, searching the delegations
 * of the trusted targets in order (section 5.6.7). */
int tufclient_target(struct tufclient *c, const char *name, json_t **info);
const char *tufclient_refusal_name(enum tufclient_refusal r);

#endif
