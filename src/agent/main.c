/* main.c: tether-agent subcommands. */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libssh/libssh.h>
#include <openssl/ssl.h>

#include "actenv.h"
#include "agentaudit.h"
#include "cmdhelp.h"
#include "agentconf.h"
#include "apiq.h"
#include "consent.h"
#include "agentclock.h"
#include "enroll.h"
#include "err.h"
#include "httpproxy.h"
#include "log.h"
#include "monitor.h"
#include "ping.h"
#include "collect.h"
#include "actrun.h"
#include "devreport.h"
#include "sftpchild.h"
#include "support.h"
#include "offline.h"
#include "httpc.h"
#include "selfupdate.h"
#include "text.h"
#include "tuf.h"
#include "update.h"
#include "ticket.h"
#include "pki.h"
#include "tls.h"

#define AGENT_STOP_GRACE_S 5
/* How long a stopping agent waits for the server to take its end reports
 * (they stay on disk for the next start otherwise). */
#define AGENT_STOP_REPORT_S 3

static const char usage_text[] =
	"usage:\n"
	"  tether-agent enroll --config FILE [--server URL] [--serial SN] --token TOKEN\n"
	"               --ca-fingerprint SHA256 [--support-password-file F]\n"
	"  tether-agent run --config FILE\n"
	"  tether-agent consent list | status | watch | accept ID | deny ID | end ID\n"
	"               --config FILE\n"
	"  tether-agent support-password --config FILE   (new password on stdin)\n"
	"  tether-agent support-password --status | --generate  --config FILE\n"
	"  tether-agent audit verify --config FILE\n"
	"  tether-agent update check [TARGET] --config FILE\n"
	"               (the device's TUF client against the server's repository: the\n"
	"               trusted metadata in state_dir/tuf refreshed and kept; with\n"
	"               TARGET, its verified length, SHA-256 and custom data)\n"
	"  tether-agent update fetch COMPONENT TARGET --config FILE\n"
	"               (what an install activity runs first, as the agent's user:\n"
	"               the same check, then TARGET judged against this device and\n"
	"               downloaded, resuming, into state_dir/tuf/staged; exit 0\n"
	"               staged, 1 failed, 2 refused, 3 already installed)\n"
	"  tether-agent install BUNDLE --config FILE [--accept-expired --reason TEXT]\n"
	"               (offline: the release in a bundle from tether-server repo bundle,\n"
	"               checked by the same TUF client against the root this device\n"
	"               trusts, then installed with install.command; a bundle whose\n"
	"               timestamp has expired only with --accept-expired and a reason,\n"
	"               audited with who ran it; reported to the server at the next\n"
	"               ping; run as root)\n"
	"  tether-agent selftest --config FILE\n"
	"               (the config and the device's keys load and the server answers a\n"
	"               ping from this device; what the agent's own update asks of a new\n"
	"               binary before it takes the old one's place)\n"
	"  tether-agent --version\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* Options shared by every subcommand; positional words go to words[]. */
struct agent_args {
	const char *config, *server, *serial, *token, *fp, *pwfile, *reason;
	const char *words[3];
	int accept_expired;       /* install: --accept-expired */
	int nwords;
	int flags;                /* support-password: SUPPORT_CMD_* */
};

