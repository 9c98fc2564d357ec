/*
 * imap_login_session - one pre-login IMAP connection
 *
 * SYNOPSIS
 *	#include "imap_login.h"
 *
 *	void imap_login_session_accept(il, fd, addr, port, laddr, lport);
 *	void imap_login_reply(s, fmt, ...);
 *	void imap_login_session_close(s, reason);
 *	void imap_login_session_starttls(s);
 *	void imap_login_session_detach(s, relayed);
 *	void imap_login_session_shutdown(il, text);
 *
 * DESCRIPTION
 *	Each session is a libevent bufferevent (a TLS filter over it after
 *	STARTTLS, or from the start with imapd_tls_wrappermode = yes); one
 *	imap-login process serves many sessions at once.  The input loop
 *	hands the bytes it has to the IMAP parser (lib/proto/imap_parser.h,
 *	with the tighter pre-authentication limits), one command at a time,
 *	and to imap_parser_read_line() while an AUTHENTICATE dialogue waits
 *	for a response line.  A synchronizing literal gets "+ OK"; LITERAL+
 *	is announced and accepted within the limits.
 *
 *	Limits: imapd_login_timeout without input gives "* BYE Disconnected
 *	for inactivity." (Dovecot: 3 minutes before login); a malformed
 *	command is answered BAD and counted, and after
 *	IMAP_LOGIN_BAD_COMMAND_LIMIT of them "* BYE Too many invalid IMAP
 *	commands." ends the session.  Input is read ahead at most
 *	IMAP_LOGIN_INPUT_MAX bytes.
 *
 *	Closing: the session stops reading, sends what is pending and is
 *	freed once the output (TLS included) is out, or after
 *	IMAP_LOGIN_CLOSE_TIMEOUT seconds.  A session that ends without a
 *	login is logged as Dovecot does: "Disconnected (reason): user=<>,
 *	rip=..., lip=...".  On SIGHUP (reload) and SIGTERM (stop) every
 *	session still here gets "* BYE Server shutting down.".
 *
 * SECURITY
 *	All input is untrusted and bounded by the parser's limits.  After
 *	STARTTLS, plaintext pipelined behind the command is discarded before
 *	the handshake (CVE-2011-0411) and the parser starts afresh.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "imap_login.h"
#include "imap_parser.h"
#include "log.h"
#include "server.h"
#include "tls.h"

#define IMAP_LOGIN_REPLY_MAX 1024

static void session_read(struct bufferevent *bev, void *arg);
static void session_event(struct bufferevent *bev, short what, void *arg);
static void session_process(struct imap_login_session *s);

/* imap_login_reply - send one line */
void imap_login_reply(struct imap_login_session *s, const char *fmt, ...)
{
	char buf[IMAP_LOGIN_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	bufferevent_write(s->bev, buf, (size_t)n);
	bufferevent_write(s->bev, "\r\n", 2);
}

/* session_new_parser - the pre-authentication parser */
static void session_new_parser(struct imap_login_session *s)
{
	struct imap_parser_limits limits;

	imap_parser_free(&s->parser);
	imap_parser_limits_init(&limits, false);
	s->parser = imap_parser_create(&limits, IMAP_PARSER_FLAG_LITERAL_PLUS);
}

/* session_setup_bev - callbacks on the (new) top bufferevent */
static void session_setup_bev(struct imap_login_session *s)
{
	struct timeval tv = {.tv_sec = (time_t)s->il->set.login_timeout};

	bufferevent_setcb(s->bev, session_read, NULL, session_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_setwatermark(s->bev, EV_READ, 0, IMAP_LOGIN_INPUT_MAX);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* session_unlink - out of the process's list */
static void session_unlink(struct imap_login_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->il->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

/* session_release - what the session owns, except its bufferevent */
static void session_release(struct imap_login_session *s)
{
	session_unlink(s);
	imap_login_auth_reset(s);
	imap_parser_free(&s->parser);
	if (s->timer)
		event_free(s->timer);
	free(s->last_user);
	free(s);
}

/* session_free - the end of a session that did not log in */
static void session_free(struct imap_login_session *s, const char *reason)
{
	struct server *srv = s->il->srv;
	char why[64];

	if (reason == NULL) {
		if (s->auth_attempts == 0)
			reason = "no auth attempts";
		else {
			snprintf(why, sizeof(why), "auth failed, %u attempts",
				 s->auth_attempts);
			reason = why;
		}
	}
	log_info("Disconnected (%s): user=<%s>, rip=%s, lip=%s%s", reason,
		 s->last_user ? s->last_user : "", s->addr, s->laddr,
		 s->tls_active ? ", TLS" : "");
	if (s->bev)
		bufferevent_free(s->bev);
	session_release(s);
	server_conn_done(srv);
}

/* output_empty - nothing left to send, TLS layer included */
static bool output_empty(struct imap_login_session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return false;
	return under == NULL ||
	       evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

/* session_timer - poll a closing session until its output is out */
static void session_timer(evutil_socket_t fd, short what, void *arg)
{
	struct imap_login_session *s = arg;
	struct timeval tv = {0, 50000};

	(void)fd;
	(void)what;
	if (output_empty(s) ||
	    ++s->close_ticks > IMAP_LOGIN_CLOSE_TIMEOUT * 20) {
		session_free(s, s->close_reason);
		return;
	}
	evtimer_add(s->timer, &tv);
}

/* imap_login_session_close - send what is pending, then free */
void imap_login_session_close(struct imap_login_session *s, const char *reason)
{
	struct timeval tv = {0, 0};

	if (s->closing)
		return;
	s->closing = true;
	s->close_reason = reason;
	imap_login_auth_reset(s);
	bufferevent_disable(s->bev, EV_READ);
	/* Poll from the loop: the caller may still be on the stack. */
	evtimer_add(s->timer, &tv);
}

/* imap_login_session_bad - count a bad command; too many: BYE */
void imap_login_session_bad(struct imap_login_session *s)
{
	if (++s->bad_commands < IMAP_LOGIN_BAD_COMMAND_LIMIT)
		return;
	imap_login_reply(s, "* BYE Too many invalid IMAP commands.");
	imap_login_session_close(s, "too many invalid commands");
}

/* session_sasl_line - a response line of AUTHENTICATE */
static bool session_sasl_line(struct imap_login_session *s, struct evbuffer *in,
			      const char *data, size_t len)
{
	const char *line;
	size_t llen, consumed = 0;
	int r;

	r = imap_parser_read_line(s->parser, data, len, &consumed, &line,
				  &llen);
	evbuffer_drain(in, consumed);
	if (r == 0)
		return true;
	if (r < 0) {
		imap_login_reply(s, "%s BAD %s", s->sasl_tag,
				 imap_parser_error_text(s->parser));
		imap_login_auth_reset(s);
		imap_login_session_bad(s);
		return true;
	}
	imap_login_auth_input(s, line, llen);
	return true;
}

/* session_process - handle what the input buffer holds, in order */
static void session_process(struct imap_login_session *s)
{
	while (!s->closing && !s->suspended) {
		struct bufferevent *bev = s->bev;
		struct evbuffer *in = bufferevent_get_input(bev);
		struct evbuffer_iovec v;
		struct imap_command cmd;
		size_t consumed = 0;
		int r;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		if (s->sasl_step != IMAP_LOGIN_SASL_NONE) {
			session_sasl_line(s, in, v.iov_base, v.iov_len);
			continue;
		}
		r = imap_parser_parse(s->parser, v.iov_base, v.iov_len,
				      &consumed, &cmd);
		evbuffer_drain(in, consumed);
		if (r == 0) {
			if (imap_parser_literal_needs_continuation(s->parser)) {
				imap_login_reply(s, "+ OK");
				imap_parser_literal_continued(s->parser);
			}
			continue;
		}
		if (r < 0) {
			const char *tag = imap_parser_error_tag(s->parser);

			imap_login_reply(s, "%s BAD %s", tag ? tag : "*",
					 imap_parser_error_text(s->parser));
			imap_login_session_bad(s);
			continue;
		}
		imap_login_cmd_dispatch(s, &cmd);
		if (s->bev != bev)
			break; /* STARTTLS or hand-over: the input is gone */
	}
}

/* imap_login_session_suspend - no input while the auth service decides */
void imap_login_session_suspend(struct imap_login_session *s)
{
	s->suspended = true;
	bufferevent_disable(s->bev, EV_READ);
}

/* imap_login_session_resume - the answer is in: read on */
void imap_login_session_resume(struct imap_login_session *s)
{
	s->suspended = false;
	if (s->closing)
		return;
	bufferevent_enable(s->bev, EV_READ);
	session_process(s);
}

/* session_read - input arrived */
static void session_read(struct bufferevent *bev, void *arg)
{
	struct imap_login_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (s->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	session_process(s);
}

/* session_event - handshake done, end of file, error, timeout */
static void session_event(struct bufferevent *bev, short what, void *arg)
{
	struct imap_login_session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		s->tls_active = true;
		s->tls_handshake = false;
		return;
	}
	if (s->closing) {
		if (what &
		    (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
			session_free(s, s->close_reason);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		imap_login_reply(s, "* BYE Disconnected for inactivity.");
		imap_login_session_close(s, "inactivity");
		return;
	}
	if ((what & BEV_EVENT_ERROR) && s->tls_handshake) {
		char why[160];

		snprintf(why, sizeof(why), "TLS handshaking failed: %s",
			 tls_error(bev));
		session_free(s, why);
		return;
	}
	session_free(s, NULL);
}

/* imap_login_session_starttls - put a TLS filter over the connection */
void imap_login_session_starttls(struct imap_login_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct bufferevent *tbev;
	size_t junk = evbuffer_get_length(in);
	const char *err;

	if (junk > 0) {
		/* CVE-2011-0411: plaintext pipelined after STARTTLS must
		 * not be taken as if it came over TLS. */
		log_info("discarding %zu bytes of plaintext pipelined after "
			 "STARTTLS: rip=%s",
			 junk, s->addr);
		evbuffer_drain(in, junk);
	}
	tbev = tls_server_wrap(s->il->tls, server_event_base(s->il->srv),
			       s->bev, &err);
	if (tbev == NULL) {
		log_warn("STARTTLS from %s: %s", s->addr, err);
		imap_login_session_close(s, "TLS failed");
		return;
	}
	s->bev = tbev;
	s->tls_handshake = true;
	session_setup_bev(s);
	/* Nothing said before TLS counts after it. */
	session_new_parser(s);
}

/* imap_login_session_detach - the hand-over owns the connection now */
void imap_login_session_detach(struct imap_login_session *s, bool relayed)
{
	struct server *srv = s->il->srv;

	s->bev = NULL;
	session_release(s);
	if (!relayed)
		server_conn_done(srv);
}

/* imap_login_session_shutdown - "* BYE" to everyone still here */
void imap_login_session_shutdown(struct imap_login *il, const char *text)
{
	struct imap_login_session *s, *next;

	for (s = il->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->closing)
			continue;
		imap_login_reply(s, "* BYE %s", text);
		imap_login_session_close(s, "shutting down");
	}
}

/* imap_login_session_accept - a new client: greet it */
void imap_login_session_accept(struct imap_login *il, int fd, const char *addr,
			       const char *port, const char *laddr,
			       const char *lport)
{
	struct imap_login_session *s = xcalloc(1, sizeof(*s));
	struct event_base *base = server_event_base(il->srv);

	s->il = il;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	snprintf(s->port, sizeof(s->port), "%s", port);
	snprintf(s->laddr, sizeof(s->laddr), "%s", laddr);
	snprintf(s->lport, sizeof(s->lport), "%s", lport);
	session_new_parser(s);
	s->timer = evtimer_new(base, session_timer, s);
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL || s->timer == NULL)
		log_fatal("libevent: out of memory");
	s->next = il->sessions;
	if (il->sessions)
		il->sessions->prev = s;
	il->sessions = s;
	if (il->set.wrappermode) {
		const char *err;
		struct bufferevent *tbev =
			tls_server_wrap(il->tls, base, s->bev, &err);

		if (tbev == NULL) {
			log_warn("TLS from %s: %s", s->addr, err);
			session_free(s, "TLS failed");
			return;
		}
		s->bev = tbev;
		s->tls_handshake = true;
	}
	session_setup_bev(s);
	imap_login_reply(s, "* OK [CAPABILITY %s] %s ready.",
			 imap_login_capability(s), il->set.mail_name);
}
