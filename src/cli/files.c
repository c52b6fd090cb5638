/* files.c: `tether files list DEVICE` and `tether files get ID -o PATH`:
 * the data files collected from devices (docs/fleet.md). A file is fetched
 * chunk by chunk into PATH.part, checked against the SHA-256 the device
 * sent, and only then renamed to PATH; on a terminal a progress bar on
 * stderr shows how far it is. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "cliout.h"
#include "codec.h"
#include "err.h"
#include "filerepl.h"
#include "text.h"

#define FILES_MAX_CHUNKS (1 << 20)   /* a bound on the loop, far past any file */

static const char files_usage[] =
	"usage: tether files list DEVICE        the data files collected from DEVICE\n"
	"       tether files get ID -o PATH     fetch one into PATH (checked by SHA-256;\n"
	"                                       also --output PATH)\n"
	"--json (before the command) prints the list as JSON. Needs files:collect.\n";

static void files_cells(const json_t *f, char cells[][CLIOUT_CELL_BYTES])
{
	const char *v;
	long long n;

	snprintf(cells[0], CLIOUT_CELL_BYTES, "%lld",
	         (long long)json_integer_value(json_object_get(f, "id")));
	snprintf(cells[1], CLIOUT_CELL_BYTES, "%s",
	         api_get_str(f, "collection", &v) == 0 ? v : "-");
	cliout_time((time_t)json_integer_value(json_object_get(f, "collected_at")), cells[2],
	            CLIOUT_CELL_BYTES);
	if (api_get_str(f, "refused", &v) == 0) {
		snprintf(cells[3], CLIOUT_CELL_BYTES, "refused");
		snprintf(cells[4], CLIOUT_CELL_BYTES, "-");
	} else {
		snprintf(cells[3], CLIOUT_CELL_BYTES, "%lld",
		         api_get_int(f, "size", &n) == 0 ? n : -1LL);
		snprintf(cells[4], CLIOUT_CELL_BYTES, "%.12s",
		         api_get_str(f, "sha256", &v) == 0 ? v : "-");
	}
	snprintf(cells[5], CLIOUT_CELL_BYTES, "%s", api_get_str(f, "path", &v) == 0 ? v : "-");
}

