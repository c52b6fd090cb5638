/* devices.c: list the devices the user may reach, as a table or JSON. */
#include "devices.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "cliargs.h"
#include "clockoff.h"
#include "config.h"
#include "devstatus.h"
#include "err.h"
#include "text.h"

#define DEVICES_COLS 8
#define DEVICES_PAGE 1000        /* the server's largest page */
#define DEVICES_MAX_PAGES 1000

int devices_service_port(const json_t *dev, const char *name, int *port)
{
	json_t *list = json_object_get(dev, "services"), *s;
	const char *n;
	long long p;
	size_t i;

	*port = 0;
	if (!json_is_array(list))
		return TE_ERR_NOT_FOUND;
	json_array_foreach(list, i, s) {
		if (!json_is_object(s) || api_get_str(s, "name", &n) != 0 ||
		    strcmp(n, name) != 0)
			continue;
		if (api_get_int(s, "port", &p) != 0 || p < 1 || p > 65535)
			return TE_ERR_INVALID;
		*port = (int)p;
		return 0;
	}
	return TE_ERR_NOT_FOUND;
}

void devices_service_names(const json_t *dev, char *out, size_t outsz)
{
	json_t *list = json_object_get(dev, "services"), *s;
	const char *n;
	size_t i, len = 0;
	int w;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (!json_is_array(list))
		return;
	json_array_foreach(list, i, s) {
		if (!json_is_object(s) || api_get_str(s, "name", &n) != 0)
			continue;
		w = snprintf(out + len, outsz - len, "%s%s", len > 0 ? "," : "", n);
		if (w < 0 || (size_t)w >= outsz - len)
			return;   /* cut off; the table shows what fits */
		len += (size_t)w;
	}
}

int devices_get(struct api *a, const char *serial, json_t **out)
{
	char path[128], what[128];

	*out = NULL;
	if (cliargs_check_name(serial) != 0) {
		cliout_usage("'%s' is not a device serial (letters, digits, '.', '_', "
		             "'-')", serial);
		return TE_ERR_INVALID;
	}
	snprintf(path, sizeof(path), "/api/v1/devices/%s", serial);
	snprintf(what, sizeof(what), "looking up device %s", serial);
	return api_call(a, what, "GET", path, NULL, out);
}

/* "revoked", "online", "last seen <time>" or "never seen". last_seen may be
 * an integer time or a string; anything else counts as unknown. */
static void devices_seen(const json_t *dev, char *out, size_t outsz)
{
	json_t *online = json_object_get(dev, "online");
	json_t *seen = json_object_get(dev, "last_seen");
	const char *status = json_string_value(json_object_get(dev, "status"));
	char when[64];

	if (status != NULL && strcmp(status, "revoked") == 0) {
		/* Said first: a revoked device may still ping, to no avail. */
		snprintf(out, outsz, "revoked");
	} else if (json_is_true(online)) {
		snprintf(out, outsz, "online");
	} else if (json_is_integer(seen) && json_integer_value(seen) > 0) {
		cliout_time((time_t)json_integer_value(seen), when, sizeof(when));
		snprintf(out, outsz, "last seen %s", when);
	} else if (json_is_string(seen) && json_string_length(seen) > 0) {
		snprintf(out, outsz, "last seen %s", json_string_value(seen));
	} else {
		snprintf(out, outsz, "never seen");
	}
}

/* The device clock's offset from the server's as "-10 s" (behind) or
 * "+1 h 0 min" (ahead), with "!" when past the server's threshold; "-" when
 * never reported. The server reports server minus device. */
static void devices_clock(const json_t *dev, char *out, size_t outsz)
{
	json_t *off = json_object_get(dev, "clock_offset_s");
	char what[64];
	long long v;

	if (!json_is_integer(off)) {
		snprintf(out, outsz, "-");
		return;
	}
	v = (long long)json_integer_value(off);
	if (v == 0) {
		snprintf(out, outsz, "0 s");
		return;
	}
	clockoff_describe(v, what, sizeof(what));
	snprintf(out, outsz, "%s%s%s", v > 0 ? "-" : "+", what,
	         json_is_true(json_object_get(dev, "clock_skewed")) ? " !" : "");
}

