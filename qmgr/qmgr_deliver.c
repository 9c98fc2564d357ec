/*
 * qmgr_deliver - per-destination queues and deliver/1 requests to the
 *		  delivery agents
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	void qmgr_deliver_add(struct qmgr *qm, struct qmgr_msg *msg,
 *			      const char *transport, const char *nexthop,
 *			      size_t *dests, size_t count);
 *	void qmgr_deliver_free_all(struct qmgr *qm);
 *
 * DESCRIPTION
 *	A destination is a transport and a next hop; each has a queue of
 *	waiting requests (Postfix's qmgr_queue).  The dests given are cut
 *	into requests of at most default_destination_recipient_limit
 *	recipients (one message, one destination per request: batching).
 *	Requests start while the destination has fewer than its limit in
 *	flight (local_destination_concurrency_limit for the transport
 *	"local", default_destination_concurrency_limit for the others)
 *	and qmgr as a whole fewer than default_process_limit, the queues
 *	taking turns.  A request connects to
 *	queue_directory/private/TRANSPORT (master starts an agent process
 *	for it), sends one deliver/1 frame (docs/architecture.md) and
 *	reads result/1 frames until the agent closes, all non-blocking in
 *	qmgr's event loop.
 *
 *	The outcomes are applied when the request ends, never before: a
 *	recipient whose result did not arrive (the agent died, timed out
 *	or sent garbage) is deferred, so it is delivered again later (at
 *	least once, never lost).
 *
 *	A request whose recipients were all deferred with a 4.4.x status
 *	(no connection, no answer: the destination is down) is a failed
 *	one.  After destination_concurrency_failed_cohort_limit failed
 *	requests in a row the destination is suspended for
 *	minimal_backoff_time: its waiting requests, and those added
 *	meanwhile, are deferred without a connection attempt ("delivery
 *	temporarily suspended: REASON"), so a dead site is not hammered.
 *	When the time is up one request at a time probes it again; any
 *	request that is not a failed one resets the count and lifts that
 *	limit.
 *
 * DIAGNOSTICS
 *	Warnings for a transport that cannot be reached and for malformed
 *	results; the affected recipients are deferred with 4.3.0.
 *
 * SECURITY
 *	Results are checked strictly: protocol name, every attribute read
 *	and none left over, the index in range and answered once, a known
 *	status, the frame size bounded (QMGR_RESULT_MAX).
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "log.h"
#include "net.h"
#include "qfile.h"
#include "qmgr.h"
#include "strbuf.h"

/* Largest result/1 frame accepted (a reason is at most a few KiB). */
#define QMGR_RESULT_MAX (16 * 1024)
/* Longest remote_mta or diagnostic kept from a result. */
#define QMGR_DIAG_MAX 2000

struct qmgr_queue {
	struct qmgr *qm;
	char *transport;
	char *nexthop;
	long long limit; /* requests in flight at most */
	unsigned busy;	 /* requests in flight */
	struct qmgr_req *head, *tail;
	long long failures;	/* failed requests in a row */
	time_t suspended_until; /* 0: alive */
	bool probing;		/* after a suspension: one request at a time */
	char dsn[16];		/* why it is suspended */
	char *reason;
	struct qmgr_queue *next;
};

struct qmgr_req {
	struct qmgr *qm;
	struct qmgr_queue *queue;
	struct qmgr_msg *msg;
	size_t *dests;
	size_t count;
	/* Outcomes as they arrive; applied in req_done. */
	enum qmgr_outcome *outcome;
	char (*dsn)[16];
	char **reason;
	char **remote_mta;
	char **diagnostic;
	struct bufferevent *bev;
	struct attr_reader *reader;
	struct qmgr_req *next;
};

static void dispatch(struct qmgr *qm);

