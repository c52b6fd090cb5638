/* tlspump.c: tls_pump, the byte pump between one TLS connection and a pair
 * of local descriptors, used by `tether connect` (stdin/stdout) and the
 * agent's tunnel worker (a socketpair). Declared in tls.h. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "err.h"
#include "tls_int.h"

#define TLS_PUMP_BUF_BYTES (16 * 1024)

struct tls_pump_buf {
	unsigned char data[TLS_PUMP_BUF_BYTES];
	size_t off, len;
};

struct tls_pump {
	SSL *ssl;
	int fd_in, fd_out, in_sock, out_sock;
	int out_fifo_flags;        /* fd_out is a pipe made non-blocking: its old
	                            * flags, to restore; -1 otherwise */
	struct tls_pump_buf up;    /* fd_in -> ssl */
	struct tls_pump_buf down;  /* ssl -> fd_out */
	int in_eof, in_ready, out_ready, out_closed;
	int tls_eof, tls_dead, shut_sent;
	short rd_want, wr_want;    /* socket events the pending SSL call needs */
	int rc;                    /* first error; the pump still drains */
	unsigned long long n_in, n_out;
};

static int tls_fd_is_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

static void tls_pump_fail(struct tls_pump *p, int err)
{
	if (p->rc == 0)
		p->rc = err;
}

/* Classify a failed SSL call: 0 with *want set to retry, 1 on a clean
 * close_notify, negative when the TLS connection is unusable. */
