/* srvping.h: the device ping request (POST /api/v1/ping), parsed by a pure
 * function so that it can be fuzzed on its own. */
#ifndef TETHER_SERVER_PING_H
#define TETHER_SERVER_PING_H

#include <stddef.h>

#include <jansson.h>

#include "bounds.h"
#include "devstatus.h"
#include "tuf.h"
#include "store.h"

#define PING_STATUS_BYTES 32
/* Session ids a ping may list in "sessions" and end reports in "ended". */
#define PING_MAX_SESSIONS 32
/* The end_reason of a session the server held as consented or active but
 * the device no longer lists at its first ping after (re)connecting. */
#define PING_RECONCILE_REASON "device no longer has it"

struct ping_ended {
	char session[STORE_SESSION_ID_BYTES];
	char reason[MAX_REASON_BYTES];
};

struct ping_service {
	char name[MAX_NAME_BYTES];
	int port;
};

/* Diagnostics ("diags") and file areas ("files") a ping may list: names,
 * each unique, at most this many (the agent's own limits). */
#define PING_MAX_OFFERS 16
struct ping_names {
	int present;                                /* the field was there */
	size_t n;
	char name[PING_MAX_OFFERS][MAX_NAME_BYTES];
};

/* "offline_installs": what the operator installed from a USB bundle while
 * the device was offline (docs/updates.md), each audited once taken. */
#define PING_MAX_OFFLINE 16
struct ping_offline {
	char target[TUF_MAX_TARGET_BYTES + 1];
	char version[DEVSTATUS_VERSION_BYTES];
	char result[16];                  /* installed | failed */
	char by[MAX_NAME_BYTES * 2];
	char reason[MAX_REASON_BYTES];
	int64_t counter, at;
	int expired_ok;
};

struct ping_req {
	char version[STORE_VERSION_BYTES];
	char status[PING_STATUS_BYTES];
	int wait;                                   /* 1: hold as a long-poll */
	int hold_s;                                 /* "hold_s" asked (1..LONGPOLL_MAX_S), 0: none */
	int64_t checkpoint_seq;                     /* "checkpoint_seq" the agent holds; -1: none */
	int64_t repo_timestamp;                     /* "repo_timestamp" the agent trusts; -1: none */
	int has_services;                           /* "services" was present */
	size_t n_services;
	struct ping_service services[MAX_SERVICES];
	int has_audit_head;                         /* "audit_head" was present */
	struct store_audit_head audit_head;
	int has_clock_offset;                       /* "clock_offset_s" was present */
	int64_t clock_offset_s;                     /* server minus device, |.| <= CLOCKOFF_MAX_S */
	int has_sessions;                           /* "sessions": reconcile */
	size_t n_sessions;
	char sessions[PING_MAX_SESSIONS][STORE_SESSION_ID_BYTES];
	size_t n_ended;                             /* "ended": end reports */
	struct ping_ended ended[PING_MAX_SESSIONS];
	struct ping_names diags;                    /* "diags": diag.NAME offered */
	struct ping_names files;                    /* "files": files.NAME areas */
	int has_status;                             /* "device_status", valid */
	char status_why[128];                       /* ... present but refused: why */
	struct devstatus devstatus;                 /* devstatus.h */
	size_t n_offline;                           /* "offline_installs" */
	int offline_refused;                        /* ... present, but malformed: left out */
	struct ping_offline offline[PING_MAX_OFFLINE];
};

/* What a reported audit head means against the stored anchor. */
enum ping_audit_verdict {
	PING_AUDIT_KEEP,           /* nothing new: no head, or the anchor itself */
	PING_AUDIT_ADVANCE,        /* a higher seq: it becomes the anchor */
	PING_AUDIT_ROLLBACK,       /* a lower seq, or the anchor's seq with
	                            * another hash: records were lost or rewritten */
	PING_AUDIT_ROLLBACK_SEEN,  /* the same rollback head as last audited */
};

/* Parse and validate a ping body. All fields are optional ("wait" defaults
 * to false); present fields must have the right type and bounds. Returns 0
 * or TE_ERR_INVALID / TE_ERR_TOO_LONG; out is zeroed first. */
int ping_parse_request(const char *body, size_t len, struct ping_req *out);
/* Compare a reported head with the device's anchor and its last audited
 * rollback (see store_device). Pure. An anchor with seq 0 is no anchor. */
/* An audit head object (the ping's "audit_head", a relay event's
 * "audit_head" and "audit_open"): {"seq": N >= 0, "hash": "<64 lowercase
 * hex>"}, nothing else; seq 0 (an empty log) only with the genesis hash.
 * o NULL (field absent): 0 with *present 0. TE_ERR_INVALID otherwise. */
int ping_parse_head(const json_t *o, struct store_audit_head *out, int *present);
enum ping_audit_verdict ping_audit_check(const struct store_audit_head *anchor,
                                         const struct store_audit_head *last_rollback,
                                         const struct store_audit_head *reported);
/* The services as the JSON array stored with the device. */
int ping_services_json(const struct ping_req *p, char *out, size_t outsz);
/* A name list as the JSON array of strings stored with the device. */
int ping_names_json(const struct ping_names *n, char *out, size_t outsz);

#endif
