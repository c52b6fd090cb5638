/* cliout.c: error lines, usage hints, JSON output, times and tables for the
 * CLI. */
#include "cliout.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secret.h"

#define CLIOUT_MSG_BYTES 2048

void cliout_error(const struct cli *cli, const char *code, const char *fmt, ...)
{
	char msg[CLIOUT_MSG_BYTES], shown[TEXT_ESCAPED_BYTES(CLIOUT_MSG_BYTES)];
	va_list ap;
	json_t *obj;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a server's message may quote what someone typed */
	fprintf(stderr, "tether: %s\n", text_escape_display(msg, shown, sizeof(shown)));
	if (cli == NULL || !cli->json)
		return;
	obj = json_pack("{s:s, s:s}", "error", code != NULL ? code : "failed",
	                "message", msg);
	cliout_json_new(obj);
}

void cliout_usage(const char *fmt, ...)
{
	char msg[CLIOUT_MSG_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tether: %s\nrun 'tether help' for usage\n", msg);
}

int cliout_json(const json_t *v)
{
	char *text;

	text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
	                  JSON_ENSURE_ASCII);
	if (text == NULL)
		return TE_ERR_NOMEM;
	fprintf(stdout, "%s\n", text);
	fflush(stdout);
	/* It may hold a TOTP secret or recovery codes. */
	secret_wipe(text, strlen(text));
	free(text);
	return 0;
}

void cliout_json_new(json_t *v)
{
	if (v != NULL)
		cliout_json(v);
	json_decref(v);
}

void cliout_time(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(out, outsz, "%lld", (long long)t);
}

void cliout_when(const json_t *v, char *out, size_t outsz)
{
	if (json_is_integer(v) && json_integer_value(v) > 0)
		cliout_time((time_t)json_integer_value(v), out, outsz);
	else if (json_is_string(v) && json_string_length(v) > 0)
		snprintf(out, outsz, "%s", json_string_value(v));
	else
		snprintf(out, outsz, "none");
}

const char *cliout_text(const char *s, char *buf, size_t bufsz)
{
	return text_escape_display(s != NULL ? s : "", buf, bufsz);
}

/* One row's cells, each with what the server sent made safe to print. */
static void cliout_cells(cliout_cells_fn cells_fn, const json_t *row,
                         char cells[][CLIOUT_CELL_BYTES], size_t ncols)
{
	char shown[CLIOUT_CELL_BYTES];

	cells_fn(row, cells);
	for (size_t k = 0; k < ncols; k++) {
		text_escape_display(cells[k], shown, sizeof(shown));
		memcpy(cells[k], shown, sizeof(shown));
	}
}

void cliout_table(const json_t *list, const char *const *head, size_t ncols,
                  cliout_cells_fn cells_fn)
{
	char cells[CLIOUT_MAX_COLS][CLIOUT_CELL_BYTES];
	size_t width[CLIOUT_MAX_COLS], i, k;
	json_t *row;

	if (ncols > CLIOUT_MAX_COLS)
		ncols = CLIOUT_MAX_COLS;
	for (k = 0; k < ncols; k++)
		width[k] = strlen(head[k]);
	json_array_foreach(list, i, row) {
		cliout_cells(cells_fn, row, cells, ncols);
		for (k = 0; k < ncols; k++)
			if (strlen(cells[k]) > width[k])
				width[k] = strlen(cells[k]);
	}
	width[ncols - 1] = 0;   /* no padding at the end of a line */
	for (k = 0; k < ncols; k++)
		printf("%-*s%s", (int)width[k], head[k], k + 1 < ncols ? "  " : "\n");
	json_array_foreach(list, i, row) {
		cliout_cells(cells_fn, row, cells, ncols);
		for (k = 0; k < ncols; k++)
			printf("%-*s%s", (int)width[k], cells[k], k + 1 < ncols ? "  " : "\n");
	}
}

void cliout_csv_cell(const char *s, int last)
{
	/* A leading =, +, - or @ is a formula to a spreadsheet: kept as text. */
	int guard = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';

	putchar('"');
	if (guard)
		putchar('\'');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar((unsigned char)*s < 0x20 ? ' ' : *s);
	}
	putchar('"');
	putchar(last ? '\n' : ',');
}