static void devices_cells(const json_t *dev, char cells[][CLIOUT_CELL_BYTES])
{
	static const char *const keys[] = { "serial", "customer", "product", "site", "health" };
	const char *v;
	size_t k;

	for (k = 0; k < 5; k++) {
		if (api_get_str(dev, keys[k], &v) != 0 || v[0] == '\0')
			v = "-";
		snprintf(cells[k], CLIOUT_CELL_BYTES, "%s", v);
	}
	devices_seen(dev, cells[5], CLIOUT_CELL_BYTES);
	devices_service_names(dev, cells[6], CLIOUT_CELL_BYTES);
	if (cells[6][0] == '\0')
		snprintf(cells[6], CLIOUT_CELL_BYTES, "-");
	devices_clock(dev, cells[7], CLIOUT_CELL_BYTES);
}

static void devices_print_table(const json_t *list)
{
	static const char *const head[DEVICES_COLS] = {
		"SERIAL", "CUSTOMER", "PRODUCT", "SITE", "HEALTH", "SEEN", "SERVICES", "CLOCK"
	};
	const char *serial;
	json_t *dev, *off;
	char what[64];
	size_t i;

	cliout_table(list, head, DEVICES_COLS, devices_cells);
	json_array_foreach(list, i, dev) {
		off = json_object_get(dev, "clock_offset_s");
		if (!json_is_true(json_object_get(dev, "clock_skewed")) || !json_is_integer(off) ||
		    api_get_str(dev, "serial", &serial) != 0)
			continue;
		clockoff_describe(json_integer_value(off), what, sizeof(what));
		printf("warning: the clock of device %s is %s %s the server's (warning past %lld s);"
		       " sessions still work, judged by the server's clock\n", serial, what,
		       json_integer_value(off) > 0 ? "behind" : "ahead of",
		       (long long)json_integer_value(json_object_get(dev, "clock_skew_warn_s")));
	}
}

/* One "label  a, b" line of a name list; "not reported" when the agent
 * (too old) never said. Names come from the server: shown sanitised. */
static void devices_show_names(const char *label, const json_t *list, const char *key)
{
	char shown[TEXT_ESCAPED_BYTES(MAX_NAME_BYTES)];
	const json_t *v;
	size_t i;

	printf("%-11s", label);
	if (!json_is_array(list)) {
		printf(" (not reported by its agent)\n");
		return;
	}
	json_array_foreach(list, i, v) {
		const char *n = json_string_value(key ? json_object_get(v, key) : v);

		if (n != NULL)
			printf("%s %s", i ? "," : "", cliout_text(n, shown, sizeof(shown)));
	}
	printf("%s\n", json_array_size(list) == 0 ? " (none)" : "");
}

static const char devices_usage[] =
	"usage: tether devices [FILTERS] [--sort KEY]   list the devices you may reach\n"
	"       tether devices show DEVICE  one device: state, status, error history,\n"
	"                                 versions, recent sessions, and the services,\n"
	"                                 diagnostics and file areas its agent reports\n"
	"filters (all must hold):\n"
	"  --site SITE         at this customer site\n"
	"  --product FAMILY    of this product family\n"
	"  --health H          ok, warning, fault, or unknown (never reported)\n"
	"  --error CODE        with this error code active\n"
	"  --below COMP:VER    reporting component COMP at a version below VER\n"
	"  --not-seen DUR      offline and not seen for DUR (30s, 15m, 1h, 2d)\n"
	"--sort KEY            serial (default), seen (longest unseen first), health\n"
	"                      (fault first), site, product or customer\n"
	"--json (before the command) prints the list as JSON\n";

/* Append "&key=value" with value percent-encoded. */
static int devices_query_add(char *q, size_t qsz, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(q);
	int w = snprintf(q + len, qsz - len, "&%s=", key);

	if (w < 0 || (size_t)w >= qsz - len)
		return TE_ERR_TOO_LONG;
	len += (size_t)w;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (len + 4 >= qsz)
			return TE_ERR_TOO_LONG;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			q[len++] = (char)*p;
		} else {
			q[len++] = '%';
			q[len++] = hex[*p >> 4];
			q[len++] = hex[*p & 15];
		}
	}
	q[len] = '\0';
	return 0;
}

