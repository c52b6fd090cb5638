/* main.c: tether-relay's command line.
 *
 *     tether-relay init --dir DIR --name NAME
 *     tether-relay run --config FILE
 *     tether-relay audit verify --config FILE
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <event2/event.h>

#include "audit.h"
#include "cmdhelp.h"
#include "err.h"
#include "fdlimit.h"
#include "log.h"
#include "privdrop.h"
#include "relay.h"
#include "relayinit.h"
#include "sdnotify.h"
#include "tls.h"

#define RELAY_ERRBUF_BYTES 512

static const char usage_text[] =
	"usage: tether-relay init --dir DIR --name NAME\n"
	"       tether-relay run --config FILE\n"
	"       tether-relay audit verify --config FILE\n"
	"\n"
	"init makes the relay's key (DIR/relay.key, never leaves this host) and\n"
	"DIR/relay.csr for \"tether-server relay add NAME ... --csr relay.csr\".\n"
	"FILE is the tether-relay.conf written by \"tether-server relay add\",\n"
	"copied into DIR next to relay.key.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

/* Accept exactly "--config FILE" (or "--config=FILE") in argv[0..argc). */
static const char *config_arg(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], "--config") == 0)
		return argv[1];
	if (argc == 1 && strncmp(argv[0], "--config=", 9) == 0 && argv[0][9] != '\0')
		return argv[0] + 9;
	return NULL;
}

/* "--dir DIR --name NAME" in either order (or "--opt=VALUE"). */
static int init_args(int argc, char **argv, const char **dir, const char **name)
{
	*dir = *name = NULL;
	for (int i = 0; i < argc; i++) {
		const char **slot = NULL;
		const char *v = NULL;

		if (strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "--name") == 0) {
			slot = argv[i][2] == 'd' ? dir : name;
			if (i + 1 >= argc)
				return -1;
			v = argv[++i];
		} else if (strncmp(argv[i], "--dir=", 6) == 0) {
			slot = dir;
			v = argv[i] + 6;
		} else if (strncmp(argv[i], "--name=", 7) == 0) {
			slot = name;
			v = argv[i] + 7;
		} else {
			return -1;
		}
		if (*slot != NULL || v[0] == '\0')
			return -1;
		*slot = v;
	}
	return *dir != NULL && *name != NULL ? 0 : -1;
}

/* stdout carries only the CSR's path, so scripts can capture it. */
static int cmd_init(const char *dir, const char *name)
{
	char errbuf[RELAY_ERRBUF_BYTES] = "", csr[PATH_MAX];

	if (relayinit_run(dir, name, csr, sizeof(csr), errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "tether-relay init: %s\n", errbuf);
		return 1;
	}
	printf("%s\n", csr);
	fprintf(stderr,
	        "tether-relay: relay %s: private key %s/%s written (0600; it stays on this host).\n"
	        "  next: copy %s (public) to the server host and run there:\n"
	        "  tether-server relay add %s --host HOST --device-port P --client-port P"
	        " --csr relay.csr --dir DIR\n"
	        "  then copy relay.crt, ca.crt, ticket.pub and tether-relay.conf from\n"
	        "  the server's DIR/relays/%s/ into %s and run:\n"
	        "  tether-relay run --config %s/tether-relay.conf\n",
	        name, dir, RELAYINIT_KEY_FILE, csr, name, name, dir, dir);
	return 0;
}

/* What the signal handlers need. */
struct relay_run {
	struct event_base *base;
	struct relay *relay;
	struct relay_config *cfg;
	const char *path;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct relay_run *run = arg;

	log_info("signal %d: shutting down; open sessions are ended and recorded", (int)sig);
	sdnotify_send("STOPPING=1");
	event_base_loopbreak(run->base);
}

/* SIGHUP: the relay holds its ports, keys and sessions; what a reload may
 * change is the log level, read again from the config file. A file that no
 * longer loads is refused and the settings in force are kept. Everything
 * else in it (ports, keys, limits) needs a restart, and the log says so. */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct relay_run *run = arg;
	char errbuf[RELAY_ERRBUF_BYTES] = "";
	struct relay_config fresh;

	sdnotify_reloading();
	if (relay_config_load(run->path, &fresh, errbuf, sizeof(errbuf)) != 0) {
		log_error("reload: %s; keeping the settings in force", errbuf);
		relay_note_reload(run->relay, "nothing", errbuf);
	} else {
		run->cfg->log_level = fresh.log_level;
		log_init("tether-relay", fresh.log_level);
		log_set_format(fresh.log_format);
		log_info("reload: log level from %s applied; ports, keys and limits need a "
		         "restart", run->path);
		relay_note_reload(run->relay, "log_level", "");
		relay_config_clear(&fresh);
	}
	sdnotify_send("READY=1\nSTATUS=relaying");
}

