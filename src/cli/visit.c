/* visit.c: `tether ssh-config`, and `tether connect DEVICE.tether`: what
 * plain OpenSSH (ssh, scp, sftp) needs to reach a device through the
 * session its user already holds there. */
#include "visit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "cliargs.h"
#include "clistate.h"
#include "err.h"
#include "sshrun.h"
#include "text.h"

/* Longest known_hosts line kept: a host name and a host key line. */
#define VISIT_LINE_BYTES (MAX_NAME_BYTES + MAX_PEM_BYTES + 16)
/* Lines of other hosts carried over when one is replaced. */
#define VISIT_MAX_HOSTS 256

/* DEVICE out of "DEVICE.tether"; 1 when arg has that form. */
static int visit_device_of(const char *arg, char *dev, size_t devsz)
{
	size_t n = strlen(arg), k = strlen(VISIT_HOST_SUFFIX);

	if (n <= k || strcmp(arg + n - k, VISIT_HOST_SUFFIX) != 0 || n - k >= devsz)
		return 0;
	memcpy(dev, arg, n - k);
	dev[n - k] = '\0';
	return cliargs_check_name(dev) == 0;
}

/* The caller's newest consented or active session on dev (a new
 * reference), or NULL with the error printed; ended gets the reason the
 * last final one there gave. */
static json_t *visit_find(const struct cli *cli, struct api *a, const char *dev)
{
	char ended[MAX_REASON_BYTES] = "";
	const char *sdev, *state, *why;
	json_t *resp = NULL, *list, *s, *found = NULL;
	size_t i;

	if (api_call(a, "listing your sessions", "GET", "/api/v1/sessions", NULL, &resp) != 0)
		return NULL;
	list = json_object_get(resp, "sessions");
	json_array_foreach(list, i, s) {
		if (api_get_str(s, "device", &sdev) != 0 || api_get_str(s, "state", &state) != 0 ||
		    strcmp(sdev, dev) != 0 || !json_is_string(json_object_get(s, "id")))
			continue;
		if (strcmp(state, "consented") == 0 || strcmp(state, "active") == 0)
			found = s;                 /* oldest first: the newest wins */
		else if (api_get_str(s, "end_reason", &why) == 0 && why[0] != '\0')
			cliout_text(why, ended, sizeof(ended));
	}
	json_incref(found);
	if (found == NULL)
		cliout_error(cli, "no_open_session", "you hold no consented session on %s%s%s%s;"
		             " ask for one first: tether session request %s --reason TEXT ...",
		             dev, ended[0] ? " (your last one there ended: " : "",
		             ended, ended[0] ? ")" : "", dev);
	json_decref(resp);
	return found;
}

int visit_resolve(const struct cli *cli, struct api *a, const char *arg, char *id,
                  size_t idsz, char *host, size_t hostsz)
{
	char dev[MAX_NAME_BYTES];
	json_t *s;

	host[0] = '\0';
	id[0] = '\0';
	if (!visit_device_of(arg, dev, sizeof(dev))) {
		snprintf(id, idsz, "%s", arg);
		return 0;
	}
	snprintf(host, hostsz, "%s", arg);
	if ((s = visit_find(cli, a, dev)) == NULL)
		return TE_ERR_NOT_FOUND;
	snprintf(id, idsz, "%s", json_string_value(json_object_get(s, "id")));
	json_decref(s);
	return 0;
}

/* Does the session's "granted" list hold what? files:write grants read. */
static int visit_granted(const json_t *granted, const char *what)
{
	const json_t *g;
	size_t i;

	json_array_foreach(granted, i, g) {
		const char *v = json_string_value(g);

		if (v != NULL && (strcmp(v, what) == 0 ||
		                  (strcmp(what, "files:read") == 0 && strcmp(v, "files:write") == 0)))
			return 1;
	}
	return 0;
}

int visit_open_session(const struct cli *cli, struct api *a, const char *device,
                       const char *const *need, size_t nneed, char **id)
{
	char shown[TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)];
	json_t *s, *granted;
	const char *sid;
	size_t i;
	int rc = 0;

	*id = NULL;
	if ((s = visit_find(cli, a, device)) == NULL)
		return TE_ERR_NOT_FOUND;
	sid = json_string_value(json_object_get(s, "id"));
	granted = json_object_get(s, "granted");
	for (i = 0; i < nneed && rc == 0; i++) {
		if (visit_granted(granted, need[i]))
			continue;
		cliout_error(cli, "not_granted", "your open session %s on %s does not grant %s;"
		             " end it (tether session end %s) and ask for a session that does",
		             sid, device, cliout_text(need[i], shown, sizeof(shown)), sid);
		rc = TE_ERR_DENIED;
	}
	if (rc == 0 && (*id = strdup(sid)) == NULL)
		rc = TE_ERR_NOMEM;
	if (rc == 0)
		fprintf(stderr, "using your open session %s on %s (no new consent)\n", sid, device);
	json_decref(s);
	return rc;
}