static int parse_args(int argc, char **argv, struct agent_args *a)
{
	static const struct { const char *name; size_t off; } opts[] = {
		{ "--config", offsetof(struct agent_args, config) },
		{ "--server", offsetof(struct agent_args, server) },
		{ "--serial", offsetof(struct agent_args, serial) },
		{ "--token", offsetof(struct agent_args, token) },
		{ "--ca-fingerprint", offsetof(struct agent_args, fp) },
		{ "--support-password-file", offsetof(struct agent_args, pwfile) },
		{ "--reason", offsetof(struct agent_args, reason) },
	};
	size_t k;
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 2; i < argc; i++) {
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strcmp(argv[i], opts[k].name) == 0)
				break;
		if (k < sizeof(opts) / sizeof(opts[0])) {
			if (i + 1 >= argc) {
				fprintf(stderr, "tether-agent: %s needs a value\n", argv[i]);
				return -1;
			}
			*(const char **)((char *)a + opts[k].off) = argv[++i];
		} else if (strcmp(argv[1], "support-password") == 0 &&
		           strcmp(argv[i], "--status") == 0) {
			a->flags |= SUPPORT_CMD_STATUS;
		} else if (strcmp(argv[1], "support-password") == 0 &&
		           strcmp(argv[i], "--generate") == 0) {
			a->flags |= SUPPORT_CMD_GENERATE;
		} else if (strcmp(argv[1], "install") == 0 &&
		           strcmp(argv[i], "--accept-expired") == 0) {
			a->accept_expired = 1;
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(stderr, "tether-agent: unknown option %s\n", argv[i]);
			return -1;
		} else if (a->nwords < 3) {
			a->words[a->nwords++] = argv[i];
		} else {
			fprintf(stderr, "tether-agent: unexpected argument %s\n", argv[i]);
			return -1;
		}
	}
	if (a->config == NULL) {
		fprintf(stderr, "tether-agent %s: --config FILE is required (for example "
		        "--config /etc/tether/tether-agent.conf)\n", argv[1]);
		return -1;
	}
	return 0;
}

static int load_conf(const char *path, struct agent_conf **conf)
{
	char err[512];
	int rc = agentconf_load(path, conf, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "tether-agent: %s\n", err);
	if (rc == 0) {
		log_init("tether-agent", (*conf)->log_level);
		log_set_format((*conf)->log_format);
	}
	return rc;
}

/* ---- run ------------------------------------------------------------------ */

struct agent_run {
	struct event_base *base;
	struct agent_conf *conf;
	struct consent *consent;
	int stopping;
};

static void run_reap(struct agent_run *r)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (r->consent != NULL)
			consent_on_worker_exit(r->consent, pid, status);
}

/* SIGHUP (passed on by the monitor): the log level is what the network part
 * takes from the config file without a restart. The relays come from the
 * server with each session, so there is no relay list here to reload; the
 * server address, identity and consent settings need a restart. */
static void run_reload(struct agent_run *r)
{
	struct agent_conf *fresh = NULL;
	char err[512] = "";

	if (agentconf_load(r->conf->path, &fresh, err, sizeof(err)) != 0) {
		log_error("reload: %s; keeping the settings in force", err);
		return;
	}
	r->conf->log_level = fresh->log_level;
	log_init("tether-agent", fresh->log_level);
	log_set_format(fresh->log_format);
	agentconf_free(fresh);
	log_info("reload: log level from %s applied; other settings need a restart",
	         r->conf->path);
}

/* Tell the monitor that this loop turns (monitor.h). */
static void run_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	monitor_heartbeat();
}

static void run_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent_run *r = arg;

	if (sig == SIGCHLD) {
		run_reap(r);
		return;
	}
	if (sig == SIGHUP) {
		run_reload(r);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	r->stopping = 1;
	event_base_loopbreak(r->base);
}

/* Stop every worker and wait for it, bounded; SIGKILL what is left. */
static void run_stop_workers(struct agent_run *r)
{
	time_t end;

	consent_shutdown(r->consent);
	if (consent_ending(r->consent) > 0) {
		struct timeval tv = { AGENT_STOP_REPORT_S, 0 };

		/* The loop sends them (and reaps workers on SIGCHLD meanwhile). */
		event_base_loopexit(r->base, &tv);
		event_base_dispatch(r->base);
	}
	consent_shutdown(r->consent);            /* the workers still waiting */
	end = time(NULL) + AGENT_STOP_GRACE_S;
	while (consent_workers(r->consent) > 0 && time(NULL) < end) {
		run_reap(r);
		if (consent_workers(r->consent) > 0)
			usleep(50 * 1000);
	}
	if (consent_workers(r->consent) > 0) {
		/* Workers that ignore SIGTERM get SIGKILL, by pid only. */
		consent_kill_workers(r->consent);
		usleep(100 * 1000);
	}
	run_reap(r);
}