struct devices_opts {
	const char *site, *product, *health, *error, *below, *not_seen, *sort;
};

/* The filters as a query string ("" or "&k=v..."); a usage error said. */
static int devices_query(const struct devices_opts *o, char *q, size_t qsz)
{
	char secs[32];
	long n;

	q[0] = '\0';
	if (o->health != NULL && strcmp(o->health, "ok") != 0 && strcmp(o->health, "warning") != 0 &&
	    strcmp(o->health, "fault") != 0 && strcmp(o->health, "unknown") != 0) {
		cliout_usage("devices: --health is ok, warning, fault or unknown");
		return TE_ERR_INVALID;
	}
	if (o->below != NULL && strchr(o->below, ':') == NULL) {
		cliout_usage("devices: --below is COMPONENT:VERSION, e.g. firmware:2.4");
		return TE_ERR_INVALID;
	}
	if (o->not_seen != NULL) {
		if ((n = config_duration(o->not_seen)) < 1) {
			cliout_usage("devices: --not-seen is a duration such as 30s, 15m, 1h or 2d");
			return TE_ERR_INVALID;
		}
		snprintf(secs, sizeof(secs), "%ld", n);
	}
	if ((o->site && devices_query_add(q, qsz, "site", o->site) != 0) ||
	    (o->product && devices_query_add(q, qsz, "product", o->product) != 0) ||
	    (o->health && devices_query_add(q, qsz, "health", o->health) != 0) ||
	    (o->error && devices_query_add(q, qsz, "error", o->error) != 0) ||
	    (o->below && devices_query_add(q, qsz, "below", o->below) != 0) ||
	    (o->not_seen && devices_query_add(q, qsz, "not_seen_s", secs) != 0)) {
		cliout_usage("devices: a filter is too long");
		return TE_ERR_INVALID;
	}
	return 0;
}

static const char *devices_sort_key;

static int devices_health_rank(const json_t *d)
{
	const char *h = json_string_value(json_object_get(d, "health"));

	return h == NULL ? 3 : strcmp(h, "fault") == 0 ? 0 : strcmp(h, "warning") == 0 ? 1 : 2;
}

static int devices_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *k = devices_sort_key, *sx, *sy;
	long long lx, ly;
	int c = 0;

	if (strcmp(k, "seen") == 0) {
		/* Longest unseen first; online devices last. */
		lx = json_is_true(json_object_get(x, "online")) ? LLONG_MAX :
		     (long long)json_integer_value(json_object_get(x, "last_seen"));
		ly = json_is_true(json_object_get(y, "online")) ? LLONG_MAX :
		     (long long)json_integer_value(json_object_get(y, "last_seen"));
		c = lx < ly ? -1 : lx > ly;
	} else if (strcmp(k, "health") == 0) {
		c = devices_health_rank(x) - devices_health_rank(y);
	} else if (strcmp(k, "serial") != 0) {
		sx = json_string_value(json_object_get(x, k));
		sy = json_string_value(json_object_get(y, k));
		c = strcmp(sx != NULL ? sx : "", sy != NULL ? sy : "");
	}
	if (c == 0) {
		sx = json_string_value(json_object_get(x, "serial"));
		sy = json_string_value(json_object_get(y, "serial"));
		c = strcmp(sx != NULL ? sx : "", sy != NULL ? sy : "");
	}
	return c;
}

