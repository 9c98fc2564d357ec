/*
 * qmgr_message - one message in active/: load, route, finish
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	void qmgr_message_activate(struct qmgr *qm, const char *id);
 *	void qmgr_message_outcome(struct qmgr_msg *msg,
 *				  struct qmgr_dest *dest,
 *				  enum qmgr_outcome outcome,
 *				  const char *dsn, const char *reason);
 *
 * DESCRIPTION
 *	Activation reads active/ID (qfile.c).  A file that does not parse
 *	goes to corrupt/ with a warning.  Otherwise qmgr logs the Postfix
 *	line "ID: from=<sender>, size=N, nrcpt=N (queue active)", expands
 *	each pending recipient through virtual_alias_maps (Postfix's
 *	cleanup does it at arrival; we do it before each delivery, so a
 *	changed table applies to deferred mail too), routes each address
 *	to a transport and next hop (qmgr_transport.c) and hands them to
 *	the agents, the addresses with the same route in one batch
 *	(qmgr_deliver.c).  Routes to error: and discard: are settled here,
 *	as bounced and sent.
 *
 *	When every address has an outcome the message is finished: a queue
 *	recipient is delivered (D) when all its addresses were sent,
 *	bounced (B) or expired (X) when none is deferred and one failed;
 *	the non-delivery notice is queued first, and the mark is written
 *	only after it was committed.  Deferred addresses older than
 *	maximal_queue_lifetime (bounce_queue_lifetime for a message from
 *	<>) expire: they are returned to the sender like bounces.  A file
 *	whose recipients are all done is removed ("ID: removed"), else it
 *	goes to deferred/ (qmgr_defer.c).
 *
 *	Delay notices: when delay_warning_time is set and a message that
 *	goes back to deferred/ is older than that, its deferred recipients
 *	that were not warned yet (and whose NOTIFY allows DELAY) get one
 *	notice; they are then flagged in the queue file
 *	(QFILE_RCPT_DELAY_WARNED), so each is warned once.
 *
 * DIAGNOSTICS
 *	Warnings for files that cannot be read, moved or marked; the
 *	message then stays queued (at least once, never lost).
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "maps.h"
#include "maps_list.h"
#include "qfile.h"
#include "qmgr.h"
#include "resolve.h"

/* now_seconds - the time as a double */
static double now_seconds(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* qmgr_message_age - seconds since arrival */
double qmgr_message_age(const struct qmgr_msg *msg)
{
	return now_seconds() - ((double)msg->q->arrival_sec +
				(double)msg->q->arrival_usec / 1e6);
}

/* fmt_delay - seconds as Postfix prints them */
static void fmt_delay(char *buf, size_t size, double d)
{
	if (d < 0.01)
		snprintf(buf, size, "0");
	else if (d < 10)
		snprintf(buf, size, "%.2g", d);
	else
		snprintf(buf, size, "%.0f", d);
}

/* qmgr_log_delivery - "ID: to=<...>, relay=..., status=... (reason)" */
void qmgr_log_delivery(struct qmgr_msg *msg, const struct qmgr_dest *dest,
		       const char *relay, const char *status)
{
	const char *orig = msg->q->rcpts[dest->rcpt].address;
	bool show = strcasecmp(orig, dest->address) != 0;
	char delay[32];

	fmt_delay(delay, sizeof(delay), qmgr_message_age(msg));
	log_info("%s: to=<%s>, %s%s%srelay=%s, delay=%s, delays=%s/0/0/0, "
		 "dsn=%s, status=%s (%s)",
		 msg->id, dest->address, show ? "orig_to=<" : "",
		 show ? orig : "", show ? ">, " : "", relay, delay, delay,
		 dest->dsn, status, dest->reason ? dest->reason : "");
}

/* add_dest - one delivery address for queue recipient rcpt */
static void add_dest(struct qmgr_msg *msg, size_t rcpt, const char *address)
{
	struct qmgr_dest *d;

	msg->dests = xreallocarray(msg->dests, msg->dest_count + 1,
				   sizeof(*msg->dests));
	d = &msg->dests[msg->dest_count++];
	memset(d, 0, sizeof(*d));
	d->address = xstrdup(address);
	d->rcpt = rcpt;
	d->cls = resolver_class(msg->qm->res, address);
}

/* valias_find - the virtual_alias_maps value of key, copied */
static int valias_find(struct qmgr *qm, const char *key, char **value_r)
{
	const char *value, *error;
	int r = maps_list_find(qm->virtual_alias_maps, key, &value, &error);

	if (r > 0)
		*value_r = xstrdup(value);
	else if (r < 0)
		log_warn("%s", error);
	return r;
}

/* valias_lookup - address, then user@domain sans extension, then @domain */
static int valias_lookup(struct qmgr *qm, const char *address, char **value_r)
{
	const char *at = strrchr(address, '@');
	const char *delims = config_str(qm->cfg, "recipient_delimiter");
	int r = valias_find(qm, address, value_r);

	if (r != 0 || at == NULL)
		return r;
	if (delims[0] != '\0' && at - address > 1) {
		size_t n = strcspn(address + 1, delims) + 1;

		if (n < (size_t)(at - address)) {
			char *key = xasprintf("%.*s%s", (int)n, address, at);

			r = valias_find(qm, key, value_r);
			free(key);
			if (r != 0)
				return r;
		}
	}
	return valias_find(qm, at, value_r);
}

/*
 * valias_expand - the final addresses of address (recursive); -1 when a
 * table failed or the expansion went too deep/wide.
 */
static int valias_expand(struct qmgr_msg *msg, size_t rcpt, const char *address,
			 int depth, size_t *added)
{
	struct qmgr *qm = msg->qm;
	char *value = NULL, *p;
	int r;

	if (depth > QMGR_VALIAS_DEPTH_MAX || *added > QMGR_VALIAS_TARGETS_MAX)
		return -1;
	if ((r = valias_lookup(qm, address, &value)) < 0)
		return -1;
	if (r == 0) {
		add_dest(msg, rcpt, address);
		(*added)++;
		return 0;
	}
	p = value;
	r = 0;
	while (r == 0 && *p != '\0') {
		size_t n;
		char *item;

		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		item = xstrndup(p, n);
		p += n;
		if (strchr(item, '@') == NULL) {
			/* Postfix appends $myorigin to a bare name. */
			char *full = xasprintf("%s@%s", item,
					       config_str(qm->cfg, "myorigin"));

			free(item);
			item = full;
		}
		if (strcasecmp(item, address) == 0) {
			add_dest(msg, rcpt, item); /* "a@x a@x, b@y" */
			(*added)++;
		} else {
			r = valias_expand(msg, rcpt, item, depth + 1, added);
		}
		free(item);
	}
	free(value);
	return r;
}

/* move_corrupt - set a bad file aside */
static void move_corrupt(struct qmgr *qm, const char *id, const char *path,
			 const char *why)
{
	char *target = xasprintf("%s/corrupt/%s", qm->queue_dir, id);

	if (rename(path, target) < 0)
		log_warn("%s: rename %s to %s: %m", id, path, target);
	else
		log_warn("%s: corrupt queue file moved to corrupt/: %s", id,
			 why);
	free(target);
}

/* qmgr_message_free - free a message (not its file) */
void qmgr_message_free(struct qmgr_msg **msgp)
{
	struct qmgr_msg *msg = *msgp;

	if (msg == NULL)
		return;
	for (size_t i = 0; i < msg->dest_count; i++) {
		free(msg->dests[i].address);
		free(msg->dests[i].reason);
		free(msg->dests[i].remote_mta);
		free(msg->dests[i].diagnostic);
	}
	free(msg->dests);
	qfile_free(&msg->q);
	free(msg->path);
	free(msg);
	*msgp = NULL;
}

/* retire_msg - msg is finished: let go of it and free it */
static void retire_msg(struct qmgr_msg *msg)
{
	qmgr_active_remove(msg->qm, msg);
	qmgr_message_free(&msg);
}

/* wants_notice - whether NOTIFY= asks for a non-delivery notice */
static bool wants_notice(unsigned int notify)
{
	if (notify & QFILE_NOTIFY_NEVER)
		return false;
	return notify == 0 || (notify & QFILE_NOTIFY_FAILURE) != 0;
}

/* wants_delay_notice - whether NOTIFY= asks for a delay notice */
static bool wants_delay_notice(unsigned int notify)
{
	if (notify & QFILE_NOTIFY_NEVER)
		return false;
	return notify == 0 || (notify & QFILE_NOTIFY_DELAY) != 0;
}

/*
 * delay_notice - a message that stays deferred: one delay notice for
 * its deferred recipients not warned yet, when it is old enough.
 */
static void delay_notice(struct qmgr_msg *msg, const int *state)
{
	struct qmgr *qm = msg->qm;
	struct qfile *q = msg->q;
	size_t *list, count = 0;
	const char *error;

	if (qm->delay_warning <= 0 || q->sender[0] == '\0' ||
	    qmgr_message_age(msg) <= (double)qm->delay_warning)
		return;
	list = xcalloc(msg->dest_count + 1, sizeof(*list));
	for (size_t i = 0; i < msg->dest_count; i++) {
		const struct qmgr_dest *d = &msg->dests[i];
		const struct qfile_rcpt *r = &q->rcpts[d->rcpt];

		if (d->outcome == QMGR_DEFERRED &&
		    state[d->rcpt] == QFILE_RCPT_PENDING && !r->delay_warned &&
		    wants_delay_notice(r->notify))
			list[count++] = i;
	}
	if (count > 0 && qmgr_bounce_send(msg, list, count, true) == 0) {
		for (size_t i = 0; i < count; i++) {
			struct qfile_rcpt *r =
				&q->rcpts[msg->dests[list[i]].rcpt];

			if (r->delay_warned)
				continue; /* two addresses of one recipient */
			r->delay_warned = true;
			if (qfile_mark_delay_warned(q->fd, r->status_offset,
						    &error) < 0)
				log_warn("%s: mark recipient %s: %s", msg->id,
					 r->address, error);
		}
	}
	free(list);
}

/* finish - every dest has its outcome: mark, bounce, defer or remove */
static void finish(struct qmgr_msg *msg)
{
	struct qmgr *qm = msg->qm;
	struct qfile *q = msg->q;
	int *state = xcalloc(q->rcpt_count + 1, sizeof(*state));
	size_t *notice = xcalloc(msg->dest_count + 1, sizeof(*notice));
	size_t notice_count = 0, pending = 0;
	bool null_sender = q->sender[0] == '\0';
	long long lifetime =
		null_sender ? qm->bounce_lifetime : qm->max_lifetime;
	bool expired = qmgr_message_age(msg) > (double)lifetime;
	bool was_full = (long long)qm->msg_count >= qm->active_limit;
	bool removed = false; /* the file is gone, marks are moot */
	const char *error;

	/* 0: untouched (already done in the file), else the new status. */
	for (size_t i = 0; i < q->rcpt_count; i++)
		state[i] = q->rcpts[i].status == QFILE_RCPT_PENDING
				   ? QFILE_RCPT_DELIVERED
				   : 0;
	for (size_t i = 0; i < msg->dest_count; i++) {
		struct qmgr_dest *d = &msg->dests[i];
		int *st = &state[d->rcpt];

		if (d->outcome == QMGR_DEFERRED && !expired) {
			qmgr_defer_log(msg, d);
			*st = QFILE_RCPT_PENDING;
		} else if (d->outcome == QMGR_DEFERRED ||
			   d->outcome == QMGR_BOUNCED) {
			if (d->outcome == QMGR_DEFERRED)
				qmgr_log_delivery(msg, d, "none",
						  "expired, returned to "
						  "sender");
			if (*st != QFILE_RCPT_PENDING)
				*st = d->outcome == QMGR_DEFERRED
					      ? QFILE_RCPT_EXPIRED
					      : QFILE_RCPT_BOUNCED;
			if (!null_sender &&
			    wants_notice(q->rcpts[d->rcpt].notify))
				notice[notice_count++] = i;
		}
	}
	if (notice_count > 0 &&
	    qmgr_bounce_send(msg, notice, notice_count, false) < 0) {
		/* No notice, no mark: try again with the next attempt. */
		for (size_t i = 0; i < notice_count; i++)
			state[msg->dests[notice[i]].rcpt] = QFILE_RCPT_PENDING;
	}
	for (size_t i = 0; i < q->rcpt_count; i++)
		if (state[i] == QFILE_RCPT_PENDING)
			pending++;
	/*
	 * Nothing left to do: remove the file without marking it first.
	 * The marks would cost an fdatasync() in this single event loop for
	 * every message; what they protect against (a crash of the machine
	 * that undoes the unlink) means delivering again, which the queue
	 * allows (at least once, never lost).  Only when the unlink fails
	 * do the marks go in, so that the file left behind is not delivered
	 * again.
	 */
	if (pending == 0) {
		if (unlink(msg->path) < 0)
			log_warn("%s: remove %s: %m", msg->id, msg->path);
		else
			removed = true;
	}
	for (size_t i = 0; i < q->rcpt_count && !removed; i++) {
		if (state[i] == 0 || state[i] == QFILE_RCPT_PENDING)
			continue;
		if (qfile_mark_recipient(q->fd, q->rcpts[i].status_offset,
					 state[i], &error) < 0) {
			log_warn("%s: mark recipient %s: %s", msg->id,
				 q->rcpts[i].address, error);
			pending++;
		}
	}
	if (pending > 0 && !expired)
		delay_notice(msg, state);
	if (pending == 0) {
		if (removed)
			log_info("%s: removed", msg->id);
		qmgr_defer_remove_logs(qm, msg->id);
	} else {
		qmgr_defer_message(msg);
	}
	free(state);
	free(notice);
	retire_msg(msg);
	if (was_full)
		qmgr_schedule_scan(qm, false);
}

/* qmgr_message_outcome - record one outcome; finish after the last */
void qmgr_message_outcome(struct qmgr_msg *msg, struct qmgr_dest *dest,
			  enum qmgr_outcome outcome, const char *dsn,
			  const char *reason, const char *remote_mta,
			  const char *diagnostic)
{
	if (dest->outcome != QMGR_TODO && dest->outcome != QMGR_INFLIGHT)
		log_panic("%s: second outcome for %s", msg->id, dest->address);
	dest->outcome = outcome;
	snprintf(dest->dsn, sizeof(dest->dsn), "%s", dsn);
	free(dest->reason);
	dest->reason = xstrdup(reason);
	free(dest->remote_mta);
	dest->remote_mta = remote_mta != NULL ? xstrdup(remote_mta) : NULL;
	free(dest->diagnostic);
	dest->diagnostic = diagnostic != NULL ? xstrdup(diagnostic) : NULL;
	if (--msg->unfinished == 0)
		finish(msg);
}

/* The routes route_cmp compares (qsort has no context argument). */
static const struct qmgr_route *sort_routes;

/* same_route - whether dests i and j share transport and next hop */
static bool same_route(size_t i, size_t j)
{
	const struct qmgr_route *x = &sort_routes[i], *y = &sort_routes[j];

	return strcmp(x->transport, y->transport) == 0 &&
	       strcmp(x->nexthop, y->nexthop) == 0 &&
	       x->virtual_mailbox == y->virtual_mailbox;
}

/* route_cmp - order dest indexes by transport, next hop, index */
static int route_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct qmgr_route *x = &sort_routes[i], *y = &sort_routes[j];
	int c = strcmp(x->transport, y->transport);

	if (c == 0)
		c = strcmp(x->nexthop, y->nexthop);
	if (c == 0)
		c = (int)x->virtual_mailbox - (int)y->virtual_mailbox;
	if (c == 0)
		c = i < j ? -1 : i > j;
	return c;
}

