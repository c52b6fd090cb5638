/* test_mwindow.c: a site's maintenance windows (lib mwindow.c): the spec's
 * parser and its refusals, the canonical text, time zone names, and open or
 * closed at chosen instants in UTC, Europe/Berlin (across the DST change of
 * 2026-03-29) and America/New_York, windows across midnight, the next
 * opening. Zone cases skip, saying so, when tzdata is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "mwindow.h"

#define MON 0x01u
#define TUE 0x02u
#define WED 0x04u
#define THU 0x08u
#define FRI 0x10u
#define SAT 0x20u
#define SUN 0x40u

/* Unix time of a UTC calendar time (days from 1970-01-01, proleptic
 * Gregorian), so that every instant below reads as a date. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	int64_t era, yoe, doy, doe;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return ((era * 146097 + doe - 719468) * 24 + h) * 3600 + (int64_t)mi * 60;
}

static void need_zones(void)
{
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0 ||
	    access("/usr/share/zoneinfo/America/New_York", R_OK) != 0) {
		print_message("SKIP: /usr/share/zoneinfo/Europe/Berlin or America/New_York "
		              "missing (install tzdata: scripts/deps)\n");
		skip();
	}
}

static struct mwindow parsed(const char *text)
{
	struct mwindow w;
	char why[160] = "";

	if (mwindow_parse(text, &w, why, sizeof(why)) != 0)
		fail_msg("\"%s\" refused: %s", text, why);
	return w;
}

static void test_utc_helper(void **state)
{
	(void)state;
	assert_int_equal(utc(1970, 1, 1, 0, 0), 0);
	assert_int_equal(utc(2026, 3, 2, 0, 0), 1772409600);   /* a Monday */
	assert_int_equal(utc(2026, 3, 29, 1, 0), 1774746000);
}

static void test_parse_good(void **state)
{
	struct mwindow w;
	char why[160];

	(void)state;
	w = parsed("mon-fri 02:00-04:00, sat+sun 00:00-24:00, daily 22:00-02:00");
	assert_int_equal(w.n, 3);
	assert_int_equal(w.e[0].days, MON | TUE | WED | THU | FRI);
	assert_int_equal(w.e[0].start_min, 120);
	assert_int_equal(w.e[0].end_min, 240);
	assert_int_equal(w.e[1].days, SAT | SUN);
	assert_int_equal(w.e[1].start_min, 0);
	assert_int_equal(w.e[1].end_min, 1440);
	assert_int_equal(w.e[2].days, 0x7f);
	assert_int_equal(w.e[2].start_min, 22 * 60);
	assert_int_equal(w.e[2].end_min, 120);

	w = parsed(" \tMON - Fri\t02:00 - 04:00 ,SAT + sun 00:00-24:00 \t");
	assert_int_equal(w.n, 2);
	assert_int_equal(w.e[0].days, MON | TUE | WED | THU | FRI);
	assert_int_equal(w.e[1].days, SAT | SUN);

	w = parsed("fri-mon 23:30-00:30");           /* a range wraps over Sunday */
	assert_int_equal(w.e[0].days, FRI | SAT | SUN | MON);
	w = parsed("mon-wed+fri 01:00-02:00");
	assert_int_equal(w.e[0].days, MON | TUE | WED | FRI);
	w = parsed("tue-tue 01:00-02:00");
	assert_int_equal(w.e[0].days, TUE);
	w = parsed("sun+sun 01:00-02:00");
	assert_int_equal(w.e[0].days, SUN);
	w = parsed("Daily 10:00-24:00");
	assert_int_equal(w.e[0].days, 0x7f);
	w = parsed("mon02:00-04:00");
	assert_int_equal(w.e[0].start_min, 120);
	w = parsed("mon 02:00-00:00");               /* ends at midnight */
	assert_int_equal(w.e[0].end_min, 0);

	assert_int_equal(mwindow_parse("", &w, why, sizeof(why)), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(mwindow_parse(" \t  ", &w, why, sizeof(why)), 0);
	assert_int_equal(w.n, 0);
	/* why may be left out */
	assert_int_equal(mwindow_parse("sat 01:00-02:00", &w, NULL, 0), 0);
	assert_int_equal(mwindow_parse("sat 01:00", &w, NULL, 0), TE_ERR_INVALID);
}

static void assert_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			fail_msg("why holds byte 0x%02x", (unsigned char)*s);
}

