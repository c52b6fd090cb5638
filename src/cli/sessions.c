/* sessions.c: `tether sessions`: GET /api/v1/sessions as a table (the
 * server gives the caller's open sessions and the newest final ones). */
#include "sessions.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cliargs.h"

#define SESSIONS_COLS 6

static void sessions_cells(const json_t *s, char cells[][CLIOUT_CELL_BYTES])
{
	static const char *const keys[] = { "id", "device", "state" };
	const char *v;
	size_t k;

	for (k = 0; k < 3; k++) {
		if (api_get_str(s, keys[k], &v) != 0)
			v = "-";
		snprintf(cells[k], CLIOUT_CELL_BYTES, "%s", v);
	}
	cliout_when(json_object_get(s, "created_at"), cells[3], CLIOUT_CELL_BYTES);
	if (api_get_str(s, "reason", &v) != 0)
		v = "-";
	snprintf(cells[4], CLIOUT_CELL_BYTES, "%s", v);
	if (api_get_str(s, "end_reason", &v) != 0 || v[0] == '\0')
		v = "-";
	snprintf(cells[5], CLIOUT_CELL_BYTES, "%s", v);
}

static void sessions_print_table(const json_t *list)
{
	static const char *const head[SESSIONS_COLS] = {
		"ID", "DEVICE", "STATE", "REQUESTED", "REASON", "ENDED BECAUSE"
	};

	cliout_table(list, head, SESSIONS_COLS, sessions_cells);
}

int sessions_main(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	size_t npos;

	if (cliargs_parse("sessions", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	return api_list(cli, "listing your sessions", "/api/v1/sessions", "sessions", "id",
	                "no sessions", sessions_print_table);
}
