/* sshrun.c: tether ssh / tether forward. */
#include "sshrun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "bounds.h"
#include "cliargs.h"
#include "clistate.h"
#include "devices.h"
#include "err.h"
#include "session.h"
#include "visit.h"

#define SSHRUN_OPT_BYTES (PATH_MAX + 64)
#define SSHRUN_NOPTS     10
/* ssh's argv: program, -n or the five forward words, 2 * SSHRUN_NOPTS for
 * the options, the extra arguments, alias, command and the NULL. */
#define SSHRUN_ARGV_MAX  (1 + 5 + 2 * SSHRUN_NOPTS + SSHRUN_MAX_SSH_ARGS + 3)
/* Reads of a session whose connection dropped, a second apart, before it is
 * taken as not ended elsewhere. */
#define SSHRUN_WHY_TRIES 5

struct sshrun {
	const struct cli *cli;
	struct api *a;
	const char *device;
	const char *reason;
	const char *service;      /* forward only */
	int local_port;           /* forward only */
	int remote_port;          /* forward only */
	const char *program;      /* "ssh" or "sftp" */
	const char *command;      /* diag: the diagnostic's name, run as ssh's command */
	const char *actions[SSHRUN_MAX_ACTIONS];
	size_t nactions;
	int escalation;
	int reused;               /* no --reason: the caller's open session, not ended here */
	char *id;                 /* the session, once requested */
	char *hostkey;            /* the device's registered SSH host key */
	char tmpdir[PATH_MAX / 2];  /* "" until created */
	char known_hosts[PATH_MAX];
	char alias[MAX_NAME_BYTES + 16];
	char opts[SSHRUN_NOPTS][SSHRUN_OPT_BYTES];
	char forward[64];
};

/* The signal that asked us to stop (0: none). */
static volatile sig_atomic_t sshrun_stop;

static void sshrun_on_signal(int sig)
{
	sshrun_stop = sig;
}