/* Sort list in place by key (checked by the caller). */
static int devices_sort(json_t *list, const char *key)
{
	size_t n = json_array_size(list), i;
	json_t **v;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return TE_ERR_NOMEM;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	devices_sort_key = key;
	qsort(v, n, sizeof(*v), devices_cmp);
	json_array_clear(list);
	for (i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
	free(v);
	return 0;
}

/* "2026-12-06 21:50" or "-". */
static const char *devices_when(const json_t *v, char *out, size_t outsz)
{
	if (json_is_integer(v) && json_integer_value(v) > 0)
		cliout_time((time_t)json_integer_value(v), out, outsz);
	else
		snprintf(out, outsz, "-");
	return out;
}

/* The codes of a status object's "errors", "a, b" ("none"). */
static void devices_codes(const json_t *st, char *out, size_t outsz)
{
	char shown[TEXT_ESCAPED_BYTES(DEVSTATUS_CODE_BYTES)];
	const json_t *e;
	size_t i, len = 0;

	snprintf(out, outsz, "none");
	json_array_foreach(json_object_get(st, "errors"), i, e) {
		const char *c = json_string_value(json_object_get(e, "code"));
		int w = snprintf(out + len, outsz - len, "%s%s", i ? ", " : "",
		                 cliout_text(c != NULL ? c : "?", shown, sizeof(shown)));

		if (w < 0 || (size_t)w >= outsz - len)
			return;
		len += (size_t)w;
	}
}

static void devices_show_status(const json_t *dev)
{
	char shown[TEXT_ESCAPED_BYTES(DEVSTATUS_NOTE_BYTES)], w1[64], w2[64], line[1024];
	const json_t *st = json_object_get(dev, "device_status"), *v;
	const char *key, *h = json_string_value(json_object_get(dev, "health"));
	size_t i;

	if (!json_is_object(st)) {
		printf("%-11s not reported yet\n", "status");
		return;
	}
	printf("%-11s %s (reported %s, changed %s)\n", "health",
	       cliout_text(h != NULL ? h : "not reported by the device", shown, sizeof(shown)),
	       devices_when(json_object_get(dev, "status_reported_at"), w1, sizeof(w1)),
	       devices_when(json_object_get(dev, "status_changed_at"), w2, sizeof(w2)));
	printf("%-11s", "errors");
	json_array_foreach(json_object_get(st, "errors"), i, v) {
		const char *c = json_string_value(json_object_get(v, "code"));

		printf("%s %s since %s", i ? "," : "", cliout_text(c ? c : "?", shown, sizeof(shown)),
		       devices_when(json_object_get(v, "since"), w1, sizeof(w1)));
	}
	printf("%s\n", json_array_size(json_object_get(st, "errors")) ? "" : " none");
	printf("%-11s", "counters");
	i = 0;
	json_object_foreach((json_t *)json_object_get(st, "counters"), key, v)
		printf("%s %s=%lld", i++ ? "," : "", cliout_text(key, shown, sizeof(shown)),
		       (long long)json_integer_value(v));
	printf("%s\n", i ? "" : " none");
	printf("%-11s", "versions");
	i = 0;
	json_object_foreach((json_t *)json_object_get(st, "versions"), key, v) {
		printf("%s %s", i++ ? "," : "", cliout_text(key, shown, sizeof(shown)));
		printf(" %s", cliout_text(json_string_value(v) ? json_string_value(v) : "?", shown,
		                          sizeof(shown)));
	}
	printf("%s\n", i ? "" : " none");
	if (json_is_integer(v = json_object_get(st, "uptime_s"))) {
		clockoff_describe(json_integer_value(v), w1, sizeof(w1));
		printf("%-11s %s (at the report)\n", "uptime", w1);
	}
	if (json_is_integer(v = json_object_get(st, "disk_free_mb")))
		printf("%-11s %lld MB\n", "disk free", (long long)json_integer_value(v));
	if (json_is_string(v = json_object_get(st, "note")))
		printf("%-11s %s\n", "note", cliout_text(json_string_value(v), shown, sizeof(shown)));
	printf("error history (newest first):\n");
	json_array_foreach(json_object_get(dev, "error_history"), i, v) {
		const char *c = json_string_value(json_object_get(v, "code"));
		const json_t *cl = json_object_get(v, "cleared_at");

		printf("  %-16s first seen %s, %s%s\n", cliout_text(c ? c : "?", shown, sizeof(shown)),
		       devices_when(json_object_get(v, "first_seen"), w1, sizeof(w1)),
		       json_is_integer(cl) ? "cleared " : "active",
		       json_is_integer(cl) ? devices_when(cl, w2, sizeof(w2)) : "");
	}
	if (json_array_size(json_object_get(dev, "error_history")) == 0)
		printf("  none\n");
	printf("status changes (newest first):\n");
	json_array_foreach(json_object_get(dev, "status_history"), i, v) {
		const char *hh = json_string_value(json_object_get(v, "health"));

		devices_codes(json_object_get(v, "status"), line, sizeof(line));
		printf("  %s  %-8s errors: %s\n", devices_when(json_object_get(v, "at"), w1, sizeof(w1)),
		       cliout_text(hh ? hh : "-", shown, sizeof(shown)), line);
	}
}

static void devices_show_sessions(const json_t *list)
{
	char shown[TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)], w[64];
	const json_t *v;
	size_t i;

	printf("recent sessions (newest first):\n");
	json_array_foreach(list, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		const char *user = json_string_value(json_object_get(v, "user"));
		const char *state = json_string_value(json_object_get(v, "state"));
		const char *reason = json_string_value(json_object_get(v, "reason"));

		printf("  %s", cliout_text(id ? id : "?", shown, sizeof(shown)));
		printf("  %s", devices_when(json_object_get(v, "created_at"), w, sizeof(w)));
		printf("  %s", cliout_text(user ? user : "?", shown, sizeof(shown)));
		printf("  %s", cliout_text(state ? state : "?", shown, sizeof(shown)));
		printf("  %s\n", cliout_text(reason ? reason : "", shown, sizeof(shown)));
	}
	if (json_array_size(list) == 0)
		printf("  none\n");
}

