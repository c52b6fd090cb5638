/* tunnel.c: the per-session worker process.
 *
 * Worker: TLS to the relay's device port with the device certificate,
 * preamble "TETHER/1 device <ticket>", expect "OK <session>", then a
 * socketpair: one end pumped to TLS by a thread, the other served by the
 * embedded SSH server. The relay only ever sees SSH ciphertext. */
#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agentaudit.h"
#include "childproc.h"
#include "err.h"
#include "log.h"
#include "monitor.h"
#include "sshd.h"
#include "pki.h"
#include "tls.h"

#define TUNNEL_NOTIFY_FD 3
#define TUNNEL_MONITOR_FD 4

struct tunnel_pump {
	SSL *ssl;
	int fd;
	unsigned long long in, out;
	int rc;
};

/* Before SSH runs there is nothing to close cleanly: leave at once. */
static void tunnel_on_term(int sig)
{
	if (!sshd_request_stop())
		_exit(5);
}

static void *tunnel_pump_main(void *arg)
{
	struct tunnel_pump *p = arg;

	p->rc = tls_pump(p->ssl, p->fd, p->fd, &p->in, &p->out);
	/* The relay leg is gone: make the SSH side see EOF too. */
	shutdown(p->fd, SHUT_RDWR);
	return NULL;
}

/* Whole seconds left of the relay leg's deadline (at least 1). */
static int tunnel_deadline_left_s(const struct timespec *start)
{
	struct timespec now;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = TUNNEL_RELAY_DEADLINE_S - (long)(now.tv_sec - start->tv_sec);
	return left > 0 ? (int)left : 1;
}

/* *unusable is set when the relay gave no usable answer in time (no
 * connection, no TLS, no answer to the preamble): another relay may serve
 * the session. A refusal or a wrong certificate is not that. */
static int tunnel_dial(const struct agent_conf *conf, const struct tunnel_spec *spec,
                       SSL **out, int *unusable)
{
	char ca[AGENT_PATH_BYTES], crt[AGENT_PATH_BYTES], key[AGENT_PATH_BYTES];
	char err[256], line[MAX_PREAMBLE_BYTES], pre[MAX_PREAMBLE_BYTES];
	struct timespec start;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int rc, n;

	if ((rc = agentconf_state_path(conf, "ca.crt", ca, sizeof(ca))) != 0 ||
	    (rc = agentconf_state_path(conf, "device.crt", crt, sizeof(crt))) != 0 ||
	    (rc = agentconf_state_path(conf, "device.key", key, sizeof(key))) != 0)
		goto out;
	if ((rc = tls_client_ctx_new(ca, crt, key, &ctx)) != 0 ||
	    (rc = tls_ctx_expect_role(ctx, PKI_ROLE_RELAY)) != 0) {
		log_error("tunnel: cannot load the device identity: %s", te_strerror(rc));
		goto out;
	}
	err[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = tls_connect(ctx, spec->relay_host, spec->relay_port, agentconf_proxy(conf, spec->relay_host),
	                 TUNNEL_RELAY_DEADLINE_S, &ssl, err, sizeof(err));
	if (rc != 0) {
		log_error("tunnel: relay %s:%s: %s", spec->relay_host, spec->relay_port, err);
		*unusable = 1;
		agentaudit_log(conf, "agent", "tunnel_failed", "session %s relay %s:%s: %s",
		               spec->session, spec->relay_host, spec->relay_port, err);
		goto out;
	}
	/* The ticket names the relay: the certificate must be that relay's, so
	 * neither another relay nor the server can take the device leg. */
	if ((rc = tls_peer_check(ssl, PKI_ROLE_RELAY, spec->verified.relay)) != 0) {
		log_error("tunnel: %s:%s is not relay %s", spec->relay_host,
		          spec->relay_port, spec->verified.relay);
		agentaudit_log(conf, "agent", "tunnel_failed", "session %s relay %s:%s: the"
		               " certificate is not relay %s's", spec->session, spec->relay_host,
		               spec->relay_port, spec->verified.relay);
		goto out;
	}
	n = snprintf(pre, sizeof(pre), "TETHER/1 device %s\n", spec->ticket);
	if (n < 0 || (size_t)n >= sizeof(pre)) {
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	if ((rc = tls_write_all(ssl, pre, (size_t)n)) != 0 ||
	    (rc = tls_read_line(ssl, line, sizeof(line), tunnel_deadline_left_s(&start))) != 0) {
		log_error("tunnel: relay preamble: %s", te_strerror(rc));
		*unusable = 1;
		agentaudit_log(conf, "agent", "tunnel_failed", "session %s relay %s:%s: no answer"
		               " to the preamble: %s", spec->session, spec->relay_host,
		               spec->relay_port, te_strerror(rc));
		goto out;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "OK ", 3) != 0) {
		log_error("tunnel: relay refused the device leg: %s", line);
		agentaudit_log(conf, "agent", "tunnel_refused", "session %s relay %s:%s: %s",
		               spec->session, spec->relay_host, spec->relay_port, line);
		rc = TE_ERR_DENIED;
		goto out;
	}
	*out = ssl;
	ssl = NULL;
out:
	secret_wipe(pre, sizeof(pre));
	tls_close(ssl);
	SSL_CTX_free(ctx);
	return rc;
}

int tunnel_worker(const struct agent_conf *conf, const struct tunnel_spec *spec,
                  int notify_fd)
{
	struct tunnel_pump pump;
	struct timespec drain_end;
	enum sshd_end end = SSHD_END_CLOSED;
	pthread_t th;
	int sp[2] = { -1, -1 }, rc, started = 0, unusable = 0;

	memset(&pump, 0, sizeof(pump));
	if ((rc = tunnel_dial(conf, spec, &pump.ssl, &unusable)) != 0)
		return unusable ? TUNNEL_EXIT_RELAY_FAILED : TUNNEL_EXIT_REFUSED;
	log_info("tunnel: session %s connected to relay %s:%s", spec->session,
	         spec->relay_host, spec->relay_port);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		rc = TE_ERR_SYS;
		goto out;
	}
	pump.fd = sp[0];
	if (pthread_create(&th, NULL, tunnel_pump_main, &pump) != 0) {
		rc = TE_ERR_SYS;
		goto out;
	}
	started = 1;
	sshd_visit_proof(spec->proven);     /* visit.h: no second password prompt */
	rc = sshd_serve(conf, &spec->verified, sp[1], notify_fd, &end);   /* owns sp[1] now */
	sp[1] = -1;
	/* SSH is over, but its last packets (a refusal and the banner saying
	 * why, the disconnect) may still be in the socketpair: cutting the
	 * relay leg now would lose them. The pump sends them and close_notify,
	 * and the relay, seeing the device leg end, closes it: a lingering
	 * close. A relay that does neither gets TUNNEL_DRAIN_S, then the leg
	 * is cut, which also unblocks the pump. Then collect the counts. */
	clock_gettime(CLOCK_MONOTONIC, &drain_end);
	drain_end.tv_sec += TUNNEL_DRAIN_S;
	if (pthread_clockjoin_np(th, NULL, CLOCK_MONOTONIC, &drain_end) != 0) {
		log_info("tunnel: session %s: the relay did not close the leg within "
		         "%d s of the SSH end; cutting it", spec->session, TUNNEL_DRAIN_S);
		shutdown(SSL_get_fd(pump.ssl), SHUT_RDWR);
		pthread_join(th, NULL);
	}
	agentaudit_log(conf, "agent", "tunnel_bytes",
	               "session %s bytes from_relay %llu to_relay %llu",
	               spec->session, pump.out, pump.in);
out:
	if (!started && sp[1] >= 0)
		close(sp[1]);
	if (sp[0] >= 0)
		close(sp[0]);
	tls_close(pump.ssl);
	if (end == SSHD_END_IDLE)
		return TUNNEL_EXIT_IDLE;
	if (end == SSHD_END_MAX_DURATION)
		return TUNNEL_EXIT_MAX_DURATION;
	if (end == SSHD_END_NO_AUDIT)
		return TUNNEL_EXIT_NO_AUDIT;
	return rc == 0 ? 0 : 4;
}

