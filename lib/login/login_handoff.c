/*
 * login_handoff - give an authenticated session to the post-login service
 *
 * SYNOPSIS
 *	#include "login.h"
 *
 *	void login_handoff(struct event_base *base, const char *queue_dir,
 *			   const char *service, struct bufferevent *client,
 *			   const struct login_session *session,
 *			   login_handoff_done_fn *done, void *ctx);
 *	bool login_handoff_relaying(void);
 *	void login_handoff_set_relay_end(void (*fn)(void *arg), void *arg);
 *
 * DESCRIPTION
 *	Runs in imap-login and pop3-login.  It connects without blocking to
 *	queue_directory/private/SERVICE, writes the session/1 frame, then
 *	sends the descriptor in a message of its own (see login.h for why
 *	the two are apart) and closes the connection: the dispatcher owns
 *	the session from then on and writes the client's next reply.
 *
 *	What is passed: a plain connection whose buffers are empty is
 *	passed as it is, and this process forgets it.  Anything else is
 *	relayed: a TLS connection (the TLS state lives in this process's
 *	OpenSSL session and cannot move), or a plain one that still holds
 *	buffered input (commands pipelined behind LOGIN) or output.  Then
 *	one end of a socketpair is passed, and this process copies bytes
 *	between the client and the other end until either side closes,
 *	Dovecot's login proxy.  Buffered input goes first, so a pipelined
 *	command reaches the post-login service in order.  Each direction
 *	buffers at most LOGIN_RELAY_BUFFER bytes before it stops reading
 *	from its source (back-pressure, not unbounded memory).
 *
 *	The relay has no timeout of its own: the post-login service
 *	decides when a session is idle (IMAP IDLE may last 30 minutes)
 *	and closes its end, which ends the relay.
 *
 * DIAGNOSTICS
 *	When the service cannot be reached or does not take the session
 *	within LOGIN_HANDOFF_TIMEOUT seconds, the client gets the
 *	protocol's temporary error (login_unavailable_reply()), is closed,
 *	and done() gets ok = false and a text for the log.
 *
 * SECURITY
 *	The login process never sees the mailbox: it only learns that the
 *	service accepted the descriptor.  The frame is bounded and checked
 *	strictly by the receiver.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "login.h"
#include "net.h"
#include "strbuf.h"

/* Bytes one relay direction buffers before it stops reading its source. */
#define LOGIN_RELAY_BUFFER (256 * 1024)
/* A closing side has this long to take what is left for it. */
#define LOGIN_FLUSH_TIMEOUT 10

struct handoff {
	struct event_base *base;
	struct bufferevent *client;
	struct event *ev;
	int conn;     /* to private/SERVICE, or -1 */
	int pass_fd;  /* the descriptor we pass */
	int relay_fd; /* our end of the socketpair, or -1 */
	struct strbuf frame;
	size_t sent;
	const char *error; /* static, set on failure */
	char errbuf[256];
	char reply[LOGIN_TAG_MAX + 128];
	login_handoff_done_fn *done;
	void *ctx;
};

struct relay {
	struct bufferevent *client; /* the client (TLS filter or socket) */
	struct bufferevent *inner;  /* the socketpair end */
};

/* A side being closed: its output is flushed, then it is freed. */
struct flush {
	struct bufferevent *bev;
	struct event *timer;
	unsigned ticks;
	bool relay; /* the end of a relay: call the relay-end function */
};

static void (*relay_end_fn)(void *arg);
static void *relay_end_arg;
static bool in_done_relaying;

/* login_handoff_set_relay_end - who hears that a relay ended */
void login_handoff_set_relay_end(void (*fn)(void *arg), void *arg)
{
	relay_end_fn = fn;
	relay_end_arg = arg;
}

/* login_handoff_relaying - inside done: is the session relayed? */
bool login_handoff_relaying(void)
{
	return in_done_relaying;
}