/* req_free - free a request that is not queued */
static void req_free(struct qmgr_req *req)
{
	for (size_t i = 0; i < req->count; i++) {
		free(req->reason[i]);
		free(req->remote_mta[i]);
		free(req->diagnostic[i]);
	}
	free(req->reason);
	free(req->remote_mta);
	free(req->diagnostic);
	free(req->dsn);
	free(req->outcome);
	free(req->dests);
	attr_reader_free(&req->reader);
	if (req->bev != NULL)
		bufferevent_free(req->bev);
	free(req);
}

/* queue_find - the queue of transport + nexthop, made when missing */
static struct qmgr_queue *queue_find(struct qmgr *qm, const char *transport,
				     const char *nexthop)
{
	struct qmgr_queue *q;

	for (q = qm->queues; q != NULL; q = q->next)
		if (strcmp(q->transport, transport) == 0 &&
		    strcmp(q->nexthop, nexthop) == 0)
			return q;
	q = xcalloc(1, sizeof(*q));
	q->qm = qm;
	q->transport = xstrdup(transport);
	q->nexthop = xstrdup(nexthop);
	q->limit = strcmp(transport, "local") == 0 ? qm->local_concurrency
						   : qm->dest_concurrency;
	q->next = qm->queues;
	qm->queues = q;
	return q;
}

/* queue_free - free a queue without requests */
static void queue_free(struct qmgr_queue *q)
{
	free(q->transport);
	free(q->nexthop);
	free(q->reason);
	free(q);
}

/* queue_suspended - whether q takes no requests now (ends old ones) */
static bool queue_suspended(struct qmgr_queue *q)
{
	if (q->suspended_until == 0)
		return false;
	if (time(NULL) < q->suspended_until)
		return true;
	/* Time is up: one request probes; one more failure and it is
	 * suspended again, a success opens it to its full limit. */
	q->suspended_until = 0;
	q->probing = true;
	q->failures = q->qm->cohort_limit - 1;
	return false;
}

static void req_done(struct qmgr_req *req, const char *dsn, const char *why);

/* queue_suspend - the destination is down: stop sending to it */
static void queue_suspend(struct qmgr_queue *q, const char *dsn,
			  const char *reason)
{
	struct qmgr *qm = q->qm;
	char *why;

	q->suspended_until = time(NULL) + (time_t)qm->min_backoff;
	snprintf(q->dsn, sizeof(q->dsn), "%s", dsn);
	free(q->reason);
	q->reason = xstrdup(reason);
	log_info("%s[%s]: delivery temporarily suspended for %llds: %s",
		 q->transport, q->nexthop, qm->min_backoff, reason);
	why = xasprintf("delivery temporarily suspended: %s", reason);
	while (q->head != NULL) {
		struct qmgr_req *req = q->head;

		q->head = req->next;
		if (q->head == NULL)
			q->tail = NULL;
		req->next = NULL;
		req_done(req, q->dsn, why);
	}
	free(why);
}

/* opt_str - an optional string attribute; NULL when absent */
static int opt_str(struct attr_list *list, const char *name,
		   const char **value_r, const char **error_r)
{
	*value_r = NULL;
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->attrs[i].name, name) == 0)
			return attr_get_str(list, name, value_r, error_r);
	return 0;
}

/*
 * req_done - apply the outcomes (missing ones deferred with dsn and
 * why), count a failed request against its destination, and end the
 * request.
 */
