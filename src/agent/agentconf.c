/* agentconf.c: load and validate tether-agent.conf.
 *
 * Keys are fixed (unknown keys are an error, see config.h); "service.NAME"
 * entries are the allowlist of local services a ticket may forward to, and
 * only loopback destinations are accepted so a typo can never route a
 * session onto the hospital network. */
#include "agentconf.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "httpproxy.h"
#include "pdmatch.h"

static const char *const agentconf_keys[] = {
	"server", "serial", "state_dir", "consent_socket", "consent_group",
	"consent_timeout_s", "longpoll", "poll_interval_s", "proxy", "support_user",
	"support_max_failures", "support_lock_base_s", "support_lock_max_s",
	"user", "log_level", "log_format", "service.", "shell", "recordings_dir", "files.",
	"patient_data.", "patient_data_case", "diag.", "status.command", "status.interval_s",
	"collect.", "upload_rate", "config.", "activity_consent", "install.command",
	"install.health", "install.rollback", "install.restart", "install.restart_timeout_s",
	"hardware", "download_rate", "self_update", NULL
};

void agentconf_free(struct agent_conf *conf)
{
	if (conf == NULL)
		return;
	/* The proxy URL may carry a password. */
	explicit_bzero(conf, sizeof(*conf));
	free(conf);
}

static int agentconf_copy(char *dst, size_t dstsz, const char *src,
                          const char *key, char *errbuf, size_t errsz)
{
	size_t n = strlen(src);

	if (n >= dstsz) {
		snprintf(errbuf, errsz, "%s: value too long (at most %zu bytes)",
		         key, dstsz - 1);
		return TE_ERR_TOO_LONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* Relative paths are relative to the config file's folder. */
static int agentconf_path(char *dst, size_t dstsz, const char *dir,
                          const char *value, const char *key, char *errbuf,
                          size_t errsz)
{
	int n;

	if (value[0] == '/' || dir == NULL || dir[0] == '\0')
		return agentconf_copy(dst, dstsz, value, key, errbuf, errsz);
	n = snprintf(dst, dstsz, "%s/%s", dir, value);
	if (n < 0 || (size_t)n >= dstsz) {
		snprintf(errbuf, errsz, "%s: path too long", key);
		return TE_ERR_TOO_LONG;
	}
	return 0;
}

int agentconf_parse_local(const char *value, char *host, size_t hostsz,
                          int *port)
{
	const char *colon;
	char *end;
	size_t hlen;
	long p;

	if (value == NULL || (colon = strrchr(value, ':')) == NULL)
		return TE_ERR_INVALID;
	hlen = (size_t)(colon - value);
	if (!((hlen == 9 && strncmp(value, "127.0.0.1", 9) == 0) ||
	      (hlen == 9 && strncmp(value, "localhost", 9) == 0)))
		return TE_ERR_INVALID;
	if (colon[1] < '0' || colon[1] > '9')
		return TE_ERR_INVALID;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p < 1 || p > 65535)
		return TE_ERR_INVALID;
	if (host != NULL) {
		if (hlen >= hostsz)
			return TE_ERR_TOO_LONG;
		memcpy(host, value, hlen);
		host[hlen] = '\0';
	}
	*port = (int)p;
	return 0;
}

/* What a config_each_prefix() callback that fills conf (services,
 * diagnostics) needs: the first error stops the rest. */
struct agentconf_entry_ctx {
	struct agent_conf *conf;
	int rc;
	char *errbuf;
	size_t errsz;
};

static void agentconf_add_service(const char *key, const char *value, void *arg)
{
	struct agentconf_entry_ctx *c = arg;
	struct agent_service *s;
	const char *name = key + strlen("service.");

	if (c->rc != 0)
		return;
	if (c->conf->nservices >= MAX_SERVICES) {
		snprintf(c->errbuf, c->errsz, "%s: too many services (at most %d)",
		         key, MAX_SERVICES);
		c->rc = TE_ERR_TOO_LONG;
		return;
	}
	if (name[0] == '\0' || strlen(name) >= MAX_NAME_BYTES) {
		snprintf(c->errbuf, c->errsz, "%s: service name must be 1..%d bytes",
		         key, MAX_NAME_BYTES - 1);
		c->rc = TE_ERR_INVALID;
		return;
	}
	if (agentconf_service(c->conf, name) != NULL) {
		snprintf(c->errbuf, c->errsz, "%s: service listed twice", key);
		c->rc = TE_ERR_EXISTS;
		return;
	}
	s = &c->conf->services[c->conf->nservices];
	if (agentconf_parse_local(value, s->host, sizeof(s->host), &s->port) != 0) {
		snprintf(c->errbuf, c->errsz,
		         "%s = %s: a service must be 127.0.0.1:PORT or localhost:PORT "
		         "(only local services can be forwarded)", key, value);
		c->rc = TE_ERR_INVALID;
		return;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	c->conf->nservices++;
}

/* files.NAME and patient_data.NAME: a name and an absolute path (or, for
 * patient_data, an absolute fnmatch pattern). */
struct agentconf_path_ctx {
	const struct config *cfg;
	struct agent_named_path *list;
	size_t *n;
	size_t max;
	const char *prefix;
	int rc;
	char *errbuf;
	size_t errsz;
};

static int agentconf_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= MAX_NAME_BYTES)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' ||
		      name[i] == '_' || name[i] == '.'))
			return 0;
	return 1;
}

