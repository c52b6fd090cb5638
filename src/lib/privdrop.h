/* privdrop.h: least privilege for daemons. */
#ifndef TETHER_PRIVDROP_H
#define TETHER_PRIVDROP_H

/* When running as root and user is non-empty: setgroups/setgid/setuid to
 * user, then check root cannot be regained. No-op when user is NULL/"" or
 * when not root. Also sets PR_SET_NO_NEW_PRIVS and disables core dumps. */
int privdrop_to(const char *user);
/* Disable core dumps and ptrace attach (secrets live in memory). */
void privdrop_harden(void);

#endif
