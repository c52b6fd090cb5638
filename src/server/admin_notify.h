/* admin_notify.h: `tether-server notify list|test`, run by an administrator
 * on the server host against the deployment directory. */
#ifndef TETHER_SERVER_ADMIN_NOTIFY_H
#define TETHER_SERVER_ADMIN_NOTIFY_H

/* argv[0] is "list" or "test", then options (--dir DIR, --json, --site
 * NAME). Returns the process exit code (2 for a usage error). */
int admin_notify_main(int argc, char **argv);

#endif
