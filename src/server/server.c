/* server.c: `tether-server run`: load the deployment, listen, drop
 * privileges, serve until SIGTERM/SIGINT, then free everything. */
#include "server.h"
#include "siem.h"
#include "activity.h"
#include "records.h"
#include "repo.h"
#include "repopub.h"
#include "rollout.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "srvapi.h"
#include "auditcp.h"
#include "err.h"
#include "fdlimit.h"
#include "http.h"
#include "jbody.h"
#include "log.h"
#include "longpoll.h"
#include "notify.h"
#include "pki.h"
#include "policy.h"
#include "privdrop.h"
#include "sdnotify.h"
#include "signer.h"
#include "pwpool.h"
#include "ratelimit.h"
#include "relayhealth.h"
#include "srvsession.h"
#include "ticket.h"
#include "audit.h"
#include "tls.h"

#define SERVER_SWEEP_INTERVAL_S 1
#define SERVER_STOP_MAX_IDS     64   /* open sessions named in the stop record */

/* The longest a statement on the loop waits for another process's lock. */
#define SERVER_STORE_BUSY_MS 100

int64_t server_now(void)
{
	return (int64_t)time(NULL);
}

int server_audit(struct server *srv, const char *actor, const char *action, json_t *detail)
{
	char *text = jbody_dump(detail);
	int rc;

	rc = store_audit_append(srv->store, actor, action, text ? text : "{}");
	if (rc == 0)
		srv->counts.audit_appends++;
	if (rc != 0) {
		srv->audit_failures++;
		log_error("audit: could not record %s by %s: %s", action, actor, te_strerror(rc));
	}
	free(text);
	return rc;
}

/* What one sweep carries to its callbacks. */
struct server_sweep_ctx {
	struct server *srv;
	int check_revoked;            /* a revocation happened since the last sweep */
};

static int server_sweep_cb(const struct store_session *s, void *arg)
{
	const struct server_sweep_ctx *c = arg;
	struct server *srv = c->srv;
	struct session_limits lim = {
		srv->cfg.consent_timeout_s, TICKET_TTL_S + SESSION_START_GRACE_S,
		srv->policy->max_duration_s,   /* policy.conf session.max_duration_s */
	};
	enum session_state to;
	char reason[MAX_REASON_BYTES];

	if (c->check_revoked && api_device_is_revoked(srv, s->device)) {
		/* A session that slipped in while the device was being revoked. */
		to = SESSION_ENDED;
		snprintf(reason, sizeof(reason), "%s", SESSION_REVOKED_REASON);
		if (session_move(srv->store, s, to, reason, NULL, "server", server_now()) != 0)
			return 0;
		log_info("session %s on %s: %s", s->id, s->device, reason);
		longpoll_wake(srv->lp, s->device);
		return 0;
	}
	if (!session_due(s, server_now(), &lim, &to, reason, sizeof(reason)))
		return 0;
	if (session_move(srv->store, s, to, reason, NULL, "server", server_now()) == 0) {
		log_info("session %s on %s: %s", s->id, s->device, reason);
		longpoll_wake(srv->lp, s->device);
	}
	return 0;
}

static int server_revoked_pred(const char *serial, void *arg)
{
	return api_device_is_revoked(arg, serial);
}

/* 1 when a device may have been revoked since the last sweep. The revoked
 * count only grows, so one cheap query a second replaces a device read per
 * open session and per held ping; when it cannot be read, check each. */
static int server_revocations_moved(struct server *srv)
{
	int64_t n;

	if (store_device_revoked_count(srv->store, &n) != 0)
		return 1;
	if (n == srv->revoked_seen)
		return 0;
	srv->revoked_seen = n;
	return 1;
}

/* Also answers the held pings of devices revoked by `tether-server device
 * revoke` (another process), which ends their sessions in the store only. */
void server_sweep(struct server *srv)
{
	struct server_sweep_ctx c = { srv, server_revocations_moved(srv) };

	(void)store_session_each_open(srv->store, server_sweep_cb, &c);
	if (c.check_revoked)
		longpoll_wake_if(srv->lp, server_revoked_pred, srv);
}

