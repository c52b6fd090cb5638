/* consentcli.c: `tether-agent consent list|status|watch|accept ID|deny ID|end ID`,
 * the operator's side of the consent socket, with readable output (watch
 * prints the agent's JSON event lines as they come, for a device UI). */
#include "consent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"

#define CONSENTCLI_REPLY_MAX_BYTES (64 * 1024)
#define CONSENTCLI_TIMEOUT_S       (HTTP_TIMEOUT_S + 30)

static int consentcli_connect(const char *path, int timeout_s, int *out)
{
	struct sockaddr_un sun;
	struct timeval tv = { timeout_s, 0 };
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return TE_ERR_TOO_LONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return TE_ERR_SYS;
	if (timeout_s > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return TE_ERR_IO;
	}
	*out = fd;
	return 0;
}

static void consentcli_print_session(const char *line)
{
	json_t *o = json_loads(line, 0, NULL), *svcs, *v;
	const char *state;
	size_t i;

	if (!json_is_object(o)) {
		printf("%s\n", line);
		json_decref(o);
		return;
	}
	state = json_string_value(json_object_get(o, "state"));
	printf("session %s  [%s, %s %lld s]\n",
	       json_string_value(json_object_get(o, "session")),
	       state != NULL ? state : "?",
	       state != NULL && strcmp(state, "pending") == 0 ? "answer within"
	                                                     : "ends in at most",
	       (long long)json_integer_value(json_object_get(o, "expires_in_s")));
	printf("  who:      %s (level %lld, region %s)\n",
	       json_string_value(json_object_get(o, "user")),
	       (long long)json_integer_value(json_object_get(o, "level")),
	       json_string_value(json_object_get(o, "region")));
	printf("  reason:   %s\n", json_string_value(json_object_get(o, "reason")));
	printf("  services: ");
	svcs = json_object_get(o, "services");
	json_array_foreach(svcs, i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("%s\n", json_array_size(svcs) == 0 ? "(none)" : "");
	state = json_string_value(json_object_get(o, "actions"));
	printf("  actions:  %s\n", state != NULL && state[0] ? state : "(forwards only)");
	json_decref(o);
}

/* The whole reply, up to CONSENTCLI_REPLY_MAX_BYTES, NUL-terminated in buf
 * (the agent closes, or the receive timeout ends it); returns its length. */
static size_t consentcli_read_reply(int fd, char buf[CONSENTCLI_REPLY_MAX_BYTES + 1])
{
	size_t len = 0;
	ssize_t n;

	while (len < CONSENTCLI_REPLY_MAX_BYTES &&
	       (n = read(fd, buf + len, CONSENTCLI_REPLY_MAX_BYTES - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

/* Reads the whole reply (bounded) and prints it. Returns 0 for OK/END. */
static int consentcli_reply(int fd, int is_list)
{
	char buf[CONSENTCLI_REPLY_MAX_BYTES + 1], *line, *nl;
	size_t len = consentcli_read_reply(fd, buf);
	int count = 0, rc = TE_ERR_PROTOCOL;

	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (strncmp(line, "ERR ", 4) == 0) {
			fprintf(stderr, "consent: %s\n", line + 4);
			return TE_ERR_DENIED;
		}
		if (strncmp(line, "OK ", 3) == 0) {
			printf("%s\n", line + 3);
			return 0;
		}
		if (is_list && strcmp(line, "END") == 0) {
			if (count == 0)
				printf("no session requests\n");
			return 0;
		}
		if (is_list) {
			consentcli_print_session(line);
			count++;
		}
	}
	fprintf(stderr, "consent: the agent sent no complete answer%s\n",
	        len == 0 ? " (timed out or closed)" : "");
	return rc;
}

/* STATUS: one line per active session, then END. */
static int consentcli_status_reply(int fd)
{
	char buf[CONSENTCLI_REPLY_MAX_BYTES + 1], *line, *nl;
	int count = 0;

	(void)consentcli_read_reply(fd, buf);
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (strncmp(line, "ERR ", 4) == 0) {
			fprintf(stderr, "consent: %s\n", line + 4);
			return TE_ERR_DENIED;
		}
		if (strcmp(line, "END") == 0) {
			if (count == 0)
				printf("no active session\n");
			return 0;
		}
		printf("%s\n", line);
		count++;
	}
	fprintf(stderr, "consent: the agent sent no complete answer\n");
	return TE_ERR_PROTOCOL;
}

/* WATCH: copy the agent's lines to stdout as they come, until it closes.
 * Each line is flushed at once: a UI reads this through a pipe. */
static int consentcli_watch(int fd)
{
	char buf[4096];
	ssize_t n;
	int first = 1;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && strncmp(buf, "ERR ", 4) == 0) {
			fprintf(stderr, "consent: %.*s", (int)(n - 4), buf + 4);
			return TE_ERR_DENIED;
		}
		first = 0;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0)
			return TE_ERR_IO;
	}
	fprintf(stderr, "consent: the agent closed the watch\n");
	return n == 0 ? 0 : TE_ERR_IO;
}

int consent_client(const struct agent_conf *conf, const char *verb,
                   const char *id)
{
	char line[MAX_CONSENT_LINE_BYTES];
	const char *cmd;
	int fd = -1, rc, is_list = strcmp(verb, "list") == 0;
	int is_watch = strcmp(verb, "watch") == 0, is_status = strcmp(verb, "status") == 0;
	int no_id = is_list || is_watch || is_status;

	if (is_list)
		cmd = "LIST";
	else if (is_watch)
		cmd = "WATCH";
	else if (is_status)
		cmd = "STATUS";
	else if (strcmp(verb, "accept") == 0)
		cmd = "ACCEPT";
	else if (strcmp(verb, "deny") == 0)
		cmd = "DENY";
	else if (strcmp(verb, "end") == 0)
		cmd = "END";
	else
		return TE_ERR_INVALID;
	if (!no_id && (id == NULL || !consent_id_ok(id))) {
		fprintf(stderr, "consent %s: give the session id shown by "
		        "`tether-agent consent list`\n", verb);
		return TE_ERR_INVALID;
	}
	snprintf(line, sizeof(line), "%s%s%s\n", cmd, no_id ? "" : " ",
	         no_id ? "" : id);
	if ((rc = consentcli_connect(conf->consent_socket,
	                             is_watch ? 0 : CONSENTCLI_TIMEOUT_S, &fd)) != 0) {
		fprintf(stderr, "consent: cannot reach the agent at %s: %s (is "
		        "`tether-agent run` running, and may you use its socket?)\n",
		        conf->consent_socket, strerror(errno));
		return rc;
	}
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		fprintf(stderr, "consent: cannot send the request: %s\n", strerror(errno));
		rc = TE_ERR_IO;
		goto out;
	}
	if (is_watch)
		rc = consentcli_watch(fd);
	else if (is_status)
		rc = consentcli_status_reply(fd);
	else
		rc = consentcli_reply(fd, is_list);
out:
	close(fd);
	return rc;
}
