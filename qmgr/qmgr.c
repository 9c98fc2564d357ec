/*
 * qmgr - the queue manager: moves messages from incoming/ through
 *	  active/ to the delivery agents, defers and bounces
 *
 * SYNOPSIS
 *	qmgr -c DIR -n qmgr -t unix -u      (started by master, one process)
 *
 * DESCRIPTION
 *	master.cf: "qmgr unix n - n 300 1 qmgr" (a public socket, so that
 *	smtpd, pickup and sendmail can wake it; woken every 300 seconds
 *	by master as well; exactly one process).  On start it resumes the
 *	messages left in active/ by a previous run (recipients still
 *	pending), then scans incoming/ and the due part of deferred/.
 *	Every wakeup scans incoming/, and deferred/ at most once per
 *	second (a wakeup per committed message would otherwise walk all of
 *	deferred/ each time); the queue_run_delay timer scans deferred/ too.  Messages move into active/ up to qmgr_message_active_limit;
 *	see qmgr_message.c for what happens to each.
 *
 *	Everything runs in one libevent loop: requests to the delivery
 *	agents are non-blocking (qmgr_deliver.c), per destination at most
 *	default_destination_concurrency_limit at once
 *	(local_destination_concurrency_limit for local users, not for
 *	virtual mailboxes, as Postfix's virtual(8)), in all at most
 *	default_process_limit.  Scans and queue-file work are short local
 *	file operations.
 *
 * DIAGNOSTICS
 *	A queue directory that cannot be made is fatal; a message that
 *	cannot be handled is logged and left for the next run.
 *
 * SECURITY
 *	Runs as mail_owner (-u).  It reads queue files that smtpd and
 *	pickup wrote; the reader (qfile.c) checks them, and corrupt ones go
 *	to corrupt/.  Results from delivery agents are checked strictly
 *	(index in range, known status).
 */
#include "autoconf.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "maps_list.h"
#include "qmgr.h"
#include "resolve.h"
#include "server.h"

/* mono_now - seconds on the monotonic clock */
static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * scan_cb - the scan asked for by a wakeup or a new bounce.  Every
 * commit into incoming/ sends a wakeup, so under load there are
 * hundreds a second; deferred/ (a walk of its hash subdirectories)
 * is scanned at most once per QMGR_DEFERRED_SCAN_GAP, and a wakeup that
 * comes sooner gets its deferred/ scan when the gap is over.
 */
static void scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *qm = arg;
	bool deferred = qm->scan_deferred;
	double now = mono_now();

	(void)fd;
	(void)what;
	qm->scan_deferred = false;
	if (deferred && qm->deferred_scanned > 0 &&
	    now - qm->deferred_scanned < QMGR_DEFERRED_SCAN_GAP) {
		double wait =
			qm->deferred_scanned + QMGR_DEFERRED_SCAN_GAP - now;
		struct timeval tv = {
			(time_t)wait,
			(suseconds_t)((wait - (time_t)wait) * 1e6)};

		deferred = false;
		if (!evtimer_pending(qm->deferred_timer, NULL))
			evtimer_add(qm->deferred_timer, &tv);
	}
	if (deferred)
		qm->deferred_scanned = now;
	qmgr_scan(qm, deferred);
}

/* deferred_cb - the deferred/ scan a wakeup had to wait for */
static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	qmgr_schedule_scan(arg, true);
}

/* run_cb - queue_run_delay: look at deferred/ again */
static void run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *qm = arg;
	struct timeval tv = {(time_t)qm->queue_run_delay, 0};

	(void)fd;
	(void)what;
	qmgr_schedule_scan(qm, true);
	evtimer_add(qm->run_timer, &tv);
}

/* qmgr_schedule_scan - scan soon (coalesces many wakeups into one) */
void qmgr_schedule_scan(struct qmgr *qm, bool deferred_too)
{
	struct timeval now = {0, 0};

	if (deferred_too)
		qm->scan_deferred = true;
	if (!evtimer_pending(qm->scan_event, NULL))
		evtimer_add(qm->scan_event, &now);
}

