/*
 * qmgr_deliver - per-destination queues and deliver/1 requests to the
 *		  delivery agents
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	void qmgr_deliver_add(struct qmgr *qm, struct qmgr_msg *msg,
 *			      const char *transport, const char *nexthop,
 *			      bool virtual_mailbox, size_t *dests, size_t count);
 *	void qmgr_deliver_free_all(struct qmgr *qm);	(queues, idle agents)
 *
 * DESCRIPTION
 *	A destination is a transport and a next hop; each has a queue of
 *	waiting requests (Postfix's qmgr_queue).  The dests given are cut
 *	into requests of at most default_destination_recipient_limit
 *	recipients (one message, one destination per request: batching).
 *	Requests start while the destination has fewer than its limit in
 *	flight (local_destination_concurrency_limit for the transport
 *	"local" except for virtual mailboxes,
 *	default_destination_concurrency_limit for the others)
 *	and qmgr as a whole fewer than default_process_limit, the queues
 *	taking turns.  A request goes to a delivery agent over
 *	queue_directory/private/TRANSPORT (master starts an agent process
 *	for it): one deliver/1 frame (docs/architecture.md), then result/1
 *	frames up to done/1, all non-blocking in qmgr's event loop.
 *
 *	Agent connections are kept: an agent that ends a request with
 *	done/1 reuse=1 goes back to a pool of idle connections, and the
 *	next request for its transport takes it instead of connecting
 *	(preferring the one whose last request had the same next hop, so
 *	that the smtp agent's cached session fits; else the one idle the
 *	longest).  The pool holds at most default_process_limit
 *	connections and closes one idle for QMGR_AGENT_IDLE_TIME; an agent
 *	that closes instead (local, or reuse=0) is simply not pooled.
 *
 *	The outcomes are applied when the request ends (done/1, or the
 *	agent closed), never before: a recipient whose result did not
 *	arrive (the agent died, timed out or sent garbage) is deferred, so
 *	it is delivered again later (at least once, never lost).
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

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "done_frame.h"
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
	bool virtual_mailbox; /* struct qmgr_route: part of the key */
	long long limit;      /* requests in flight at most */
	unsigned busy;	      /* requests in flight */
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
	struct qmgr_agent *agent; /* while in flight */
	bool started;		  /* it reached an agent */
	struct qmgr_req *next;
};

/* A connection to a delivery agent: serving a request, or idle. */
struct qmgr_agent {
	struct qmgr *qm;
	char *transport;
	char *nexthop; /* of its last request */
	int fd;
	struct event *rev; /* readable, or its timeout */
	struct event *wev; /* writable, while out holds bytes */
	struct strbuf out; /* what one write(2) could not take */
	struct attr_reader *reader;
	struct qmgr_req *req;		/* NULL while idle in the pool */
	struct qmgr_agent *prev, *next; /* the pool, newest first */
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
	free(req);
}

/* agent_free - close an agent connection that is not in the pool */
static void agent_free(struct qmgr_agent *a)
{
	attr_reader_free(&a->reader);
	event_free(a->rev);
	if (a->wev != NULL)
		event_free(a->wev);
	strbuf_release(&a->out);
	close(a->fd);
	free(a->transport);
	free(a->nexthop);
	free(a);
}

/* pool_unlink - take a out of the pool */
static void pool_unlink(struct qmgr_agent *a)
{
	struct qmgr *qm = a->qm;

	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		qm->agents_idle = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	a->prev = a->next = NULL;
	qm->agents_idle_count--;
}

/*
 * pool_take - an idle connection for transport: the newest whose last
 * next hop was nexthop, else the oldest (its agent's own session cache
 * has most likely expired already); NULL when there is none
 */
static struct qmgr_agent *pool_take(struct qmgr *qm, const char *transport,
				    const char *nexthop)
{
	struct qmgr_agent *oldest = NULL;

	for (struct qmgr_agent *a = qm->agents_idle; a != NULL; a = a->next) {
		if (strcmp(a->transport, transport) != 0)
			continue;
		if (strcmp(a->nexthop, nexthop) == 0) {
			oldest = a;
			break;
		}
		oldest = a;
	}
	if (oldest != NULL)
		pool_unlink(oldest);
	return oldest;
}

