/* monitor.c: the agent's monitor and the network part's client of it
 * (see monitor.h). */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "childproc.h"
#include "err.h"
#include "fdlimit.h"
#include "sdnotify.h"
#include "consent.h"
#include "log.h"
#include "privdrop.h"
#include "selfupdate.h"
#include "spawn.h"

struct monitor {
	struct agent_conf *conf;
	monitor_network_fn network;
	enum spawn_mode mode;
	int listen_fd;
	int chan;                    /* our end of the network part's channel */
	int sigfd;
	int hb;                      /* read end of the network part's heartbeat pipe */
	struct timespec hb_last;     /* CLOCK_MONOTONIC of its last heartbeat */
	struct timespec wd_last;     /* of our last WATCHDOG=1 */
	int ready_sent;
	pid_t net;
	time_t net_started, restart_at;
	int backoff_s;
	int stopping;
	int status;
	int reexec;                  /* after the stop: run the binary again (selfupdate.h) */
	char reexec_path[AGENT_PATH_BYTES];   /* which one ("": the monitor's own) */
	struct selfupdate_trial trial;
	pid_t keepers[MONITOR_MAX_KEEPERS];
};

static int monitor_chan = -1;
static int monitor_hb = -1;          /* write end, in the network part */
static pid_t monitor_hb_pid;         /* the network part's pid: only it beats */

int monitor_client_fd(void)
{
	return monitor_chan;
}

void monitor_client_set(int fd)
{
	monitor_chan = fd;
}

void monitor_heartbeat(void)
{
	char b = 'h';

	if (monitor_hb >= 0 && getpid() == monitor_hb_pid)
		(void)!write(monitor_hb, &b, 1);    /* a full pipe already says "alive" */
}

static long monitor_ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* ---- the network part ------------------------------------------------------- */

static void monitor_start_network(struct monitor *m)
{
	sigset_t none;
	int sp[2], hb[2], rc;
	pid_t pid, self = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
		log_error("monitor: socketpair: %s", strerror(errno));
		m->restart_at = time(NULL) + m->backoff_s;
		return;
	}
	if (pipe2(hb, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_error("monitor: pipe: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		m->restart_at = time(NULL) + m->backoff_s;
		return;
	}
	if ((pid = fork()) < 0) {
		log_error("monitor: cannot fork the network part: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		close(hb[0]);
		close(hb[1]);
		m->restart_at = time(NULL) + m->backoff_s;
		return;
	}
	if (pid == 0) {
		close(sp[0]);
		close(hb[0]);
		monitor_hb = hb[1];
		monitor_hb_pid = getpid();
		close(m->sigfd);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Its own group, so that the monitor can end it with its workers. */
		setpgid(0, 0);
		prctl(PR_SET_NAME, "tether-net");
		monitor_client_set(sp[1]);
		if (privdrop_to(m->mode == SPAWN_MODE_SUPPORT_USER ? m->conf->user : "") != 0)
			_exit(MONITOR_EXIT_CONFIG);
		/* privdrop cleared it: a monitor that dies (SIGKILL included)
		 * stops the network part, which ends its sessions with records. */
		childproc_die_with(self, SIGTERM, 1);
		rc = m->network(m->conf, m->listen_fd);
		_exit(rc);
	}
	close(sp[1]);
	close(hb[1]);
	m->chan = sp[0];
	m->hb = hb[0];
	clock_gettime(CLOCK_MONOTONIC, &m->hb_last);
	m->net = pid;
	m->net_started = time(NULL);
	log_info("monitor: network part started (pid %ld)", (long)pid);
}

/* End every keeper: each hangs up and kills its child's group. */
static void monitor_end_keepers(struct monitor *m, int sig)
{
	int i;

	for (i = 0; i < MONITOR_MAX_KEEPERS; i++)
		if (m->keepers[i] > 0)
			kill(m->keepers[i], sig);
}

static int monitor_nkeepers(const struct monitor *m)
{
	int i, n = 0;

	for (i = 0; i < MONITOR_MAX_KEEPERS; i++)
		n += m->keepers[i] > 0;
	return n;
}

/* The network part is gone (or must go): its workers and everything
 * spawned for it go too, then a restart after the backoff. */
static void monitor_network_gone(struct monitor *m, pid_t pid, int status)
{
	time_t now = time(NULL);

	kill(-pid, SIGKILL);
	monitor_end_keepers(m, SIGTERM);
	if (m->chan >= 0)
		close(m->chan);
	m->chan = -1;
	if (m->hb >= 0)
		close(m->hb);
	m->hb = -1;
	m->net = 0;
	if (m->stopping)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == MONITOR_EXIT_UPDATE) {
		log_info("monitor: the agent's binary was replaced; starting it");
		m->stopping = 1;
		m->reexec = 1;
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == MONITOR_EXIT_CONFIG) {
		log_error("monitor: the network part cannot start; stopping");
		m->stopping = 1;
		m->status = 1;
		return;
	}
	m->backoff_s = now - m->net_started >= MONITOR_STABLE_S ? MONITOR_BACKOFF_MIN_S :
	               m->backoff_s * 2 > MONITOR_BACKOFF_MAX_S ? MONITOR_BACKOFF_MAX_S :
	               m->backoff_s * 2;
	m->restart_at = now + m->backoff_s;
	log_error("monitor: the network part (pid %ld) ended (%s %d); restarting in %d s",
	          (long)pid, WIFSIGNALED(status) ? "signal" : "exit",
	          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), m->backoff_s);
}

