/* test_cmdhelp.c: subcommands and their help read from a usage text
 * (src/lib/cmdhelp.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmdhelp.h"

static const char usage[] =
	"usage:\n"
	"  prog init DIR [--host NAME]\n"
	"  prog user add NAME --role ROLE\n"
	"                (continued: the role)\n"
	"  prog user disable|enable NAME --dir DIR\n"
	"  prog consent list | status | accept ID  --config FILE\n"
	"  prog site off SITE | site on SITE\n"
	"  prog policy default      (prints it)\n"
	"  prog --version\n"
	"\n"
	"prose after the blank line is not a command\n";

static char *list(void)
{
	static char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	assert_non_null(f);
	cmdhelp_list("prog", usage, f);
	fclose(f);
	return buf;
}

static void test_commands_read_from_usage(void **state)
{
	(void)state;
	assert_string_equal(list(),
	                    "init\nuser add\nuser disable\nuser enable\nconsent list\n"
	                    "consent status\nconsent accept\nsite off\nsite on\npolicy default\n");
}

static void test_asked(void **state)
{
	char *a[] = { "user", "add", "x", "--help" };
	char *b[] = { "ssh", "dev", "--", "-h" };
	char *c[] = { "user", "add", "-h" };

	(void)state;
	assert_int_equal(cmdhelp_asked(4, a), 1);
	assert_int_equal(cmdhelp_asked(4, b), 0);   /* after "--": the ssh's own */
	assert_int_equal(cmdhelp_asked(3, c), 1);
	assert_int_equal(cmdhelp_asked(2, c), 0);
}

/* The help printed for argv, captured from stdout. */
static int help(char **argv, int argc, char *out, size_t outsz)
{
	int fds[2], saved, rc;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	fflush(stdout);
	saved = dup(1);
	dup2(fds[1], 1);
	rc = cmdhelp_main("prog", usage, "prog(8)", argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, outsz - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	return rc;
}

static void test_help_for_a_command(void **state)
{
	char out[1024];
	char *a[] = { "user", "add", "alice", "--help" };
	char *b[] = { "help", "user" };
	char *c[] = { "run", "--dir", "x" };
	char *d[] = { "consent", "accept", "-h" };

	(void)state;
	assert_int_equal(help(a, 4, out, sizeof(out)), 0);
	assert_string_equal(out, "usage:\n  prog user add NAME --role ROLE\n"
	                    "                (continued: the role)\n\nSee man prog(8).\n");
	assert_int_equal(help(b, 2, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "prog user add"));
	assert_non_null(strstr(out, "prog user disable|enable"));
	assert_null(strstr(out, "init"));
	assert_int_equal(help(c, 3, out, sizeof(out)), -1);   /* no help asked */
	assert_int_equal(help(d, 3, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "prog consent list | status | accept ID"));
}

static void test_unknown_command(void **state)
{
	char out[1024];
	char *a[] = { "nosuch", "--help" };
	FILE *saved = stderr;

	(void)state;
	stderr = fopen("/dev/null", "w");
	assert_int_equal(help(a, 2, out, sizeof(out)), 2);
	fclose(stderr);
	stderr = saved;
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands_read_from_usage),
		cmocka_unit_test(test_asked),
		cmocka_unit_test(test_help_for_a_command),
		cmocka_unit_test(test_unknown_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
