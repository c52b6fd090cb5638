/* mfa.c: TOTP enrollment from the CLI. The server makes the secret and shows
 * it only to the user (never to an administrator); the user adds it to an
 * authenticator app from the QR code and confirms with the first code. */
#include "mfa.h"

#include <stdio.h>
#include <string.h>

#include <qrencode.h>

#include "api.h"
#include "cliargs.h"
#include "err.h"
#include "login.h"
#include "secret.h"

#define MFA_QR_QUIET 2   /* modules of light border around the code */

/* 1 when module (x, y) is light; the quiet zone is light. */
static int mfa_qr_light(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 1;
	return !(q->data[y * q->width + x] & 1);
}

int mfa_qr_print(FILE *out, const char *text)
{
	static const char *const cell[4] = { " ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88" };
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);

	if (q == NULL)
		return TE_ERR_INVALID;
	for (int y = -MFA_QR_QUIET; y < q->width + MFA_QR_QUIET; y += 2) {
		for (int x = -MFA_QR_QUIET; x < q->width + MFA_QR_QUIET; x++)
			fputs(cell[(mfa_qr_light(q, x, y) << 1) | mfa_qr_light(q, x, y + 1)], out);
		fputc('\n', out);
	}
	QRcode_free(q);
	return 0;
}

static int mfa_enroll(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *secret = NULL, *uri = NULL;
	json_t *resp = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_parse("mfa enroll", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (api_post(cli, "mfa enroll", "/api/v1/account/totp", NULL, &resp) != 0)
		goto out;
	if (api_get_str(resp, "secret", &secret) != 0 || api_get_str(resp, "uri", &uri) != 0) {
		api_bad_answer(cli, "mfa enroll", "secret");
		goto out;
	}
	if (cli->json) {
		cliout_json_new(json_pack("{s:s, s:s}", "secret", secret, "uri", uri));
	} else {
		printf("Add this account to your authenticator app: scan the QR code, or enter"
		       " the secret by hand.\n\n");
		if (mfa_qr_print(stdout, uri) != 0)
			fprintf(stderr, "tether: cannot draw the QR code; use the URI or the secret\n");
		printf("\n  secret: %s\n  uri:    %s\n\n", secret, uri);
		printf("Then confirm with the code the app shows:  tether mfa confirm CODE\n"
		       "Keep the secret to yourself; the server keeps it sealed and never shows it again.\n");
	}
	rc = CLI_EXIT_OK;
out:
	json_decref(resp);   /* main_json_free wipes the secret */
	return rc;
}

static void mfa_print_codes(const json_t *codes)
{
	json_t *v;
	size_t i;

	printf("TOTP enrolled. Your recovery codes, each good for one login without the"
	       " app:\n\n");
	json_array_foreach(codes, i, v)
		printf("  %s\n", json_string_value(v));
	printf("\nStore them somewhere safe now; they are not shown again.\n");
}

static int mfa_confirm(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *token = NULL, *scope = NULL;
	json_t *body = NULL, *resp = NULL, *codes;
	char code[LOGIN_MAX_CODE_BYTES];
	struct api *a = NULL;
	long long exp = 0;
	size_t npos;
	int rc = CLI_EXIT_FAIL, r;

	if (cliargs_parse("mfa confirm", argc, argv, NULL, 0, pos, 0, 1, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	/* The code from argv, else TETHER_TOTP, the terminal or stdin. */
	if (npos == 1)
		snprintf(code, sizeof(code), "%s", pos[0]);
	else if (login_read_secret("TETHER_TOTP", "code your authenticator shows: ", code,
	                           sizeof(code)) != 0)
		code[0] = '\0';
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6) {
		cliout_usage("mfa confirm: CODE is the 6-digit code your authenticator shows (as"
		             " the argument, in TETHER_TOTP, at the prompt or on stdin)");
		return CLI_EXIT_USAGE;
	}
	if ((body = json_pack("{s:s}", "code", code)) == NULL || api_open(cli, 0, &a) != 0 ||
	    api_call(a, "mfa confirm", "POST", "/api/v1/account/totp/confirm", body, &resp) != 0)
		goto out;
	codes = json_object_get(resp, "recovery_codes");
	if (!json_is_array(codes) || json_array_size(codes) == 0) {
		api_bad_answer(cli, "mfa confirm", "recovery_codes");
		goto out;
	}
	if (api_get_str(resp, "token", &token) == 0 && api_get_int(resp, "expires_at", &exp) == 0 &&
	    ((r = clistate_set_token(a->st, token, exp)) != 0 ||
	     (r = clistate_save(a->state_path, a->st)) != 0)) {
		cliout_error(cli, "save_failed", "enrolled, but cannot save the new login to %s:"
		             " %s — log in again", a->state_path, te_strerror(r));
		goto out;
	}
	if (cli->json) {
		cliout_json_new(json_pack("{s:O, s:s?, s:O?}", "recovery_codes", codes, "scope",
		                          api_get_str(resp, "scope", &scope) == 0 ? scope : NULL,
		                          "setup_required",
		                          json_object_get(resp, "setup_required")));
	} else {
		mfa_print_codes(codes);
	}
	if (api_get_str(resp, "scope", &scope) == 0 && strcmp(scope, "full") == 0) {
		if (!cli->json)
			printf("logged in to %s as %s\n", a->st->server, a->st->user);
		rc = CLI_EXIT_OK;
	} else {
		rc = cli->json ? LOGIN_EXIT_SETUP : login_setup_report(cli, resp);
	}
out:
	secret_wipe(code, sizeof(code));
	json_decref(body);
	json_decref(resp);
	api_free(a);
	return rc;
}

int mfa_main(const struct cli *cli, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "enroll") == 0)
		return mfa_enroll(cli, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "confirm") == 0)
		return mfa_confirm(cli, argc - 1, argv + 1);
	cliout_usage("mfa: use 'tether mfa enroll' or 'tether mfa confirm CODE'");
	return CLI_EXIT_USAGE;
}