static void monitor_reap(struct monitor *m)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->net) {
			monitor_network_gone(m, pid, status);
			continue;
		}
		for (i = 0; i < MONITOR_MAX_KEEPERS; i++)
			if (m->keepers[i] == pid)
				m->keepers[i] = 0;
	}
}

/* ---- SPAWN requests ------------------------------------------------------------ */

static void monitor_close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* A message that breaks the protocol: the network part is not to be
 * trusted any more. Kill it; the SIGCHLD path restarts it. */
static void monitor_drop_peer(struct monitor *m, const char *why)
{
	log_error("monitor: bad message from the network part (%s): dropping it", why);
	if (m->net > 0)
		kill(-m->net, SIGKILL);
	if (m->chan >= 0)
		close(m->chan);
	m->chan = -1;
}

static void monitor_start_keeper(struct monitor *m, const struct spawn_req *req, int *fds)
{
	char why[SPAWN_TEXT_BYTES];
	sigset_t none;
	int slot;
	pid_t pid, self = getpid();

	if (spawn_check(m->conf, req, why, sizeof(why)) != 0) {
		log_warn("monitor: refused to start %s for session %s", req->argv[0], req->session);
		spawn_send_status(fds[0], SPAWN_MSG_FAILED, SPAWN_FAIL_REFUSED, why);
		return;
	}
	for (slot = 0; slot < MONITOR_MAX_KEEPERS && m->keepers[slot] > 0; slot++)
		;
	if (slot == MONITOR_MAX_KEEPERS) {
		spawn_send_status(fds[0], SPAWN_MSG_FAILED, SPAWN_FAIL_SYS,
		                  "too many programs running for sessions");
		return;
	}
	if ((pid = fork()) < 0) {
		spawn_send_status(fds[0], SPAWN_MSG_FAILED, SPAWN_FAIL_SYS, "cannot fork");
		return;
	}
	if (pid == 0) {
		close(m->chan);
		close(m->sigfd);
		close(m->listen_fd);
		if (m->hb >= 0)
			close(m->hb);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* A keeper outlives no monitor; its child dies with it. */
		childproc_die_with(self, SIGKILL, 1);
		spawn_keeper(m->conf, m->mode, req, fds + 1, fds[0]);
	}
	m->keepers[slot] = pid;
}

static void monitor_on_message(struct monitor *m)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * (SPAWN_MAX_FDS + 1))];
	} cm;
	uint8_t *buf = NULL;
	struct spawn_req *req = NULL;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	int fds[SPAWN_MAX_FDS + 1], nfds = 0, k, rc;
	ssize_t n;

	if ((buf = malloc(SPAWN_MSG_MAX_BYTES)) == NULL ||
	    (req = malloc(sizeof(*req))) == NULL) {
		free(buf);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = SPAWN_MSG_MAX_BYTES;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.b;
	msg.msg_controllen = sizeof(cm.b);
	n = recvmsg(m->chan, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(m->chan);          /* the network part is going; SIGCHLD follows */
			m->chan = -1;
		}
		goto out;
	}
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (k = 0; k < (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)); k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + (size_t)k * sizeof(int), sizeof(int));
			if (nfds < SPAWN_MAX_FDS + 1)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		monitor_drop_peer(m, "too large");
		goto out;
	}
	if ((rc = spawnmsg_decode_req(buf, (size_t)n, req)) != 0) {
		monitor_drop_peer(m, te_strerror(rc));
		goto out;
	}
	if ((uint32_t)nfds != req->nfds + 1) {
		monitor_drop_peer(m, "wrong number of descriptors");
		goto out;
	}
	monitor_start_keeper(m, req, fds);