/* The state directory holds the device key, the SSH host key, the support
 * hash and the audit log: 0700, and it must belong to the uid the network
 * part runs as (conf->user when started as root), which writes there.
 * Say so now rather than fail quietly at the first session; never chown
 * or chmod a path from a config file. */
static int run_check_state(const struct agent_conf *conf, uid_t owner, const char *who)
{
	static const char *const keys[] = { "device.key", "ssh_hostkey", "support.hash" };
	char path[AGENT_PATH_BYTES];
	struct stat st;
	size_t i;

	if (stat(conf->state_dir, &st) != 0) {
		fprintf(stderr, "tether-agent run: %s: %s\n", conf->state_dir, strerror(errno));
		return TE_ERR_NOT_FOUND;
	}
	if (st.st_uid != owner) {
		fprintf(stderr, "tether-agent run: state_dir %s belongs to uid %ld, but the agent "
		        "runs its network part as %s (uid %ld) and must write there; run "
		        "`chown -R %s %s`\n", conf->state_dir, (long)st.st_uid, who,
		        (long)owner, who, conf->state_dir);
		return TE_ERR_DENIED;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr, "tether-agent run: state_dir %s is mode %03o; it holds the "
		        "device's keys and audit log and must be 0700: run `chmod 700 %s`\n",
		        conf->state_dir, (unsigned int)(st.st_mode & 0777), conf->state_dir);
		return TE_ERR_DENIED;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		agentconf_state_path(conf, keys[i], path, sizeof(path));
		if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
			fprintf(stderr, "tether-agent run: %s is mode %03o; a key or hash must "
			        "be 0600: run `chmod 600 %s`\n", path,
			        (unsigned int)(st.st_mode & 0777), path);
			return TE_ERR_DENIED;
		}
	}
	return 0;
}

/* Is pw in the group named name (primary or member)? */
/* Started as root: the network part drops to `user`, and every shell,
 * diagnostic and SFTP server runs as `support_user`, a real account that
 * is neither root, nor the agent's user, nor in consent_group. */
static int run_check_accounts(const struct agent_conf *conf, uid_t *agent_uid)
{
	struct passwd *pw;
	uid_t uid;

	if (conf->user[0] == '\0' || (pw = getpwnam(conf->user)) == NULL ||
	    pw->pw_uid == 0) {
		fprintf(stderr, "tether-agent run: started as root, the agent needs `user = "
		        "NAME` in %s: an unprivileged account of its own for the part that "
		        "faces the network%s%s%s\n", conf->path, conf->user[0] ? " (" : "",
		        conf->user, conf->user[0] ? " is not one)" : "");
		return TE_ERR_INVALID;
	}
	uid = *agent_uid = pw->pw_uid;
	if ((pw = getpwnam(conf->support_user)) == NULL) {
		fprintf(stderr, "tether-agent run: support_user = %s in %s: no such account; "
		        "as root the agent runs every shell, diagnostic and SFTP server as "
		        "this account (create it, e.g. `useradd --system --shell /bin/sh %s`)\n",
		        conf->support_user, conf->path, conf->support_user);
		return TE_ERR_NOT_FOUND;
	}
	if (pw->pw_uid == 0 || pw->pw_uid == uid || agentconf_user_in_group(pw, conf->consent_group)) {
		fprintf(stderr, "tether-agent run: support_user = %s in %s %s; it must be an "
		        "account of its own that can reach none of the agent's state\n",
		        conf->support_user, conf->path, pw->pw_uid == 0 ? "is root" :
		        pw->pw_uid == uid ? "is the agent's own user" :
		        "is in consent_group and could answer the consent socket");
		return TE_ERR_INVALID;
	}
	return 0;
}

