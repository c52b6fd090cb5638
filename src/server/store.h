/* store.h: the server's persistent state behind one opaque handle.
 *
 * Callers only ever see these functions, so a second backend (PostgreSQL)
 * can be added behind the same names without touching them. The SQLite
 * backend lives in store_sqlite.c. All functions return 0 or a negative
 * te_err: TE_ERR_NOT_FOUND for a missing row, TE_ERR_EXISTS for a duplicate
 * key, TE_ERR_STORE when the database itself failed. Strings copied out are
 * always NUL-terminated. */
#ifndef TETHER_SERVER_STORE_H
#define TETHER_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "checkpoint.h"
#include "actenv.h"
#include "bounds.h"
#include "mwindow.h"
#include "devstatus.h"
#include "secret.h"

#define STORE_SCHEMA_VERSION 23

#define STORE_ROLE_BYTES      24    /* "customer_approver" + NUL */
#define STORE_REGION_BYTES    8
#define STORE_TEXT_BYTES      128   /* customer, product, host */
#define STORE_VERSION_BYTES   32
#define STORE_HOSTKEY_BYTES   1024
#define STORE_SERVICES_BYTES  2048  /* JSON array text */
#define STORE_OFFERS_BYTES    1200  /* 16 names as a JSON array (srvping.h) */
#define STORE_STATE_BYTES     20
#define STORE_SESSION_ID_BYTES 33   /* 32 hex digits + NUL */

struct store;

struct store_user {
	char name[MAX_NAME_BYTES];
	char role[STORE_ROLE_BYTES];
	int level;
	char region[STORE_REGION_BYTES];
	char pwhash[PWHASH_BYTES];
	int64_t created_at;
	char site[MAX_NAME_BYTES];            /* customer roles' site; "" for others */
	int disabled;                         /* 1: no login (migration 11) */
};

/* A device's audit-log head as the agent reported it in a ping. */
struct store_audit_head {
	int64_t seq;
	char hash[SHA256_HEX_BYTES];          /* "" when none */
};

struct store_device {
	char serial[MAX_NAME_BYTES];
	char customer[STORE_TEXT_BYTES];
	char product[STORE_TEXT_BYTES];
	char status[STORE_STATE_BYTES];       /* "registered", "enrolled", "revoked" */
	char cert_fp[SHA256_HEX_BYTES];       /* "" until enrolled */
	char ssh_hostkey[STORE_HOSTKEY_BYTES];
	int64_t last_seen;
	char agent_version[STORE_VERSION_BYTES];
	char services[STORE_SERVICES_BYTES];  /* [{"name","port"}] as JSON */
	int64_t created_at;
	/* The highest head ever reported (the anchor; seq 0: none yet) and the
	 * last lower or conflicting head that was audited (hash "": none). */
	struct store_audit_head audit_head;
	struct store_audit_head audit_rollback;
	char site[MAX_NAME_BYTES];            /* the customer site it belongs to */
	/* The agent's last reported clock offset (server minus device, s) and
	 * when it was reported (migration 9; clock_reported_at 0: never). */
	int64_t clock_offset_s;
	int64_t clock_reported_at;
	/* The diag.NAME and files.NAME names its agent reports, as JSON arrays
	 * of strings (migration 13); "" until reported (an older agent). */
	char diags[STORE_OFFERS_BYTES];
	char files[STORE_OFFERS_BYTES];
};

struct store_relay {
	char name[MAX_NAME_BYTES];
	char host[STORE_TEXT_BYTES];
	int device_port;
	int client_port;
	char cert_fp[SHA256_HEX_BYTES];
	/* As for devices: the highest head the relay reported (seq 0: none),
	 * the head its log had when the run that reported it opened the log
	 * (to tell that run's later reports from a new run's), and the last
	 * lower or conflicting head that was audited (hash "": none). */
	struct store_audit_head audit_head;
	struct store_audit_head audit_open;
	struct store_audit_head audit_rollback;
};

struct store_session {
	char id[STORE_SESSION_ID_BYTES];
	char device[MAX_NAME_BYTES];
	char user[MAX_NAME_BYTES];
	char reason[MAX_REASON_BYTES];
	char services[STORE_SERVICES_BYTES];  /* ["http"] as JSON */
	char state[STORE_STATE_BYTES];
	char end_reason[MAX_REASON_BYTES];
	char relay[MAX_NAME_BYTES];
	int64_t created_at;
	int64_t updated_at;
	int64_t started_at;                   /* 0 until active */
	int client_ticket;                    /* 1 once the client leg was issued */
	int device_notified;                  /* 1 once the device knows it ended */
	/* Sites and policy (migration 5, store_site.c). */
	char actions[STORE_SERVICES_BYTES];   /* granted non-forward actions, JSON array */
	int escalation;                       /* asked as an escalation */
	char site[MAX_NAME_BYTES];            /* the device's site when requested */
	int64_t max_s;                        /* longest duration granted (0: server default) */
	int64_t idle_s;                       /* idle timeout granted (0: none) */
	char customer[STORE_STATE_BYTES];     /* "", "notice" or "approval" */
	int64_t customer_deadline;            /* end of the customer's window */
	int relay_moves;                      /* moves off a failed relay (migration 14) */
};

/* An audit entry to write in the same transaction as a change. */
struct store_audit_entry {
	const char *actor;
	const char *action;
	const char *detail;
};