/* queue_find - the queue of transport + nexthop, made when missing */
static struct qmgr_queue *queue_find(struct qmgr *qm, const char *transport,
				     const char *nexthop, bool virtual_mailbox)
{
	struct qmgr_queue *q;

	for (q = qm->queues; q != NULL; q = q->next)
		if (strcmp(q->transport, transport) == 0 &&
		    strcmp(q->nexthop, nexthop) == 0 &&
		    q->virtual_mailbox == virtual_mailbox)
			return q;
	q = xcalloc(1, sizeof(*q));
	q->qm = qm;
	q->transport = xstrdup(transport);
	q->nexthop = xstrdup(nexthop);
	q->virtual_mailbox = virtual_mailbox;
	/* local's limit protects local users' mailboxes (mbox locking, as
	 * Postfix's 2); virtual mailboxes get Postfix virtual(8)'s. */
	q->limit = strcmp(transport, "local") == 0 && !virtual_mailbox
			   ? qm->local_concurrency
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
	bool started = req->started;

	if (req->agent != NULL)
		log_panic("%s: request ends attached to an agent", msg->id);
	if (started) {
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

/* pool_put - an agent that finished a request waits for the next one */
static void pool_put(struct qmgr_agent *a)
{
	struct qmgr *qm = a->qm;
	struct timeval idle = {QMGR_AGENT_IDLE_TIME, 0};

	if ((long long)qm->agents_idle_count >= qm->process_limit) {
		agent_free(a);
		return;
	}
	a->prev = NULL;
	a->next = qm->agents_idle;
	if (a->next != NULL)
		a->next->prev = a;
	qm->agents_idle = a;
	qm->agents_idle_count++;
	/* Reading stays on: an agent that goes away is noticed at once. */
	event_add(a->rev, &idle);
}

/*
 * agent_fail - the connection broke (close, timeout, bad frame): drop
 * it, and end its request with dsn and why for the missing results
 */
static void agent_fail(struct qmgr_agent *a, const char *dsn, const char *why)
{
	struct qmgr_req *req = a->req;

	if (req == NULL) {
		pool_unlink(a);
		agent_free(a);
		return;
	}
	a->req = NULL;
	req->agent = NULL;
	agent_free(a);
	req_done(req, dsn, why);
}

/* agent_done - done/1: pool the agent (before dispatch can want it) */
static void agent_done(struct qmgr_agent *a, bool reuse)
{
	struct qmgr_req *req = a->req;

	a->req = NULL;
	req->agent = NULL;
	if (reuse)
		pool_put(a);
	else
		agent_free(a);
	req_done(req, "4.3.0", "delivery agent sent no result");
}

/*
 * agent_read - result frames up to done/1; or the agent closed (an
 * old-style end, or it died), or said nothing in time.  The socket is
 * read and written directly, not through a bufferevent: that saves the
 * FIONREAD ioctl on every read and the two epoll_ctl calls that turn
 * write events on and off around every request.
 */
static void agent_read(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr_agent *a = arg;
	unsigned char buf[16384];
	struct attr_list *list;
	const char *error = NULL;
	bool reuse;
	ssize_t n;
	int r;

	if (what & EV_TIMEOUT) {
		agent_fail(a, "4.3.0", "delivery agent timed out");
		return;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		agent_fail(a, "4.3.0",
			   "connection to the delivery agent failed");
		return;
	}
	if (n == 0) {
		agent_fail(a, "4.3.0",
			   "lost connection with the delivery agent");
		return;
	}
	if (attr_reader_feed(a->reader, buf, (size_t)n) < 0) {
		log_warn("%s: %s: result frame too large",
			 a->req != NULL ? a->req->msg->id : "-", a->transport);
		agent_fail(a, "4.3.0", "malformed reply");
		return;
	}
	while ((r = attr_reader_next(a->reader, &list, &error)) > 0) {
		if (a->req == NULL) {
			error = "a frame while idle";
			r = -1;
		} else if (strcmp(list->proto, DONE_FRAME_PROTO) == 0) {
			r = done_frame_parse(list, &reuse, &error);
			if (r == 0) {
				attr_list_free(&list);
				/* Bytes after done/1: out of step, drop it. */
				if (attr_reader_buffered(a->reader) > 0)
					reuse = false;
				agent_done(a, reuse);
				return;
			}
		} else {
			r = take_result(a->req, list, &error);
		}
		attr_list_free(&list);
		if (r < 0)
			break;
	}
	if (r < 0) {
		log_warn("%s: %s: bad result: %s",
			 a->req != NULL ? a->req->msg->id : "-", a->transport,
			 error);
		agent_fail(a, "4.3.0", "malformed reply");
	}
}

/* agent_flush - write what is pending; -1 when the socket failed */
static int agent_flush(struct qmgr_agent *a)
{
	while (a->out.len > 0) {
		ssize_t n = write(a->fd, a->out.data, a->out.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -1;
		strbuf_consume(&a->out, (size_t)n);
	}
	if (a->out.len > 0)
		event_add(a->wev, NULL);
	return 0;
}

/* agent_writable - the rest of a request that did not fit at once */
static void agent_writable(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr_agent *a = arg;

	(void)fd;
	(void)what;
	/* A failed write shows on the read side as well: end it there. */
	if (agent_flush(a) < 0)
		strbuf_reset(&a->out);
}

/* agent_connect - a new connection to private/transport, or NULL */
static struct qmgr_agent *agent_connect(struct qmgr *qm, const char *transport,
					const char *id)
{
	char *sock = xasprintf("%s/private/%s", qm->queue_dir, transport);
	struct qmgr_agent *a;
	const char *error;
	int fd;

	fd = net_connect_unix(sock, true, &error);
	if (fd < 0) {
		log_warn("%s: connect to %s: %s", id, sock, error);
		free(sock);
		return NULL;
	}
	free(sock);
	a = xcalloc(1, sizeof(*a));
	a->qm = qm;
	a->transport = xstrdup(transport);
	a->fd = fd;
	a->rev = event_new(qm->base, fd, EV_READ | EV_PERSIST, agent_read, a);
	a->wev = event_new(qm->base, fd, EV_WRITE, agent_writable, a);
	if (a->rev == NULL || a->wev == NULL)
		log_fatal("event_new failed");
	strbuf_init(&a->out, STRBUF_NO_LIMIT);
	a->reader = attr_reader_create(QMGR_RESULT_MAX);
	return a;
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

/* start - take a pooled agent (or connect) and send the request */
static void start(struct qmgr *qm, struct qmgr_req *req)
{
	struct qmgr_msg *msg = req->msg;
	struct qmgr_queue *q = req->queue;
	struct qmgr_agent *a = pool_take(qm, q->transport, q->nexthop);
	struct timeval tmo = {QMGR_AGENT_TIMEOUT, 0};
	struct attr_writer w;
	char qfile[8 + sizeof(msg->id)];

	if (a == NULL &&
	    (a = agent_connect(qm, q->transport, msg->id)) == NULL) {
		req_done(req, "4.3.0", "delivery agent not available");
		return;
	}
	if (a->nexthop == NULL || strcmp(a->nexthop, q->nexthop) != 0) {
		free(a->nexthop);
		a->nexthop = xstrdup(q->nexthop);
	}
	a->req = req;
	req->agent = a;
	req->started = true;
	qm->busy++;
	q->busy++;
	snprintf(qfile, sizeof(qfile), "active/%s", msg->id);
	/* Empty: an idle agent has sent everything it was given. */
	if (a->out.len > 0)
		log_panic("%s: request to a busy agent", msg->id);
	attr_writer_begin(&w, &a->out, "deliver/1");
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
	event_add(a->rev, &tmo);
	/* A failed write shows as a close or an error on the read side. */
	if (agent_flush(a) < 0)
		strbuf_reset(&a->out);
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
		      const char *transport, const char *nexthop,
		      bool virtual_mailbox, size_t *dests, size_t count)
{
	struct qmgr_queue *q =
		queue_find(qm, transport, nexthop, virtual_mailbox);
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
	while (qm->agents_idle != NULL) {
		struct qmgr_agent *a = qm->agents_idle;

		pool_unlink(a);
		agent_free(a);
	}
}
