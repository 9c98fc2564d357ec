/*
 * qmgr_scan - bring messages into active/
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	void qmgr_ensure_dirs(struct qmgr *qm);
 *	void qmgr_scan_active(struct qmgr *qm);
 *	void qmgr_scan(struct qmgr *qm, bool deferred_too);
 *
 * DESCRIPTION
 *	qmgr_scan_active() runs once at start: every file already in
 *	active/ belongs to a run that ended (crash, restart) and is
 *	resumed; its recipients that are still pending get delivered.
 *
 *	qmgr_scan() moves files from incoming/ and, with deferred_too, the
 *	files of deferred/ whose mtime (the next attempt time) has come,
 *	into active/ (a rename: same filesystem), oldest name first within
 *	a directory, while fewer than qmgr_message_active_limit messages
 *	are active; what is left waits for the next scan, which the end of
 *	a message schedules.  Only names that are valid queue ids are
 *	taken: writers' temporary names ("tmp.PID.N") are skipped, and
 *	removed once process PID no longer exists (a writer killed before
 *	its commit: smtpd after kill -9 leaves one per open transaction,
 *	which nothing else would ever remove; the client got no 250 for
 *	it).  A live PID keeps its files, even when the number was reused.
 *	Hashed
 *	subdirectories are walked whatever their depth (up to the maximum),
 *	so a writer's choice of depth does not matter.
 *
 * DIAGNOSTICS
 *	A directory that cannot be read is a warning; the next scan tries
 *	again.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "qmgr.h"
#include "queue_id.h"

static const char *const qmgr_dirs[] = {"incoming", "active", "deferred",
					"corrupt",  "defer",  "bounce",
					"hold",	    NULL};

/* qmgr_ensure_dirs - mkdir the queue directories (mode 0700) */
void qmgr_ensure_dirs(struct qmgr *qm)
{
	for (size_t i = 0; qmgr_dirs[i] != NULL; i++) {
		char *path = xasprintf("%s/%s", qm->queue_dir, qmgr_dirs[i]);

		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			log_fatal("create directory %s: %m", path);
		free(path);
	}
}

/*
 * The pids asked about during one scan: kill(pid, 0) once per pid, not
 * once per file (the live smtpd processes have a file per open
 * transaction, all with the same pid).
 */
struct pid_memo {
	struct {
		long pid;
		bool gone;
	} * v;
	size_t n;
};

/* pid_gone - whether process pid no longer exists, remembered */
static bool pid_gone(struct pid_memo *memo, long pid)
{
	bool gone;

	for (size_t i = 0; i < memo->n; i++)
		if (memo->v[i].pid == pid)
			return memo->v[i].gone;
	/* EPERM: alive under another uid. */
	gone = kill((pid_t)pid, 0) < 0 && errno == ESRCH;
	memo->v = xreallocarray(memo->v, memo->n + 1, sizeof(*memo->v));
	memo->v[memo->n].pid = pid;
	memo->v[memo->n++].gone = gone;
	return gone;
}

/* stale_tmp - whether name is "tmp.PID.N" of a process that is gone */
static bool stale_tmp(const char *name, struct pid_memo *memo)
{
	char *end;
	long pid;

	if (strncmp(name, "tmp.", 4) != 0)
		return false;
	errno = 0;
	pid = strtol(name + 4, &end, 10);
	if (errno != 0 || end == name + 4 || *end != '.' || pid <= 0 ||
	    pid != (pid_t)pid)
		return false;
	return pid_gone(memo, pid);
}

/* name_cmp - qsort for names */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * collect - the paths of queue files under dir (ids, in hash
 * subdirectories of one character up to the maximal depth).
 */
static void collect(const char *dir, int depth, char ***list, size_t *count,
		    struct pid_memo *memo)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (d == NULL) {
		if (errno != ENOENT)
			log_warn("open directory %s: %m", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);

		if (queue_id_valid(names[i])) {
			*list = xreallocarray(*list, *count + 1,
					      sizeof(**list));
			(*list)[(*count)++] = path;
			path = NULL;
		} else if (stale_tmp(names[i], memo)) {
			if (unlink(path) < 0 && errno != ENOENT)
				log_warn("remove %s: %m", path);
			else
				log_info("removed stale temporary file %s",
					 path);
		} else if (strlen(names[i]) == 1 &&
			   depth < QUEUE_ID_HASH_DEPTH_MAX) {
			collect(path, depth + 1, list, count, memo);
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

/* activate - rename path into active/ and start on it */
static void activate(struct qmgr *qm, const char *path)
{
	const char *id = strrchr(path, '/') + 1;
	char *target = xasprintf("%s/active/%s", qm->queue_dir, id);

	if (rename(path, target) < 0) {
		if (errno != ENOENT)
			log_warn("rename %s to %s: %m", path, target);
		free(target);
		return;
	}
	free(target);
	qmgr_message_activate(qm, id);
}

/* scan_dir - move what is due from queue_dir/name into active/ */
static void scan_dir(struct qmgr *qm, const char *name, bool due_only)
{
	char *dir = xasprintf("%s/%s", qm->queue_dir, name);
	char **list = NULL;
	size_t count = 0;
	time_t now = time(NULL);
	struct pid_memo memo = {NULL, 0};

	collect(dir, 0, &list, &count, &memo);
	free(memo.v);
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if ((long long)qm->msg_count >= qm->active_limit)
			;
		else if (!due_only)
			activate(qm, list[i]);
		else if (stat(list[i], &st) == 0 && st.st_mtime <= now)
			activate(qm, list[i]);
		free(list[i]);
	}
	free(list);
	free(dir);
}

/* qmgr_scan_active - resume what a previous run left in active/ */
void qmgr_scan_active(struct qmgr *qm)
{
	char *dir = xasprintf("%s/active", qm->queue_dir);
	char **list = NULL;
	size_t count = 0;
	struct pid_memo memo = {NULL, 0};

	collect(dir, QUEUE_ID_HASH_DEPTH_MAX, &list, &count, &memo);
	free(memo.v);
	for (size_t i = 0; i < count; i++) {
		qmgr_message_activate(qm, strrchr(list[i], '/') + 1);
		free(list[i]);
	}
	free(list);
	free(dir);
}

/* qmgr_scan - incoming/, then due deferred/ */
void qmgr_scan(struct qmgr *qm, bool deferred_too)
{
	scan_dir(qm, "incoming", false);
	if (deferred_too)
		scan_dir(qm, "deferred", true);
}
