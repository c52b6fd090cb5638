/* pwrules.h: what a password must be before tether stores its hash (user
 * add, reset by an administrator, change by the user). */
#ifndef TETHER_SERVER_PWRULES_H
#define TETHER_SERVER_PWRULES_H

#include <stddef.h>

#define PWRULES_MIN_DISTINCT_CHARS 5    /* "aaaaaaaaaaaa", "abababababab" */
#define PWRULES_WHY_BYTES          160

/* 0 when pw is acceptable for user; else TE_ERR_INVALID with why (a
 * sentence for the person choosing it): too short (fewer than
 * PASSWORD_MIN_CHARS characters), too common (on the bundled list, compared
 * case-insensitively, or too few distinct characters), containing the user
 * name (case-insensitively), or the same as old (NULL: no old password to
 * compare, e.g. user add or an administrator's reset). */
int pwrules_check(const char *user, const char *pw, const char *old,
                  char *why, size_t whysz);

/* 1 when pw is on the bundled common-password list (case-insensitive). */
int pwrules_is_common(const char *pw);

#endif
