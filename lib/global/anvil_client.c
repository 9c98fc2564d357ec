/*
 * anvil_client - one counted connection registered with anvil
 *
 * SYNOPSIS
 *	#include "anvil_client.h"
 *
 *	c = anvil_client_connect(base, queue_dir, "smtp", "192.0.2.1",
 *				 callback, ctx);
 *	...
 *	anvil_client_free(&c);		(ends the registration)
 *
 * DESCRIPTION
 *	See anvil_client.h for the protocol.  A small state machine on one
 *	libevent event, as auth_client: connect (non-blocking), WRITE the
 *	connect frame, READ the reply, run the callback, then keep only
 *	the descriptor open: its close tells anvil the connection ended.
 *	anvil_client_message() runs the same machine again on that
 *	descriptor.
 *	Any problem on the way (no socket, anvil died, a reply that does
 *	not parse, ANVIL_CLIENT_TIMEOUT) gives an ok=false callback: the
 *	caller then lets the client in, as Postfix's smtpd does when anvil
 *	cannot be reached.
 *
 * DIAGNOSTICS
 *	None logged here: the reason text goes to the caller.
 *
 * SECURITY
 *	The reply is bounded by ANVIL_FRAME_MAX and checked; counts must be
 *	non-negative numbers.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "anvil_client.h"
#include "attr.h"
#include "log.h"
#include "net.h"
#include "strbuf.h"

enum anvil_client_state {
	ANVIL_CLIENT_WRITE,
	ANVIL_CLIENT_READ,
	ANVIL_CLIENT_FAILED, /* waiting to report a start-up failure */
	ANVIL_CLIENT_DONE,   /* answered: holding the registration */
};

struct anvil_client {
	struct event *ev;
	int fd;
	enum anvil_client_state state;
	struct strbuf out;
	size_t sent;
	struct attr_reader *reader;
	const char *fail_reason; /* static, for ANVIL_CLIENT_FAILED */
	anvil_client_callback_fn *cb;
	void *ctx;
	char *service; /* for later requests on the stream */
	char *ident;
};

