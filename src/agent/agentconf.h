/* agentconf.h: the agent's configuration file (tether-agent.conf).
 * See docs/architecture.md "Agent config" for every key. */
#ifndef TETHER_AGENTCONF_H
#define TETHER_AGENTCONF_H

#include <pwd.h>
#include <stddef.h>
#include "bounds.h"
#include "log.h"

#define AGENT_PATH_BYTES 512
#define AGENT_URL_BYTES  512

/* One allowlisted local service: "service.http = 127.0.0.1:8080". */
struct agent_service {
	char name[MAX_NAME_BYTES];
	char host[16];      /* "127.0.0.1" or "localhost" as written */
	int port;
};

#define AGENT_MAX_FILE_ROOTS 16      /* files.NAME entries */
#define AGENT_MAX_PATIENT    32      /* patient_data.NAME entries */
#define AGENT_MAX_DIAGS      16      /* diag.NAME entries */
#define AGENT_DIAG_MAX_ARGS  16      /* program + arguments of one diagnostic */
#define AGENT_STATUS_INTERVAL_S 300   /* status.interval_s default */
#define AGENT_MAX_COLLECT    16      /* collect.NAME entries */
#define AGENT_MAX_CONFIGS    8       /* config.NAME entries */
#define AGENT_COLLECT_MAX_FILE  (64LL * 1024 * 1024)   /* max_file default */
#define AGENT_COLLECT_MAX_TOTAL (256LL * 1024 * 1024)  /* max_total default */
#define AGENT_UPLOAD_RATE       (1024L * 1024)         /* upload_rate default, bytes/s */

/* "files.logs = /var/log/device" (an SFTP root) or
 * "patient_data.studies = /data/studies" (a refusal pattern: an fnmatch
 * pattern such as /data/x/STAR.dcm, or a directory; the rule is pdmatch.h's,
 * the same for SFTP and the shell). */
struct agent_named_path {
	char name[MAX_NAME_BYTES];
	char path[AGENT_PATH_BYTES];
};

/* "diag.uptime = /usr/bin/uptime -p": the program and its fixed arguments,
 * split on spaces; args[] holds offsets into buf (NUL-separated). */
struct agent_diag {
	char name[MAX_NAME_BYTES];
	char buf[MAX_CONFIG_LINE_BYTES];
	size_t args[AGENT_DIAG_MAX_ARGS];
	size_t argc;
};

/* collect.NAME = PATTERN [max_file=SIZE] [max_total=SIZE] [every=DURATION] */
struct agent_collect {
	char name[MAX_NAME_BYTES];
	char pattern[AGENT_PATH_BYTES];    /* absolute glob(3) pattern */
	long long max_file;                /* bytes of one file */
	long long max_total;               /* bytes of one run */
	long every_s;                      /* 0: on request only */
};

