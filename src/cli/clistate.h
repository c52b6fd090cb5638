/* clistate.h: the CLI's saved login, $TETHER_HOME/cli.json
 * (default ~/.config/tether; folder 0700, file 0600, replaced atomically).
 *
 *   {"server": "https://...", "ca": "/abs/root.crt", "user": "alice",
 *    "token": "...", "expires_at": 1700000000,
 *    "proxy": "http://[user:pass@]host:port"}
 *
 * token and expires_at are absent after `tether logout`. proxy is present
 * only when `tether login --proxy` gave one; it may hold the proxy's
 * password, which is why the file's mode matters as much as for the token. */
#ifndef TETHER_CLISTATE_H
#define TETHER_CLISTATE_H

#include <stddef.h>

#define CLISTATE_FILE "cli.json"

struct clistate {
	char *server;          /* base URL, no trailing '/' */
	char *ca;              /* absolute path of the deployment CA */
	char *user;
	char *token;           /* NULL when logged out; wiped on free */
	long long expires_at;  /* Unix time; 0 when unknown */
	char *proxy;           /* `login --proxy` URL or NULL; wiped on free */
};

/* All fields copied; token may be NULL. Never returns a partial state. */
int clistate_new(const char *server, const char *ca, const char *user,
                 const char *token, long long expires_at,
                 struct clistate **out);
void clistate_free(struct clistate *st);
/* Replace the token (NULL clears it); the old one is wiped. */
int clistate_set_token(struct clistate *st, const char *token,
                       long long expires_at);

/* Replace the stored proxy URL (NULL or "" clears it); the old one is
 * wiped. The URL is not checked here: login checks it before saving, and a
 * bad one in a hand-edited file fails clearly when first used. */
int clistate_set_proxy(struct clistate *st, const char *proxy);

/* The folder: $TETHER_HOME, else $HOME/.config/tether. */
int clistate_dir(char *out, size_t outsz);
/* The file: <dir>/cli.json for the default profile, <dir>/cli-NAME.json
 * for profile NAME. */
int clistate_path(char *out, size_t outsz);

/* Profiles: one saved login (server, CA, user, token) each, so that one
 * person can keep several deployments or accounts. The name is 1-63 of
 * [A-Za-z0-9._-], not starting with '.' or '-'; "default" is cli.json.
 * TE_ERR_INVALID for a bad name (the choice is unchanged). */
#define CLISTATE_DEFAULT_PROFILE "default"
int clistate_set_profile(const char *name);
const char *clistate_profile_name(void);

/* TE_ERR_NOT_FOUND when the file does not exist; TE_ERR_INVALID when it is
 * not a well-formed state file. */
int clistate_load(const char *path, struct clistate **out);
/* Creates missing folders (0700), writes a temporary file (0600) next to
 * path, fsyncs it and renames it over path. */
int clistate_save(const char *path, const struct clistate *st);

#endif
