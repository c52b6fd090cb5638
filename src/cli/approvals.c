/* approvals.c: list the session requests waiting for the customer, and
 * approve or refuse one. A "notice" goes ahead at its deadline unless it is
 * refused; an "approval" goes ahead only once approved (it expires at its
 * deadline otherwise). */
#include "approvals.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "actenv.h"
#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "err.h"
#include "text.h"

#define APPROVALS_PATH_BYTES 160
#define APPROVALS_WHAT_BYTES 160
#define APPROVALS_LINE_BYTES 512

static int approvals_check_id(const char *id)
{
	if (cliargs_check_name(id) != 0) {
		cliout_usage("'%s' is not an approval id", id);
		return TE_ERR_INVALID;
	}
	return 0;
}

#define APPROVALS_SHOWN_BYTES TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)

/* The field as it may be printed: made safe by cliout_text, in buf. */
static const char *approvals_str(const json_t *o, const char *key, const char *def,
                                 char buf[APPROVALS_SHOWN_BYTES])
{
	const char *v;

	return cliout_text(api_get_str(o, key, &v) == 0 ? v : def, buf, APPROVALS_SHOWN_BYTES);
}

/* "shell, files:read" from the actions array ("" when none). */
static void approvals_actions(const json_t *o, char *out, size_t outsz)
{
	json_t *list = json_object_get(o, "actions"), *x;
	size_t i, len = 0;
	int w;

	out[0] = '\0';
	json_array_foreach(list, i, x) {
		if (!json_is_string(x))
			continue;
		w = snprintf(out + len, outsz - len, "%s%s", len > 0 ? ", " : "",
		             json_string_value(x));
		if (w < 0 || (size_t)w >= outsz - len)
			return;
		len += (size_t)w;
	}
}

/* Who, where, why, what, until when, and the commands to answer. */
static void approvals_print_one(const json_t *ap)
{
	char idb[APPROVALS_SHOWN_BYTES], kindb[APPROVALS_SHOWN_BYTES];
	char b1[APPROVALS_SHOWN_BYTES], b2[APPROVALS_SHOWN_BYTES];
	const char *id = approvals_str(ap, "id", "?", idb);
	const char *kind = approvals_str(ap, "kind", "approval", kindb);
	long long level = 0;
	char deadline[64], created[64], actions[APPROVALS_LINE_BYTES];
	int notice = strcmp(kind, "notice") == 0;

	cliout_when(json_object_get(ap, "deadline"), deadline, sizeof(deadline));
	cliout_when(json_object_get(ap, "created_at"), created, sizeof(created));
	approvals_actions(ap, actions, sizeof(actions));
	(void)api_get_int(ap, "user_level", &level);
	printf("%s %s%s\n", notice ? "notice" : "approval", id,
	       json_is_true(json_object_get(ap, "escalation")) ? " (escalation)" : "");
	printf("  who:      %s, level %lld, based in %s\n", approvals_str(ap, "user", "?", b1),
	       level, approvals_str(ap, "user_region", "?", b2));
	printf("  where:    device %s at site %s\n", approvals_str(ap, "device", "?", b1),
	       approvals_str(ap, "site", "?", b2));
	printf("  why:      %s\n", approvals_str(ap, "reason", "?", b1));
	printf("  asks for: %s\n", actions[0] ? cliout_text(actions, b1, sizeof(b1)) : "-");
	printf("  asked:    %s\n", created);
	if (notice)
		printf("  deadline: %s (goes ahead then unless refused)\n", deadline);
	else
		printf("  deadline: %s (expires then unless approved)\n", deadline);
	printf("  refuse:   tether approvals refuse %s --reason TEXT\n", id);
	if (!notice)
		printf("  approve:  tether approvals approve %s\n", id);
}

static void approvals_print_all(const json_t *list)
{
	json_t *ap;
	size_t i;

	json_array_foreach(list, i, ap) {
		if (i > 0)
			printf("\n");
		approvals_print_one(ap);
	}
}