static int visit_known_path(char *out, size_t outsz)
{
	char dir[PATH_MAX];
	int n;

	if (clistate_dir(dir, sizeof(dir)) != 0)
		return TE_ERR_INVALID;
	n = snprintf(out, outsz, "%s/%s", dir, VISIT_KNOWN_HOSTS);
	return n < 0 || (size_t)n >= outsz ? TE_ERR_TOO_LONG : 0;
}

int visit_known_host(const struct cli *cli, const char *host, const char *key)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], line[VISIT_LINE_BYTES];
	size_t hl = strlen(host), kept = 0;
	FILE *in = NULL, *out = NULL;
	int fd = -1, rc = TE_ERR_SYS;

	if (strchr(key, '\n') != NULL || strchr(key, ' ') == NULL) {
		cliout_error(cli, "no_hostkey", "the server gave no usable SSH host key for %s",
		             host);
		return TE_ERR_INVALID;
	}
	if (visit_known_path(path, sizeof(path)) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    (out = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	/* Every other host's line stays; this host's is replaced. */
	if ((in = fopen(path, "re")) != NULL) {
		while (kept < VISIT_MAX_HOSTS && fgets(line, sizeof(line), in) != NULL) {
			if (strncmp(line, host, hl) == 0 && line[hl] == ' ')
				continue;
			if (strchr(line, '\n') == NULL)
				continue;           /* too long: not ours */
			fputs(line, out);
			kept++;
		}
	}
	if (fprintf(out, "%s %s\n", host, key) < 0 || fflush(out) != 0 || fsync(fileno(out)) != 0)
		goto out;
	if (fclose(out) != 0) {
		out = NULL;
		goto out;
	}
	out = NULL;
	rc = rename(tmp, path) == 0 ? 0 : TE_ERR_SYS;
out:
	if (in != NULL)
		fclose(in);
	if (out != NULL)
		fclose(out);
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		cliout_error(cli, "known_hosts", "cannot keep the host key of %s in %s: %s",
		             host, path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

int visit_ssh_config_main(const struct cli *cli, int argc, char **argv)
{
	char exe[PATH_MAX], known[PATH_MAX];
	const char *pos[1];
	ssize_t n;
	size_t npos;

	(void)cli;
	if (cliargs_parse("ssh-config", argc, argv, NULL, 0, pos, 0, 0, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || visit_known_path(known, sizeof(known)) != 0) {
		fprintf(stderr, "tether: cannot find this program's path or TETHER_HOME\n");
		return CLI_EXIT_FAIL;
	}
	exe[n] = '\0';
	/* ssh splits these options on blanks and expands % in ProxyCommand. */
	if (strpbrk(exe, " \t\"'%") != NULL || strpbrk(known, " \t\"'%") != NULL) {
		fprintf(stderr, "tether: the path %s or %s holds a blank, quote or %%: ssh"
		        " cannot take it in a config entry\n", exe, known);
		return CLI_EXIT_FAIL;
	}
	printf("# tether: append to ~/.ssh/config. Then, once `tether session request DEVICE"
	       " ...`\n# is consented: ssh DEVICE%s, sftp DEVICE%s, scp DEVICE%s:PATH .\n"
	       "Host *%s\n"
	       "    ProxyCommand %s connect %%n\n"
	       "    User %s\n"
	       "    UserKnownHostsFile %s\n"
	       "    GlobalKnownHostsFile /dev/null\n"
	       "    StrictHostKeyChecking yes\n"
	       "    UpdateHostKeys no\n"
	       "    CheckHostIP no\n",
	       VISIT_HOST_SUFFIX, VISIT_HOST_SUFFIX, VISIT_HOST_SUFFIX, VISIT_HOST_SUFFIX,
	       exe, SSHRUN_SUPPORT_USER, known);
	if (sshrun_cpu_aes())
		printf("    Ciphers %s\n", SSHRUN_AES_FIRST);
	return CLI_EXIT_OK;
}