static int cmd_run(const char *path)
{
	char errbuf[RELAY_ERRBUF_BYTES] = "";
	struct relay_config cfg;
	struct event_base *base = NULL;
	struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL;
	struct sdnotify_watchdog *watchdog = NULL;
	struct relay *relay = NULL;
	struct relay_run run = { NULL, NULL, &cfg, path };
	int rc, status = 1;

	sdnotify_init();

	if ((rc = relay_config_load(path, &cfg, errbuf, sizeof(errbuf))) != 0) {
		fprintf(stderr, "tether-relay: %s\n", errbuf);
		return 1;
	}
	log_init("tether-relay", cfg.log_level);
	log_set_format(cfg.log_format);
	/* Before any listener: the leg limits derive from it (connlimit.h). */
	(void)fdlimit_raise();
	/* A peer that vanishes mid-write must be an error value, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	/* Splicing frees a 16 KiB record buffer for every one it reads; with
	 * glibc's default trim threshold the heap top goes back to the kernel
	 * and is faulted in again for the next record (bench/README.md). */
	mallopt(M_TRIM_THRESHOLD, RELAY_MALLOC_TRIM_BYTES);
	mallopt(M_MMAP_THRESHOLD, RELAY_MALLOC_MMAP_BYTES);
	if ((base = event_base_new()) == NULL) {
		log_error("cannot create the event loop");
		goto out;
	}
	if ((rc = relay_new(base, &cfg, &relay, errbuf, sizeof(errbuf))) != 0) {
		log_error("%s", errbuf);
		goto out;
	}
	/* Ports are bound and keys loaded: nothing below needs root. */
	if ((rc = privdrop_to(cfg.user)) != 0) {
		log_error("cannot drop privileges to user \"%s\": %s", cfg.user, te_strerror(rc));
		goto out;
	}
	run.base = base;
	run.relay = relay;
	sigterm = evsignal_new(base, SIGTERM, on_signal, &run);
	sigint = evsignal_new(base, SIGINT, on_signal, &run);
	sighup = evsignal_new(base, SIGHUP, on_reload, &run);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0 ||
	    evsignal_add(sighup, NULL) != 0) {
		log_error("cannot install signal handlers");
		goto out;
	}
	if (sdnotify_watchdog_new(base, &watchdog) != 0) {
		log_error("cannot start the watchdog timer");
		goto out;
	}
	log_info("relay %s running", cfg.name);
	sdnotify_send("READY=1\nSTATUS=relaying");
	if (event_base_dispatch(base) < 0) {
		log_error("event loop failed");
		goto out;
	}
	status = 0;
out:
	relay_free(relay);
	sdnotify_watchdog_free(watchdog);
	if (sighup != NULL)
		event_free(sighup);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	tls_event_base_free(base);
	relay_config_clear(&cfg);
	return status;
}

static int cmd_audit_verify(const char *path)
{
	char errbuf[RELAY_ERRBUF_BYTES] = "";
	struct relay_config cfg;
	struct audit_verifier v;
	FILE *f;
	int rc;

	if ((rc = relay_config_load(path, &cfg, errbuf, sizeof(errbuf))) != 0) {
		fprintf(stderr, "tether-relay: %s\n", errbuf);
		return 1;
	}
	if ((f = fopen(cfg.audit_log, "r")) == NULL) {
		fprintf(stderr, "tether-relay: no audit log at %s (has the relay run yet?)\n",
		        cfg.audit_log);
		relay_config_clear(&cfg);
		return 1;
	}
	fclose(f);
	audit_verifier_init(&v);
	rc = audit_file_verify(cfg.audit_log, &v);
	if (rc != 0) {
		fprintf(stderr, "audit: %s: %s\n", cfg.audit_log,
		        v.why[0] != '\0' ? v.why : te_strerror(rc));
		relay_config_clear(&cfg);
		return 1;
	}
	printf("audit: %lld records, chain intact\n", (long long)v.count);
	relay_config_clear(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path;
	int rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("tether-relay %s\n", TETHER_VERSION);
		return 0;
	}
	if ((rc = cmdhelp_main("tether-relay", usage_text, "tether-relay(8)",
	                       argc - 1, argv + 1)) >= 0)
		return rc;
	log_init("tether-relay", LOG_LVL_INFO);
	if (argc >= 2 && strcmp(argv[1], "init") == 0) {
		const char *dir, *name;

		if (init_args(argc - 2, argv + 2, &dir, &name) != 0) {
			fprintf(stderr, "tether-relay init: give the folder and the relay's name: "
			        "tether-relay init --dir DIR --name NAME\n");
			return 2;
		}
		return cmd_init(dir, name);
	}
	if (argc >= 2 && strcmp(argv[1], "run") == 0) {
		if ((path = config_arg(argc - 2, argv + 2)) == NULL) {
			fprintf(stderr, "tether-relay run: give the config file: "
			        "tether-relay run --config FILE\n");
			return 2;
		}
		return cmd_run(path);
	}
	if (argc >= 3 && strcmp(argv[1], "audit") == 0 && strcmp(argv[2], "verify") == 0) {
		if ((path = config_arg(argc - 3, argv + 3)) == NULL) {
			fprintf(stderr, "tether-relay audit verify: give the config file: "
			        "tether-relay audit verify --config FILE\n");
			return 2;
		}
		return cmd_audit_verify(path);
	}
	if (argc < 2)
		fprintf(stderr, "tether-relay: no command given\n");
	else
		fprintf(stderr, "tether-relay: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
