/* srvconf.c: load tether-server.conf with an allowed-key list, so a typo in
 * a key is an error rather than a silent default. */
#include "srvconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "connlimit.h"
#include "err.h"
#include "pwpool.h"
#include "ratelimit.h"
#include "relayhealth.h"
#include "castfile.h"
#include "devstatus.h"

static const char *const srvconf_keys[] = {
	"listen", "public_host", "db", "consent_timeout_s", "longpoll_s", "clock_skew_warn_s",
	"session_max_s", "token_ttl_s", "token_idle_s", "login_renew_max_s", "user", "log_level",
	"log_format", "metrics_listen", "recording_max_bytes",
	"login.max_failures", "login.addr_max_failures", "login.lock_base_s",
	"login.lock_max_s", "relay_check.interval_s", "relay_check.timeout_ms",
	"limits.max_connections", "limits.max_connections_per_addr",
	"limits.max_handshakes_per_addr", "pwhash.workers", "pwhash.queue",
	"ratelimit.login_per_min", "ratelimit.login_burst", "ratelimit.enroll_per_min",
	"ratelimit.enroll_burst",
	"notify.webhook_url", "notify.webhook_ca", "notify.webhook_secret_file",
	"notify.command", "notify.max_attempts", "notify.backoff_base_s",
	"notify.backoff_max_s", "status.history_days", "alert.", "siem.syslog", "siem.syslog_ca",
	"siem.syslog_name", "siem.jsonl", "siem.jsonl_max_bytes", "siem.jsonl_keep", "files.quota_mb", "files.retention_days", NULL,
};

int srvconf_path(const char *dir, const char *name, char *out, size_t outsz)
{
	int n;

	if (name[0] == '/')
		n = snprintf(out, outsz, "%s", name);
	else
		n = snprintf(out, outsz, "%s/%s", dir, name);
	return (n < 0 || (size_t)n >= outsz) ? TE_ERR_TOO_LONG : 0;
}

int srvconf_split_hostport(const char *s, char *host, size_t hostsz,
                           char *port, size_t portsz)
{
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return TE_ERR_INVALID;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return TE_ERR_INVALID;
		hlen = (size_t)(colon - s);
	}
	p = strtol(colon + 1, &end, 10);
	if (hlen == 0 || hlen >= hostsz || *end != '\0' || colon[1] == '\0' ||
	    p < 1 || p > 65535)
		return TE_ERR_INVALID;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, portsz, "%ld", p);
	return 0;
}

static int srvconf_level(const char *s, enum log_level *out)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return TE_ERR_INVALID;
}

/* Lockout after repeated login failures (api_login). */
static int srvconf_login(const struct config *cfg, struct srvconf *c, char *errbuf,
                         size_t errsz)
{
	int rc;

	if ((rc = config_get_int(cfg, "login.max_failures", LOGIN_MAX_FAILURES, 1, 100,
	                         &c->login_max_failures, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "login.addr_max_failures", LOGIN_ADDR_MAX_FAILURES, 1,
	                         10000, &c->login_addr_max_failures, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "login.lock_base_s", LOGIN_LOCK_BASE_S, 1, 24 * 3600,
	                         &c->login_lock_base_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "login.lock_max_s", LOGIN_LOCK_MAX_S, 1, 7 * 24 * 3600,
	                         &c->login_lock_max_s, errbuf, errsz)) != 0)
		return rc;
	if (c->login_lock_max_s < c->login_lock_base_s) {
		snprintf(errbuf, errsz, "login.lock_max_s (%ld) must not be below login.lock_base_s"
		         " (%ld)", c->login_lock_max_s, c->login_lock_base_s);
		return TE_ERR_INVALID;
	}
	return 0;
}

