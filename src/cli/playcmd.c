/* playcmd.c: `tether play` (playcmd.h).
 *
 * The recordings come from GET /api/v1/sessions/ID/recordings and, chunk by
 * chunk, POST /api/v1/sessions/ID/recordings/read; each is held in memory
 * (at most PLAY_MAX_FILE_BYTES), checked against the size and SHA-256 the
 * server recorded when the device sent it, and only then played. With
 * --json the list is printed instead. */
#include "playcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "bounds.h"
#include "castfile.h"
#include "cliargs.h"
#include "codec.h"
#include "err.h"
#include "play.h"
#include "secret.h"

#define PLAYCMD_DEFAULT_IDLE_S 2.0

static int playcmd_number(const char *opt, const char *s, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(*out) || *out < 0 ||
	    *out > max) {
		fprintf(stderr, "tether play: %s wants a number from 0 to %g\n", opt, max);
		return -1;
	}
	return 0;
}

static int playcmd_run(const char *label, const char *buf, size_t len,
                       const struct play_opts *opts)
{
	char why[256];
	int rc;

	if ((rc = play_cast(buf, len, opts, STDOUT_FILENO, why, sizeof(why))) != 0) {
		fprintf(stderr, "\ntether: cannot play %s: %s\n", label, why);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* --file PATH: a recording on this machine (a copy from the device). */
static int playcmd_file(const char *path, const struct play_opts *opts)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;
	size_t got = 0;
	int fd, rc = CLI_EXIT_FAIL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "tether: cannot read %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)PLAY_MAX_FILE_BYTES) {
		fprintf(stderr, "tether: %s is not a recording (not a file, or over %u MiB)\n",
		        path, PLAY_MAX_FILE_BYTES >> 20);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	if (n < 0) {
		fprintf(stderr, "tether: cannot read %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = playcmd_run(path, buf, got, opts);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* Fetch one listed recording whole into *out and check it. */
static int playcmd_fetch(const struct cli *cli, struct api *a, const char *sid,
                         const json_t *rec, char **out, size_t *outlen)
{
	const char *name, *sha, *data;
	char path[128 + MAX_NAME_BYTES], got[SHA256_HEX_BYTES];
	long long size, off;
	json_t *resp = NULL;
	uint8_t *buf = NULL;
	size_t n, len = 0;
	int rc = -1;

	*out = NULL;
	if (api_get_str(rec, "name", &name) != 0 || !castfile_name_ok(sid, name) ||
	    api_get_str(rec, "sha256", &sha) != 0 || api_get_int(rec, "size", &size) != 0 ||
	    size < 0 || size > (long long)PLAY_MAX_FILE_BYTES) {
		api_bad_answer(cli, "listing the recordings", "recordings");
		return -1;
	}
	if ((buf = malloc((size_t)size + 1)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/sessions/%s/recordings/read", sid);
	while (len < (size_t)size || len == 0) {
		json_t *body = json_pack("{s:s, s:I}", "name", name, "offset", (json_int_t)len);

		rc = api_call(a, "fetching a recording", "POST", path, body, &resp);
		json_decref(body);
		if (rc != 0)
			goto out;
		rc = -1;
		data = json_string_value(json_object_get(resp, "data"));
		if (api_get_int(resp, "offset", &off) != 0 || off != (long long)len || data == NULL ||
		    b64url_decode(data, strlen(data), buf + len, (size_t)size - len + 1, &n) != 0 ||
		    n > (size_t)size - len ||
		    (n == 0 && len < (size_t)size)) {
			api_bad_answer(cli, "fetching a recording", "data");
			goto out;
		}
		json_decref(resp);
		resp = NULL;
		len += n;
		if (size == 0)
			break;
	}
	if (secret_sha256_hex(buf, len, got) != 0 || strcmp(got, sha) != 0) {
		cliout_error(cli, "recording_mismatch", "recording %s does not match the SHA-256 the "
		             "device sent (%s); not played", name, sha);
		goto out;
	}
	*out = (char *)buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	json_decref(resp);
	free(buf);
	return rc;
}

static int playcmd_session(const struct cli *cli, const char *sid,
                           const struct play_opts *opts)
{
	char path[64 + MAX_NAME_BYTES];
	struct api *a = NULL;
	json_t *resp = NULL, *list, *rec;
	const char *name;
	char *buf = NULL;
	size_t i, len = 0;
	int rc = CLI_EXIT_FAIL;

	if (api_open(cli, 0, &a) != 0)
		return CLI_EXIT_FAIL;
	snprintf(path, sizeof(path), "/api/v1/sessions/%s/recordings", sid);
	if (api_call(a, "listing the recordings", "GET", path, NULL, &resp) != 0)
		goto out;
	list = json_object_get(resp, "recordings");
	if (!json_is_array(list) || json_array_size(list) > PLAYCMD_MAX_RECORDINGS) {
		api_bad_answer(cli, "listing the recordings", "recordings");
		goto out;
	}
	if (cli->json) {
		rc = cliout_json(resp) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		goto out;
	}
	if (json_array_size(list) == 0) {
		cliout_error(cli, "no_recordings", "session %s has no shell recording on the server"
		             " (none was made, or the device has not sent it yet)", sid);
		goto out;
	}
	rc = CLI_EXIT_OK;
	json_array_foreach(list, i, rec) {
		if (playcmd_fetch(cli, a, sid, rec, &buf, &len) != 0) {
			rc = CLI_EXIT_FAIL;
			break;
		}
		(void)api_get_str(rec, "name", &name);
		fprintf(stderr, "tether: playing %s (%zu bytes)\n", name, len);
		rc = playcmd_run(name, buf, len, opts);
		free(buf);
		buf = NULL;
		if (rc != CLI_EXIT_OK)
			break;
	}
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

int playcmd_main(const struct cli *cli, int argc, char **argv)
{
	const char *speed = NULL, *idle = NULL, *file = NULL, *pos[1];
	const struct cliargs_opt opts[] = {
		{ "--speed", &speed, NULL, 0, NULL },
		{ "--max-idle", &idle, NULL, 0, NULL },
		{ "--file", &file, NULL, 0, NULL },
	};
	struct play_opts po = { 1.0, PLAYCMD_DEFAULT_IDLE_S };
	size_t npos;

	if (cliargs_parse("play", argc, argv, opts, 3, pos, 0, 1, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	if ((speed != NULL && playcmd_number("--speed", speed, 1000, &po.speed) != 0) ||
	    (idle != NULL && playcmd_number("--max-idle", idle, 3600, &po.max_idle_s) != 0))
		return CLI_EXIT_USAGE;
	if ((file != NULL) == (npos == 1)) {
		fprintf(stderr, "tether play: say a SESSION or --file PATH\n");
		return CLI_EXIT_USAGE;
	}
	if (file != NULL)
		return playcmd_file(file, &po);
	if (cliargs_check_name(pos[0]) != 0) {
		fprintf(stderr, "tether play: %s is not a session id\n", pos[0]);
		return CLI_EXIT_USAGE;
	}
	return playcmd_session(cli, pos[0], &po);
}
