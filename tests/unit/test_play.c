/* test_play.c: the asciicast player and its terminal filter. A recording
 * from a hostile device must reach the viewer's terminal only as drawing:
 * text, colours, cursor moves; never a query the terminal answers, a
 * clipboard write, a title, a C1 control or a bidi override. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "play.h"

static char outbuf[PLAY_FILTER_OUT_BYTES(4096)];

/* in[0..n) through a fresh filter, in one call; NUL-terminated result. */
static const char *filt_n(const char *in, size_t n)
{
	struct play_filter f;
	size_t m;

	assert_true(n <= 4096);
	play_filter_init(&f);
	m = play_filter(&f, in, n, outbuf, sizeof(outbuf) - 1);
	outbuf[m] = '\0';
	return outbuf;
}

static const char *filt(const char *in)
{
	return filt_n(in, strlen(in));
}

static void test_text_and_utf8_pass(void **state)
{
	(void)state;
	assert_string_equal(filt("hello, world\r\n\tx\by"), "hello, world\r\n\tx\by");
	assert_string_equal(filt("gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"),
	                    "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80");
	/* the highest code point there is */
	assert_string_equal(filt("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");
}

static void test_colours_and_cursor_moves_pass(void **state)
{
	static const char *const keep[] = {
		"\033[0m", "\033[1;31m", "\033[38;5;208m", "\033[38;2;1;2;3m",
		"\033[4:3m", "\033[H", "\033[12;40H", "\033[2J", "\033[K", "\033[3A",
		"\033[?25l", "\033[?25h", "\033[?1049h", "\033[?1049l", "\033[1;24r",
		"\033[2 q", "\033[!p", "\033[5@", "\033[2b", "\0337", "\0338", "\033M", "\033=", "\033>", "\033(B",
		"\033)0", "\033(0",
	};
	char in[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(in, sizeof(in), "a%sb", keep[i]);
		assert_string_equal(filt(in), in);
	}
}

static void test_strings_are_dropped(void **state)
{
	(void)state;
	/* OSC 52 writes the viewer's clipboard */
	assert_string_equal(filt("a\033]52;c;ZWNobyBwd25lZAo=\007b"), "ab");
	/* titles, with BEL or ST as terminator */
	assert_string_equal(filt("a\033]0;owned\007b"), "ab");
	assert_string_equal(filt("a\033]2;owned\033\\b"), "ab");
	assert_string_equal(filt("a\033]8;;http://x/\033\\link\033]8;;\033\\b"), "alinkb");
	/* DCS (DECRQSS, sixel), APC, PM, SOS */
	assert_string_equal(filt("a\033P$qm\033\\b"), "ab");
	assert_string_equal(filt("a\033_Gf=100;AAAA\033\\b"), "ab");
	assert_string_equal(filt("a\033^pm\033\\b\033Xsos\033\\c"), "abc");
}

static void test_queries_and_window_ops_are_dropped(void **state)
{
	static const char *const drop[] = {
		"\033[6n", "\033[5n", "\033[?6n", "\033[c", "\033[0c", "\033[>c",
		"\033[=c", "\033[21t", "\033[8;100;100t", "\033[x", "\033[?1$p",
		"\033[>0q", "\033[?u", "\033[>1u", "\033[?1000h", "\033[?1006h",
		"\033[?2004h", "\033[?1004h", "\033[?1000:1h", "\033[?66536h",
		"\033[2h", "\033[12l", "\033[5i", "\033[62;1\"p", "\033[1q",
		"\033[>4;2m", "\033[1;1'z", "\033[1;1;1;1*y", "\033[#|", "\033[24*|",
		"\033[4;1y", "\033[200~", "\033[1 !p",
	};
	char in[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		snprintf(in, sizeof(in), "a%sb", drop[i]);
		assert_string_equal(filt(in), "ab");
	}
}

static void test_controls_are_dropped(void **state)
{
	(void)state;
	assert_string_equal(filt("a\007b\005c\016d\177e"), "abcde");
	/* 0x9b is CSI to an 8-bit terminal: not valid UTF-8, so U+FFFD */
	assert_string_equal(filt("a\x9b" "6nb"), "a\xEF\xBF\xBD" "6nb");
	/* U+009B, well-formed UTF-8 but a C1 control */
	assert_string_equal(filt("a\xC2\x9b" "6nb"), "a6nb");
	assert_string_equal(filt("a\xC2\x85\xC2\x90\xC2\x9D\xC2\x80\xC2\x9F" "b"), "ab");
	/* U+00A0 just past them passes */
	assert_string_equal(filt("\xC2\xA0"), "\xC2\xA0");
	/* ESC sequences that are not drawing */
	assert_string_equal(filt("a\033cb\033#8c\033 Gd\033Ze"), "abcde");
}

static void test_bidi_controls_are_dropped(void **state)
{
	(void)state;
	/* U+202E RIGHT-TO-LEFT OVERRIDE */
	assert_string_equal(filt("rm -rf \xE2\x80\xAE" "txt.exe"), "rm -rf txt.exe");
	assert_string_equal(filt("a\xE2\x80\xAA\xE2\x81\xA6\xE2\x81\xA9\xE2\x80\x8E"
	                         "\xE2\x80\x8F\xD8\x9C" "b"), "ab");
}

static void test_bad_utf8_becomes_replacement(void **state)
{
	(void)state;
	/* overlong '/', surrogate, past U+10FFFF, stray continuation, 0xFF */
	assert_string_equal(filt("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_string_equal(filt("\xE0\x80\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_string_equal(filt("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_string_equal(filt("\xF4\x90\x80\x80"),
	                    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_string_equal(filt("a\x80z\xFFz"), "a\xEF\xBF\xBDz\xEF\xBF\xBDz");
	/* a truncated character is one U+FFFD, and what cut it counts */
	assert_string_equal(filt("\xE2\x82z"), "\xEF\xBF\xBDz");
	assert_string_equal(filt("\xE2\x82\033[1mz"), "\xEF\xBF\xBD\033[1mz");
}

static void test_overlong_csi_is_dropped_whole(void **state)
{
	char in[256], want[8];
	size_t n;

	(void)state;
	/* exactly PLAY_CSI_MAX_BYTES passes */
	n = (size_t)snprintf(in, sizeof(in), "\033[");
	memset(in + n, '1', PLAY_CSI_MAX_BYTES - 3);
	n += PLAY_CSI_MAX_BYTES - 3;
	in[n++] = 'm';
	in[n] = '\0';
	assert_string_equal(filt(in), in);
	/* one byte more, and none of it reaches the terminal */
	n = (size_t)snprintf(in, sizeof(in), "a\033[");
	memset(in + n, '1', 150);
	n += 150;
	n += (size_t)snprintf(in + n, sizeof(in) - n, "mb");
	snprintf(want, sizeof(want), "ab");
	assert_string_equal(filt(in), want);
}

/* in through one filter, split at each cut in turn; NUL-terminated. */
static const char *filt_split(const char *in, size_t cut)
{
	static char acc[1024];
	struct play_filter f;
	size_t n = strlen(in), m;

	play_filter_init(&f);
	m = play_filter(&f, in, cut, acc, sizeof(acc));
	m += play_filter(&f, in + cut, n - cut, acc + m, sizeof(acc) - 1 - m);
	acc[m] = '\0';
	return acc;
}

static void test_state_is_kept_across_calls(void **state)
{
	struct play_filter f;
	char out[PLAY_FILTER_OUT_BYTES(8)];
	size_t m;

	(void)state;
	/* ESC [ at the end of one call, finished in the next */
	assert_string_equal(filt_split("a\033[1;31mb", 2), "a\033[1;31mb");
	assert_string_equal(filt_split("a\033[1;31mb", 3), "a\033[1;31mb");
	assert_string_equal(filt_split("a\033[6nb", 3), "ab");
	/* the first call holds the unfinished CSI back */
	play_filter_init(&f);
	m = play_filter(&f, "a\033[1;3", 6, out, sizeof(out));
	assert_int_equal(m, 1);
	m = play_filter(&f, "1m", 2, out, sizeof(out));
	assert_int_equal(m, 7);
	assert_memory_equal(out, "\033[1;31m", 7);
	/* an OSC split across calls is still dropped, at every cut */
	for (m = 0; m <= strlen("a\033]52;c;aGk=\033\\b"); m++)
		assert_string_equal(filt_split("a\033]52;c;aGk=\033\\b", m), "ab");
	/* a UTF-8 character split across calls is kept */
	assert_string_equal(filt_split("x\xF0\x9F\x98\x80y", 2), "x\xF0\x9F\x98\x80y");
	assert_string_equal(filt_split("x\xF0\x9F\x98\x80y", 4), "x\xF0\x9F\x98\x80y");
	assert_string_equal(filt_split("x\xE2\x80\xAEy", 3), "xy");
}

static void test_end_puts_the_terminal_back(void **state)
{
	struct play_filter f;
	char out[PLAY_FILTER_OUT_BYTES(64)], tail[PLAY_FILTER_END_BYTES + 1];
	static const char in[] = "\033[?1049h\033[?25l\033[2;10r\033=\xE2\x82";
	size_t m;

	(void)state;
	play_filter_init(&f);
	play_filter(&f, in, sizeof(in) - 1, out, sizeof(out));
	m = play_filter_end(&f, tail, sizeof(tail) - 1);
	tail[m] = '\0';
	assert_string_equal(tail, "\xEF\xBF\xBD\033[0m\0337\033[r\0338\033[?1049l"
	                          "\033[?25h\033>");
	/* and after that the filter starts clean */
	m = play_filter_end(&f, tail, sizeof(tail) - 1);
	tail[m] = '\0';
	assert_string_equal(tail, "\033[0m");
}

/* ---- play_cast ---- */

/* Play cast at speed 0 into a temporary file; returns the result, with the
 * bytes written in got (NUL-terminated). */
static int play_to_file(const char *cast, char *got, size_t gotsz, char *why,
                        size_t whysz)
{
	struct play_opts o = { 0, 0 };
	char path[] = "/tmp/test_play.XXXXXX";
	ssize_t n;
	int fd, r;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	r = play_cast(cast, strlen(cast), &o, fd, why, whysz);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, got, gotsz - 1);
	assert_true(n >= 0);
	got[n] = '\0';
	close(fd);
	return r;
}

static void test_cast_plays_the_filtered_output(void **state)
{
	static const char cast[] =
		"{\"version\": 2, \"width\": 80, \"height\": 24}\n"
		"[0.1, \"o\", \"hello \\u001b[1mworld\\u001b[0m\\r\\n\"]\n"
		"\n"
		"[0.2, \"i\", \"typed\"]\n"
		"[0.3, \"r\", \"100x40\"]\n"
		"[0.3, \"o\", \"\\u001b]52;c;b3duZWQ=\\u0007\\u001b[6n\"]\n"
		"[1.5, \"o\", \"bye\\u202e!\\u0000\"]\n"
		"[2, \"m\", \"a marker\"]\n";
	char got[512], why[128];

	(void)state;
	assert_int_equal(play_to_file(cast, got, sizeof(got), why, sizeof(why)), 0);
	assert_string_equal(got, "hello \033[1mworld\033[0m\r\nbye!\033[0m");
}

static void test_cast_speed_and_idle_cap_wait(void **state)
{
	static const char cast[] = "{\"version\": 2}\n"
	                           "[0, \"o\", \"a\"]\n[100, \"o\", \"b\"]\n";
	struct play_opts o = { 1.0, 0.05 };
	struct timespec t0, t1;
	double took;
	int fd = open("/dev/null", O_WRONLY);

	(void)state;
	assert_true(fd >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(play_cast(cast, strlen(cast), &o, fd, NULL, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* the 100 s pause is cut to 50 ms */
	assert_true(took >= 0.05 && took < 5);
	close(fd);
}

static void test_cast_errors_name_the_line(void **state)
{
	static const struct { const char *cast, *says; int err; } bad[] = {
		{ "", "line 1: header: missing", TE_ERR_INVALID },
		{ "\n\n", "header: missing", TE_ERR_INVALID },
		{ "{\"version\": 1}\n", "line 1: header: not asciicast version 2",
		  TE_ERR_INVALID },
		{ "\n{\"width\": 80}\n", "line 2: header: not asciicast version 2",
		  TE_ERR_INVALID },
		{ "[0, \"o\", \"x\"]\n", "line 1: header: not a JSON object",
		  TE_ERR_INVALID },
		{ "{version: 2}\n", "line 1: header: not valid JSON", TE_ERR_INVALID },
		{ "{\"version\": 2}\n[0, \"o\", \"x\"]\n{\"a\": 1}\n",
		  "line 3: not a JSON array", TE_ERR_INVALID },
		{ "{\"version\": 2}\n[0, \"o\", \"x\"]\n\n\"text\"\n",
		  "line 4: not a JSON array", TE_ERR_INVALID },
		{ "{\"version\": 2}\n[1, \"o\", \"x\"\n", "line 2: not valid JSON",
		  TE_ERR_INVALID },
		{ "{\"version\": 2}\n[2, \"o\", \"x\"]\n[1.5, \"o\", \"y\"]\n",
		  "line 3: the time goes backwards", TE_ERR_INVALID },
		{ "{\"version\": 2}\n[-1, \"o\", \"x\"]\n", "line 2: the time",
		  TE_ERR_INVALID },
		{ "{\"version\": 2}\n[\"1\", \"o\", \"x\"]\n", "line 2: the time",
		  TE_ERR_INVALID },
		{ "{\"version\": 2}\n[1, \"o\"]\n", "line 2: not an event",
		  TE_ERR_INVALID },
		{ "{\"version\": 2}\n[1, \"o\", 5]\n", "line 2: the type and data",
		  TE_ERR_INVALID },
	};
	char got[256], why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(play_to_file(bad[i].cast, got, sizeof(got), why,
		                              sizeof(why)), bad[i].err);
		if (strstr(why, bad[i].says) == NULL)
			fail_msg("%zu: \"%s\" does not say \"%s\"", i, why, bad[i].says);
	}
}

static void test_cast_too_long_line(void **state)
{
	static const char head[] = "{\"version\": 2}\n[0, \"o\", \"ok\"]\n[1, \"o\", \"";
	size_t n = sizeof(head) - 1 + PLAY_MAX_LINE_BYTES + 8;
	char *cast = malloc(n + 1), got[256], why[128];

	(void)state;
	assert_non_null(cast);
	memcpy(cast, head, sizeof(head) - 1);
	memset(cast + sizeof(head) - 1, 'x', n - (sizeof(head) - 1));
	memcpy(cast + n - 3, "\"]\n", 3);
	cast[n] = '\0';
	assert_int_equal(play_to_file(cast, got, sizeof(got), why, sizeof(why)),
	                 TE_ERR_TOO_LONG);
	assert_non_null(strstr(why, "line 3: longer than 64 KiB"));
	/* what came before was played, and the terminal put back */
	assert_string_equal(got, "ok\033[0m");
	free(cast);
}

static void test_cast_unwritable_output(void **state)
{
	static const char cast[] = "{\"version\": 2}\n[0, \"o\", \"x\"]\n";
	struct play_opts o = { 0, 0 };
	char why[128];
	int fd = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(play_cast(cast, strlen(cast), &o, fd, why, sizeof(why)),
	                 TE_ERR_SYS);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_utf8_pass),
		cmocka_unit_test(test_colours_and_cursor_moves_pass),
		cmocka_unit_test(test_strings_are_dropped),
		cmocka_unit_test(test_queries_and_window_ops_are_dropped),
		cmocka_unit_test(test_controls_are_dropped),
		cmocka_unit_test(test_bidi_controls_are_dropped),
		cmocka_unit_test(test_bad_utf8_becomes_replacement),
		cmocka_unit_test(test_overlong_csi_is_dropped_whole),
		cmocka_unit_test(test_state_is_kept_across_calls),
		cmocka_unit_test(test_end_puts_the_terminal_back),
		cmocka_unit_test(test_cast_plays_the_filtered_output),
		cmocka_unit_test(test_cast_speed_and_idle_cap_wait),
		cmocka_unit_test(test_cast_errors_name_the_line),
		cmocka_unit_test(test_cast_too_long_line),
		cmocka_unit_test(test_cast_unwritable_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