static void req_done(struct qmgr_req *req, const char *dsn, const char *why)
{
	struct qmgr *qm = req->qm;
	struct qmgr_queue *q = req->queue;
	struct qmgr_msg *msg = req->msg;
	bool failed = true;
	bool started = req->bev != NULL;

	if (req->bev != NULL) {
		bufferevent_free(req->bev);
		req->bev = NULL;
		qm->busy--;
		q->busy--;
	}
	for (size_t i = 0; i < req->count; i++) {
		struct qmgr_dest *d = &msg->dests[req->dests[i]];

		if (req->outcome[i] == QMGR_TODO) {
			free(d->reason);
			if (strncmp(why, "delivery temporarily", 20) == 0)
				d->reason = xstrdup(why);
			else
				d->reason =
					xasprintf("delivery via %s failed: %s",
						  q->transport, why);
			snprintf(d->dsn, sizeof(d->dsn), "%s", dsn);
			qmgr_log_delivery(msg, d, "none", "deferred");
			req->outcome[i] = QMGR_DEFERRED;
			snprintf(req->dsn[i], sizeof(req->dsn[i]), "%s", dsn);
			req->reason[i] = xstrdup(d->reason);
		}
		if (req->outcome[i] != QMGR_DEFERRED ||
		    strncmp(req->dsn[i], "4.4.", 4) != 0)
			failed = false;
	}
	/* A dead destination: every recipient failed at connection level. */
	if (started) {
		if (!failed) {
			q->failures = 0;
			q->probing = false;
		} else if (++q->failures >= qm->cohort_limit &&
			   q->suspended_until == 0) {
			queue_suspend(q, req->dsn[0], req->reason[0]);
		}
	}
	/* The last outcome may finish and free msg: touch it no more. */
	for (size_t i = 0; i < req->count; i++)
		qmgr_message_outcome(msg, &msg->dests[req->dests[i]],
				     req->outcome[i], req->dsn[i],
				     req->reason[i], req->remote_mta[i],
				     req->diagnostic[i]);
	req_free(req);
	dispatch(qm);
}

/* take_result - one result/1 frame; -1 when it is malformed */
static int take_result(struct qmgr_req *req, struct attr_list *list,
		       const char **error_r)
{
	const char *status, *dsn, *reason, *relay, *mta, *diag;
	enum qmgr_outcome outcome;
	int64_t index;

	if (strcmp(list->proto, "result/1") != 0) {
		*error_r = "unexpected protocol";
		return -1;
	}
	if (attr_get_int(list, "index", &index, error_r) < 0 ||
	    attr_get_str(list, "status", &status, error_r) < 0 ||
	    attr_get_str(list, "dsn", &dsn, error_r) < 0 ||
	    attr_get_str(list, "reason", &reason, error_r) < 0 ||
	    attr_get_str(list, "relay", &relay, error_r) < 0 ||
	    opt_str(list, "remote_mta", &mta, error_r) < 0 ||
	    opt_str(list, "diagnostic", &diag, error_r) < 0 ||
	    attr_list_end(list, error_r) < 0)
		return -1;
	if (index < 0 || (uint64_t)index >= req->count ||
	    req->outcome[index] != QMGR_TODO) {
		*error_r = "bad or repeated index";
		return -1;
	}
	if (strcmp(status, "sent") == 0)
		outcome = QMGR_SENT;
	else if (strcmp(status, "bounced") == 0)
		outcome = QMGR_BOUNCED;
	else if (strcmp(status, "deferred") == 0)
		outcome = QMGR_DEFERRED;
	else {
		*error_r = "unknown status";
		return -1;
	}
	/* The DSN class must match the status (RFC 3463). */
	if ((outcome == QMGR_SENT && dsn[0] != '2') ||
	    (outcome == QMGR_BOUNCED && dsn[0] != '5') ||
	    (outcome == QMGR_DEFERRED && dsn[0] != '4') ||
	    strlen(dsn) >= sizeof(req->dsn[0])) {
		*error_r = "dsn does not match the status";
		return -1;
	}
	if ((mta != NULL && strlen(mta) > QMGR_DIAG_MAX) ||
	    (diag != NULL && strlen(diag) > QMGR_DIAG_MAX)) {
		*error_r = "remote_mta or diagnostic too long";
		return -1;
	}
	req->outcome[index] = outcome;
	snprintf(req->dsn[index], sizeof(req->dsn[index]), "%s", dsn);
	req->reason[index] = xstrdup(reason);
	if (mta != NULL && mta[0] != '\0')
		req->remote_mta[index] = xstrdup(mta);
	if (diag != NULL && diag[0] != '\0')
		req->diagnostic[index] = xstrdup(diag);
	return 0;
}

