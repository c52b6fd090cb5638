/* capture.c: a monitor-started program's output, read bounded (capture.h). */
#include "capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "err.h"
#include "monitor.h"

struct capture {
	struct event_base *base;
	struct capture_spec spec;
	capture_done_fn done;
	void *arg;
	struct spawn_handle child;
	int out_fd;
	struct event *rd;                 /* the output, then the status socket */
	time_t deadline;
	char *out;                        /* spec.max + 1 bytes */
	size_t len;
	unsigned long long dropped;
	int ended;
};

static void capture_stop(struct capture *c)
{
	if (c->rd != NULL) {
		event_free(c->rd);
		c->rd = NULL;
	}
	if (c->out_fd >= 0) {
		close(c->out_fd);
		c->out_fd = -1;
	}
	monitor_spawn_stop(&c->child);
}

/* The end: the child stopped (killed when it still runs), then done. */
static void capture_end(struct capture *c, const char *fail)
{
	capture_stop(c);
	c->ended = 1;
	c->out[c->len] = '\0';
	c->done(c->arg, fail, c->child.exit_status, c->out, c->len, c->dropped);
}

static void capture_on_exit(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;

	(void)fd;
	if ((what & EV_TIMEOUT) || monitor_spawn_poll(&c->child))
		capture_end(c, (what & EV_TIMEOUT) ? "ran past its time limit" : NULL);
}

static void capture_on_output(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;
	char scratch[4096], why[64];
	struct timeval left;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		capture_end(c, "ran past its time limit");
		return;
	}
	/* One byte past max is read when over fails, to know it is over. */
	if (c->len < c->spec.max + (c->spec.over == CAPTURE_OVER_FAILS))
		n = read(fd, c->out + c->len, c->spec.max + (c->spec.over == CAPTURE_OVER_FAILS) -
		         c->len);
	else
		n = read(fd, scratch, sizeof(scratch));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (c->len < c->spec.max + (c->spec.over == CAPTURE_OVER_FAILS))
			c->len += (size_t)n;
		else
			c->dropped += (unsigned long long)n;
		if (c->spec.over == CAPTURE_OVER_FAILS && c->len > c->spec.max) {
			c->len = c->spec.max;
			snprintf(why, sizeof(why), "printed more than %zu bytes", c->spec.max);
			capture_end(c, why);
		}
		return;
	}
	/* EOF (or a read error): wait, bounded, for its exit status. */
	event_free(c->rd);
	c->rd = NULL;
	close(c->out_fd);
	c->out_fd = -1;
	left.tv_sec = c->deadline > time(NULL) ? c->deadline - time(NULL) : 1;
	left.tv_usec = 0;
	if ((c->rd = event_new(c->base, c->child.status_fd, EV_READ | EV_PERSIST,
	                       capture_on_exit, c)) == NULL || event_add(c->rd, &left) != 0)
		capture_end(c, "could not be watched");
}

int capture_start(struct event_base *base, const struct agent_conf *conf,
                  const struct capture_spec *spec, capture_done_fn done, void *arg,
                  struct capture **out, char *why, size_t whysz)
{
	struct capture *c = calloc(1, sizeof(*c));
	struct timeval tv = { spec->time_s, 0 };
	int rc;

	*out = NULL;
	if (c == NULL || (c->out = malloc(spec->max + 2)) == NULL) {
		free(c);
		snprintf(why, whysz, "out of memory");
		return TE_ERR_NOMEM;
	}
	c->base = base;
	c->spec = *spec;
	c->done = done;
	c->arg = arg;
	c->out_fd = -1;
	c->child.status_fd = -1;
	if ((rc = diag_spawn_output(conf, spec->argv, spec->kind, spec->session,
	                            spec->with_stderr, spec->in_fd, &c->child, &c->out_fd, why,
	                            whysz)) != 0) {
		free(c->out);
		free(c);
		return rc;
	}
	c->deadline = time(NULL) + spec->time_s;
	*out = c;
	if ((c->rd = event_new(base, c->out_fd, EV_READ | EV_PERSIST, capture_on_output,
	                       c)) == NULL || event_add(c->rd, &tv) != 0)
		capture_end(c, "could not be watched");
	return 0;
}

void capture_free(struct capture *c)
{
	if (c == NULL)
		return;
	if (!c->ended)
		capture_stop(c);
	free(c->out);
	free(c);
}