/* qmgr_wakeup - master's timer or a trigger after a commit */
static void qmgr_wakeup(struct server *srv)
{
	struct qmgr *qm = server_ctx(srv);

	/* master's periodic wakeup doubles as a deferred/ scan. */
	qmgr_schedule_scan(qm, true);
}

/* qmgr_init - settings, directories, the start-up scan */
static void qmgr_init(struct server *srv)
{
	struct qmgr *qm = server_ctx(srv);
	const struct config *cfg = server_config(srv);
	const char *const *specs;
	struct timeval tv;
	const char *error;
	size_t nspecs;

	qm->srv = srv;
	qm->cfg = cfg;
	qm->base = server_event_base(srv);
	qm->queue_dir = config_str(cfg, "queue_directory");
	qm->myhostname = config_str(cfg, "myhostname");
	specs = config_list(cfg, "virtual_alias_maps", &nspecs);
	qm->virtual_alias_maps =
		maps_list_create("virtual_alias_maps", specs, nspecs, 0);
	qm->active_limit = config_int(cfg, "qmgr_message_active_limit");
	qm->local_concurrency =
		config_int(cfg, "local_destination_concurrency_limit");
	qm->dest_concurrency =
		config_int(cfg, "default_destination_concurrency_limit");
	qm->process_limit = config_int(cfg, "default_process_limit");
	qm->rcpt_limit = config_int(cfg, "default_destination_recipient_limit");
	qm->cohort_limit =
		config_int(cfg, "destination_concurrency_failed_cohort_limit");
	qm->delay_warning = config_time(cfg, "delay_warning_time");
	qm->min_backoff = config_time(cfg, "minimal_backoff_time");
	qm->max_backoff = config_time(cfg, "maximal_backoff_time");
	if (qm->max_backoff < qm->min_backoff)
		qm->max_backoff = qm->min_backoff;
	qm->max_lifetime = config_time(cfg, "maximal_queue_lifetime");
	qm->bounce_lifetime = config_time(cfg, "bounce_queue_lifetime");
	qm->queue_run_delay = config_time(cfg, "queue_run_delay");
	if ((qm->res = resolver_create(cfg, &error)) == NULL)
		log_fatal("%s", error);
	qmgr_transport_init(qm);
	qm->scan_event = evtimer_new(qm->base, scan_cb, qm);
	qm->run_timer = evtimer_new(qm->base, run_cb, qm);
	qm->deferred_timer = evtimer_new(qm->base, deferred_cb, qm);
	if (qm->scan_event == NULL || qm->run_timer == NULL ||
	    qm->deferred_timer == NULL)
		log_fatal("evtimer_new failed");
	qmgr_ensure_dirs(qm);
	qmgr_scan_active(qm);
	qmgr_schedule_scan(qm, true);
	tv.tv_sec = (time_t)qm->queue_run_delay;
	tv.tv_usec = 0;
	evtimer_add(qm->run_timer, &tv);
}

/* qmgr_exit - free for the leak checker */
static void qmgr_exit(struct server *srv)
{
	struct qmgr *qm = server_ctx(srv);

	qmgr_deliver_free_all(qm);
	qmgr_transport_free(qm);
	maps_list_free(&qm->virtual_alias_maps);
	qmgr_active_free_all(qm);
	if (qm->scan_event != NULL)
		event_free(qm->scan_event);
	if (qm->run_timer != NULL)
		event_free(qm->run_timer);
	if (qm->deferred_timer != NULL)
		event_free(qm->deferred_timer);
	resolver_free(&qm->res);
}

int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "qmgr",
		.persistent = true,
		.init = qmgr_init,
		.wakeup = qmgr_wakeup,
		.pre_exit = qmgr_exit,
	};
	struct qmgr qm = {0};

	return server_main(argc, argv, &ops, &qm);
}
