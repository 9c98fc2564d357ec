/*
 * auth_client - ask the auth service whether a user/password pair is good
 *
 * SYNOPSIS
 *	#include "auth_client.h"
 *
 *	r = auth_client_request(queue_dir, "imap", user, pass, addr,
 *				&canonical, &reason);
 *
 *	req = auth_client_start(base, queue_dir, "smtp", user, pass, addr,
 *				callback, ctx);
 *	auth_client_abort(&req);	(only before the callback ran)
 *
 * DESCRIPTION
 *	See auth_client.h for the protocol.  The asynchronous request is a
 *	small state machine on one libevent event: connect (non-blocking;
 *	on Linux a unix connect never waits), WRITE the frame, READ the
 *	reply through an attr_reader, then run the callback and free
 *	everything.  Any problem on the way (no socket, auth died, a reply
 *	that does not parse, AUTH_CLIENT_TIMEOUT) ends in TEMPFAIL: the
 *	user may be fine, the service is not.
 *
 *	Reply parsing is tolerant of extra attributes, so that auth can
 *	grow new ones without breaking older clients.
 *
 * DIAGNOSTICS
 *	None logged here: the reason text goes to the caller, which logs
 *	it with its session.
 *
 * SECURITY
 *	The request frame holds the password: it is wiped as soon as it is
 *	written, and on every error path.  The reply comes from auth, a
 *	more privileged process, but it is still length-bounded
 *	(AUTH_REPLY_MAX) and checked.
 */
#include "autoconf.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "attr.h"
#include "auth_client.h"
#include "log.h"
#include "net.h"
#include "strbuf.h"

enum auth_client_state {
	AUTH_CLIENT_STATE_WRITE,
	AUTH_CLIENT_STATE_READ,
	AUTH_CLIENT_STATE_FAILED, /* waiting to report a start-up failure */
};

struct auth_client_req {
	struct event *ev;
	int fd;
	enum auth_client_state state;
	struct strbuf out;
	size_t sent;
	struct attr_reader *reader;
	const char *fail_reason; /* static, for STATE_FAILED */
	auth_client_callback_fn *cb;
	void *ctx;
};

/* auth_client_result_str - the protocol's word for result */
const char *auth_client_result_str(enum auth_client_result result)
{
	switch (result) {
	case AUTH_CLIENT_OK:
		return "ok";
	case AUTH_CLIENT_FAIL:
		return "fail";
	case AUTH_CLIENT_TEMPFAIL:
		return "tempfail";
	}
	return "tempfail";
}

/* auth_client_frame - the auth/1 frame in out */
static void auth_client_frame(struct strbuf *out, const char *service,
			      const char *user, const char *password,
			      const char *client_addr)
{
	struct attr_writer w;

	attr_writer_begin(&w, out, AUTH_PROTO);
	attr_put_str(&w, "mech", "PLAIN");
	attr_put_str(&w, "user", user);
	attr_put_str(&w, "password", password);
	attr_put_str(&w, "service", service);
	attr_put_str(&w, "client", client_addr != NULL ? client_addr : "");
	attr_writer_end(&w);
}

/* auth_client_wipe - wipe and release a frame that held a password */
static void auth_client_wipe(struct strbuf *out)
{
	if (out->data != NULL)
		memzero_explicit(out->data, out->cap);
	strbuf_release(out);
}

/*
 * auth_client_parse - decode an auth-result/1 list.  Sets *user_r and
 * *reason_r to strings inside list (or static text).
 */