/* An activity waiting for the customer's decision. */
static void approvals_print_activity(const json_t *ap)
{
	char idb[APPROVALS_SHOWN_BYTES], b1[APPROVALS_SHOWN_BYTES], b2[APPROVALS_SHOWN_BYTES];
	char nb[64], na[64];
	const char *id = approvals_str(ap, "id", "?", idb), *input;

	cliout_when(json_object_get(ap, "not_before"), nb, sizeof(nb));
	cliout_when(json_object_get(ap, "not_after"), na, sizeof(na));
	printf("activity %s\n", id);
	printf("  who:      %s\n", approvals_str(ap, "created_by", "?", b1));
	printf("  where:    device %s at site %s\n", approvals_str(ap, "device", "?", b1),
	       approvals_str(ap, "site", "?", b2));
	printf("  what:     %s %s\n", approvals_str(ap, "kind", "?", b1),
	       approvals_str(ap, "name", "?", b2));
	if (api_get_str(ap, "input", &input) == 0 && input[0])
		printf("  values:   %s\n", approvals_str(ap, "input", "", b1));
	printf("  why:      %s\n", approvals_str(ap, "reason", "?", b1));
	printf("  between:  %s and %s (expires then unless approved)\n", nb, na);
	printf("  refuse:   tether approvals refuse %s --reason TEXT\n", id);
	printf("  approve:  tether approvals approve %s\n", id);
}

static int approvals_cmd_list(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	json_t *resp = NULL, *sess, *acts, *x;
	struct api *a = NULL;
	size_t npos, i;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("approvals list", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (api_open(cli, 0, &a) != 0 ||
	    api_call(a, "listing approvals", "GET", "/api/v1/approvals", NULL, &resp) != 0)
		goto out;
	sess = json_object_get(resp, "approvals");
	acts = json_object_get(resp, "activities");
	if (!json_is_array(sess)) {
		api_bad_answer(cli, "listing approvals", "approvals");
		goto out;
	}
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(resp);
		goto out;
	}
	if (json_array_size(sess) == 0 && json_array_size(acts) == 0) {
		printf("no session requests or activities are waiting for you\n");
		goto out;
	}
	approvals_print_all(sess);
	json_array_foreach(acts, i, x) {
		if (i > 0 || json_array_size(sess) > 0)
			printf("\n");
		approvals_print_activity(x);
	}
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

/* approve ID, or refuse ID --reason TEXT. */
static int approvals_decide(const struct cli *cli, int argc, char **argv, int approve)
{
	const char *pos[1], *reason = NULL, *state;
	const struct cliargs_opt opts[] = { { "--reason", &reason, NULL, 0, NULL } };
	const char *cmd = approve ? "approvals approve" : "approvals refuse";
	char path[APPROVALS_PATH_BYTES], what[APPROVALS_WHAT_BYTES];
	json_t *req = NULL, *resp = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse(cmd, argc, argv, opts, approve ? 0 : 1, pos, 1, 1, &npos, NULL) != 0 ||
	    approvals_check_id(pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (!approve && reason == NULL) {
		cliout_usage("approvals refuse needs --reason TEXT (the specialist and the "
		             "audit trail see it)");
		return CLI_EXIT_USAGE;
	}
	if (reason != NULL && cliargs_check_reason(reason) != 0)
		return CLI_EXIT_USAGE;
	req = reason != NULL ? json_pack("{s:s}", "reason", reason) : json_object();
	snprintf(path, sizeof(path), "/api/v1/approvals/%s/%s", pos[0],
	         approve ? "approve" : "refuse");
	snprintf(what, sizeof(what), "%s %s", approve ? "approving" : "refusing", pos[0]);
	if (req == NULL || api_post(cli, what, path, req, &resp) != 0)
		goto out;
	if (api_get_str(resp, "state", &state) != 0) {
		api_bad_answer(cli, what, "state");
		goto out;
	}
	if (cli->json)
		cliout_json(resp);
	else
		printf("%s %s: the %s is now %s\n", approve ? "approved" : "refused", pos[0],
		       actenv_id_ok(pos[0]) ? "activity" : "session", state);
	rc = CLI_EXIT_OK;
out:
	json_decref(req);
	json_decref(resp);
	return rc;
}

static int approvals_cmd_approve(const struct cli *cli, int argc, char **argv)
{
	return approvals_decide(cli, argc, argv, 1);
}

static int approvals_cmd_refuse(const struct cli *cli, int argc, char **argv)
{
	return approvals_decide(cli, argc, argv, 0);
}

int approvals_main(const struct cli *cli, int argc, char **argv)
{
	static const struct cliargs_cmd cmds[] = {
		{ "list", approvals_cmd_list }, { "approve", approvals_cmd_approve },
		{ "refuse", approvals_cmd_refuse },
	};

	return cliargs_dispatch(cli, "approvals", cmds, sizeof(cmds) / sizeof(cmds[0]), argc,
	                        argv);
}
