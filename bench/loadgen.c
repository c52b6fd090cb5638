/* loadgen.c: tether-bench-loadgen, a bounded load generator for
 * bench/capacity, on loopback only.
 *
 *   tether-bench-loadgen --ca CA --cert CRT --key KEY --port PORT --conns N
 *                        --seconds S [--src-base 127.0.0.2] [--hold H]
 *                        [--reopen-rate R]
 *
 * Holds N TLS 1.3 connections to 127.0.0.1:PORT with a device certificate,
 * as N agents would: each one sends POST /api/v1/ping with
 * {"status":"ok","wait":true} (and "hold_s":H with --hold), reads the
 * answer (Content-Length delimited, head and body bounded) and sends the
 * next ping on the same kept-alive connection at once. The sources are
 * spread over SRC-BASE, SRC-BASE+1, ... (LG_CONNS_PER_SOURCE each). A
 * connection that fails is counted, closed and opened again, at most
 * LG_REOPENS_PER_S a second (R with --reopen-rate: bench/reconnect lets a
 * whole fleet come back after a server restart as fast as agents would,
 * whose first retry is spread over half a second); at most LG_MAX_PENDING are between connect and
 * the end of their handshake at any time, so that the start is a ramp and
 * not N handshakes at once.
 *
 * stdout: "ready" once every one of the N has sent its first ping, and at
 * the end (after S seconds, or SIGTERM/SIGINT) one line of counts:
 *   opened O handshakes H answered A failures F
 * Failure reasons (the first LG_MAX_REPORTS) go to stderr.
 *
 * One thread, nonblocking sockets, level-triggered epoll, OpenSSL driven
 * directly (SSL_set_fd): per connection a socket, an SSL and a small head
 * buffer, no more. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_CONNS         20000
#define LG_MAX_SECONDS       300
#define LG_MAX_HOLD_S        300      /* the server's LONGPOLL_MAX_S */
#define LG_CONNS_PER_SOURCE  1000     /* connections per source address */
#define LG_MAX_PENDING       256      /* connects and handshakes in flight */
#define LG_REOPENS_PER_S     200      /* reopening failed connections */
#define LG_HEAD_BYTES        4096     /* an answer's status line and headers */
#define LG_MAX_BODY_BYTES    (1L << 20)
#define LG_EVENTS            512      /* epoll events per wait */
#define LG_WAIT_MS           100
#define LG_STEPS_PER_EVENT   256      /* state changes per wakeup of one connection */
#define LG_MAX_REPORTS       10
#define LG_REQ_BYTES         512
#define LG_FD_ROOM           64       /* descriptors besides the connections */

enum lg_state {
	LG_CLOSED,       /* waiting in the open queue */
	LG_CONNECTING,
	LG_HANDSHAKE,
	LG_WRITING,
	LG_READ_HEAD,
	LG_READ_BODY,
};

struct lg_conn {
	int fd;
	SSL *ssl;
	enum lg_state st;
	uint32_t events;        /* what epoll waits for on fd */
	int first_sent;         /* its first ping was written, once */
	int opened_before;      /* a reopen, limited by LG_REOPENS_PER_S */
	int kick;               /* stopped at LG_STEPS_PER_EVENT, run again */
	size_t out_off;
	size_t head_len;
	long body_left;
	int close_after;        /* the answer said Connection: close */
	char head[LG_HEAD_BYTES];
};

struct lg {
	SSL_CTX *ctx;
	int ep;
	struct sockaddr_in dst;
	uint32_t src_base;      /* host order */
	long nsrc;
	long n;
	struct lg_conn *conns;
	long *queue;            /* ring of closed slots to open */
	long q_head, q_len;
	long pending;
	long first_sent;
	long kicks;
	long reopen_rate;       /* reopens a second */
	char req[LG_REQ_BYTES];
	size_t req_len;
	/* the counts printed at the end */
	long opened, handshakes, answered, failures;
	long reports;
};

static volatile sig_atomic_t lg_stop;

static void lg_on_signal(int sig)
{
	(void)sig;
	lg_stop = 1;
}

