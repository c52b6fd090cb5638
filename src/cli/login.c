/* login.c: log in (password -> bearer token saved in cli.json) and out. */
#include "login.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "cliargs.h"
#include "clistate.h"
#include "err.h"
#include "httpproxy.h"
#include "secret.h"
#include "tls.h"

/* Read one line byte by byte so nothing of the password lingers in a stdio
 * buffer. The newline (and a '\r' before it) is dropped. On any failure out
 * is wiped, so no part of a secret is left behind. */
static int login_read_line(int fd, char *out, size_t outsz)
{
	size_t len = 0;
	ssize_t n;
	char c;
	int r = 0;

	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = TE_ERR_SYS;
			break;
		}
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= outsz) {
			r = TE_ERR_TOO_LONG;
			break;
		}
		out[len++] = c;
	}
	c = 0;
	if (r == 0 && len > 0 && out[len - 1] == '\r')
		len--;
	if (r == 0 && len == 0)
		r = TE_ERR_TRUNCATED;
	if (r != 0)
		secret_wipe(out, outsz);
	else
		out[len] = '\0';
	return r;
}

static int login_read_tty(int fd, const char *prompt, char *out, size_t outsz)
{
	struct termios old, quiet;
	int r;

	if (tcgetattr(fd, &old) != 0)
		return TE_ERR_SYS;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo off (and what was typed before the question dropped) first,
	 * then the prompt: input that follows the prompt is the answer, and a
	 * flush after it lost an answer typed or pasted at once. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		return TE_ERR_SYS;
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	r = login_read_line(fd, out, outsz);
	/* TCSANOW: what is typed after this answer (the one-time code) stays */
	tcsetattr(fd, TCSANOW, &old);
	fprintf(stderr, "\n");
	return r;
}

int login_read_secret(const char *env_name, const char *prompt, char *out, size_t outsz)
{
	char *env = getenv(env_name);
	size_t n;

	if (env != NULL && env[0] != '\0') {
		n = strlen(env);
		if (n + 1 > outsz)
			return TE_ERR_TOO_LONG;
		memcpy(out, env, n + 1);
		/* Leave no copy in our environment for children (ssh) to see. */
		secret_wipe(env, n);
		unsetenv(env_name);
		return 0;
	}
	if (isatty(STDIN_FILENO))
		return login_read_tty(STDIN_FILENO, prompt, out, outsz);
	return login_read_line(STDIN_FILENO, out, outsz);
}

int login_read_password(const char *prompt, char *out, size_t outsz)
{
	return login_read_secret("TETHER_PASSWORD", prompt, out, outsz);
}

/* The one-time code from the terminal when there is one to ask, else the
 * next line on stdin (after the password's, when that came from stdin too):
 * a code never has to be given in argv, which any user can read in /proc. */
static int login_prompt_code(char *out, size_t outsz)
{
	int fd, r;

	if (!isatty(STDIN_FILENO))
		return login_read_line(STDIN_FILENO, out, outsz);
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0)
		return TE_ERR_NOT_FOUND;
	fprintf(stderr, "one-time code from your authenticator (or a recovery code): ");
	fflush(stderr);
	r = login_read_line(fd, out, outsz);
	close(fd);
	return r;
}