int tunnel_start(const struct agent_conf *conf, const struct tunnel_spec *spec,
                 pid_t *out, int *notify)
{
	struct sigaction sa;
	sigset_t all;
	pid_t pid, self = getpid();
	int status, p[2], mfd;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return TE_ERR_SYS;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return TE_ERR_SYS;
	}
	if (pid > 0) {
		close(p[1]);
		*notify = p[0];
		*out = pid;
		return 0;
	}
	/* Child: never outlive the network part (a SIGKILL of it included):
	 * the tunnel goes with it. Then drop everything inherited from the agent's event loop (consent
	 * socket, HTTP connections) and its signal handling. */
	childproc_die_with(self, SIGKILL, 5);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* SIGTERM (END, session_end, agent stop) ends SSH cleanly so channel
	 * byte counts reach the audit log; the parent falls back to SIGKILL. */
	sa.sa_handler = tunnel_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Keep only the notify pipe, as fd 3, and the channel to the monitor
	 * (for shells and diagnostics), as fd 4; moved out of the way first. */
	mfd = monitor_client_fd() >= 0 ? fcntl(monitor_client_fd(), F_DUPFD, 16) : -1;
	if (p[1] != TUNNEL_NOTIFY_FD && dup2(p[1], TUNNEL_NOTIFY_FD) != TUNNEL_NOTIFY_FD)
		_exit(5);
	if (mfd >= 0) {
		if (dup2(mfd, TUNNEL_MONITOR_FD) != TUNNEL_MONITOR_FD)
			_exit(5);
		monitor_client_set(TUNNEL_MONITOR_FD);
		fcntl(TUNNEL_MONITOR_FD, F_SETFD, FD_CLOEXEC);
	}
	close_range(mfd >= 0 ? TUNNEL_MONITOR_FD + 1 : TUNNEL_NOTIFY_FD + 1, ~0U, 0);
	fcntl(TUNNEL_NOTIFY_FD, F_SETFD, FD_CLOEXEC);
	log_init("tether-agent-worker", conf->log_level);
	status = tunnel_worker(conf, spec, TUNNEL_NOTIFY_FD);
	_exit(status);
}

void tunnel_stop(pid_t pid)
{
	if (pid > 0)
		kill(pid, SIGTERM);
}
