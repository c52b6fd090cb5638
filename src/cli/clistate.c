/* clistate.c: load and save the CLI's login file. It holds a bearer token,
 * so it is private to the user and never left half-written. */
#include "clistate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bounds.h"
#include "err.h"
#include "secret.h"

static char *clistate_strdup(const char *s, int *r)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*r = TE_ERR_NOMEM;
	return d;
}

static void clistate_free_secret(char *s)
{
	if (s == NULL)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

int clistate_new(const char *server, const char *ca, const char *user,
                 const char *token, long long expires_at,
                 struct clistate **out)
{
	struct clistate *st;
	size_t n;
	int r = 0;

	*out = NULL;
	if (server == NULL || ca == NULL || user == NULL)
		return TE_ERR_INVALID;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return TE_ERR_NOMEM;
	st->server = clistate_strdup(server, &r);
	st->ca = clistate_strdup(ca, &r);
	st->user = clistate_strdup(user, &r);
	st->token = clistate_strdup(token, &r);
	st->expires_at = expires_at;
	if (r != 0) {
		clistate_free(st);
		return r;
	}
	/* A URL typed with a trailing slash would make "//api/v1/..." paths. */
	n = strlen(st->server);
	while (n > 1 && st->server[n - 1] == '/')
		st->server[--n] = '\0';
	*out = st;
	return 0;
}

void clistate_free(struct clistate *st)
{
	if (st == NULL)
		return;
	free(st->server);
	free(st->ca);
	free(st->user);
	clistate_free_secret(st->token);
	clistate_free_secret(st->proxy);
	free(st);
}

int clistate_set_token(struct clistate *st, const char *token,
                       long long expires_at)
{
	char *t = NULL;

	if (token != NULL && (t = strdup(token)) == NULL)
		return TE_ERR_NOMEM;
	clistate_free_secret(st->token);
	st->token = t;
	st->expires_at = token != NULL ? expires_at : 0;
	return 0;
}

int clistate_set_proxy(struct clistate *st, const char *proxy)
{
	char *p = NULL;

	if (proxy != NULL && proxy[0] != '\0' && (p = strdup(proxy)) == NULL)
		return TE_ERR_NOMEM;
	clistate_free_secret(st->proxy);
	st->proxy = p;
	return 0;
}

int clistate_dir(char *out, size_t outsz)
{
	const char *home = getenv("TETHER_HOME");
	struct passwd *pw;
	int n;

	if (home != NULL && home[0] != '\0') {
		n = snprintf(out, outsz, "%s", home);
	} else {
		home = getenv("HOME");
		if (home == NULL || home[0] == '\0') {
			pw = getpwuid(getuid());
			if (pw == NULL || pw->pw_dir == NULL)
				return TE_ERR_NOT_FOUND;
			home = pw->pw_dir;
		}
		n = snprintf(out, outsz, "%s/.config/tether", home);
	}
	if (n < 0 || (size_t)n >= outsz)
		return TE_ERR_TOO_LONG;
	return 0;
}

/* The profile chosen for this run ("" : the default, cli.json). */
static char clistate_profile[MAX_NAME_BYTES];

int clistate_set_profile(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n >= sizeof(clistate_profile) || name[0] == '.' || name[0] == '-')
		return TE_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '.' || name[i] == '_' ||
		      name[i] == '-'))
			return TE_ERR_INVALID;
	snprintf(clistate_profile, sizeof(clistate_profile), "%s",
	         strcmp(name, CLISTATE_DEFAULT_PROFILE) == 0 ? "" : name);
	return 0;
}

const char *clistate_profile_name(void)
{
	return clistate_profile[0] != '\0' ? clistate_profile : CLISTATE_DEFAULT_PROFILE;
}

int clistate_path(char *out, size_t outsz)
{
	char dir[PATH_MAX];
	int r, n;

	if ((r = clistate_dir(dir, sizeof(dir))) != 0)
		return r;
	if (clistate_profile[0] != '\0')
		n = snprintf(out, outsz, "%s/cli-%s.json", dir, clistate_profile);
	else
		n = snprintf(out, outsz, "%s/%s", dir, CLISTATE_FILE);
	if (n < 0 || (size_t)n >= outsz)
		return TE_ERR_TOO_LONG;
	return 0;
}

/* Strictly typed: a required string, or an optional one that may be absent
 * or null. */