/* req_read - result frames */
static void req_read(struct bufferevent *bev, void *arg)
{
	struct qmgr_req *req = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct attr_list *list;
	const char *error;
	int r;

	while (evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in);
		unsigned char *data = evbuffer_pullup(in, (ssize_t)len);

		if (attr_reader_feed(req->reader, data, len) < 0) {
			log_warn("%s: %s: result frame too large", req->msg->id,
				 req->queue->transport);
			req_done(req, "4.3.0", "malformed reply");
			return;
		}
		evbuffer_drain(in, len);
	}
	while ((r = attr_reader_next(req->reader, &list, &error)) > 0) {
		r = take_result(req, list, &error);
		attr_list_free(&list);
		if (r < 0)
			break;
	}
	if (r < 0) {
		log_warn("%s: %s: bad result: %s", req->msg->id,
			 req->queue->transport, error);
		req_done(req, "4.3.0", "malformed reply");
	}
}

/* req_event - the agent closed (done, or died), or timed out */
static void req_event(struct bufferevent *bev, short what, void *arg)
{
	struct qmgr_req *req = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		req_done(req, "4.3.0",
			 "lost connection with the delivery agent");
	else if (what & BEV_EVENT_TIMEOUT)
		req_done(req, "4.3.0", "delivery agent timed out");
	else if (what & BEV_EVENT_ERROR)
		req_done(req, "4.3.0",
			 "connection to the delivery agent failed");
}

/* orig_rcpt - what to send as rcpt_I_orcpt */
static const char *orig_rcpt(const struct qmgr_msg *msg,
			     const struct qmgr_dest *d)
{
	const struct qfile_rcpt *r = &msg->q->rcpts[d->rcpt];

	if (strcasecmp(r->address, d->address) != 0)
		return r->address;
	if (strncasecmp(r->orcpt, "rfc822;", 7) == 0)
		return r->orcpt + 7;
	return "";
}

/* start - connect and send the request */
static void start(struct qmgr *qm, struct qmgr_req *req)
{
	struct qmgr_msg *msg = req->msg;
	struct qmgr_queue *q = req->queue;
	char *sock = xasprintf("%s/private/%s", qm->queue_dir, q->transport);
	char *qfile = xasprintf("active/%s", msg->id);
	struct strbuf out;
	struct attr_writer w;
	struct timeval tmo = {QMGR_AGENT_TIMEOUT, 0};
	const char *error;
	int fd;

	fd = net_connect_unix(sock, true, &error);
	if (fd < 0) {
		log_warn("%s: connect to %s: %s", msg->id, sock, error);
		free(sock);
		free(qfile);
		req_done(req, "4.3.0", "delivery agent not available");
		return;
	}
	free(sock);
	req->bev = bufferevent_socket_new(qm->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (req->bev == NULL)
		log_fatal("bufferevent_socket_new failed");
	qm->busy++;
	q->busy++;
	req->reader = attr_reader_create(QMGR_RESULT_MAX);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, "deliver/1");
	attr_put_str(&w, "queue_id", msg->id);
	attr_put_str(&w, "queue_file", qfile);
	attr_put_str(&w, "sender", msg->q->sender);
	attr_put_str(&w, "nexthop", q->nexthop);
	attr_put_int(&w, "rcpt_count", (int64_t)req->count);
	for (size_t i = 0; i < req->count; i++) {
		const struct qmgr_dest *d = &msg->dests[req->dests[i]];
		char name[ATTR_NAME_MAX + 1];

		snprintf(name, sizeof(name), "rcpt_%zu", i);
		attr_put_str(&w, name, d->address);
		snprintf(name, sizeof(name), "rcpt_%zu_orcpt", i);
		attr_put_str(&w, name, orig_rcpt(msg, d));
		snprintf(name, sizeof(name), "rcpt_%zu_offset", i);
		attr_put_int(&w, name,
			     (int64_t)msg->q->rcpts[d->rcpt].status_offset);
	}
	attr_writer_end(&w);
	free(qfile);
	bufferevent_setcb(req->bev, req_read, NULL, req_event, req);
	bufferevent_set_timeouts(req->bev, &tmo, &tmo);
	bufferevent_write(req->bev, out.data, out.len);
	bufferevent_enable(req->bev, EV_READ | EV_WRITE);
	strbuf_release(&out);
}