static int srvconf_ints(const struct config *cfg, struct srvconf *c, char *errbuf,
                        size_t errsz)
{
	int rc;

	if ((rc = config_get_int(cfg, "consent_timeout_s", CONSENT_TIMEOUT_S, 10, 3600,
	                         &c->consent_timeout_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "longpoll_s", LONGPOLL_HOLD_S, 1, LONGPOLL_MAX_S,
	                         &c->longpoll_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "clock_skew_warn_s", CLOCK_SKEW_WARN_S, 1, 365 * 86400,
	                         &c->clock_skew_warn_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "session_max_s", SESSION_MAX_S, 60, 7 * 24 * 3600,
	                         &c->session_max_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "token_ttl_s", API_TOKEN_TTL_S, 5, 24 * 3600,
	                         &c->token_ttl_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "token_idle_s", API_TOKEN_IDLE_S, 1, 24 * 3600,
	                         &c->token_idle_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "login_renew_max_s", LOGIN_RENEW_MAX_S, 0, 7 * 24 * 3600,
	                         &c->login_renew_max_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "recording_max_bytes", CASTFILE_MAX_BYTES, 0,
	                         1024LL * 1024 * 1024, &c->recording_max_bytes, errbuf,
	                         errsz)) != 0 ||
	    (rc = config_get_int(cfg, "relay_check.interval_s", RELAYHEALTH_INTERVAL_S, 1, 3600,
	                         &c->relay_check_interval_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "relay_check.timeout_ms", RELAYHEALTH_TIMEOUT_MS, 50,
	                         600000, &c->relay_check_timeout_ms, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "ratelimit.login_per_min", RATELIMIT_LOGIN_PER_MIN, 1,
	                         100000, &c->rl_login_per_min, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "ratelimit.login_burst", RATELIMIT_LOGIN_BURST, 1,
	                         100000, &c->rl_login_burst, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "ratelimit.enroll_per_min", RATELIMIT_ENROLL_PER_MIN, 1,
	                         100000, &c->rl_enroll_per_min, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "ratelimit.enroll_burst", RATELIMIT_ENROLL_BURST, 1,
	                         100000, &c->rl_enroll_burst, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "pwhash.workers", PWPOOL_THREADS, 1, PWPOOL_MAX_THREADS,
	                         &c->pwhash_workers, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "pwhash.queue", PWPOOL_QUEUE, 1, 4096,
	                         &c->pwhash_queue, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "limits.max_connections", SRVCONF_MAX_CONNECTIONS, 16,
	                         1 << 20, &c->max_connections, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "limits.max_connections_per_addr", CONNLIMIT_MAX_PER_ADDR,
	                         1, 1 << 20, &c->max_connections_per_addr, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "limits.max_handshakes_per_addr",
	                         CONNLIMIT_MAX_PENDING_PER_ADDR, 1, 1 << 20,
	                         &c->max_handshakes_per_addr, errbuf, errsz)) != 0)
		return rc;
	return srvconf_login(cfg, c, errbuf, errsz);
}

/* The notify.* keys: a URL must be http:// or https:// with a host (https
 * also needs its own CA file), a command an absolute path; the secret
 * file's presence and mode are checked when the server starts (notify.c). */
static int srvconf_notify(const struct config *cfg, const char *dir, const char *path,
                          struct srvconf_notify *n, char *errbuf, size_t errsz)
{
	const char *url = config_get(cfg, "notify.webhook_url", "");
	const char *ca = config_get(cfg, "notify.webhook_ca", "");
	const char *secret = config_get(cfg, "notify.webhook_secret_file", "");
	const char *cmd = config_get(cfg, "notify.command", "");
	const char *what = NULL;
	int rc;

	if ((rc = config_get_int(cfg, "notify.max_attempts", SRVCONF_NOTIFY_MAX_ATTEMPTS, 1, 1000,
	                         &n->max_attempts, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "notify.backoff_base_s", SRVCONF_NOTIFY_BACKOFF_BASE_S, 1,
	                         3600, &n->backoff_base_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "notify.backoff_max_s", SRVCONF_NOTIFY_BACKOFF_MAX_S, 1,
	                         7 * 24 * 3600, &n->backoff_max_s, errbuf, errsz)) != 0)
		return rc;
	if (strlen(url) >= sizeof(n->webhook_url))
		what = "notify.webhook_url is too long";
	else if (url[0] != '\0' && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		what = "notify.webhook_url must start with http:// or https://";
	else if (strncmp(url, "https://", 8) == 0 && ca[0] == '\0')
		what = "an https notify.webhook_url needs notify.webhook_ca (the PEM file to verify it with)";
	else if (url[0] != '\0' && secret[0] == '\0')
		what = "notify.webhook_url needs notify.webhook_secret_file (the HMAC key)";
	else if (cmd[0] != '\0' && cmd[0] != '/')
		what = "notify.command must be an absolute path";
	if (what != NULL) {
		snprintf(errbuf, errsz, "%s: %s", path, what);
		return TE_ERR_INVALID;
	}
	snprintf(n->webhook_url, sizeof(n->webhook_url), "%s", url);
	if ((ca[0] != '\0' && (rc = srvconf_path(dir, ca, n->webhook_ca, sizeof(n->webhook_ca))) != 0) ||
	    (secret[0] != '\0' && (rc = srvconf_path(dir, secret, n->webhook_secret_file,
	                                            sizeof(n->webhook_secret_file))) != 0) ||
	    (cmd[0] != '\0' && (rc = srvconf_path(dir, cmd, n->command, sizeof(n->command))) != 0)) {
		snprintf(errbuf, errsz, "%s: a notify.* file name is too long", path);
		return rc;
	}
	return 0;
}

/* The siem.* keys: syslog needs its CA; file names resolve against dir. */
static int srvconf_siem(const struct config *cfg, const char *dir, const char *path,
                        struct srvconf_siem *x, char *errbuf, size_t errsz)
{
	const char *sys = config_get(cfg, "siem.syslog", "");
	const char *ca = config_get(cfg, "siem.syslog_ca", "");
	const char *name = config_get(cfg, "siem.syslog_name", "");
	const char *jl = config_get(cfg, "siem.jsonl", "");
	int rc;

