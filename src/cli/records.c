/* records.c: `tether records list|show`: service records (docs/crm.md), as
 * a table, CSV (RFC 4180; a cell that a spreadsheet would run as a formula
 * is prefixed with ') or JSON. */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "cliout.h"
#include "err.h"
#include "text.h"

static const char records_usage[] =
	"usage: tether records list [--device D] [--site S] [--specialist USER]\n"
	"                           [--since DATE] [--until DATE] [--format table|csv|json]\n"
	"                           service records, newest first (DATE: YYYY-MM-DD)\n"
	"       tether records show ID   one record (the session's id)\n"
	"Needs records:view; a customer role sees its own site's records.\n";

/* "2026-12-06T21:58:49Z", or "" for null. */
static void records_iso(const json_t *v, char *out, size_t outsz)
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;

	out[0] = '\0';
	if (json_is_integer(v) && gmtime_r(&t, &tm) != NULL)
		strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The names of a JSON array of strings (or of objects' "name"), ';'-joined. */
static void records_join(const json_t *list, char *out, size_t outsz)
{
	const json_t *v;
	size_t i, len = 0;

	out[0] = '\0';
	json_array_foreach(list, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) :
		                json_string_value(json_object_get(v, "name"));
		int w = snprintf(out + len, outsz - len, "%s%s", len ? ";" : "", s ? s : "");

		if (w < 0 || (size_t)w >= outsz - len)
			return;
		len += (size_t)w;
	}
}

static const char *const records_cols[] = {
	"id", "kind", "customer", "site", "device", "product", "specialist", "reason", "state",
	"outcome", "requested_at", "started_at", "ended_at", "services", "actions", "recordings",
	"files",
};
#define RECORDS_NCOLS (sizeof(records_cols) / sizeof(records_cols[0]))

static void records_csv_row(const json_t *r)
{
	char cell[2048];
	const json_t *g = json_object_get(r, "granted");

	for (size_t k = 0; k < RECORDS_NCOLS; k++) {
		const char *key = records_cols[k];

		if (strcmp(key, "requested_at") == 0 || strcmp(key, "started_at") == 0 ||
		    strcmp(key, "ended_at") == 0)
			records_iso(json_object_get(r, key), cell, sizeof(cell));
		else if (strcmp(key, "services") == 0 || strcmp(key, "actions") == 0)
			records_join(json_object_get(g, key), cell, sizeof(cell));
		else if (strcmp(key, "recordings") == 0 || strcmp(key, "files") == 0)
			records_join(json_object_get(r, key), cell, sizeof(cell));
		else
			snprintf(cell, sizeof(cell), "%s",
			         json_string_value(json_object_get(r, key)) ?
			         json_string_value(json_object_get(r, key)) : "");
		cliout_csv_cell(cell, k + 1 == RECORDS_NCOLS);
	}
}

static void records_cells(const json_t *r, char cells[][CLIOUT_CELL_BYTES])
{
	static const char *const keys[] = { "id", "device", "site", "specialist", "outcome" };

	for (size_t k = 0; k < 5; k++) {
		const char *v = json_string_value(json_object_get(r, keys[k]));

		snprintf(cells[k], CLIOUT_CELL_BYTES, "%s", v != NULL && v[0] ? v : "-");
	}
	records_iso(json_object_get(r, "requested_at"), cells[5], CLIOUT_CELL_BYTES);
	snprintf(cells[6], CLIOUT_CELL_BYTES, "%s",
	         json_string_value(json_object_get(r, "reason")) ?
	         json_string_value(json_object_get(r, "reason")) : "");
}

/* Append "&key=value" (the value is a name or a date: nothing to encode). */
static int records_q(char *q, size_t qsz, const char *key, const char *v)
{
	size_t len = strlen(q);
	int w;

	if (v == NULL)
		return 0;
	if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
	    strlen(v)) {
		cliout_usage("records list: --%s takes letters, digits, '.', '_' and '-'", key);
		return -1;
	}
	w = snprintf(q + len, qsz - len, "%s%s=%s", len ? "&" : "?", key, v);
	return w < 0 || (size_t)w >= qsz - len ? -1 : 0;
}

