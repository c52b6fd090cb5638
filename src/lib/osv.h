/* osv.h: vulnerability advisories in the OSV JSON format
 * (https://ossf.github.io/osv-schema/), read from a file an administrator
 * imports (issue 10, section 6; docs/updates.md): which package versions
 * an advisory affects, and the version that fixes each.
 *
 * Bounded and checked like any untrusted input: at most OSV_MAX_AFFECTED
 * packages of OSV_MAX_EVENTS range events and OSV_MAX_VERSIONS listed
 * versions each; names and versions from small alphabets; the summary
 * displayable text. Versions compare as devices report them
 * (devstatus_vercmp: "2.10" > "2.9"), for SEMVER and ECOSYSTEM ranges
 * alike; GIT ranges are ignored. */
#ifndef TETHER_OSV_H
#define TETHER_OSV_H

#include <stddef.h>

#include <jansson.h>

#define OSV_ID_BYTES       64
#define OSV_SUMMARY_BYTES  256
#define OSV_NAME_BYTES     64
#define OSV_VERSION_BYTES  32
#define OSV_MAX_AFFECTED   16
#define OSV_MAX_EVENTS     32
#define OSV_MAX_VERSIONS   64
#define OSV_MAX_BYTES      (64 * 1024)     /* one advisory's JSON */

enum osv_event_kind { OSV_INTRODUCED, OSV_FIXED, OSV_LAST_AFFECTED };

struct osv_event {
	enum osv_event_kind kind;
	char version[OSV_VERSION_BYTES];    /* "0" for introduced: from the start */
};

struct osv_affected {
	char package[OSV_NAME_BYTES];
	struct osv_event events[OSV_MAX_EVENTS];
	size_t nevents;
	char versions[OSV_MAX_VERSIONS][OSV_VERSION_BYTES];
	size_t nversions;
};

struct osv {
	char id[OSV_ID_BYTES];
	char summary[OSV_SUMMARY_BYTES];
	char modified[32];
	struct osv_affected affected[OSV_MAX_AFFECTED];
	size_t naffected;
};

/* Read one advisory (a JSON object) into out. 0, or TE_ERR_INVALID /
 * TE_ERR_TOO_LONG with why saying what is wrong. */
int osv_from_json(const json_t *o, struct osv *out, char *why, size_t whysz);
/* 1 when package at version is affected; *fixed then names the version
 * that fixes its range ("" when none is known). */
int osv_affects(const struct osv *a, const char *package, const char *version,
                const char **fixed);

#endif