static void agentconf_add_path(const char *key, const char *value, void *arg)
{
	struct agentconf_path_ctx *c = arg;
	const char *name = key + strlen(c->prefix);
	struct agent_named_path *e;
	char why[PDMATCH_WHY_BYTES];
	size_t i;

	if (c->rc != 0)
		return;
	if (*c->n >= c->max) {
		snprintf(c->errbuf, c->errsz, "%s: too many %s entries (at most %zu)",
		         key, c->prefix, c->max);
		c->rc = TE_ERR_TOO_LONG;
		return;
	}
	if (!agentconf_name_ok(name)) {
		snprintf(c->errbuf, c->errsz, "%s: the name after '%s' must be 1..%d of "
		         "[A-Za-z0-9._-]", key, c->prefix, MAX_NAME_BYTES - 1);
		c->rc = TE_ERR_INVALID;
		return;
	}
	for (i = 0; i < *c->n; i++) {
		if (strcmp(c->list[i].name, name) == 0) {
			snprintf(c->errbuf, c->errsz, "%s: listed twice", key);
			c->rc = TE_ERR_EXISTS;
			return;
		}
	}
	if (value[0] != '/' || strlen(value) >= AGENT_PATH_BYTES) {
		snprintf(c->errbuf, c->errsz, "%s: must be an absolute path of at most "
		         "%d bytes", key, AGENT_PATH_BYTES - 1);
		c->rc = TE_ERR_INVALID;
		return;
	}
	if (strcmp(c->prefix, "patient_data.") == 0 &&
	    pdmatch_pattern_ok(value, why, sizeof(why)) != 0) {
		snprintf(c->errbuf, c->errsz, "%s (line %u): %s", key,
		         config_line(c->cfg, key), why);
		c->rc = TE_ERR_INVALID;
		return;
	}
	e = &c->list[*c->n];
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->path, sizeof(e->path), "%s", value);
	(*c->n)++;
}

/* "/abs/prog arg ..." into d: split on spaces, no quoting, no shell. */
static int agentconf_split_argv(struct agent_diag *d, const char *key, const char *value,
                                char *errbuf, size_t errsz)
{
	size_t i, len = strlen(value);

	memset(d, 0, sizeof(*d));
	if (value[0] != '/' || len >= sizeof(d->buf)) {
		snprintf(errbuf, errsz, "%s: must start with the program's absolute path", key);
		return TE_ERR_INVALID;
	}
	memcpy(d->buf, value, len + 1);
	for (i = 0; i < len; i++) {
		if (d->buf[i] == ' ' || d->buf[i] == '\t') {
			d->buf[i] = '\0';
			continue;
		}
		if (i > 0 && d->buf[i - 1] != '\0')
			continue;
		if (d->argc >= AGENT_DIAG_MAX_ARGS) {
			snprintf(errbuf, errsz, "%s: at most %d words", key, AGENT_DIAG_MAX_ARGS);
			return TE_ERR_TOO_LONG;
		}
		d->args[d->argc++] = i;
	}
	return 0;
}

/* "diag.NAME = /abs/prog arg ..." or "config.NAME = ...": into list (*n of
 * max), each name once. */