/* What `run` checks before it starts anything. */
static int run_precheck(const struct agent_conf *conf)
{
	char missing[AGENT_PATH_BYTES];
	struct passwd *pw;
	uid_t owner = geteuid();
	int rc;

	if (enroll_check(conf, missing, sizeof(missing)) != 0) {
		fprintf(stderr, "tether-agent run: not enrolled (%s is missing); run "
		        "`tether-agent enroll --config %s ...` first\n", missing, conf->path);
		return TE_ERR_NOT_FOUND;
	}
	if (conf->server[0] == '\0' || conf->serial[0] == '\0') {
		fprintf(stderr, "tether-agent run: set server and serial in %s\n", conf->path);
		return TE_ERR_INVALID;
	}
	if (geteuid() == 0 && (rc = run_check_accounts(conf, &owner)) != 0)
		return rc;
	pw = getpwuid(owner);
	return run_check_state(conf, owner, geteuid() == 0 ? conf->user :
	                       pw != NULL ? pw->pw_name : "the agent's user");
}

static int run_setup(struct agent_run *r, SSL_CTX **ctx, EVP_PKEY **tpub)
{
	char ca[AGENT_PATH_BYTES], crt[AGENT_PATH_BYTES], key[AGENT_PATH_BYTES];
	char tp[AGENT_PATH_BYTES];
	int rc;

	agentconf_state_path(r->conf, "ca.crt", ca, sizeof(ca));
	agentconf_state_path(r->conf, "device.crt", crt, sizeof(crt));
	agentconf_state_path(r->conf, "device.key", key, sizeof(key));
	agentconf_state_path(r->conf, "ticket.pub", tp, sizeof(tp));
	if ((rc = tls_client_ctx_new(ca, crt, key, ctx)) != 0 ||
	    (rc = tls_ctx_expect_role(*ctx, PKI_ROLE_SERVER)) != 0) {
		fprintf(stderr, "tether-agent run: cannot load the device identity "
		        "from %s: %s\n", r->conf->state_dir, te_strerror(rc));
		return rc;
	}
	if ((rc = ticket_key_load_public(tp, tpub)) != 0) {
		fprintf(stderr, "tether-agent run: %s: %s\n", tp, te_strerror(rc));
		return rc;
	}
	return 0;
}

/* Say once which proxy the agent uses, never with its credentials. The
 * config's proxy was checked at load; HTTPS_PROXY is checked here. */
static int run_log_proxy(const struct agent_conf *conf)
{
	const char *proxy = agentconf_proxy(conf, conf->server);
	char desc[HTTPPROXY_HOST_BYTES + 16];

	if (proxy == NULL)
		return 0;
	if (httpproxy_describe(proxy, desc, sizeof(desc)) != 0) {
		fprintf(stderr, "tether-agent run: HTTPS_PROXY must be "
		        "http://[user:pass@]host:port\n");
		return TE_ERR_INVALID;
	}
	log_info("using proxy %s", desc);
	return 0;
}

/* The network part (monitor.h): already running as `user`; the consent
 * socket is listen_fd. */
