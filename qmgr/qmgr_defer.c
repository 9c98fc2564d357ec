/*
 * qmgr_defer - defer logs, backoff, deferred/
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	void qmgr_defer_log(struct qmgr_msg *msg,
 *			    const struct qmgr_dest *dest);
 *	int qmgr_defer_message(struct qmgr_msg *msg);
 *	void qmgr_defer_remove_logs(struct qmgr *qm, const char *id);
 *
 * DESCRIPTION
 *	qmgr_defer_log() appends one line per deferred address to
 *	defer/ID (docs/architecture.md):
 *
 *	  recipient=<a@b> offset=N dsn=4.x.x status=deferred reason=...
 *
 *	which `facteur queue` shows and a later notice may quote.
 *
 *	qmgr_defer_message() moves active/ID to deferred/H/ID and sets its
 *	mtime to the next attempt: now plus the message's age, bounded by
 *	minimal_backoff_time and maximal_backoff_time, so the wait doubles
 *	with each attempt as in Postfix.  The scan takes it back once its
 *	mtime has come.
 *
 * DIAGNOSTICS
 *	Failures are warnings; a message that cannot be moved stays in
 *	active/ and is resumed by the next qmgr start.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "qfile.h"
#include "qmgr.h"
#include "queue_id.h"
#include "strbuf.h"

/* printable - reason text on one line, bounded */
static void append_printable(struct strbuf *sb, const char *s)
{
	for (size_t i = 0; s[i] != '\0' && i < 1000; i++) {
		unsigned char c = (unsigned char)s[i];

		strbuf_append_char(sb, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

/* qmgr_defer_log - one line in defer/ID */
void qmgr_defer_log(struct qmgr_msg *msg, const struct qmgr_dest *dest)
{
	char *path = xasprintf("%s/defer/%s", msg->qm->queue_dir, msg->id);
	struct strbuf line;
	int fd;

	strbuf_init(&line, STRBUF_NO_LIMIT);
	strbuf_appendf(&line,
		       "recipient=<%s> offset=%lld dsn=%s "
		       "status=deferred reason=",
		       dest->address,
		       (long long)msg->q->rcpts[dest->rcpt].status_offset,
		       dest->dsn);
	append_printable(&line, dest->reason ? dest->reason : "");
	strbuf_append_char(&line, '\n');
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 || write(fd, line.data, line.len) != (ssize_t)line.len)
		log_warn("%s: write %s: %m", msg->id, path);
	if (fd >= 0)
		close(fd);
	strbuf_release(&line);
	free(path);
}

/* qmgr_defer_message - active/ID -> deferred/H/ID, mtime = next try */
int qmgr_defer_message(struct qmgr_msg *msg)
{
	struct qmgr *qm = msg->qm;
	double age = qmgr_message_age(msg);
	long long backoff = (long long)age;
	char hash[QUEUE_ID_HASH_DIR_MAX];
	struct timespec times[2];
	char *dir, *target;
	int ret = 0;

	if (backoff < qm->min_backoff)
		backoff = qm->min_backoff;
	if (backoff > qm->max_backoff)
		backoff = qm->max_backoff;
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[1] = times[0];
	times[1].tv_sec += (time_t)backoff;
	if (futimens(msg->q->fd, times) < 0)
		log_warn("%s: set next attempt time: %m", msg->id);
	if (queue_id_hash_dir(msg->id, QMGR_DEFERRED_DEPTH, hash,
			      sizeof(hash)) < 0)
		log_panic("%s: no hash directory", msg->id);
	dir = xasprintf("%s/deferred/%s", qm->queue_dir, hash);
	target = xasprintf("%s/%s", dir, msg->id);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("%s: create %s: %m", msg->id, dir);
		ret = -1;
	} else if (rename(msg->path, target) < 0) {
		log_warn("%s: rename %s to %s: %m", msg->id, msg->path, target);
		ret = -1;
	}
	free(dir);
	free(target);
	return ret;
}

/*
 * qmgr_defer_remove_logs - the message is gone: its defer log too.
 * bounce/ is kept for Postfix's per-message bounce logs, but nothing
 * writes one (notices are sent at once), so there is nothing to try
 * to remove there; facteur queue -d still cleans it.
 */
void qmgr_defer_remove_logs(struct qmgr *qm, const char *id)
{
	char *path = xasprintf("%s/defer/%s", qm->queue_dir, id);

	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("%s: remove %s: %m", id, path);
	free(path);
}
