/* enroll.c: `tether enroll`: a new user (or one whose password was reset)
 * spends the one-time enrollment code the administrator handed out and
 * chooses their own password; the setup login that comes back is saved so
 * that `tether mfa enroll` and `tether mfa confirm` follow. The code and
 * the password never come from argv. */
#include "enroll.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cliargs.h"
#include "clistate.h"
#include "err.h"
#include "login.h"
#include "secret.h"

#define ENROLL_CODE_BYTES 64

/* The code, then the password twice on a terminal (once from
 * TETHER_PASSWORD or the next line of a pipe). */
static int enroll_read(const struct cli *cli, char *code, size_t codesz, char *pw, size_t pwsz)
{
	char again[LOGIN_MAX_PASSWORD_BYTES];
	int interactive = getenv("TETHER_PASSWORD") == NULL && isatty(STDIN_FILENO);
	int r;

	if ((r = login_read_secret("TETHER_ENROLL_CODE", "enrollment code from your"
	                           " administrator: ", code, codesz)) != 0) {
		cliout_error(cli, "no_code", "no enrollment code read (%s) — set TETHER_ENROLL_CODE,"
		             " type it at the prompt or pipe it as the first line", te_strerror(r));
		return r;
	}
	if ((r = login_read_password("choose your password (at least 12 characters): ", pw,
	                             pwsz)) != 0) {
		cliout_error(cli, "no_password", "no password read (%s) — set TETHER_PASSWORD, type"
		             " it at the prompt or pipe it as the second line", te_strerror(r));
		return r;
	}
	if (!interactive)
		return 0;
	r = login_read_password("the same password again: ", again, sizeof(again));
	if (r == 0 && strcmp(again, pw) != 0) {
		cliout_error(cli, "mismatch", "the two passwords differ; the code was not used");
		r = TE_ERR_MISMATCH;
	}
	secret_wipe(again, sizeof(again));
	return r;
}

static void enroll_refused(const struct cli *cli, int status, const json_t *resp)
{
	const char *code = NULL, *msg = NULL;

	api_get_str(resp, "error", &code);
	api_get_str(resp, "message", &msg);
	if (msg != NULL && (status == 400 || status == 403))
		cliout_error(cli, code != NULL ? code : "refused", "enrollment refused: %s", msg);
	else
		api_report(cli, "enrollment", status, resp);
}

/* Save the setup login the server gave and say what comes next. */
static int enroll_done(const struct cli *cli, const char *server, const char *ca_abs,
                       const char *user, const char *proxy, const json_t *resp)
{
	struct clistate *st = NULL;
	char path[PATH_MAX];
	const char *token;
	long long exp = 0;
	int r, rc = CLI_EXIT_FAIL;

	if (api_get_str(resp, "token", &token) != 0) {
		/* TOTP was enrolled before (a password reset): log in normally. */
		if (cli->json)
			cliout_json_new(json_pack("{s:b, s:[s]}", "password_set", 1, "next",
			                          "tether login"));
		else
			printf("password set for %s; log in with `tether login` and your one-time"
			       " code\n", user);
		return CLI_EXIT_OK;
	}
	if (api_get_int(resp, "expires_at", &exp) != 0) {
		api_bad_answer(cli, "enrollment", "expires_at");
		return CLI_EXIT_FAIL;
	}
	if ((r = clistate_path(path, sizeof(path))) != 0 ||
	    (r = clistate_new(server, ca_abs, user, token, exp, &st)) != 0 ||
	    (r = clistate_set_proxy(st, proxy)) != 0 || (r = clistate_save(path, st)) != 0) {
		cliout_error(cli, "save_failed", "the password is set, but the login could not be"
		             " saved (%s); run `tether login`", te_strerror(r));
		goto out;
	}
	if (cli->json)
		cliout_json_new(json_pack("{s:b, s:s, s:[s, s]}", "password_set", 1, "scope", "setup",
		                          "next", "tether mfa enroll", "tether mfa confirm"));
	else
		printf("password set for %s. Now enroll your one-time codes (TOTP):\n"
		       "  tether mfa enroll     (shows a QR code and the secret)\n"
		       "  tether mfa confirm    (asks for the code your authenticator shows)\n"
		       "this setup login allows only that and expires in %lld minutes\n", user,
		       (long long)json_integer_value(json_object_get(resp, "expires_in_s")) / 60);
	rc = CLI_EXIT_OK;
out:
	clistate_free(st);
	return rc;
}

int enroll_main(const struct cli *cli, int argc, char **argv)
{
	const char *server = NULL, *ca = NULL, *user = NULL, *proxy = NULL, *pos[1];
	const struct cliargs_opt opts[] = {
		{ "--server", &server, NULL, 0, NULL },
		{ "--ca", &ca, NULL, 0, NULL },
		{ "--user", &user, NULL, 0, NULL },
		{ "--proxy", &proxy, NULL, 0, NULL },
	};
	char code[ENROLL_CODE_BYTES], pw[LOGIN_MAX_PASSWORD_BYTES], ca_abs[PATH_MAX];
	char *body = NULL;
	SSL_CTX *ctx = NULL;
	json_t *req = NULL, *resp = NULL;
	size_t npos;
	int rc, status = 0;

	code[0] = pw[0] = '\0';
	if (cliargs_parse("enroll", argc, argv, opts, 4, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if ((rc = login_check_args(cli, server, ca, user, proxy, ca_abs)) != CLI_EXIT_OK)
		return rc;
	rc = CLI_EXIT_FAIL;
	if (enroll_read(cli, code, sizeof(code), pw, sizeof(pw)) != 0)
		goto out;
	if ((req = json_pack("{s:s, s:s, s:s}", "user", user, "code", code, "password", pw)) == NULL ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL || api_ctx_new(cli, ca_abs, &ctx) != 0 ||
	    api_send(cli, server, api_proxy(proxy, server), ctx, NULL, "POST",
	             "/api/v1/account/enroll", body, &status, &resp) != 0)
		goto out;
	if (status != 200) {
		enroll_refused(cli, status, resp);
		goto out;
	}
	rc = enroll_done(cli, server, ca_abs, user, proxy, resp);
out:
	secret_wipe(code, sizeof(code));
	secret_wipe(pw, sizeof(pw));
	if (body != NULL) {
		secret_wipe(body, strlen(body));
		free(body);
	}
	json_decref(req);
	json_decref(resp);
	SSL_CTX_free(ctx);
	return rc;
}