static double lg_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lg_usage(void)
{
	fprintf(stderr, "usage: tether-bench-loadgen --ca CA --cert CRT --key KEY --port PORT"
	        " --conns N --seconds S [--src-base 127.0.0.2] [--hold H] [--reopen-rate R]\n"
	        "  N <= %d, S <= %d, H 1..%d, R 1..%d (default %d);"
	        " the destination is always 127.0.0.1\n",
	        LG_MAX_CONNS, LG_MAX_SECONDS, LG_MAX_HOLD_S, LG_MAX_CONNS, LG_REOPENS_PER_S);
}

static int lg_number(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* OpenSSL's last error as text ("" when there is none). */
static const char *lg_ssl_error(char *buf, size_t len)
{
	unsigned long code = ERR_get_error();

	buf[0] = '\0';
	if (code != 0)
		ERR_error_string_n(code, buf, len);
	ERR_clear_error();
	return buf;
}

static void lg_report(struct lg *g, long i, const char *fmt, ...)
{
	va_list ap;

	if (g->reports >= LG_MAX_REPORTS)
		return;
	if (++g->reports == LG_MAX_REPORTS)
		fprintf(stderr, "tether-bench-loadgen: (further failures are only counted)\n");
	fprintf(stderr, "tether-bench-loadgen: connection %ld: ", i);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void lg_queue_push(struct lg *g, long i)
{
	g->queue[(g->q_head + g->q_len) % g->n] = i;
	g->q_len++;
}

static long lg_queue_pop(struct lg *g)
{
	long i = g->queue[g->q_head];

	g->q_head = (g->q_head + 1) % g->n;
	g->q_len--;
	return i;
}

static int lg_want(struct lg *g, struct lg_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return 0;
	if (epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		return -1;
	c->events = events;
	return 0;
}

/* Close a connection that failed (or ended), count it and queue it again. */
static void lg_fail(struct lg *g, struct lg_conn *c, int count)
{
	if (c->st == LG_CONNECTING || c->st == LG_HANDSHAKE)
		g->pending--;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);   /* also leaves the epoll set */
	c->fd = -1;
	c->st = LG_CLOSED;
	c->kick = 0;
	if (count)
		g->failures++;
	lg_queue_push(g, c - g->conns);
}

static void lg_open(struct lg *g, long i)
{
	struct lg_conn *c = &g->conns[i];
	struct sockaddr_in src;
	struct epoll_event ev;
	int one = 1;

	g->opened++;
	c->opened_before = 1;
	c->events = EPOLLOUT;
	c->st = LG_CONNECTING;
	g->pending++;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(g->src_base + (uint32_t)(i % g->nsrc));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		lg_report(g, i, "socket: %s", strerror(errno));
		lg_fail(g, c, 1);
		return;
	}
	/* The port is picked at connect, per 4-tuple: more than the ephemeral
	 * range's worth of connections over all the sources. */
	(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    (connect(c->fd, (struct sockaddr *)&g->dst, sizeof(g->dst)) != 0 &&
	     errno != EINPROGRESS)) {
		lg_report(g, i, "connect: %s", strerror(errno));
		lg_fail(g, c, 1);
		return;
	}
	ev.events = c->events;
	ev.data.ptr = c;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		lg_report(g, i, "epoll_ctl: %s", strerror(errno));
		lg_fail(g, c, 1);
	}
}

/* The answer's head is in c->head[0..end); the status and Content-Length. */
static int lg_parse_head(struct lg *g, struct lg_conn *c, size_t end)
{
	long i = c - g->conns;
	char *line, *next, *stop = c->head + end;
	long len = -1;
	int status;

	c->head[end] = '\0';
	if (sscanf(c->head, "HTTP/1.%*1[01] %3d", &status) != 1) {
		lg_report(g, i, "not an HTTP/1.x answer");
		return -1;
	}
	c->close_after = 0;
	for (line = strstr(c->head, "\r\n"); line != NULL && line < stop; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (strncasecmp(line, "Content-Length:", 15) == 0 &&
		    (sscanf(line + 15, " %ld", &len) != 1 || len < 0 || len > LG_MAX_BODY_BYTES)) {
			lg_report(g, i, "bad or too large Content-Length");
			return -1;
		}
		if (strncasecmp(line, "Connection:", 11) == 0 && strstr(line, "close") != NULL &&
		    (next == NULL || strstr(line, "close") < next))
			c->close_after = 1;
	}
	if (len < 0) {
		lg_report(g, i, "answer without Content-Length");
		return -1;
	}
	if (status != 200) {
		lg_report(g, i, "answer %d", status);
		return -1;
	}
	c->body_left = len;
	return 0;
}