static void sshrun_signals(int install)
{
	struct sigaction sa;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: sleeps and waitpid must return so we can clean up. */
	sa.sa_handler = install ? sshrun_on_signal : SIG_DFL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int sshrun_parse_forward_spec(const char *spec, int *port, char *service,
                              size_t servicesz, char *errbuf, size_t errsz)
{
	const char *colon = strchr(spec, ':');
	long p = 0;
	const char *c;

	*port = 0;
	if (servicesz > 0)
		service[0] = '\0';
	if (colon == NULL || strchr(colon + 1, ':') != NULL) {
		snprintf(errbuf, errsz, "'%s' is not LOCALPORT:SERVICE (like "
		         "8080:http)", spec);
		return TE_ERR_INVALID;
	}
	/* At most 5 digits, so p cannot overflow before the range check. */
	for (c = spec; c < colon && c - spec < 5 && *c >= '0' && *c <= '9'; c++)
		p = p * 10 + (*c - '0');
	if (c != colon || p < 1 || p > 65535) {
		snprintf(errbuf, errsz, "'%s': the local port must be a number "
		         "1-65535", spec);
		return TE_ERR_INVALID;
	}
	if (cliargs_check_name(colon + 1) != 0 || strlen(colon + 1) >= servicesz) {
		snprintf(errbuf, errsz, "'%s': the service must be a name like http "
		         "(letters, digits, '.', '_', '-')", spec);
		return TE_ERR_INVALID;
	}
	memcpy(service, colon + 1, strlen(colon + 1) + 1);
	*port = (int)p;
	return 0;
}

int sshrun_port_free(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1, rc = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;   /* cannot tell: ssh will say */
	/* As ssh binds it: a socket in TIME_WAIT does not count as in use. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 1) != 0)
		rc = errno == EADDRINUSE ? TE_ERR_EXISTS : TE_ERR_SYS;
	close(fd);
	return rc;
}

int sshrun_proxy_command(const char *exe, const char *id, char *out,
                         size_t outsz)
{
	size_t len = 0;
	const char *p;
	int w;

#define SSHRUN_PUT(str) do { \
		size_t n_ = strlen(str); \
		if (len + n_ >= outsz) return TE_ERR_TOO_LONG; \
		memcpy(out + len, str, n_); len += n_; \
	} while (0)
	SSHRUN_PUT("'");
	for (p = exe; *p != '\0'; p++) {
		char one[2] = { *p, '\0' };

		if (*p == '\'')
			SSHRUN_PUT("'\\''");
		else if (*p == '%')
			SSHRUN_PUT("%%");
		else
			SSHRUN_PUT(one);
	}
	SSHRUN_PUT("'");
#undef SSHRUN_PUT
	w = snprintf(out + len, outsz - len, " connect %s", id);
	if (w < 0 || (size_t)w >= outsz - len)
		return TE_ERR_TOO_LONG;
	return 0;
}

/* A host key line must be one line of printable text. */
static int sshrun_check_hostkey(const char *k)
{
	size_t i, n = strlen(k);

	if (n == 0 || n >= MAX_PEM_BYTES || strchr(k, ' ') == NULL)
		return TE_ERR_INVALID;
	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
			return TE_ERR_INVALID;
	return 0;
}

/* Look up the device: its host key, and for forward the service's port. */
static int sshrun_lookup(struct sshrun *s)
{
	char names[256];
	json_t *dev = NULL;
	const char *key;
	int r;

	if ((r = devices_get(s->a, s->device, &dev)) != 0)
		goto out;
	if (api_get_str(dev, "ssh_hostkey", &key) != 0 ||
	    sshrun_check_hostkey(key) != 0) {
		cliout_error(s->cli, "no_hostkey", "device %s has no valid SSH host "
		             "key registered, so it cannot be verified — re-enroll "
		             "the device", s->device);
		r = TE_ERR_INVALID;
		goto out;
	}
	if ((s->hostkey = strdup(key)) == NULL) {
		r = TE_ERR_NOMEM;
		goto out;
	}
	if (s->service != NULL &&
	    (r = devices_service_port(dev, s->service, &s->remote_port)) != 0) {
		devices_service_names(dev, names, sizeof(names));
		cliout_error(s->cli, "no_such_service", "device %s has no service "
		             "'%s' (it offers: %s) — pick one of those", s->device,
		             s->service, names[0] != '\0' ? names : "none");
		goto out;
	}
out:
	json_decref(dev);
	return r;
}

static int sshrun_write_known_hosts(struct sshrun *s)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f = NULL;
	int fd, n, r = TE_ERR_SYS;

	/* ssh splits UserKnownHostsFile on spaces; keep the path plain. */
	if (tmp == NULL || tmp[0] != '/' || strpbrk(tmp, " \t\"'%") != NULL)
		tmp = "/tmp";
	n = snprintf(s->tmpdir, sizeof(s->tmpdir), "%s/tether-ssh-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(s->tmpdir) || mkdtemp(s->tmpdir) == NULL) {
		s->tmpdir[0] = '\0';
		goto out;
	}
	n = snprintf(s->known_hosts, sizeof(s->known_hosts), "%s/known_hosts",
	             s->tmpdir);
	if (n < 0 || (size_t)n >= sizeof(s->known_hosts)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	fd = open(s->known_hosts, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (fprintf(f, "%s %s\n", s->alias, s->hostkey) < 0)
		goto out;
	r = 0;
out:
	if (f != NULL && fclose(f) != 0)
		r = TE_ERR_SYS;
	if (r != 0)
		cliout_error(s->cli, "tmp_failed", "cannot write a known_hosts file "
		             "under %s: %s — check TMPDIR", tmp, strerror(errno));
	return r;
}

static void sshrun_cleanup_tmp(struct sshrun *s)
{
	if (s->tmpdir[0] == '\0')
		return;
	unlink(s->known_hosts);
	rmdir(s->tmpdir);
	s->tmpdir[0] = '\0';
}

/* "key=value" into an ssh option slot. */
static int sshrun_opt(char *dst, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = strlen(val);

	if (kl + vl + 1 > SSHRUN_OPT_BYTES)
		return TE_ERR_TOO_LONG;
	memcpy(dst, key, kl);
	memcpy(dst + kl, val, vl + 1);
	return 0;
}

int sshrun_cpu_aes(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int aes = 0;

	if (f == NULL)
		return 0;
	while (!aes && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "flags", 5) == 0 && strstr(line, " aes") != NULL) {
			const char *p = strstr(line, " aes");

			aes = p[4] == ' ' || p[4] == '\n' || p[4] == '\0';
		}
	fclose(f);
	return aes;
}

/* Fill argv (SSHRUN_ARGV_MAX slots) for ssh. */
static int sshrun_argv(struct sshrun *s, char **extra, int nextra, char **argv)
{
	char exe[PATH_MAX], proxy[PATH_MAX * 2];
	ssize_t n;
	int i, k = 0, o = 0, r;

	if (nextra < 0 || nextra > SSHRUN_MAX_SSH_ARGS)
		return TE_ERR_TOO_LONG;   /* the callers refuse more, with a message */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		cliout_error(s->cli, "no_exe", "cannot find this program's own path "
		             "in /proc/self/exe: %s", strerror(errno));
		return TE_ERR_SYS;
	}
	exe[n] = '\0';
	if ((r = sshrun_proxy_command(exe, s->id, proxy, sizeof(proxy))) != 0)
		return r;
	argv[k++] = (char *)s->program;
	if (s->command != NULL)
		argv[k++] = "-n";     /* a diagnostic reads nothing */
	if (s->service != NULL) {
		snprintf(s->forward, sizeof(s->forward), "127.0.0.1:%d:127.0.0.1:%d",
		         s->local_port, s->remote_port);
		argv[k++] = "-N";
		argv[k++] = "-o";
		argv[k++] = "ExitOnForwardFailure=yes";
		argv[k++] = "-L";
		argv[k++] = s->forward;
	}
	if (sshrun_opt(s->opts[o++], "ProxyCommand=", proxy) != 0 ||
	    sshrun_opt(s->opts[o++], "UserKnownHostsFile=", s->known_hosts) != 0 ||
	    sshrun_opt(s->opts[o++], "StrictHostKeyChecking=", "yes") != 0 ||
	    sshrun_opt(s->opts[o++], "HostKeyAlias=", s->alias) != 0 ||
	    sshrun_opt(s->opts[o++], "GlobalKnownHostsFile=", "/dev/null") != 0 ||
	    sshrun_opt(s->opts[o++], "UpdateHostKeys=", "no") != 0 ||
	    sshrun_opt(s->opts[o++], "User=", SSHRUN_SUPPORT_USER) != 0 ||
	    (sshrun_cpu_aes() &&
	     sshrun_opt(s->opts[o++], "Ciphers=", SSHRUN_AES_FIRST) != 0)) {
		cliout_error(s->cli, "too_long", "the ssh options are too long (is "
		             "this program installed under a very long path?)");
		return TE_ERR_TOO_LONG;
	}
	for (i = 0; i < o; i++) {
		argv[k++] = "-o";
		argv[k++] = s->opts[i];
	}
	for (i = 0; i < nextra; i++)
		argv[k++] = extra[i];
	argv[k++] = s->alias;
	if (s->command != NULL)
		argv[k++] = (char *)s->command;
	argv[k] = NULL;
	return 0;
}

/* Wait for ssh. SIGTERM/SIGHUP (and SIGINT for forward) stop it; for an
 * interactive ssh, Ctrl-C belongs to the remote shell. *stopped is set when
 * we stopped it. Returns ssh's wait status. */
static int sshrun_wait_child(struct sshrun *s, pid_t pid, int *stopped)
{
	int status = 0, killed = 0;
	time_t kill_at = 0;
	pid_t w;

	*stopped = 0;
	for (;;) {
		w = waitpid(pid, &status, killed ? WNOHANG : 0);
		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR)
			return 0;
		if (sshrun_stop == SIGINT && s->service == NULL)
			sshrun_stop = 0;
		if (sshrun_stop != 0 && !killed) {
			/* End it at the server first, so the trail says the
			 * specialist ended it rather than that a leg dropped. */
			if (!s->reused)
				(void)session_end(s->a, s->id, NULL);
			kill(pid, SIGTERM);
			killed = 1;
			*stopped = 1;
			kill_at = time(NULL) + SSHRUN_KILL_GRACE_S;
		}
		if (killed) {
			if (time(NULL) >= kill_at)
				kill(pid, SIGKILL);
			usleep(100 * 1000);
		}
	}
}