static void test_parse_refusals(void **state)
{
	static const struct { const char *text; int rc; const char *why; } bad[] = {
		{ "mon 25:00-26:00", TE_ERR_INVALID, "entry 1: no such time (00:00..24:00) \"25:00\"" },
		{ "mon 02:60-03:00", TE_ERR_INVALID, "no such time" },
		{ "mon 02:00-24:01", TE_ERR_INVALID, "no such time" },
		{ "mon 24:00-02:00", TE_ERR_INVALID, "24:00 can only end a window" },
		{ "mon", TE_ERR_INVALID, "entry 1: missing the time" },
		{ "mon 01:00-02:00, tue", TE_ERR_INVALID, "entry 2: missing the time" },
		{ "mon 02:00", TE_ERR_INVALID, "missing the end time" },
		{ "mon 02:00-", TE_ERR_INVALID, "missing the end time" },
		{ "mon 02:00 04:00", TE_ERR_INVALID, "expected '-'" },
		{ "mon 2:00-04:00", TE_ERR_INVALID, "expected the start time as HH:MM" },
		{ "mon 02:00-4:00", TE_ERR_INVALID, "expected the end time as HH:MM" },
		{ "mon 02:000-04:00", TE_ERR_INVALID, "expected the start time" },
		{ "mox 02:00-03:00", TE_ERR_INVALID, "entry 1: unknown day (mon..sun or daily) \"mox\"" },
		{ "monday 02:00-03:00", TE_ERR_INVALID, "unknown day" },
		{ "02:00-03:00", TE_ERR_INVALID, "expected a day" },
		{ "mon 02:00-02:00", TE_ERR_INVALID, "start and end are the same time" },
		{ "mon 00:00-00:00", TE_ERR_INVALID, "same time" },
		{ "mon 02:00-03:00,", TE_ERR_INVALID, "entry 2: is empty" },
		{ ",mon 02:00-03:00", TE_ERR_INVALID, "entry 1: is empty" },
		{ "mon 02:00-03:00,, tue 01:00-02:00", TE_ERR_INVALID, "entry 2: is empty" },
		{ "mon 02:00-03:00 tue", TE_ERR_INVALID, "unexpected text after the times \"tue\"" },
		{ "mon+ 02:00-03:00", TE_ERR_INVALID, "expected a day" },
		{ "mon- 02:00-03:00", TE_ERR_INVALID, "expected a day after '-'" },
		{ "mon,tue 02:00-03:00", TE_ERR_INVALID, "entry 1: missing the time" },
		{ "daily+mon 02:00-03:00", TE_ERR_INVALID, "expected the start time" },
		{ "mon 02:00-03:00\x1b[31m", TE_ERR_INVALID, "a control character (0x1B) at byte 16" },
		{ "mon\n02:00-03:00", TE_ERR_INVALID, "a control character (0x0A) at byte 4" },
		{ "mon 02:00-03:00\r", TE_ERR_INVALID, "a control character (0x0D)" },
		{ "mon 02:00-03:00\x7f", TE_ERR_INVALID, "a control character (0x7F)" },
		{ "m\xc3\xb6n 02:00-03:00", TE_ERR_INVALID, "a byte outside ASCII (0xC3) at byte 2" },
		{ "mon 02:00-03:00\xc2\x9b" "31m", TE_ERR_INVALID, "a byte outside ASCII (0xC2)" },
	};
	struct mwindow w;
	char why[160], big[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&w, 0xa5, sizeof(w));
		why[0] = '\0';
		if (mwindow_parse(bad[i].text, &w, why, sizeof(why)) != bad[i].rc ||
		    strstr(why, bad[i].why) == NULL)
			fail_msg("case %zu: why \"%s\", wanted \"%s\"", i, why, bad[i].why);
		assert_int_equal(w.n, 0);
		assert_printable(why);
	}

	/* Longer than the bound, as text: refused before reading any of it. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mwindow_parse(big, &w, why, sizeof(why)), TE_ERR_TOO_LONG);
	assert_non_null(strstr(why, "longer than 255 bytes"));
	memset(big, ' ', MWINDOW_SPEC_BYTES - 1);   /* 255 blanks: fits */
	big[MWINDOW_SPEC_BYTES - 1] = '\0';
	assert_int_equal(mwindow_parse(big, &w, why, sizeof(why)), 0);
	big[MWINDOW_SPEC_BYTES - 1] = ' ';
	big[MWINDOW_SPEC_BYTES] = '\0';
	assert_int_equal(mwindow_parse(big, &w, why, sizeof(why)), TE_ERR_TOO_LONG);

	/* More than MWINDOW_MAX entries. */
	big[0] = '\0';
	for (int i = 0; i <= MWINDOW_MAX; i++)
		strcat(big, i == 0 ? "mon00:00-01:00" : ",mon00:00-01:00");
	assert_true(strlen(big) < MWINDOW_SPEC_BYTES);
	assert_int_equal(mwindow_parse(big, &w, why, sizeof(why)), TE_ERR_TOO_LONG);
	assert_non_null(strstr(why, "more than 16 entries"));

	/* 16 compact entries fit as text but not written out canonically. */
	big[0] = '\0';
	for (int i = 0; i < MWINDOW_MAX; i++)
		strcat(big, i == 0 ? "mon00:00-01:00" : ",mon00:00-01:00");
	assert_int_equal(mwindow_parse(big, &w, why, sizeof(why)), TE_ERR_TOO_LONG);
	assert_non_null(strstr(why, "written out"));
	assert_int_equal(w.n, 0);

	/* A short why buffer is cut, never overrun. */
	memset(why, 'Z', sizeof(why));
	assert_int_equal(mwindow_parse("mox 02:00-03:00", &w, why, 8), TE_ERR_INVALID);
	assert_string_equal(why, "entry 1");
	assert_int_equal(why[8], 'Z');
}