/* queue_pop - take the first waiting request of q */
static struct qmgr_req *queue_pop(struct qmgr_queue *q)
{
	struct qmgr_req *req = q->head;

	q->head = req->next;
	if (q->head == NULL)
		q->tail = NULL;
	req->next = NULL;
	return req;
}

/*
 * dispatch - start waiting requests, one queue after the other, while
 * below the limits; then drop the queues that hold nothing.  A request
 * that ends at once (no agent) calls dispatch again: that call only
 * asks this loop for another round.
 */
static void dispatch(struct qmgr *qm)
{
	bool progress;

	if (qm->dispatching) {
		qm->redispatch = true;
		return;
	}
	qm->dispatching = true;
	do {
		qm->redispatch = false;
		progress = false;
		for (struct qmgr_queue *q = qm->queues; q != NULL;
		     q = q->next) {
			if ((long long)qm->busy >= qm->process_limit)
				break;
			if (q->head == NULL || queue_suspended(q) ||
			    (long long)q->busy >= (q->probing ? 1 : q->limit))
				continue;
			start(qm, queue_pop(q));
			progress = true;
		}
	} while (progress || qm->redispatch);
	for (struct qmgr_queue **pp = &qm->queues; *pp != NULL;) {
		struct qmgr_queue *q = *pp;

		if (q->head == NULL && q->busy == 0 && q->failures == 0 &&
		    !queue_suspended(q) && !q->probing) {
			*pp = q->next;
			queue_free(q);
		} else {
			pp = &q->next;
		}
	}
	qm->dispatching = false;
}

/* qmgr_deliver_add - queue requests for these dests of msg */
void qmgr_deliver_add(struct qmgr *qm, struct qmgr_msg *msg,
		      const char *transport, const char *nexthop, size_t *dests,
		      size_t count)
{
	struct qmgr_queue *q = queue_find(qm, transport, nexthop);
	bool suspended = queue_suspended(q);
	char *why = NULL;

	if (suspended)
		why = xasprintf("delivery temporarily suspended: %s",
				q->reason);
	for (size_t done = 0; done < count;) {
		struct qmgr_req *req = xcalloc(1, sizeof(*req));
		size_t n = count - done;

		if ((long long)n > qm->rcpt_limit)
			n = (size_t)qm->rcpt_limit;
		req->qm = qm;
		req->queue = q;
		req->msg = msg;
		req->count = n;
		req->dests = xcalloc(n, sizeof(*req->dests));
		memcpy(req->dests, dests + done, n * sizeof(*dests));
		req->outcome = xcalloc(n, sizeof(*req->outcome));
		req->dsn = xcalloc(n, sizeof(*req->dsn));
		req->reason = xcalloc(n, sizeof(*req->reason));
		req->remote_mta = xcalloc(n, sizeof(*req->remote_mta));
		req->diagnostic = xcalloc(n, sizeof(*req->diagnostic));
		done += n;
		if (suspended) {
			req_done(req, q->dsn, why);
			continue;
		}
		if (q->tail != NULL)
			q->tail->next = req;
		else
			q->head = req;
		q->tail = req;
	}
	free(why);
	dispatch(qm);
}

/* qmgr_deliver_free_all - at exit: drop waiting requests and queues */
void qmgr_deliver_free_all(struct qmgr *qm)
{
	while (qm->queues != NULL) {
		struct qmgr_queue *q = qm->queues;

		qm->queues = q->next;
		while (q->head != NULL)
			req_free(queue_pop(q));
		queue_free(q);
	}
}
