/* fuzz_sftp.c: the SFTP engine fed arbitrary client bytes over a small
 * directory tree that is rebuilt for every input, so runs are deterministic.
 * The first byte picks the grants (bit 0 write, bit 1 patient records) and
 * the chunk size the rest is fed in; everything after it is the client's
 * byte stream. */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bounds.h"
#include "sftpd.h"

static char base[256], top[320], root[384], logs[384], patients[384], dicom[400];

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if ((f = fopen(p, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void tree_reset(void)
{
	char p[512], t[512];

	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(top, 0755);
	mkdir(root, 0755);
	mkdir(logs, 0755);
	mkdir(patients, 0755);
	snprintf(p, sizeof(p), "%s/root/sub", top);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/outside", top);
	mkdir(p, 0755);
	put("root/hello.txt", "hello world\n");
	put("root/sub/a.log", "a log line\n");
	put("root/patients/p1.txt", "patient one\n");
	put("root/img.dcm", "DICM");
	put("logs/ok.txt", "ok\n");
	put("outside/secret.txt", "secret\n");
	snprintf(p, sizeof(p), "%s/root/link_out", top);
	snprintf(t, sizeof(t), "%s/outside/secret.txt", top);
	if (symlink(t, p) != 0)
		abort();
	snprintf(p, sizeof(p), "%s/root/link_in", top);
	if (symlink("hello.txt", p) != 0)
		abort();
}

/* Every audit detail must serialize: paths are cleaned to UTF-8. */
static void on_audit(void *arg, const char *action, json_t *detail)
{
	char *text = json_dumps(detail, 0);

	if (text == NULL || json_object_get(detail, "path") == NULL)
		__builtin_trap();
	free(text);
	json_decref(detail);
}

static void tree_remove(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/tmp/fuzz_sftp.XXXXXX";

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, base) == NULL)
		abort();
	atexit(tree_remove);
	snprintf(top, sizeof(top), "%s/t", base);
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(logs, sizeof(logs), "%s/logs", top);
	snprintf(patients, sizeof(patients), "%s/root/patients", top);
	/* Refusal entries are absolute (pdmatch.h); *.dcm at any depth under root. */
	snprintf(dicom, sizeof(dicom), "%s/*.dcm", root);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *roots[] = { root, logs };
	const char *names[] = { "root", "logs" };
	const char *refuse[] = { patients, dicom };
	struct sftpd_policy pol = { roots, 2, NULL, refuse, 2, 0, 0, 0 };
	struct sftpd *s = NULL;
	const void *out;
	size_t chunk, off, n, queued;

	if (size < 1)
		return 0;
	pol.write_ok = data[0] & 1;
	pol.patient_ok = (data[0] >> 1) & 1;
	pol.names = (data[0] >> 7) & 1 ? names : NULL;   /* the named areas' "/" */
	chunk = (size_t)(data[0] >> 2) * 61 + 1;
	tree_reset();
	if (sftpd_new(&pol, on_audit, NULL, &s) != 0)
		__builtin_trap();
	for (off = 1; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (sftpd_input(s, data + off, n) != 0)
			break;
		/* the client takes half of what is queued each turn */
		while ((queued = sftpd_output(s, &out)) > 0) {
			if (queued > MAX_SFTP_OUTPUT_BYTES + MAX_SFTP_PACKET_BYTES)
				__builtin_trap();
			sftpd_consume(s, queued > 1 ? queued / 2 : 1);
		}
	}
	sftpd_free(s);
	return 0;
}