static void test_format(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "" },
		{ "mon-fri 02:00-04:00, sat+sun 00:00-24:00, daily 22:00-02:00",
		  "mon-fri 02:00-04:00, sat+sun 00:00-24:00, daily 22:00-02:00" },
		{ "SUN + sat 00:00-24:00", "sat+sun 00:00-24:00" },
		{ "sat-sun 01:00-02:00", "sat+sun 01:00-02:00" },
		{ "sun-mon 01:00-02:00", "sun+mon 01:00-02:00" },
		{ "fri+sat+sun+mon 01:00-02:00", "fri-mon 01:00-02:00" },
		{ "mon-sun 01:00-02:00", "daily 01:00-02:00" },
		{ "tue-mon 01:00-02:00", "daily 01:00-02:00" },
		{ "wed+mon+fri 03:00-04:00", "mon+wed+fri 03:00-04:00" },
		{ "mon-wed+fri 03:00-04:00", "mon+tue+wed+fri 03:00-04:00" },
		{ "sat-mon+wed 03:00-04:00", "mon+wed+sat+sun 03:00-04:00" },
		{ "  thu\t05:00-06:30 ", "thu 05:00-06:30" },
		{ "mon 23:59-00:00", "mon 23:59-00:00" },
	};
	struct mwindow w, again;
	char text[MWINDOW_SPEC_BYTES], text2[MWINDOW_SPEC_BYTES], why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		w = parsed(cases[i].in);
		assert_int_equal(mwindow_format(&w, text, sizeof(text)), 0);
		assert_string_equal(text, cases[i].out);
		again = parsed(text);
		assert_memory_equal(&w, &again, sizeof(w));
	}

	/* Every set of days reads back as itself. */
	for (unsigned days = 1; days <= 0x7f; days++) {
		memset(&w, 0, sizeof(w));
		w.n = 1;
		w.e[0] = (struct mwindow_entry){ days, 22 * 60, 1440 };
		assert_int_equal(mwindow_format(&w, text, sizeof(text)), 0);
		assert_int_equal(mwindow_parse(text, &again, why, sizeof(why)), 0);
		assert_memory_equal(&w, &again, sizeof(w));
		assert_int_equal(mwindow_format(&again, text2, sizeof(text2)), 0);
		assert_string_equal(text, text2);
	}

	/* Too small a buffer, and entries out of range. */
	w = parsed("mon-fri 02:00-04:00");
	assert_int_equal(mwindow_format(&w, text, 10), TE_ERR_TOO_LONG);
	assert_string_equal(text, "");
	assert_int_equal(mwindow_format(&w, text, 20), 0);       /* 19 bytes + NUL */
	w.e[0].days = 0;
	assert_int_equal(mwindow_format(&w, text, sizeof(text)), TE_ERR_INVALID);
	w.e[0] = (struct mwindow_entry){ MON, 1440, 60 };
	assert_int_equal(mwindow_format(&w, text, sizeof(text)), TE_ERR_INVALID);
	w.e[0] = (struct mwindow_entry){ MON, 60, 60 };
	assert_int_equal(mwindow_format(&w, text, sizeof(text)), TE_ERR_INVALID);
	w.e[0] = (struct mwindow_entry){ 0x80, 60, 120 };
	assert_int_equal(mwindow_format(&w, text, sizeof(text)), TE_ERR_INVALID);
	w.n = MWINDOW_MAX + 1;
	assert_int_equal(mwindow_format(&w, text, sizeof(text)), TE_ERR_INVALID);
}

