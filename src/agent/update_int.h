/* update_int.h: what update.c shares with the offline install (offline.c). */
#ifndef TETHER_AGENT_UPDATE_INT_H
#define TETHER_AGENT_UPDATE_INT_H

#include <stdint.h>

#include <jansson.h>

#include "agentconf.h"
#include "tufclient.h"

/* A release being judged: component (the activity's; for an offline
 * install the release's own), target, and its verified entry info; the
 * judge fills in sha, version, length and counter. */
struct update_job {
	const struct agent_conf *conf;
	const char *component, *target;
	const json_t *info;
	const char *sha, *version;
	long long length, counter;
};

/* Refresh the trusted metadata (state_dir/tuf, under its lock, kept when
 * all verified, audited update_checked) from fetch: the server (the first
 * root taken on first use, *tofu set) or, offline, a bundle (never a first
 * root; allow_expired takes an expired timestamp or snapshot). 0, or 1
 * with the refusal said on stderr and audited. */
int update_refresh_from(const struct agent_conf *conf, const char *cmd,
                        tufclient_fetch_fn fetch, void *arg, int offline, int allow_expired,
                        struct tufclient *c, int *tofu);
/* The release against this device (update.h's UPDATE_* statuses): its
 * component, the hardware, the release counter against installed.json.
 * A refusal is printed ("refused (REASON): ...") and audited. */
int update_job_judge(struct update_job *j);
/* Print and audit a refusal of j; UPDATE_REFUSED. */
int update_job_refuse(const struct update_job *j, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A document's signed version. */
int64_t update_version(const json_t *md);

#endif
