/* repopub.c: `tether repo publish DIR`, a release manager's publication
 * through the server's API (issue 10; docs/updates.md "Publishing";
 * server side: src/server/repopub.h). The roles were signed offline; this
 * only carries them and the files they list to the server, which checks
 * everything before a device can see any of it. Needs repo:publish. */
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "cliout.h"
#include "err.h"
#include "filerepl.h"
#include "tuf.h"

#define PUB_CHUNK_MAX      (192 * 1024)   /* what the server takes from a person */
#define PUB_CHUNK_MIN      (16 * 1024)
#define PUB_ROUNDS_MAX     64             /* "what do you need" rounds */
#define PUB_WAIT_MAX_S     1800           /* for the server's check of a publication */
#define PUB_PATH_BYTES     4096

struct pub {
	const struct cli *cli;
	struct api *a;
	const char *dir;
	char id[64];
	size_t chunk;
	uint8_t *buf;
	int64_t sent;                          /* bytes carried */
	int files;
};

/* Upload local (a file of DIR) as the publication's path. */
static int pub_file(struct pub *p, const char *path, const char *local, int64_t want_size)
{
	char url[PUB_PATH_BYTES + 256], what[PUB_PATH_BYTES + 32];
	int64_t off = 0, have;
	long long lim, got;
	struct stat st;
	json_t *ans = NULL;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		cliout_error(p->cli, "not_found", "cannot read %s: %s", local,
		             fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return TE_ERR_NOT_FOUND;
	}
	if (want_size >= 0 && st.st_size != want_size) {
		cliout_error(p->cli, "mismatch", "%s is %lld bytes, but its role declares %lld: add "
		             "and sign it again (tether repo add, tether repo sign)", local,
		             (long long)st.st_size, (long long)want_size);
		close(fd);
		return TE_ERR_MISMATCH;
	}
	snprintf(what, sizeof(what), "uploading %s", path);
	/* At most one request per chunk, and a few more when the server says
	 * it holds another amount (it is the authority on where to go on). */
	for (lim = st.st_size / (long long)p->chunk + 8; lim > 0 && rc == 0; lim--) {
		n = pread(fd, p->buf, p->chunk, (off_t)off);
		if (n < 0 || (n == 0 && off < st.st_size)) {
			cliout_error(p->cli, "io", "cannot read %s: %s", local,
			             n < 0 ? strerror(errno) : "it became shorter");
			rc = TE_ERR_IO;
			break;
		}
		if ((int64_t)n > st.st_size - off)
			n = (ssize_t)(st.st_size - off);
		snprintf(url, sizeof(url), "/api/v1/repo/publications/%s?path=%s&size=%lld&offset=%lld",
		         p->id, path, (long long)st.st_size, (long long)off);
		if ((rc = api_call_raw(p->a, what, "PUT", url, "application/octet-stream", p->buf,
		                       (size_t)n, &ans)) != 0)
			break;
		if (api_get_int(ans, "have", &got) != 0)
			got = -1;
		have = (int64_t)got;
		json_decref(ans);
		ans = NULL;
		if (have < 0 || have > st.st_size) {
			api_bad_answer(p->cli, what, "have");
			rc = TE_ERR_PROTOCOL;
			break;
		}
		p->sent += have > off ? have - off : 0;
		off = have;
		if (off == st.st_size)
			break;
	}
	close(fd);
	if (rc == 0 && off != st.st_size) {
		cliout_error(p->cli, "incomplete", "%s: the server did not take the whole file", path);
		rc = TE_ERR_IO;
	}
	if (rc == 0)
		p->files++;
	return rc;
}

/* metadata/NAME.json of DIR, uploaded when it exists (required: else an
 * error). */
static int pub_meta(struct pub *p, const char *name, int required)
{
	char local[PUB_PATH_BYTES], path[256];
	struct stat st;

	snprintf(local, sizeof(local), "%s/metadata/%s.json", p->dir, name);
	snprintf(path, sizeof(path), "metadata/%s.json", name);
	if (!required && stat(local, &st) != 0)
		return 0;
	return pub_file(p, path, local, -1);
}