static void test_tz_ok(void **state)
{
	static const char *const bad[] = {
		"", "utc", "/etc/passwd", "../../../etc/passwd", "Europe/../Europe/Berlin",
		"Europe//Berlin", "Europe/Berlin/", "/Europe/Berlin", "Europe/Nowhere",
		"Europe", "zone.tab", "Europe/Berlin\n", "Europe/Berlin ", "Europe\\Berlin",
		"Europe/Berlin\x1b", "Etc/GMT+0/x", "leapseconds",
	};
	char big[MWINDOW_TZ_BYTES + 8];

	(void)state;
	assert_int_equal(mwindow_tz_ok("UTC"), 0);
	assert_int_equal(mwindow_tz_ok(NULL), TE_ERR_INVALID);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mwindow_tz_ok(bad[i]) != TE_ERR_INVALID)
			fail_msg("\"%s\" accepted", bad[i]);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mwindow_tz_ok(big), TE_ERR_INVALID);

	need_zones();
	assert_int_equal(mwindow_tz_ok("Europe/Berlin"), 0);
	assert_int_equal(mwindow_tz_ok("America/New_York"), 0);
	if (access("/usr/share/zoneinfo/Etc/GMT+5", R_OK) == 0)
		assert_int_equal(mwindow_tz_ok("Etc/GMT+5"), 0);
}