	if ((rc = config_get_int(cfg, "siem.jsonl_max_bytes", SRVCONF_SIEM_JSONL_MAX_BYTES, 1024,
	                         1024L * 1024 * 1024 * 64, &x->jsonl_max_bytes, errbuf,
	                         errsz)) != 0 ||
	    (rc = config_get_int(cfg, "siem.jsonl_keep", SRVCONF_SIEM_JSONL_KEEP, 1, 1000,
	                         &x->jsonl_keep, errbuf, errsz)) != 0)
		return rc;
	if (sys[0] != '\0') {
		if (srvconf_split_hostport(sys, x->syslog_host, sizeof(x->syslog_host),
		                           x->syslog_port, sizeof(x->syslog_port)) != 0) {
			snprintf(errbuf, errsz, "%s: siem.syslog must be HOST:PORT, e.g. "
			         "siem.example.org:6514", path);
			return TE_ERR_INVALID;
		}
		if (ca[0] == '\0') {
			snprintf(errbuf, errsz, "%s: siem.syslog needs siem.syslog_ca (the PEM file "
			         "with the receiver's CA: the only one trusted for it)", path);
			return TE_ERR_INVALID;
		}
		if (srvconf_path(dir, ca, x->syslog_ca, sizeof(x->syslog_ca)) != 0 ||
		    strlen(name) >= sizeof(x->syslog_name)) {
			snprintf(errbuf, errsz, "%s: siem.syslog_ca or siem.syslog_name is too long", path);
			return TE_ERR_TOO_LONG;
		}
		snprintf(x->syslog_name, sizeof(x->syslog_name), "%s", name[0] ? name : x->syslog_host);
	}
	if (jl[0] != '\0' && srvconf_path(dir, jl, x->jsonl, sizeof(x->jsonl)) != 0) {
		snprintf(errbuf, errsz, "%s: siem.jsonl is too long", path);
		return TE_ERR_TOO_LONG;
	}
	return 0;
}

struct srvconf_alert_ctx {
	struct srvconf *c;
	const char *path;
	char *errbuf;
	size_t errsz;
	int rc;
};

/* One token of an alert list: fault, warning, *, a code, or a code prefix
 * ending in '*'. */
static int srvconf_alert_token_ok(const char *tok, size_t len)
{
	char code[DEVSTATUS_CODE_BYTES];

	if (len == 0 || len >= sizeof(code))
		return 0;
	memcpy(code, tok, len);
	code[len] = '\0';
	if (strcmp(code, "*") == 0 || strcmp(code, "fault") == 0 || strcmp(code, "warning") == 0)
		return 1;
	if (code[len - 1] == '*')
		code[len - 1] = '\0';
	return devstatus_code_ok(code);
}

/* "alert.PRODUCT = fault, warning, E-101, E-2*, *". */
static void srvconf_add_alert(const char *key, const char *value, void *arg)
{
	struct srvconf_alert_ctx *x = arg;
	const char *product = key + strlen("alert."), *p = value;
	struct srvconf_alert *a;
	size_t n;

	if (x->rc != 0)
		return;
	if (x->c->nalerts >= SRVCONF_MAX_ALERTS || !devstatus_name_ok(product) ||
	    strlen(value) >= sizeof(a->list)) {
		snprintf(x->errbuf, x->errsz, "%s: %s: at most %d products, each a product name",
		         x->path, key, SRVCONF_MAX_ALERTS);
		x->rc = TE_ERR_INVALID;
		return;
	}
	while (*p != '\0') {
		n = strcspn(p, ", \t");
		if (n > 0 && !srvconf_alert_token_ok(p, n)) {
			snprintf(x->errbuf, x->errsz, "%s: %s: each entry is fault, warning, an "
			         "error code, a code prefix ending in '*', or '*' (every code)",
			         x->path, key);
			x->rc = TE_ERR_INVALID;
			return;
		}
		p += n;
		p += strspn(p, ", \t");
	}
	a = &x->c->alerts[x->c->nalerts++];
	snprintf(a->product, sizeof(a->product), "%s", product);
	snprintf(a->list, sizeof(a->list), "%s", value);
}

int srvconf_alert_match(const struct srvconf *c, const char *product, const char *what)
{
	const char *p;
	size_t n, wl = strlen(what);

	for (size_t i = 0; i < c->nalerts; i++) {
		if (strcmp(c->alerts[i].product, product) != 0)
			continue;
		for (p = c->alerts[i].list; *p != '\0'; p += strspn(p, ", \t")) {
			n = strcspn(p, ", \t");
			if (n == 0)
				continue;
			/* "*" and code prefixes match codes only, not the health words. */
			if ((n == wl && strncmp(p, what, n) == 0) ||
			    (p[n - 1] == '*' && strcmp(what, "fault") != 0 &&
			     strcmp(what, "warning") != 0 && wl >= n - 1 &&
			     strncmp(p, what, n - 1) == 0))
				return 1;
			p += n;
		}
	}
	return 0;
}

int srvconf_load(const char *dir, struct srvconf *out, char *errbuf, size_t errsz)
{
	struct config *cfg = NULL;
	char path[PATH_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->dir, sizeof(out->dir), "%s", dir);
	if ((rc = srvconf_path(dir, SRVCONF_FILE, path, sizeof(path))) != 0)
		goto out;
	if ((rc = config_load(path, srvconf_keys, &cfg, errbuf, errsz)) != 0)
		goto out;
	if (srvconf_split_hostport(config_get(cfg, "listen", SRVCONF_DEFAULT_LISTEN),
	                           out->listen_host, sizeof(out->listen_host),
	                           out->listen_port, sizeof(out->listen_port)) != 0) {
		snprintf(errbuf, errsz, "%s: listen must be ADDR:PORT, e.g. 127.0.0.1:8443", path);
		rc = TE_ERR_INVALID;
		goto out;
	}
	snprintf(out->public_host, sizeof(out->public_host), "%s",
	         config_get(cfg, "public_host", "localhost"));
	if ((rc = srvconf_path(dir, config_get(cfg, "db", SRVCONF_DEFAULT_DB),
	                       out->db_path, sizeof(out->db_path))) != 0)
		goto out;
	if ((rc = srvconf_ints(cfg, out, errbuf, errsz)) != 0)
		goto out;
	if ((rc = srvconf_notify(cfg, dir, path, &out->notify, errbuf, errsz)) != 0)
		goto out;
	if ((rc = srvconf_siem(cfg, dir, path, &out->siem, errbuf, errsz)) != 0)
		goto out;
	if ((rc = config_get_int(cfg, "files.quota_mb", SRVCONF_FILES_QUOTA_MB, 1, 1024L * 1024,
	                         &out->files_quota_mb, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "files.retention_days", SRVCONF_FILES_RETENTION_DAYS, 1,
	                         3650, &out->files_retention_days, errbuf, errsz)) != 0)
		goto out;
	if ((rc = config_get_int(cfg, "status.history_days", SRVCONF_STATUS_HISTORY_DAYS, 1,
	                         3650, &out->status_history_days, errbuf, errsz)) != 0)
		goto out;
	{
		struct srvconf_alert_ctx x = { out, path, errbuf, errsz, 0 };

		config_each_prefix(cfg, "alert.", srvconf_add_alert, &x);
		if ((rc = x.rc) != 0)
			goto out;
	}
	snprintf(out->user, sizeof(out->user), "%s", config_get(cfg, "user", ""));
	if (srvconf_level(config_get(cfg, "log_level", "info"), &out->log_level) != 0) {
		snprintf(errbuf, errsz, "%s: log_level must be debug, info, warn or error", path);
		rc = TE_ERR_INVALID;
		goto out;
	}
	if (log_format_parse(config_get(cfg, "log_format", "text"), &out->log_format) != 0) {
		snprintf(errbuf, errsz, "%s: log_format must be text or json", path);
		rc = TE_ERR_INVALID;
		goto out;
	}
	/* Off unless set: the metrics listener is plain HTTP (metricsd.h). */
	snprintf(out->metrics_listen, sizeof(out->metrics_listen), "%s",
	         config_get(cfg, "metrics_listen", ""));
out:
	config_free(cfg);
	return rc;
}