/* output_empty - nothing left to send, TLS layer included */
static bool output_empty(struct bufferevent *bev)
{
	struct bufferevent *under = bufferevent_get_underlying(bev);

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return false;
	return under == NULL ||
	       evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

/* flush_finish - free the side; end the relay when it was one */
static void flush_finish(struct flush *l)
{
	bool relay = l->relay;

	bufferevent_free(l->bev);
	event_free(l->timer);
	free(l);
	if (relay && relay_end_fn != NULL)
		relay_end_fn(relay_end_arg);
}

/* flush_timer - poll until the output is out (or give up) */
static void flush_timer(evutil_socket_t fd, short what, void *arg)
{
	struct flush *l = arg;
	struct timeval tv = {0, 50000};

	(void)fd;
	(void)what;
	if (output_empty(l->bev) || ++l->ticks > LOGIN_FLUSH_TIMEOUT * 20) {
		flush_finish(l);
		return;
	}
	evtimer_add(l->timer, &tv);
}

/* flush_event - the peer went away while we flushed */
static void flush_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		flush_finish(arg);
}

/* flush_start - flush bev's output, then free it */
static void flush_start(struct event_base *base, struct bufferevent *bev,
			bool relay)
{
	struct flush *l = xcalloc(1, sizeof(*l));
	struct timeval tv = {0, 0};

	l->bev = bev;
	l->relay = relay;
	l->timer = evtimer_new(base, flush_timer, l);
	if (l->timer == NULL)
		log_fatal("libevent: out of memory");
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, NULL, flush_event, l);
	bufferevent_enable(bev, EV_WRITE);
	/* From the loop: the caller may still be on the stack. */
	evtimer_add(l->timer, &tv);
}

/* relay_copy - move what src has read to dst; pause src when dst is full */
static void relay_copy(struct bufferevent *src, struct bufferevent *dst)
{
	struct evbuffer *out = bufferevent_get_output(dst);

	evbuffer_add_buffer(out, bufferevent_get_input(src));
	if (evbuffer_get_length(out) >= LOGIN_RELAY_BUFFER) {
		bufferevent_disable(src, EV_READ);
		/* dst's write callback fires once half of it is out. */
		bufferevent_setwatermark(dst, EV_WRITE, LOGIN_RELAY_BUFFER / 2,
					 0);
	}
}

/* relay_read - either side sent something */
static void relay_read(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;

	if (bev == r->client)
		relay_copy(r->client, r->inner);
	else
		relay_copy(r->inner, r->client);
}

/* relay_write - a side's output drained: read its source again */
static void relay_write(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *src = bev == r->client ? r->inner : r->client;

	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(src, EV_READ);
}

/* relay_event - a side closed or failed: flush the other, end */
static void relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *other = bev == r->client ? r->inner : r->client;
	struct event_base *base = bufferevent_get_base(bev);

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	/* Whatever the closing side sent last still goes through. */
	evbuffer_add_buffer(bufferevent_get_output(other),
			    bufferevent_get_input(bev));
	bufferevent_free(bev);
	free(r);
	flush_start(base, other, true);
}

/* relay_start - copy between the client and our socketpair end */
static void relay_start(struct handoff *h)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->client = h->client;
	r->inner = bufferevent_socket_new(h->base, h->relay_fd,
					  BEV_OPT_CLOSE_ON_FREE);
	if (r->inner == NULL)
		log_fatal("libevent: out of memory");
	h->relay_fd = -1;
	/* Commands pipelined behind the login command go first. */
	evbuffer_add_buffer(bufferevent_get_output(r->inner),
			    bufferevent_get_input(r->client));
	bufferevent_set_timeouts(r->client, NULL, NULL);
	bufferevent_setwatermark(r->client, EV_READ, 0, 0);
	bufferevent_setcb(r->client, relay_read, relay_write, relay_event, r);
	bufferevent_setcb(r->inner, relay_read, relay_write, relay_event, r);
	bufferevent_enable(r->client, EV_READ | EV_WRITE);
	bufferevent_enable(r->inner, EV_READ | EV_WRITE);
}

/* handoff_free - the handoff's own resources */
static void handoff_free(struct handoff *h)
{
	if (h->ev != NULL)
		event_free(h->ev);
	if (h->conn >= 0)
		close(h->conn);
	if (h->relay_fd >= 0) {
		close(h->relay_fd);
		close(h->pass_fd);
	}
	strbuf_release(&h->frame);
	free(h);
}

