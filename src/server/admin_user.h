/* admin_user.h: `tether-server user unlock | reset-password | revoke-tokens
 * | reset-mfa` (admin_user.c); `user add` stays in admin.c. */
#ifndef TETHER_SERVER_ADMIN_USER_H
#define TETHER_SERVER_ADMIN_USER_H

/* argv[0] is the subcommand, then NAME and options. Returns the exit code
 * (0 done, 1 failed, 2 usage). */
int admin_user_main(int argc, char **argv);

#endif