/*
 * settle - an outcome qmgr decides itself: error: (bounced, or deferred
 * for a 4.x.y status), discard: (sent), or a route that failed
 * (deferred).  msg is held by the caller.
 */
static void settle(struct qmgr_msg *msg, struct qmgr_dest *d,
		   const struct qmgr_route *rt)
{
	enum qmgr_outcome outcome;
	const char *status;

	snprintf(d->dsn, sizeof(d->dsn), "%s", rt->dsn);
	free(d->reason);
	d->reason = xstrdup(rt->nexthop);
	if (rt->kind == QMGR_ROUTE_DISCARD) {
		outcome = QMGR_SENT;
		status = "sent";
	} else if (rt->kind == QMGR_ROUTE_ERROR && rt->dsn[0] == '5') {
		outcome = QMGR_BOUNCED;
		status = "bounced";
	} else {
		outcome = QMGR_DEFERRED;
		status = "deferred";
	}
	qmgr_log_delivery(msg, d, "none", status);
	qmgr_message_outcome(msg, d, outcome, rt->dsn, rt->nexthop, NULL, NULL);
}

/* qmgr_message_activate - load active/ID and start its deliveries */
void qmgr_message_activate(struct qmgr *qm, const char *id)
{
	struct qmgr_msg *msg;
	char *path;
	struct qfile *q = NULL;
	const char *error;
	struct qmgr_route *routes;
	size_t *batch, nbatch = 0, count;
	int r;

	if (qmgr_active_find(qm, id) != NULL)
		return; /* already being worked on */
	path = xasprintf("%s/active/%s", qm->queue_dir, id);
	r = qfile_open(path, true, NULL, &q, &error);
	if (r == QFILE_ERR_CORRUPT || r == QFILE_ERR_INCOMPLETE) {
		move_corrupt(qm, id, path, error);
		free(path);
		return;
	}
	if (r < 0) {
		log_warn("%s: %s", id, error);
		free(path);
		return;
	}
	msg = xcalloc(1, sizeof(*msg));
	msg->qm = qm;
	snprintf(msg->id, sizeof(msg->id), "%s", id);
	msg->path = path;
	msg->q = q;
	qmgr_active_add(qm, msg);
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id,
		 q->sender, (unsigned long long)q->content_size, q->rcpt_count);
	for (size_t i = 0; i < q->rcpt_count; i++) {
		size_t added = 0, first = msg->dest_count;

		if (q->rcpts[i].status != QFILE_RCPT_PENDING)
			continue;
		if (valias_expand(msg, i, q->rcpts[i].address, 1, &added) < 0) {
			/* Drop partial expansions; defer the recipient. */
			for (size_t j = first; j < msg->dest_count; j++)
				free(msg->dests[j].address);
			msg->dest_count = first;
			add_dest(msg, i, q->rcpts[i].address);
			msg->dests[first].outcome = QMGR_DEFERRED;
			snprintf(msg->dests[first].dsn,
				 sizeof(msg->dests[first].dsn), "4.3.0");
			msg->dests[first].reason =
				xstrdup("virtual_alias_maps lookup failed or "
					"expansion too large");
		}
	}
	count = msg->dest_count;
	msg->unfinished = count + 1; /* +1: held until set up below */
	routes = xcalloc(count + 1, sizeof(*routes));
	batch = xcalloc(count + 1, sizeof(*batch));
	for (size_t i = 0; i < count; i++) {
		struct qmgr_dest *d = &msg->dests[i];
		struct qmgr_route *rt = &routes[i];

		if (d->outcome == QMGR_DEFERRED) {
			/* virtual_alias_maps failed above */
			qmgr_log_delivery(msg, d, "none", "deferred");
			msg->unfinished--;
			continue;
		}
		qmgr_transport_route(qm, d, rt);
		if (rt->kind != QMGR_ROUTE_AGENT) {
			settle(msg, d, rt);
			continue;
		}
		d->outcome = QMGR_INFLIGHT;
		batch[nbatch++] = i;
	}
	/* Same transport and next hop: one batch (in address order). */
	sort_routes = routes;
	qsort(batch, nbatch, sizeof(*batch), route_cmp);
	for (size_t i = 0, j; i < nbatch; i = j) {
		for (j = i + 1; j < nbatch && same_route(batch[i], batch[j]);
		     j++)
			;
		/* Last: a failure to reach the agent records outcomes at once. */
		qmgr_deliver_add(qm, msg, routes[batch[i]].transport,
				 routes[batch[i]].nexthop,
				 routes[batch[i]].virtual_mailbox, batch + i,
				 j - i);
	}
	for (size_t i = 0; i < count; i++)
		qmgr_route_release(&routes[i]);
	free(routes);
	free(batch);
	/* Release the hold: finishes now when nothing went to an agent. */
	if (--msg->unfinished == 0)
		finish(msg);
}
