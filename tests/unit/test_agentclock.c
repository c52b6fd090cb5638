/* test_agentclock.c: the offset is kept across restarts, and a ticket
 * refused for its window says which clock and how far. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agentclock.h"
#include "agentconf.h"
#include "clockoff.h"
#include "tls.h"

static struct agent_conf *conf_in(const char *dir)
{
	char text[256], err[128];
	struct agent_conf *c = NULL;

	snprintf(text, sizeof(text), "state_dir = %s\n", dir);
	assert_int_equal(agentconf_parse(text, strlen(text), "t", "/", &c, err, sizeof(err)), 0);
	return c;
}

static void test_offset_is_kept_across_a_restart(void **state)
{
	char dir[] = "/tmp/test_agentclock.XXXXXX", path[512];
	struct agent_conf *c;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	c = conf_in(dir);
	clockoff_clear();
	agentclock_start(c);                 /* nothing kept yet */
	assert_int_equal(clockoff_known(), 0);
	agentclock_learned(c, 172800250);
	assert_int_equal(clockoff_offset_s(), 172800);
	clockoff_clear();
	agentclock_start(c);                 /* "restart" */
	assert_int_equal(clockoff_known(), 1);
	assert_int_equal(clockoff_offset_s(), 172800);
	/* A file that is not ours is ignored, not trusted. */
	snprintf(path, sizeof(path), "%s/clock.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"offset_ms\": \"soon\"}", f);
	fclose(f);
	clockoff_clear();
	agentclock_start(c);
	assert_int_equal(clockoff_known(), 0);
	unlink(path);
	rmdir(dir);
	tls_set_clock(NULL);
	agentconf_free(c);
}

static void test_ticket_why_names_the_skew(void **state)
{
	char why[256];

	(void)state;
	clockoff_clear();
	/* No offset yet, device clock 10 s behind the ticket's issue time. */
	agentclock_ticket_why(1000, 1060, 5, 990, why, sizeof(why));
	assert_non_null(strstr(why, "ticket rejected: expired (not valid for another 10 s by this device's clock: a clock skew"));
	assert_non_null(strstr(why, "no offset from the server's clock learned yet"));
	/* No offset yet, device clock an hour ahead. */
	agentclock_ticket_why(1000, 1060, 5, 4660, why, sizeof(why));
	assert_non_null(strstr(why, "1 h 0 min ago by this device's clock"));
	assert_non_null(strstr(why, "a clock 1 h 0 min ahead of the server's would explain it"));
	/* With an offset, a late ticket is late by the server's clock. */
	assert_int_equal(clockoff_set_ms(3600000), 0);
	agentclock_ticket_why(1000, 1060, 5, 1075, why, sizeof(why));
	assert_non_null(strstr(why, "15 s ago by the server's clock"));
	assert_non_null(strstr(why, "1 h 0 min behind it, corrected"));
	clockoff_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_is_kept_across_a_restart),
		cmocka_unit_test(test_ticket_why_names_the_skew),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