/* The newest activities of the maintenance queue (for queue:view). */
static void devices_show_activities(const json_t *list)
{
	char shown[TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)], w[64];
	const json_t *v;
	size_t i;

	if (!json_is_array(list))
		return;
	printf("recent activities (newest first):\n");
	json_array_foreach(list, i, v) {
		static const char *const keys[] = { "id", "kind", "name", "state", "created_by",
		                                    "reason" };

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *s = json_string_value(json_object_get(v, keys[k]));

			printf("%s%s", k == 0 ? "  " : "  ", cliout_text(s ? s : "?", shown,
			       sizeof(shown)));
			if (k == 0)
				printf("  %s", devices_when(json_object_get(v, "created_at"), w, sizeof(w)));
		}
		printf("\n");
	}
	if (json_array_size(list) == 0)
		printf("  none\n");
}

/* The newest data files (only for a user with files:collect). */
static void devices_show_files(const json_t *list)
{
	char shown[TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)], w[64];
	const json_t *v;
	size_t i;

	if (!json_is_array(list))
		return;
	printf("recent files (newest first; tether files list for all):\n");
	json_array_foreach(list, i, v) {
		const char *path = json_string_value(json_object_get(v, "path"));
		const char *why = json_string_value(json_object_get(v, "refused"));

		printf("  %lld  %s  ", (long long)json_integer_value(json_object_get(v, "id")),
		       devices_when(json_object_get(v, "collected_at"), w, sizeof(w)));
		printf("%s", cliout_text(path ? path : "?", shown, sizeof(shown)));
		if (why != NULL)
			printf("  refused: %s\n", cliout_text(why, shown, sizeof(shown)));
		else
			printf("  %lld bytes\n", (long long)json_integer_value(json_object_get(v, "size")));
	}
	if (json_array_size(list) == 0)
		printf("  none\n");
}

static int devices_show(const struct cli *cli, const char *serial)
{
	static const char *const keys[] = { "serial", "customer", "product", "site",
	                                    "agent_version" };
	char shown[TEXT_ESCAPED_BYTES(CLIOUT_CELL_BYTES)], cell[CLIOUT_CELL_BYTES];
	struct api *a = NULL;
	json_t *dev = NULL;
	const char *v;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_check_name(serial) != 0) {
		cliout_usage("devices show: '%s' is not a device serial", serial);
		return CLI_EXIT_USAGE;
	}
	if (api_open(cli, 0, &a) != 0 || devices_get(a, serial, &dev) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(dev);
		goto out;
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (api_get_str(dev, keys[k], &v) == 0)
			printf("%-11s %s\n", keys[k], cliout_text(v, shown, sizeof(shown)));
	devices_seen(dev, cell, sizeof(cell));
	printf("%-11s %s\n", "seen", cliout_text(cell, shown, sizeof(shown)));
	devices_show_names("services", json_object_get(dev, "services"), "name");
	devices_show_names("diags", json_object_get(dev, "diags"), NULL);
	devices_show_names("files", json_object_get(dev, "files"), NULL);
	devices_show_status(dev);
	devices_show_sessions(json_object_get(dev, "recent_sessions"));
	devices_show_activities(json_object_get(dev, "recent_activities"));
	devices_show_files(json_object_get(dev, "recent_files"));
out:
	json_decref(dev);
	api_free(a);
	return rc;
}

