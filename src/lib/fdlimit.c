/* fdlimit.c: raise the soft descriptor limit to the hard one. */
#include "fdlimit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"

#define FDLIMIT_CAP (1L << 20)

static long fdlimit_value(rlim_t v)
{
	return v == RLIM_INFINITY || v > (rlim_t)FDLIMIT_CAP ? FDLIMIT_CAP : (long)v;
}

long fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("descriptors: cannot read RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		/* select() is never used, so more than FD_SETSIZE is safe. */
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("descriptors: cannot raise the soft limit %ld to the hard limit "
			         "%ld: %s", fdlimit_value(was), fdlimit_value(rl.rlim_max),
			         strerror(errno));
			return fdlimit_value(was);
		}
		log_info("descriptors: soft limit raised from %ld to the hard limit %ld",
		         fdlimit_value(was), fdlimit_value(rl.rlim_cur));
	} else {
		log_info("descriptors: limit %ld (soft and hard)", fdlimit_value(rl.rlim_cur));
	}
	return fdlimit_value(rl.rlim_cur);
}