static int tls_pump_ssl_err(struct tls_pump *p, int n, short *want)
{
	int e = SSL_get_error(p->ssl, n);
	unsigned long ee = ERR_peek_error();

	*want = 0;
	if (e == SSL_ERROR_WANT_READ) {
		*want = POLLIN;
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		*want = POLLOUT;
		return 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 1;
	/* A peer that closes TCP right after our close_notify is ordinary;
	 * before it, the stream may have been cut short. */
	if (e == SSL_ERROR_SSL && ERR_GET_REASON(ee) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return p->shut_sent ? -1 : TE_ERR_IO;
	return e == SSL_ERROR_SSL ? TE_ERR_TLS : TE_ERR_IO;
}

static int tls_pump_tls_read(struct tls_pump *p)
{
	int n, r;

	if (p->tls_eof || p->out_closed || p->down.off < p->down.len)
		return 0;
	ERR_clear_error();
	n = SSL_read(p->ssl, p->down.data, sizeof(p->down.data));
	if (n > 0) {
		p->down.off = 0;
		p->down.len = (size_t)n;
		p->rd_want = 0;
		return 1;
	}
	if ((r = tls_pump_ssl_err(p, n, &p->rd_want)) == 0)
		return 0;
	p->tls_eof = 1;
	if (r < 0) {
		p->tls_dead = 1;
		if (r != -1)
			tls_pump_fail(p, r);
	}
	return 1;
}

static int tls_pump_tls_write(struct tls_pump *p)
{
	int n, r;
	short want = 0;

	if (p->tls_dead) {
		p->up.off = p->up.len = 0;
		return 0;
	}
	if (p->up.off < p->up.len) {
		ERR_clear_error();
		n = SSL_write(p->ssl, p->up.data + p->up.off, (int)(p->up.len - p->up.off));
		if (n > 0) {
			p->up.off += (size_t)n;
			p->n_in += (unsigned long long)n;
			if (p->up.off == p->up.len)
				p->up.off = p->up.len = 0;
			p->wr_want = 0;
			return 1;
		}
	} else if (p->in_eof && !p->shut_sent) {
		ERR_clear_error();
		if ((n = SSL_shutdown(p->ssl)) >= 0) {
			p->shut_sent = 1;
			p->wr_want = 0;
			return 1;
		}
	} else {
		return 0;
	}
	if ((r = tls_pump_ssl_err(p, n, &want)) == 0) {
		p->wr_want = want;
		return 0;
	}
	tls_pump_fail(p, r < 0 && r != -1 ? r : TE_ERR_IO);
	p->tls_dead = p->tls_eof = 1;
	return 1;
}

static ssize_t tls_pump_io(int fd, int is_sock, void *buf, size_t len, int wr, int nb)
{
	if (is_sock)
		return wr ? send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL)
		          : recv(fd, buf, len, MSG_DONTWAIT);
	/* A pipe made non-blocking (tls_pump_out_fifo) takes a whole TLS
	 * record's worth in one write where there is room. Other plain fds
	 * (ttys, a pipe left blocking) stay blocking: poll said ready, and a
	 * write of at most PIPE_BUF into a non-full pipe does not block. */
	if (wr)
		return write(fd, buf, nb || len <= PIPE_BUF ? len : PIPE_BUF);
	return read(fd, buf, len);
}

/* ssh reads a ProxyCommand's output from a pipe. Capped at PIPE_BUF per
 * write, `tether connect` made four writes and four polls per 16 KiB
 * record; non-blocking, one write moves what fits. Only a pipe, whose
 * write end is this process's own: a tty or file may be shared with the
 * shell, whose flags must not change under it. */
static void tls_pump_out_fifo(struct tls_pump *p)
{
	struct stat st;
	int fl;

	p->out_fifo_flags = -1;
	if (p->out_sock || p->fd_out == p->fd_in || fstat(p->fd_out, &st) != 0 ||
	    !S_ISFIFO(st.st_mode) || (fl = fcntl(p->fd_out, F_GETFL)) < 0 ||
	    (fl & O_NONBLOCK) || fcntl(p->fd_out, F_SETFL, fl | O_NONBLOCK) != 0)
		return;
	p->out_fifo_flags = fl;
}

static int tls_pump_in_read(struct tls_pump *p)
{
	ssize_t n;

	if (p->in_eof || p->tls_dead || !p->in_ready || p->up.len > 0)
		return 0;
	n = tls_pump_io(p->fd_in, p->in_sock, p->up.data, sizeof(p->up.data), 0, 0);
	p->in_ready = 0;
	if (n > 0) {
		p->up.off = 0;
		p->up.len = (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n < 0)
		tls_pump_fail(p, TE_ERR_IO);
	p->in_eof = 1;
	return 1;
}

/* Tell the local side the remote is done: a socket gets a half-close; a
 * pipe's write end is replaced by /dev/null so the reader sees EOF while
 * the descriptor number stays valid for the caller. */
static void tls_pump_out_close(struct tls_pump *p)
{
	int nul;

	p->out_closed = 1;
	if (p->out_fifo_flags >= 0) {
		(void)fcntl(p->fd_out, F_SETFL, p->out_fifo_flags);
		p->out_fifo_flags = -1;
	}
	if (p->out_sock) {
		shutdown(p->fd_out, SHUT_WR);
		return;
	}
	if (p->fd_out == p->fd_in)
		return;
	if ((nul = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		dup2(nul, p->fd_out);
		close(nul);
	} else {
		close(p->fd_out);
	}
}

/* The local reader is gone: nothing more can be delivered. */
static void tls_pump_out_lost(struct tls_pump *p)
{
	tls_pump_fail(p, TE_ERR_IO);
	p->down.off = p->down.len = 0;
	p->out_closed = 1;
}

static int tls_pump_out_write(struct tls_pump *p)
{
	ssize_t n;

	if (p->down.off == p->down.len) {
		if (p->tls_eof && !p->out_closed) {
			tls_pump_out_close(p);
			return 1;
		}
		return 0;
	}
	if (!p->out_ready)
		return 0;
	n = tls_pump_io(p->fd_out, p->out_sock, p->down.data + p->down.off,
	                p->down.len - p->down.off, 1, p->out_fifo_flags >= 0);
	p->out_ready = 0;
	if (n > 0) {
		p->down.off += (size_t)n;
		p->n_out += (unsigned long long)n;
		if (p->down.off == p->down.len)
			p->down.off = p->down.len = 0;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	tls_pump_out_lost(p);
	return 1;
}

static int tls_pump_done(const struct tls_pump *p)
{
	int down_done = p->out_closed;
	int up_done = p->tls_dead || (p->in_eof && p->up.len == 0 && p->shut_sent);

	return down_done && up_done;
}

static void tls_pump_pollfd(struct pollfd *pfd, int *n, int fd, short ev)
{
	int i;

	if (ev == 0)
		return;
	for (i = 0; i < *n; i++)
		if (pfd[i].fd == fd) {
			pfd[i].events |= ev;
			return;
		}
	pfd[*n].fd = fd;
	pfd[*n].events = ev;
	pfd[*n].revents = 0;
	(*n)++;
}

/* Block until something the pump waits for is ready. */
static int tls_pump_wait(struct tls_pump *p)
{
	struct pollfd pfd[3];
	int n = 0, i, sock = SSL_get_fd(p->ssl);
	short sock_ev = 0;

	if (!p->tls_eof && !p->out_closed && p->down.len == 0)
		sock_ev |= p->rd_want;
	if (!p->tls_dead && (p->up.len > 0 || (p->in_eof && !p->shut_sent)))
		sock_ev |= p->wr_want;
	tls_pump_pollfd(pfd, &n, sock, sock_ev);
	if (!p->in_eof && !p->tls_dead && p->up.len == 0)
		tls_pump_pollfd(pfd, &n, p->fd_in, POLLIN);
	if (p->down.off < p->down.len)
		tls_pump_pollfd(pfd, &n, p->fd_out, POLLOUT);
	if (n == 0)
		return TE_ERR_IO; /* nothing left that could make progress */
	if (poll(pfd, (nfds_t)n, -1) < 0)
		return errno == EINTR ? 0 : TE_ERR_SYS;
	for (i = 0; i < n; i++) {
		short rev = pfd[i].revents;
		if (pfd[i].fd == p->fd_in && (pfd[i].events & POLLIN) &&
		    (rev & (POLLIN | POLLHUP | POLLERR)))
			p->in_ready = 1;
		if (pfd[i].fd == p->fd_out && (pfd[i].events & POLLOUT) &&
		    (rev & (POLLOUT | POLLHUP | POLLERR))) {
			p->out_ready = 1;
			/* A pipe whose reader left: fail without a write that
			 * would raise SIGPIPE. */
			if (!p->out_sock && (rev & POLLERR) && !(rev & POLLOUT))
				tls_pump_out_lost(p);
		}
	}
	return 0;
}

int tls_pump(SSL *ssl, int fd_in, int fd_out,
             unsigned long long *bytes_in, unsigned long long *bytes_out)
{
	struct tls_pump *p;
	int sock = SSL_get_fd(ssl), was_nb, progress, r = 0;

	if (sock < 0 || fd_in < 0 || fd_out < 0)
		return TE_ERR_INVALID;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return TE_ERR_NOMEM;
	p->ssl = ssl;
	p->fd_in = fd_in;
	p->fd_out = fd_out;
	p->in_sock = tls_fd_is_socket(fd_in);
	p->out_sock = tls_fd_is_socket(fd_out);
	/* Socket readiness is probed by non-blocking calls, not by poll. */
	p->in_ready = p->in_sock;
	p->out_ready = p->out_sock;
	tls_pump_out_fifo(p);
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One read takes what the socket holds, not a record header and then
	 * its body: SSL_read is tried again before every poll, so records
	 * read ahead are never left waiting for the socket. */
	SSL_set_read_ahead(ssl, 1);
	if ((was_nb = tls_set_nonblock(sock, 1)) < 0) {
		r = TE_ERR_SYS;
		goto out;
	}
	while (!tls_pump_done(p)) {
		do {
			progress = tls_pump_tls_read(p);
			progress |= tls_pump_out_write(p);
			progress |= tls_pump_in_read(p);
			progress |= tls_pump_tls_write(p);
			if (p->in_sock)
				p->in_ready = 1;
			if (p->out_sock)
				p->out_ready = 1;
		} while (progress && !tls_pump_done(p));
		if (tls_pump_done(p))
			break;
		if ((r = tls_pump_wait(p)) != 0)
			break;
	}
	if (!was_nb)
		tls_set_nonblock(sock, 0);
	if (r == 0)
		r = p->rc;
out:
	if (p->out_fifo_flags >= 0)
		(void)fcntl(p->fd_out, F_SETFL, p->out_fifo_flags);
	if (bytes_in != NULL)
		*bytes_in = p->n_in;
	if (bytes_out != NULL)
		*bytes_out = p->n_out;
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
	return r;
}