/* handoff_finish - report, then pass or relay or close the client */
static void handoff_finish(struct handoff *h)
{
	login_handoff_done_fn *done = h->done;
	void *ctx = h->ctx;
	bool relay = false;

	if (h->error != NULL) {
		bufferevent_write(h->client, h->reply, strlen(h->reply));
		flush_start(h->base, h->client, false);
	} else if (h->relay_fd >= 0) {
		close(h->pass_fd); /* the service has its own copy */
		relay_start(h);
		relay = true;
	} else {
		/* Our copy of the socket goes; the service has its own. */
		bufferevent_free(h->client);
	}
	in_done_relaying = relay;
	done(ctx, h->error == NULL, h->error);
	in_done_relaying = false;
	handoff_free(h);
}

/* handoff_fail - stop with a reason for the log: what, then errno's */
static void handoff_fail(struct handoff *h, const char *what, int err)
{
	if (err != 0)
		snprintf(h->errbuf, sizeof(h->errbuf), "%s: %s", what,
			 strerror(err));
	else
		snprintf(h->errbuf, sizeof(h->errbuf), "%s", what);
	h->error = h->errbuf;
	handoff_finish(h);
}

/* handoff_io - write the frame, then the descriptor */
static void handoff_io(evutil_socket_t fd, short what, void *arg)
{
	struct handoff *h = arg;
	ssize_t n;

	if (h->error != NULL) {
		handoff_finish(h); /* a failure found before the loop ran */
		return;
	}
	if (what & EV_TIMEOUT) {
		handoff_fail(h, "timeout handing the session over", 0);
		return;
	}
	while (h->sent < h->frame.len) {
		n = send(fd, h->frame.data + h->sent, h->frame.len - h->sent,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			handoff_fail(h, "write to service", errno);
			return;
		}
		h->sent += (size_t)n;
	}
	if (fdpass_send(fd, h->pass_fd, "F", 1) < 0) {
		if (errno == EAGAIN)
			return;
		handoff_fail(h, "pass descriptor", errno);
		return;
	}
	handoff_finish(h);
}

/* login_handoff - start handing client over to service */
void login_handoff(struct event_base *base, const char *queue_dir,
		   const char *service, struct bufferevent *client,
		   const struct login_session *session,
		   login_handoff_done_fn *done, void *ctx)
{
	struct handoff *h = xcalloc(1, sizeof(*h));
	struct timeval tv = {.tv_sec = LOGIN_HANDOFF_TIMEOUT};
	const char *err;
	char *path;
	int pair[2];

	h->base = base;
	h->client = client;
	h->done = done;
	h->ctx = ctx;
	h->conn = -1;
	h->relay_fd = -1;
	strbuf_init(&h->frame, STRBUF_NO_LIMIT);
	login_session_write(&h->frame, session, NULL);
	login_unavailable_reply(session,
				"Mail service unavailable, try again later",
				h->reply, sizeof(h->reply));
	bufferevent_disable(client, EV_READ);
	bufferevent_setcb(client, NULL, NULL, NULL, NULL);

	if (bufferevent_get_underlying(client) != NULL ||
	    evbuffer_get_length(bufferevent_get_input(client)) > 0 ||
	    evbuffer_get_length(bufferevent_get_output(client)) > 0) {
		if (socketpair(AF_UNIX,
			       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
			       pair) < 0) {
			snprintf(h->errbuf, sizeof(h->errbuf), "socketpair: %s",
				 strerror(errno));
			h->error = h->errbuf;
		} else {
			h->relay_fd = pair[0];
			h->pass_fd = pair[1];
		}
	} else {
		h->pass_fd = bufferevent_getfd(client);
	}
	if (h->error == NULL) {
		path = xasprintf("%s/private/%s", queue_dir, service);
		h->conn = net_connect_unix(path, true, &err);
		if (h->conn < 0) {
			snprintf(h->errbuf, sizeof(h->errbuf), "%s", err);
			h->error = h->errbuf;
		}
		free(path);
	}
	if (h->error != NULL) {
		/* done() runs from the loop, never from inside this call. */
		h->ev = evtimer_new(base, handoff_io, h);
		if (h->ev == NULL)
			log_fatal("libevent: out of memory");
		event_active(h->ev, EV_TIMEOUT, 0);
		return;
	}
	h->ev = event_new(base, h->conn, EV_WRITE | EV_PERSIST, handoff_io, h);
	if (h->ev == NULL)
		log_fatal("libevent: out of memory");
	event_add(h->ev, &tv);
}
