/*
 * qmgr_deliver - deliver/1 requests to the delivery agents
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	void qmgr_deliver_add(struct qmgr *qm, struct qmgr_msg *msg,
 *			      const char *transport, size_t *dests,
 *			      size_t count);
 *	void qmgr_deliver_free_all(struct qmgr *qm);
 *
 * DESCRIPTION
 *	The dests are cut into requests of at most QMGR_RCPT_PER_REQUEST
 *	recipients, which wait in one FIFO; at most
 *	local_destination_concurrency_limit of them are in flight.  A
 *	request connects to queue_directory/private/TRANSPORT (master
 *	starts an agent process for it), sends one deliver/1 frame
 *	(docs/architecture.md) and reads result/1 frames until the agent
 *	closes, all non-blocking in qmgr's event loop.
 *
 *	The outcomes are applied when the request ends, never before: a
 *	recipient whose result did not arrive (the agent died, timed out
 *	or sent garbage) is deferred, so it is delivered again later (at
 *	least once, never lost).
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

struct qmgr_req {
	struct qmgr *qm;
	struct qmgr_msg *msg;
	char *transport;
	size_t *dests;
	size_t count;
	/* Outcomes as they arrive; applied in req_done. */
	enum qmgr_outcome *outcome;
	char (*dsn)[16];
	char **reason;
	struct bufferevent *bev;
	struct attr_reader *reader;
	struct qmgr_req *next;
};

static void dispatch(struct qmgr *qm);

/* req_free - free a request that is not queued */
static void req_free(struct qmgr_req *req)
{
	for (size_t i = 0; i < req->count; i++)
		free(req->reason[i]);
	free(req->reason);
	free(req->dsn);
	free(req->outcome);
	free(req->dests);
	free(req->transport);
	attr_reader_free(&req->reader);
	if (req->bev != NULL)
		bufferevent_free(req->bev);
	free(req);
}

/*
 * req_done - apply the outcomes (missing ones deferred with why) and
 * end the request.
 */
static void req_done(struct qmgr_req *req, const char *why)
{
	struct qmgr *qm = req->qm;
	struct qmgr_msg *msg = req->msg;

	if (req->bev != NULL) {
		bufferevent_free(req->bev);
		req->bev = NULL;
		qm->busy--;
	}
	for (size_t i = 0; i < req->count; i++) {
		struct qmgr_dest *d = &msg->dests[req->dests[i]];

		if (req->outcome[i] == QMGR_TODO) {
			free(d->reason);
			d->reason = xasprintf("delivery via %s failed: %s",
					      req->transport, why);
			snprintf(d->dsn, sizeof(d->dsn), "4.3.0");
			qmgr_log_delivery(msg, d, req->transport, "deferred");
			req->outcome[i] = QMGR_DEFERRED;
			snprintf(req->dsn[i], sizeof(req->dsn[i]), "4.3.0");
			req->reason[i] = xstrdup(d->reason);
		}
	}
	/* The last outcome may finish and free msg: touch it no more. */
	for (size_t i = 0; i < req->count; i++)
		qmgr_message_outcome(msg, &msg->dests[req->dests[i]],
				     req->outcome[i], req->dsn[i],
				     req->reason[i]);
	req_free(req);
	dispatch(qm);
}

/* take_result - one result/1 frame; -1 when it is malformed */
static int take_result(struct qmgr_req *req, struct attr_list *list,
		       const char **error_r)
{
	const char *status, *dsn, *reason, *relay;
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
	req->outcome[index] = outcome;
	snprintf(req->dsn[index], sizeof(req->dsn[index]), "%s", dsn);
	req->reason[index] = xstrdup(reason);
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
				 req->transport);
			req_done(req, "malformed reply");
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
		log_warn("%s: %s: bad result: %s", req->msg->id, req->transport,
			 error);
		req_done(req, "malformed reply");
	}
}

/* req_event - the agent closed (done, or died), or timed out */
static void req_event(struct bufferevent *bev, short what, void *arg)
{
	struct qmgr_req *req = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		req_done(req, "lost connection with the delivery agent");
	else if (what & BEV_EVENT_TIMEOUT)
		req_done(req, "delivery agent timed out");
	else if (what & BEV_EVENT_ERROR)
		req_done(req, "connection to the delivery agent failed");
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
	char *sock = xasprintf("%s/private/%s", qm->queue_dir, req->transport);
	char *qfile = xasprintf("active/%s", msg->id);
	struct strbuf out;
	struct attr_writer w;
	struct timeval tmo = {QMGR_AGENT_TIMEOUT, 0};
	const char *error, *at;
	int fd;

	fd = net_connect_unix(sock, true, &error);
	if (fd < 0) {
		log_warn("%s: connect to %s: %s", msg->id, sock, error);
		free(sock);
		free(qfile);
		req_done(req, "delivery agent not available");
		return;
	}
	free(sock);
	req->bev = bufferevent_socket_new(qm->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (req->bev == NULL)
		log_fatal("bufferevent_socket_new failed");
	qm->busy++;
	req->reader = attr_reader_create(QMGR_RESULT_MAX);
	strbuf_init(&out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &out, "deliver/1");
	attr_put_str(&w, "queue_id", msg->id);
	attr_put_str(&w, "queue_file", qfile);
	attr_put_str(&w, "sender", msg->q->sender);
	at = strrchr(msg->dests[req->dests[0]].address, '@');
	attr_put_str(&w, "nexthop", at != NULL ? at + 1 : "");
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

/* dispatch - start waiting requests while below the concurrency limit */
static void dispatch(struct qmgr *qm)
{
	while (qm->queue_head != NULL &&
	       (long long)qm->busy < qm->concurrency) {
		struct qmgr_req *req = qm->queue_head;

		qm->queue_head = req->next;
		if (qm->queue_head == NULL)
			qm->queue_tail = NULL;
		req->next = NULL;
		start(qm, req);
	}
}

/* qmgr_deliver_add - queue requests for these dests of msg */
void qmgr_deliver_add(struct qmgr *qm, struct qmgr_msg *msg,
		      const char *transport, size_t *dests, size_t count)
{
	for (size_t done = 0; done < count;) {
		struct qmgr_req *req = xcalloc(1, sizeof(*req));
		size_t n = count - done;

		if (n > QMGR_RCPT_PER_REQUEST)
			n = QMGR_RCPT_PER_REQUEST;
		req->qm = qm;
		req->msg = msg;
		req->transport = xstrdup(transport);
		req->count = n;
		req->dests = xcalloc(n, sizeof(*req->dests));
		memcpy(req->dests, dests + done, n * sizeof(*dests));
		req->outcome = xcalloc(n, sizeof(*req->outcome));
		req->dsn = xcalloc(n, sizeof(*req->dsn));
		req->reason = xcalloc(n, sizeof(*req->reason));
		if (qm->queue_tail != NULL)
			qm->queue_tail->next = req;
		else
			qm->queue_head = req;
		qm->queue_tail = req;
		done += n;
	}
	dispatch(qm);
}

/* qmgr_deliver_free_all - at exit: drop waiting requests */
void qmgr_deliver_free_all(struct qmgr *qm)
{
	while (qm->queue_head != NULL) {
		struct qmgr_req *req = qm->queue_head;

		qm->queue_head = req->next;
		req_free(req);
	}
	qm->queue_tail = NULL;
}