/* Every root version, targets and each role targets delegates to. */
static int pub_metadata(struct pub *p)
{
	char local[PUB_PATH_BYTES], name[64], *text = NULL;
	json_t *tg = NULL, *d;
	size_t len, i;
	long long v;
	int rc;

	for (v = 1; v < 100000; v++) {
		snprintf(name, sizeof(name), "%lld.root", v);
		snprintf(local, sizeof(local), "%s/metadata/%s.json", p->dir, name);
		if (access(local, F_OK) != 0)
			break;
		if ((rc = pub_meta(p, name, 1)) != 0)
			return rc;
	}
	if (v == 1) {
		cliout_error(p->cli, "not_found", "%s/metadata/1.root.json is missing: is %s a "
		             "folder made by tether repo init?", p->dir, p->dir);
		return TE_ERR_NOT_FOUND;
	}
	snprintf(local, sizeof(local), "%s/metadata/targets.json", p->dir);
	if ((rc = file_read_all(local, TUF_MAX_META_BYTES, &text, &len)) != 0 ||
	    (rc = tuf_parse(text, len, &tg)) != 0) {
		cliout_error(p->cli, "not_found", "%s cannot be read as a TUF document (%s)", local,
		             te_strerror(rc));
		free(text);
		return rc;
	}
	free(text);
	rc = pub_meta(p, "targets", 1);
	json_array_foreach(json_object_get(json_object_get(json_object_get(tg, "signed"),
	                   "delegations"), "roles"), i, d) {
		const char *role = json_string_value(json_object_get(d, "name"));

		if (rc != 0)
			break;
		if (role != NULL && tuf_role_name_ok(role) && strcmp(role, "targets") != 0)
			rc = pub_meta(p, role, 0);
	}
	json_decref(tg);
	return rc;
}

/* Ask what the server still needs and upload it, until nothing. */
static int pub_targets(struct pub *p)
{
	char what[] = "asking what the publication needs", url[128], local[PUB_PATH_BYTES],
	     path[TUF_MAX_NAME_BYTES + 16];
	json_t *ans = NULL, *t;
	const char *name;
	long long length;
	size_t i;
	int rc = 0, round;

	snprintf(url, sizeof(url), "/api/v1/repo/publications/%s", p->id);
	for (round = 0; round < PUB_ROUNDS_MAX && rc == 0; round++) {
		if ((rc = api_call(p->a, what, "GET", url, NULL, &ans)) != 0)
			return rc;
		if (!json_is_array(json_object_get(ans, "need"))) {
			api_bad_answer(p->cli, what, "need");
			json_decref(ans);
			return TE_ERR_PROTOCOL;
		}
		if (json_array_size(json_object_get(ans, "need")) == 0) {
			json_decref(ans);
			return 0;
		}
		json_array_foreach(json_object_get(ans, "need"), i, t) {
			if (api_get_str(t, "name", &name) != 0 || !tuf_target_name_ok(name) ||
			    strlen(name) > TUF_MAX_TARGET_BYTES ||
			    api_get_int(t, "length", &length) != 0 || length < 0) {
				api_bad_answer(p->cli, what, "need");
				rc = TE_ERR_PROTOCOL;
				break;
			}
			snprintf(local, sizeof(local), "%s/targets/%s", p->dir, name);
			snprintf(path, sizeof(path), "targets/%s", name);
			if ((rc = pub_file(p, path, local, length)) != 0)
				break;
		}
		json_decref(ans);
		ans = NULL;
	}
	if (rc == 0) {
		cliout_error(p->cli, "incomplete", "the server still needs files after %d rounds",
		             PUB_ROUNDS_MAX);
		rc = TE_ERR_IO;
	}
	return rc;
}

/* Print the server's account of the check, line by line, made safe. */
static void pub_detail(FILE *out, const char *detail)
{
	char line[1024], safe[2048];
	const char *s = detail, *nl;

	while (s != NULL && *s != '\0') {
		nl = strchr(s, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(nl != NULL ? nl - s : (long)strlen(s)), s);
		fprintf(out, "  %s\n", cliout_text(line, safe, sizeof(safe)));
		s = nl != NULL ? nl + 1 : NULL;
	}
}

