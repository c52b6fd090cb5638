/* cmdhelp.c: subcommands and their help read from a program's usage text
 * (the form is described in cmdhelp.h). */
#include "cmdhelp.h"

#include <stddef.h>
#include <string.h>

struct cmd {
	char words[CMDHELP_MAX_WORDS][CMDHELP_WORD_BYTES];
	int nwords;
	size_t block_start, block_end;   /* offsets of the command's lines in usage */
};

struct cmdset {
	struct cmd cmds[CMDHELP_MAX_CMDS];
	int n;
};

static int is_word(const char *s, size_t len)
{
	if (len == 0 || len >= CMDHELP_WORD_BYTES || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return 0;
	return 1;
}

static void add_cmd(struct cmdset *cs, char w[][CMDHELP_WORD_BYTES], int nw,
                    size_t start)
{
	struct cmd *c;

	if (nw == 0 || cs->n >= CMDHELP_MAX_CMDS)
		return;
	c = &cs->cmds[cs->n++];
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < nw; i++)
		memcpy(c->words[i], w[i], sizeof(c->words[i]));
	c->nwords = nw;
	c->block_start = start;
	c->block_end = start;
}

/* One alternative [s, e) of a command line: its words after the inherited
 * base[0..nbase). */
static void parse_piece(struct cmdset *cs, const char *s, const char *e,
                        char base[][CMDHELP_WORD_BYTES], int nbase, size_t start)
{
	char w[CMDHELP_MAX_WORDS][CMDHELP_WORD_BYTES];
	int nw = 0;

	for (int i = 0; i < nbase; i++)
		memcpy(w[nw++], base[i], CMDHELP_WORD_BYTES);
	while (s < e && nw < CMDHELP_MAX_WORDS) {
		const char *t = s, *bar;
		size_t len;

		while (t < e && *t != ' ')
			t++;
		len = (size_t)(t - s);
		bar = memchr(s, '|', len);
		if (bar != NULL) {
			/* "disable|enable": one command per alternative, then stop */
			const char *a = s;
			int n0 = nw;

			while (a < t) {
				const char *b = memchr(a, '|', (size_t)(t - a));
				size_t alen = (size_t)((b != NULL ? b : t) - a);

				if (!is_word(a, alen))
					break;
				memcpy(w[n0], a, alen);
				w[n0][alen] = '\0';
				add_cmd(cs, w, n0 + 1, start);
				a = b != NULL ? b + 1 : t;
			}
			return;
		}
		if (!is_word(s, len))
			break;
		memcpy(w[nw], s, len);
		w[nw][len] = '\0';
		nw++;
		s = t;
		while (s < e && *s == ' ')
			s++;
	}
	if (nw > nbase)
		add_cmd(cs, w, nw, start);
}

static void parse_usage(const char *prog, const char *usage, struct cmdset *cs)
{
	size_t plen = strlen(prog);
	const char *line = usage;
	int seen = 0, first_of_block = -1;

	cs->n = 0;
	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *p = line, *end, *q;
		size_t indent = 0;

		if (eol == NULL)
			eol = line + strlen(line);
		if (strncmp(p, "usage:", 6) == 0) {
			p += 6;
			indent = 6;
		}
		while (p < eol && *p == ' ') {
			p++;
			indent++;
		}
		if (p == eol) {                         /* blank line */
			if (seen)
				break;
		} else if (indent >= 8) {               /* continuation */
			if (first_of_block >= 0)
				for (int i = first_of_block; i < cs->n; i++)
					cs->cmds[i].block_end = (size_t)(eol - usage);
		} else {
			if ((size_t)(eol - p) > plen && strncmp(p, prog, plen) == 0 &&
			    p[plen] == ' ')
				p += plen + 1;
			if (*p >= 'a' && *p <= 'z') {
				char base[CMDHELP_MAX_WORDS][CMDHELP_WORD_BYTES];
				int nbase = 0, before = cs->n;

				/* what follows two spaces is a description */
				for (end = p; end < eol && !(end[0] == ' ' && end + 1 < eol &&
				                             end[1] == ' '); end++)
					;
				/* the alternatives, split on " | " */
				q = p;
				while (q < end) {
					const char *bar = q, *piece_end;

					while (bar + 2 < end && !(bar[0] == ' ' && bar[1] == '|' &&
					                          bar[2] == ' '))
						bar++;
					piece_end = bar + 2 < end ? bar : end;
					if (q == p) {
						parse_piece(cs, q, piece_end, base, 0, (size_t)(line - usage));
						if (cs->n > before) {
							nbase = cs->cmds[cs->n - 1].nwords - 1;
							for (int i = 0; i < nbase; i++)
								memcpy(base[i], cs->cmds[cs->n - 1].words[i],
								       CMDHELP_WORD_BYTES);
						}
					} else {
						const char *t = q;
						int same;

						while (t < piece_end && *t != ' ')
							t++;
						same = before < cs->n &&
						       strlen(cs->cmds[before].words[0]) == (size_t)(t - q) &&
						       strncmp(cs->cmds[before].words[0], q,
						               (size_t)(t - q)) == 0;
						parse_piece(cs, q, piece_end, base, same ? 0 : nbase,
						            (size_t)(line - usage));
					}
					q = piece_end + (piece_end < end ? 3 : 0);
				}
				for (int i = before; i < cs->n; i++)
					cs->cmds[i].block_end = (size_t)(eol - usage);
				first_of_block = cs->n > before ? before : -1;
				seen = 1;
			} else {
				first_of_block = -1;
			}
		}
		line = *eol == '\n' ? eol + 1 : eol;
	}
}

