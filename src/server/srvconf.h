/* srvconf.h: the deployment directory's tether-server.conf. */
#ifndef TETHER_SERVER_SRVCONF_H
#define TETHER_SERVER_SRVCONF_H

#include <limits.h>
#include <stddef.h>

#include "bounds.h"
#include "log.h"

#define SRVCONF_FILE          "tether-server.conf"
#define SRVCONF_DEFAULT_LISTEN "127.0.0.1:8443"
#define SRVCONF_DEFAULT_DB    "tether.db"
#define SRVCONF_MAX_CONNECTIONS 4096  /* limits.max_connections; RLIMIT_NOFILE caps it too */

/* notify.* keys: where customer notifications go (notify.h). Empty
 * strings are unset; file names are resolved against the deployment dir. */
#define SRVCONF_NOTIFY_URL_BYTES        1024
#define SRVCONF_NOTIFY_MAX_ATTEMPTS     12
#define SRVCONF_NOTIFY_BACKOFF_BASE_S   5
#define SRVCONF_NOTIFY_BACKOFF_MAX_S    3600

/* The commented notify.* section `tether-server init` writes (deploy.c). */
#define SRVCONF_NOTIFY_TEMPLATE \
	"\n# Customer notifications (approval requests, escalation notices, the\n" \
	"# site switch). Without a webhook or a command they stay queued; see\n" \
	"# `tether-server notify list`. Signed POST of the JSON body to this URL\n" \
	"# (docs/protocol.md, \"Notifications\"):\n" \
	"# notify.webhook_url = https://hooks.example.org:8443/tether\n" \
	"# PEM file with the CA(s) that verify an https URL (never the deployment\n" \
	"# CA unless named here; required for https):\n" \
	"# notify.webhook_ca = /etc/ssl/certs/ca-certificates.crt\n" \
	"# The HMAC-SHA256 key, mode 0600, at least 16 bytes (one trailing newline\n" \
	"# is ignored), e.g. `openssl rand -hex 32 > notify.key`; required with a URL:\n" \
	"# notify.webhook_secret_file = notify.key\n" \
	"# A program run without a shell for each notification, the body on\n" \
	"# stdin, TETHER_EVENT and TETHER_DELIVERY set; exit 0 = delivered:\n" \
	"# notify.command = /usr/local/bin/tether-notify\n" \
	"# Attempts before a notification is marked failed (audit notify_failed):\n" \
	"# notify.max_attempts = 12\n" \
	"# Retry delay: base * 2^(attempt-1), at most max, minus up to a quarter\n" \
	"# of jitter (seconds):\n" \
	"# notify.backoff_base_s = 5\n" \
	"# notify.backoff_max_s = 3600\n"

/* The commented fleet-status section `tether-server init` writes. */
#define SRVCONF_STATUS_TEMPLATE \
	"\n# Device status (docs/fleet.md). Days a device's status changes and its\n" \
	"# cleared error codes are kept:\n" \
	"# status.history_days = 90\n" \
	"# Which new health or error codes of a product's devices raise a\n" \
	"# device_alert notification: fault, warning, a code, a code prefix\n" \
	"# ending in *, or * (every new code):\n" \
	"# alert.injector = fault, E-1*\n" \
	"# Data files from devices (docs/fleet.md): the MiB each device's kept\n" \
	"# files may take, and the days they are kept:\n" \
	"# files.quota_mb = 1024\n" \
	"# files.retention_days = 90\n"

/* siem.* keys: the audit trail exported (siem.h). */
#define SRVCONF_SIEM_JSONL_MAX_BYTES (100L * 1024 * 1024)
#define SRVCONF_SIEM_JSONL_KEEP      10
#define SRVCONF_SIEM_TEMPLATE \
	"\n# SIEM export of the audit trail (docs/siem.md): syslog over TLS\n" \
	"# (RFC 5424 messages, RFC 5425 framing), the receiver's CA pinned:\n" \
	"# siem.syslog = siem.example.org:6514\n" \
	"# siem.syslog_ca = /etc/tether/siem-ca.pem\n" \
	"# and/or a JSON-lines file, rotated at siem.jsonl_max_bytes, keeping\n" \
	"# siem.jsonl_keep old files (its folder must be writable by `user`):\n" \
	"# siem.jsonl = /var/log/tether/audit.jsonl\n" \
	"# siem.jsonl_max_bytes = 104857600\n" \
	"# siem.jsonl_keep = 10\n"

