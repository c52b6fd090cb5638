/* relay_config.c: tether-relay.conf (docs/architecture.md "Relay config"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "config.h"
#include "connlimit.h"
#include "err.h"
#include "relay.h"

static const char *const relay_config_keys[] = {
	"name", "device_listen", "client_listen", "cert", "key", "ca",
	"ticket_pubkey", "server", "audit_log", "unpaired_timeout_s", "user",
	"log_level", "log_format", "metrics_listen", "limits.max_legs", "limits.max_legs_per_addr",
	"limits.max_handshakes_per_addr", NULL,
};

/* Folder of path ("." when it has none), malloc'd. */
static char *relay_config_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* value, or dir/value when value is relative; malloc'd. */
static char *relay_config_path(const char *dir, const char *value)
{
	char *out;
	size_t n;

	if (value[0] == '/' || value[0] == '\0')
		return strdup(value);
	n = strlen(dir) + 1 + strlen(value) + 1;
	if (n > PATH_MAX || (out = malloc(n)) == NULL)
		return NULL;
	snprintf(out, n, "%s/%s", dir, value);
	return out;
}

static int relay_config_level(const char *s, enum log_level *out)
{
	if (strcasecmp(s, "debug") == 0)
		*out = LOG_LVL_DEBUG;
	else if (strcasecmp(s, "info") == 0)
		*out = LOG_LVL_INFO;
	else if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		*out = LOG_LVL_WARN;
	else if (strcasecmp(s, "error") == 0)
		*out = LOG_LVL_ERROR;
	else
		return TE_ERR_INVALID;
	return 0;
}

/* A required key: present and non-empty. */
static int relay_config_need(const struct config *c, const char *path,
                             const char *key, const char **out,
                             char *errbuf, size_t errsz)
{
	*out = config_get(c, key, NULL);
	if (*out == NULL || (*out)[0] == '\0') {
		snprintf(errbuf, errsz, "%s: \"%s\" is required; add a line \"%s = ...\"",
		         path, key, key);
		return TE_ERR_INVALID;
	}
	return 0;
}

static int relay_config_paths(const struct config *c, const char *path,
                              const char *dir, struct relay_config *out,
                              char *errbuf, size_t errsz)
{
	static const char *const keys[] = { "cert", "key", "ca", "ticket_pubkey", "audit_log" };
	char **dst[] = { &out->cert, &out->key, &out->ca, &out->ticket_pubkey, &out->audit_log };
	const char *v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((rc = relay_config_need(c, path, keys[i], &v, errbuf, errsz)) != 0)
			return rc;
		if ((*dst[i] = relay_config_path(dir, v)) == NULL) {
			snprintf(errbuf, errsz, "%s: path for \"%s\" is too long", path, keys[i]);
			return TE_ERR_TOO_LONG;
		}
	}
	return 0;
}

static int relay_config_strings(const struct config *c, const char *path,
                                struct relay_config *out, char *errbuf, size_t errsz)
{
	const char *v;
	int rc;

	if ((rc = relay_config_need(c, path, "name", &v, errbuf, errsz)) != 0)
		return rc;
	if (strlen(v) >= MAX_NAME_BYTES) {
		snprintf(errbuf, errsz, "%s: \"name\" is longer than %d characters",
		         path, MAX_NAME_BYTES - 1);
		return TE_ERR_TOO_LONG;
	}
	out->name = strdup(v);
	out->device_listen = strdup(config_get(c, "device_listen", "0.0.0.0:17001"));
	out->client_listen = strdup(config_get(c, "client_listen", "0.0.0.0:17002"));
	out->server = strdup(config_get(c, "server", ""));
	out->user = strdup(config_get(c, "user", ""));
	out->metrics_listen = strdup(config_get(c, "metrics_listen", ""));
	if (out->name == NULL || out->device_listen == NULL || out->metrics_listen == NULL ||
	    out->client_listen == NULL || out->server == NULL || out->user == NULL)
		return TE_ERR_NOMEM;
	if (relay_config_level(config_get(c, "log_level", "info"), &out->log_level) != 0) {
		snprintf(errbuf, errsz, "%s: log_level must be debug, info, warn or error", path);
		return TE_ERR_INVALID;
	}
	if (log_format_parse(config_get(c, "log_format", "text"), &out->log_format) != 0) {
		snprintf(errbuf, errsz, "%s: log_format must be text or json", path);
		return TE_ERR_INVALID;
	}
	return 0;
}

int relay_config_load(const char *path, struct relay_config *out,
                      char *errbuf, size_t errsz)
{
	struct config *c = NULL;
	char *dir = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = config_load(path, relay_config_keys, &c, errbuf, errsz)) != 0)
		goto out;
	if ((dir = relay_config_dir(path)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if ((rc = relay_config_strings(c, path, out, errbuf, errsz)) != 0)
		goto out;
	if ((rc = relay_config_paths(c, path, dir, out, errbuf, errsz)) != 0)
		goto out;
	if ((rc = config_get_int(c, "unpaired_timeout_s", UNPAIRED_LEG_TIMEOUT_S, 1,
	                         SESSION_MAX_S, &out->unpaired_timeout_s,
	                         errbuf, errsz)) != 0 ||
	    (rc = config_get_int(c, "limits.max_legs", RELAY_MAX_LEGS, 16, 1 << 20,
	                         &out->max_legs, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(c, "limits.max_legs_per_addr", CONNLIMIT_MAX_PER_ADDR, 1,
	                         1 << 20, &out->max_legs_per_addr, errbuf, errsz)) != 0 ||
	    (rc = config_get_int(c, "limits.max_handshakes_per_addr",
	                         CONNLIMIT_MAX_PENDING_PER_ADDR, 1, 1 << 20,
	                         &out->max_handshakes_per_addr, errbuf, errsz)) != 0)
		goto out;
	rc = 0;
out:
	if (rc == TE_ERR_NOMEM)
		snprintf(errbuf, errsz, "%s: out of memory", path);
	if (rc != 0)
		relay_config_clear(out);
	free(dir);
	config_free(c);
	return rc;
}

void relay_config_clear(struct relay_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->name);
	free(cfg->device_listen);
	free(cfg->client_listen);
	free(cfg->cert);
	free(cfg->key);
	free(cfg->ca);
	free(cfg->ticket_pubkey);
	free(cfg->server);
	free(cfg->audit_log);
	free(cfg->user);
	free(cfg->metrics_listen);
	memset(cfg, 0, sizeof(*cfg));
}
