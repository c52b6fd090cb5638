/* pwpool.c: the password worker threads, their bounded queue and the pipe
 * that wakes the event loop when a job is done. */
#include "pwpool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

struct pwpool_job {
	struct pwpool_job *next;
	enum pwpool_op op;
	char password[PWPOOL_PASSWORD_BYTES];
	char old[PWPOOL_PASSWORD_BYTES];
	char hash[PWHASH_BYTES];
	int password_too_long;                 /* as secret_pwverify: never matches */
	int old_too_long;
	struct pwpool_result res;
	pwpool_done_fn done;
	void *arg;
};

struct pwpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th[PWPOOL_MAX_THREADS];
	int nthreads;
	struct pwpool_job *todo, *todo_tail;   /* waiting for a worker */
	struct pwpool_job *done;               /* finished, for the loop */
	size_t queued;                         /* in todo */
	size_t max_queued;
	int stop;
	int wake[2];                           /* worker -> loop */
	struct event *wake_ev;
};

static pthread_once_t pwpool_dummy_once = PTHREAD_ONCE_INIT;
static char pwpool_dummy[PWHASH_BYTES];

/* A hash no password given at login matches, made once: verifying against
 * it costs what a real check costs, so timing does not tell which user
 * names exist. */
static void pwpool_dummy_init(void)
{
	uint8_t rnd[32];
	char pw[65];

	if (secret_random(rnd, sizeof(rnd)) != 0)
		return;
	for (size_t i = 0; i < sizeof(rnd); i++)
		pw[2 * i] = "0123456789abcdef"[rnd[i] >> 4], pw[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	pw[64] = '\0';
	if (secret_pwhash(pw, pwpool_dummy) != 0)
		pwpool_dummy[0] = '\0';
	secret_wipe(pw, sizeof(pw));
	secret_wipe(rnd, sizeof(rnd));
}

static void pwpool_run(struct pwpool_job *j)
{
	const char *hash = j->hash;

	switch (j->op) {
	case PWPOOL_VERIFY:
		if (j->password_too_long) {
			j->res.rc = TE_ERR_DENIED;   /* what secret_pwverify answers */
			break;
		}
		if (hash[0] == '\0') {
			pthread_once(&pwpool_dummy_once, pwpool_dummy_init);
			(void)secret_pwverify(pwpool_dummy, j->password);
			j->res.rc = TE_ERR_DENIED;
			break;
		}
		j->res.rc = secret_pwverify(hash, j->password);
		break;
	case PWPOOL_HASH:
		j->res.rc = j->password_too_long ? TE_ERR_TOO_LONG :
		            secret_pwhash(j->password, j->res.hash);
		break;
	case PWPOOL_CHANGE:
		j->res.rc = j->old_too_long ? TE_ERR_DENIED : secret_pwverify(hash, j->old);
		if (j->res.rc == 0 && j->password_too_long)
			j->res.rc = TE_ERR_TOO_LONG;
		if (j->res.rc == 0)
			j->res.rc = secret_pwhash(j->password, j->res.hash);
		break;
	}
	secret_wipe(j->password, sizeof(j->password));
	secret_wipe(j->old, sizeof(j->old));
}

static void *pwpool_worker(void *arg)
{
	struct pwpool *p = arg;
	struct pwpool_job *j;

	/* Linux nice values are per thread: the loop thread, which answers
	 * pings and carries sessions, wins the CPU from a burst of logins. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), PWPOOL_NICE) != 0)
		log_debug("password worker: cannot lower its priority");

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->todo == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->todo;
		p->todo = j->next;
		if (p->todo == NULL)
			p->todo_tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->mu);

		pwpool_run(j);

		pthread_mutex_lock(&p->mu);
		j->next = p->done;
		p->done = j;
		pthread_mutex_unlock(&p->mu);
		/* A full pipe already wakes the loop; the byte is only a signal. */
		while (write(p->wake[1], "", 1) < 0 && errno == EINTR)
			;
	}
}

static void pwpool_finish(struct pwpool_job *j)
{
	j->done(&j->res, j->arg);
	secret_wipe(j, sizeof(*j));
	free(j);
}

static void pwpool_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pwpool *p = arg;
	struct pwpool_job *list, *next;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->mu);
	list = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	for (; list != NULL; list = next) {
		next = list->next;
		pwpool_finish(list);
	}
}

int pwpool_new(struct event_base *base, int threads, int queue, struct pwpool **out)
{
	struct pwpool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return TE_ERR_NOMEM;
	p->wake[0] = p->wake[1] = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->max_queued = (size_t)queue;
	if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (p->wake_ev = event_new(base, p->wake[0], EV_READ | EV_PERSIST, pwpool_wake_cb, p)) == NULL ||
	    event_add(p->wake_ev, NULL) != 0)
		goto fail;
	for (int i = 0; i < threads && i < PWPOOL_MAX_THREADS; i++) {
		if (pthread_create(&p->th[i], NULL, pwpool_worker, p) != 0)
			goto fail;
		p->nthreads++;
	}
	*out = p;
	return 0;
fail:
	pwpool_free(p);
	return TE_ERR_SYS;
}

void pwpool_free(struct pwpool *p)
{
	struct pwpool_job *j;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	/* Workers are gone: the lists are ours now. */
	while ((j = p->done) != NULL) {
		p->done = j->next;
		pwpool_finish(j);
	}
	while ((j = p->todo) != NULL) {
		p->todo = j->next;
		secret_wipe(j->password, sizeof(j->password));
		secret_wipe(j->old, sizeof(j->old));
		j->res.rc = TE_ERR_IO;
		pwpool_finish(j);
	}
	if (p->wake_ev != NULL)
		event_free(p->wake_ev);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int pwpool_copy(char *dst, size_t dstsz, const char *src)
{
	size_t n = src ? strnlen(src, dstsz) : 0;

	if (n >= dstsz)
		return TE_ERR_INVALID;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

int pwpool_submit(struct pwpool *p, enum pwpool_op op, const char *password, const char *old,
                  const char *hash, pwpool_done_fn done, void *arg)
{
	struct pwpool_job *j = calloc(1, sizeof(*j));
	int rc;

	if (j == NULL)
		return TE_ERR_NOMEM;
	j->op = op;
	j->done = done;
	j->arg = arg;
	/* An over-long password is not an error of the request: it is a
	 * password that matches nothing, answered like any wrong one. */
	j->password_too_long = pwpool_copy(j->password, sizeof(j->password), password) != 0;
	j->old_too_long = pwpool_copy(j->old, sizeof(j->old), old) != 0;
	if ((rc = pwpool_copy(j->hash, sizeof(j->hash), hash)) != 0)
		goto fail;
	pthread_mutex_lock(&p->mu);
	if (p->queued >= p->max_queued) {
		pthread_mutex_unlock(&p->mu);
		rc = TE_ERR_TOO_LONG;
		goto fail;
	}
	if (p->todo_tail != NULL)
		p->todo_tail->next = j;
	else
		p->todo = j;
	p->todo_tail = j;
	p->queued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
fail:
	secret_wipe(j, sizeof(*j));
	free(j);
	return rc;
}