static int run_network(struct agent_conf *conf, int listen_fd)
{
	struct agent_run r = { .conf = conf };
	struct event *sig[4] = { NULL, NULL, NULL, NULL }, *beat = NULL;
	static const int sigs[4] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP };
	struct timeval beat_tv = { MONITOR_HEARTBEAT_S, 0 };
	struct apiq *api = NULL;
	struct ping *ping = NULL;
	struct devreport *report = NULL;
	struct collector *collector = NULL;
	struct actrun *actrun = NULL;
	struct apiq *upq = NULL;
	SSL_CTX *ctx = NULL;
	EVP_PKEY *tpub = NULL;
	int i, rc;

	signal(SIGPIPE, SIG_IGN);
	/* Before any TLS: the kept offset judges the server's certificate. */
	agentclock_start(conf);
	if ((rc = run_setup(&r, &ctx, &tpub)) != 0) {
		rc = MONITOR_EXIT_CONFIG;
		goto out;
	}
	if ((r.base = event_base_new()) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < 4; i++) {
		sig[i] = evsignal_new(r.base, sigs[i], run_on_signal, &r);
		if (sig[i] == NULL || evsignal_add(sig[i], NULL) != 0) {
			rc = TE_ERR_SYS;
			goto out;
		}
	}
	if ((beat = event_new(r.base, -1, EV_PERSIST, run_heartbeat, NULL)) == NULL ||
	    event_add(beat, &beat_tv) != 0) {
		rc = TE_ERR_SYS;
		goto out;
	}
	if ((rc = run_log_proxy(conf)) != 0)
		goto out;
	/* Consent answers and end reports on one connection; recordings and
	 * data files on another: a chunk in flight on a slow network must not
	 * hold up an answer queued behind it. */
	if ((rc = apiq_new(r.base, conf->server, agentconf_proxy(conf, conf->server),
	                   ctx, &api)) != 0 ||
	    (rc = apiq_new(r.base, conf->server, agentconf_proxy(conf, conf->server), ctx,
	                   &upq)) != 0 ||
	    (rc = consent_new(r.base, conf, api, upq, tpub, listen_fd, &r.consent)) != 0) {
		fprintf(stderr, "tether-agent run: cannot start: %s\n", te_strerror(rc));
		goto out;
	}
	/* Uploads keep their connection: no handshake per chunk, and the server
	 * takes large chunks only on a connection that already carried one of
	 * this device's requests. Every chunk names its offset, so one sent
	 * again after the server closed the kept connection changes nothing. */
	apiq_set_keepalive(upq, 1);
	if ((rc = devreport_new(r.base, conf, api, &report)) != 0 ||
	    (rc = collector_new(r.base, conf, upq, &collector)) != 0 ||
	    (rc = actrun_new(r.base, conf, api, tpub, collector, r.consent, &actrun)) != 0 ||
	    (rc = ping_new(r.base, conf, ctx, r.consent, report, &ping)) != 0)
		goto out;
	ping_set_actrun(ping, actrun);
	agentaudit_log(conf, "agent", "agent_start", "serial %s server %s version %s",
	               conf->serial, conf->server, TETHER_VERSION);
	consent_recover(r.consent);
	log_info("running: serial %s, server %s, consent socket %s", conf->serial,
	         conf->server, conf->consent_socket);
	devreport_start(report);
	collector_start(collector);
	actrun_set_devreport(actrun, report);
	actrun_start(actrun);
	ping_start(ping);
	event_base_dispatch(r.base);
	rc = actrun_wants_restart(actrun) ? MONITOR_EXIT_UPDATE : 0;
out:
	if (r.consent != NULL)
		run_stop_workers(&r);
	ping_free(ping);
	actrun_free(actrun);
	/* The upload queue first: its requests borrow the collector's chunk
	 * buffer until their callbacks have run. */
	apiq_free(upq);
	collector_free(collector);
	apiq_free(api);
	devreport_free(report);
	consent_free(r.consent);
	for (i = 0; i < 4; i++)
		if (sig[i] != NULL)
			event_free(sig[i]);
	if (beat != NULL)
		event_free(beat);
	if (r.base != NULL) {
		agentaudit_log(conf, "agent", "agent_stop", "serial %s", conf->serial);
		tls_event_base_free(r.base);
	}
	EVP_PKEY_free(tpub);
	SSL_CTX_free(ctx);
	return rc == 0 ? 0 : rc == MONITOR_EXIT_CONFIG || rc == MONITOR_EXIT_UPDATE ? rc : 1;
}

static int cmd_run(struct agent_conf *conf, char **argv)
{
	char exe[PATH_MAX];
	ssize_t n;
	int rc;

	if ((rc = run_precheck(conf)) != 0)
		return rc;
	/* The binary's path, for the agent's own update (selfupdate.h): the
	 * one it was started as (a service's absolute ExecStart path), else
	 * the one the kernel ran. */
	if (strchr(argv[0], '/') != NULL && realpath(argv[0], exe) != NULL) {
		selfupdate_set_self(exe, argv);
	} else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		selfupdate_set_self(exe, argv);
	}
	return monitor_run(conf, run_network) == 0 ? 0 : TE_ERR_SYS;
}

/* `tether-agent selftest`: what the agent's own update asks of a new
 * binary before it takes the old one's place: the config and the device's
 * keys load, and the server answers a ping from this device. */
