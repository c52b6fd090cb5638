/* text.h: text that reaches an operator or a terminal (reasons, names,
 * notices). One checker refuses what could spoof what a person reads; one
 * escaper makes whatever slipped through (an old database row) visible. */
#ifndef TETHER_TEXT_H
#define TETHER_TEXT_H

#include <stddef.h>

/* The escaped form of n input bytes fits in this many bytes (a byte becomes
 * at most "\xNN", four bytes), the terminating NUL included. */
#define TEXT_ESCAPED_BYTES(n)   (4 * (n) + 1)

/* 0 when s is displayable text shorter than max bytes: valid UTF-8 (no
 * overlong forms, surrogates or code points past U+10FFFF) holding no C0
 * control, DEL, C1 control (U+0080..U+009F), bidirectional override, isolate
 * or mark (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C) and no
 * line or paragraph separator (U+2028, U+2029). TE_ERR_TOO_LONG when
 * strlen(s) >= max, else TE_ERR_INVALID. When why is not NULL it is set to a
 * static sentence saying what was found ("a C1 control (U+009B)"), never
 * quoting the bad bytes themselves. */
int text_check_display(const char *s, size_t max, const char **why);

/* Write s into out (outsz bytes, always NUL-terminated when outsz > 0) with
 * everything text_check_display refuses made visible: a refused code point
 * as \uXXXX, a byte that is not valid UTF-8 or a C0/DEL as \xNN, and a
 * backslash as "\\" so that an escape cannot be forged. Stops at a whole
 * character when out is full. Returns out, for printf. */
char *text_escape_display(const char *s, char *out, size_t outsz);

/* The next line of *p (up to '\n' or the end, without it) into line, cut
 * at linesz - 1 bytes; *p moves past the whole line and its '\n'. 0 when
 * *p was at the end (nothing copied), else 1. For text of several lines
 * that is checked or shown a line at a time. */
int text_next_line(const char **p, char *line, size_t linesz);

#endif