static void test_local_restores_tz(void **state)
{
	int wday, minute;

	(void)state;
	assert_int_equal(setenv("TZ", "XST3", 1), 0);
	assert_int_equal(mwindow_local("UTC", utc(2026, 3, 2, 13, 7), &wday, &minute), 0);
	assert_int_equal(wday, 0);
	assert_int_equal(minute, 13 * 60 + 7);
	assert_string_equal(getenv("TZ"), "XST3");
	assert_int_equal(unsetenv("TZ"), 0);
	assert_int_equal(mwindow_local("UTC", utc(2026, 3, 8, 23, 59), &wday, &minute), 0);
	assert_int_equal(wday, 6);
	assert_int_equal(minute, 1439);
	assert_null(getenv("TZ"));
	assert_int_equal(mwindow_local("Mars/Olympus", 0, &wday, &minute), TE_ERR_INVALID);
	assert_null(getenv("TZ"));
	assert_int_equal(mwindow_local("UTC", 0, &wday, &minute), 0);
	assert_int_equal(wday, 3);                            /* 1970-01-01, a Thursday */
	assert_int_equal(mwindow_local("UTC", -60, &wday, &minute), 0);
	assert_int_equal(wday, 2);
	assert_int_equal(minute, 1439);
}

static void test_open_utc(void **state)
{
	struct mwindow w = parsed("mon-fri 02:00-04:00, sat 00:00-24:00");
	struct mwindow none = parsed("");

	(void)state;
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 2, 1, 59)), 0);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 2, 2, 0)), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 2, 3, 59) + 59), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 2, 4, 0)), 0);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 6, 3, 0)), 1);   /* Fri */
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 6, 23, 59)), 0);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 7, 0, 0)), 1);   /* Sat */
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 7, 23, 59) + 59), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 8, 0, 0)), 0);   /* Sun */
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 8, 3, 0)), 0);

	/* No window: always open, whatever the zone; a bad zone otherwise. */
	assert_int_equal(mwindow_open(&none, "UTC", utc(2026, 3, 8, 3, 0)), 1);
	assert_int_equal(mwindow_open(&none, "", 0), 1);
	assert_int_equal(mwindow_open(&w, "", utc(2026, 3, 2, 3, 0)), TE_ERR_INVALID);
	assert_int_equal(mwindow_open(&w, "../etc/passwd", 0), TE_ERR_INVALID);
}

static void test_cross_midnight(void **state)
{
	struct mwindow w = parsed("fri 22:00-02:00");
	struct mwindow e = parsed("mon 20:00-00:00");

	(void)state;
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 5, 23, 0)), 0);  /* Thu */
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 6, 1, 0)), 0);   /* Fri morning */
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 6, 21, 59)), 0);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 6, 22, 0)), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 6, 23, 59)), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 7, 0, 0)), 1);   /* Sat morning */
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 7, 1, 59)), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 7, 2, 0)), 0);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 7, 23, 0)), 0);  /* Sat evening */
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 8, 1, 0)), 0);   /* Sun morning */

	/* Ending at 00:00 is the evening only. */
	assert_int_equal(mwindow_open(&e, "UTC", utc(2026, 3, 2, 23, 59)), 1);
	assert_int_equal(mwindow_open(&e, "UTC", utc(2026, 3, 3, 0, 0)), 0);
	assert_int_equal(mwindow_open(&e, "UTC", utc(2026, 3, 2, 0, 30)), 0);

	/* "sun 23:00-01:00" runs into Monday, across the week's end. */
	w = parsed("sun 23:00-01:00");
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 9, 0, 30)), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 2, 0, 30)), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 3, 0, 30)), 0);
}