out:
	monitor_close_fds(fds, nfds);
	free(req);
	free(buf);
}

/* ---- the loop ------------------------------------------------------------------- */

/* SIGHUP: the log level is what the monitor can take from the config file
 * without a restart; the network part reloads its own (main.c). A file
 * that no longer loads is refused, and the settings in force kept. */
static void monitor_reload(struct monitor *m)
{
	struct agent_conf *fresh = NULL;
	char err[512] = "";

	sdnotify_reloading();
	if (agentconf_load(m->conf->path, &fresh, err, sizeof(err)) != 0) {
		log_error("monitor: reload: %s; keeping the settings in force", err);
	} else {
		m->conf->log_level = fresh->log_level;
		log_init("tether-agent", fresh->log_level);
		log_set_format(fresh->log_format);
		log_info("monitor: reload: log level from %s applied; passing the reload to "
		         "the network part", m->conf->path);
		agentconf_free(fresh);
	}
	if (m->net > 0)
		kill(m->net, SIGHUP);
	sdnotify_send("READY=1\nSTATUS=running");
}

/* A network part whose loop sent nothing for MONITOR_HEARTBEAT_MISS_S is
 * hung (or stopped): kill its group; SIGCHLD restarts it. */
static void monitor_check_heartbeat(struct monitor *m)
{
	char buf[64];

	if (m->hb >= 0)
		while (read(m->hb, buf, sizeof(buf)) > 0)
			clock_gettime(CLOCK_MONOTONIC, &m->hb_last);
	if (m->net <= 0 || m->hb < 0 ||
	    monitor_ms_since(&m->hb_last) < MONITOR_HEARTBEAT_MISS_S * 1000L)
		return;
	log_error("monitor: the network part (pid %ld) sent no heartbeat for %d s: it is "
	          "hung; killing it", (long)m->net, MONITOR_HEARTBEAT_MISS_S);
	kill(-m->net, SIGKILL);
	kill(m->net, SIGKILL);
	close(m->hb);                    /* one kill; SIGCHLD does the rest */
	m->hb = -1;
}

/* The service manager's watchdog: WATCHDOG=1 from this loop every half
 * interval. Returns the poll timeout (ms) until the next one is due. */
static int monitor_watchdog(struct monitor *m)
{
	long half = (long)(sdnotify_watchdog_usec() / 2000), since;

	if (half <= 0)
		return MONITOR_HEARTBEAT_S * 1000;
	since = monitor_ms_since(&m->wd_last);
	if (since >= half) {
		sdnotify_send("WATCHDOG=1");
		clock_gettime(CLOCK_MONOTONIC, &m->wd_last);
		since = 0;
	}
	return (int)(half - since < MONITOR_HEARTBEAT_S * 1000 ? half - since :
	             MONITOR_HEARTBEAT_S * 1000);
}

static void monitor_on_signal(struct monitor *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			monitor_reap(m);
		} else if (si.ssi_signo == SIGHUP) {
			if (!m->stopping)
				monitor_reload(m);
		} else if (!m->stopping) {
			log_info("monitor: signal %u: stopping", si.ssi_signo);
			m->stopping = 1;
		}
	}
}

/* Wait up to ms for children to go, reaping them. */
static void monitor_wait(struct monitor *m, int ms)
{
	struct pollfd pf = { m->sigfd, POLLIN, 0 };
	int waited;

	for (waited = 0; waited < ms && (m->net > 0 || monitor_nkeepers(m) > 0);
	     waited += 100) {
		(void)poll(&pf, 1, 100);
		monitor_on_signal(m);
		monitor_reap(m);
	}
}

static void monitor_stop(struct monitor *m)
{
	if (m->net > 0) {
		/* The network part ends its sessions and audits it. */
		kill(m->net, SIGTERM);
		monitor_wait(m, MONITOR_STOP_GRACE_S * 1000);
		if (m->net > 0)
			kill(-m->net, SIGKILL);
	}
	monitor_end_keepers(m, SIGTERM);
	monitor_wait(m, 2 * SPAWN_KILL_WAIT_MS + 1000);
	monitor_end_keepers(m, SIGKILL);
	monitor_wait(m, 1000);
}

