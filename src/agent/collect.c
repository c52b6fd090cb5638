/* collect.c: `tether-agent collect-read`, a collection's reader. The
 * monitor starts it as the support user for one configured collect.NAME,
 * with argv PATTERN MAX_FILE MAX_TOTAL CASEFOLD PATIENT_DATA...; it writes
 * collectmsg frames on stdout (collectmsg.h) and nothing else. Every file
 * is checked against the patient-data rule before it is opened, and a
 * refused one is named with why, never read. */
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collectmsg.h"
#include "err.h"
#include "filerepl.h"
#include "pdmatch.h"
#include "text.h"

static uint8_t collect_frame[COLLECTMSG_HEAD + COLLECTMSG_DATA_MAX + 16];

static int collect_send(int type, int64_t mtime, const char *path, const char *why,
                        const void *data, size_t len)
{
	int n = collectmsg_encode(type, mtime, path, why, data, len, collect_frame,
	                          sizeof(collect_frame));

	if (n < 0)
		return n;
	return fd_write_all(STDOUT_FILENO, collect_frame, (size_t)n);
}

static int collect_refuse(const char *path, const char *why)
{
	char shown[TEXT_ESCAPED_BYTES(COLLECTMSG_PATH_MAX)];

	/* A name that is not displayable text is sent escaped (shown only). */
	text_escape_display(path, shown, sizeof(shown));
	if (strlen(shown) >= COLLECTMSG_PATH_MAX)
		shown[COLLECTMSG_PATH_MAX - 1] = '\0';
	return collect_send(COLLECTMSG_REFUSED, 0, shown, why, NULL, 0);
}

/* Stream one open file; *sent counts its bytes. */
static int collect_stream(int fd, const char *path, const struct stat *st, long long max_file,
                          long long *sent)
{
	static uint8_t buf[COLLECTMSG_DATA_MAX];
	ssize_t n;
	int rc;

	*sent = 0;
	if ((rc = collect_send(COLLECTMSG_FILE, (int64_t)st->st_mtime, path, NULL, NULL, 0)) != 0)
		return rc;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return collect_send(COLLECTMSG_ABORT, 0, NULL, "read error", NULL, 0);
		if (n == 0)
			break;
		if (*sent + n > max_file)
			return collect_send(COLLECTMSG_ABORT, 0, NULL, "grew past max_file while read",
			                    NULL, 0);
		if ((rc = collect_send(COLLECTMSG_DATA, 0, NULL, NULL, buf, (size_t)n)) != 0)
			return rc;
		*sent += n;
	}
	return collect_send(COLLECTMSG_END_FILE, 0, NULL, NULL, NULL, 0);
}

/* One path the pattern matched. Returns a write error only (the reader
 * stops); what is refused is said in a frame and the walk goes on. */
static int collect_one(const struct pdmatch *m, const char *match, long long max_file,
                       long long max_total, long long *total)
{
	char real[PATH_MAX], why[COLLECTMSG_WHY_MAX];
	struct stat ls, st;
	long long sent;
	int fd, rc;

	if (lstat(match, &ls) != 0)
		return 0;                        /* gone since the glob */
	if (S_ISLNK(ls.st_mode))
		return collect_refuse(match, "a symbolic link (not followed)");
	if (!S_ISREG(ls.st_mode))
		return 0;                        /* folders and devices are not collected */
	if (realpath(match, real) == NULL)
		return collect_refuse(match, "cannot resolve its path");
	if (pdmatch_refused(m, real) || pdmatch_linked(m, &ls))
		return collect_refuse(real, "patient data (patient_data.*): never leaves the device");
	if (text_check_display(real, COLLECTMSG_PATH_MAX, NULL) != 0)
		return collect_refuse(real, "its name is not displayable text");
	if (ls.st_size > max_file) {
		snprintf(why, sizeof(why), "larger than max_file (%lld bytes)", (long long)ls.st_size);
		return collect_refuse(real, why);
	}
	if (*total + ls.st_size > max_total)
		return collect_refuse(real, "over the collection's max_total");
	if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		snprintf(why, sizeof(why), "cannot open it: %s", strerror(errno));
		return collect_refuse(real, why);
	}
	/* The file opened is the one checked, not one swapped in since. */
	if (fstat(fd, &st) != 0 || st.st_dev != ls.st_dev || st.st_ino != ls.st_ino ||
	    !S_ISREG(st.st_mode)) {
		close(fd);
		return collect_refuse(real, "it changed while it was checked");
	}
	rc = collect_stream(fd, real, &st, max_file < max_total - *total ? max_file
	                                                                 : max_total - *total,
	                    &sent);
	close(fd);
	*total += sent;
	return rc;
}

int collect_read_main(int argc, char **argv)
{
	struct pdmatch *m = NULL;
	char why[PDMATCH_WHY_BYTES];
	long long max_file, max_total, total = 0;
	glob_t g;
	size_t i;
	int rc = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: tether-agent collect-read PATTERN MAX_FILE MAX_TOTAL CASE "
		        "[PATIENT_DATA...] (started by the agent's monitor)\n");
		return 2;
	}
	max_file = atoll(argv[2]);
	max_total = atoll(argv[3]);
	if (argv[1][0] != '/' || max_file <= 0 || max_total <= 0 ||
	    pdmatch_new((const char *const *)argv + 5, (size_t)(argc - 5), atoi(argv[4]) != 0, &m,
	                why, sizeof(why)) != 0)
		return 2;
	/* Other names of refused files: a failed scan refuses every file with
	 * more than one link (pdmatch_linked), so it fails closed. */
	(void)pdmatch_scan(m, NULL, 0, NULL, NULL, why, sizeof(why));
	memset(&g, 0, sizeof(g));
	if (glob(argv[1], 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc && rc == 0; i++) {
			if (i >= COLLECT_MAX_FILES) {
				rc = collect_refuse(g.gl_pathv[i], "more than 1000 files matched: the "
				                    "rest is left out");
				break;
			}
			rc = collect_one(m, g.gl_pathv[i], max_file, max_total, &total);
		}
	}
	globfree(&g);
	pdmatch_free(m);
	if (rc == 0)
		rc = collect_send(COLLECTMSG_END, 0, NULL, NULL, NULL, 0);
	return rc == 0 ? 0 : 1;
}