int login_check_args(const struct cli *cli, const char *server,
                     const char *ca, const char *user,
                     const char *proxy, char *ca_abs)
{
	struct httpproxy p;
	int proxy_ok;

	if (server == NULL || ca == NULL || user == NULL) {
		cliout_usage("login: --server URL, --ca FILE and --user NAME are all "
		             "required the first time (profile %s keeps them after)",
		             clistate_profile_name());
		return CLI_EXIT_USAGE;
	}
	if (strncmp(server, "https://", 8) != 0 || server[8] == '\0') {
		cliout_usage("login: --server must be an https:// URL, like "
		             "https://127.0.0.1:8443");
		return CLI_EXIT_USAGE;
	}
	if (cliargs_check_name(user) != 0) {
		cliout_usage("login: --user must be 1-63 letters, digits, '.', '_' "
		             "or '-'");
		return CLI_EXIT_USAGE;
	}
	if (proxy != NULL) {
		proxy_ok = httpproxy_parse(proxy, &p) == 0;
		httpproxy_wipe(&p);
		/* The value is not echoed: it may hold the proxy password. */
		if (!proxy_ok) {
			cliout_usage("login: --proxy must be an http:// URL, like "
			             "http://[user:pass@]proxy.example:3128");
			return CLI_EXIT_USAGE;
		}
	}
	if (realpath(ca, ca_abs) == NULL || access(ca_abs, R_OK) != 0) {
		cliout_error(cli, "bad_ca", "cannot read the CA file %s: %s — give "
		             "the deployment's ca/root.crt with --ca", ca,
		             strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

struct login_creds {
	const char *user;
	const char *password;
	const char *totp;            /* NULL: none */
	const char *recovery;        /* NULL: none */
};

/* POST /api/v1/login once; *status and *resp as the server answered. */
static int login_post(const struct cli *cli, SSL_CTX *ctx, const char *server,
                      const char *proxy, const struct login_creds *c, int *status,
                      json_t **resp)
{
	char *body = NULL;
	json_t *req;
	int r;

	*resp = NULL;
	req = json_pack("{s:s, s:s, s:s*, s:s*}", "user", c->user, "password", c->password,
	                "totp", c->totp, "recovery_code", c->recovery);
	if (req != NULL)
		body = json_dumps(req, JSON_COMPACT);
	json_decref(req);   /* main_json_free wipes the copies */
	if (body == NULL)
		return TE_ERR_NOMEM;
	r = api_send(cli, server, proxy, ctx, NULL, "POST", "/api/v1/login", body, status, resp);
	secret_wipe(body, strlen(body));
	free(body);
	return r;
}

/* Say why the server refused the login. */
static void login_refused(const struct cli *cli, const char *user, int status,
                          const json_t *resp)
{
	const char *code = NULL, *msg = NULL;

	if (resp != NULL) {
		api_get_str(resp, "error", &code);
		api_get_str(resp, "message", &msg);
	}
	if (status == 401 && code != NULL && strcmp(code, "bad_credentials") == 0)
		cliout_error(cli, code, "login as %s failed: wrong user name or password — try"
		             " again or ask your administrator", user);
	else if (status == 401 && code != NULL && strcmp(code, "totp_required") == 0)
		cliout_error(cli, code, "login as %s needs the one-time code from your"
		             " authenticator: give --totp CODE (or TETHER_TOTP), or"
		             " --recovery-code CODE", user);
	else if ((status == 401 || status == 429) && msg != NULL)
		cliout_error(cli, code != NULL ? code : "refused", "login as %s failed: %s",
		             user, msg);
	else
		api_report(cli, "login", status, resp);
}

/* Log in, asking for the one-time code on the terminal when the server
 * wants one and none was given. */
static int login_request(const struct cli *cli, SSL_CTX *ctx, const char *server,
                         const char *proxy, const char *ca_abs, struct login_creds *c,
                         struct clistate **st, json_t **resp)
{
	char code[LOGIN_MAX_CODE_BYTES];
	const char *token, *errc = NULL;
	long long exp;
	int status, r;

	code[0] = '\0';
	if ((r = login_post(cli, ctx, server, proxy, c, &status, resp)) != 0)
		return r;
	if (status == 401 && c->totp == NULL && c->recovery == NULL && *resp != NULL &&
	    api_get_str(*resp, "error", &errc) == 0 && strcmp(errc, "totp_required") == 0 &&
	    login_prompt_code(code, sizeof(code)) == 0) {
		/* Eight or more characters can only be a recovery code. */
		if (strlen(code) > 8)
			c->recovery = code;
		else
			c->totp = code;
		json_decref(*resp);
		r = login_post(cli, ctx, server, proxy, c, &status, resp);
		secret_wipe(code, sizeof(code));
		if (r != 0)
			return r;
	}
	if (status != 200) {
		login_refused(cli, c->user, status, *resp);
		return TE_ERR_DENIED;
	}
	if (*resp == NULL || api_get_str(*resp, "token", &token) != 0 ||
	    api_get_int(*resp, "expires_at", &exp) != 0) {
		api_bad_answer(cli, "login", "token");
		return TE_ERR_PROTOCOL;
	}
	return clistate_new(server, ca_abs, c->user, token, exp, st);
}

int login_setup_report(const struct cli *cli, const json_t *resp)
{
	json_t *need = json_object_get(resp, "setup_required"), *v, *o;
	int totp = 0, pw = 0;
	size_t i;

	json_array_foreach(need, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), "totp_enrollment") == 0)
			totp = 1;
		if (json_is_string(v) && strcmp(json_string_value(v), "password_change") == 0)
			pw = 1;
	}
	if (cli->json) {
		o = json_pack("{s:s, s:O?, s:[]}", "scope", "setup", "setup_required", need, "next");
		if (o != NULL) {
			if (pw)
				json_array_append_new(json_object_get(o, "next"), json_string("tether password"));
			if (totp) {
				json_array_append_new(json_object_get(o, "next"), json_string("tether mfa enroll"));
				json_array_append_new(json_object_get(o, "next"),
				                      json_string("tether mfa confirm CODE"));
			}
			cliout_json(o);
		}
		json_decref(o);
		return LOGIN_EXIT_SETUP;
	}
	fprintf(stderr, "tether: the password is right, but the account setup must be finished"
	        " before anything else:\n");
	if (pw)
		fprintf(stderr, "  - an administrator set a temporary password: choose your own"
		        " with\n      tether password\n");
	if (totp)
		fprintf(stderr, "  - every account needs a one-time code (TOTP); enroll with\n"
		        "      tether mfa enroll          (shows a QR code and the secret)\n"
		        "      tether mfa confirm CODE    (CODE: what your authenticator shows)\n");
	fprintf(stderr, "  this setup login only allows these steps and expires in %lld"
	        " minutes\n", (long long)json_integer_value(json_object_get(resp,
	        "expires_in_s")) / 60);
	return LOGIN_EXIT_SETUP;
}

