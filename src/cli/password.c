/* password.c: `tether password`: change one's own password. The server
 * checks the rules, revokes every token of the user and hands back a new
 * login for this CLI. */
#include "password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cliargs.h"
#include "err.h"
#include "login.h"
#include "secret.h"

/* The new password twice on a terminal; once from TETHER_NEW_PASSWORD or a
 * pipe. */
static int password_read_new(const struct cli *cli, char *pw, size_t pwsz)
{
	char again[LOGIN_MAX_PASSWORD_BYTES];
	int interactive = getenv("TETHER_NEW_PASSWORD") == NULL && isatty(STDIN_FILENO);
	int r;

	if ((r = login_read_secret("TETHER_NEW_PASSWORD", "new password (at least 12"
	                           " characters): ", pw, pwsz)) != 0) {
		cliout_error(cli, "no_password", "no new password read (%s) — set"
		             " TETHER_NEW_PASSWORD, type it at the prompt or pipe it as the second"
		             " line", te_strerror(r));
		return r;
	}
	if (!interactive)
		return 0;
	r = login_read_secret("TETHER_NEW_PASSWORD", "the new password again: ", again,
	                      sizeof(again));
	if (r == 0 && strcmp(again, pw) != 0) {
		cliout_error(cli, "mismatch", "the two new passwords differ; nothing changed");
		r = TE_ERR_MISMATCH;
	}
	secret_wipe(again, sizeof(again));
	return r;
}

static void password_refused(const struct cli *cli, int status, const json_t *resp)
{
	const char *code = NULL, *msg = NULL;

	api_get_str(resp, "error", &code);
	api_get_str(resp, "message", &msg);
	if (msg != NULL && (status == 400 || (code != NULL && strcmp(code, "bad_password") == 0)))
		cliout_error(cli, code != NULL ? code : "refused", "password change refused: %s",
		             msg);
	else
		api_report(cli, "password change", status, resp);
}

int password_main(const struct cli *cli, int argc, char **argv)
{
	char old[LOGIN_MAX_PASSWORD_BYTES], pw[LOGIN_MAX_PASSWORD_BYTES], *text = NULL;
	const char *pos[1], *token = NULL, *scope = NULL;
	json_t *body = NULL, *resp = NULL;
	struct api *a = NULL;
	long long exp = 0, revoked = 0;
	size_t npos;
	int rc = CLI_EXIT_FAIL, status = 0, r;

	old[0] = pw[0] = '\0';
	if (cliargs_parse("password", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (api_open(cli, 0, &a) != 0)
		goto out;
	if ((r = login_read_password("current password: ", old, sizeof(old))) != 0) {
		cliout_error(cli, "no_password", "no current password read (%s) — set"
		             " TETHER_PASSWORD or type it at the prompt", te_strerror(r));
		goto out;
	}
	if (password_read_new(cli, pw, sizeof(pw)) != 0)
		goto out;
	if ((body = json_pack("{s:s, s:s}", "old", old, "new", pw)) == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL)
		goto out;
	if (api_send(cli, a->st->server, api_proxy(a->st->proxy, a->st->server), a->ctx,
	             a->st->token, "POST", "/api/v1/account/password", text, &status, &resp) != 0)
		goto out;
	if (status != 200) {
		password_refused(cli, status, resp);
		goto out;
	}
	if (api_get_str(resp, "token", &token) != 0 || api_get_int(resp, "expires_at", &exp) != 0) {
		api_bad_answer(cli, "password change", "token");
		goto out;
	}
	api_get_int(resp, "tokens_revoked", &revoked);
	if ((r = clistate_set_token(a->st, token, exp)) != 0 ||
	    (r = clistate_save(a->state_path, a->st)) != 0) {
		cliout_error(cli, "save_failed", "the password was changed, but the new login"
		             " cannot be saved to %s: %s — log in again", a->state_path,
		             te_strerror(r));
		goto out;
	}
	if (api_get_str(resp, "scope", &scope) == 0 && strcmp(scope, "setup") == 0) {
		if (!cli->json)
			printf("password changed; %lld earlier login%s revoked\n", revoked,
			       revoked == 1 ? "" : "s");
		rc = login_setup_report(cli, resp);
		goto out;
	}
	if (cli->json) {
		cliout_json_new(json_pack("{s:b, s:I}", "changed", 1, "tokens_revoked",
		                          (json_int_t)revoked));
	} else {
		printf("password changed; %lld earlier login%s revoked (this one was renewed)\n",
		       revoked, revoked == 1 ? "" : "s");
	}
	rc = CLI_EXIT_OK;
out:
	secret_wipe(old, sizeof(old));
	secret_wipe(pw, sizeof(pw));
	if (text != NULL) {
		secret_wipe(text, strlen(text));
		free(text);
	}
	json_decref(body);
	json_decref(resp);
	api_free(a);
	return rc;
}
