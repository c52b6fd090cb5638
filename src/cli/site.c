/* site.c: customer sites: list them, switch remote service off (new
 * requests refused, active sessions ended at once) or on again, and choose
 * which sessions need the customer's approval. */
#include "site.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "err.h"

#define SITE_PATH_BYTES 160
#define SITE_WHAT_BYTES 160
#define SITE_COLS 7
#define SITE_ON_DEFAULT_REASON "remote service switched on again"

static int site_check_name(const char *name)
{
	if (cliargs_check_name(name) != 0) {
		cliout_usage("'%s' is not a site name (letters, digits, '.', '_', '-')", name);
		return TE_ERR_INVALID;
	}
	return 0;
}

/* The first of two spellings the server may use for a string field. */
static const char *site_str2(const json_t *o, const char *key, const char *alt)
{
	const char *v;

	if (api_get_str(o, key, &v) == 0 || api_get_str(o, alt, &v) == 0)
		return v;
	return NULL;
}

/* How many sessions the switch ended: a count, or the list of them. */
static long long site_ended(const json_t *resp)
{
	json_t *e = json_object_get(resp, "ended_sessions");

	if (json_is_integer(e))
		return json_integer_value(e);
	if (json_is_array(e))
		return (long long)json_array_size(e);
	return 0;
}

static void site_cells(const json_t *s, char cells[][CLIOUT_CELL_BYTES])
{
	json_t *remote = json_object_get(s, "remote_enabled");
	const char *v, *kinds, *tz;

	v = site_str2(s, "name", "site");
	snprintf(cells[0], CLIOUT_CELL_BYTES, "%s", v != NULL ? v : "-");
	snprintf(cells[1], CLIOUT_CELL_BYTES, "%s",
	         api_get_str(s, "customer", &v) == 0 ? v : "-");
	cliout_when(json_object_get(s, "contract_until"), cells[2], CLIOUT_CELL_BYTES);
	snprintf(cells[3], CLIOUT_CELL_BYTES, "%s", json_is_true(remote) ? "on" :
	         json_is_false(remote) ? "OFF" : "?");
	v = site_str2(s, "approval", "approval_mode");
	snprintf(cells[4], CLIOUT_CELL_BYTES, "%s", v != NULL ? v : "-");
	v = json_string_value(json_object_get(s, "change_control"));
	kinds = json_string_value(json_object_get(s, "cc_kinds"));
	snprintf(cells[5], CLIOUT_CELL_BYTES, "%s%s%s", v != NULL ? v : "-",
	         kinds != NULL && kinds[0] ? ": " : "", kinds != NULL ? kinds : "");
	v = json_string_value(json_object_get(s, "windows"));
	tz = json_string_value(json_object_get(s, "timezone"));
	snprintf(cells[6], CLIOUT_CELL_BYTES, "%s%s%s%s", v != NULL && v[0] ? v : "any time",
	         v != NULL && v[0] && tz != NULL ? " (" : "", v != NULL && v[0] && tz != NULL ?
	         tz : "", v != NULL && v[0] && tz != NULL ? ")" : "");
}

static void site_print_table(const json_t *list)
{
	static const char *const head[SITE_COLS] = {
		"SITE", "CUSTOMER", "CONTRACT UNTIL", "REMOTE", "APPROVAL", "CHANGE CONTROL",
		"WINDOWS"
	};

	cliout_table(list, head, SITE_COLS, site_cells);
}