/* Open (creating if needed) and bring the schema up to date. A statement
 * waits up to 5 s for another process's lock (the admin commands). */
int store_open(const char *path, struct store **out);
void store_close(struct store *st);
/* How long a statement waits for another process's lock before it fails
 * with TE_ERR_STORE: the server's event loop sets a short wait, so that a
 * locked database costs each request milliseconds, not seconds. */
void store_set_busy_ms(struct store *st, int ms);
/* Database failures (TE_ERR_STORE) since the open: a caller compares the
 * count before and after its work to learn whether the store failed. */
unsigned long store_failures(const struct store *st);
/* The newest failure in a sentence for an answer ("the database is locked
 * by another process", "the server's disk is full"), and whether it was a
 * lock that may soon be released. */
const char *store_failure_reason(const struct store *st);
int store_failure_busy(const struct store *st);
int store_schema_version(struct store *st, int *out);

/* Users */
int store_user_add(struct store *st, const struct store_user *u);
int store_user_get(struct store *st, const char *name, struct store_user *out);

/* API bearer tokens, kept only as SHA-256 hex. store_token_user returns
 * TE_ERR_NOT_FOUND for unknown, TE_ERR_EXPIRED, or TE_ERR_DENIED (revoked). */
int store_token_add(struct store *st, const char *hash, const char *user,
                    int64_t now, int64_t expires_at);
int store_token_user(struct store *st, const char *hash, int64_t now,
                     char user[MAX_NAME_BYTES]);
int store_token_revoke(struct store *st, const char *hash);

/* Devices */
int store_device_add(struct store *st, const struct store_device *d);
int store_device_get(struct store *st, const char *serial, struct store_device *out);
typedef int (*store_device_cb)(const struct store_device *d, void *arg);
/* Calls cb for each device in serial order; a non-zero cb result stops and is returned. */
int store_device_each(struct store *st, store_device_cb cb, void *arg);
/* One page in serial order: the devices after `after` ("" for the first),
 * of site only when site is not NULL, at most limit of them (the primary
 * key's index, so a page costs the same however many devices there are). */
int store_device_page(struct store *st, const char *site, const char *after, int64_t limit,
                      store_device_cb cb, void *arg);
int store_device_set_enrolled(struct store *st, const char *serial,
                              const char *cert_fp, const char *ssh_hostkey,
                              const struct store_audit_entry *audit);
/* services_json NULL keeps the stored services. */
int store_device_seen(struct store *st, const char *serial, int64_t now,
                      const char *agent_version, const char *services_json);
/* Record the diagnostics and file areas the agent reports (JSON arrays of
 * names); NULL keeps what is stored. */
int store_device_offers(struct store *st, const char *serial, const char *diags_json,
                        const char *files_json);
/* Record the device's reported clock offset (server minus device, s). */
int store_device_clock(struct store *st, const char *serial, int64_t offset_s,
                       int64_t now);

/* Mark the device revoked (status "revoked") and append audit in the same
 * transaction. TE_ERR_NOT_FOUND: no such device; TE_ERR_EXISTS: already
 * revoked (nothing written). Its sessions are left to the caller. */
int store_device_revoke(struct store *st, const char *serial,
                        const struct store_audit_entry *audit);

/* How many revocations there ever were (each device counts its own, even
 * after `device reissue-token` brings it back), so the count only grows: a
 * caller can tell that a revocation happened (maybe in another process) by
 * seeing it move. */
int store_device_revoked_count(struct store *st, int64_t *out);

/* Raise the device's audit anchor to head. Never lowers it: a head whose
 * seq is not above the stored one changes nothing. */
int store_device_audit_anchor(struct store *st, const char *serial,
                              const struct store_audit_head *head);
/* Remember head as the device's latest rollback and append audit in the same
 * transaction, unless that same head is already the remembered one
 * (TE_ERR_EXISTS then, and nothing is written). The anchor is untouched. */
int store_device_audit_rollback(struct store *st, const char *serial,
                                const struct store_audit_head *head,
                                const struct store_audit_entry *audit);

/* Enrollment tokens, kept only as SHA-256 hex, bound to one serial.
 * store_enroll_token_use compares in constant time and marks the token used;
 * TE_ERR_DENIED for unknown/used/expired/other serial (one answer for all). */
int store_enroll_token_add(struct store *st, const char *hash, const char *serial,
                           int64_t expires_at);
int store_enroll_token_use(struct store *st, const char *serial,
                           const char *hash, int64_t now);

/* Relays */
int store_relay_add(struct store *st, const struct store_relay *r);
int store_relay_get(struct store *st, const char *name, struct store_relay *out);
/* Fills up to max relays in name order; *n is the count. */
int store_relay_list(struct store *st, struct store_relay *out, size_t max, size_t *n);

/* The relay counterparts of store_device_audit_anchor (open is stored with
 * a head that raises the anchor) and store_device_audit_rollback. */
int store_relay_audit_anchor(struct store *st, const char *name,
                             const struct store_audit_head *head,
                             const struct store_audit_head *open);
int store_relay_audit_rollback(struct store *st, const char *name,
                               const struct store_audit_head *head,
                               const struct store_audit_entry *audit);

