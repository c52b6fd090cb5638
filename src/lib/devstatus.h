/* devstatus.h: a device's status object (fleet operations, issue 9).
 *
 * An OEM status command on the device prints it as JSON; the agent checks
 * it against the bounds below, adds what it knows itself (uptime, free
 * disk, its own version) and sends it in its ping as "device_status"; the
 * server checks it again with the same code before keeping it.
 *
 *   {"health": "ok" | "warning" | "fault",            optional
 *    "errors": [{"code": "E-101", "since": 1765000000}, ...],
 *    "counters": {"injections": 1234, ...},           integers >= 0
 *    "versions": {"firmware": "2.3.1", ...},
 *    "uptime_s": 3600, "disk_free_mb": 2048,          set by the agent
 *    "note": "why the command's part is missing"}     set by the agent
 *
 * Every field is bounded (DEVSTATUS_*); a key that is not listed, a
 * duplicate error code, a name outside its alphabet or a number out of
 * range refuses the whole object, with why. Nothing here trusts the text:
 * codes, names and versions are from small alphabets, the note passes the
 * displayable-text check. */
#ifndef TETHER_DEVSTATUS_H
#define TETHER_DEVSTATUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define DEVSTATUS_MAX_INPUT     (16 * 1024)  /* the command's output, as bytes */
#define DEVSTATUS_MAX_ERRORS    32
#define DEVSTATUS_MAX_COUNTERS  32
#define DEVSTATUS_MAX_VERSIONS  32
#define DEVSTATUS_CODE_BYTES    33           /* [A-Za-z0-9._:-]{1,32} */
#define DEVSTATUS_NAME_BYTES    65           /* [A-Za-z0-9._-]{1,64} */
#define DEVSTATUS_VERSION_BYTES 65           /* [A-Za-z0-9._+~:-]{1,64} */
#define DEVSTATUS_NOTE_BYTES    161
#define DEVSTATUS_MAX_TIME      ((int64_t)1 << 40)   /* seconds; far beyond any clock */
#define DEVSTATUS_MAX_COUNT     ((int64_t)1 << 53)   /* exact in any JSON reader */
/* The status as canonical JSON text is never longer than this. */
#define DEVSTATUS_JSON_BYTES    (12 * 1024)

enum devstatus_health {
	DEVSTATUS_UNKNOWN = 0,       /* not reported (no status command) */
	DEVSTATUS_OK = 1,
	DEVSTATUS_WARNING = 2,
	DEVSTATUS_FAULT = 3,
};

struct devstatus_error {
	char code[DEVSTATUS_CODE_BYTES];
	int64_t since;               /* first seen, Unix seconds; 0: not said */
};

struct devstatus_counter {
	char name[DEVSTATUS_NAME_BYTES];
	int64_t value;
};

struct devstatus_version {
	char name[DEVSTATUS_NAME_BYTES];
	char version[DEVSTATUS_VERSION_BYTES];
};

struct devstatus {
	enum devstatus_health health;
	size_t nerrors, ncounters, nversions;
	struct devstatus_error errors[DEVSTATUS_MAX_ERRORS];       /* sorted by code */
	struct devstatus_counter counters[DEVSTATUS_MAX_COUNTERS]; /* sorted by name */
	struct devstatus_version versions[DEVSTATUS_MAX_VERSIONS]; /* sorted by name */
	int64_t uptime_s;            /* -1: not reported */
	int64_t disk_free_mb;        /* -1: not reported */
	char note[DEVSTATUS_NOTE_BYTES];
};

void devstatus_init(struct devstatus *s);
/* Check o against the bounds into out (sorted). 0, or TE_ERR_INVALID /
 * TE_ERR_TOO_LONG with why set ("errors[2].code: ..."). */
int devstatus_from_json(const json_t *o, struct devstatus *out, char *why, size_t whysz);
/* The same from JSON text of at most DEVSTATUS_MAX_INPUT bytes. */
int devstatus_parse(const char *buf, size_t len, struct devstatus *out, char *why,
                    size_t whysz);
/* The canonical object (keys sorted when dumped with JSON_SORT_KEYS; absent
 * fields left out). NULL on allocation failure. */
json_t *devstatus_to_json(const struct devstatus *s);
/* Canonical compact text into out (outsz >= DEVSTATUS_JSON_BYTES). */
int devstatus_text(const struct devstatus *s, char *out, size_t outsz);

const char *devstatus_health_name(enum devstatus_health h);  /* "" for unknown */
int devstatus_health_parse(const char *name, enum devstatus_health *out);

/* The same state for the history: health, the set of error codes and
 * every component's version. Counters, uptime, free disk and the note
 * change without making history. */
int devstatus_same_state(const struct devstatus *a, const struct devstatus *b);
/* The error with this code, or NULL. */
const struct devstatus_error *devstatus_error(const struct devstatus *s, const char *code);
/* The version of this component, or NULL. */
const char *devstatus_version(const struct devstatus *s, const char *name);

/* Compare two version strings: runs of digits by their number, other runs
 * byte by byte, a version that goes on after the other is greater
 * ("2.10" > "2.9", "2.3.1" > "2.3"). <0, 0 or >0. */
int devstatus_vercmp(const char *a, const char *b);

/* Alphabets, for callers that take these names from people. */
int devstatus_code_ok(const char *s);
int devstatus_name_ok(const char *s);
int devstatus_version_ok(const char *s);

#endif