static void monitor_loop(struct monitor *m)
{
	struct pollfd pf[2];
	time_t now;
	int timeout, wd;

	while (!m->stopping) {
		now = time(NULL);
		if (m->net <= 0 && now >= m->restart_at)
			monitor_start_network(m);
		if (!m->ready_sent) {
			sdnotify_send("READY=1\nSTATUS=running");
			m->ready_sent = 1;
		}
		/* The heartbeat pipe is read on each turn; a turn is at most
		 * MONITOR_HEARTBEAT_S, so it needs no slot of its own. */
		monitor_check_heartbeat(m);
		if (selfupdate_trial_check(m->conf, &m->trial, now) < 0) {
			selfupdate_fall_back(m->conf, &m->trial, "the new agent's server did not answer "
			                     "it in time after its start");
			snprintf(m->reexec_path, sizeof(m->reexec_path), "%s", m->trial.bin);
			m->stopping = 1;
			m->reexec = 1;
			break;
		}
		wd = monitor_watchdog(m);
		timeout = m->net > 0 ? wd : (int)(m->restart_at - now + 1) * 1000;
		if (timeout > wd)
			timeout = wd;
		if (m->trial.active && timeout > 1000)
			timeout = 1000;
		pf[0] = (struct pollfd){ m->sigfd, POLLIN, 0 };
		pf[1] = (struct pollfd){ m->chan, POLLIN, 0 };
		if (poll(pf, m->chan >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			monitor_on_signal(m);
		if (m->chan >= 0 && pf[1].revents && !m->stopping)
			monitor_on_message(m);
	}
	sdnotify_send("STOPPING=1");
}

int monitor_run(struct agent_conf *conf, monitor_network_fn network)
{
	struct monitor m;
	sigset_t set;
	int rc;

	memset(&m, 0, sizeof(m));
	m.conf = conf;
	m.network = network;
	m.mode = geteuid() == 0 ? SPAWN_MODE_SUPPORT_USER : SPAWN_MODE_NAMESPACE;
	m.chan = m.sigfd = m.listen_fd = m.hb = -1;
	m.backoff_s = MONITOR_BACKOFF_MIN_S;
	sdnotify_init();                 /* before any fork: only the monitor notifies */
	(void)fdlimit_raise();           /* programs started for sessions get 1024 back */
	privdrop_harden();
	/* Nothing below the monitor may gain privileges by exec (setuid
	 * programs in a specialist's shell included). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "tether-agent run: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return 1;
	}
	if ((rc = consent_socket_open(conf, &m.listen_fd)) != 0) {
		fprintf(stderr, "tether-agent run: consent socket %s: %s (%s)\n",
		        conf->consent_socket, te_strerror(rc), strerror(errno));
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((m.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		fprintf(stderr, "tether-agent run: signalfd: %s\n", strerror(errno));
		close(m.listen_fd);
		return 1;
	}
	log_info("monitor: running as uid %ld; children run %s", (long)geteuid(),
	         m.mode == SPAWN_MODE_SUPPORT_USER ? "as the support user" :
	         "in their own namespaces");
	/* The folder installs are copied into, before any spawn: a
	 * specialist's child in namespace mode gets it covered (spawn.c). */
	{
		char inst[AGENT_PATH_BYTES + 16];

		snprintf(inst, sizeof(inst), "%s-install", conf->state_dir);
		if (mkdir(inst, 0700) != 0 && errno != EEXIST)
			log_warn("monitor: cannot make %s: %s", inst, strerror(errno));
	}
	if (selfupdate_trial_begin(conf, &m.trial) < 0) {
		selfupdate_fall_back(conf, &m.trial, "the new agent started too often without its "
		                     "server answering");
		snprintf(m.reexec_path, sizeof(m.reexec_path), "%s", m.trial.bin);
		m.stopping = 1;
		m.reexec = 1;
	}
	monitor_loop(&m);
	monitor_stop(&m);
	if (m.chan >= 0)
		close(m.chan);
	if (m.hb >= 0)
		close(m.hb);
	close(m.sigfd);
	close(m.listen_fd);
	unlink(conf->consent_socket);
	if (m.reexec)
		selfupdate_reexec(m.reexec_path);   /* returns only when it could not */
	return m.status;
}

/* ---- the client side -------------------------------------------------------------- */

static int monitor_send_req(const struct spawn_req *req, const int *fds, int status_end)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * (SPAWN_MAX_FDS + 1))];
	} cm;
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	int all[SPAWN_MAX_FDS + 1], n;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	uint32_t i;

	if ((n = spawnmsg_encode_req(req, buf, sizeof(buf))) < 0)
		return n;
	all[0] = status_end;
	for (i = 0; i < req->nfds; i++)
		all[i + 1] = fds[i];
	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.b;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (req->nfds + 1));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (req->nfds + 1));
	memcpy(CMSG_DATA(c), all, sizeof(int) * (req->nfds + 1));
	return sendmsg(monitor_chan, &msg, MSG_NOSIGNAL) == n ? 0 : TE_ERR_IO;
}

