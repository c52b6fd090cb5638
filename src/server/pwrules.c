/* pwrules.c: password rules. The common-password list comes from
 * data/common-passwords.txt, embedded at build time (pwrules_list.c). */
#include "pwrules.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "err.h"
#include "secret.h"

extern const char pwrules_list[];

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t pwrules_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int pwrules_is_common(const char *pw)
{
	size_t len = strlen(pw);

	for (const char *p = pwrules_list; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n == len && strncasecmp(p, pw, n) == 0)
			return 1;
		p += n + (nl != NULL);
	}
	return 0;
}

static size_t pwrules_distinct(const char *pw)
{
	unsigned char seen[256];
	size_t n = 0;

	memset(seen, 0, sizeof(seen));
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++)
		if (!seen[*p]++)
			n++;
	secret_wipe(seen, sizeof(seen));
	return n;
}

int pwrules_check(const char *user, const char *pw, const char *old,
                  char *why, size_t whysz)
{
	if (pwrules_chars(pw) < PASSWORD_MIN_CHARS) {
		snprintf(why, whysz, "too short: a password needs at least %d characters",
		         PASSWORD_MIN_CHARS);
		return TE_ERR_INVALID;
	}
	if (pwrules_is_common(pw) || pwrules_distinct(pw) < PWRULES_MIN_DISTINCT_CHARS) {
		snprintf(why, whysz, "too common: it is on the list of common passwords or"
		         " repeats too few characters; choose another");
		return TE_ERR_INVALID;
	}
	if (user != NULL && user[0] != '\0' && strcasestr(pw, user) != NULL) {
		snprintf(why, whysz, "contains the user name: a password must not contain it");
		return TE_ERR_INVALID;
	}
	if (old != NULL && strlen(old) == strlen(pw) &&
	    secret_equal(old, pw, strlen(pw))) {
		snprintf(why, whysz, "same as the old one: choose a new password");
		return TE_ERR_INVALID;
	}
	return 0;
}
