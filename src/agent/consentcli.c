/* consentcli.c: `tether-agent consent list|status|watch|accept ID|deny ID|end ID`,
 * the operator's side of the consent socket, with readable output (watch
 * prints the agent's JSON event lines as they come, for a device UI). */
#include "consent.h"
#include "actenv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "bounds.h"
#include "err.h"
#include "text.h"

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

/* Text from the agent (and so from the server) as the operator may read
 * it: controls and bidirectional overrides made visible (lib text.h). */
#define CONSENTCLI_SHOWN_BYTES TEXT_ESCAPED_BYTES(MAX_ACTIONS_BYTES)
static const char *consentcli_shown(const json_t *o, const char *key, const char *def,
                                    char buf[CONSENTCLI_SHOWN_BYTES])
{
	const char *v = json_string_value(json_object_get(o, key));

	return text_escape_display(v != NULL ? v : def, buf, CONSENTCLI_SHOWN_BYTES);
}

static void consentcli_print_line(FILE *f, const char *line)
{
	char shown[TEXT_ESCAPED_BYTES(MAX_AUDIT_LINE_BYTES)];

	fprintf(f, "%s\n", text_escape_display(line, shown, sizeof(shown)));
}

/* A maintenance activity waiting for the operator (activity_consent). */
static void consentcli_print_activity(const json_t *o)
{
	char b1[CONSENTCLI_SHOWN_BYTES], b2[CONSENTCLI_SHOWN_BYTES], line[ACTENV_INPUT_BYTES];
	const char *input = json_string_value(json_object_get(o, "input"));

	printf("activity %s  [pending, answer within %lld s]\n",
	       consentcli_shown(o, "activity", "?", b1),
	       (long long)json_integer_value(json_object_get(o, "expires_in_s")));
	printf("  what:     %s %s (the maintenance queue)\n", consentcli_shown(o, "kind", "?", b1),
	       consentcli_shown(o, "name", "?", b2));
	if (input == NULL)
		input = "";
	while (text_next_line(&input, line, sizeof(line)))
		printf("  sets:     %s\n", text_escape_display(line, b1, sizeof(b1)));
	printf("  accept:   tether-agent consent accept %s\n", consentcli_shown(o, "activity", "?",
	       b1));
}

static void consentcli_print_session(const char *line)
{
	json_t *o = json_loads(line, 0, NULL), *svcs, *v;
	char b1[CONSENTCLI_SHOWN_BYTES], b2[CONSENTCLI_SHOWN_BYTES];
	const char *state;
	size_t i;

	if (!json_is_object(o)) {
		consentcli_print_line(stdout, line);
		json_decref(o);
		return;
	}
	if (json_object_get(o, "activity") != NULL) {
		consentcli_print_activity(o);
		json_decref(o);
		return;
	}
	state = json_string_value(json_object_get(o, "state"));
	printf("session %s  [%s, %s %lld s]\n", consentcli_shown(o, "session", "?", b1),
	       consentcli_shown(o, "state", "?", b2),
	       state != NULL && strcmp(state, "pending") == 0 ? "answer within"
	                                                     : "ends in at most",
	       (long long)json_integer_value(json_object_get(o, "expires_in_s")));
	printf("  who:      %s (level %lld, ", consentcli_shown(o, "user", "?", b1),
	       (long long)json_integer_value(json_object_get(o, "level")));
	printf("region %s)\n", consentcli_shown(o, "region", "", b1));
	printf("  reason:   %s\n", consentcli_shown(o, "reason", "", b1));
	printf("  services: ");
	svcs = json_object_get(o, "services");
	json_array_foreach(svcs, i, v)
		printf("%s%s", i ? ", " : "",
		       text_escape_display(json_is_string(v) ? json_string_value(v) : "?", b1,
		                           sizeof(b1)));
	printf("%s\n", json_array_size(svcs) == 0 ? "(none)" : "");
	printf("  actions:  %s\n", consentcli_shown(o, "actions", "", b1)[0] ? b1 :
	       "(forwards only)");
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
			fputs("consent: ", stderr);
			consentcli_print_line(stderr, line + 4);
			return TE_ERR_DENIED;
		}
		if (strncmp(line, "OK ", 3) == 0) {
			consentcli_print_line(stdout, line + 3);
			return 0;
		}
		if (is_list && strcmp(line, "END") == 0) {
			if (count == 0)
				printf("no session requests or activities waiting\n");
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
			fputs("consent: ", stderr);
			consentcli_print_line(stderr, line + 4);
			return TE_ERR_DENIED;
		}
		if (strcmp(line, "END") == 0) {
			if (count == 0)
				printf("no active session\n");
			return 0;
		}
		consentcli_print_line(stdout, line);
		count++;
	}
	fprintf(stderr, "consent: the agent sent no complete answer\n");
	return TE_ERR_PROTOCOL;
}

#define CONSENTCLI_WATCH_CHUNK 4096

/* Copy n bytes of watch output with anything but newlines escaped. The
 * agent writes ASCII JSON (consentsock.c), so this changes nothing unless
 * something else is on the socket. */
static int consentcli_watch_write(const char *buf, size_t n)
{
	char seg[CONSENTCLI_WATCH_CHUNK + 1], shown[TEXT_ESCAPED_BYTES(CONSENTCLI_WATCH_CHUNK)];
	size_t i = 0, len;

	while (i < n) {
		if (buf[i] == '\n' || buf[i] == '\0') {
			fputs(buf[i] == '\n' ? "\n" : "\\x00", stdout);
			i++;
			continue;
		}
		for (len = 0; i + len < n && buf[i + len] != '\n' && buf[i + len] != '\0'; len++)
			;
		memcpy(seg, buf + i, len);
		seg[len] = '\0';
		if (fputs(text_escape_display(seg, shown, sizeof(shown)), stdout) == EOF)
			return TE_ERR_IO;
		i += len;
	}
	return 0;
}

/* WATCH: copy the agent's lines to stdout as they come, until it closes.
 * Each line is flushed at once: a UI reads this through a pipe. */
static int consentcli_watch(int fd)
{
	char buf[CONSENTCLI_WATCH_CHUNK];
	ssize_t n;
	int first = 1;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && strncmp(buf, "ERR ", 4) == 0) {
			fprintf(stderr, "consent: %.*s", (int)(n - 4), buf + 4);
			return TE_ERR_DENIED;
		}
		first = 0;
		if (consentcli_watch_write(buf, (size_t)n) != 0 || fflush(stdout) != 0)
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
