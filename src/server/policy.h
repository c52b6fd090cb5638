/* policy.h: the access policy of a deployment (DIR/policy.conf).
 *
 * Who may do what is data, not code: each role (and each specialist level)
 * holds a list of permissions, each region a rule for opening sessions, and
 * the session limits are numbers. The server checks every API call and
 * every session request against it (srvapi.c, api_user.c). Parsing and the
 * decisions are pure so that they can be unit-tested and fuzzed. The file
 * format is described in docs/architecture.md and in the file `tether-server
 * init` writes (policy_default_text). */
#ifndef TETHER_SERVER_POLICY_H
#define TETHER_SERVER_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bounds.h"

#define POLICY_FILE            "policy.conf"
#define POLICY_MAX_PERMS       64      /* permissions of one role */
#define POLICY_PERM_BYTES      (MAX_NAME_BYTES + 16)
#define POLICY_MAX_REGIONS     64
#define POLICY_REGION_BYTES    8
#define POLICY_ROLE_BYTES      24
#define POLICY_N_ROLES         8       /* specialist.1..3 and five other roles */

/* Defaults of the numeric keys. */
#define POLICY_MAX_DURATION_S  (4 * 3600)
#define POLICY_IDLE_TIMEOUT_S  900
#define POLICY_APPROVAL_S      (24 * 3600)

/* The permissions that guard API routes, each a word of the file. Session
 * actions (forward:NAME, shell, files:read, files:write, diag:NAME,
 * patient_records) are permissions too; policy_perm_valid knows both. */
#define POLICY_DEVICES_VIEW    "devices:view"
#define POLICY_USERS_VIEW      "users:view"
#define POLICY_AUDIT_READ      "audit:read"
#define POLICY_SESSION_REQUEST "session:request"
#define POLICY_SESSION_END_SITE "session:end:site"
#define POLICY_SESSION_END_ANY "session:end:any"
#define POLICY_APPROVALS_VIEW  "approvals:view"
#define POLICY_APPROVALS_DECIDE "approvals:decide"
#define POLICY_SITES_VIEW      "sites:view"
#define POLICY_SITE_SWITCH     "site:switch"
#define POLICY_SITE_APPROVAL   "site:approval"
#define POLICY_FILES_COLLECT   "files:collect"
#define POLICY_RECORDS_VIEW    "records:view"
#define POLICY_QUEUE_VIEW      "queue:view"
#define POLICY_QUEUE_ADD       "queue:add"
#define POLICY_QUEUE_CANCEL    "queue:cancel"
#define POLICY_CONFIG_CHANGE   "config:change"
#define POLICY_SOFTWARE_INSTALL "software:install"
#define POLICY_ADVISORIES_VIEW "advisories:view"
#define POLICY_REPO_PUBLISH    "repo:publish"

struct policy_role {
	char name[POLICY_ROLE_BYTES];       /* "specialist", "auditor", ... */
	int level;                          /* 1..3 for specialist, else 0 */
	size_t nperms;
	char perms[POLICY_MAX_PERMS][POLICY_PERM_BYTES];
};

struct policy_region {
	char code[POLICY_REGION_BYTES];     /* "US", or "default" */
	int allow;                          /* 0: deny */
	unsigned levels;                    /* bit n set: level n may */
	int escalation;                     /* only requests marked escalation */
	int64_t notice_s;                   /* > 0: the customer is told first */
};

struct policy {
	struct policy_role roles[POLICY_N_ROLES];
	size_t nregions;
	struct policy_region regions[POLICY_MAX_REGIONS];
	struct policy_region def;           /* region.default */
	int64_t max_duration_s;
	int64_t idle_timeout_s;             /* 0: none */
	int64_t approval_timeout_s;
};

/* The six roles, in a fixed order (the matrix of `policy show`). */
extern const char *const policy_role_names[];
/* 1 when role is one of the six; level must be 1..3 for specialists. */
int policy_role_valid(const char *role);
/* 1 for customer_approver and customer_viewer: they act for one site. */
int policy_role_is_customer(const char *role);

/* A site's approval mode: "none", "escalations" or "all". */
int policy_approval_mode_ok(const char *mode);

/* Parse policy text (name is used in messages: "name:line: what"). */
int policy_parse(const char *text, size_t len, const char *name,
                 struct policy **out, char *errbuf, size_t errsz);
/* Load DIR/policy.conf. */
int policy_load(const char *dir, struct policy **out, char *errbuf, size_t errsz);
void policy_free(struct policy *p);
/* The commented default file that `tether-server init` writes. */
const char *policy_default_text(void);

/* 1 when perm is a word of the policy vocabulary (for a role's list). */
int policy_perm_valid(const char *perm);
/* 1 when role (at level) holds perm. forward:NAME is held through
 * forward:NAME or forward:*, diag:NAME through diag:NAME or diag:*, and
 * files:read through files:write too. */
int policy_allows(const struct policy *p, const char *role, int level, const char *perm);
/* The rule for a region code: its own or region.default. */
const struct policy_region *policy_region_rule(const struct policy *p, const char *region);
/* Check a session request's region and level against rule; 0 when allowed,
 * TE_ERR_DENIED with a sentence in why otherwise. */
int policy_region_check(const struct policy_region *rule, const char *region, int level,
                        int escalation, char *why, size_t whysz);

/* The effective role x permission matrix as JSON:
 * {"roles":[{"role","level","permissions":[..]}], "regions":[..], "session":{..}} */
json_t *policy_json(const struct policy *p);

#endif