static int sshrun_spawn(struct sshrun *s, char **extra, int nextra,
                        int *status, int *stopped)
{
	char *argv[SSHRUN_ARGV_MAX];
	char home[PATH_MAX];
	pid_t pid;
	int r;

	if ((r = sshrun_argv(s, extra, nextra, argv)) != 0)
		return r;
	/* `tether connect` (ssh's ProxyCommand) must find this same login. */
	if (clistate_dir(home, sizeof(home)) == 0)
		setenv("TETHER_HOME", home, 1);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		cliout_error(s->cli, "fork_failed", "cannot start ssh: %s",
		             strerror(errno));
		return TE_ERR_SYS;
	}
	if (pid == 0) {
		sshrun_signals(0);
		execvp(s->program, argv);
		fprintf(stderr, "tether: cannot run %s: %s — install the OpenSSH "
		        "client (%s must be on PATH)\n", s->program, strerror(errno),
		        s->program);
		_exit(127);
	}
	if (s->service != NULL)
		fprintf(stderr, "forwarding 127.0.0.1:%d -> %s %s; press Ctrl-C to "
		        "stop\n", s->local_port, s->device, s->service);
	*status = sshrun_wait_child(s, pid, stopped);
	return 0;
}

/* --json: the session id, on one line of stdout before ssh runs, so that a
 * script can follow or end the session while ssh holds the terminal. */