int cmdhelp_asked(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

static int cmd_has_prefix(const struct cmd *c, char **words, int n)
{
	if (c->nwords < n)
		return 0;
	for (int i = 0; i < n; i++)
		if (strcmp(c->words[i], words[i]) != 0)
			return 0;
	return 1;
}

int cmdhelp_print(const char *prog, const char *usage, const char *man_page,
                  int argc, char **argv)
{
	static struct cmdset cs;
	size_t plen = strlen(prog);
	int n = 0, k, printed = 0;

	parse_usage(prog, usage, &cs);
	while (n < argc && n < CMDHELP_MAX_WORDS && argv[n][0] != '-')
		n++;
	for (k = n; k > 0; k--) {
		int i;

		for (i = 0; i < cs.n; i++)
			if (cmd_has_prefix(&cs.cmds[i], argv, k))
				break;
		if (i < cs.n)
			break;
	}
	if (k == 0 && n > 0) {
		fprintf(stderr, "%s: unknown command \"%s\"\n%s", prog, argv[0], usage);
		return 2;
	}
	if (k == 0) {
		fputs(usage, stdout);
		return 0;
	}
	printf("usage:\n");
	for (int i = 0; i < cs.n; i++) {
		const struct cmd *c = &cs.cmds[i];
		const char *s, *e;
		int dup = 0;

		if (!cmd_has_prefix(c, argv, k))
			continue;
		for (int j = 0; j < i; j++)
			if (cs.cmds[j].block_start == c->block_start &&
			    cmd_has_prefix(&cs.cmds[j], argv, k))
				dup = 1;
		if (dup)
			continue;
		/* each line of the block; the command line written "  PROG ..." */
		for (s = usage + c->block_start; s < usage + c->block_end; s = e + 1) {
			const char *p = s;

			e = strchr(s, '\n');
			if (e == NULL || e > usage + c->block_end)
				e = usage + c->block_end;
			if (s == usage + c->block_start) {
				if (strncmp(p, "usage:", 6) == 0)
					p += 6;
				while (p < e && *p == ' ')
					p++;
				if (strncmp(p, prog, plen) == 0 && p[plen] == ' ')
					p += plen + 1;
				printf("  %s %.*s\n", prog, (int)(e - p), p);
			} else {
				printf("%.*s\n", (int)(e - s), s);
			}
			if (*e == '\0')
				break;
		}
		printed++;
	}
	if (man_page != NULL)
		printf("\nSee man %s.\n", man_page);
	return printed > 0 ? 0 : 2;
}

void cmdhelp_list(const char *prog, const char *usage, FILE *f)
{
	static struct cmdset cs;

	parse_usage(prog, usage, &cs);
	for (int i = 0; i < cs.n; i++) {
		for (int j = 0; j < cs.cmds[i].nwords; j++)
			fprintf(f, "%s%s", j > 0 ? " " : "", cs.cmds[i].words[j]);
		fputc('\n', f);
	}
}

int cmdhelp_main(const char *prog, const char *usage, const char *man_page,
                 int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "--commands") == 0) {
		cmdhelp_list(prog, usage, stdout);
		return 0;
	}
	if (argc >= 1 && strcmp(argv[0], "help") == 0)
		return cmdhelp_print(prog, usage, man_page, argc - 1, argv + 1);
	if (cmdhelp_asked(argc, argv))
		return cmdhelp_print(prog, usage, man_page, argc, argv);
	return -1;
}