/* proxy is the URL the login went through (NULL: direct); only its
 * host:port is shown. */
static void login_report(const struct cli *cli, const struct clistate *st,
                         const char *proxy, const json_t *resp)
{
	char when[64], via[HTTPPROXY_HOST_BYTES + 32] = "";
	char desc[HTTPPROXY_HOST_BYTES + 16] = "";
	const char *role = NULL;

	api_get_str(resp, "role", &role);
	if (proxy != NULL && httpproxy_describe(proxy, desc, sizeof(desc)) == 0)
		snprintf(via, sizeof(via), " via proxy %s", desc);
	if (cli->json) {
		cliout_json_new(json_pack("{s:s, s:s, s:s?, s:s, s:I, s:s?}", "server",
		                          st->server, "user", st->user, "role", role, "scope",
		                          "full", "expires_at", (json_int_t)st->expires_at,
		                          "proxy", desc[0] != '\0' ? desc : NULL));
		return;
	}
	cliout_time((time_t)st->expires_at, when, sizeof(when));
	printf("logged in to %s as %s%s%s%s%s; the login expires %s\n", st->server,
	       st->user, role != NULL ? " (" : "", role != NULL ? role : "",
	       role != NULL ? ")" : "", via, when);
}

static int login_get_password(const struct cli *cli, const char *user, const char *server,
                              char *password, size_t pwsz)
{
	char prompt[256];
	int r;

	snprintf(prompt, sizeof(prompt), "password for %s at %s: ", user, server);
	if ((r = login_read_password(prompt, password, pwsz)) != 0)
		cliout_error(cli, "no_password", "no password read (%s) — set "
		             "TETHER_PASSWORD, type it at the prompt or pipe one line",
		             r == TE_ERR_TRUNCATED ? "the input was empty" :
		             r == TE_ERR_TOO_LONG ? "longer than 1023 bytes" :
		             te_strerror(r));
	return r;
}

/* The second factor into code: --totp or --recovery-code (copied, then
 * wiped from argv, which stays readable in /proc while we run, like the
 * proxy URL), else TETHER_TOTP (read once and unset). */
static int login_take_code(const char **totp, const char **recovery, char *code,
                           size_t codesz)
{
	const char *given = *totp != NULL ? *totp : *recovery;
	const char *env = getenv("TETHER_TOTP");

	if (given == NULL) {
		if (env != NULL && env[0] != '\0' &&
		    login_read_secret("TETHER_TOTP", "", code, codesz) == 0)
			*totp = code;
		return 0;
	}
	if (strlen(given) >= codesz) {
		cliout_usage("login: the one-time code is too long");
		return TE_ERR_TOO_LONG;
	}
	snprintf(code, codesz, "%s", given);
	secret_wipe((char *)given, strlen(given));
	*(*totp != NULL ? totp : recovery) = code;
	return 0;
}

/* What --server, --ca and --user (and --proxy, with the server) leave out
 * comes from the profile's saved login, when there is one: after the first
 * login, `tether login` alone logs in again. *kept owns the strings. */
static int login_from_profile(const char **server, const char **ca, const char **user,
                              const char **proxy, struct clistate **kept)
{
	char path[PATH_MAX];

	if (*server != NULL && *ca != NULL && *user != NULL)
		return 0;
	if (clistate_path(path, sizeof(path)) != 0 || clistate_load(path, kept) != 0)
		return 0;   /* nothing kept: login_check_args says what is missing */
	if (*server == NULL) {
		*server = (*kept)->server;
		if (*proxy == NULL)
			*proxy = (*kept)->proxy;
	}
	if (*ca == NULL)
		*ca = (*kept)->ca;
	if (*user == NULL)
		*user = (*kept)->user;
	fprintf(stderr, "tether: profile %s: %s as %s\n", clistate_profile_name(), *server,
	        *user);
	return 0;
}