/* No monitor (unit tests): be the monitor for this one spawn. The keeper
 * is double-forked so that nobody here has to reap it. */
static int monitor_spawn_direct(const struct agent_conf *conf, const struct spawn_req *req,
                                const int *fds, int status_end)
{
	int status;
	pid_t pid;

	if ((pid = fork()) < 0)
		return TE_ERR_SYS;
	if (pid == 0) {
		if ((pid = fork()) == 0)
			spawn_keeper(conf, SPAWN_MODE_NAMESPACE, req, fds, status_end);
		_exit(pid > 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : TE_ERR_SYS;
}

static int monitor_read_status(int fd, int timeout_ms, struct spawn_status *st)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	uint8_t buf[SPAWN_MSG_MAX_BYTES];
	ssize_t n;

	if (poll(&pf, 1, timeout_ms) <= 0)
		return TE_ERR_TIMEOUT;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return errno == EAGAIN ? TE_ERR_TIMEOUT : TE_ERR_IO;
	if (n == 0)
		return TE_ERR_TRUNCATED;
	return spawnmsg_decode_status(buf, (size_t)n, st);
}

int monitor_spawn(const struct agent_conf *conf, const struct spawn_req *req,
                  const int *fds, struct spawn_handle *h, char *why, size_t whysz)
{
	struct spawn_status st;
	int sp[2], rc;

	memset(h, 0, sizeof(*h));
	h->status_fd = -1;
	h->exit_status = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
		snprintf(why, whysz, "cannot make a socket: %s", strerror(errno));
		return TE_ERR_SYS;
	}
	rc = monitor_chan >= 0 ? monitor_send_req(req, fds, sp[1]) :
	     monitor_spawn_direct(conf, req, fds, sp[1]);
	close(sp[1]);
	if (rc != 0) {
		snprintf(why, whysz, "the agent's monitor cannot be reached: %s", te_strerror(rc));
		close(sp[0]);
		return rc;
	}
	rc = monitor_read_status(sp[0], (SPAWN_START_TIMEOUT_S + 5) * 1000, &st);
	if (rc == 0 && st.type == SPAWN_MSG_STARTED) {
		h->status_fd = sp[0];
		h->pid = (pid_t)st.value;
		return 0;
	}
	close(sp[0]);
	if (rc != 0) {
		snprintf(why, whysz, "the agent's monitor did not answer: %s", te_strerror(rc));
		return TE_ERR_SYS;
	}
	snprintf(why, whysz, "%s", st.type == SPAWN_MSG_FAILED && st.text[0] ? st.text :
	         "the program could not be started");
	if (st.type == SPAWN_MSG_FAILED &&
	    (st.value == SPAWN_FAIL_ISOLATE || st.value == SPAWN_FAIL_REFUSED))
		return TE_ERR_DENIED;
	return TE_ERR_SYS;
}

int monitor_spawn_poll(struct spawn_handle *h)
{
	struct spawn_status st;
	int rc;

	if (h->exited)
		return 1;
	rc = monitor_read_status(h->status_fd, 0, &st);
	if (rc == TE_ERR_TIMEOUT)
		return 0;
	h->exited = 1;
	h->exit_status = rc == 0 && st.type == SPAWN_MSG_EXITED ? st.value : -1;
	return 1;
}

void monitor_spawn_stop(struct spawn_handle *h)
{
	struct spawn_status st;

	if (h->status_fd < 0)
		return;
	if (!monitor_spawn_poll(h)) {
		/* The keeper reads EOF as "stop it" and answers with the status. */
		shutdown(h->status_fd, SHUT_WR);
		h->exited = 1;
		if (monitor_read_status(h->status_fd, 2 * SPAWN_KILL_WAIT_MS + 2000, &st) == 0 &&
		    st.type == SPAWN_MSG_EXITED)
			h->exit_status = st.value;
	}
	close(h->status_fd);
	h->status_fd = -1;
}