static void agentconf_add_argv(struct agentconf_entry_ctx *c, const char *key,
                               const char *value, const char *name, struct agent_diag *list, size_t *n,
                               size_t max, const char *what)
{
	struct agent_diag *d;
	size_t i;

	if (c->rc != 0)
		return;
	if (*n >= max) {
		snprintf(c->errbuf, c->errsz, "%s: too many %s (at most %zu)", key, what, max);
		c->rc = TE_ERR_TOO_LONG;
		return;
	}
	for (i = 0; i < *n && strcmp(list[i].name, name) != 0; i++)
		;
	if (!agentconf_name_ok(name) || i < *n) {
		snprintf(c->errbuf, c->errsz, "%s: the name must be 1..%d of "
		         "[A-Za-z0-9._-], each listed once", key, MAX_NAME_BYTES - 1);
		c->rc = TE_ERR_INVALID;
		return;
	}
	d = &list[*n];
	if ((c->rc = agentconf_split_argv(d, key, value, c->errbuf, c->errsz)) != 0)
		return;
	snprintf(d->name, sizeof(d->name), "%s", name);
	(*n)++;
}

/* "activity_consent = diag config": kinds, space- or comma-separated. */
static int agentconf_activity_consent(struct agent_conf *c, const char *v, char *errbuf,
                                      size_t errsz)
{
	char buf[MAX_CONFIG_LINE_BYTES], *save = NULL, *k;
	unsigned bit;

	c->activity_consent = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (k = strtok_r(buf, ", ", &save); k != NULL; k = strtok_r(NULL, ", ", &save)) {
		if ((bit = agentconf_act_kind(k)) == 0) {
			snprintf(errbuf, errsz, "activity_consent = %.60s: list the kinds the operator"
			         " must accept first: diag, collect, config, install", v);
			return TE_ERR_INVALID;
		}
		c->activity_consent |= bit;
	}
	return 0;
}

static void agentconf_add_diag(const char *key, const char *value, void *arg)
{
	struct agentconf_entry_ctx *c = arg;

	agentconf_add_argv(c, key, value, key + strlen("diag."), c->conf->diags,
	                   &c->conf->ndiags, AGENT_MAX_DIAGS, "diagnostics");
}

/* "config.NAME = /abs/prog arg ...": a configuration change the maintenance
 * queue may run, its new values on stdin (actrun.h). */
static void agentconf_add_config(const char *key, const char *value, void *arg)
{
	struct agentconf_entry_ctx *c = arg;

	agentconf_add_argv(c, key, value, key + strlen("config."), c->conf->configs,
	                   &c->conf->nconfigs, AGENT_MAX_CONFIGS, "configuration commands");
}

const struct agent_collect *agentconf_collect(const struct agent_conf *conf,
                                              const char *name)
{
	for (size_t i = 0; i < conf->ncollects; i++)
		if (strcmp(conf->collects[i].name, name) == 0)
			return &conf->collects[i];
	return NULL;
}

/* One "key=value" option of a collect.NAME line into c; 0 or -1. */
static int agentconf_collect_opt(struct agent_collect *c, const char *opt)
{
	if (strncmp(opt, "max_file=", 9) == 0)
		return (c->max_file = config_size(opt + 9)) > 0 ? 0 : -1;
	if (strncmp(opt, "max_total=", 10) == 0)
		return (c->max_total = config_size(opt + 10)) > 0 ? 0 : -1;
	if (strncmp(opt, "every=", 6) == 0)
		return (c->every_s = config_duration(opt + 6)) >= 60 ? 0 : -1;
	return -1;
}