static void test_open_berlin(void **state)
{
	struct mwindow w = parsed("mon-fri 02:00-04:00");
	struct mwindow s = parsed("sun 02:00-04:00");
	int wday, minute;

	(void)state;
	need_zones();
	/* Winter: CET, UTC+1. */
	assert_int_equal(mwindow_open(&w, "Europe/Berlin", utc(2026, 3, 2, 0, 59)), 0);
	assert_int_equal(mwindow_open(&w, "Europe/Berlin", utc(2026, 3, 2, 1, 0)), 1);
	assert_int_equal(mwindow_open(&w, "UTC", utc(2026, 3, 2, 1, 0)), 0);
	assert_int_equal(mwindow_open(&w, "Europe/Berlin", utc(2026, 3, 2, 2, 59)), 1);
	assert_int_equal(mwindow_open(&w, "Europe/Berlin", utc(2026, 3, 2, 3, 0)), 0);

	/* 2026-03-29: 02:00 CET is 03:00 CEST (01:00 UTC); 02:00..02:59 never
	 * happen, so the Sunday window opens at 03:00 local. */
	assert_int_equal(mwindow_local("Europe/Berlin", utc(2026, 3, 29, 0, 59), &wday,
	                               &minute), 0);
	assert_int_equal(wday, 6);
	assert_int_equal(minute, 1 * 60 + 59);
	assert_int_equal(mwindow_local("Europe/Berlin", utc(2026, 3, 29, 1, 0), &wday,
	                               &minute), 0);
	assert_int_equal(minute, 3 * 60);
	assert_int_equal(mwindow_open(&s, "Europe/Berlin", utc(2026, 3, 29, 0, 59)), 0);
	assert_int_equal(mwindow_open(&s, "Europe/Berlin", utc(2026, 3, 29, 1, 0)), 1);
	assert_int_equal(mwindow_open(&s, "Europe/Berlin", utc(2026, 3, 29, 1, 59)), 1);
	assert_int_equal(mwindow_open(&s, "Europe/Berlin", utc(2026, 3, 29, 2, 0)), 0);
	assert_int_equal(mwindow_next_open(&s, "Europe/Berlin", utc(2026, 3, 28, 12, 0)),
	                 utc(2026, 3, 29, 1, 0));
	/* The week after: CEST, UTC+2. Monday 01:00 local is Sunday 23:00 UTC. */
	assert_int_equal(mwindow_open(&w, "Europe/Berlin", utc(2026, 3, 30, 0, 0)), 1);
	assert_int_equal(mwindow_open(&w, "Europe/Berlin", utc(2026, 3, 30, 1, 59)), 1);
	assert_int_equal(mwindow_open(&w, "Europe/Berlin", utc(2026, 3, 30, 2, 0)), 0);
	/* A window inside the skipped hour does not open that day. */
	s = parsed("sun 02:00-02:30");
	assert_int_equal(mwindow_next_open(&s, "Europe/Berlin", utc(2026, 3, 28, 12, 0)),
	                 utc(2026, 4, 5, 0, 0));
	/* Autumn, 2026-10-25: 02:00..02:59 local happen twice, open both times. */
	s = parsed("sun 02:00-03:00");
	assert_int_equal(mwindow_open(&s, "Europe/Berlin", utc(2026, 10, 25, 0, 30)), 1);
	assert_int_equal(mwindow_open(&s, "Europe/Berlin", utc(2026, 10, 25, 1, 30)), 1);
	assert_int_equal(mwindow_open(&s, "Europe/Berlin", utc(2026, 10, 25, 2, 0)), 0);
}

