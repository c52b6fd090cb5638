/* test_pdmatch.c: the one patient-data rule (src/agent/pdmatch.c): depth,
 * case, patterns written through links, hard links, the shell's cover list,
 * the bounds, and what a rename or remove may not move. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pdmatch.h"

static char base[PATH_MAX];

static const char *at(const char *rel)
{
	static char buf[4][2 * PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", base, rel);
	return buf[i];
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int tree_setup(void **state)
{
	char tmpl[] = "/tmp/tether-pdmatch-XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, base) == NULL)
		return -1;
	if (mkdir(at("real"), 0755) != 0 || mkdir(at("real/data"), 0755) != 0 ||
	    mkdir(at("real/data/sub"), 0755) != 0 || mkdir(at("real/data/patients"), 0755) != 0 ||
	    mkdir(at("real/data/empty"), 0755) != 0 || mkdir(at("files"), 0755) != 0 ||
	    symlink("real", at("link")) != 0 ||
	    symlink("data/patients", at("real/records")) != 0)
		return -1;
	return 0;
}

static int tree_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static struct pdmatch *compile1(const char *pat, int casefold)
{
	struct pdmatch *m = NULL;
	char why[PDMATCH_WHY_BYTES];

	assert_int_equal(pdmatch_new(&pat, 1, casefold, &m, why, sizeof(why)), 0);
	return m;
}

static void test_pattern_ok(void **state)
{
	char why[PDMATCH_WHY_BYTES];
	const char *bad = "data/*.dcm";
	struct pdmatch *m = NULL;

	(void)state;
	assert_int_equal(pdmatch_pattern_ok("/D/data/*.dcm", why, sizeof(why)), 0);
	assert_int_equal(pdmatch_pattern_ok("/D/data/patients/", why, sizeof(why)), 0);
	assert_int_equal(pdmatch_pattern_ok("data/*.dcm", why, sizeof(why)), TE_ERR_INVALID);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(pdmatch_pattern_ok("/D/../etc", why, sizeof(why)), TE_ERR_INVALID);
	assert_int_equal(pdmatch_pattern_ok("/D/./x", why, sizeof(why)), TE_ERR_INVALID);
	assert_int_equal(pdmatch_pattern_ok("//", why, sizeof(why)), TE_ERR_INVALID);
	assert_int_equal(pdmatch_new(&bad, 1, 0, &m, why, sizeof(why)), TE_ERR_INVALID);
	assert_null(m);
	assert_non_null(strstr(why, "data/*.dcm"));
}

/* One depth rule: "*" crosses "/", and a match covers what is below it. */
static void test_depth_rule(void **state)
{
	struct pdmatch *m = compile1("/D/data/*.dcm", 0);
	struct pdmatch *d = compile1("/D/data/patients/", 0);

	(void)state;
	assert_true(pdmatch_refused(m, "/D/data/x.dcm"));
	assert_true(pdmatch_refused(m, "/D/data/sub/deep.dcm"));
	assert_true(pdmatch_refused(m, "/D/data/a/b/c/d.dcm"));
	assert_true(pdmatch_refused(m, "/D/data/dir.dcm/inside.txt"));
	assert_false(pdmatch_refused(m, "/D/data/x.txt"));
	assert_false(pdmatch_refused(m, "/D/data"));
	assert_false(pdmatch_refused(m, "/D/other/x.dcm"));
	assert_false(pdmatch_refused(m, "/D/database/x.dcm"));
	assert_true(pdmatch_refused(d, "/D/data/patients"));
	assert_true(pdmatch_refused(d, "/D/data/patients/a/b.txt"));
	assert_false(pdmatch_refused(d, "/D/data/patients2/a"));
	assert_false(pdmatch_refused(d, "/D/data"));
	pdmatch_free(m);
	pdmatch_free(d);
	pdmatch_free(NULL);
}

/* Case folds in the pattern's wildcard part only; the prefix is a real
 * directory and compared as it is. */