/* Device status history past status.history_days, for devices that no
 * longer report (a report prunes its own device), and data files past
 * files.retention_days: hourly, and at start. */
#define SERVER_PRUNE_EVERY_S 3600

static void server_prune(struct server *srv)
{
	int64_t now = server_now();

	if (srv->pruned_at != 0 && now - srv->pruned_at < SERVER_PRUNE_EVERY_S &&
	    now >= srv->pruned_at)
		return;
	srv->pruned_at = now;
	if (store_devstatus_prune(srv->store, now - srv->cfg.status_history_days * 86400) != 0)
		log_warn("could not prune the device status history (retried in an hour)");
	api_files_prune(srv);
}

static void server_sweep_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	if (signer_check(srv->signer) != 0)
		return;                 /* the dead callback is stopping the loop */
	server_sweep(srv);
	activity_sweep(srv);
	auditcp_tick(srv, 0);
	records_notify(srv);
	server_prune(srv);
	repo_tick(srv);
	repopub_tick(srv);
	rollout_tick(srv);
}

/* Without the signer no ticket, enrollment or TOTP check can be served, and
 * the audit head can no longer be signed: stop rather than limp on. */
static void server_signer_dead(void *arg)
{
	struct server *srv = arg;

	srv->signer_dead = 1;
	if (srv->base != NULL)
		event_base_loopexit(srv->base, NULL);
}

static void server_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	log_info("signal %d: shutting down", (int)sig);
	sdnotify_send("STOPPING=1");
	event_base_loopexit(srv->base, NULL);
}

/* SIGHUP: what can change without a restart. The listener, the keys and the
 * store stay; policy.conf is read again and replaces the policy in force
 * only when it parses whole (a bad file is refused, the old policy kept);
 * log_level is read from tether-server.conf. Every request after this sees
 * the new policy: nothing holds the policy across a turn of the loop. */
static void server_reload(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct srvconf *cfg = calloc(1, sizeof(*cfg));
	struct policy *np = NULL;
	char errbuf[512] = "";
	const char *policy_done, *log_done;
	int rc;

	sdnotify_reloading();
	if (cfg != NULL && srvconf_load(srv->cfg.dir, cfg, errbuf, sizeof(errbuf)) == 0) {
		srv->cfg.log_level = cfg->log_level;
		log_init("tether-server", cfg->log_level);
		log_set_format(cfg->log_format);
		log_done = "log level read";
		log_info("reload: log level from tether-server.conf applied; other settings "
		         "there need a restart");
	} else {
		log_done = "log level kept";
		log_error("reload: tether-server.conf not read (%s); keeping the log level",
		          errbuf[0] ? errbuf : "out of memory");
	}
	free(cfg);
	errbuf[0] = '\0';
	if ((rc = policy_load(srv->cfg.dir, &np, errbuf, sizeof(errbuf))) != 0) {
		policy_done = "kept";
		log_error("reload: policy refused: %s; the policy in force is kept",
		          errbuf[0] ? errbuf : te_strerror(rc));
	} else {
		policy_free(srv->policy);
		srv->policy = np;
		policy_done = "reloaded";
		log_info("reload: policy reloaded from %s/" POLICY_FILE, srv->cfg.dir);
	}
	server_audit(srv, "server", "reload", json_pack("{s:s, s:s, s:s}", "policy",
	             policy_done, "logging", log_done, "error", errbuf));
	sdnotify_send(np != NULL ? "READY=1\nSTATUS=serving; reloaded" :
	              "READY=1\nSTATUS=serving; reload refused a bad policy");
}

/* The stop record names the sessions still open: they are not ended here,
 * because their bytes run through a relay and the agent, not through this
 * process; the server that starts next sweeps them as before. */
static int server_open_cb(const struct store_session *s, void *arg)
{
	json_t *ids = arg;

	if (json_array_size(ids) < SERVER_STOP_MAX_IDS)
		json_array_append_new(ids, json_string(s->id));
	return 0;
}