static void sshrun_print_session(const struct sshrun *s)
{
	json_t *o;

	if (!s->cli->json)
		return;
	o = json_pack("{s:s, s:s}", "session", s->id, "device", s->device);
	if (o != NULL && s->service != NULL) {
		json_object_set_new(o, "service", json_string(s->service));
		json_object_set_new(o, "local_port", json_integer(s->local_port));
	}
	if (o != NULL && json_dumpf(o, stdout, JSON_COMPACT) == 0)
		putchar('\n');
	fflush(stdout);
	json_decref(o);
}

/* No --reason: the caller's open session on the device, which must grant
 * what this command needs. */
static int sshrun_reuse(struct sshrun *s)
{
	const char *need[SSHRUN_MAX_ACTIONS + 1];
	char fwd[MAX_NAME_BYTES + 8];
	size_t n = 0, i;

	for (i = 0; i < s->nactions && n < SSHRUN_MAX_ACTIONS; i++)
		need[n++] = s->actions[i];
	if (s->service != NULL) {
		snprintf(fwd, sizeof(fwd), "forward:%s", s->service);
		need[n++] = fwd;
	}
	if (visit_open_session(s->cli, s->a, s->device, need, n, &s->id) != 0)
		return TE_ERR_NOT_FOUND;
	s->reused = 1;
	sshrun_print_session(s);
	return 0;
}

