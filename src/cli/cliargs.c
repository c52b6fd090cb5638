/* cliargs.c: argument parsing shared by every tether command. */
#include "cliargs.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "cliout.h"
#include "err.h"
#include "text.h"

static const struct cliargs_opt *cliargs_find(const struct cliargs_opt *opts,
                                              size_t nopts, const char *arg,
                                              const char **inline_val)
{
	size_t i, n;

	*inline_val = NULL;
	for (i = 0; i < nopts; i++) {
		n = strlen(opts[i].name);
		if (strncmp(arg, opts[i].name, n) != 0)
			continue;
		if (arg[n] == '\0')
			return &opts[i];
		if (arg[n] == '=') {
			*inline_val = arg + n + 1;
			return &opts[i];
		}
	}
	return NULL;
}

static int cliargs_store(const char *cmd, const struct cliargs_opt *o,
                         const char *val)
{
	if (o->value != NULL) {
		if (*o->value != NULL) {
			cliout_usage("%s: %s given twice", cmd, o->name);
			return TE_ERR_INVALID;
		}
		*o->value = val;
		return 0;
	}
	if (*o->list_n >= o->list_max) {
		cliout_usage("%s: at most %zu %s options", cmd, o->list_max, o->name);
		return TE_ERR_INVALID;
	}
	o->list[(*o->list_n)++] = val;
	return 0;
}

int cliargs_parse(const char *cmd, int argc, char **argv,
                  const struct cliargs_opt *opts, size_t nopts,
                  const char **pos, size_t pos_min, size_t pos_max,
                  size_t *npos, int *rest)
{
	const struct cliargs_opt *o;
	const char *val;
	int i, r;

	*npos = 0;
	if (rest != NULL)
		*rest = argc;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			if (rest == NULL) {
				cliout_usage("%s: unexpected '--'", cmd);
				return TE_ERR_INVALID;
			}
			*rest = i + 1;
			break;
		}
		if (a[0] == '-' && a[1] != '\0') {
			o = cliargs_find(opts, nopts, a, &val);
			if (o == NULL) {
				cliout_usage("%s: unknown option '%s'", cmd, a);
				return TE_ERR_INVALID;
			}
			if (val == NULL) {
				if (i + 1 >= argc) {
					cliout_usage("%s: %s needs a value", cmd, o->name);
					return TE_ERR_INVALID;
				}
				val = argv[++i];
			}
			if ((r = cliargs_store(cmd, o, val)) != 0)
				return r;
			continue;
		}
		if (*npos >= pos_max) {
			cliout_usage("%s: unexpected argument '%s'", cmd, a);
			return TE_ERR_INVALID;
		}
		pos[(*npos)++] = a;
	}
	if (*npos < pos_min) {
		cliout_usage("%s: missing argument", cmd);
		return TE_ERR_INVALID;
	}
	return 0;
}

int cliargs_check_name(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return TE_ERR_INVALID;
	n = strlen(s);
	if (n == 0 || n >= MAX_NAME_BYTES || s[0] == '-' || s[0] == '.')
		return TE_ERR_INVALID;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return TE_ERR_INVALID;
	}
	return 0;
}

int cliargs_check_reason(const char *s)
{
	const char *why = NULL;

	if (s == NULL || s[0] == '\0' || text_check_display(s, MAX_REASON_BYTES, &why) != 0) {
		cliout_usage("--reason is refused: it must be 1..%d characters of text%s%s",
		             MAX_REASON_BYTES - 1, why != NULL ? "; this one holds " : "",
		             why != NULL ? why : "");
		return TE_ERR_INVALID;
	}
	return 0;
}

int cliargs_dispatch(const struct cli *cli, const char *group, const struct cliargs_cmd *cmds,
                     size_t ncmds, int argc, char **argv)
{
	char say[CLIARGS_NAMES_BYTES], list[CLIARGS_NAMES_BYTES];
	size_t i, slen = 0, llen = 0;
	int w;

	for (i = 0; argc >= 1 && i < ncmds; i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(cli, argc - 1, argv + 1);
	/* "list, off, on or approval" and "list, off, on, approval". */
	say[0] = list[0] = '\0';
	for (i = 0; i < ncmds; i++) {
		w = snprintf(say + slen, sizeof(say) - slen, "%s%s",
		             i == 0 ? "" : i + 1 == ncmds ? " or " : ", ", cmds[i].name);
		if (w > 0 && (size_t)w < sizeof(say) - slen)
			slen += (size_t)w;
		w = snprintf(list + llen, sizeof(list) - llen, "%s%s", i == 0 ? "" : ", ",
		             cmds[i].name);
		if (w > 0 && (size_t)w < sizeof(list) - llen)
			llen += (size_t)w;
	}
	if (argc < 1)
		cliout_usage("%s: say %s", group, say);
	else
		cliout_usage("%s: unknown subcommand '%s' (%s)", group, argv[0], list);
	return CLI_EXIT_USAGE;
}
