/* connlimit.c: per-address and overall connection counts for a listener, the
 * rate-limited refusal log, and the accept backoff on EMFILE/ENFILE. */
#include "connlimit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include "err.h"
#include "log.h"

#define CONNLIMIT_BUCKETS 1024        /* hash buckets; entries live only while counted */
#define CONNLIMIT_MIN_TOTAL 16        /* even with a tiny RLIMIT_NOFILE */
#define CONNLIMIT_MAX_LISTENERS 2     /* listeners one limit set guards */

struct connlimit_entry {
	struct connlimit_entry *next;
	struct connlimit_addr addr;
	long open;                       /* connections counted */
	long pending;                    /* of those, not yet served */
};

struct connlimit {
	struct event_base *base;
	char what[16];
	long max_total, max_per_addr, max_pending_per_addr;
	long open;
	struct connlimit_entry *bucket[CONNLIMIT_BUCKETS];
	/* refusals since the last summary line */
	long refused_addr, refused_pending, refused_total;
	struct connlimit_addr last_refused;
	time_t log_next;
	/* accept backoff */
	struct evconnlistener *paused[CONNLIMIT_MAX_LISTENERS];
	struct event *resume;
	long emfile;                     /* accept failures since the last line */
	time_t emfile_log_next;
	long full;                       /* accept paused at max_total since the last line */
	time_t full_log_next;
};

long connlimit_headroom(long nofile)
{
	return CONNLIMIT_FD_HEADROOM + (nofile > 0 ? nofile / CONNLIMIT_FD_HEADROOM_DIV : 0);
}

static long connlimit_from_rlimit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > 1L << 20)
		return 1L << 20;
	return (long)rl.rlim_cur - connlimit_headroom((long)rl.rlim_cur);
}

int connlimit_new(struct event_base *base, const char *what, const struct connlimit_conf *c,
                  struct connlimit **out)
{
	struct connlimit *cl = calloc(1, sizeof(*cl));
	long fdmax = connlimit_from_rlimit();

	*out = NULL;
	if (cl == NULL)
		return TE_ERR_NOMEM;
	cl->base = base;
	snprintf(cl->what, sizeof(cl->what), "%s", what);
	cl->max_total = c->max_total > 0 && c->max_total < fdmax ? c->max_total : fdmax;
	if (cl->max_total < CONNLIMIT_MIN_TOTAL)
		cl->max_total = CONNLIMIT_MIN_TOTAL;
	cl->max_per_addr = c->max_per_addr;
	cl->max_pending_per_addr = c->max_pending_per_addr;
	*out = cl;
	return 0;
}

void connlimit_free(struct connlimit *cl)
{
	if (cl == NULL)
		return;
	for (size_t i = 0; i < CONNLIMIT_BUCKETS; i++) {
		while (cl->bucket[i] != NULL) {
			struct connlimit_entry *e = cl->bucket[i];
			cl->bucket[i] = e->next;
			free(e);
		}
	}
	if (cl->resume != NULL)
		event_free(cl->resume);
	free(cl);
}

long connlimit_max_total(const struct connlimit *cl)
{
	return cl->max_total;
}

void connlimit_addr_text(const struct connlimit_addr *a, char *out, size_t outsz)
{
	char buf[INET6_ADDRSTRLEN] = "?";

	if (a->family == AF_INET || a->family == AF_INET6)
		inet_ntop(a->family, a->bytes, buf, sizeof(buf));
	snprintf(out, outsz, "%s", buf);
}

