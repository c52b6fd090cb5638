/* enroll.h: `tether-agent enroll`: first contact with the server.
 *
 * The CA is fetched without verification exactly once and trusted only if
 * its SHA-256 fingerprint matches the one the installer typed in; from then
 * on that CA is pinned. The device key and the SSH host key are generated
 * here and never leave the device. */
#ifndef TETHER_ENROLL_H
#define TETHER_ENROLL_H

#include "agentconf.h"

struct enroll_args {
	const char *server;          /* overrides the config's server */
	const char *serial;          /* overrides the config's serial */
	const char *token;
	const char *ca_fingerprint;  /* hex, any case, ':' allowed */
	const char *password_file;   /* NULL: generate and print once */
};

int enroll_run(struct agent_conf *conf, const struct enroll_args *args);
/* Normalise a typed fingerprint to 64 lowercase hex digits. */
int enroll_normalize_fingerprint(const char *in, char out[65]);
/* Is the device enrolled (every file `run` needs is present)? 0 when yes;
 * otherwise names the first missing file in missing. */
int enroll_check(const struct agent_conf *conf, char *missing, size_t missingsz);

#endif