static json_t *server_stop_detail(struct server *srv, const char *reason)
{
	json_t *ids = json_array();

	if (ids != NULL)
		(void)store_session_each_open(srv->store, server_open_cb, ids);
	return json_pack("{s:s, s:o*}", "reason", reason, "open_sessions", ids);
}

static int server_read_text(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;
	int rc = TE_ERR_IO;

	*out = NULL;
	if (f == NULL)
		return TE_ERR_NOT_FOUND;
	if ((buf = malloc(MAX_PEM_BYTES + 1)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	n = fread(buf, 1, MAX_PEM_BYTES + 1, f);
	if (n == 0 || n > MAX_PEM_BYTES || ferror(f))
		goto out;
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* Load keys, certificates and the store; each failure names its file. */
static int server_audit_feed(const struct audit_record *rec, void *arg)
{
	(void)audit_verifier_feed(arg, rec);     /* the first failure sticks */
	return 0;
}

/* The server's trail is rows written in one SQLite transaction each, so no
 * record can be torn and there is nothing to recover (unlike the agent's
 * and the relay's files). A chain that does not verify was edited: the
 * server does not start on it, as the relay does not. */
static int server_audit_check(struct server *srv, const char *dir)
{
	struct audit_verifier v;

	audit_verifier_init(&v);
	if (store_audit_each(srv->store, server_audit_feed, &v) != 0) {
		log_error("cannot read the audit trail; not starting");
		return TE_ERR_STORE;
	}
	if (v.failed) {
		log_error("the audit trail's chain is broken: %s; not starting (see "
		          "`tether-server audit verify --dir %s`)", v.why, dir);
		return TE_ERR_CHAIN;
	}
	log_info("audit trail: %lld records, chain intact", (long long)v.count);
	return 0;
}

static int server_load(struct server *srv, const char *dir)
{
	const char *d = srv->cfg.dir;
	char p1[PATH_MAX + 32], p2[PATH_MAX + 32], p3[PATH_MAX + 32];
	X509 *root = NULL;
	int rc;

#define SERVER_FILE(buf, name) snprintf(buf, sizeof(buf), "%s/%s", d, name)
	SERVER_FILE(p1, "ca/root.crt");
	if ((rc = pki_cert_load(p1, &root)) != 0 || (rc = pki_cert_to_pem(root, &srv->root_pem)) != 0)
		goto fail;
	SERVER_FILE(p1, "ca/issuing.crt");
	if ((rc = server_read_text(p1, &srv->issuing_pem)) != 0)
		goto fail;
	/* The private keys are the signer's: this process never opens them. */
	SERVER_FILE(p1, "ticket/ticket.pub");
	if ((rc = server_read_text(p1, &srv->ticket_pub_pem)) != 0)
		goto fail;
	SERVER_FILE(p1, SIGNER_CHECKPOINT_PUB);
	if ((rc = server_read_text(p1, &srv->checkpoint_pub_pem)) != 0)
		goto fail;
	SERVER_FILE(p1, "server/server.crt");
	SERVER_FILE(p2, "server/server.key");
	SERVER_FILE(p3, "ca/root.crt");
	if ((rc = tls_server_ctx_new(p1, p2, p3, TLS_CLIENT_CERT_OPTIONAL, &srv->tls)) != 0)
		goto fail;
	/* A held long-poll is an idle TLS connection; its read and write
	 * buffers go back while it waits (issue 12 measured 47.6 KB per held
	 * agent, 33.9 KB with them released). */
	SSL_CTX_set_mode(srv->tls, SSL_MODE_RELEASE_BUFFERS);
	/* The relay health check (on the relay's client port, as a client with
	 * no certificate: the server's is for serving) accepts only a relay's. */
	if ((rc = tls_client_ctx_new(p3, NULL, NULL, &srv->relay_tls)) != 0 ||
	    (rc = tls_ctx_expect_role(srv->relay_tls, PKI_ROLE_RELAY)) != 0)
		goto fail;
	snprintf(p1, sizeof(p1), "%s", srv->cfg.db_path);
	if ((rc = store_open(p1, &srv->store)) != 0)
		goto fail;
	/* The loop never sleeps on another process's lock for long: a locked
	 * database answers 503 with Retry-After (http.h), others are served. */
	store_set_busy_ms(srv->store, SERVER_STORE_BUSY_MS);
#undef SERVER_FILE
	X509_free(root);
	return 0;
fail:
	log_error("cannot load %s: %s (is %s a deployment made by `tether-server init`?)",
	          p1, te_strerror(rc), dir);
	X509_free(root);
	return rc;
}

static void server_free(struct server *srv)
{
	notify_stop(srv);
	siem_stop(srv);
	/* Jobs still queued are answered 503 while evhttp still exists. */
	pwpool_free(srv->pwpool);
	longpoll_free(srv->lp);
	longpoll_free(srv->sess_lp);
	srv->lp = srv->sess_lp = NULL;   /* connections closed below must not reach them */
	relayhealth_free(srv->health);
	ratelimit_free(srv->rl_login);
	ratelimit_free(srv->rl_enroll);
	repopub_free(srv);           /* its event and a running import, while the base exists */
	http_close(srv);
	srvmetrics_stop(srv);
	if (srv->sweep_ev) event_free(srv->sweep_ev);
	if (srv->sig_term) event_free(srv->sig_term);
	if (srv->sig_int) event_free(srv->sig_int);
	if (srv->sig_hup) event_free(srv->sig_hup);
	sdnotify_watchdog_free(srv->watchdog);
	tls_event_base_free(srv->base);
	SSL_CTX_free(srv->tls);
	SSL_CTX_free(srv->relay_tls);
	free(srv->root_pem);
	free(srv->issuing_pem);
	free(srv->ticket_pub_pem);
	free(srv->checkpoint_pub_pem);
	store_close(srv->store);
	signer_free(srv->signer);
	repo_free(srv->repo);
	srv->repo = NULL;
	policy_free(srv->policy);
	free(srv);
}

struct server_wake {
	struct server *srv;
	char id[STORE_SESSION_ID_BYTES];
};

static void server_session_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_wake *w = arg;

	(void)fd;
	(void)what;
	longpoll_wake(w->srv->sess_lp, w->id);
	free(w);
}

/* A session changed in the store: whoever waits on it (tether session wait,
 * ssh, forward...) hears it now rather than at its next poll. Answered from
 * the loop, not inside the handler that made the change. */
static void server_session_changed(void *arg, const char *id)
{
	struct server *srv = arg;
	struct timeval now = { 0, 0 };
	struct server_wake *w;

	records_kick(srv);
	if (srv->sess_lp == NULL || !longpoll_is_held(srv->sess_lp, id) ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return;
	w->srv = srv;
	snprintf(w->id, sizeof(w->id), "%s", id);
	if (event_base_once(srv->base, -1, EV_TIMEOUT, server_session_wake_cb, w, &now) != 0)
		free(w);
}

static int server_events(struct server *srv)
{
	struct timeval tick = { SERVER_SWEEP_INTERVAL_S, 0 };
	int rc;

	if ((srv->base = event_base_new()) == NULL ||
	    (srv->sweep_ev = event_new(srv->base, -1, EV_PERSIST, server_sweep_timer, srv)) == NULL ||
	    (srv->sig_term = evsignal_new(srv->base, SIGTERM, server_signal, srv)) == NULL ||
	    (srv->sig_int = evsignal_new(srv->base, SIGINT, server_signal, srv)) == NULL ||
	    (srv->sig_hup = evsignal_new(srv->base, SIGHUP, server_reload, srv)) == NULL)
		return TE_ERR_NOMEM;
	event_add(srv->sweep_ev, &tick);
	event_add(srv->sig_term, NULL);
	event_add(srv->sig_int, NULL);
	event_add(srv->sig_hup, NULL);
	if ((rc = sdnotify_watchdog_new(srv->base, &srv->watchdog)) != 0)
		return rc;
	if ((rc = ratelimit_new(srv->cfg.rl_login_per_min, srv->cfg.rl_login_burst,
	                        &srv->rl_login)) != 0 ||
	    (rc = ratelimit_new(srv->cfg.rl_enroll_per_min, srv->cfg.rl_enroll_burst,
	                        &srv->rl_enroll)) != 0)
		return rc;
	if ((rc = relayhealth_new(srv->base, srv->store, srv->relay_tls,
	                          srv->cfg.relay_check_interval_s,
	                          srv->cfg.relay_check_timeout_ms, &srv->health)) != 0)
		return rc;
	if ((rc = longpoll_new(srv->base, api_session_wait_answer, srv, &srv->sess_lp)) != 0)
		return rc;
	longpoll_no_presence(srv->sess_lp);
	store_on_session_change(srv->store, server_session_changed, srv);
	if ((rc = longpoll_new(srv->base, api_ping_answer, srv, &srv->lp)) != 0)
		return rc;
	longpoll_park(srv->lp);   /* api_ping_answer needs the serial alone */
	return 0;
}

int server_run(const char *dir)
{
	struct server *srv = calloc(1, sizeof(*srv));
	char errbuf[512] = "";
	int rc, code = 1;

	if (srv == NULL)
		return 1;
	srv->revoked_seen = -1;
	sdnotify_init();             /* before the signer is forked: it must not notify */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = srvconf_load(dir, &srv->cfg, errbuf, sizeof(errbuf))) != 0) {
		fprintf(stderr, "tether-server: %s\n", errbuf[0] ? errbuf : te_strerror(rc));
		goto out;
	}
	/* A bad policy is named by file and line, and the server does not start. */
	if ((rc = policy_load(dir, &srv->policy, errbuf, sizeof(errbuf))) != 0) {
		fprintf(stderr, "tether-server: %s\n", errbuf[0] ? errbuf : te_strerror(rc));
		goto out;
	}
	log_init("tether-server", srv->cfg.log_level);
	log_set_format(srv->cfg.log_format);
	/* Before anything is opened: connection limits derive from it (http.c). */
	(void)fdlimit_raise();
	/* First, while nothing else is open: the signer inherits no descriptor
	 * of ours, and we never open the files it loads. */
	if ((rc = signer_start(&srv->cfg, &srv->signer)) != 0) {
		log_error("cannot start the signer process: %s (its log line above says why)",
		          te_strerror(rc));
		goto out;
	}
	signer_on_dead(srv->signer, server_signer_dead, srv);
	if ((rc = server_load(srv, dir)) != 0 || (rc = server_audit_check(srv, dir)) != 0 ||
	    (rc = server_events(srv)) != 0 ||
	    (rc = notify_start(srv)) != 0 || (rc = siem_start(srv)) != 0 ||
	    (rc = http_listen(srv)) != 0 ||
	    (rc = srvmetrics_start(srv)) != 0 || (rc = repo_prepare(srv)) != 0 ||
	    (rc = repopub_prepare(srv)) != 0)
		goto out;
	/* Bound to the port; nothing after this needs root. */
	if ((rc = privdrop_to(srv->cfg.user)) != 0) {
		log_error("cannot drop privileges to user %s: %s", srv->cfg.user, te_strerror(rc));
		goto out;
	}
	/* Threads start after the drop: none of them ever ran as root. */
	if ((rc = pwpool_new(srv->base, (int)srv->cfg.pwhash_workers, (int)srv->cfg.pwhash_queue,
	                     &srv->pwpool)) != 0) {
		log_error("cannot start the password workers: %s", te_strerror(rc));
		goto out;
	}
	auditcp_load(srv);
	server_audit(srv, "server", "start", json_pack("{s:s, s:s, s:I}", "listen",
	             srv->cfg.listen_host, "port", srv->cfg.listen_port, "signer_pid",
	             (json_int_t)signer_pid(srv->signer)));
	auditcp_tick(srv, 1);
	sdnotify_send("READY=1\nSTATUS=serving");
	event_base_dispatch(srv->base);
	sdnotify_send("STOPPING=1");
	if (srv->signer_dead) {
		server_audit(srv, "server", "stop", server_stop_detail(srv, "signer process died"));
		goto out;
	}
	server_audit(srv, "server", "stop", server_stop_detail(srv, "signal"));
	auditcp_tick(srv, 1);      /* the last records are covered too */
	code = 0;
out:
	server_free(srv);
	return code;
}