/* Request, wait for consent, run ssh, end the session. Returns exit code. */
static int sshrun_run(struct sshrun *s, char **extra, int nextra)
{
	const char *services[1] = { s->service };
	struct session_ask ask = { 0 };
	json_t *resp = NULL;
	int status = 0, stopped = 0, rc = CLI_EXIT_FAIL, r;

	snprintf(s->alias, sizeof(s->alias), "%s%s", SSHRUN_HOST_PREFIX, s->device);
	if (api_open(s->cli, 0, &s->a) != 0 || sshrun_lookup(s) != 0)
		goto out;
	sshrun_stop = 0;
	sshrun_signals(1);
	ask.device = s->device;
	ask.reason = s->reason;
	ask.services = services;
	ask.nservices = s->service != NULL ? 1 : 0;
	ask.actions = s->actions;
	ask.nactions = s->nactions;
	ask.escalation = s->escalation;
	if (s->program == NULL)
		s->program = "ssh";
	if (s->reason == NULL) {
		/* A visit: what the caller holds already, no new consent. */
		if (sshrun_reuse(s) != 0)
			goto out;
		r = 0;
	} else {
		if (session_request(s->a, &ask, &s->id, &resp) != 0)
			goto out;
		sshrun_print_session(s);
		session_say_waiting(resp, s->id, s->device);
		r = session_wait(s->a, s->id, SESSION_WAIT_DEFAULT_S, &sshrun_stop, NULL);
	}
	if (r == TE_ERR_DENIED)
		goto out;       /* final already; nothing to end */
	if (r != 0) {
		if (r == TE_ERR_IO)
			fprintf(stderr, "tether: stopped before the operator answered\n");
		rc = sshrun_stop != 0 && s->service != NULL ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		goto end;
	}
	if (sshrun_write_known_hosts(s) != 0 ||
	    sshrun_spawn(s, extra, nextra, &status, &stopped) != 0)
		goto end;
	if (s->service != NULL) {
		if (stopped || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
			rc = CLI_EXIT_OK;
		else
			cliout_error(s->cli, "ssh_failed", "ssh stopped forwarding "
			             "(status %d) — see its messages above",
			             WIFEXITED(status) ? WEXITSTATUS(status) : 255);
	} else if (WIFEXITED(status)) {
		rc = WEXITSTATUS(status);
	} else {
		rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : CLI_EXIT_FAIL;
	}
	/* Ended elsewhere (the operator, the site's switch, a limit, a
	 * revocation)? Say why; a dropped connection (ssh's 255) gives the
	 * server a few seconds to learn it. */
	if (!stopped && session_ended_why(s->a, s->id, WIFEXITED(status) &&
	                                  WEXITSTATUS(status) == 255 ? SSHRUN_WHY_TRIES : 1))
		goto out;
end:
	if (!s->reused && session_end(s->a, s->id, NULL) == 0)
		fprintf(stderr, "session %s ended\n", s->id);
out:
	json_decref(resp);
	sshrun_signals(0);
	sshrun_cleanup_tmp(s);
	free(s->id);
	free(s->hostkey);
	api_free(s->a);
	return rc;
}

/* The checks ssh and forward share: a reason and a device serial. */
static int sshrun_check_request(const char *cmd, const char *reason,
                                const char *device)
{
	/* No --reason: the caller's open session on the device (a visit). */
	if (reason != NULL && cliargs_check_reason(reason) != 0)
		return TE_ERR_INVALID;
	if (cliargs_check_name(device) != 0) {
		cliout_usage("%s: '%s' is not a device serial", cmd, device);
		return TE_ERR_INVALID;
	}
	return 0;
}

int sshrun_take_flag(int *argc, char **argv, const char *flag)
{
	int i, found = 0;

	for (i = 0; i < *argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], flag) != 0)
			continue;
		memmove(argv + i, argv + i + 1, (size_t)(*argc - i - 1) * sizeof(*argv));
		(*argc)--;
		argv[*argc] = NULL;
		found = 1;
		i--;
	}
	return found;
}

/* --patient-records and --escalation, shared by ssh, sftp and diag. */
static void sshrun_common_flags(struct sshrun *s, int *argc, char **argv)
{
	if (sshrun_take_flag(argc, argv, "--patient-records"))
		s->actions[s->nactions++] = "patient_records";
	s->escalation = sshrun_take_flag(argc, argv, "--escalation");
}

/* ssh and sftp: DEVICE --reason TEXT [-- ARGS], the ARGS for the program
 * that s runs. */
