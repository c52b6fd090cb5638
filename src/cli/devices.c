/* devices.c: list the devices the user may reach, as a table or JSON. */
#include "devices.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "cliargs.h"
#include "clockoff.h"
#include "err.h"
#include "text.h"

#define DEVICES_COLS 6
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
	static const char *const keys[] = { "serial", "customer", "product" };
	const char *v;
	size_t k;

	for (k = 0; k < 3; k++) {
		if (api_get_str(dev, keys[k], &v) != 0)
			v = "-";
		snprintf(cells[k], CLIOUT_CELL_BYTES, "%s", v);
	}
	devices_seen(dev, cells[3], CLIOUT_CELL_BYTES);
	devices_service_names(dev, cells[4], CLIOUT_CELL_BYTES);
	if (cells[4][0] == '\0')
		snprintf(cells[4], CLIOUT_CELL_BYTES, "-");
	devices_clock(dev, cells[5], CLIOUT_CELL_BYTES);
}

static void devices_print_table(const json_t *list)
{
	static const char *const head[DEVICES_COLS] = {
		"SERIAL", "CUSTOMER", "PRODUCT", "SEEN", "SERVICES", "CLOCK"
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
	"usage: tether devices            list the devices you may reach\n"
	"       tether devices show DEVICE  one device: state, and the services,\n"
	"                                 diagnostics and file areas its agent reports\n";

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
out:
	json_decref(dev);
	api_free(a);
	return rc;
}

/* Every page of GET /api/v1/devices, following "next", into one list (at
 * most DEVICES_MAX_PAGES pages, so a server that never says "last" cannot
 * keep us here). */
static int devices_list(const struct cli *cli)
{
	char path[96 + MAX_NAME_BYTES], after[MAX_NAME_BYTES] = "";
	json_t *all = json_array(), *resp = NULL, *page, *next;
	struct api *a = NULL;
	int rc = CLI_EXIT_FAIL, n;

	if (all == NULL || api_open(cli, 0, &a) != 0)
		goto out;
	for (n = 0; n < DEVICES_MAX_PAGES; n++) {
		snprintf(path, sizeof(path), "/api/v1/devices?limit=%d%s%s", DEVICES_PAGE,
		         after[0] ? "&after=" : "", after);
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
	if (cli->json)
		cliout_json_new(json_pack("{s:O}", "devices", all));
	else if (json_array_size(all) == 0)
		printf("no devices\n");
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
	if (cliargs_parse("devices", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	return devices_list(cli);
}