/* Relay event report ids (store_relayreport.c): seen is 1 when relay's
 * report id was taken already, 0 when not, or a store error; done records
 * it (and forgets ids older than 30 days). */
int store_relay_report_seen(struct store *st, const char *relay, const char *id);
int store_relay_report_done(struct store *st, const char *relay, const char *id, int64_t now);

/* Sessions */
int store_session_add(struct store *st, const struct store_session *s,
                      const struct store_audit_entry *audit);
int store_session_get(struct store *st, const char *id, struct store_session *out);
/* The device's session in awaiting_consent, consented or active. */
int store_session_open_for_device(struct store *st, const char *serial,
                                  struct store_session *out);
typedef int (*store_session_cb)(const struct store_session *s, void *arg);
/* Sessions not yet final, oldest first (the sweeper's work list). */
int store_session_each_open(struct store *st, store_session_cb cb, void *arg);
/* A device's sessions that are open, or final but not yet told to it. */
int store_session_each_for_device(struct store *st, const char *serial,
                                  store_session_cb cb, void *arg);
/* A user's sessions: every open one and the STORE_RECENT_SESSIONS newest
 * (final ones included), oldest first (`tether sessions`). */
#define STORE_RECENT_SESSIONS 20
#define STORE_RECENT_SESSIONS_STR "20"
int store_session_each_for_user(struct store *st, const char *user,
                                store_session_cb cb, void *arg);
/* Compare-and-set state change: only when the row is still in `from`.
 * relay may be NULL (unchanged). TE_ERR_MISMATCH when the state moved. */
/* Called after a session's state or relay changed in the store (from
 * store_session_set_state and store_session_move_relay), with its id. */
typedef void (*store_session_hook_fn)(void *arg, const char *id);
void store_on_session_change(struct store *st, store_session_hook_fn fn, void *arg);
int store_session_set_state(struct store *st, const char *id, const char *from,
                            const char *to, const char *end_reason,
                            const char *relay, int64_t now,
                            const struct store_audit_entry *audit);
/* Compare-and-set move of a consented session from relay `from` to `to`,
 * counting the move (at most max_moves) and reopening the client ticket's
 * claim. TE_ERR_MISMATCH when the row is not consented on `from` any more
 * or has moved max_moves times: read it again to tell which. */
int store_session_move_relay(struct store *st, const char *id, const char *from,
                             const char *to, int max_moves, int64_t now,
                             const struct store_audit_entry *audit);
/* Set client_ticket once; TE_ERR_EXISTS when already set. */
int store_session_claim_client_ticket(struct store *st, const char *id);
int store_session_mark_notified(struct store *st, const char *id);

/* ---- A visit's further connections (store_visit.c, migration 15) ---- */

/* At most this many connections after the first, per session. */
#define STORE_VISIT_MAX_CONNS 1000
/* The number the session's next connection gets (1 for the first after
 * connection 0); TE_ERR_TOO_LONG past STORE_VISIT_MAX_CONNS. */
int store_visit_next(struct store *st, const char *session, int64_t *conn);
/* Keep connection conn's device-leg ticket until a ping carries it. */
int store_visit_add(struct store *st, const char *session, int64_t conn, const char *relay,
                    const char *device_ticket, int64_t now);
typedef int (*store_visit_cb)(const char *session, int64_t conn, const char *relay,
                              const char *device_ticket, void *arg);
/* The session's connections whose ticket no ping has carried yet. */
int store_visit_each_pending(struct store *st, const char *session, store_visit_cb cb,
                             void *arg);
/* A ping carried it: blank the ticket. */
int store_visit_delivered(struct store *st, const char *session, int64_t conn, int64_t now);

/* ---- A session's shell recordings (store_recording.c, migration 16) ---- */

struct store_recording {
	char name[128];                    /* castfile_name_ok */
	int64_t size;
	char sha256[SHA256_HEX_BYTES];
	int64_t stored_at;
};
/* Record a recording kept whole and verified on disk. TE_ERR_EXISTS when the
 * session already has one of that name. */
int store_recording_add(struct store *st, const char *session,
                        const struct store_recording *rec);
/* 0, TE_ERR_NOT_FOUND or a store error. */
int store_recording_get(struct store *st, const char *session, const char *name,
                        struct store_recording *out);
typedef int (*store_recording_cb)(const struct store_recording *rec, void *arg);
/* The session's recordings, shorter names first (so S-2 before S-10, and
 * the first connection's before a visit's later ones, S-cC-N). */
int store_recording_each(struct store *st, const char *session, store_recording_cb cb,
                         void *arg);

/* ---- Device status (store_devstatus.c, migration 17) ---- */

#define STORE_HEALTH_BYTES 16
#define STORE_DEVSTATUS_HISTORY 20           /* rows `devices show` gets */
#define STORE_DEVICE_ERRORS 50               /* error rows `devices show` gets */

struct store_devstatus {
	char health[STORE_HEALTH_BYTES];     /* "ok", "warning", "fault" or "" */
	char status[DEVSTATUS_JSON_BYTES];   /* canonical JSON (devstatus_text) */
	int64_t reported_at;                 /* the latest report */
	int64_t changed_at;                  /* the latest change of state */
};
struct store_device_error {
	char code[DEVSTATUS_CODE_BYTES];
	int64_t first_seen;
	int64_t cleared_at;                  /* 0: still active */
};
/* 0, TE_ERR_NOT_FOUND (never reported) or a store error. */
int store_devstatus_get(struct store *st, const char *serial, struct store_devstatus *out);
/* The same; without with_status, the health and times only (status ""):
 * what a list needs, without copying each status's text. */