/* "collect.NAME = /abs/pattern [max_file=SIZE] [max_total=SIZE] [every=DUR]". */
static void agentconf_add_collect(const char *key, const char *value, void *arg)
{
	struct agentconf_entry_ctx *x = arg;
	const char *name = key + strlen("collect.");
	char buf[MAX_CONFIG_LINE_BYTES], *tok, *save = NULL;
	struct agent_collect *c;

	if (x->rc != 0)
		return;
	if (x->conf->ncollects >= AGENT_MAX_COLLECT || !agentconf_name_ok(name) ||
	    agentconf_collect(x->conf, name) != NULL) {
		snprintf(x->errbuf, x->errsz, "%s: at most %d collections, each named once with "
		         "1..%d of [A-Za-z0-9._-]", key, AGENT_MAX_COLLECT, MAX_NAME_BYTES - 1);
		x->rc = TE_ERR_INVALID;
		return;
	}
	c = &x->conf->collects[x->conf->ncollects];
	memset(c, 0, sizeof(*c));
	c->max_file = AGENT_COLLECT_MAX_FILE;
	c->max_total = AGENT_COLLECT_MAX_TOTAL;
	snprintf(buf, sizeof(buf), "%s", value);
	tok = strtok_r(buf, " \t", &save);
	if (tok == NULL || tok[0] != '/' || strlen(tok) >= sizeof(c->pattern) ||
	    strstr(tok, "/../") != NULL) {
		snprintf(x->errbuf, x->errsz, "%s: must start with an absolute path or glob "
		         "pattern, e.g. /var/log/device/*.log", key);
		x->rc = TE_ERR_INVALID;
		return;
	}
	snprintf(c->pattern, sizeof(c->pattern), "%s", tok);
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
		if (agentconf_collect_opt(c, tok) != 0) {
			snprintf(x->errbuf, x->errsz, "%s: '%.60s': use max_file=SIZE, max_total=SIZE "
			         "(bytes, or with K, M, G) or every=DURATION (at least 60s; s, m, h, d)",
			         key, tok);
			x->rc = TE_ERR_INVALID;
			return;
		}
	if (c->max_file > c->max_total)
		c->max_file = c->max_total;
	snprintf(c->name, sizeof(c->name), "%s", name);
	x->conf->ncollects++;
}

static int agentconf_yesno(const char *v, int *out);

/* A byte rate: "0" (no cap) or at least 1K (K, M, G). */
static int agentconf_rate(const struct config *cfg, const char *key, long dflt, long *out,
                          char *errbuf, size_t errsz)
{
	const char *v = config_get(cfg, key, NULL);

	*out = dflt;
	if (v != NULL && (strcmp(v, "0") == 0 ? (*out = 0, 0) : (*out = (long)config_size(v)) < 1024)) {
		snprintf(errbuf, errsz, "%s = %.60s: bytes per second (at least 1K; K, M, G), or 0 "
		         "for no cap", key, v);
		return TE_ERR_INVALID;
	}
	return 0;
}

/* The software update keys (update.h). */
/* install.NAME (health, rollback, restart): an absolute program and its
 * arguments, named NAME for the monitor; *has when set. */
static int agentconf_install_step(const struct config *cfg, const char *name,
                                  struct agent_diag *d, int *has, char *errbuf, size_t errsz)
{
	char key[32];
	const char *v;
	int rc;

	snprintf(key, sizeof(key), "install.%s", name);
	if ((v = config_get(cfg, key, NULL)) == NULL)
		return 0;
	if ((rc = agentconf_split_argv(d, key, v, errbuf, errsz)) != 0)
		return rc;
	snprintf(d->name, sizeof(d->name), "%s", name);
	*has = 1;
	return 0;
}

