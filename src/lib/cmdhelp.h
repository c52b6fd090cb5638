/* cmdhelp.h: `--help` on every subcommand, from the program's one usage text.
 *
 * Each program keeps a single usage text (the one `PROG --help` prints).
 * cmdhelp reads the subcommands out of it, so a command added to that text
 * gets `PROG CMD --help`, `PROG help CMD`, its place in `PROG --commands`
 * (bash completion, the e2e test t770) at no extra cost. The text's form:
 *
 *   - a command line is indented at most 7 columns (a leading "usage:"
 *     counts as indentation) and, after an optional "PROG ", starts with a
 *     lowercase word: "  tether-server user add NAME --role ROLE ...",
 *     "  devices               list devices", "usage: tether-relay run ...";
 *   - its command words are the leading [a-z][a-z0-9-]* words, up to the
 *     first other word or two spaces in a row; "a|b" among them is two
 *     commands ("user disable|enable NAME");
 *   - " | " separates alternatives on one line: "session status ID |
 *     session wait ID", "consent list | accept ID" (an alternative that
 *     does not start with the line's first word keeps the line's words
 *     but the last: "consent accept");
 *   - lines indented 8 columns or more continue the command above;
 *   - the first blank line after a command line ends the list (prose may
 *     follow).
 *
 * Bounded: at most CMDHELP_MAX_CMDS commands of CMDHELP_MAX_WORDS words;
 * more are ignored (the usage text is the program's own, not input). */
#ifndef TETHER_CMDHELP_H
#define TETHER_CMDHELP_H

#include <stdio.h>

#define CMDHELP_MAX_CMDS  128
#define CMDHELP_MAX_WORDS 4
#define CMDHELP_WORD_BYTES 32

/* 1 when argv[0..argc) holds "--help" or "-h" before any "--". */
int cmdhelp_asked(int argc, char **argv);

/* The help for the command named by the leading words of argv[0..argc)
 * (those before the first option; the longest prefix of them that names
 * commands in usage): the usage lines of every command under it, then
 * "See man PAGE." on stdout; returns 0. When the words name no command,
 * says so on stderr with the whole usage and returns 2. */
int cmdhelp_print(const char *prog, const char *usage, const char *man_page,
                  int argc, char **argv);

/* Every command in usage, one per line ("user add"), on f. */
void cmdhelp_list(const char *prog, const char *usage, FILE *f);

/* The dispatch helper each main() calls once, before its own dispatch, with
 * argv after the program name and its global options: handles
 * "--commands", "help [WORDS]" and "WORDS --help". Returns -1 when none of
 * those was asked (go on), else the exit code. */
int cmdhelp_main(const char *prog, const char *usage, const char *man_page,
                 int argc, char **argv);

#endif