static int site_cmd_list(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	size_t npos;

	if (cliargs_parse("site list", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	return api_list(cli, "listing sites", "/api/v1/sites", "sites", NULL, "no sites",
	                site_print_table);
}

/* site off SITE --reason TEXT, or site on SITE [--reason TEXT]. */
static int site_switch(const struct cli *cli, int argc, char **argv, int on)
{
	const char *pos[1], *reason = NULL;
	const struct cliargs_opt opts[] = { { "--reason", &reason, NULL, 0, NULL } };
	char path[SITE_PATH_BYTES], what[SITE_WHAT_BYTES];
	json_t *req = NULL, *resp = NULL;
	long long ended = 0;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse(on ? "site on" : "site off", argc, argv, opts, 1, pos, 1, 1, &npos,
	                  NULL) != 0 || site_check_name(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (!on && reason == NULL) {
		cliout_usage("site off needs --reason TEXT (refused requests and the audit "
		             "trail carry it)");
		return CLI_EXIT_USAGE;
	}
	if (reason != NULL && cliargs_check_reason(reason) != 0)
		return CLI_EXIT_USAGE;
	/* The server records a reason with every switch; switching back on
	 * rarely needs one of its own. */
	req = json_pack("{s:b, s:s}", "enabled", on, "reason",
	                reason != NULL ? reason : SITE_ON_DEFAULT_REASON);
	snprintf(path, sizeof(path), "/api/v1/sites/%s/remote", pos[0]);
	snprintf(what, sizeof(what), "switching remote service %s at %s", on ? "on" : "off",
	         pos[0]);
	if (req == NULL || api_post(cli, what, path, req, &resp) != 0)
		goto out;
	if (!json_is_boolean(json_object_get(resp, "remote_enabled"))) {
		api_bad_answer(cli, what, "remote_enabled");
		goto out;
	}
	ended = site_ended(resp);
	if (cli->json)
		cliout_json(resp);
	else if (json_is_true(json_object_get(resp, "remote_enabled")))
		printf("remote service at %s is on\n", pos[0]);
	else
		printf("remote service at %s is off: new requests are refused; %lld active "
		       "session%s ended\n", pos[0], ended, ended == 1 ? "" : "s");
	rc = CLI_EXIT_OK;
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

static int site_cmd_off(const struct cli *cli, int argc, char **argv)
{
	return site_switch(cli, argc, argv, 0);
}

static int site_cmd_on(const struct cli *cli, int argc, char **argv)
{
	return site_switch(cli, argc, argv, 1);
}

static int site_cmd_approval(const struct cli *cli, int argc, char **argv)
{
	const char *pos[2], *mode;
	char path[SITE_PATH_BYTES], what[SITE_WHAT_BYTES];
	json_t *req = NULL, *resp = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("site approval", argc, argv, NULL, 0, pos, 2, 2, &npos, NULL) != 0 ||
	    site_check_name(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (strcmp(pos[1], "none") != 0 && strcmp(pos[1], "escalations") != 0 &&
	    strcmp(pos[1], "all") != 0) {
		cliout_usage("site approval: say none, escalations or all, not '%s'", pos[1]);
		return CLI_EXIT_USAGE;
	}
	req = json_pack("{s:s}", "mode", pos[1]);
	snprintf(path, sizeof(path), "/api/v1/sites/%s/approval", pos[0]);
	snprintf(what, sizeof(what), "setting the approval of %s", pos[0]);
	if (req == NULL || api_post(cli, what, path, req, &resp) != 0)
		goto out;
	if ((mode = site_str2(resp, "approval", "approval_mode")) == NULL) {
		api_bad_answer(cli, what, "approval");
		goto out;
	}
	if (cli->json)
		cliout_json(resp);
	else if (strcmp(mode, "none") == 0)
		printf("site %s: no session needs your approval\n", pos[0]);
	else if (strcmp(mode, "all") == 0)
		printf("site %s: every session needs your approval\n", pos[0]);
	else
		printf("site %s: escalations need your approval\n", pos[0]);
	rc = CLI_EXIT_OK;
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

/* site change-control SITE [--mode none|approval] [--kinds K] [--windows SPEC]
 * [--timezone TZ]: the maintenance queue's change control (docs/fleet.md). */
static int site_cmd_change_control(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *mode = NULL, *kinds = NULL, *windows = NULL, *tz = NULL, *v;
	const struct cliargs_opt opts[] = {
		{ "--mode", &mode, NULL, 0, NULL }, { "--kinds", &kinds, NULL, 0, NULL },
		{ "--windows", &windows, NULL, 0, NULL }, { "--timezone", &tz, NULL, 0, NULL },
	};
	char path[SITE_PATH_BYTES], what[SITE_WHAT_BYTES], b1[256], b2[256], b3[256];
	json_t *req = NULL, *resp = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("site change-control", argc, argv, opts, 4, pos, 1, 1, &npos,
	                  NULL) != 0 || site_check_name(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (mode == NULL && kinds == NULL && windows == NULL && tz == NULL) {
		cliout_usage("site change-control SITE needs --mode none|approval, --kinds K,"
		             " --windows SPEC or --timezone TZ; `tether site list` shows the"
		             " present setting");
		return CLI_EXIT_USAGE;
	}
	if ((req = json_object()) == NULL)
		return CLI_EXIT_FAIL;
	if (mode != NULL)
		json_object_set_new(req, "change_control", json_string(mode));
	if (kinds != NULL)
		json_object_set_new(req, "kinds", json_string(kinds));
	if (windows != NULL)
		json_object_set_new(req, "windows", json_string(windows));
	if (tz != NULL)
		json_object_set_new(req, "timezone", json_string(tz));
	snprintf(path, sizeof(path), "/api/v1/sites/%s/change-control", pos[0]);
	snprintf(what, sizeof(what), "setting the change control of %s", pos[0]);
	if (api_post(cli, what, path, req, &resp) != 0)
		goto out;
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(resp);
		goto out;
	}
	v = json_string_value(json_object_get(resp, "change_control"));
	printf("site %s: change control %s", pos[0], cliout_text(v ? v : "?", b1, sizeof(b1)));
	v = json_string_value(json_object_get(resp, "kinds"));
	if (v != NULL && v[0])
		printf(" for %s", cliout_text(v, b1, sizeof(b1)));
	v = json_string_value(json_object_get(resp, "windows"));
	printf("; windows %s (%s)\n", cliout_text(v && v[0] ? v : "none: any time", b2,
	       sizeof(b2)), cliout_text(json_string_value(json_object_get(resp, "timezone")) ?
	       json_string_value(json_object_get(resp, "timezone")) : "?", b3, sizeof(b3)));
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

int site_main(const struct cli *cli, int argc, char **argv)
{
	static const struct cliargs_cmd cmds[] = {
		{ "list", site_cmd_list }, { "off", site_cmd_off }, { "on", site_cmd_on },
		{ "approval", site_cmd_approval }, { "change-control", site_cmd_change_control },
	};

	return cliargs_dispatch(cli, "site", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
