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
 *	qmgr_defer_remove_logs() removes defer/ID only when there is one.
 *	qmgr alone writes defer/ and one qmgr runs per queue, so the
 *	names found there at the first removal plus those written since
 *	are all there can be (facteur queue -d removing one meanwhile
 *	only costs a failed unlink).  Most messages are never deferred:
 *	without the set every one of them cost a failed unlink(2).
 *	When defer/ cannot be read, every removal tries the unlink.
 *
 * DIAGNOSTICS
 *	Failures are warnings; a message that cannot be moved stays in
 *	active/ and is resumed by the next qmgr start.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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

/* The queue ids that have a defer log (open addressing, FNV-1a). */
struct defer_set {
	char **slot; /* NULL: empty; defer_set_gone: deleted */
	size_t cap;  /* a power of 2, or 0 */
	size_t used; /* ids + deleted slots */
	bool loaded;
	bool unknown; /* defer/ unreadable: always try */
};

static struct defer_set logs;
static char defer_set_gone_mark;
#define DEFER_SET_GONE (&defer_set_gone_mark)

/* set_hash - FNV-1a of id */
static size_t set_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* set_find - the slot holding id, or NULL */
static char **set_find(const char *id)
{
	if (logs.cap == 0)
		return NULL;
	for (size_t i = set_hash(id) & (logs.cap - 1);;
	     i = (i + 1) & (logs.cap - 1)) {
		char *v = logs.slot[i];

		if (v == NULL)
			return NULL;
		if (v != DEFER_SET_GONE && strcmp(v, id) == 0)
			return &logs.slot[i];
	}
}

static void set_add(const char *id);

/* set_grow - rehash into a table twice as large (deleted slots go) */
static void set_grow(void)
{
	char **old = logs.slot;
	size_t old_cap = logs.cap;

	logs.cap = old_cap ? old_cap * 2 : 64;
	logs.slot = xcalloc(logs.cap, sizeof(*logs.slot));
	logs.used = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i] != NULL && old[i] != DEFER_SET_GONE) {
			size_t j = set_hash(old[i]) & (logs.cap - 1);

			while (logs.slot[j] != NULL)
				j = (j + 1) & (logs.cap - 1);
			logs.slot[j] = old[i];
			logs.used++;
		}
	}
	free(old);
}

/* set_add - remember that id has a defer log */
static void set_add(const char *id)
{
	size_t i;

	if (set_find(id) != NULL)
		return;
	/* At most half full, deleted slots included: probes stay short. */
	if ((logs.used + 1) * 2 > logs.cap)
		set_grow();
	for (i = set_hash(id) & (logs.cap - 1);
	     logs.slot[i] != NULL && logs.slot[i] != DEFER_SET_GONE;
	     i = (i + 1) & (logs.cap - 1))
		;
	if (logs.slot[i] == NULL)
		logs.used++;
	logs.slot[i] = xstrdup(id);
}

/* set_take - forget id; whether it was there */
static bool set_take(const char *id)
{
	char **p = set_find(id);

	if (p == NULL)
		return false;
	free(*p);
	*p = DEFER_SET_GONE;
	return true;
}

/* set_load - the names in defer/, once */
static void set_load(struct qmgr *qm)
{
	char *dir;
	DIR *d;
	struct dirent *e;

	if (logs.loaded)
		return;
	logs.loaded = true;
	dir = xasprintf("%s/defer", qm->queue_dir);
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT) {
			log_warn("open directory %s: %m", dir);
			logs.unknown = true;
		}
		free(dir);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (queue_id_valid(e->d_name))
			set_add(e->d_name);
	closedir(d);
	free(dir);
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
	set_load(msg->qm);
	set_add(msg->id); /* before the open: a half-made file counts too */
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
 * qmgr_defer_remove_logs - the message is gone: its defer log too,
 * when it has one.
 * bounce/ is kept for Postfix's per-message bounce logs, but nothing
 * writes one (notices are sent at once), so there is nothing to try
 * to remove there; facteur queue -d still cleans it.
 */
void qmgr_defer_remove_logs(struct qmgr *qm, const char *id)
{
	char *path;

	set_load(qm);
	if (!set_take(id) && !logs.unknown)
		return;
	path = xasprintf("%s/defer/%s", qm->queue_dir, id);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("%s: remove %s: %m", id, path);
	free(path);
}