/* SSL said no progress: wait for what it wants, or fail. */
static int lg_ssl_wait(struct lg *g, struct lg_conn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);
	char why[256];

	if (e == SSL_ERROR_WANT_READ)
		return lg_want(g, c, EPOLLIN);
	if (e == SSL_ERROR_WANT_WRITE)
		return lg_want(g, c, EPOLLOUT);
	lg_report(g, c - g->conns, "%s: %s %s", what,
	          e == SSL_ERROR_ZERO_RETURN ? "closed by the server" :
	          e == SSL_ERROR_SYSCALL ? "connection dropped" : "TLS error",
	          lg_ssl_error(why, sizeof(why)));
	return -1;
}

/* Drive one connection until it would block; -1: it failed. */
static int lg_step(struct lg *g, struct lg_conn *c)
{
	static char sink[16384];
	int r, err;
	socklen_t elen = sizeof(err);
	char *crlf;

	c->kick = 0;
	for (int steps = 0; steps < LG_STEPS_PER_EVENT; steps++) {
		switch (c->st) {
		case LG_CLOSED:
			return 0;
		case LG_CONNECTING:
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
				lg_report(g, c - g->conns, "connect: %s", strerror(err));
				return -1;
			}
			if ((c->ssl = SSL_new(g->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
				return -1;
			c->st = LG_HANDSHAKE;
			break;
		case LG_HANDSHAKE:
			if ((r = SSL_connect(c->ssl)) != 1)
				return lg_ssl_wait(g, c, r, "handshake");
			g->handshakes++;
			g->pending--;
			c->st = LG_WRITING;
			c->out_off = 0;
			break;
		case LG_WRITING:
			r = SSL_write(c->ssl, g->req + c->out_off, (int)(g->req_len - c->out_off));
			if (r <= 0)
				return lg_ssl_wait(g, c, r, "write");
			c->out_off += (size_t)r;
			if (c->out_off < g->req_len)
				break;
			if (!c->first_sent) {
				c->first_sent = 1;
				g->first_sent++;
			}
			c->st = LG_READ_HEAD;
			c->head_len = 0;
			break;
		case LG_READ_HEAD:
			if (c->head_len >= sizeof(c->head) - 1) {
				lg_report(g, c - g->conns, "answer head over %d bytes", LG_HEAD_BYTES - 1);
				return -1;
			}
			r = SSL_read(c->ssl, c->head + c->head_len, (int)(sizeof(c->head) - 1 - c->head_len));
			if (r <= 0)
				return lg_ssl_wait(g, c, r, "read");
			c->head_len += (size_t)r;
			c->head[c->head_len] = '\0';
			if ((crlf = strstr(c->head, "\r\n\r\n")) == NULL)
				break;
			{
				size_t end = (size_t)(crlf - c->head) + 4;
				long extra = (long)(c->head_len - end);

				if (lg_parse_head(g, c, end) != 0)
					return -1;
				/* One answer per ping: nothing may follow its body. */
				if (extra > c->body_left) {
					lg_report(g, c - g->conns, "bytes after the answer's body");
					return -1;
				}
				c->body_left -= extra;
			}
			c->st = LG_READ_BODY;
			break;
		case LG_READ_BODY:
			if (c->body_left > 0) {
				r = SSL_read(c->ssl, sink, c->body_left < (long)sizeof(sink) ?
				                           (int)c->body_left : (int)sizeof(sink));
				if (r <= 0)
					return lg_ssl_wait(g, c, r, "read");
				c->body_left -= r;
				break;
			}
			g->answered++;
			if (c->close_after) {
				lg_report(g, c - g->conns, "the server closed the kept connection");
				return -1;
			}
			c->st = LG_WRITING;
			c->out_off = 0;
			break;
		}
	}
	/* Bytes may sit in OpenSSL's buffer, which epoll does not see. */
	c->kick = 1;
	g->kicks++;
	return 0;
}

/* Open queued slots: never more than LG_MAX_PENDING in flight, and slots
 * that were open before at most *budget more this second. */
static void lg_open_some(struct lg *g, long *budget)
{
	long tries = g->q_len;

	while (tries-- > 0 && g->q_len > 0 && g->pending < LG_MAX_PENDING) {
		long i = g->queue[g->q_head];

		if (g->conns[i].opened_before) {
			if (*budget <= 0)
				return;
			(*budget)--;
		}
		lg_queue_pop(g);
		lg_open(g, i);
	}
}

static int lg_run(struct lg *g, long seconds)
{
	struct epoll_event evs[LG_EVENTS];
	double start = lg_now_s(), end = start + (double)seconds, next_budget = start + 1;
	long budget = g->reopen_rate;
	int ready = 0;

	for (long i = 0; i < g->n; i++)
		lg_queue_push(g, i);
	while (!lg_stop && lg_now_s() < end) {
		int nev;

		if (lg_now_s() >= next_budget) {
			budget = g->reopen_rate;
			next_budget = lg_now_s() + 1;
		}
		lg_open_some(g, &budget);
		nev = epoll_wait(g->ep, evs, LG_EVENTS, g->kicks > 0 ? 0 : LG_WAIT_MS);
		if (nev < 0 && errno != EINTR) {
			perror("tether-bench-loadgen: epoll_wait");
			return -1;
		}
		for (int k = 0; k < nev; k++) {
			struct lg_conn *c = evs[k].data.ptr;

			if (c->st != LG_CLOSED && lg_step(g, c) != 0)
				lg_fail(g, c, 1);
		}
		if (g->kicks > 0) {
			g->kicks = 0;
			for (long i = 0; i < g->n; i++)
				if (g->conns[i].kick && lg_step(g, &g->conns[i]) != 0)
					lg_fail(g, &g->conns[i], 1);
		}
		if (!ready && g->first_sent == g->n) {
			ready = 1;
			fprintf(stderr, "tether-bench-loadgen: %ld connections pinging after %.1f s\n",
			        g->n, lg_now_s() - start);
			printf("ready\n");
			fflush(stdout);
		}
	}
	if (!ready)
		fprintf(stderr, "tether-bench-loadgen: only %ld of %ld connections sent a ping\n",
		        g->first_sent, g->n);
	return 0;
}

static int lg_tls(struct lg *g, const char *ca, const char *crt, const char *key)
{
	X509_VERIFY_PARAM *vp;
	char why[256];

	if ((g->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(g->ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(g->ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(g->ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(g->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(g->ctx) != 1) {
		fprintf(stderr, "tether-bench-loadgen: TLS setup (--ca, --cert, --key): %s\n",
		        lg_ssl_error(why, sizeof(why)));
		return -1;
	}
	SSL_CTX_set_verify(g->ctx, SSL_VERIFY_PEER, NULL);
	vp = SSL_CTX_get0_param(g->ctx);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, "127.0.0.1") != 1)
		return -1;
	/* Every connection pays a full handshake, as a new agent does. */
	SSL_CTX_set_session_cache_mode(g->ctx, SSL_SESS_CACHE_OFF);
	/* Idle connections give their read and write buffers back. */
	SSL_CTX_set_mode(g->ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	                         SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

int main(int argc, char **argv)
{
	const char *ca = NULL, *crt = NULL, *key = NULL, *src = "127.0.0.2";
	long port = 0, conns = 0, seconds = 0, hold = 0;
	struct lg g;
	struct in_addr a;
	struct rlimit rl;
	struct sigaction sa;
	char body[96];
	int rc = 1;

	memset(&g, 0, sizeof(g));
	g.ep = -1;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL) {
			lg_usage();
			return 2;
		}
		if (strcmp(argv[i], "--ca") == 0)
			ca = v;
		else if (strcmp(argv[i], "--cert") == 0)
			crt = v;
		else if (strcmp(argv[i], "--key") == 0)
			key = v;
		else if (strcmp(argv[i], "--src-base") == 0)
			src = v;
		else if ((strcmp(argv[i], "--port") == 0 && lg_number(v, 1, 65535, &port) == 0) ||
		         (strcmp(argv[i], "--conns") == 0 && lg_number(v, 1, LG_MAX_CONNS, &conns) == 0) ||
		         (strcmp(argv[i], "--seconds") == 0 &&
		          lg_number(v, 1, LG_MAX_SECONDS, &seconds) == 0) ||
		         (strcmp(argv[i], "--hold") == 0 && lg_number(v, 1, LG_MAX_HOLD_S, &hold) == 0) ||
		         (strcmp(argv[i], "--reopen-rate") == 0 &&
		          lg_number(v, 1, LG_MAX_CONNS, &g.reopen_rate) == 0))
			;
		else {
			lg_usage();
			return 2;
		}
		i++;
	}
	if (ca == NULL || crt == NULL || key == NULL || port == 0 || conns == 0 || seconds == 0) {
		lg_usage();
		return 2;
	}
	g.n = conns;
	if (g.reopen_rate == 0)
		g.reopen_rate = LG_REOPENS_PER_S;
	g.nsrc = (conns + LG_CONNS_PER_SOURCE - 1) / LG_CONNS_PER_SOURCE;
	/* Loopback only: the sources must all stay inside 127.0.0.0/8. */
	if (inet_pton(AF_INET, src, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127 ||
	    ((ntohl(a.s_addr) + (uint32_t)g.nsrc - 1) >> 24) != 127) {
		fprintf(stderr, "tether-bench-loadgen: --src-base %s: not a loopback address with"
		        " room for %ld sources\n", src, g.nsrc);
		return 2;
	}
	g.src_base = ntohl(a.s_addr);
	g.dst.sin_family = AF_INET;
	g.dst.sin_port = htons((unsigned short)port);
	g.dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < (rlim_t)(conns + LG_FD_ROOM)) {
		fprintf(stderr, "tether-bench-loadgen: the hard RLIMIT_NOFILE (%llu) is below"
		        " %ld connections + %d\n", (unsigned long long)rl.rlim_max, conns, LG_FD_ROOM);
		return 2;
	}
	if (rl.rlim_cur < (rlim_t)(conns + LG_FD_ROOM)) {
		rl.rlim_cur = (rlim_t)(conns + LG_FD_ROOM);
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			perror("tether-bench-loadgen: setrlimit");
			return 2;
		}
	}

	if (hold > 0)
		snprintf(body, sizeof(body), "{\"status\":\"ok\",\"wait\":true,\"hold_s\":%ld}", hold);
	else
		snprintf(body, sizeof(body), "{\"status\":\"ok\",\"wait\":true}");
	g.req_len = (size_t)snprintf(g.req, sizeof(g.req),
	                             "POST /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\n"
	                             "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	                             "Connection: keep-alive\r\n\r\n%s",
	                             port, strlen(body), body);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lg_on_signal;   /* no SA_RESTART: epoll_wait returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((g.conns = calloc((size_t)conns, sizeof(*g.conns))) == NULL ||
	    (g.queue = calloc((size_t)conns, sizeof(*g.queue))) == NULL ||
	    (g.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("tether-bench-loadgen");
		goto out;
	}
	for (long i = 0; i < conns; i++)
		g.conns[i].fd = -1;
	if (lg_tls(&g, ca, crt, key) != 0)
		goto out;
	if (lg_run(&g, seconds) == 0)
		rc = 0;
	printf("opened %ld handshakes %ld answered %ld failures %ld\n",
	       g.opened, g.handshakes, g.answered, g.failures);
	fflush(stdout);
out:
	if (g.conns != NULL) {
		for (long i = 0; i < conns; i++) {
			if (g.conns[i].ssl != NULL)
				SSL_free(g.conns[i].ssl);
			if (g.conns[i].fd >= 0)
				close(g.conns[i].fd);
		}
	}
	if (g.ep >= 0)
		close(g.ep);
	SSL_CTX_free(g.ctx);
	free(g.conns);
	free(g.queue);
	return rc;
}
