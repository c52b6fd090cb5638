/* sessrec.c: the agent's durable session records (see sessrec.h). */
#include "sessrec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consent.h"
#include "err.h"
#include "filerepl.h"
#include "log.h"
#include "text.h"

int sessrec_parse(const char *buf, size_t len, struct sessrec *out, size_t max,
                  size_t *n, size_t *bad)
{
	const char *p = buf, *end = buf + len, *nl, *sp;
	size_t idlen, rlen;

	*n = *bad = 0;
	if (len > SESSREC_FILE_MAX_BYTES)
		return TE_ERR_TOO_LONG;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;                       /* a last line without its newline */
		sp = memchr(p, ' ', (size_t)(nl - p));
		idlen = (size_t)((sp != NULL ? sp : nl) - p);
		rlen = sp != NULL ? (size_t)(nl - sp - 1) : 0;
		if (*n >= max || idlen == 0 || idlen >= MAX_NAME_BYTES ||
		    rlen >= MAX_REASON_BYTES) {
			(*bad)++;
		} else {
			memcpy(out[*n].id, p, idlen);
			out[*n].id[idlen] = '\0';
			if (sp != NULL)
				memcpy(out[*n].reason, sp + 1, rlen);
			out[*n].reason[rlen] = '\0';
			if (consent_id_ok(out[*n].id) && strlen(out[*n].reason) == rlen &&
			    (rlen == 0 || text_check_display(out[*n].reason, MAX_REASON_BYTES,
			                                     NULL) == 0))
				(*n)++;
			else
				(*bad)++;
		}
		p = nl + 1;
	}
	return 0;
}

int sessrec_load(const struct agent_conf *conf, const char *name, struct sessrec *out,
                 size_t max, size_t *n)
{
	char path[AGENT_PATH_BYTES], *buf = NULL;
	size_t len = 0, bad = 0;
	ssize_t k;
	int fd, rc;

	*n = 0;
	if ((rc = agentconf_state_path(conf, name, path, sizeof(path))) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : TE_ERR_IO;
	if ((buf = malloc(SESSREC_FILE_MAX_BYTES + 1)) == NULL) {
		close(fd);
		return TE_ERR_NOMEM;
	}
	while (len <= SESSREC_FILE_MAX_BYTES &&
	       (k = read(fd, buf + len, SESSREC_FILE_MAX_BYTES + 1 - len)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = TE_ERR_IO;
			break;
		}
		len += (size_t)k;
	}
	close(fd);
	if (rc == 0 && len > SESSREC_FILE_MAX_BYTES) {
		log_error("%s is larger than %d bytes; read as empty", path,
		          SESSREC_FILE_MAX_BYTES);
		rc = TE_ERR_TOO_LONG;
	}
	if (rc == 0 && (rc = sessrec_parse(buf, len, out, max, n, &bad)) == 0 && bad > 0)
		log_error("%s: %zu unreadable line(s) skipped", path, bad);
	free(buf);
	return rc;
}

int sessrec_store(const struct agent_conf *conf, const char *name,
                  const struct sessrec *r, size_t n)
{
	char path[AGENT_PATH_BYTES], *buf;
	size_t len = 0, i;
	int rc = 0, w;

	if ((rc = agentconf_state_path(conf, name, path, sizeof(path))) != 0)
		return rc;
	if ((buf = malloc(SESSREC_FILE_MAX_BYTES + 1)) == NULL)
		return TE_ERR_NOMEM;
	for (i = 0; i < n && i < SESSREC_MAX; i++) {
		w = snprintf(buf + len, SESSREC_FILE_MAX_BYTES + 1 - len, "%s%s%s\n", r[i].id,
		             r[i].reason[0] ? " " : "", r[i].reason);
		if (w < 0 || (size_t)w >= SESSREC_FILE_MAX_BYTES + 1 - len) {
			free(buf);
			return TE_ERR_TOO_LONG;
		}
		len += (size_t)w;
	}
	if ((rc = file_replace(path, buf, len)) != 0)
		log_error("cannot write %s: %s", path, strerror(errno));
	free(buf);
	return rc;
}

int sessrec_end_add(const struct agent_conf *conf, const char *id, const char *reason)
{
	struct sessrec *r = calloc(SESSREC_MAX, sizeof(*r));
	size_t n = 0, i;
	int rc;

	if (r == NULL)
		return TE_ERR_NOMEM;
	(void)sessrec_load(conf, SESSREC_ENDS_FILE, r, SESSREC_MAX, &n);
	for (i = 0; i < n && strcmp(r[i].id, id) != 0; i++)
		;
	if (i == n && n == SESSREC_MAX) {
		/* Full: the oldest goes; the server's reconciliation at the next
		 * ping still ends that session, with a generic reason. */
		log_error("%s holds %d unsent session ends; dropping the oldest (%s)",
		          SESSREC_ENDS_FILE, SESSREC_MAX, r[0].id);
		memmove(r, r + 1, (SESSREC_MAX - 1) * sizeof(*r));
		i = --n;
	}
	snprintf(r[i].id, sizeof(r[i].id), "%s", id);
	snprintf(r[i].reason, sizeof(r[i].reason), "%s", reason);
	n += i == n;
	rc = sessrec_store(conf, SESSREC_ENDS_FILE, r, n);
	free(r);
	return rc;
}

int sessrec_end_done(const struct agent_conf *conf, const char *id)
{
	struct sessrec *r = calloc(SESSREC_MAX, sizeof(*r));
	size_t n = 0, i, k;
	int rc = 0;

	if (r == NULL)
		return TE_ERR_NOMEM;
	(void)sessrec_load(conf, SESSREC_ENDS_FILE, r, SESSREC_MAX, &n);
	for (i = k = 0; i < n; i++)
		if (strcmp(r[i].id, id) != 0)
			r[k++] = r[i];
	if (k != n)
		rc = sessrec_store(conf, SESSREC_ENDS_FILE, r, k);
	free(r);
	return rc;
}
