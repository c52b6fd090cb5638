/* cliout.h: how the tether CLI talks to its user: exit codes, error lines on
 * stderr, JSON results on stdout for --json. */
#ifndef TETHER_CLIOUT_H
#define TETHER_CLIOUT_H

#include <time.h>
#include <jansson.h>

enum cli_exit {
	CLI_EXIT_OK = 0,     /* done */
	CLI_EXIT_FAIL = 1,   /* failed, refused or denied (by the server or locally) */
	CLI_EXIT_USAGE = 2,  /* the command line was wrong */
};

/* Global options, parsed by main.c before the command. */
struct cli {
	int json;            /* --json: machine-readable output on stdout */
};

/* "tether: <message>" on stderr; with --json also
 * {"error": code, "message": message} on stdout so scripts see one object. */
void cliout_error(const struct cli *cli, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A usage error: the message, then a hint to run `tether help`. */
void cliout_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a JSON value on stdout (indented, keys in the server's order). */
int cliout_json(const json_t *v);
/* The same for a value just built (json_pack), whose reference it takes;
 * NULL (the build failed) prints nothing. */
void cliout_json_new(json_t *v);
/* Local time as "2024-05-01 14:03 CEST" into out. */
void cliout_time(time_t t, char *out, size_t outsz);
/* A time the server gave as unix seconds (or already as text) for people;
 * "none" when it gave neither. */
void cliout_when(const json_t *v, char *out, size_t outsz);

/* s (NULL: "") with anything that could spoof a terminal made visible
 * (lib text.h), in buf; returns buf. For every server-supplied text. */
const char *cliout_text(const char *s, char *buf, size_t bufsz);

/* One CSV cell on stdout, quoted (quotes doubled, control bytes as spaces,
 * a leading = + - @ kept as text for spreadsheets), then ',' or '\n'. */
void cliout_csv_cell(const char *s, int last);

#define CLIOUT_CELL_BYTES 128
#define CLIOUT_MAX_COLS 8
/* Fill one table row's cells from one element of the list. */
typedef void (*cliout_cells_fn)(const json_t *row, char cells[][CLIOUT_CELL_BYTES]);
/* Print list as a table of ncols (at most CLIOUT_MAX_COLS) columns under
 * head, each as wide as its widest cell, with no padding at line ends. */
void cliout_table(const json_t *list, const char *const *head, size_t ncols,
                  cliout_cells_fn cells);

#endif