/* Start the check and wait for its outcome. */
static int pub_finish(struct pub *p)
{
	char url[160], what[] = "publishing";
	const struct timespec tick = { 0, 300 * 1000 * 1000 };
	time_t deadline = time(NULL) + PUB_WAIT_MAX_S;
	json_t *ans = NULL;
	const char *state = NULL, *detail = "";
	int rc;

	snprintf(url, sizeof(url), "/api/v1/repo/publications/%s/publish", p->id);
	if ((rc = api_call(p->a, what, "POST", url, NULL, NULL)) != 0)
		return rc;
	snprintf(url, sizeof(url), "/api/v1/repo/publications/%s", p->id);
	while (time(NULL) < deadline) {
		nanosleep(&tick, NULL);
		if ((rc = api_call(p->a, "waiting for the server's check", "GET", url, NULL, &ans)) != 0)
			return rc;
		if (api_get_str(ans, "state", &state) != 0) {
			api_bad_answer(p->cli, what, "state");
			json_decref(ans);
			return TE_ERR_PROTOCOL;
		}
		if (strcmp(state, "importing") != 0)
			break;
		json_decref(ans);
		ans = NULL;
	}
	if (ans == NULL) {
		cliout_error(p->cli, "timeout", "the server did not finish checking publication %s "
		             "within %d s; see tether-server's log", p->id, PUB_WAIT_MAX_S);
		return TE_ERR_TIMEOUT;
	}
	if (json_is_string(json_object_get(ans, "detail")))
		detail = json_string_value(json_object_get(ans, "detail"));
	if (p->cli->json) {
		json_object_set_new(ans, "files", json_integer(p->files));
		json_object_set_new(ans, "bytes_sent", json_integer(p->sent));
		cliout_json(ans);
	}
	if (strcmp(state, "published") == 0) {
		if (!p->cli->json) {
			printf("published %s (%d files, %lld bytes sent):\n", p->id, p->files,
			       (long long)p->sent);
			pub_detail(stdout, detail);
		}
		fflush(stdout);
		fprintf(stderr, "tether: the server signs a new snapshot and timestamp within a "
		        "second; devices see the release then\n");
		rc = 0;
	} else {
		if (!p->cli->json) {
			fprintf(stderr, "tether repo publish: the server refused publication %s:\n",
			        p->id);
			pub_detail(stderr, detail);
		}
		rc = TE_ERR_DENIED;
	}
	json_decref(ans);
	return rc;
}

int repo_publish(const struct cli *cli, int argc, char **argv)
{
	struct pub p;
	const char *pos[1];
	json_t *ans = NULL;
	const char *id;
	long long chunk = 0;
	size_t npos;
	struct stat st;
	int rc;

	if (cliargs_parse("repo publish", argc, argv, NULL, 0, pos, 1, 1, &npos, NULL) != 0)
		return CLI_EXIT_USAGE;
	memset(&p, 0, sizeof(p));
	p.cli = cli;
	p.dir = pos[0];
	if (stat(p.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cliout_error(cli, "not_found", "%s is not a folder (the one tether repo init made)",
		             p.dir);
		return CLI_EXIT_FAIL;
	}
	if (api_open(cli, 0, &p.a) != 0)
		return CLI_EXIT_FAIL;
	if ((rc = api_call(p.a, "starting a publication", "POST", "/api/v1/repo/publications",
	                   NULL, &ans)) != 0)
		goto out;
	if (api_get_str(ans, "id", &id) != 0 || cliargs_check_name(id) != 0 ||
	    strlen(id) >= sizeof(p.id)) {
		api_bad_answer(cli, "starting a publication", "id");
		rc = TE_ERR_PROTOCOL;
		goto out;
	}
	snprintf(p.id, sizeof(p.id), "%s", id);
	p.chunk = api_get_int(ans, "chunk_bytes", &chunk) == 0 && chunk >= PUB_CHUNK_MIN &&
	          chunk <= PUB_CHUNK_MAX ? (size_t)chunk : PUB_CHUNK_MIN;
	if ((p.buf = malloc(p.chunk)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto out;
	}
	if ((rc = pub_metadata(&p)) == 0 && (rc = pub_targets(&p)) == 0)
		rc = pub_finish(&p);
out:
	json_decref(ans);
	free(p.buf);
	api_free(p.a);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
