/* relay.h: tether-relay's core. Two TLS listeners (device and client port),
 * the preamble and ticket checks, pairing of the two legs of a session, the
 * byte splice, audit and reports. Everything runs on one libevent loop. */
#ifndef TETHER_RELAY_H
#define TETHER_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "log.h"

#define RELAY_PREAMBLE_TIMEOUT_S 10    /* TLS handshake plus preamble line */
#define RELAY_DRAIN_TIMEOUT_S    10    /* flushing the last bytes before close */
#define RELAY_MAX_LEGS           4096  /* open connections, both ports together (at most
                                         * RLIMIT_NOFILE less CONNLIMIT_FD_HEADROOM) */
#define RELAY_MALLOC_TRIM_BYTES  (16 << 20) /* freed heap kept for reuse, not trimmed */
#define RELAY_MALLOC_MMAP_BYTES  (4 << 20)  /* allocations above this use mmap */

/* The relay config file (docs/architecture.md "Relay config"). Paths are
 * absolute or resolved against the config file's folder. Strings are
 * malloc'd; relay_config_clear frees them. */
struct relay_config {
	char *name;
	char *device_listen;        /* "ADDR:PORT"; port 0 picks a free one */
	char *client_listen;
	char *cert;                 /* relay leaf + issuing CA, PEM */
	char *key;
	char *ca;                   /* deployment root CA */
	char *ticket_pubkey;        /* server's Ed25519 ticket key */
	char *server;               /* "https://HOST:PORT" or "" (no reports) */
	char *audit_log;
	char *user;                 /* drop to this user after binding, or "" */
	long unpaired_timeout_s;
	long max_legs;              /* limits.*: below RLIMIT_NOFILE in any case */
	long max_legs_per_addr;
	long max_handshakes_per_addr;
	enum log_level log_level;
	enum log_format log_format;
	char *metrics_listen;       /* "ADDR:PORT" or "" (off): metricsd.h */
};

/* Load and check a config file. On error errbuf says what and where. */
int relay_config_load(const char *path, struct relay_config *out,
                      char *errbuf, size_t errsz);
void relay_config_clear(struct relay_config *cfg);

struct relay;

/* Load keys and certificates, open the audit log, bind both ports and start
 * accepting on base. cfg is borrowed and must outlive the relay. */
int relay_new(struct event_base *base, const struct relay_config *cfg,
              struct relay **out, char *errbuf, size_t errsz);
/* Close every connection (ending open sessions in the audit log) and free.
 * NULL is a no-op. */
void relay_free(struct relay *r);
/* Record a reload (SIGHUP) in the audit log: what was applied, or why the
 * config file was refused (the settings in force are then kept). */
void relay_note_reload(struct relay *r, const char *done, const char *why);
/* The bound port numbers (useful with port 0). */
int relay_device_port(const struct relay *r);
int relay_client_port(const struct relay *r);
/* Open connections and sessions being spliced (for tests and logs). */
size_t relay_leg_count(const struct relay *r);
size_t relay_session_count(const struct relay *r);
/* How often a leg's reads were paused because its partner's output held
 * RELAY_HIGH_WATER_BYTES (back-pressure; safe to read from another thread). */
uint64_t relay_pause_count(const struct relay *r);

#endif
