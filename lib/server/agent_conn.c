/*
 * agent_conn - a delivery agent's side of its connection with qmgr
 *
 * SYNOPSIS
 *	#include "agent_conn.h"
 *
 *	void agent_conn_serve(srv, fd, list, fn)
 *
 * DESCRIPTION
 *	See agent_conn.h.  The connection is blocking once the first
 *	request is in: an agent serves one request at a time and qmgr
 *	always reads what it is sent, so the writes of results cannot
 *	stall for long, and between requests a read(2) happens only after
 *	the event loop said the socket is readable.  A process serves at
 *	most AGENT_CONN_USE_FACTOR x max_use requests, then says reuse=0
 *	and exits once the connection is closed, so that it still starts
 *	afresh now and then (against leaks).  Not max_use itself: when
 *	each request had its own connection, max_use (100) deliveries
 *	per process meant a new smtp process every 100 messages, and
 *	that spawn cost more CPU per message than all of the delivery
 *	protocol (bench: 0.82 -> 0.53 ms per message for the whole
 *	tree with no limit); every 1000 it is noise.
 *
 * DIAGNOSTICS
 *	Warnings for a frame that is malformed or too large and for a
 *	write that fails; the connection is then closed.
 *
 * SECURITY
 *	Later frames are bounded like the first (SERVER_REQUEST_MAX)
 *	before they are buffered; a peer that says nothing for max_idle
 *	seconds is dropped.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent_conn.h"
#include "alloc.h"
#include "attr.h"
#include "done_frame.h"
#include "config.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "strbuf.h"

struct agent_conn {
	struct server *srv;
	int fd;
	struct event *ev;
	struct attr_reader *reader;
	agent_conn_fn *fn;
	long long max_use;
};

/* Requests per process: this many times max_use (see above). */
#define AGENT_CONN_USE_FACTOR 10

/* Requests this process has served. */
static long long agent_conn_served;

/* conn_close - end the connection */
static void conn_close(struct agent_conn *c)
{
	struct server *srv = c->srv;

	if (c->ev != NULL)
		event_free(c->ev);
	attr_reader_free(&c->reader);
	close(c->fd);
	free(c);
	server_conn_done(srv);
}

/* conn_request - serve one request; whether the connection goes on */
static bool conn_request(struct agent_conn *c, struct attr_list *list)
{
	long long max_use = c->max_use;
	struct attr_writer w;
	struct strbuf out;
	bool reuse;
	int r;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	r = c->fn(c->srv, list, &out);
	attr_list_free(&list);
	if (r < 0) {
		strbuf_release(&out);
		return false;
	}
	agent_conn_served++;
	if (max_use > 0 && agent_conn_served >= max_use)
		server_drain(c->srv); /* exits once this connection ends */
	reuse = !server_draining(c->srv);
	attr_writer_begin(&w, &out, DONE_FRAME_PROTO);
	attr_put_int(&w, "reuse", reuse ? 1 : 0);
	attr_writer_end(&w);
	if (attr_write_fd(c->fd, &out) < 0) {
		log_warn("write result: %m");
		reuse = false;
	}
	strbuf_release(&out);
	return reuse;
}

/* conn_event - the next request, qmgr's close, or too long a silence */
static void conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct agent_conn *c = arg;
	char buf[8192];
	struct attr_list *list;
	const char *error;
	ssize_t n;
	int r;

	if (what & EV_TIMEOUT) {
		conn_close(c);
		return;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (n < 0)
			log_warn("read request: %m");
		conn_close(c); /* qmgr is done with us */
		return;
	}
	if (attr_reader_feed(c->reader, buf, (size_t)n) < 0) {
		log_warn("read request: frame too large");
		conn_close(c);
		return;
	}
	while ((r = attr_reader_next(c->reader, &list, &error)) > 0) {
		if (!conn_request(c, list)) {
			conn_close(c);
			return;
		}
	}
	if (r < 0) {
		log_warn("bad request frame: %s", error);
		conn_close(c);
	}
}

/* agent_conn_serve - the first request, then wait for more */
void agent_conn_serve(struct server *srv, int fd, struct attr_list *list,
		      agent_conn_fn *fn)
{
	struct agent_conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv = {
		.tv_sec = (time_t)config_time(server_config(srv), "max_idle")};

	c->srv = srv;
	c->fd = fd;
	c->fn = fn;
	c->max_use = config_int(server_config(srv), "max_use") *
		     AGENT_CONN_USE_FACTOR;
	if (net_set_nonblock(fd, false) < 0) {
		log_warn("set connection blocking: %m");
		attr_list_free(&list);
		conn_close(c);
		return;
	}
	if (!conn_request(c, list)) {
		conn_close(c);
		return;
	}
	c->reader = attr_reader_create(SERVER_REQUEST_MAX);
	c->ev = event_new(server_event_base(srv), fd, EV_READ | EV_PERSIST,
			  conn_event, c);
	if (c->ev == NULL)
		log_fatal("event_new failed");
	event_add(c->ev, &tv);
}
