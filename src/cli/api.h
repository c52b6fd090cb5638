/* api.h: calls to tether-server's HTTPS JSON API for the CLI, and the
 * mapping of every failure to a message that says what failed, why and what
 * to do. */
#ifndef TETHER_CLI_API_H
#define TETHER_CLI_API_H

#include <openssl/ssl.h>
#include <jansson.h>

#include "cliout.h"
#include "clistate.h"

struct api {
	const struct cli *cli;
	struct clistate *st;   /* the saved login */
	char *state_path;      /* where st was loaded from */
	SSL_CTX *ctx;          /* trusts only the deployment CA */
};

/* Load the saved login and build the TLS context. When not logged in, or
 * the login has expired, prints what to do and fails. */
#define API_OPEN_EXPIRED_OK 1   /* flag: accept a login past expires_at */
int api_open(const struct cli *cli, int flags, struct api **out);
void api_free(struct api *a);

/* TLS context trusting only ca_file; prints a clear error on failure. */
int api_ctx_new(const struct cli *cli, const char *ca_file, SSL_CTX **out);

/* One request. what says what the user asked for ("listing devices"), for
 * messages. body may be NULL (POSTs then send "{}"). On a 2xx answer *out
 * (when out is non-NULL) gets the response object. Any failure is printed
 * (with --json the server's error object goes to stdout) and returned. */
int api_call(struct api *a, const char *what, const char *method,
             const char *path, const json_t *body, json_t **out);

/* The same with a body of any type: len bytes of ctype (a file's chunk). */
int api_call_raw(struct api *a, const char *what, const char *method, const char *path,
                 const char *ctype, const void *data, size_t len, json_t **out);

/* For commands that make one request: open the saved login, POST body
 * (may be NULL) to path as api_call does, and close the login again. */
int api_post(const struct cli *cli, const char *what, const char *path,
             const json_t *body, json_t **out);

/* A list command: GET path and check that the answer's key is an array of
 * objects (each with a string id_key too, when id_key is not NULL); then
 * print the whole answer with --json, empty_text when the array is empty,
 * else print(array). Any failure is printed. Returns the exit code. */
int api_list(const struct cli *cli, const char *what, const char *path, const char *key,
             const char *id_key, const char *empty_text, void (*print)(const json_t *list));

/* The HTTP CONNECT proxy for a connection to dest (an https:// URL or a
 * host name): stored (the `tether login --proxy` URL kept in cli.json) when
 * set, else HTTPS_PROXY / https_proxy unless NO_PROXY / no_proxy names
 * dest's host (httpproxy_from_env). NULL means connect directly. The result
 * may hold a password: print only httpproxy_describe() of it. */
const char *api_proxy(const char *stored, const char *dest);

/* The transport underneath, for login which has no token yet: *status is
 * the HTTP status and *out the parsed object (NULL when the body is not a
 * JSON object). proxy as from api_proxy (NULL: direct). Only "cannot
 * reach" failures are printed. */
int api_send(const struct cli *cli, const char *server, const char *proxy,
             SSL_CTX *ctx, const char *bearer, const char *method,
             const char *path, const char *body_text, int *status,
             json_t **out);
/* Print the server's error answer for a failed request. */
void api_report(const struct cli *cli, const char *what, int status,
                const json_t *resp);

/* Strictly typed field access: a string of 1.. bytes without NULs, or an
 * integer. TE_ERR_INVALID when missing or of another type. */
int api_get_str(const json_t *obj, const char *key, const char **out);
int api_get_int(const json_t *obj, const char *key, long long *out);
/* Print "the server's answer to WHAT lacks a valid FIELD". */
void api_bad_answer(const struct cli *cli, const char *what, const char *field);

#endif