int store_devstatus_read(struct store *st, const char *serial, int with_status,
                         struct store_devstatus *out);
/* Keep cur as the device's latest status, in one transaction. When
 * changed, also a history row, an error row per code in added (first seen
 * at its since) and cleared_at = now on the active rows of cleared codes;
 * history and cleared errors older than keep_from are dropped for this
 * device. */
int store_devstatus_put(struct store *st, const char *serial, int64_t now,
                        const struct store_devstatus *cur, int changed,
                        const struct devstatus_error *added, size_t nadded,
                        const char (*cleared)[DEVSTATUS_CODE_BYTES], size_t ncleared,
                        int64_t keep_from);
typedef int (*store_devstatus_cb)(const struct store_devstatus *h, void *arg);
/* The device's newest STORE_DEVSTATUS_HISTORY changes, newest first. */
int store_devstatus_history(struct store *st, const char *serial, store_devstatus_cb cb,
                            void *arg);
typedef int (*store_device_error_cb)(const struct store_device_error *e, void *arg);
/* Its active error codes and the newest cleared ones (STORE_DEVICE_ERRORS
 * in all), newest first. */
int store_device_errors(struct store *st, const char *serial, store_device_error_cb cb,
                        void *arg);
/* Drop every device's history and cleared errors older than keep_from. */
int store_devstatus_prune(struct store *st, int64_t keep_from);
/* A device's STORE_RECENT_SESSIONS newest sessions, newest first. */
int store_session_each_recent_for_device(struct store *st, const char *serial,
                                         store_session_cb cb, void *arg);

/* ---- Sites, certifications and the customer's part in sessions
 * (migration 5, store_site.c) ---- */

#define STORE_DATE_BYTES 11                  /* "YYYY-MM-DD" + NUL */

#define STORE_CC_KINDS_BYTES 32
struct store_site {
	char name[MAX_NAME_BYTES];
	char customer[STORE_TEXT_BYTES];
	char contract_until[STORE_DATE_BYTES];   /* last day of the contract */
	int remote_enabled;
	char remote_changed_by[MAX_NAME_BYTES];  /* who switched it last ("" never) */
	char remote_reason[MAX_REASON_BYTES];
	char approval_mode[16];                  /* "none", "escalations", "all" */
	int64_t created_at;
	/* The maintenance queue's change control (activity.h): "none" or
	 * "approval"; the kinds that need approval ("" with approval: all);
	 * maintenance windows (mwindow.h, "" none) in timezone. */
	char change_control[16];
	char cc_kinds[STORE_CC_KINDS_BYTES];
	char windows[MWINDOW_SPEC_BYTES];
	char timezone[MWINDOW_TZ_BYTES];
};

int store_site_add(struct store *st, const struct store_site *s,
                   const struct store_audit_entry *audit);
int store_site_get(struct store *st, const char *name, struct store_site *out);
/* Update contract_until, approval_mode and remote (with changed_by and
 * reason) from s as a whole; TE_ERR_NOT_FOUND for an unknown site. */
int store_site_update(struct store *st, const struct store_site *s,
                      const struct store_audit_entry *audit);
typedef int (*store_site_cb)(const struct store_site *s, void *arg);
int store_site_each(struct store *st, store_site_cb cb, void *arg);
int store_device_set_site(struct store *st, const char *serial, const char *site,
                          const struct store_audit_entry *audit);
int store_user_set_site(struct store *st, const char *name, const char *site,
                        const struct store_audit_entry *audit);
/* A user's certification for a product family: expires_on "YYYY-MM-DD"
 * (the last valid day); TE_ERR_NOT_FOUND when there is none. */
int store_cert_set(struct store *st, const char *user, const char *product,
                   const char *expires_on, const struct store_audit_entry *audit);
int store_cert_get(struct store *st, const char *user, const char *product,
                   char expires_on[STORE_DATE_BYTES]);
/* Open sessions on the devices of a site, oldest first. */
int store_session_each_open_at_site(struct store *st, const char *site,
                                    store_session_cb cb, void *arg);
/* Sessions waiting for a customer (awaiting_customer), oldest first; site
 * NULL: every site. */
int store_session_each_awaiting_customer(struct store *st, const char *site,
                                         store_session_cb cb, void *arg);

/* ---- The administrator's lifecycle (store_admin.c, migration 11) ---- */
typedef int (*store_user_cb)(const struct store_user *u, void *arg);
/* Every user in name order (pwhash left empty). */
int store_user_each(struct store *st, store_user_cb cb, void *arg);
/* Update role, level, region and site of u->name as a whole, with audit;
 * TE_ERR_NOT_FOUND for an unknown user. */
int store_user_update(struct store *st, const struct store_user *u,
                      const struct store_audit_entry *audit);
/* Disable (revoking every token; *revoked how many, may be NULL) or enable
 * a user, with audit, in one transaction. TE_ERR_NOT_FOUND: no such user;
 * TE_ERR_EXISTS: already in that state (nothing written). */