/* Every page of GET /api/v1/devices, following "next", into one list (at
 * most DEVICES_MAX_PAGES pages, so a server that never says "last" cannot
 * keep us here). */
static int devices_list(const struct cli *cli, const char *query, const char *sort)
{
	char path[1200 + MAX_NAME_BYTES], after[MAX_NAME_BYTES] = "";
	json_t *all = json_array(), *resp = NULL, *page, *next;
	struct api *a = NULL;
	int rc = CLI_EXIT_FAIL, n;

	if (all == NULL || api_open(cli, 0, &a) != 0)
		goto out;
	for (n = 0; n < DEVICES_MAX_PAGES; n++) {
		snprintf(path, sizeof(path), "/api/v1/devices?limit=%d%s%s%s", DEVICES_PAGE,
		         after[0] ? "&after=" : "", after, query);
		if (api_call(a, "listing devices", "GET", path, NULL, &resp) != 0)
			goto out;
		page = json_object_get(resp, "devices");
		next = json_object_get(resp, "next");
		if (!json_is_array(page) || (next != NULL && !json_is_null(next) &&
		                             (!json_is_string(next) ||
		                              cliargs_check_name(json_string_value(next)) != 0))) {
			api_bad_answer(cli, "listing devices", "devices");
			goto out;
		}
		for (size_t i = 0; i < json_array_size(page); i++)
			if (!json_is_object(json_array_get(page, i))) {
				api_bad_answer(cli, "listing devices", "devices");
				goto out;
			}
		json_array_extend(all, page);
		if (next == NULL || json_is_null(next))
			break;
		snprintf(after, sizeof(after), "%s", json_string_value(next));
		json_decref(resp);
		resp = NULL;
	}
	rc = CLI_EXIT_OK;
	if (devices_sort(all, sort) != 0) {
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	if (cli->json)
		cliout_json_new(json_pack("{s:O}", "devices", all));
	else if (json_array_size(all) == 0)
		printf(query[0] ? "no devices match\n" : "no devices\n");
	else
		devices_print_table(all);
out:
	json_decref(resp);
	json_decref(all);
	api_free(a);
	return rc;
}

int devices_main(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	size_t npos;

	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	                  (strcmp(argv[0], "show") == 0 && argc >= 2 &&
	                   (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)))) {
		fputs(devices_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 1 && strcmp(argv[0], "show") == 0) {
		if (cliargs_parse("devices show", argc - 1, argv + 1, NULL, 0, pos, 1, 1,
		                  &npos, NULL) != 0)
			return CLI_EXIT_USAGE;
		return devices_show(cli, pos[0]);
	}
	{
		struct devices_opts o = { 0 };
		const struct cliargs_opt opts[] = {
			{ "--site", &o.site, NULL, 0, NULL },
			{ "--product", &o.product, NULL, 0, NULL },
			{ "--health", &o.health, NULL, 0, NULL },
			{ "--error", &o.error, NULL, 0, NULL },
			{ "--below", &o.below, NULL, 0, NULL },
			{ "--not-seen", &o.not_seen, NULL, 0, NULL },
			{ "--sort", &o.sort, NULL, 0, NULL },
		};
		char query[1024];

		if (cliargs_parse("devices", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos,
		                  0, 0, &npos, NULL) != 0 ||
		    devices_query(&o, query, sizeof(query)) != 0)
			return CLI_EXIT_USAGE;
		if (o.sort == NULL)
			o.sort = "serial";
		if (strcmp(o.sort, "serial") != 0 && strcmp(o.sort, "seen") != 0 &&
		    strcmp(o.sort, "health") != 0 && strcmp(o.sort, "site") != 0 &&
		    strcmp(o.sort, "product") != 0 && strcmp(o.sort, "customer") != 0) {
			cliout_usage("devices: --sort is serial, seen, health, site, product or "
			             "customer");
			return CLI_EXIT_USAGE;
		}
		return devices_list(cli, query, o.sort);
	}
}
