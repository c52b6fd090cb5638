/* server.h: the running server's shared state (`tether-server run`).
 * Internal to src/server: the HTTP handlers reach the store, keys and
 * long-poll table through this one struct. */
#ifndef TETHER_SERVER_SERVER_H
#define TETHER_SERVER_SERVER_H

#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "checkpoint.h"
#include "mfakey.h"
#include "srvconf.h"
#include "srvmetrics.h"
#include "store.h"

struct longpoll;
struct policy;
struct notifier;
struct siem;
struct relayhealth;
struct pwpool;
struct ratelimit;
struct http_req;
struct connlimit;
struct sdnotify_watchdog;
struct metricsd;

struct server {
	struct srvconf cfg;
	struct store *store;
	struct event_base *base;
	struct evhttp *http;
	struct connlimit *limits;    /* per-address and overall connection limits */
	struct event *http_classify_ev; /* looks at connections evhttp just accepted */
	SSL_CTX *tls;
	SSL_CTX *relay_tls;          /* client side of the relay health checks */
	struct signer *signer;       /* holds every key (signer.h); this process none */
	int signer_dead;             /* it died: the loop stops, the exit code is 1 */
	char *root_pem;              /* GET /api/v1/ca */
	char *issuing_pem;
	char *ticket_pub_pem;        /* returned at enrollment */
	char *checkpoint_pub_pem;    /* returned at enrollment (DIR/audit/checkpoint.pub) */
	struct checkpoint checkpoint; /* the latest signed audit checkpoint; seq 0: none */
	int64_t checkpoint_failed_at; /* the signer refused the last one then; 0: it did not */
	struct longpoll *lp;
	struct longpoll *sess_lp;    /* GET /sessions/ID?wait: held until it changes */
	struct event *sweep_ev;
	struct event *sig_term;
	struct event *sig_int;
	struct event *sig_hup;       /* reload policy.conf and the log level */
	struct sdnotify_watchdog *watchdog; /* WATCHDOG=1 to the service manager */
	unsigned relay_cursor;       /* round-robin position */
	struct relayhealth *health;
	struct pwpool *pwpool;       /* argon2id off the loop (pwpool.h) */
	struct ratelimit *rl_login;  /* per-address token buckets (ratelimit.h) */
	struct ratelimit *rl_enroll;  /* relays' last health checks (relayhealth.h) */
	int64_t revoked_seen;        /* revoked devices at the last sweep; -1: none yet */
	struct notifier *notify;     /* the notification deliverer (notify.h) */
	struct siem *siem;           /* the audit trail's export (siem.h), or NULL */
	int64_t pruned_at;           /* the status history's last pruning (server.c) */
	int records_kicked;          /* a records_notify is queued (records.c) */
	int64_t act_swept_at;        /* where the activity sweep goes on (activity.c) */
	char act_swept_id[24];
	struct repo_online *repo;    /* the repository's snapshot and timestamp (repo.h) */
	struct repopub_set *repopub; /* publications through the API (repopub.h) */
	struct policy *policy;       /* DIR/policy.conf (policy.h) */
	struct http_req *working;    /* the request whose handler runs (http.h) */
	unsigned long audit_failures; /* server_audit calls that failed */
	struct srvmetrics_counts counts; /* for /metrics (srvmetrics.h) */
	struct metricsd *metrics;    /* metrics_listen, or NULL (off) */
};

/* `tether-server run --dir DIR`: returns the process exit code. */
int server_run(const char *dir);
/* Append an audit record whose detail is a JSON object (stolen). */
int server_audit(struct server *srv, const char *actor, const char *action,
                 json_t *detail);
int64_t server_now(void);
/* Move expired sessions on; also run once a second by a timer. */
void server_sweep(struct server *srv);

#endif