int login_main(const struct cli *cli, int argc, char **argv)
{
	const char *server = NULL, *ca = NULL, *user = NULL, *proxy = NULL;
	const char *totp = NULL, *recovery = NULL, *scope = NULL;
	const char *pos[1];
	const struct cliargs_opt opts[] = {
		{ "--server", &server, NULL, 0, NULL },
		{ "--ca", &ca, NULL, 0, NULL },
		{ "--user", &user, NULL, 0, NULL },
		{ "--proxy", &proxy, NULL, 0, NULL },
		{ "--totp", &totp, NULL, 0, NULL },
		{ "--recovery-code", &recovery, NULL, 0, NULL },
	};
	char code[LOGIN_MAX_CODE_BYTES];
	struct login_creds creds;
	char ca_abs[PATH_MAX], path[PATH_MAX];
	char password[LOGIN_MAX_PASSWORD_BYTES], *proxy_copy = NULL;
	struct clistate *st = NULL, *kept = NULL;
	SSL_CTX *ctx = NULL;
	json_t *resp = NULL;
	size_t npos;
	int rc = CLI_EXIT_FAIL, r;

	password[0] = '\0';
	code[0] = '\0';
	if (cliargs_parse("login", argc, argv, opts, 6, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (totp != NULL && recovery != NULL) {
		cliout_usage("login: give --totp or --recovery-code, not both");
		return CLI_EXIT_USAGE;
	}
	if (login_from_profile(&server, &ca, &user, &proxy, &kept) != 0)
		return CLI_EXIT_FAIL;
	if ((rc = login_check_args(cli, server, ca, user, proxy, ca_abs)) !=
	    CLI_EXIT_OK)
		goto out;
	rc = CLI_EXIT_FAIL;
	if (proxy != NULL) {
		/* Take the URL out of argv: it may hold the proxy password, and
		 * argv stays readable in /proc/PID/cmdline while we run. */
		if ((proxy_copy = strdup(proxy)) == NULL)
			goto out;
		secret_wipe((char *)proxy, strlen(proxy));
		proxy = proxy_copy;
	}
	if ((r = clistate_path(path, sizeof(path))) != 0) {
		cliout_error(cli, "no_home", "cannot find where to keep the login: "
		             "%s — set TETHER_HOME or HOME", te_strerror(r));
		goto out;
	}
	if (login_get_password(cli, user, server, password, sizeof(password)) != 0)
		goto out;
	if (login_take_code(&totp, &recovery, code, sizeof(code)) != 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	creds.user = user;
	creds.password = password;
	creds.totp = totp;
	creds.recovery = recovery;
	if (api_ctx_new(cli, ca_abs, &ctx) != 0 ||
	    login_request(cli, ctx, server, api_proxy(proxy, server), ca_abs,
	                  &creds, &st, &resp) != 0)
		goto out;
	secret_wipe(password, sizeof(password));
	/* Only an explicit --proxy is kept; the environment is read afresh
	 * by every later command. */
	if ((r = clistate_set_proxy(st, proxy)) != 0 ||
	    (r = clistate_save(path, st)) != 0) {
		cliout_error(cli, "save_failed", "logged in, but cannot save the login "
		             "to %s: %s — check that folder's permissions", path,
		             te_strerror(r));
		goto out;
	}
	if (api_get_str(resp, "scope", &scope) == 0 && strcmp(scope, "setup") == 0) {
		rc = login_setup_report(cli, resp);
		goto out;
	}
	login_report(cli, st, api_proxy(proxy, server), resp);
	rc = CLI_EXIT_OK;
out:
	secret_wipe(password, sizeof(password));
	secret_wipe(code, sizeof(code));
	if (proxy_copy != NULL) {
		secret_wipe(proxy_copy, strlen(proxy_copy));
		free(proxy_copy);
	}
	json_decref(resp);
	clistate_free(st);
	clistate_free(kept);
	SSL_CTX_free(ctx);
	return rc;
}

int logout_main(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1];
	json_t *resp = NULL;
	struct api *a = NULL;
	size_t npos;
	int status = 0, rc = CLI_EXIT_FAIL, r, sent;

	if (cliargs_parse("logout", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	/* An expired login can still be removed. */
	if (api_open(cli, API_OPEN_EXPIRED_OK, &a) != 0)
		goto out;
	sent = api_send(cli, a->st->server,
	                api_proxy(a->st->proxy, a->st->server), a->ctx,
	                a->st->token, "POST", "/api/v1/logout", NULL, &status,
	                &resp);
	if ((r = clistate_set_token(a->st, NULL, 0)) != 0 ||
	    (r = clistate_save(a->state_path, a->st)) != 0) {
		cliout_error(cli, "save_failed", "cannot remove the token from %s: "
		             "%s — delete that file by hand", a->state_path,
		             te_strerror(r));
		goto out;
	}
	if (sent != 0) {
		fprintf(stderr, "tether: the token was removed locally, but the server "
		        "could not revoke it; it stays valid until it expires\n");
		goto out;
	}
	if (status != 200 && status != 401) {
		api_report(cli, "logout", status, resp);
		fprintf(stderr, "tether: the token was removed locally\n");
		goto out;
	}
	if (cli->json) {
		cliout_json_new(json_pack("{s:b}", "logged_out", 1));
	} else {
		printf("logged out of %s\n", a->st->server);
	}
	rc = CLI_EXIT_OK;
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

int renew_main(const struct cli *cli, int argc, char **argv)
{
	const char *totp = NULL, *recovery = NULL, *pos[1], *token = NULL, *errc = NULL;
	const struct cliargs_opt opts[] = {
		{ "--totp", &totp, NULL, 0, NULL },
		{ "--recovery-code", &recovery, NULL, 0, NULL },
	};
	char code[LOGIN_MAX_CODE_BYTES], *body = NULL;
	struct api *a = NULL;
	json_t *req = NULL, *resp = NULL;
	long long exp = 0;
	size_t npos;
	int status = 0, rc = CLI_EXIT_FAIL, r;

	code[0] = '\0';
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: tether [--profile NAME] renew [--totp CODE | --recovery-code"
			       " CODE]\n  a new login with the one-time code alone, within the"
			       " server's renewal limit\n  (login_renew_max_s) after the password"
			       " login\n");
			return CLI_EXIT_OK;
		}
	if (cliargs_parse("renew", argc, argv, opts, 2, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if (totp != NULL && recovery != NULL) {
		cliout_usage("renew: give --totp or --recovery-code, not both");
		return CLI_EXIT_USAGE;
	}
	/* An expired token may still be renewed within the limit. */
	if (api_open(cli, API_OPEN_EXPIRED_OK, &a) != 0)
		goto out;
	if (login_take_code(&totp, &recovery, code, sizeof(code)) != 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (totp == NULL && recovery == NULL) {
		if (login_prompt_code(code, sizeof(code)) != 0) {
			cliout_error(cli, "no_code", "renew: no one-time code read — give --totp CODE,"
			             " TETHER_TOTP or type it at the prompt");
			goto out;
		}
		*(strlen(code) > 8 ? &recovery : &totp) = code;
	}
	req = json_pack("{s:s, s:s*, s:s*}", "token", a->st->token, "totp", totp,
	                "recovery_code", recovery);
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL)
		goto out;
	r = api_send(cli, a->st->server, api_proxy(a->st->proxy, a->st->server), a->ctx, NULL,
	             "POST", "/api/v1/login/renew", body, &status, &resp);
	if (r != 0)
		goto out;
	if (status != 200) {
		const char *msg = NULL;

		if (resp != NULL) {
			api_get_str(resp, "error", &errc);
			api_get_str(resp, "message", &msg);
		}
		if (msg != NULL)
			cliout_error(cli, errc != NULL ? errc : "refused", "renew as %s refused: %s",
			             a->st->user, msg);
		else
			api_report(cli, "renew", status, resp);
		goto out;
	}
	if (resp == NULL || api_get_str(resp, "token", &token) != 0 ||
	    api_get_int(resp, "expires_at", &exp) != 0) {
		api_bad_answer(cli, "renew", "token");
		goto out;
	}
	if ((r = clistate_set_token(a->st, token, exp)) != 0 ||
	    (r = clistate_save(a->state_path, a->st)) != 0) {
		cliout_error(cli, "save_failed", "renewed, but cannot save the login to %s: %s",
		             a->state_path, te_strerror(r));
		goto out;
	}
	login_report(cli, a->st, api_proxy(a->st->proxy, a->st->server), resp);
	rc = CLI_EXIT_OK;
out:
	secret_wipe(code, sizeof(code));
	if (body != NULL) {
		secret_wipe(body, strlen(body));
		free(body);
	}
	json_decref(req);
	json_decref(resp);
	api_free(a);
	return rc;
}