int store_user_set_disabled(struct store *st, const char *name, int disabled,
                            int *revoked, const struct store_audit_entry *audit);
/* The registry of product families. add: TE_ERR_EXISTS for a duplicate;
 * get: 0 when registered, TE_ERR_NOT_FOUND when not. */
int store_product_add(struct store *st, const char *name, int64_t now,
                      const struct store_audit_entry *audit);
int store_product_get(struct store *st, const char *name);
typedef int (*store_product_cb)(const char *name, int64_t created_at, void *arg);
int store_product_each(struct store *st, store_product_cb cb, void *arg);
/* How many product families are registered. */
int store_product_count(struct store *st, int64_t *out);
/* Forget a relay, with audit; TE_ERR_NOT_FOUND for an unknown one. */
int store_relay_remove(struct store *st, const char *name,
                       const struct store_audit_entry *audit);
/* Make a device enrollable again, in one transaction with audit: status
 * "registered", no certificate (the old one is refused from now on), every
 * unused enrollment token spent, and the new token (hash) added, valid
 * until expires_at. TE_ERR_NOT_FOUND: no such device. */
int store_device_reissue(struct store *st, const char *serial, const char *hash,
                         int64_t expires_at, const struct store_audit_entry *audit);

/* Audit: append one record to the hash chain (own transaction). */
int store_audit_append(struct store *st, const char *actor, const char *action,
                       const char *detail);
typedef int (*store_audit_cb)(const struct audit_record *rec, void *arg);
/* Every record in seq order. */
int store_audit_each(struct store *st, store_audit_cb cb, void *arg);

/* Records after seq, in seq order, at most limit (store_siem.c). */
int store_audit_after(struct store *st, int64_t after, int64_t limit, store_audit_cb cb,
                      void *arg);
/* The seq a SIEM sink has taken the trail to (0: none yet), and moving it
 * (migration 18). */
int store_siem_cursor(struct store *st, const char *sink, int64_t *seq);
int store_siem_cursor_set(struct store *st, const char *sink, int64_t seq);

/* ---- Service records (records.c, migration 20) ---- */

/* Sessions changed at or after since (updated_at) whose current state no
 * record notice covers yet, oldest change first, at most 100. */
int store_session_each_unnoticed(struct store *st, int64_t since, store_session_cb cb,
                                 void *arg);
struct store_record_filter {
	char device[MAX_NAME_BYTES];   /* "" any */
	char site[MAX_NAME_BYTES];
	char user[MAX_NAME_BYTES];
	int64_t since, until;          /* created_at in [since, until); until 0: no end */
	int64_t limit;
};
/* Sessions as records, newest first. */
int store_session_each_record(struct store *st, const struct store_record_filter *f,
                              store_session_cb cb, void *arg);

/* ---- Data files from devices (store_files.c, migration 19) ---- */

#define STORE_FILE_PATH_BYTES 1024
#define STORE_FILES_LIST 500                 /* rows a device's list gets */

struct store_file {
	int64_t id;
	char device[MAX_NAME_BYTES];
	char collection[MAX_NAME_BYTES];
	char path[STORE_FILE_PATH_BYTES];
	int64_t size;
	char sha256[SHA256_HEX_BYTES];       /* "" when refused */
	int64_t mtime, collected_at, stored_at;
	char refused[MAX_REASON_BYTES];      /* "" when kept */
	char activity[ACTENV_ID_BYTES];      /* the activity that collected it, "" none */
};
/* Add f (id set on success); TE_ERR_EXISTS when the device already sent
 * this collection's path of that run. */
int store_file_add(struct store *st, struct store_file *f);
int store_file_find(struct store *st, const char *device, const char *collection,
                    const char *path, int64_t collected_at, struct store_file *out);
int store_file_get(struct store *st, int64_t id, struct store_file *out);
typedef int (*store_file_cb)(const struct store_file *f, void *arg);
/* A device's newest STORE_FILES_LIST files, newest first. */
int store_file_each_for_device(struct store *st, const char *device, store_file_cb cb,
                               void *arg);
/* The bytes a device's kept files take, each content counted once (its
 * quota's measure). */
int store_file_device_bytes(struct store *st, const char *device, int64_t *bytes);
/* 1 when the device has a kept file with these contents. */
int store_file_device_has(struct store *st, const char *device, const char *sha256);
/* Rows stored before keep_from go (at most 1000 a call); cb sees each one
 * first, so that the caller can drop a blob no row holds any more
 * (store_file_sha_used) once the call returned. */
int store_file_prune(struct store *st, int64_t keep_from, store_file_cb cb, void *arg);
int store_file_sha_used(struct store *st, const char *sha256);

/* ---- Signed audit checkpoints (store_checkpoint.c, migration 7) ---- */
/* The chain's head: seq 0 and AUDIT_GENESIS_HASH when empty. */
int store_audit_head(struct store *st, int64_t *seq, char hash[SHA256_HEX_BYTES]);
/* The hash of record seq; TE_ERR_NOT_FOUND when there is none. */
int store_audit_hash_at(struct store *st, int64_t seq, char hash[SHA256_HEX_BYTES]);
/* Keep a signed checkpoint; one per seq (TE_ERR_EXISTS when seq has one). */
int store_checkpoint_add(struct store *st, const struct checkpoint *cp);
/* The checkpoint of the highest seq; TE_ERR_NOT_FOUND when none. */
int store_checkpoint_latest(struct store *st, struct checkpoint *cp);
typedef int (*store_checkpoint_cb)(const struct checkpoint *cp, void *arg);
/* Every stored checkpoint in seq order (a row that does not parse is
 * passed with seq as stored and the rest zeroed, so it fails to verify). */