static int agentconf_fill_install(struct agent_conf *c, const struct config *cfg,
                                  char *errbuf, size_t errsz)
{
	const char *v;
	char *argv[AGENT_DIAG_MAX_ARGS + 1];
	size_t i, braces = 0;
	int rc;

	v = config_get(cfg, "hardware", "");
	if (v[0] != '\0' && !agentconf_name_ok(v)) {
		snprintf(errbuf, errsz, "hardware = %.60s: a name of [A-Za-z0-9._-], as release "
		         "managers list it in a release's hardware", v);
		return TE_ERR_INVALID;
	}
	snprintf(c->hardware, sizeof(c->hardware), "%s", v);
	if ((rc = agentconf_rate(cfg, "download_rate", 0, &c->download_rate, errbuf, errsz)) != 0)
		return rc;
	if (agentconf_yesno(config_get(cfg, "self_update", "no"), &c->self_update) != 0) {
		snprintf(errbuf, errsz, "self_update = %.60s: use yes or no",
		         config_get(cfg, "self_update", ""));
		return TE_ERR_INVALID;
	}
	if ((v = config_get(cfg, "install.command", NULL)) != NULL) {
		if ((rc = agentconf_split_argv(&c->install_cmd, "install.command", v, errbuf,
		                               errsz)) != 0)
			return rc;
		agentconf_diag_argv(&c->install_cmd, argv);
		for (i = 1; argv[i] != NULL; i++)
			braces += strcmp(argv[i], "{}") == 0;
		if (braces != 1) {
			snprintf(errbuf, errsz, "install.command: name the update's file with one word "
			         "{}, as in install.command = /usr/bin/rauc install {}");
			return TE_ERR_INVALID;
		}
		snprintf(c->install_cmd.name, sizeof(c->install_cmd.name), "install");
		c->has_install = 1;
	}
	if ((rc = agentconf_install_step(cfg, "health", &c->install_health, &c->has_health, errbuf,
	                                 errsz)) != 0 ||
	    (rc = agentconf_install_step(cfg, "rollback", &c->install_rollback, &c->has_rollback,
	                                 errbuf, errsz)) != 0 ||
	    (rc = agentconf_install_step(cfg, "restart", &c->install_restart, &c->has_restart,
	                                 errbuf, errsz)) != 0)
		return rc;
	if ((rc = config_get_int(cfg, "install.restart_timeout_s", AGENT_RESTART_TIMEOUT_S, 10,
	                         24 * 3600, &c->install_restart_timeout_s, errbuf, errsz)) != 0)
		return rc;
	if ((c->has_health || c->has_rollback || c->has_restart) && !c->has_install) {
		snprintf(errbuf, errsz, "install.health, install.rollback and install.restart go with "
		         "install.command");
		return TE_ERR_INVALID;
	}
	if (c->has_restart && !c->has_health) {
		snprintf(errbuf, errsz, "install.restart is for a health check after the restart: "
		         "set install.health too");
		return TE_ERR_INVALID;
	}
	return 0;
}

/* The OEM status command (devreport.h) and how often it runs. */
static int agentconf_fill_status(struct agent_conf *c, const struct config *cfg,
                                 char *errbuf, size_t errsz)
{
	const char *v = config_get(cfg, "status.command", "");
	int rc;

	if ((rc = config_get_int(cfg, "status.interval_s", AGENT_STATUS_INTERVAL_S, 10,
	                         86400, &c->status_interval_s, errbuf, errsz)) != 0)
		return rc;
	if (v[0] == '\0')
		return 0;
	if ((rc = agentconf_split_argv(&c->status_cmd, "status.command", v, errbuf,
	                               errsz)) != 0)
		return rc;
	snprintf(c->status_cmd.name, sizeof(c->status_cmd.name), "status");
	c->has_status_cmd = 1;
	return 0;
}

static int agentconf_fill_session(struct agent_conf *c, const struct config *cfg,
                                  const char *dir, char *errbuf, size_t errsz)
{
	struct agentconf_path_ctx fc = { cfg, c->files, &c->nfiles, AGENT_MAX_FILE_ROOTS,
	                                 "files.", 0, errbuf, errsz };
	struct agentconf_path_ctx pc = { cfg, c->patient, &c->npatient, AGENT_MAX_PATIENT,
	                                 "patient_data.", 0, errbuf, errsz };
	struct agentconf_entry_ctx dc = { c, 0, errbuf, errsz };
	const char *v;
	int rc;

	v = config_get(cfg, "shell", "/bin/sh");
	if (v[0] != '/') {
		snprintf(errbuf, errsz, "shell = %.200s: must be an absolute path", v);
		return TE_ERR_INVALID;
	}
	if ((rc = agentconf_copy(c->shell, sizeof(c->shell), v, "shell", errbuf,
	                         errsz)) != 0)
		return rc;
	v = config_get(cfg, "recordings_dir", "");
	if (v[0] == '\0')
		rc = agentconf_path(c->recordings_dir, sizeof(c->recordings_dir),
		                    c->state_dir, "recordings", "recordings_dir", errbuf, errsz);
	else
		rc = agentconf_path(c->recordings_dir, sizeof(c->recordings_dir), dir, v,
		                    "recordings_dir", errbuf, errsz);
	if (rc != 0)
		return rc;
	config_each_prefix(cfg, "files.", agentconf_add_path, &fc);
	if (fc.rc != 0)
		return fc.rc;
	config_each_prefix(cfg, "patient_data.", agentconf_add_path, &pc);
	if (pc.rc != 0)
		return pc.rc;
	/* How patient_data patterns treat case (pdmatch.h): strict, so a typo
	 * never quietly leaves matching case-sensitive. */
	v = config_get(cfg, "patient_data_case", "sensitive");
	if (strcmp(v, "sensitive") == 0 || strcmp(v, "insensitive") == 0) {
		c->patient_casefold = v[0] == 'i';
	} else {
		snprintf(errbuf, errsz, "patient_data_case (line %u) = %.100s: use "
		         "sensitive or insensitive", config_line(cfg, "patient_data_case"), v);
		return TE_ERR_INVALID;
	}
	config_each_prefix(cfg, "diag.", agentconf_add_diag, &dc);
	if (dc.rc != 0)
		return dc.rc;
	config_each_prefix(cfg, "config.", agentconf_add_config, &dc);
	if (dc.rc != 0)
		return dc.rc;
	config_each_prefix(cfg, "collect.", agentconf_add_collect, &dc);
	if (dc.rc != 0)
		return dc.rc;
	if ((rc = agentconf_activity_consent(c, config_get(cfg, "activity_consent", ""), errbuf,
	                                     errsz)) != 0)
		return rc;
	if ((rc = agentconf_rate(cfg, "upload_rate", AGENT_UPLOAD_RATE, &c->upload_rate, errbuf,
	                         errsz)) != 0 ||
	    (rc = agentconf_fill_install(c, cfg, errbuf, errsz)) != 0)
		return rc;
	return agentconf_fill_status(c, cfg, errbuf, errsz);
}