static int sshrun_with_args(const struct cli *cli, int argc, char **argv,
                            const char *cmd, struct sshrun *s)
{
	const char *reason = NULL, *pos[1];
	const struct cliargs_opt opts[] = {
		{ "--reason", &reason, NULL, 0, NULL },
	};
	size_t npos;
	int rest;

	sshrun_common_flags(s, &argc, argv);
	if (cliargs_parse(cmd, argc, argv, opts, 1, pos, 1, 1, &npos, &rest) != 0 ||
	    sshrun_check_request(cmd, reason, pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (argc - rest > SSHRUN_MAX_SSH_ARGS) {
		cliout_usage("%s: at most %d %s arguments after --", cmd,
		             SSHRUN_MAX_SSH_ARGS, cmd);
		return CLI_EXIT_USAGE;
	}
	s->cli = cli;
	s->device = pos[0];
	s->reason = reason;
	return sshrun_run(s, argv + rest, argc - rest);
}

int sshrun_ssh_main(const struct cli *cli, int argc, char **argv)
{
	struct sshrun s;

	memset(&s, 0, sizeof(s));
	s.actions[s.nactions++] = "shell";
	return sshrun_with_args(cli, argc, argv, "ssh", &s);
}

int sshrun_forward_main(const struct cli *cli, int argc, char **argv)
{
	const char *reason = NULL, *pos[2];
	const struct cliargs_opt opts[] = {
		{ "--reason", &reason, NULL, 0, NULL },
	};
	char service[MAX_NAME_BYTES], err[256];
	struct sshrun s;
	size_t npos;
	int r;

	memset(&s, 0, sizeof(s));
	if (cliargs_parse("forward", argc, argv, opts, 1, pos, 2, 2, &npos,
	                  NULL) != 0 ||
	    sshrun_check_request("forward", reason, pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (sshrun_parse_forward_spec(pos[1], &s.local_port, service,
	                              sizeof(service), err, sizeof(err)) != 0) {
		cliout_usage("forward: %s", err);
		return CLI_EXIT_USAGE;
	}
	/* Refused here, before any session is asked for that ssh could not use. */
	if ((r = sshrun_port_free(s.local_port)) != 0) {
		cliout_error(cli, "port_in_use", "local port 127.0.0.1:%d %s — pick another"
		             " LOCALPORT; no session was requested", s.local_port,
		             r == TE_ERR_EXISTS ? "is already in use" : "cannot be listened on");
		return CLI_EXIT_FAIL;
	}
	s.cli = cli;
	s.device = pos[0];
	s.reason = reason;
	s.service = service;
	return sshrun_run(&s, NULL, 0);
}

int sshrun_sftp_main(const struct cli *cli, int argc, char **argv)
{
	struct sshrun s;

	memset(&s, 0, sizeof(s));
	s.actions[s.nactions++] = "files:read";
	if (sshrun_take_flag(&argc, argv, "--upload"))
		s.actions[s.nactions++] = "files:write";
	s.program = "sftp";
	return sshrun_with_args(cli, argc, argv, "sftp", &s);
}

int sshrun_diag_main(const struct cli *cli, int argc, char **argv)
{
	const char *reason = NULL, *pos[2];
	const struct cliargs_opt opts[] = {
		{ "--reason", &reason, NULL, 0, NULL },
	};
	char action[MAX_NAME_BYTES + 8];
	struct sshrun s;
	size_t npos;

	memset(&s, 0, sizeof(s));
	sshrun_common_flags(&s, &argc, argv);
	if (cliargs_parse("diag", argc, argv, opts, 1, pos, 2, 2, &npos, NULL) != 0 ||
	    sshrun_check_request("diag", reason, pos[0]) != 0)
		return CLI_EXIT_USAGE;
	if (cliargs_check_name(pos[1]) != 0 || strlen(pos[1]) >= MAX_NAME_BYTES) {
		cliout_usage("diag: '%s' is not a diagnostic name (letters, digits, "
		             "'.', '_', '-')", pos[1]);
		return CLI_EXIT_USAGE;
	}
	snprintf(action, sizeof(action), "diag:%s", pos[1]);
	s.actions[s.nactions++] = action;
	s.cli = cli;
	s.device = pos[0];
	s.reason = reason;
	s.command = pos[1];
	return sshrun_run(&s, NULL, 0);
}
