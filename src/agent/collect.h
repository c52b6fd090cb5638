/* collect.h: data files from the device (issue 9, section 2).
 *
 * `collect.NAME = PATTERN [max_file=SIZE] [max_total=SIZE] [every=DUR]`
 * names what may leave the device. A run of a collection is read by
 * `tether-agent collect-read` (collect.c), which the monitor starts as the
 * support user with every argument from its own config (spawn.c,
 * SPAWN_KIND_COLLECT: the network part names the collection, nothing
 * else); the reader checks each file against patient_data.* before it
 * opens it and streams collectmsg frames back. The network part
 * (collector.c) spools each whole file in state_dir/outbox, audits it, and
 * sends it to the server in chunks that resume where the server's copy
 * ends, at most upload_rate bytes a second. */
#ifndef TETHER_COLLECT_H
#define TETHER_COLLECT_H

#include <event2/event.h>

#include "agentconf.h"
#include "apiq.h"
#include "bounds.h"

#define COLLECT_MAX_FILES     1000          /* files one run may send */
#define COLLECT_CHUNK_BYTES   (128 * 1024)  /* one upload request's bytes, at first */
/* ... once the upload's connection carried a request of this device (the
 * server takes large chunks only then, http_req_allow_uploads), and no
 * upload_rate caps it lower */
#define COLLECT_BIG_CHUNK_BYTES MAX_HTTP_UPLOAD_BYTES
#define COLLECT_RETRY_MIN_S   15
#define COLLECT_RETRY_MAX_S   900
#define COLLECT_RUN_MAX_S     600           /* one reader's time limit */
#define COLLECT_OUTBOX        "outbox"      /* in state_dir */
#define COLLECT_FIRST_RUN_S   5             /* a scheduled run after the start */

/* The reader's body (`tether-agent collect-read ...`); never returns to
 * the caller's loop: its exit status. */
int collect_read_main(int argc, char **argv);

struct collector;

int collector_new(struct event_base *base, const struct agent_conf *conf, struct apiq *api,
                  struct collector **out);
/* Start the schedules (every=) and send what the outbox holds. */
void collector_start(struct collector *c);
/* Run collection name now (a request); 0, or TE_ERR_NOT_FOUND / a reason
 * it cannot start (one run at a time). */
int collector_run(struct collector *c, const char *name);
/* What a run for the maintenance queue is told at its end: fail NULL when
 * the reader finished (its files are in the outbox, sent afterwards), and
 * a summary of one line per file kept or refused. */
#define COLLECT_SUMMARY_BYTES 8192
typedef void (*collector_done_fn)(void *arg, const char *fail, unsigned nfiles,
                                  unsigned nrefused, const char *summary);
/* The same for activity (actrun.h): its files carry the activity's id to
 * the server; done is called once the run ends (not when collector_run_for
 * fails: its error says why). */
int collector_run_for(struct collector *c, const char *name, const char *activity,
                      collector_done_fn done, void *arg);
void collector_free(struct collector *c);

#endif