/* anvil_client_finish - stop the event, report once */
static void anvil_client_finish(struct anvil_client *c, bool ok, long count,
				long rate, const char *reason)
{
	event_del(c->ev);
	c->state = ANVIL_CLIENT_DONE;
	strbuf_release(&c->out);
	attr_reader_free(&c->reader);
	if (!ok && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	/* Last: the callback may free the handle. */
	c->cb(ok, count, rate, reason, c->ctx);
}

/* anvil_client_parse - an anvil-result/1 reply */
static void anvil_client_parse(struct anvil_client *c, struct attr_list *list)
{
	const char *status, *reason, *error;
	int64_t count, rate;

	if (strcmp(list->proto, ANVIL_RESULT_PROTO) != 0 ||
	    attr_get_str(list, "status", &status, &error) < 0) {
		anvil_client_finish(c, false, 0, 0, "anvil: malformed reply");
		return;
	}
	if (strcmp(status, "ok") != 0) {
		if (attr_get_str(list, "reason", &reason, &error) < 0)
			reason = "no reason";
		anvil_client_finish(c, false, 0, 0, reason);
		return;
	}
	if (attr_get_int(list, "count", &count, &error) < 0 ||
	    attr_get_int(list, "rate", &rate, &error) < 0 || count < 0 ||
	    rate < 0) {
		anvil_client_finish(c, false, 0, 0, "anvil: malformed reply");
		return;
	}
	attr_list_end_tolerant(list);
	anvil_client_finish(c, true, (long)count, (long)rate, "");
}

/* anvil_client_write - send what is left of the frame */
static void anvil_client_write(struct anvil_client *c)
{
	struct timeval tv = {.tv_sec = ANVIL_CLIENT_TIMEOUT};

	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->sent,
				 c->out.len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			anvil_client_finish(c, false, 0, 0,
					    "anvil: write failed");
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = ANVIL_CLIENT_READ;
	event_del(c->ev);
	event_assign(c->ev, event_get_base(c->ev), c->fd, EV_READ | EV_PERSIST,
		     event_get_callback(c->ev), c);
	event_add(c->ev, &tv);
}

/* anvil_client_read - take the reply */
static void anvil_client_read(struct anvil_client *c)
{
	char buf[512];
	struct attr_list *list;
	const char *error;
	ssize_t n;
	int ret;

	for (;;) {
		if ((n = read(c->fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			anvil_client_finish(c, false, 0, 0,
					    "anvil: read failed");
			return;
		}
		if (n == 0) {
			anvil_client_finish(c, false, 0, 0,
					    "anvil: connection closed");
			return;
		}
		if (attr_reader_feed(c->reader, buf, (size_t)n) < 0) {
			anvil_client_finish(c, false, 0, 0,
					    "anvil: reply too long");
			return;
		}
		ret = attr_reader_next(c->reader, &list, &error);
		if (ret < 0) {
			anvil_client_finish(c, false, 0, 0,
					    "anvil: malformed reply");
			return;
		}
		if (ret == 1)
			break;
	}
	anvil_client_parse(c, list);
	attr_list_free(&list);
}

/* anvil_client_event - drive the state machine */
static void anvil_client_event(evutil_socket_t fd, short what, void *arg)
{
	struct anvil_client *c = arg;

	(void)fd;
	if (c->state == ANVIL_CLIENT_FAILED)
		anvil_client_finish(c, false, 0, 0, c->fail_reason);
	else if (what & EV_TIMEOUT)
		anvil_client_finish(c, false, 0, 0, "anvil: timeout");
	else if (c->state == ANVIL_CLIENT_WRITE)
		anvil_client_write(c);
	else if (c->state == ANVIL_CLIENT_READ)
		anvil_client_read(c);
}

/* anvil_client_connect - begin: connect, send, wait for the reply */
struct anvil_client *
anvil_client_connect(struct event_base *base, const char *queue_dir,
		     const char *service, const char *ident,
		     anvil_client_callback_fn *cb, void *ctx)
{
	struct anvil_client *c = xcalloc(1, sizeof(*c));
	struct timeval tv = {.tv_sec = ANVIL_CLIENT_TIMEOUT};
	char *path = xasprintf("%s/%s", queue_dir, ANVIL_SOCKET);
	struct attr_writer w;
	const char *error;

	c->cb = cb;
	c->ctx = ctx;
	c->reader = attr_reader_create(ANVIL_FRAME_MAX);
	strbuf_init(&c->out, STRBUF_NO_LIMIT);
	c->fd = net_connect_unix(path, true, &error);
	free(path);
	if (c->fd < 0) {
		/* Report from the loop, never from inside this call. */
		c->state = ANVIL_CLIENT_FAILED;
		c->fail_reason = "anvil: cannot connect to private/anvil";
		c->ev = event_new(base, -1, 0, anvil_client_event, c);
		if (c->ev == NULL)
			log_fatal("event_new failed");
		event_active(c->ev, EV_TIMEOUT, 0);
		return c;
	}
	c->service = xstrdup(service);
	c->ident = xstrdup(ident);
	attr_writer_begin(&w, &c->out, ANVIL_PROTO);
	attr_put_str(&w, "op", "connect");
	attr_put_str(&w, "service", service);
	attr_put_str(&w, "ident", ident);
	attr_writer_end(&w);
	c->state = ANVIL_CLIENT_WRITE;
	c->ev = event_new(base, c->fd, EV_WRITE | EV_PERSIST,
			  anvil_client_event, c);
	if (c->ev == NULL)
		log_fatal("event_new failed");
	event_add(c->ev, &tv);
	return c;
}

/* anvil_client_message - a "message" request on the open stream */
int anvil_client_message(struct anvil_client *c, anvil_client_callback_fn *cb,
			 void *ctx)
{
	struct timeval tv = {.tv_sec = ANVIL_CLIENT_TIMEOUT};
	struct attr_writer w;

	if (c == NULL || c->state != ANVIL_CLIENT_DONE || c->fd < 0)
		return -1;
	c->cb = cb;
	c->ctx = ctx;
	c->sent = 0;
	c->reader = attr_reader_create(ANVIL_FRAME_MAX);
	strbuf_init(&c->out, STRBUF_NO_LIMIT);
	attr_writer_begin(&w, &c->out, ANVIL_PROTO);
	attr_put_str(&w, "op", "message");
	attr_put_str(&w, "service", c->service);
	attr_put_str(&w, "ident", c->ident);
	attr_writer_end(&w);
	c->state = ANVIL_CLIENT_WRITE;
	event_del(c->ev);
	event_assign(c->ev, event_get_base(c->ev), c->fd, EV_WRITE | EV_PERSIST,
		     anvil_client_event, c);
	event_add(c->ev, &tv);
	return 0;
}

/* anvil_client_free - close (ends the registration) */
void anvil_client_free(struct anvil_client **clientp)
{
	struct anvil_client *c = *clientp;

	if (c == NULL)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->fd >= 0)
		close(c->fd);
	strbuf_release(&c->out);
	attr_reader_free(&c->reader);
	free(c->service);
	free(c->ident);
	free(c);
	*clientp = NULL;
}