static void connlimit_addr_of(const struct sockaddr *sa, struct connlimit_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa != NULL && sa->sa_family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static size_t connlimit_hash(const struct connlimit_addr *a)
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (size_t i = 0; i < CONNLIMIT_ADDR_BYTES; i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return (h ^ (uint32_t)a->family) % CONNLIMIT_BUCKETS;
}

static struct connlimit_entry **connlimit_slot(struct connlimit *cl,
                                               const struct connlimit_addr *a)
{
	struct connlimit_entry **p = &cl->bucket[connlimit_hash(a)];

	while (*p != NULL && ((*p)->addr.family != a->family ||
	                      memcmp((*p)->addr.bytes, a->bytes, CONNLIMIT_ADDR_BYTES) != 0))
		p = &(*p)->next;
	return p;
}

/* One summary line per interval, however many were refused. */
static void connlimit_refused(struct connlimit *cl, const struct connlimit_addr *a, long *counter)
{
	time_t now = time(NULL);
	char addr[INET6_ADDRSTRLEN];

	(*counter)++;
	cl->last_refused = *a;
	if (now < cl->log_next)
		return;
	connlimit_addr_text(&cl->last_refused, addr, sizeof(addr));
	log_warn("%s: refused connections over the limits in the last %d s: %ld at %ld per "
	         "address, %ld at %ld in handshake per address, %ld at %ld overall "
	         "(last from %s)", cl->what, CONNLIMIT_LOG_INTERVAL_S,
	         cl->refused_addr, cl->max_per_addr, cl->refused_pending,
	         cl->max_pending_per_addr, cl->refused_total, cl->max_total, addr);
	cl->refused_addr = cl->refused_pending = cl->refused_total = 0;
	cl->log_next = now + CONNLIMIT_LOG_INTERVAL_S;
}

int connlimit_open(struct connlimit *cl, const struct sockaddr *sa, struct connlimit_addr *out)
{
	struct connlimit_entry **slot, *e;

	connlimit_addr_of(sa, out);
	slot = connlimit_slot(cl, out);
	e = *slot;
	if (cl->open >= cl->max_total) {
		connlimit_refused(cl, out, &cl->refused_total);
		return TE_ERR_DENIED;
	}
	if (e != NULL && e->open >= cl->max_per_addr) {
		connlimit_refused(cl, out, &cl->refused_addr);
		return TE_ERR_DENIED;
	}
	if (e != NULL && e->pending >= cl->max_pending_per_addr) {
		connlimit_refused(cl, out, &cl->refused_pending);
		return TE_ERR_DENIED;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return TE_ERR_NOMEM;
		e->addr = *out;
		*slot = e;
	}
	e->open++;
	e->pending++;
	cl->open++;
	return 0;
}

void connlimit_served(struct connlimit *cl, const struct connlimit_addr *a)
{
	struct connlimit_entry *e = *connlimit_slot(cl, a);

	if (e != NULL && e->pending > 0)
		e->pending--;
}

void connlimit_close(struct connlimit *cl, const struct connlimit_addr *a, int served)
{
	struct connlimit_entry **slot = connlimit_slot(cl, a), *e = *slot;

	if (e == NULL)
		return;
	if (!served && e->pending > 0)
		e->pending--;
	if (e->open > 0)
		e->open--;
	if (cl->open > 0)
		cl->open--;
	if (e->open == 0) {
		*slot = e->next;
		free(e);
	}
}

void connlimit_note_full(struct connlimit *cl)
{
	time_t now = time(NULL);

	cl->full++;
	if (now < cl->full_log_next)
		return;
	log_warn("%s: %ld connections open, the limit: accept paused until one closes "
	         "(%ld time(s) in the last %d s); new peers wait in the listen queue",
	         cl->what, cl->max_total, cl->full, CONNLIMIT_LOG_INTERVAL_S);
	cl->full = 0;
	cl->full_log_next = now + CONNLIMIT_LOG_INTERVAL_S;
}

static void connlimit_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct connlimit *cl = arg;

	for (size_t i = 0; i < CONNLIMIT_MAX_LISTENERS; i++) {
		if (cl->paused[i] != NULL)
			evconnlistener_enable(cl->paused[i]);
		cl->paused[i] = NULL;
	}
}

/* Out of descriptors: accept() would fail again at once and the loop would
 * spin, so the listener rests and the log says so once per interval. */
void connlimit_accept_failed(struct connlimit *cl, struct evconnlistener *l)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, CONNLIMIT_ACCEPT_BACKOFF_MS * 1000 };
	time_t now = time(NULL);

	cl->emfile++;
	if (now >= cl->emfile_log_next) {
		log_error("%s: accept failed %ld time(s) in the last %d s: %s; pausing accept "
		          "for %d ms each time", cl->what, cl->emfile, CONNLIMIT_LOG_INTERVAL_S,
		          evutil_socket_error_to_string(err), CONNLIMIT_ACCEPT_BACKOFF_MS);
		cl->emfile = 0;
		cl->emfile_log_next = now + CONNLIMIT_LOG_INTERVAL_S;
	}
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (cl->resume == NULL && (cl->resume = evtimer_new(cl->base, connlimit_resume_cb, cl)) == NULL)
		return;
	for (size_t i = 0; i < CONNLIMIT_MAX_LISTENERS; i++) {
		if (cl->paused[i] == l)
			break;
		if (cl->paused[i] == NULL) {
			cl->paused[i] = l;
			break;
		}
	}
	evconnlistener_disable(l);
	evtimer_add(cl->resume, &tv);
}