struct agent_conf {
	char path[AGENT_PATH_BYTES];         /* the config file itself */
	char server[AGENT_URL_BYTES];
	char serial[MAX_NAME_BYTES];
	char state_dir[AGENT_PATH_BYTES];    /* absolute or relative to the config dir */
	char consent_socket[AGENT_PATH_BYTES];
	char consent_group[MAX_NAME_BYTES];
	long consent_timeout_s;
	int longpoll;                        /* 1 = long-poll, 0 = short poll */
	long poll_interval_s;                /* short-poll period */
	char proxy[AGENT_URL_BYTES];
	char support_user[MAX_NAME_BYTES];
	/* support account lockout (support.h): after support_max_failures
	 * wrong passwords in a row, locked for support_lock_base_s, doubling
	 * with each further one up to support_lock_max_s */
	long support_max_failures;
	long support_lock_base_s;
	long support_lock_max_s;
	char user[MAX_NAME_BYTES];
	enum log_level log_level;
	enum log_format log_format;
	struct agent_service services[MAX_SERVICES];
	size_t nservices;
	char shell[AGENT_PATH_BYTES];          /* the shell a granted session gets */
	char recordings_dir[AGENT_PATH_BYTES]; /* shell recordings (asciicast v2) */
	struct agent_named_path files[AGENT_MAX_FILE_ROOTS];   /* SFTP roots */
	size_t nfiles;
	struct agent_named_path patient[AGENT_MAX_PATIENT];  /* refusal list */
	size_t npatient;
	int patient_casefold;                /* patient_data_case = insensitive */
	struct agent_diag diags[AGENT_MAX_DIAGS];
	size_t ndiags;
	/* status.command: the OEM program printing the device's status as
	 * JSON (devstatus.h), run as support_user every status_interval_s */
	struct agent_diag status_cmd;
	int has_status_cmd;
	long status_interval_s;
	/* collect.NAME: data files sent to the server (collector.h) */
	struct agent_collect collects[AGENT_MAX_COLLECT];
	size_t ncollects;
	long upload_rate;                  /* bytes/s of file uploads; 0: no cap */
	/* config.NAME: configuration changes the maintenance queue may run,
	 * the new values on stdin (actrun.h) */
	struct agent_diag configs[AGENT_MAX_CONFIGS];
	size_t nconfigs;
	/* activity_consent: the kinds of maintenance activity the operator at
	 * the device must accept first, as a session (AGENT_ACT_*) */
	unsigned activity_consent;
	/* Software updates (update.h, docs/updates.md). install.command is the
	 * product's installer, its word {} the verified file; install.health
	 * and install.rollback are run after it; all three as root (the
	 * agent's own user when it does not start as root). */
	struct agent_diag install_cmd, install_health, install_rollback;
	int has_install, has_health, has_rollback;
	/* install.restart: run after install.command when the new version
	 * starts only after a restart (a reboot into the other slot); the
	 * health check then runs when the agent starts again, and a device
	 * that did not restart within install.restart_timeout_s is rolled
	 * back (actrun.c). */
	struct agent_diag install_restart;
	int has_restart;
	long install_restart_timeout_s;
	char hardware[MAX_NAME_BYTES];       /* this device's hardware, "" unknown */
	int self_update;                     /* self_update = yes: tether-agent releases (selfupdate.h) */
	long download_rate;                  /* bytes/s of update downloads; 0: no cap */
};

#define AGENT_RESTART_TIMEOUT_S 900   /* install.restart_timeout_s default */

#define AGENT_ACT_DIAG    1u
#define AGENT_ACT_COLLECT 2u
#define AGENT_ACT_CONFIG  4u
#define AGENT_ACT_INSTALL 8u
/* The AGENT_ACT_* bit of an activity kind ("diag", "collect", "config",
 * "install"); 0
 * for another. */
unsigned agentconf_act_kind(const char *kind);

/* Load and validate a config file. errbuf says what is wrong and where. */
int agentconf_load(const char *path, struct agent_conf **out, char *errbuf,
                   size_t errsz);
/* The same from text; dir is what relative paths resolve against. */
int agentconf_parse(const char *text, size_t len, const char *name,
                    const char *dir, struct agent_conf **out, char *errbuf,
                    size_t errsz);
void agentconf_free(struct agent_conf *conf);
/* state_dir/name into out. */
int agentconf_state_path(const struct agent_conf *conf, const char *name,
                         char *out, size_t outsz);
/* Parse "127.0.0.1:PORT" or "localhost:PORT" (the only allowed forms). */
int agentconf_parse_local(const char *value, char *host, size_t hostsz,
                          int *port);
/* The HTTP CONNECT proxy for a connection to dest (an https:// URL or a
 * host name): the config's `proxy`, else HTTPS_PROXY / https_proxy unless
 * NO_PROXY / no_proxy names dest's host. NULL means connect directly. The
 * result may hold a password: never log it (see httpproxy_describe). */
const char *agentconf_proxy(const struct agent_conf *conf, const char *dest);
/* The allowlisted service with this name, or NULL. */
const struct agent_service *agentconf_service(const struct agent_conf *conf,
                                              const char *name);

/* The collection with this name, or NULL. */
const struct agent_collect *agentconf_collect(const struct agent_conf *conf,
                                              const char *name);

/* The configuration command config.NAME, or NULL. */
const struct agent_diag *agentconf_config(const struct agent_conf *conf, const char *name);
/* The diagnostic with this name, or NULL. */
const struct agent_diag *agentconf_diag(const struct agent_conf *conf,
                                        const char *name);
/* argv (NULL-terminated, pointing into d) for execve; argv needs
 * AGENT_DIAG_MAX_ARGS + 1 slots. */
void agentconf_diag_argv(const struct agent_diag *d, char **argv);

/* Is the account pw in group name (as its primary group or a listed
 * member)? 0 for an empty or unknown group. Used for consent_group. */
int agentconf_user_in_group(const struct passwd *pw, const char *name);

#endif