int store_checkpoint_each(struct store *st, store_checkpoint_cb cb, void *arg);

/* ---- Accounts and MFA (store_account.c, migration 4) ----
 * A user's forced password change, TOTP enrollment (the secret only ever
 * sealed by the caller; the store never sees it in clear), recovery codes
 * (SHA-256 hex only), token scope and idle tracking, and login failure
 * counters per user name and per source address. */

#define STORE_SCOPE_BYTES     8      /* "full" or "setup" */
#define STORE_BOX_BYTES       256    /* hex of a sealed TOTP secret + NUL */
#define STORE_RECOVERY_CODES  10

#define STORE_SCOPE_FULL  "full"
#define STORE_SCOPE_SETUP "setup"     /* only the account routes and logout */

#define STORE_LOCK_USER "user"
#define STORE_LOCK_ADDR "addr"

struct store_account {
	int must_change_password;
	int totp_enrolled;                 /* confirmed with a code */
	int totp_pending;                  /* a secret was issued, not confirmed */
	int64_t totp_last_step;            /* last accepted step; 0 none */
	char totp_box[STORE_BOX_BYTES];    /* "" when neither */
};

/* Failure counting for one kind of key (user name or address). */
struct store_lock_policy {
	int max_failures;                  /* consecutive failures before a lock */
	int64_t base_s, max_s;             /* lock base*2^(failures-max), capped */
};

int store_account_get(struct store *st, const char *user, struct store_account *out);

int store_token_add_scoped(struct store *st, const char *hash, const char *user,
                           const char *scope, int64_t now, int64_t expires_at);
/* Check a bearer token (a read) and record now as its last use (best
 * effort: a locked database does not change the verdict). TE_ERR_NOT_FOUND
 * unknown, TE_ERR_DENIED revoked, TE_ERR_EXPIRED past its expiry,
 * TE_ERR_TIMEOUT unused for more than idle_s (it is revoked then). */
int store_token_use(struct store *st, const char *hash, int64_t now, int64_t idle_s,
                    char user[MAX_NAME_BYTES], char scope[STORE_SCOPE_BYTES]);
/* Revoke every live token of user; *count how many (may be NULL). audit is
 * written in the same transaction (NULL: none). */
int store_token_revoke_user(struct store *st, const char *user, int *count,
                            const struct store_audit_entry *audit);

/* Renewal of a login without a password (migration 12). renew_get: the
 * token's user, scope and auth_at (when its password login was made), for
 * a token that was not revoked (it may have expired): TE_ERR_NOT_FOUND
 * unknown, TE_ERR_DENIED revoked. renewed: give new_hash the auth_at of
 * old_hash and revoke old_hash, with audit, in one transaction
 * (TE_ERR_DENIED when old_hash was revoked meanwhile). */
int store_token_renew_get(struct store *st, const char *hash, char user[MAX_NAME_BYTES],
                          char scope[STORE_SCOPE_BYTES], int64_t *auth_at);
int store_token_renewed(struct store *st, const char *new_hash, const char *old_hash,
                        int64_t auth_at, const struct store_audit_entry *audit);

/* One-time enrollment codes (store_invite.c), kept as SHA-256 hex only.
 * Issue: replace any earlier code of user with hash (valid until
 * expires_at), remove the password (pwhash '': no login until the code is
 * used) and revoke the user's tokens, with audit, in one transaction;
 * *revoked how many (may be NULL). TE_ERR_NOT_FOUND: no such user. */
int store_invite_issue(struct store *st, const char *user, const char *hash, int64_t now,
                       int64_t expires_at, int *revoked,
                       const struct store_audit_entry *audit);
/* Use user's code: when hash matches (constant time) an unused code that
 * has not expired, mark it used, set pwhash (no forced change) and append
 * audit, in one transaction. TE_ERR_NOT_FOUND no code was issued,
 * TE_ERR_DENIED another code, TE_ERR_REPLAY already used, TE_ERR_EXPIRED
 * past expires_at (checked in that order). pwhash NULL only checks. */
int store_invite_use(struct store *st, const char *user, const char *hash, int64_t now,
                     const char *pwhash, const struct store_audit_entry *audit);

/* Store a new password hash, set or clear the forced change, and revoke all
 * the user's tokens, in one transaction with audit. */
int store_password_set(struct store *st, const char *user, const char *pwhash,
                       int must_change, int *revoked,
                       const struct store_audit_entry *audit);

/* Keep a freshly sealed secret awaiting confirmation (replacing an earlier
 * unconfirmed one). TE_ERR_EXISTS when the user is already enrolled. */
int store_totp_set_pending(struct store *st, const char *user, const char *box,
                           int64_t now);
/* Enroll: mark confirmed at step and replace the recovery codes with the n
 * given hashes, with audit. TE_ERR_EXISTS when enrolled meanwhile. */
int store_totp_confirm(struct store *st, const char *user, int64_t step,
                       char hashes[][SHA256_HEX_BYTES], int n,
                       const struct store_audit_entry *audit);
