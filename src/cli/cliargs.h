/* cliargs.h: a small, strict parser for one command's arguments.
 * Options are "--name VALUE" or "--name=VALUE"; everything else is a
 * positional; "--" ends the options and what follows is passed on as is. */
#ifndef TETHER_CLIARGS_H
#define TETHER_CLIARGS_H

#include <stddef.h>

#define CLIARGS_NAMES_BYTES 128   /* a group's subcommand names, for messages */

struct cliargs_opt {
	const char *name;     /* "--reason" */
	const char **value;   /* where a single value goes (set at most once) */
	const char **list;    /* or: where repeated values go */
	size_t list_max;
	size_t *list_n;
};

/* Parse argv[0..argc). cmd names the command in messages ("session request").
 * Positionals land in pos (between pos_min and pos_max of them). When rest is
 * non-NULL, "--" is allowed and *rest is the index of the first argument after
 * it (argc when absent). Prints a usage message and returns TE_ERR_INVALID on
 * any mistake. */
int cliargs_parse(const char *cmd, int argc, char **argv,
                  const struct cliargs_opt *opts, size_t nopts,
                  const char **pos, size_t pos_min, size_t pos_max,
                  size_t *npos, int *rest);

/* A device serial, session id or service name: 1..MAX_NAME_BYTES-1 of
 * [A-Za-z0-9._-], not starting with '-' or '.'. These go into URL paths and
 * ssh host aliases, so nothing else is let through. 0 or TE_ERR_INVALID. */
int cliargs_check_name(const char *s);

/* A reason: 1..MAX_REASON_BYTES-1 bytes of displayable text (lib text.h);
 * otherwise says why on stderr (a usage error) and fails. */
int cliargs_check_reason(const char *s);

struct cli;

/* One subcommand of a command group ("site off"). */
struct cliargs_cmd {
	const char *name;
	int (*fn)(const struct cli *cli, int argc, char **argv);
};

/* Run the subcommand argv[0] names with the arguments after it; when there
 * is none or it is unknown, print which there are ("site: say list, off, on
 * or approval") and return the usage exit code. */
int cliargs_dispatch(const struct cli *cli, const char *group, const struct cliargs_cmd *cmds,
                     size_t ncmds, int argc, char **argv);

#endif