static enum auth_client_result auth_client_parse(struct attr_list *list,
						 const char **user_r,
						 const char **reason_r)
{
	const char *result, *error;

	*user_r = NULL;
	if (strcmp(list->proto, AUTH_RESULT_PROTO) != 0) {
		*reason_r = "auth: unexpected reply protocol";
		return AUTH_CLIENT_TEMPFAIL;
	}
	if (attr_get_str(list, "result", &result, &error) < 0) {
		*reason_r = "auth: reply without result";
		return AUTH_CLIENT_TEMPFAIL;
	}
	if (attr_get_str(list, "reason", reason_r, &error) < 0)
		*reason_r = "";
	if (strcmp(result, "ok") == 0) {
		if (attr_get_str(list, "user", user_r, &error) < 0 ||
		    (*user_r)[0] == '\0') {
			*user_r = NULL;
			*reason_r = "auth: ok reply without user";
			return AUTH_CLIENT_TEMPFAIL;
		}
		attr_list_end_tolerant(list);
		return AUTH_CLIENT_OK;
	}
	attr_list_end_tolerant(list);
	if (strcmp(result, "fail") == 0)
		return AUTH_CLIENT_FAIL;
	if (strcmp(result, "tempfail") != 0)
		*reason_r = "auth: unknown result";
	return AUTH_CLIENT_TEMPFAIL;
}

/* auth_client_path - queue_dir/private/auth, newly allocated */
static char *auth_client_path(const char *queue_dir)
{
	return xasprintf("%s/%s", queue_dir, AUTH_SOCKET);
}