/* Accept step for user only when above the last accepted one (atomically);
 * TE_ERR_REPLAY otherwise. */
int store_totp_accept_step(struct store *st, const char *user, int64_t step);
/* Use one recovery code (by hash; compared in constant time). TE_ERR_DENIED
 * when it is not an unused code of user; *left the unused codes after. */
int store_recovery_use(struct store *st, const char *user, const char *hash,
                       int64_t now, int *left, const struct store_audit_entry *audit);
/* Remove TOTP and recovery codes and revoke the tokens, with audit.
 * TE_ERR_NOT_FOUND when the user had no TOTP at all. */
int store_mfa_reset(struct store *st, const char *user, int *revoked,
                    const struct store_audit_entry *audit);

/* 0 when key of kind is not locked at now; TE_ERR_LOCKED with *until. */
int store_login_locked(struct store *st, const char *kind, const char *key,
                       int64_t now, int64_t *until);
/* Count a failure. A counter quiet for longer than p->max_s starts again.
 * *until is the lock it starts (0 none); *failures the new count. */
int store_login_fail(struct store *st, const char *kind, const char *key, int64_t now,
                     const struct store_lock_policy *p, int *failures, int64_t *until);
/* Clear the counter and any lock; TE_ERR_NOT_FOUND when there was none. */
int store_login_clear(struct store *st, const char *kind, const char *key);
/* ---- Notifications outbox (migration 6, store_notify.c) ----
 * One row per customer notification; notify.c delivers them. state is
 * "pending" until delivered ("delivered") or out of attempts ("failed"). */
#define STORE_NOTIFY_EVENT_BYTES  48
#define STORE_NOTIFY_BODY_BYTES   (16 * 1024)
#define STORE_NOTIFY_ERROR_BYTES  160
#define STORE_NOTIFY_VIA_WEBHOOK  1
#define STORE_NOTIFY_VIA_COMMAND  2

struct store_notification {
	int64_t id;
	char event[STORE_NOTIFY_EVENT_BYTES];
	char site[MAX_NAME_BYTES];
	char body[STORE_NOTIFY_BODY_BYTES];   /* the JSON object delivered */
	char state[STORE_STATE_BYTES];
	int64_t created_at;
	int attempts;
	int64_t next_at;                      /* pending: not before this */
	int64_t delivered_at;                 /* 0 until delivered */
	char last_error[STORE_NOTIFY_ERROR_BYTES];
	int done_via;                         /* STORE_NOTIFY_VIA_* that accepted it */
};

/* Makes the body of notification id (malloc'd JSON text, NULL on failure). */
typedef char *(*store_notify_body_fn)(int64_t id, int64_t created_at, void *arg);
/* Queue a pending notification due at now; its body is made by body_fn
 * once its id is known, all in one transaction. *id receives the id. */
/* The same, and a record notice (record, state) marked in the same
 * transaction: TE_ERR_EXISTS (nothing queued) when it is marked already. */
int store_notify_add_noticed(struct store *st, const char *event, const char *site,
                             int64_t now, store_notify_body_fn body_fn, void *arg,
                             const char *record, const char *state, int64_t *id);
int store_notify_add(struct store *st, const char *event, const char *site,
                     int64_t now, store_notify_body_fn body_fn, void *arg,
                     int64_t *id);
/* The pending notification due first (next_at <= now, lowest next_at then
 * id); TE_ERR_NOT_FOUND when none is due. */
int store_notify_due(struct store *st, int64_t now, struct store_notification *out);
/* From now on every audit record this process appends carries os_user,
 * os_uid, (when not NULL) sudo_user and (when login_uid >= 0) login_uid
 * and login_user in its detail: set by the offline
 * admin commands (`tether-server ...`), never by `run` (store_origin.c). */
int store_audit_set_origin(const char *os_user, long os_uid, const char *sudo_user,
                           long login_uid, const char *login_user);
/* For /metrics and /healthz (store_metrics.c). */
typedef void (*store_count_cb)(const char *state, int64_t count, void *arg);
/* cb once per session state that has sessions, with how many. */
int store_session_state_counts(struct store *st, store_count_cb cb, void *arg);
/* Notifications still pending (the durable outbox's backlog). */
int store_notify_pending_count(struct store *st, int64_t *out);
/* 0 when the database answers a read (the audit trail's head). */
int store_probe(struct store *st);
/* The earliest next_at of any pending notification; TE_ERR_NOT_FOUND: none. */
int store_notify_next_at(struct store *st, int64_t *out);
int store_notify_get(struct store *st, int64_t id, struct store_notification *out);
/* Record one attempt's outcome with its audit entry (may be NULL) in one
 * transaction: state "delivered" (delivered_at = now), "failed", or
 * "pending" again with next_at; done_via is the set of ways that have
 * accepted it so far (a retry skips them). Only a pending row changes
 * (TE_ERR_MISMATCH otherwise). */
int store_notify_attempted(struct store *st, int64_t id, const char *state,
                           int attempts, int done_via, int64_t now, int64_t next_at,
                           const char *last_error,
                           const struct store_audit_entry *audit);
typedef int (*store_notify_cb)(const struct store_notification *n, void *arg);
/* Every notification, oldest first; a non-zero cb result stops and is returned. */
int store_notify_each(struct store *st, store_notify_cb cb, void *arg);