static void test_case(void **state)
{
	struct pdmatch *cs = compile1("/D/data/*.dcm", 0);
	struct pdmatch *ci = compile1("/D/data/*.dcm", 1);
	struct pdmatch *lit = compile1("/D/data/patients", 1);

	(void)state;
	assert_false(pdmatch_refused(cs, "/D/data/X.DCM"));
	assert_true(pdmatch_refused(ci, "/D/data/X.DCM"));
	assert_true(pdmatch_refused(ci, "/D/data/sub/Y.Dcm"));
	assert_false(pdmatch_refused(ci, "/D/DATA/x.dcm"));
	assert_true(pdmatch_refused(lit, "/D/data/PATIENTS/p.txt"));
	pdmatch_free(cs);
	pdmatch_free(ci);
	pdmatch_free(lit);
}

/* An entry written through a link matches the real paths too. */
static void test_symlinked_entries(void **state)
{
	char pat[PATH_MAX];
	struct pdmatch *m;

	(void)state;
	snprintf(pat, sizeof(pat), "%s/*.dcm", at("link/data"));
	m = compile1(pat, 0);
	assert_true(pdmatch_refused(m, at("real/data/sub/a.dcm")));
	assert_true(pdmatch_refused(m, at("link/data/a.dcm")));
	pdmatch_free(m);
	m = compile1(at("link/data/patients"), 0);
	assert_true(pdmatch_refused(m, at("real/data/patients/p1.txt")));
	pdmatch_free(m);
	/* the entry's own last component is the link */
	m = compile1(at("real/records"), 0);
	assert_true(pdmatch_refused(m, at("real/data/patients/p1.txt")));
	assert_false(pdmatch_refused(m, at("real/data/other.txt")));
	pdmatch_free(m);
}

static int cover_has(const struct pdmatch_cover *c, size_t n, const char *path, int dir)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(c[i].path, path) == 0 && c[i].dir == dir)
			return 1;
	return 0;
}

/* The cover lists the top-most refused paths at any depth, and the other
 * names of refused files; SFTP refuses those names by device and inode. */
static void test_scan_cover_and_links(void **state)
{
	char why[PDMATCH_WHY_BYTES], pats[2][PATH_MAX], files[PATH_MAX];
	const char *p[2] = { pats[0], pats[1] }, *extra[1] = { files };
	struct pdmatch_cover *cov = NULL;
	struct pdmatch *m = NULL;
	struct stat st;
	size_t n = 0;

	(void)state;
	snprintf(files, sizeof(files), "%s", at("files"));
	put("real/data/top.dcm", "image");
	put("real/data/sub/deep.DCM", "image");
	put("real/data/sub/notes.txt", "notes");
	put("real/data/patients/p1.txt", "record");
	put("real/data/calib.txt", "calibration");
	assert_int_equal(link(at("real/data/patients/p1.txt"), at("files/allowed.txt")), 0);
	assert_int_equal(link(at("real/data/top.dcm"), at("real/data/sub/copy.bin")), 0);
	snprintf(pats[0], sizeof(pats[0]), "%s/*.dcm", at("real/data"));
	snprintf(pats[1], sizeof(pats[1]), "%s", at("real/data/patients"));
	assert_int_equal(pdmatch_new(p, 2, 1, &m, why, sizeof(why)), 0);
	assert_int_equal(pdmatch_scan(m, extra, 1, &cov, &n, why, sizeof(why)), 0);
	assert_true(cover_has(cov, n, at("real/data/top.dcm"), 0));
	assert_true(cover_has(cov, n, at("real/data/sub/deep.DCM"), 0));
	assert_true(cover_has(cov, n, at("real/data/patients"), 1));
	assert_true(cover_has(cov, n, at("files/allowed.txt"), 0));
	assert_true(cover_has(cov, n, at("real/data/sub/copy.bin"), 0));
	assert_false(cover_has(cov, n, at("real/data/patients/p1.txt"), 0));
	assert_false(cover_has(cov, n, at("real/data/calib.txt"), 0));
	assert_false(cover_has(cov, n, at("real/data/sub/notes.txt"), 0));
	assert_int_equal(n, 5);
	assert_int_equal(stat(at("files/allowed.txt"), &st), 0);
	assert_true(pdmatch_linked(m, &st));
	assert_int_equal(stat(at("real/data/calib.txt"), &st), 0);
	assert_false(pdmatch_linked(m, &st));
	pdmatch_cover_free(cov, n);
	pdmatch_free(m);
	unlink(at("files/allowed.txt"));
	unlink(at("real/data/sub/copy.bin"));
}