/* auth_client_request - the blocking form */
enum auth_client_result
auth_client_request(const char *queue_dir, const char *service,
		    const char *user, const char *password,
		    const char *client_addr, char **user_r, char **reason_r)
{
	char *path = auth_client_path(queue_dir);
	struct timeval tv = {.tv_sec = AUTH_CLIENT_TIMEOUT};
	struct strbuf out;
	struct attr_list *list = NULL;
	enum auth_client_result res;
	const char *error, *cuser = NULL, *reason = NULL;
	int fd, ret;

	*user_r = NULL;
	if (reason_r != NULL)
		*reason_r = NULL;
	fd = net_connect_unix(path, false, &error);
	free(path);
	if (fd < 0) {
		if (reason_r != NULL)
			*reason_r = xasprintf("auth: %s", error);
		return AUTH_CLIENT_TEMPFAIL;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	strbuf_init(&out, STRBUF_NO_LIMIT);
	auth_client_frame(&out, service, user, password, client_addr);
	ret = attr_write_fd(fd, &out);
	auth_client_wipe(&out);
	if (ret < 0) {
		reason = "auth: write failed";
		res = AUTH_CLIENT_TEMPFAIL;
	} else if ((ret = attr_read_fd(fd, AUTH_REPLY_MAX, &list, &error)) <=
		   0) {
		reason = ret == 0 ? "auth: connection closed" : error;
		res = AUTH_CLIENT_TEMPFAIL;
	} else {
		res = auth_client_parse(list, &cuser, &reason);
	}
	close(fd);
	if (res == AUTH_CLIENT_OK)
		*user_r = xstrdup(cuser);
	if (reason_r != NULL)
		*reason_r = xstrdup(reason != NULL ? reason : "");
	attr_list_free(&list);
	return res;
}

/* auth_client_req_free - release everything; the callback has run */
static void auth_client_req_free(struct auth_client_req *req)
{
	if (req->ev != NULL)
		event_free(req->ev);
	if (req->fd >= 0)
		close(req->fd);
	auth_client_wipe(&req->out);
	attr_reader_free(&req->reader);
	free(req);
}

/* auth_client_finish - report and free */
static void auth_client_finish(struct auth_client_req *req,
			       enum auth_client_result result, const char *user,
			       const char *reason)
{
	/* Stop the event first: the callback may run the loop's other work. */
	event_del(req->ev);
	req->cb(result, user, reason, req->ctx);
	auth_client_req_free(req);
}

/* auth_client_write - send what is left of the frame */
static void auth_client_write(struct auth_client_req *req)
{
	struct timeval tv = {.tv_sec = AUTH_CLIENT_TIMEOUT};

	while (req->sent < req->out.len) {
		ssize_t n = send(req->fd, req->out.data + req->sent,
				 req->out.len - req->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			auth_client_finish(req, AUTH_CLIENT_TEMPFAIL, NULL,
					   "auth: write failed");
			return;
		}
		req->sent += (size_t)n;
	}
	auth_client_wipe(&req->out);
	req->state = AUTH_CLIENT_STATE_READ;
	event_del(req->ev);
	event_assign(req->ev, event_get_base(req->ev), req->fd,
		     EV_READ | EV_PERSIST, event_get_callback(req->ev), req);
	event_add(req->ev, &tv);
}

/* auth_client_read - take the reply */
static void auth_client_read(struct auth_client_req *req)
{
	char buf[1024];
	struct attr_list *list;
	const char *error, *user, *reason;
	enum auth_client_result res;
	ssize_t n;
	int ret;

	for (;;) {
		if ((n = read(req->fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			auth_client_finish(req, AUTH_CLIENT_TEMPFAIL, NULL,
					   "auth: read failed");
			return;
		}
		if (n == 0) {
			auth_client_finish(req, AUTH_CLIENT_TEMPFAIL, NULL,
					   "auth: connection closed");
			return;
		}
		if (attr_reader_feed(req->reader, buf, (size_t)n) < 0) {
			auth_client_finish(req, AUTH_CLIENT_TEMPFAIL, NULL,
					   "auth: reply too long");
			return;
		}
		ret = attr_reader_next(req->reader, &list, &error);
		if (ret < 0) {
			auth_client_finish(req, AUTH_CLIENT_TEMPFAIL, NULL,
					   "auth: malformed reply");
			return;
		}
		if (ret == 1)
			break;
	}
	res = auth_client_parse(list, &user, &reason);
	auth_client_finish(req, res, user, reason);
	attr_list_free(&list);
}

/* auth_client_event - drive the state machine */
static void auth_client_event(evutil_socket_t fd, short what, void *arg)
{
	struct auth_client_req *req = arg;

	(void)fd;
	if (req->state == AUTH_CLIENT_STATE_FAILED) {
		auth_client_finish(req, AUTH_CLIENT_TEMPFAIL, NULL,
				   req->fail_reason);
		return;
	}
	if (what & EV_TIMEOUT) {
		auth_client_finish(req, AUTH_CLIENT_TEMPFAIL, NULL,
				   "auth: timeout");
		return;
	}
	if (req->state == AUTH_CLIENT_STATE_WRITE)
		auth_client_write(req);
	else
		auth_client_read(req);
}

/* auth_client_start - begin an asynchronous request */
struct auth_client_req *
auth_client_start(struct event_base *base, const char *queue_dir,
		  const char *service, const char *user, const char *password,
		  const char *client_addr, auth_client_callback_fn *cb,
		  void *ctx)
{
	struct auth_client_req *req = xcalloc(1, sizeof(*req));
	struct timeval tv = {.tv_sec = AUTH_CLIENT_TIMEOUT};
	char *path = auth_client_path(queue_dir);
	const char *error;

	req->cb = cb;
	req->ctx = ctx;
	req->reader = attr_reader_create(AUTH_REPLY_MAX);
	strbuf_init(&req->out, STRBUF_NO_LIMIT);
	req->fd = net_connect_unix(path, true, &error);
	free(path);
	if (req->fd < 0) {
		/* Report from the loop, never from inside this call. */
		req->state = AUTH_CLIENT_STATE_FAILED;
		req->fail_reason = "auth: cannot connect to private/auth";
		req->ev = event_new(base, -1, 0, auth_client_event, req);
		if (req->ev == NULL)
			log_fatal("event_new failed");
		event_active(req->ev, EV_TIMEOUT, 0);
		return req;
	}
	auth_client_frame(&req->out, service, user, password, client_addr);
	req->state = AUTH_CLIENT_STATE_WRITE;
	req->ev = event_new(base, req->fd, EV_WRITE | EV_PERSIST,
			    auth_client_event, req);
	if (req->ev == NULL)
		log_fatal("event_new failed");
	event_add(req->ev, &tv);
	return req;
}

/* auth_client_abort - cancel without a callback */
void auth_client_abort(struct auth_client_req **reqp)
{
	if (*reqp == NULL)
		return;
	auth_client_req_free(*reqp);
	*reqp = NULL;
}
