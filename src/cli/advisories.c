/* advisories.c: `tether advisories [--format table|csv|json]` (issue 10,
 * section 6; docs/updates.md): the imported OSV advisories that affect the
 * fleet, by customer, site and device, with the release that fixes each;
 * CSV and JSON for the manufacturer's postmarket cybersecurity process.
 * Every text shown comes from the server and is shown escaped. */
#include "advisories.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cliargs.h"

static const char *const advisories_cols[] = {
	"advisory", "package", "version", "customer", "site", "device", "via", "fixed_version",
	"fixed_by", "summary",
};
#define ADVISORIES_NCOLS (sizeof(advisories_cols) / sizeof(advisories_cols[0]))

static void advisories_cells(const json_t *r, char cells[][CLIOUT_CELL_BYTES])
{
	static const char *const keys[] = { "advisory", "package", "version", "site", "device",
	                                    "via", "fixed_by" };
	char esc[CLIOUT_CELL_BYTES * 4];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = json_string_value(json_object_get(r, keys[i]));

		if (strcmp(keys[i], "fixed_by") == 0 && (v == NULL || v[0] == '\0')) {
			const char *fv = json_string_value(json_object_get(r, "fixed_version"));

			v = fv != NULL && fv[0] != '\0' ? "(fix not published)" : "(no fix known)";
		}
		snprintf(cells[i], CLIOUT_CELL_BYTES, "%s", cliout_text(v, esc, sizeof(esc)));
	}
}

int advisories_main(const struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "ADVISORY", "PACKAGE", "VERSION", "SITE", "DEVICE",
	                                    "VIA", "FIXED BY" };
	const char *format = NULL, *pos[1];
	const struct cliargs_opt opts[] = { { "--format", &format, NULL, 0, NULL } };
	json_t *body = NULL, *rows, *r;
	struct api *a = NULL;
	char esc[1024];
	size_t npos, i, k;

	if (cliargs_parse("advisories", argc, argv, opts, 1, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (format == NULL)
		format = "table";
	if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
		cliout_usage("advisories: --format is table, csv or json");
		return CLI_EXIT_USAGE;
	}
	if (api_open(cli, 0, &a) != 0 ||
	    api_call(a, "matching the advisories", "GET", "/api/v1/advisories", NULL, &body) != 0) {
		api_free(a);
		return CLI_EXIT_FAIL;
	}
	api_free(a);
	rows = json_object_get(body, "affected");
	if (cli->json || strcmp(format, "json") == 0) {
		cliout_json(body);
	} else if (strcmp(format, "csv") == 0) {
		for (k = 0; k < ADVISORIES_NCOLS; k++)
			cliout_csv_cell(advisories_cols[k], k + 1 == ADVISORIES_NCOLS);
		json_array_foreach(rows, i, r)
			for (k = 0; k < ADVISORIES_NCOLS; k++)
				cliout_csv_cell(cliout_text(json_string_value(json_object_get(r,
				                advisories_cols[k])), esc, sizeof(esc)),
				                k + 1 == ADVISORIES_NCOLS);
	} else if (json_array_size(rows) == 0) {
		puts("no device runs an affected version of an imported advisory's packages");
	} else {
		cliout_table(rows, head, 7, advisories_cells);
	}
	if (json_is_true(json_object_get(body, "truncated")))
		fprintf(stderr, "tether advisories: only the first %zu rows\n", json_array_size(rows));
	json_decref(body);
	return CLI_EXIT_OK;
}