static int records_list(const struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "ID", "DEVICE", "SITE", "SPECIALIST", "OUTCOME",
	                                    "REQUESTED", "REASON" };
	const char *dev = NULL, *site = NULL, *who = NULL, *since = NULL, *until = NULL,
	           *format = NULL, *pos[1];
	const struct cliargs_opt opts[] = {
		{ "--device", &dev, NULL, 0, NULL }, { "--site", &site, NULL, 0, NULL },
		{ "--specialist", &who, NULL, 0, NULL }, { "--since", &since, NULL, 0, NULL },
		{ "--until", &until, NULL, 0, NULL }, { "--format", &format, NULL, 0, NULL },
	};
	char q[512] = "", path[600];
	json_t *resp = NULL, *list, *r;
	struct api *a = NULL;
	size_t npos, i;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("records list", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos,
	                  0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (format == NULL)
		format = cli->json ? "json" : "table";
	if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0) {
		cliout_usage("records list: --format is table, csv or json");
		return CLI_EXIT_USAGE;
	}
	if (records_q(q, sizeof(q), "device", dev) != 0 || records_q(q, sizeof(q), "site", site) != 0 ||
	    records_q(q, sizeof(q), "specialist", who) != 0 ||
	    records_q(q, sizeof(q), "since", since) != 0 ||
	    records_q(q, sizeof(q), "until", until) != 0)
		return CLI_EXIT_USAGE;
	snprintf(path, sizeof(path), "/api/v1/records%s", q);
	if (api_open(cli, 0, &a) != 0 ||
	    api_call(a, "listing service records", "GET", path, NULL, &resp) != 0)
		goto out;
	if (!json_is_array(list = json_object_get(resp, "records"))) {
		api_bad_answer(cli, "listing service records", "records");
		goto out;
	}
	rc = CLI_EXIT_OK;
	if (strcmp(format, "json") == 0) {
		cliout_json(resp);
	} else if (strcmp(format, "csv") == 0) {
		for (i = 0; i < RECORDS_NCOLS; i++)
			cliout_csv_cell(records_cols[i], i + 1 == RECORDS_NCOLS);
		json_array_foreach(list, i, r)
			records_csv_row(r);
	} else if (json_array_size(list) == 0) {
		printf("no records\n");
	} else {
		cliout_table(list, head, 7, records_cells);
	}
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

static int records_show(const struct cli *cli, const char *id)
{
	static const char *const keys[] = { "id", "kind", "customer", "site", "device", "product",
	                                    "specialist", "reason", "state", "outcome" };
	char path[128], shown[TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)], when[64], list[2048];
	json_t *r = NULL;
	struct api *a = NULL;
	const char *v;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_check_name(id) != 0) {
		cliout_usage("records show: '%s' is not a record id", id);
		return CLI_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/api/v1/records/%s", id);
	if (api_open(cli, 0, &a) != 0 ||
	    api_call(a, "reading a service record", "GET", path, NULL, &r) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(r);
		goto out;
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if ((v = json_string_value(json_object_get(r, keys[k]))) != NULL)
			printf("%-12s %s\n", keys[k], cliout_text(v, shown, sizeof(shown)));
	records_iso(json_object_get(r, "requested_at"), when, sizeof(when));
	printf("%-12s %s\n", "requested", when[0] ? when : "-");
	records_iso(json_object_get(r, "started_at"), when, sizeof(when));
	printf("%-12s %s\n", "started", when[0] ? when : "-");
	records_iso(json_object_get(r, "ended_at"), when, sizeof(when));
	printf("%-12s %s\n", "ended", when[0] ? when : "-");
	records_join(json_object_get(json_object_get(r, "granted"), "services"), list, sizeof(list));
	printf("%-12s %s\n", "services", cliout_text(list[0] ? list : "-", shown, sizeof(shown)));
	records_join(json_object_get(json_object_get(r, "granted"), "actions"), list, sizeof(list));
	printf("%-12s %s\n", "actions", cliout_text(list[0] ? list : "-", shown, sizeof(shown)));
	records_join(json_object_get(r, "recordings"), list, sizeof(list));
	printf("%-12s %s\n", "recordings", cliout_text(list[0] ? list : "-", shown, sizeof(shown)));
	records_join(json_object_get(r, "files"), list, sizeof(list));
	printf("%-12s %s\n", "files", cliout_text(list[0] ? list : "-", shown, sizeof(shown)));
out:
	json_decref(r);
	api_free(a);
	return rc;
}

int records_main(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	size_t npos;

	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
		fputs(records_usage, argc < 1 ? stderr : stdout);
		return argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[0], "list") == 0)
		return records_list(cli, argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0) {
		if (cliargs_parse("records show", argc - 1, argv + 1, NULL, 0, pos, 1, 1, &npos,
		                  NULL) != 0)
			return CLI_EXIT_USAGE;
		return records_show(cli, pos[0]);
	}
	cliout_usage("records: say list or show");
	return CLI_EXIT_USAGE;
}