/* Past a bound the scan fails, and then every file with several links is
 * refused: a failed scan never lets a link through. */
static void test_depth_bound_fails_closed(void **state)
{
	char why[PDMATCH_WHY_BYTES], rel[PATH_MAX], pat[PATH_MAX];
	const char *p = pat;
	struct pdmatch_cover *cov = NULL;
	struct pdmatch *m = NULL;
	struct stat st;
	size_t n = 0;
	int i;

	(void)state;
	snprintf(rel, sizeof(rel), "deep");
	assert_int_equal(mkdir(at(rel), 0755), 0);
	for (i = 0; i <= PDMATCH_MAX_DEPTH; i++) {
		strcat(rel, "/d");
		assert_int_equal(mkdir(at(rel), 0755), 0);
	}
	put("deep/f.txt", "x");
	assert_int_equal(link(at("deep/f.txt"), at("deep/g.txt")), 0);
	snprintf(pat, sizeof(pat), "%s/*.dcm", at("deep"));
	assert_int_equal(pdmatch_new(&p, 1, 0, &m, why, sizeof(why)), 0);
	assert_int_equal(pdmatch_scan(m, NULL, 0, &cov, &n, why, sizeof(why)),
	                 TE_ERR_TOO_LONG);
	assert_null(cov);
	assert_non_null(strstr(why, "levels deep"));
	assert_int_equal(stat(at("deep/g.txt"), &st), 0);
	assert_true(pdmatch_linked(m, &st));
	pdmatch_free(m);
}

/* Renaming or removing a directory above refused paths would move the data
 * out from under its pattern. */
static void test_holds(void **state)
{
	char pat[PATH_MAX];
	struct pdmatch *m;

	(void)state;
	assert_int_equal(mkdir(at("site"), 0755), 0);
	assert_int_equal(mkdir(at("site/studies"), 0755), 0);
	put("site/studies/p.txt", "study");
	m = compile1(at("site/studies/p.txt"), 0);
	assert_true(pdmatch_holds(m, at("site")));
	assert_true(pdmatch_holds(m, at("site/studies")));
	assert_false(pdmatch_holds(m, at("real")));
	pdmatch_free(m);

	snprintf(pat, sizeof(pat), "%s/series/*", at("real/data"));
	m = compile1(pat, 0);
	assert_true(pdmatch_holds(m, at("real/data/series")));   /* even before it exists */
	assert_true(pdmatch_holds(m, at("real")));
	assert_false(pdmatch_holds(m, at("real/data/sub")));
	pdmatch_free(m);

	put("real/data/sub/deep.dcm", "image");
	snprintf(pat, sizeof(pat), "%s/*.dcm", at("real/data"));
	m = compile1(pat, 0);
	assert_true(pdmatch_holds(m, at("real/data/sub")));     /* holds deep.dcm */
	assert_false(pdmatch_holds(m, at("real/data/empty")));
	assert_false(pdmatch_holds(m, at("real/data/calib.txt")));
	pdmatch_free(m);
	assert_false(pdmatch_holds(NULL, at("real")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_ok),
		cmocka_unit_test(test_depth_rule),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_symlinked_entries),
		cmocka_unit_test(test_scan_cover_and_links),
		cmocka_unit_test(test_depth_bound_fails_closed),
		cmocka_unit_test(test_holds),
	};

	return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}
