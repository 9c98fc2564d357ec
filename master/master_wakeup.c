/*
 * master_wakeup - wake services up on a timer
 *
 * SYNOPSIS
 *	#include "master.h"
 *
 *	void master_wakeup_init(serv)
 *	void master_wakeup_cancel(serv)
 *
 * DESCRIPTION
 *	A unix or fifo service with a wakeup time N gets a nudge every N
 *	seconds: master connects to its socket and writes one attr frame
 *	of protocol "wakeup/1", or writes "W" into its FIFO.  The nudge is
 *	an ordinary client as far as demand goes: when no process of the
 *	service runs, the pending connection (or FIFO byte) makes master
 *	start one.  So a scanner like pickup or qmgr needs no timer of its
 *	own and no process while there is nothing to do.
 *
 *	The first nudge goes out as soon as the loop runs (as in Postfix,
 *	which starts qmgr and pickup this way), except for "N?" services,
 *	which are only woken once they have been used.  inet services are
 *	never woken.
 *
 * DIAGNOSTICS
 *	A failed connect or write is a warning; the next period tries again.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "strbuf.h"

/* wakeup_unix - one wakeup/1 frame through the service's socket */
static void wakeup_unix(struct master_service *serv)
{
	struct attr_writer w;
	struct strbuf frame;
	const char *error;
	ssize_t n;
	int fd;

	/* Non-blocking: a full listen queue must not stall master. */
	if ((fd = net_connect_unix(serv->sock_path, true, &error)) < 0) {
		log_warn("service %s: wakeup: %s", serv->name, error);
		return;
	}
	strbuf_init(&frame, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &frame, "wakeup/1");
	attr_writer_end(&w);
	n = write(fd, frame.data, frame.len);
	if (n != (ssize_t)frame.len)
		log_warn("service %s: wakeup: write: %s", serv->name,
			 n < 0 ? strerror(errno) : "short write");
	strbuf_release(&frame);
	close(fd);
}

/* wakeup_fifo - one "W" into the service's FIFO */
static void wakeup_fifo(struct master_service *serv)
{
	/* master holds the FIFO open read-write: write on that descriptor. */
	if (serv->nlisteners == 0)
		return;
	if (write(serv->listeners[0].fd, "W", 1) != 1 && errno != EAGAIN)
		log_warn("service %s: wakeup: write %s: %m", serv->name,
			 serv->sock_path);
}

/* wakeup_event - the timer fired */
static void wakeup_event(evutil_socket_t fd, short what, void *arg)
{
	struct master_service *serv = arg;

	(void)fd;
	(void)what;
	if (serv->retired || master.stopping)
		return;
	if (serv->wakeup_if_used && !serv->used)
		return;
	if (master.verbose)
		log_debug("service %s: wakeup", serv->name);
	if (serv->type == MASTERCF_UNIX)
		wakeup_unix(serv);
	else if (serv->type == MASTERCF_FIFO)
		wakeup_fifo(serv);
}

/* master_wakeup_init - start the timer of a service, nudge it once now */
void master_wakeup_init(struct master_service *serv)
{
	struct timeval period = {.tv_sec = serv->wakeup};

	if (serv->wakeup <= 0 || serv->wakeup_timer != NULL ||
	    (serv->type != MASTERCF_UNIX && serv->type != MASTERCF_FIFO))
		return;
	serv->wakeup_timer =
		event_new(master.base, -1, EV_PERSIST, wakeup_event, serv);
	if (serv->wakeup_timer == NULL)
		log_fatal("event_new failed");
	event_add(serv->wakeup_timer, &period);
	/* The first nudge at once; "N?" services skip it (not used yet). */
	event_active(serv->wakeup_timer, EV_TIMEOUT, 0);
}

/* master_wakeup_cancel - stop the timer */
void master_wakeup_cancel(struct master_service *serv)
{
	if (serv->wakeup_timer != NULL) {
		event_free(serv->wakeup_timer);
		serv->wakeup_timer = NULL;
	}
}