static int agentconf_yesno(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return TE_ERR_INVALID;
	return 0;
}

static int agentconf_level(const char *v, enum log_level *out)
{
	if (strcmp(v, "debug") == 0)
		*out = LOG_LVL_DEBUG;
	else if (strcmp(v, "info") == 0)
		*out = LOG_LVL_INFO;
	else if (strcmp(v, "warn") == 0)
		*out = LOG_LVL_WARN;
	else if (strcmp(v, "error") == 0)
		*out = LOG_LVL_ERROR;
	else
		return TE_ERR_INVALID;
	return 0;
}

static int agentconf_proxy_ok(const char *url)
{
	struct httpproxy p;
	int ok = httpproxy_parse(url, &p) == 0;

	httpproxy_wipe(&p);
	return ok;
}

static int agentconf_fill_strings(struct agent_conf *c, const struct config *cfg,
                                  const char *dir, char *errbuf, size_t errsz)
{
	const char *v;
	int rc;

	if ((rc = agentconf_copy(c->server, sizeof(c->server),
	                         config_get(cfg, "server", ""), "server", errbuf, errsz)) != 0 ||
	    (rc = agentconf_copy(c->serial, sizeof(c->serial),
	                         config_get(cfg, "serial", ""), "serial", errbuf, errsz)) != 0 ||
	    (rc = agentconf_copy(c->consent_group, sizeof(c->consent_group),
	                         config_get(cfg, "consent_group", ""), "consent_group",
	                         errbuf, errsz)) != 0 ||
	    (rc = agentconf_copy(c->proxy, sizeof(c->proxy),
	                         config_get(cfg, "proxy", ""), "proxy", errbuf, errsz)) != 0 ||
	    (rc = agentconf_copy(c->support_user, sizeof(c->support_user),
	                         config_get(cfg, "support_user", "support"),
	                         "support_user", errbuf, errsz)) != 0 ||
	    (rc = agentconf_copy(c->user, sizeof(c->user), config_get(cfg, "user", ""),
	                         "user", errbuf, errsz)) != 0)
		return rc;
	v = config_get(cfg, "state_dir", "");
	if (v[0] == '\0') {
		snprintf(errbuf, errsz, "state_dir is required (for example "
		         "state_dir = /var/lib/tether-agent)");
		return TE_ERR_INVALID;
	}
	if ((rc = agentconf_path(c->state_dir, sizeof(c->state_dir), dir, v,
	                         "state_dir", errbuf, errsz)) != 0)
		return rc;
	v = config_get(cfg, "consent_socket", "");
	if (v[0] == '\0') {
		/* Default next to the state so a test setup needs no /run. */
		if ((rc = agentconf_path(c->consent_socket, sizeof(c->consent_socket),
		                         c->state_dir, "consent.sock", "consent_socket",
		                         errbuf, errsz)) != 0)
			return rc;
	} else if ((rc = agentconf_path(c->consent_socket, sizeof(c->consent_socket),
	                                dir, v, "consent_socket", errbuf, errsz)) != 0) {
		return rc;
	}
	if (c->support_user[0] == '\0') {
		snprintf(errbuf, errsz, "support_user must not be empty");
		return TE_ERR_INVALID;
	}
	if (c->server[0] != '\0' && strncmp(c->server, "https://", 8) != 0) {
		snprintf(errbuf, errsz, "server = %.200s: must start with https://",
		         c->server);
		return TE_ERR_INVALID;
	}
	/* The value is not echoed: it may hold the proxy password. */
	if (c->proxy[0] != '\0' && !agentconf_proxy_ok(c->proxy)) {
		snprintf(errbuf, errsz, "proxy: want http://[user:pass@]host:port");
		return TE_ERR_INVALID;
	}
	return 0;
}

