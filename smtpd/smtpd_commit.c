/*
 * smtpd_commit - queue file commits off the event loop
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	void smtpd_commit_start(struct smtpd_session *s);
 *
 * DESCRIPTION
 *	qfile_commit() waits for the disk (file fsync, directory fsync).
 *	Run in the event loop it stalls every other session of the process
 *	for that time, so that one smtpd process commits one message after
 *	another: the disk's speed, not the CPU, bounds a process.  Here a
 *	few worker threads run the commits instead; the fsyncs of several
 *	sessions then wait for the disk together, and the filesystem's
 *	journal commits them as one group.
 *
 *	smtpd_commit_start() takes the session's finished writer (s->qw),
 *	suspends the session's input (smtpd_session_suspend) and queues
 *	the job.  A worker runs qfile_commit() on it and nothing else: no
 *	libevent, no logging, no session state.  Its result goes back to
 *	the loop through an eventfd; there smtpd_queue_committed() logs,
 *	wakes qmgr, replies 250 (or 451) and resumes the session.  So each
 *	250 is sent after its own file and directory are durable, exactly
 *	as with the commit in the loop; only the waiting is elsewhere.
 *
 *	While a job is out the session is not freed: session_free() sees
 *	s->commit and only marks the session, and the completion frees it.
 *	A client that goes away during its commit thus gets its message
 *	queued once (it sent the whole message; the file is committed or,
 *	on failure, removed by qfile_commit), never a temporary file left
 *	over, and the process does not count the session as done (nor
 *	exit at max_use) before the file is settled.
 *
 *	The threads start at the first commit and block all signals, so
 *	that the loop keeps handling SIGTERM and SIGHUP.  On SIGTERM the
 *	process exits with jobs out: their clients got no 250; a file
 *	whose rename was done is complete (all was written before it) and
 *	is delivered, a temporary one is removed by qmgr's scan.
 *
 * DIAGNOSTICS
 *	Failure to start a thread or make the eventfd is fatal (the process
 *	is restarted by master); commit errors go to smtpd_queue_committed.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "server.h"
#include "smtpd.h"

/*
 * Commits in flight at once.  Each thread mostly sleeps in fsync; more
 * of them make larger journal groups when many sessions end their data
 * at the same time.  One smtpd process serves smtpd_process_session_limit
 * sessions, and sessions beyond this count simply wait their turn.
 */
#define SMTPD_COMMIT_THREADS 8

struct smtpd_commit_job {
	struct smtpd_commit_job *next;
	struct smtpd_session *s;
	struct qfile_writer *qw;
	int ret;
	char error[512];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct smtpd_commit_job *todo, **todo_tail;
	struct smtpd_commit_job *done, **done_tail;
	int efd;
	struct event *ev;
	bool started;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
	.efd = -1,
};

/* commit_worker - take jobs, commit, hand the result back */
static void *commit_worker(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	for (;;) {
		struct smtpd_commit_job *job;
		const char *err = NULL;

		pthread_mutex_lock(&pool.lock);
		while (pool.todo == NULL)
			pthread_cond_wait(&pool.more, &pool.lock);
		job = pool.todo;
		if ((pool.todo = job->next) == NULL)
			pool.todo_tail = &pool.todo;
		pthread_mutex_unlock(&pool.lock);

		job->next = NULL;
		job->ret = qfile_commit(job->qw, NULL, 0, &err);
		if (job->ret < 0)
			snprintf(job->error, sizeof(job->error), "%s",
				 err != NULL ? err : "commit failed");

		pthread_mutex_lock(&pool.lock);
		*pool.done_tail = job;
		pool.done_tail = &job->next;
		pthread_mutex_unlock(&pool.lock);
		/* A counter: never blocks, never fails short of a bug. */
		if (write(pool.efd, &one, sizeof(one)) != sizeof(one))
			abort();
	}
	return NULL;
}

/* commit_done - in the loop: finish the sessions whose commit is done */
static void commit_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_commit_job *list, *job;
	uint64_t n;

	(void)what;
	(void)arg;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_fatal("read commit eventfd: %m");
	pthread_mutex_lock(&pool.lock);
	list = pool.done;
	pool.done = NULL;
	pool.done_tail = &pool.done;
	pthread_mutex_unlock(&pool.lock);
	while ((job = list) != NULL) {
		struct smtpd_session *s = job->s;

		list = job->next;
		s->commit = NULL;
		/* Back to the session: reset_txn frees it. */
		s->qw = job->qw;
		smtpd_queue_committed(s, job->ret, job->error);
		free(job);
	}
}

/* commit_pool_start - the eventfd, its event and the threads, once */
static void commit_pool_start(struct smtpd *sd)
{
	sigset_t all, old;

	pool.todo_tail = &pool.todo;
	pool.done_tail = &pool.done;
	pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool.efd < 0)
		log_fatal("eventfd: %m");
	pool.ev = event_new(server_event_base(sd->srv), pool.efd,
			    EV_READ | EV_PERSIST, commit_done, NULL);
	if (pool.ev == NULL || event_add(pool.ev, NULL) < 0)
		log_fatal("libevent: cannot watch the commit eventfd");
	/* Signals stay with the loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < SMTPD_COMMIT_THREADS; i++) {
		pthread_t t;
		int err = pthread_create(&t, NULL, commit_worker, NULL);

		if (err != 0)
			log_fatal("start commit thread: %s", strerror(err));
		pthread_detach(t);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pool.started = true;
}

/* smtpd_commit_start - commit s->qw on a worker; reply when it is done */
void smtpd_commit_start(struct smtpd_session *s)
{
	struct smtpd_commit_job *job = xcalloc(1, sizeof(*job));

	if (!pool.started)
		commit_pool_start(s->sd);
	job->s = s;
	job->qw = s->qw;
	s->qw = NULL;
	s->commit = job;
	smtpd_session_suspend(s);
	pthread_mutex_lock(&pool.lock);
	*pool.todo_tail = job;
	pool.todo_tail = &job->next;
	pthread_cond_signal(&pool.more);
	pthread_mutex_unlock(&pool.lock);
}