static int cmd_selftest(struct agent_conf *conf)
{
	char ca[AGENT_PATH_BYTES], crt[AGENT_PATH_BYTES], key[AGENT_PATH_BYTES], err[256];
	char *body = NULL, *resp = NULL;
	SSL_CTX *ctx = NULL;
	int status = 0, rc;

	agentconf_state_path(conf, "ca.crt", ca, sizeof(ca));
	agentconf_state_path(conf, "device.crt", crt, sizeof(crt));
	agentconf_state_path(conf, "device.key", key, sizeof(key));
	if ((rc = tls_client_ctx_new(ca, crt, key, &ctx)) != 0 ||
	    (rc = tls_ctx_expect_role(ctx, PKI_ROLE_SERVER)) != 0) {
		fprintf(stderr, "tether-agent selftest: the device's keys do not load: %s\n",
		        te_strerror(rc));
		SSL_CTX_free(ctx);
		return 1;
	}
	if ((body = ping_body_full(conf, 0, NULL, 0, NULL, NULL, -1, NULL)) == NULL ||
	    httpc_request_sync_via(conf->server, agentconf_proxy(conf, conf->server), ctx, "POST",
	                           "/api/v1/ping", NULL, body, 20, &status, &resp, err,
	                           sizeof(err)) != 0 || status != 200) {
		fprintf(stderr, "tether-agent selftest: the server did not answer this device (%s)\n",
		        status != 0 ? "refused" : err);
		rc = 1;
	} else {
		printf("tether-agent %s: config, keys and the server (%s) answer as device %s\n",
		       TETHER_VERSION, conf->server, conf->serial);
		rc = 0;
	}
	free(body);
	free(resp);
	SSL_CTX_free(ctx);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------- */

static int cmd_enroll(struct agent_conf *conf, const struct agent_args *a)
{
	struct enroll_args e = { a->server, a->serial, a->token, a->fp, a->pwfile };

	if (a->token == NULL || a->fp == NULL) {
		fprintf(stderr, "tether-agent enroll: --token TOKEN and --ca-fingerprint "
		        "SHA256 are required (both come from the server administrator: "
		        "`tether-server device add` and `tether-server init`)\n");
		return TE_ERR_INVALID;
	}
	agentclock_start(conf);
	return enroll_run(conf, &e);
}

static int cmd_consent(struct agent_conf *conf, const struct agent_args *a)
{
	const char *verb = a->nwords > 0 ? a->words[0] : NULL;
	int no_id = verb != NULL && (strcmp(verb, "list") == 0 ||
	                             strcmp(verb, "status") == 0 ||
	                             strcmp(verb, "watch") == 0);

	if (verb == NULL || (!no_id && a->nwords != 2) || (no_id && a->nwords != 1)) {
		fprintf(stderr, "tether-agent consent: use `consent list|status|watch`, or "
		        "`consent accept|deny|end ID` with an ID from the list\n");
		return TE_ERR_INVALID;
	}
	if (!no_id && strcmp(verb, "accept") != 0 &&
	    strcmp(verb, "deny") != 0 && strcmp(verb, "end") != 0) {
		fprintf(stderr, "tether-agent consent: unknown action %s (list, status, "
		        "watch, accept, deny or end)\n", verb);
		return TE_ERR_INVALID;
	}
	return consent_client(conf, verb, a->nwords > 1 ? a->words[1] : NULL);
}

int main(int argc, char **argv)
{
	struct agent_conf *conf = NULL;
	struct agent_args a;
	const char *cmd;
	int rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tether-agent %s\n", TETHER_VERSION);
		return 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "sftp-server") == 0)     /* the session worker's SFTP child */
		return sftpchild_main(argc - 1, argv + 1);
	if (strcmp(cmd, "collect-read") == 0)    /* a collection's reader (collect.h) */
		return collect_read_main(argc - 1, argv + 1);
	if ((rc = cmdhelp_main("tether-agent", usage_text, "tether-agent(8)",
	                       argc - 1, argv + 1)) >= 0)
		return rc;
	if (strcmp(cmd, "enroll") != 0 && strcmp(cmd, "run") != 0 &&
	    strcmp(cmd, "consent") != 0 && strcmp(cmd, "support-password") != 0 &&
	    strcmp(cmd, "audit") != 0 && strcmp(cmd, "update") != 0 &&
	    strcmp(cmd, "install") != 0 && strcmp(cmd, "selftest") != 0) {
		fprintf(stderr, "tether-agent: unknown command %s\n", cmd);
		usage(stderr);
		return 2;
	}
	for (int i = 2; strcmp(cmd, "support-password") == 0 && i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			support_cmd_usage(stdout);
			return 0;
		}
	}
	if (parse_args(argc, argv, &a) != 0)
		return 2;
	if (a.flags == (SUPPORT_CMD_STATUS | SUPPORT_CMD_GENERATE)) {
		fprintf(stderr, "tether-agent support-password: --status changes nothing; "
		        "give it without --generate\n");
		return 2;
	}
	if (strcmp(cmd, "audit") == 0 &&
	    (a.nwords != 1 || strcmp(a.words[0], "verify") != 0)) {
		fprintf(stderr, "tether-agent audit: the only action is `audit verify "
		        "--config FILE`\n");
		return 2;
	}
	if (strcmp(cmd, "update") == 0 &&
	    !(a.nwords >= 1 && a.nwords <= 2 && strcmp(a.words[0], "check") == 0) &&
	    !(a.nwords == 3 && strcmp(a.words[0], "fetch") == 0 && actenv_name_ok(a.words[1]) &&
	      tuf_target_name_ok(a.words[2]))) {
		fprintf(stderr, "tether-agent update: say `update check [TARGET] --config FILE` or "
		        "`update fetch COMPONENT TARGET --config FILE`\n");
		return 2;
	}
	if (strcmp(cmd, "install") == 0 && a.nwords != 1) {
		fprintf(stderr, "tether-agent install: say `install BUNDLE --config FILE` (the "
		        "bundle from tether-server repo bundle)\n");
		return 2;
	}
	if (a.reason != NULL && (strcmp(cmd, "install") != 0 ||
	                         strlen(a.reason) >= OFFLINE_REASON_BYTES ||
	                         text_check_display(a.reason, strlen(a.reason) + 1, NULL) != 0)) {
		fprintf(stderr, "tether-agent: --reason goes with install, as one line of "
		        "printable text under %d bytes\n", OFFLINE_REASON_BYTES);
		return 2;
	}
	if ((strcmp(cmd, "run") == 0 || strcmp(cmd, "enroll") == 0 ||
	     strcmp(cmd, "selftest") == 0 ||
	     strcmp(cmd, "support-password") == 0) && a.nwords != 0) {
		fprintf(stderr, "tether-agent %s: unexpected argument %s\n", cmd, a.words[0]);
		return 2;
	}
	if (load_conf(a.config, &conf) != 0)
		return 1;
	ssh_init();
	if (strcmp(cmd, "enroll") == 0)
		rc = cmd_enroll(conf, &a);
	else if (strcmp(cmd, "run") == 0)
		rc = cmd_run(conf, argv);
	else if (strcmp(cmd, "selftest") == 0)
		rc = cmd_selftest(conf);
	else if (strcmp(cmd, "consent") == 0)
		rc = cmd_consent(conf, &a);
	else if (strcmp(cmd, "support-password") == 0)
		rc = support_cmd_password(conf, a.flags);
	else if (strcmp(cmd, "install") == 0)
		rc = offline_install(conf, a.words[0], a.accept_expired, a.reason);
	else if (strcmp(cmd, "update") == 0 && strcmp(a.words[0], "fetch") == 0)
		rc = update_fetch(conf, a.words[1], a.words[2]);
	else if (strcmp(cmd, "update") == 0)
		rc = update_check(conf, a.nwords == 2 ? a.words[1] : NULL);
	else
		rc = agentaudit_verify(conf);
	ssh_finalize();
	agentconf_free(conf);
	if ((strcmp(cmd, "update") == 0 && strcmp(a.words[0], "fetch") == 0) ||
	    strcmp(cmd, "install") == 0)
		return rc;                         /* its own statuses */
	return rc == 0 ? 0 : 1;
}