/* The support account's lockout, with the server's login lockout bounds. */
static int agentconf_support_lock(struct agent_conf *c, const struct config *cfg,
                                  char *errbuf, size_t errsz)
{
	int rc;

	if ((rc = config_get_int(cfg, "support_max_failures", SUPPORT_MAX_FAILURES, 1, 100,
	                         &c->support_max_failures, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "support_lock_base_s", SUPPORT_LOCK_BASE_S, 1, 24 * 3600,
	                         &c->support_lock_base_s, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(cfg, "support_lock_max_s", SUPPORT_LOCK_MAX_S, 1, 7 * 24 * 3600,
	                         &c->support_lock_max_s, errbuf, errsz)) != 0)
		return rc;
	if (c->support_lock_max_s < c->support_lock_base_s) {
		snprintf(errbuf, errsz, "support_lock_max_s (%ld) must not be below "
		         "support_lock_base_s (%ld)", c->support_lock_max_s,
		         c->support_lock_base_s);
		return TE_ERR_INVALID;
	}
	return 0;
}

static int agentconf_fill(struct agent_conf *c, const struct config *cfg,
                          const char *dir, char *errbuf, size_t errsz)
{
	struct agentconf_entry_ctx sc = { c, 0, errbuf, errsz };
	int rc;

	if ((rc = agentconf_fill_strings(c, cfg, dir, errbuf, errsz)) != 0)
		return rc;
	if ((rc = config_get_int(cfg, "consent_timeout_s", CONSENT_TIMEOUT_S, 1,
	                         24 * 3600, &c->consent_timeout_s, errbuf, errsz)) != 0)
		return rc;
	if ((rc = agentconf_support_lock(c, cfg, errbuf, errsz)) != 0)
		return rc;
	/* Networks that cut long requests get a plain poll at this period. */
	if ((rc = config_get_int(cfg, "poll_interval_s", SHORTPOLL_INTERVAL_S, 1,
	                         3600, &c->poll_interval_s, errbuf, errsz)) != 0)
		return rc;
	if (agentconf_yesno(config_get(cfg, "longpoll", "yes"), &c->longpoll) != 0) {
		snprintf(errbuf, errsz, "longpoll = %s: use yes or no",
		         config_get(cfg, "longpoll", ""));
		return TE_ERR_INVALID;
	}
	if (agentconf_level(config_get(cfg, "log_level", "info"), &c->log_level) != 0) {
		snprintf(errbuf, errsz, "log_level = %s: use debug, info, warn or error",
		         config_get(cfg, "log_level", ""));
		return TE_ERR_INVALID;
	}
	if (log_format_parse(config_get(cfg, "log_format", "text"), &c->log_format) != 0) {
		snprintf(errbuf, errsz, "log_format = %s: use text or json",
		         config_get(cfg, "log_format", ""));
		return TE_ERR_INVALID;
	}
	config_each_prefix(cfg, "service.", agentconf_add_service, &sc);
	if (sc.rc != 0)
		return sc.rc;
	return agentconf_fill_session(c, cfg, dir, errbuf, errsz);
}

int agentconf_parse(const char *text, size_t len, const char *name,
                    const char *dir, struct agent_conf **out, char *errbuf,
                    size_t errsz)
{
	struct config *cfg = NULL;
	struct agent_conf *c = NULL;
	char local[256];
	int rc;

	*out = NULL;
	if ((rc = config_parse(text, len, name, agentconf_keys, &cfg, errbuf, errsz)) != 0)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	snprintf(c->path, sizeof(c->path), "%s", name);
	if ((rc = agentconf_fill(c, cfg, dir, local, sizeof(local))) != 0) {
		snprintf(errbuf, errsz, "%s: %s", name, local);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	agentconf_free(c);
	config_free(cfg);
	return rc;
}

int agentconf_load(const char *path, struct agent_conf **out, char *errbuf,
                   size_t errsz)
{
	char dir[AGENT_PATH_BYTES], abspath[PATH_MAX];
	char *slash, *text = NULL;
	FILE *f = NULL;
	size_t n;
	int rc;

	*out = NULL;
	/* Resolve the folder once so relative paths keep working after chdir. */
	if (realpath(path, abspath) == NULL) {
		snprintf(errbuf, errsz, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_SYS;
	}
	if (strlen(abspath) >= sizeof(dir)) {
		snprintf(errbuf, errsz, "%s: path too long", path);
		return TE_ERR_TOO_LONG;
	}
	memcpy(dir, abspath, strlen(abspath) + 1);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if ((f = fopen(abspath, "r")) == NULL) {
		snprintf(errbuf, errsz, "%s: %s", path, strerror(errno));
		rc = TE_ERR_SYS;
		goto out;
	}
	if ((text = malloc(MAX_CONFIG_FILE_BYTES + 1)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	n = fread(text, 1, MAX_CONFIG_FILE_BYTES + 1, f);
	if (n > MAX_CONFIG_FILE_BYTES) {
		snprintf(errbuf, errsz, "%s: larger than %d bytes", path,
		         MAX_CONFIG_FILE_BYTES);
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	rc = agentconf_parse(text, n, abspath, dir, out, errbuf, errsz);
out:
	if (f != NULL)
		fclose(f);
	if (text != NULL)
		explicit_bzero(text, MAX_CONFIG_FILE_BYTES + 1);
	free(text);
	return rc;
}

int agentconf_state_path(const struct agent_conf *conf, const char *name,
                         char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", conf->state_dir, name);

	return (n < 0 || (size_t)n >= outsz) ? TE_ERR_TOO_LONG : 0;
}

const struct agent_service *agentconf_service(const struct agent_conf *conf,
                                              const char *name)
{
	size_t i;

	for (i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, name) == 0)
			return &conf->services[i];
	return NULL;
}

const char *agentconf_proxy(const struct agent_conf *conf, const char *dest)
{
	if (conf->proxy[0] != '\0')
		return conf->proxy;
	return httpproxy_from_env(dest);
}

const struct agent_diag *agentconf_diag(const struct agent_conf *conf,
                                        const char *name)
{
	size_t i;

	for (i = 0; i < conf->ndiags; i++)
		if (strcmp(conf->diags[i].name, name) == 0)
			return &conf->diags[i];
	return NULL;
}

unsigned agentconf_act_kind(const char *kind)
{
	return strcmp(kind, "diag") == 0 ? AGENT_ACT_DIAG :
	       strcmp(kind, "collect") == 0 ? AGENT_ACT_COLLECT :
	       strcmp(kind, "config") == 0 ? AGENT_ACT_CONFIG :
	       strcmp(kind, "install") == 0 ? AGENT_ACT_INSTALL : 0;
}

const struct agent_diag *agentconf_config(const struct agent_conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nconfigs; i++)
		if (strcmp(conf->configs[i].name, name) == 0)
			return &conf->configs[i];
	return NULL;
}

void agentconf_diag_argv(const struct agent_diag *d, char **argv)
{
	size_t i;

	for (i = 0; i < d->argc; i++)
		argv[i] = (char *)d->buf + d->args[i];
	argv[d->argc] = NULL;
}

int agentconf_user_in_group(const struct passwd *pw, const char *name)
{
	struct group *gr;
	char **m;

	if (name[0] == '\0' || (gr = getgrnam(name)) == NULL)
		return 0;
	if (pw->pw_gid == gr->gr_gid)
		return 1;
	for (m = gr->gr_mem; *m != NULL; m++)
		if (strcmp(*m, pw->pw_name) == 0)
			return 1;
	return 0;
}
