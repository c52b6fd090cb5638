/* sdnotify.h: the service manager's notify protocol (sd_notify(3)), written
 * without libsystemd so that no daemon gains a shared library for it.
 *
 * systemd (Type=notify) passes NOTIFY_SOCKET, a unix datagram socket
 * ("/path" or "@abstract"), and with WatchdogSec= also WATCHDOG_USEC (and
 * WATCHDOG_PID). sdnotify_init reads them once and removes them from the
 * environment, so that no child (a specialist's shell, the signer) can
 * speak for the daemon. Every call is a no-op when no socket was given.
 *
 * A hung event loop stops sending WATCHDOG=1; after WatchdogSec the manager
 * kills the service and, with Restart=on-failure, starts it again. */
#ifndef TETHER_SDNOTIFY_H
#define TETHER_SDNOTIFY_H

#include <stdint.h>

#include <event2/event.h>

#define SDNOTIFY_MSG_BYTES    512           /* one notification, "KEY=VALUE\n..." */
#define SDNOTIFY_MIN_USEC     (100 * 1000)  /* a watchdog below this is ignored */
#define SDNOTIFY_MAX_USEC     (3600ULL * 1000 * 1000)

/* Read and unset NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. Call once,
 * early, before any fork. */
void sdnotify_init(void);
/* 1 when the manager gave a socket. */
int sdnotify_enabled(void);
/* Send state ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=..."): 0 sent
 * or nothing to send to, TE_ERR_INVALID (too long, bad socket name) or
 * TE_ERR_IO. */
int sdnotify_send(const char *state);
/* "RELOADING=1" with the MONOTONIC_USEC that Type=notify-reload wants. */
int sdnotify_reloading(void);
/* The watchdog interval asked of this process in microseconds; 0: none. */
uint64_t sdnotify_watchdog_usec(void);

/* A timer on base that sends WATCHDOG=1 every half interval. *out is NULL
 * (and 0 returned) when no watchdog was asked for. */
struct sdnotify_watchdog;
int sdnotify_watchdog_new(struct event_base *base, struct sdnotify_watchdog **out);
void sdnotify_watchdog_free(struct sdnotify_watchdog *w);

#endif