/* ---- The maintenance queue (store_activity.c, migration 21) ---- */

#define STORE_ACT_STATE_BYTES 24
#define STORE_ACT_OUTPUT_BYTES (32 * 1024)   /* an activity's output kept, NUL included */
#define STORE_ACT_LIST_MAX     1000

struct store_activity {
	char id[ACTENV_ID_BYTES];
	char batch[ACTENV_ID_BYTES];         /* the id of the `queue add` that made it */
	char device[MAX_NAME_BYTES];
	char site[MAX_NAME_BYTES];
	char kind[ACTENV_KIND_BYTES];
	char name[MAX_NAME_BYTES];
	char input[ACTENV_INPUT_BYTES];      /* a config change's values */
	char reason[MAX_REASON_BYTES];
	char created_by[MAX_NAME_BYTES];
	char window[MWINDOW_SPEC_BYTES];     /* its own window, "" none */
	char state[STORE_ACT_STATE_BYTES];
	char why[2 * MAX_REASON_BYTES];      /* the end's or the decision's reason */
	char decided_by[MAX_NAME_BYTES];     /* the customer approver, "" none */
	char retry_of[ACTENV_ID_BYTES];
	char envelope[MAX_ACTENV_BYTES + 1]; /* as released ("" not released) */
	int64_t created_at, not_before, not_after;
	int64_t envelope_exp, released_at, started_at, ended_at, updated_at;
	int64_t exit_code;                   /* -1: none */
	char output[STORE_ACT_OUTPUT_BYTES];
};

int store_activity_add(struct store *st, const struct store_activity *a,
                       const struct store_audit_entry *audit);
int store_activity_get(struct store *st, const char *id, struct store_activity *out);
/* Write a's state and what follows it (why, decided_by, envelope and its
 * expiry, the times, exit code and output) when the stored state is still
 * from: TE_ERR_MISMATCH when it changed meanwhile. */
int store_activity_update(struct store *st, const struct store_activity *a, const char *from,
                          const struct store_audit_entry *audit);
typedef int (*store_activity_cb)(const struct store_activity *a, void *arg);
/* Newest first, at most limit (<= STORE_ACT_LIST_MAX); each filter NULL
 * or "": any. */
struct store_activity_filter {
	const char *device, *site, *state, *batch, *created_by;
	int64_t since;                       /* created at or after; 0 any */
	int64_t until;                       /* created before; 0 any */
	int limit;
};
int store_activity_each(struct store *st, const struct store_activity_filter *f,
                        store_activity_cb cb, void *arg);
/* The ids (and creation times) of the activities the sweep moves on
 * (awaiting_approval, queued, released) made after (after_at, after_id),
 * oldest first, at most max; *n how many. */
int store_activity_open_page(struct store *st, int64_t after_at, const char *after_id,
                             char (*ids)[ACTENV_ID_BYTES], int64_t *created, size_t max,
                             size_t *n);
/* A device's released activities, oldest first (what its ping carries). */
int store_activity_each_released(struct store *st, const char *device,
                                 store_activity_cb cb, void *arg);
/* Activities changed at or after since, oldest change first (records.c). */
int store_activity_each_changed(struct store *st, int64_t since, int limit,
                                store_activity_cb cb, void *arg);
/* The data files an activity collected, oldest first. */
int store_file_each_for_activity(struct store *st, const char *activity, store_file_cb cb,
                                 void *arg);
/* Link a stored data file to the activity whose run collected it. */
int store_file_set_activity(struct store *st, int64_t file, const char *activity);

/* ---- Fleet advisories (store_advisory.c, migration 22) ---- */

/* Keep an OSV advisory (body: its JSON, checked by the caller), replacing
 * the one of the same id. */
int store_advisory_put(struct store *st, const char *id, const char *modified,
                       const char *body, int64_t now);
typedef int (*store_advisory_cb)(const char *id, const char *body, void *arg);
/* Every advisory, by id; cb's non-zero return stops and is returned. */
int store_advisory_each(struct store *st, store_advisory_cb cb, void *arg);

/* ---- Deployments (store_deployment.c, migration 23) ---- */

#define STORE_DEPLOY_STATE_BYTES 16
/* Keep a deployment (its body: rollout.c's JSON), new or replacing the
 * row of the same id, with audit (may be NULL) in the same transaction. */
int store_deployment_put(struct store *st, const char *id, const char *state, const char *body,
                         int64_t created_at, int64_t now, const struct store_audit_entry *audit);
/* Its body (malloc'd; the caller frees) and state; TE_ERR_NOT_FOUND. */
int store_deployment_get(struct store *st, const char *id, char **body,
                         char state[STORE_DEPLOY_STATE_BYTES]);
typedef int (*store_deployment_cb)(const char *id, const char *state, const char *body,
                                   void *arg);
/* Each deployment (of state, when not NULL), newest first, at most limit;
 * cb's non-zero return stops and is returned. */
int store_deployment_each(struct store *st, const char *state, long limit,
                          store_deployment_cb cb, void *arg);
typedef int (*store_batch_count_cb)(const char *state, int64_t n, void *arg);
/* How many activities of batch are in each state. */
int store_activity_batch_counts(struct store *st, const char *batch,
                                store_batch_count_cb cb, void *arg);

#endif