static int clistate_str(json_t *o, const char *key, int required,
                        const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? TE_ERR_INVALID : 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return TE_ERR_INVALID;
	*out = json_string_value(v);
	return 0;
}

static int clistate_parse(const char *buf, size_t len, struct clistate **out)
{
	const char *server, *ca, *user, *token, *proxy;
	json_error_t jerr;
	json_t *root, *exp;
	long long expires_at = 0;
	int r;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		r = TE_ERR_INVALID;
		goto out;
	}
	if ((r = clistate_str(root, "server", 1, &server)) != 0 ||
	    (r = clistate_str(root, "ca", 1, &ca)) != 0 ||
	    (r = clistate_str(root, "user", 1, &user)) != 0 ||
	    (r = clistate_str(root, "token", 0, &token)) != 0 ||
	    (r = clistate_str(root, "proxy", 0, &proxy)) != 0)
		goto out;
	exp = json_object_get(root, "expires_at");
	if (exp != NULL && !json_is_null(exp)) {
		if (!json_is_integer(exp)) {
			r = TE_ERR_INVALID;
			goto out;
		}
		expires_at = (long long)json_integer_value(exp);
	}
	if ((r = clistate_new(server, ca, user, token, expires_at, out)) != 0)
		goto out;
	if ((r = clistate_set_proxy(*out, proxy)) != 0) {
		clistate_free(*out);
		*out = NULL;
	}
out:
	json_decref(root);
	return r;
}

int clistate_load(const char *path, struct clistate **out)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_SYS;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		r = TE_ERR_INVALID;
		goto out;
	}
	if (sb.st_size > MAX_CONFIG_FILE_BYTES) {
		r = TE_ERR_TOO_LONG;
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	/* Read at most the size we saw; a file that grows meanwhile is cut off
	 * there and then fails to parse, which is the safe outcome. */
	while (len < (size_t)sb.st_size) {
		n = read(fd, buf + len, (size_t)sb.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = TE_ERR_SYS;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = clistate_parse(buf, len, out);
out:
	if (buf != NULL) {
		secret_wipe(buf, len);
		free(buf);
	}
	close(fd);
	return r;
}

/* mkdir -p with 0700 for each folder we create; an existing final folder is
 * tightened to 0700 because it holds a token. */
static int clistate_mkdirs(const char *dir)
{
	char tmp[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return TE_ERR_TOO_LONG;
	memcpy(tmp, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return TE_ERR_SYS;
		tmp[i] = i < n ? '/' : '\0';
	}
	if (chmod(dir, 0700) != 0)
		return TE_ERR_SYS;
	return 0;
}

static int clistate_dirname(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return snprintf(out, outsz, ".") < 0 ? TE_ERR_SYS : 0;
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= outsz)
		return TE_ERR_TOO_LONG;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

static int clistate_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return TE_ERR_SYS;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int clistate_save(const char *path, const struct clistate *st)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	json_t *root = NULL;
	char *text = NULL;
	int fd = -1, r, n;

	tmp[0] = '\0';
	if ((r = clistate_dirname(path, dir, sizeof(dir))) != 0 ||
	    (r = clistate_mkdirs(dir)) != 0)
		goto out;
	root = json_pack("{s:s, s:s, s:s}", "server", st->server, "ca", st->ca,
	                 "user", st->user);
	if (root == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	if (st->token != NULL &&
	    (json_object_set_new(root, "token", json_string(st->token)) != 0 ||
	     json_object_set_new(root, "expires_at",
	                         json_integer((json_int_t)st->expires_at)) != 0)) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	if (st->proxy != NULL &&
	    json_object_set_new(root, "proxy", json_string(st->proxy)) != 0) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	if ((text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		tmp[0] = '\0';
		r = TE_ERR_TOO_LONG;
		goto out;
	}
	/* mkstemp creates the file 0600, so the token is never readable by others. */
	if ((fd = mkstemp(tmp)) < 0) {
		tmp[0] = '\0';
		r = TE_ERR_SYS;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 ||
	    (r = clistate_write_all(fd, text, strlen(text))) != 0 ||
	    (r = clistate_write_all(fd, "\n", 1)) != 0 || fsync(fd) != 0) {
		r = TE_ERR_SYS;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = TE_ERR_SYS;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = TE_ERR_SYS;
		goto out;
	}
	tmp[0] = '\0';
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (text != NULL) {
		secret_wipe(text, strlen(text));
		free(text);
	}
	json_decref(root);
	return r;
}