static int files_list(const struct cli *cli, const char *serial)
{
	static const char *const head[] = { "ID", "COLLECTION", "COLLECTED", "SIZE", "SHA256",
	                                    "PATH" };
	char path[128 + MAX_NAME_BYTES], shown[TEXT_ESCAPED_BYTES(MAX_REASON_BYTES)];
	json_t *resp = NULL, *list, *f;
	struct api *a = NULL;
	const char *p, *why;
	size_t i;
	int rc = CLI_EXIT_FAIL;

	if (cliargs_check_name(serial) != 0) {
		cliout_usage("files list: '%s' is not a device serial", serial);
		return CLI_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/api/v1/devices/%s/files", serial);
	if (api_open(cli, 0, &a) != 0 ||
	    api_call(a, "listing the device's files", "GET", path, NULL, &resp) != 0)
		goto out;
	list = json_object_get(resp, "files");
	if (!json_is_array(list)) {
		api_bad_answer(cli, "listing the device's files", "files");
		goto out;
	}
	rc = CLI_EXIT_OK;
	if (cli->json) {
		cliout_json(resp);
		goto out;
	}
	if (json_array_size(list) == 0) {
		printf("no files from %s yet\n", serial);
		goto out;
	}
	cliout_table(list, head, 6, files_cells);
	json_array_foreach(list, i, f)
		if (api_get_str(f, "refused", &why) == 0 && api_get_str(f, "path", &p) == 0) {
			printf("refused on the device: %s: ", cliout_text(p, shown, sizeof(shown)));
			printf("%s\n", cliout_text(why, shown, sizeof(shown)));
		}
out:
	json_decref(resp);
	api_free(a);
	return rc;
}

static void files_progress(long long got, long long size, int done)
{
	int width = 30, fill = size > 0 ? (int)(got * width / size) : width;

	fprintf(stderr, "\r[%-*.*s] %3d%%  %lld / %lld bytes%s", width, fill,
	        "##############################", size > 0 ? (int)(got * 100 / size) : 100,
	        got, size, done ? "\n" : "");
}

static int files_get(const struct cli *cli, const char *id, const char *out)
{
	char path[64], part[4096], sha[EVP_MAX_MD_SIZE * 2 + 1];
	unsigned char md[EVP_MAX_MD_SIZE], *buf = NULL;
	unsigned int mdlen = 0;
	long long size, off, got = 0;
	const char *want, *data;
	json_t *resp = NULL, *body;
	struct api *a = NULL;
	EVP_MD_CTX *ctx = NULL;
	int fd = -1, rc = CLI_EXIT_FAIL, bar = isatty(STDERR_FILENO) && !cli->json;
	size_t n;

	if (strspn(id, "0123456789") != strlen(id) || id[0] == '\0' || strlen(id) > 18) {
		cliout_usage("files get: '%s' is not a file id (the ID column of files list)", id);
		return CLI_EXIT_USAGE;
	}
	if (snprintf(part, sizeof(part), "%s.part", out) >= (int)sizeof(part)) {
		cliout_usage("files get: -o PATH is too long");
		return CLI_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/api/v1/files/%s/read", id);
	if ((buf = malloc(256 * 1024)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || api_open(cli, 0, &a) != 0)
		goto out;
	if ((fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		cliout_error(cli, "io", "cannot write %s: %s", part, strerror(errno));
		goto out;
	}
	for (int i = 0; i < FILES_MAX_CHUNKS; i++) {
		body = json_pack("{s:I}", "offset", (json_int_t)got);
		rc = api_call(a, "fetching the file", "POST", path, body, &resp);
		json_decref(body);
		if (rc != 0) {
			rc = CLI_EXIT_FAIL;
			goto out;
		}
		rc = CLI_EXIT_FAIL;
		data = json_string_value(json_object_get(resp, "data"));
		if (api_get_int(resp, "size", &size) != 0 || api_get_int(resp, "offset", &off) != 0 ||
		    off != got || data == NULL || size < 0 ||
		    b64url_decode(data, strlen(data), buf, 256 * 1024, &n) != 0 ||
		    (long long)n > size - got || (n == 0 && got < size)) {
			api_bad_answer(cli, "fetching the file", "data");
			goto out;
		}
		if (n > 0 && fd_write_all(fd, buf, n) != 0) {
			cliout_error(cli, "io", "cannot write %s: %s", part, strerror(errno));
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, n);
		got += (long long)n;
		if (bar)
			files_progress(got, size, got >= size);
		if (got >= size)
			break;
		json_decref(resp);
		resp = NULL;
	}
	if (api_get_str(resp, "sha256", &want) != 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    hex_encode(md, mdlen, sha, sizeof(sha)) != 0 || strcmp(sha, want) != 0) {
		cliout_error(cli, "file_mismatch", "file %s does not match the SHA-256 the device "
		             "sent; %s removed", id, part);
		unlink(part);
		goto out;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(part, out) != 0) {
		fd = -1;
		cliout_error(cli, "io", "cannot keep %s: %s", out, strerror(errno));
		goto out;
	}
	fd = -1;
	rc = CLI_EXIT_OK;
	if (cli->json)
		cliout_json_new(json_pack("{s:s, s:s, s:I, s:s}", "id", id, "path", out, "size",
		                          (json_int_t)got, "sha256", sha));
	else
		printf("%s: %lld bytes, SHA-256 %s (as the device sent it)\n", out, got, sha);
out:
	if (fd >= 0) {
		close(fd);
		unlink(part);
	}
	EVP_MD_CTX_free(ctx);
	json_decref(resp);
	free(buf);
	api_free(a);
	return rc;
}

int files_main(const struct cli *cli, int argc, char **argv)
{
	const char *pos[1], *out = NULL;
	const struct cliargs_opt opts[] = { { "--output", &out, NULL, 0, NULL } };
	char *args[16];
	size_t npos;
	int n;

	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
		fputs(files_usage, argc < 1 ? stderr : stdout);
		return argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[0], "list") == 0) {
		if (cliargs_parse("files list", argc - 1, argv + 1, NULL, 0, pos, 1, 1, &npos,
		                  NULL) != 0)
			return CLI_EXIT_USAGE;
		return files_list(cli, pos[0]);
	}
	if (strcmp(argv[0], "get") == 0) {
		/* -o PATH is --output PATH. */
		if (argc - 1 > (int)(sizeof(args) / sizeof(args[0]))) {
			cliout_usage("files get: too many arguments");
			return CLI_EXIT_USAGE;
		}
		for (n = 0; n < argc - 1; n++)
			args[n] = strcmp(argv[n + 1], "-o") == 0 ? "--output" : argv[n + 1];
		if (cliargs_parse("files get", n, args, opts, 1, pos, 1, 1, &npos, NULL) != 0)
			return CLI_EXIT_USAGE;
		if (out == NULL) {
			cliout_usage("files get: say where with -o PATH");
			return CLI_EXIT_USAGE;
		}
		return files_get(cli, pos[0], out);
	}
	cliout_usage("files: say list or get");
	return CLI_EXIT_USAGE;
}