struct srvconf_siem {
	char syslog_host[256];        /* "" off */
	char syslog_port[16];
	char syslog_ca[PATH_MAX];     /* PEM: the receiver's CA, the only trust */
	char syslog_name[256];        /* the name its certificate must carry (host) */
	char jsonl[PATH_MAX];         /* "" off */
	long jsonl_max_bytes;
	long jsonl_keep;
};

struct srvconf_notify {
	char webhook_url[SRVCONF_NOTIFY_URL_BYTES];  /* http(s)://HOST:PORT/PATH */
	char webhook_ca[PATH_MAX];                   /* trust for https only */
	char webhook_secret_file[PATH_MAX];          /* the HMAC key */
	char command[PATH_MAX];                      /* absolute; run without a shell */
	long max_attempts;
	long backoff_base_s;
	long backoff_max_s;
};

/* Fleet status: how long a device's history of changes and its cleared
 * error codes are kept, and which new health or error codes raise a
 * "device_alert" notification, per product (alert.PRODUCT = fault, E-1*). */
#define SRVCONF_STATUS_HISTORY_DAYS 90
#define SRVCONF_MAX_ALERTS 32
#define SRVCONF_FILES_QUOTA_MB 1024
#define SRVCONF_FILES_RETENTION_DAYS 90

struct srvconf_alert {
	char product[MAX_NAME_BYTES];
	char list[MAX_CONFIG_LINE_BYTES];
};

struct srvconf {
	char dir[PATH_MAX];           /* deployment directory */
	char listen_host[256];
	char listen_port[16];
	char public_host[256];
	char db_path[PATH_MAX];       /* resolved against dir */
	long consent_timeout_s;
	long longpoll_s;
	long clock_skew_warn_s;       /* a device clock further off is warned about */
	long session_max_s;
	long token_ttl_s;
	long token_idle_s;            /* a token unused this long is refused */
	long recording_max_bytes;     /* a shell recording the server keeps (0: none) */
	long login_renew_max_s;       /* renewals (TOTP only) this long after a password
	                               * login; 0: none */
	long login_max_failures;      /* per user name, before a lock */
	long login_addr_max_failures; /* per source address, before a lock */
	long login_lock_base_s;       /* first lock; doubles with each failure after */
	long login_lock_max_s;        /* longest lock */
	long max_connections;         /* limits.*: see connlimit.h */
	long max_connections_per_addr;
	long max_handshakes_per_addr;
	long rl_login_per_min;        /* ratelimit.*: ratelimit.h */
	long rl_login_burst;
	long rl_enroll_per_min;
	long rl_enroll_burst;
	long pwhash_workers;          /* pwhash.*: pwpool.h */
	long pwhash_queue;
	long relay_check_interval_s;  /* relay health checks (relayhealth.h) */
	long relay_check_timeout_ms;
	char user[MAX_NAME_BYTES];
	enum log_level log_level;
	enum log_format log_format;   /* log_format = text | json */
	char metrics_listen[64];      /* "ADDR:PORT" or "" (off) */
	struct srvconf_notify notify;
	long status_history_days;
	long files_quota_mb;          /* files.quota_mb: a device's kept data files */
	long files_retention_days;    /* files.retention_days */
	struct srvconf_siem siem;
	struct srvconf_alert alerts[SRVCONF_MAX_ALERTS];
	size_t nalerts;
};

/* 1 when a device of product reaching what ("fault", "warning" or a new
 * error code) raises an alert. */
int srvconf_alert_match(const struct srvconf *c, const char *product, const char *what);

/* Load DIR/tether-server.conf; on error a te_err with errbuf filled. */
int srvconf_load(const char *dir, struct srvconf *out, char *errbuf, size_t errsz);
/* Join dir and a relative file name into out (absolute names kept as is). */
int srvconf_path(const char *dir, const char *name, char *out, size_t outsz);
/* Split "ADDR:PORT" (ADDR may be "[v6]"); TE_ERR_INVALID when malformed. */
int srvconf_split_hostport(const char *s, char *host, size_t hostsz,
                           char *port, size_t portsz);

#endif