static void test_open_new_york(void **state)
{
	struct mwindow w = parsed("mon-fri 09:00-17:00");
	struct mwindow n = parsed("sat 22:00-02:00");

	(void)state;
	need_zones();
	/* Summer: EDT, UTC-4. 2026-07-06 is a Monday. */
	assert_int_equal(mwindow_open(&w, "America/New_York", utc(2026, 7, 6, 12, 59)), 0);
	assert_int_equal(mwindow_open(&w, "America/New_York", utc(2026, 7, 6, 13, 0)), 1);
	assert_int_equal(mwindow_open(&w, "America/New_York", utc(2026, 7, 6, 20, 59)), 1);
	assert_int_equal(mwindow_open(&w, "America/New_York", utc(2026, 7, 6, 21, 0)), 0);
	/* Monday 02:00 UTC is Sunday 22:00 in New York. */
	assert_int_equal(mwindow_open(&w, "America/New_York", utc(2026, 7, 6, 2, 0)), 0);
	/* Saturday 22:00 EDT is Sunday 02:00 UTC: open there, and closed in UTC. */
	assert_int_equal(mwindow_open(&n, "America/New_York", utc(2026, 7, 5, 2, 0)), 1);
	assert_int_equal(mwindow_open(&n, "America/New_York", utc(2026, 7, 5, 5, 59)), 1);
	assert_int_equal(mwindow_open(&n, "America/New_York", utc(2026, 7, 5, 6, 0)), 0);
	assert_int_equal(mwindow_open(&n, "UTC", utc(2026, 7, 5, 2, 0)), 0);
	/* Winter: EST, UTC-5. */
	assert_int_equal(mwindow_open(&w, "America/New_York", utc(2026, 1, 5, 13, 30)), 0);
	assert_int_equal(mwindow_open(&w, "America/New_York", utc(2026, 1, 5, 14, 0)), 1);
	assert_int_equal(mwindow_next_open(&w, "America/New_York", utc(2026, 7, 4, 0, 0)),
	                 utc(2026, 7, 6, 13, 0));
}

static void test_next_open(void **state)
{
	struct mwindow w = parsed("mon-fri 02:00-04:00");
	struct mwindow x = parsed("fri 22:00-02:00");
	struct mwindow all = parsed("daily 00:00-24:00");
	struct mwindow none = parsed("");

	(void)state;
	assert_int_equal(mwindow_next_open(&w, "UTC", utc(2026, 3, 7, 12, 0)),
	                 utc(2026, 3, 9, 2, 0));                 /* Sat: next Monday */
	assert_int_equal(mwindow_next_open(&w, "UTC", utc(2026, 3, 2, 1, 59) + 30),
	                 utc(2026, 3, 2, 2, 0));
	assert_int_equal(mwindow_next_open(&w, "UTC", utc(2026, 3, 2, 2, 0) - 1),
	                 utc(2026, 3, 2, 2, 0));
	/* Inside the window: its next opening, the day after. */
	assert_int_equal(mwindow_next_open(&w, "UTC", utc(2026, 3, 2, 2, 0)),
	                 utc(2026, 3, 3, 2, 0));
	assert_int_equal(mwindow_next_open(&w, "UTC", utc(2026, 3, 6, 3, 0)),
	                 utc(2026, 3, 9, 2, 0));
	/* Across midnight: from Saturday morning, inside, to the next Friday. */
	assert_int_equal(mwindow_next_open(&x, "UTC", utc(2026, 3, 7, 1, 0)),
	                 utc(2026, 3, 13, 22, 0));
	assert_int_equal(mwindow_next_open(&x, "UTC", utc(2026, 3, 2, 0, 0)),
	                 utc(2026, 3, 6, 22, 0));
	/* Always open never opens; no window; a bad zone. */
	assert_int_equal(mwindow_next_open(&all, "UTC", utc(2026, 3, 2, 0, 0)), 0);
	assert_int_equal(mwindow_next_open(&none, "UTC", utc(2026, 3, 2, 0, 0)), 0);
	assert_int_equal(mwindow_next_open(&w, "Nowhere/Land", utc(2026, 3, 2, 0, 0)), 0);
	assert_int_equal(mwindow_next_open(&w, "UTC", INT64_MAX), 0);
	/* Before 1970 too. */
	assert_int_equal(mwindow_next_open(&w, "UTC", utc(1969, 12, 29, 0, 0) - 30),
	                 utc(1969, 12, 29, 2, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc_helper),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_tz_ok),
		cmocka_unit_test(test_local_restores_tz),
		cmocka_unit_test(test_open_utc),
		cmocka_unit_test(test_cross_midnight),
		cmocka_unit_test(test_open_berlin),
		cmocka_unit_test(test_open_new_york),
		cmocka_unit_test(test_next_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
