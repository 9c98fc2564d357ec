/*
 * pop3_login_session - one POP3 client before login: I/O, STLS, commands
 *
 * SYNOPSIS
 *	#include "pop3_login.h"
 *
 *	void pop3_login_session_accept(struct pop3_login *pl, int fd,
 *				       const char *addr, const char *port,
 *				       const char *local_port);
 *	void pop3_login_reply(struct pop3_login_session *s, fmt, ...);
 *	void pop3_login_close(struct pop3_login_session *s,
 *			      const char *reason);
 *
 * DESCRIPTION
 *	Each client is a libevent bufferevent (a TLS filter over it after
 *	STLS, or from the start in wrapper mode).  The greeting is "+OK
 *	$mail_name ready.".  Commands are read with lineread, at most
 *	POP3_CMD_LINE_MAX octets (RFC 2449 §4) and POP3_LOGIN_SASL_LINE_MAX
 *	for an AUTH PLAIN response line, and processed in order while
 *	complete ones are buffered (PIPELINING).  The AUTHORIZATION state
 *	knows CAPA, STLS, UTF8, USER, PASS, AUTH, NOOP and QUIT; anything
 *	else is a bad command.
 *
 *	CAPA (RFC 2449 §5) lists CAPA TOP UIDL RESP-CODES PIPELINING
 *	AUTH-RESP-CODE UTF8, then USER and "SASL PLAIN" when a login is
 *	allowed now, and STLS when TLS is available and not active.
 *
 *	Limits: pop3d_login_timeout without input closes the session;
 *	POP3_LOGIN_BAD_COMMANDS_MAX bad commands and
 *	POP3_LOGIN_AUTH_FAILURES_MAX failed logins too ("-ERR Too many bad
 *	commands." / "-ERR [AUTH] Too many authentication failures.").
 *
 *	The end of a session that did not log in is logged as Dovecot's
 *	pop3-login does: "Disconnected (reason): user=<name>, rip=ADDR,
 *	lport=PORT[, TLS]".
 *
 * SECURITY
 *	All input is untrusted and bounded (line limits, POP3_LOGIN_INPUT_MAX
 *	buffered, error limits).  After STLS, plaintext pipelined behind
 *	the command is discarded before the handshake (RFC 2595 §4, the
 *	STARTTLS injection of CVE-2011-0411) and the USER name given
 *	before TLS is forgotten.  Lines of the AUTH dialogue are wiped
 *	after use.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "pop3_cmd.h"
#include "pop3_login.h"
#include "server.h"
#include "tls.h"

static void session_read(struct bufferevent *bev, void *arg);
static void session_write(struct bufferevent *bev, void *arg);
static void session_event(struct bufferevent *bev, short what, void *arg);
static void session_process(struct pop3_login_session *s);

/* pop3_login_reply - queue one reply line */
void pop3_login_reply(struct pop3_login_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(s->bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(s->bev), "\r\n", 2);
}

/* pop3_login_plaintext_ok - may credentials be sent now */
bool pop3_login_plaintext_ok(const struct pop3_login_session *s)
{
	return s->tls_active || !s->pl->set.disable_plaintext_auth;
}

/* session_setup_bev - callbacks on the (new) top bufferevent */
static void session_setup_bev(struct pop3_login_session *s)
{
	struct timeval tv = {.tv_sec = (time_t)s->pl->set.timeout};

	bufferevent_setcb(s->bev, session_read, session_write, session_event,
			  s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_setwatermark(s->bev, EV_READ, 0, POP3_LOGIN_INPUT_MAX);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* pop3_login_session_release - free the session; bev is not ours */
void pop3_login_session_release(struct pop3_login_session *s)
{
	pop3_login_auth_reset(s);
	if (s->timer)
		event_free(s->timer);
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->line.cap > 0)
		memzero_explicit(s->line.data, s->line.cap);
	strbuf_release(&s->line);
	free(s->log_user);
	free(s);
}

/* session_free - the end of a session that did not log in */
static void session_free(struct pop3_login_session *s)
{
	struct server *srv = s->pl->srv;

	log_info("Disconnected (%s): user=<%s>, rip=%s, lport=%s%s",
		 s->close_reason ? s->close_reason : "no auth attempts",
		 s->log_user ? s->log_user : "", s->addr, s->local_port,
		 s->tls_active ? ", TLS" : "");
	pop3_login_session_release(s);
	server_conn_done(srv);
}

/* session_output_empty - nothing left to send, TLS layer included */
static bool session_output_empty(struct pop3_login_session *s)
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
	struct pop3_login_session *s = arg;
	struct timeval tv = {0, 50000};

	(void)fd;
	(void)what;
	if (session_output_empty(s) ||
	    ++s->close_ticks > POP3_LOGIN_CLOSE_TIMEOUT * 20) {
		session_free(s);
		return;
	}
	evtimer_add(s->timer, &tv);
}

/* pop3_login_close - send what is pending, then free */
void pop3_login_close(struct pop3_login_session *s, const char *reason)
{
	struct timeval tv = {0, 0};

	if (s->closing)
		return;
	s->closing = true;
	if (s->close_reason == NULL)
		s->close_reason = reason;
	pop3_login_auth_reset(s);
	bufferevent_disable(s->bev, EV_READ);
	/* From the loop: a caller may still be on the stack. */
	evtimer_add(s->timer, &tv);
}

/* pop3_login_bad - a client error, counted */
void pop3_login_bad(struct pop3_login_session *s, const char *text)
{
	pop3_login_reply(s, "-ERR %s", text);
	if (++s->bad_commands >= POP3_LOGIN_BAD_COMMANDS_MAX) {
		pop3_login_reply(s, "-ERR Too many bad commands.");
		pop3_login_close(s, "too many bad commands");
	}
}

/* pop3_login_suspend - no input while the auth service decides */
void pop3_login_suspend(struct pop3_login_session *s)
{
	s->suspended = true;
	bufferevent_disable(s->bev, EV_READ);
}

/* pop3_login_resume - the answer is in: read on */
void pop3_login_resume(struct pop3_login_session *s)
{
	s->suspended = false;
	if (s->closing || s->handing_off)
		return;
	bufferevent_enable(s->bev, EV_READ);
	session_process(s);
}

/* cmd_capa - RFC 2449 §5 */
static void cmd_capa(struct pop3_login_session *s)
{
	bool login = pop3_login_plaintext_ok(s);
	bool stls = s->pl->tls != NULL && !s->tls_active;

	pop3_login_reply(s,
			 "+OK Capability list follows\r\n"
			 "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
			 "PIPELINING\r\nAUTH-RESP-CODE\r\nUTF8\r\n"
			 "%s%s%s.",
			 login ? "USER\r\n" : "", login ? "SASL PLAIN\r\n" : "",
			 stls ? "STLS\r\n" : "");
}

/* cmd_stls - RFC 2595 §4: switch to TLS */
static void cmd_stls(struct pop3_login_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk = evbuffer_get_length(in);
	struct bufferevent *tbev;
	const char *err;

	if (s->tls_active) {
		pop3_login_bad(s, "TLS is already active.");
		return;
	}
	if (s->pl->tls == NULL) {
		pop3_login_bad(s, "TLS support isn't enabled.");
		return;
	}
	/* The +OK goes out in plaintext: it is in the socket's own
	 * output buffer, under the filter about to be put on top. */
	pop3_login_reply(s, "+OK Begin TLS negotiation now.");
	if (junk > 0) {
		/* CVE-2011-0411: what was pipelined after STLS must not
		 * be taken as if it came over TLS. */
		log_info("discarding %zu bytes of plaintext pipelined "
			 "after STLS from %s",
			 junk, s->addr);
		evbuffer_drain(in, junk);
	}
	tbev = tls_server_wrap(s->pl->tls, server_event_base(s->pl->srv),
			       s->bev, &err);
	if (tbev == NULL) {
		log_warn("STLS from %s: %s", s->addr, err);
		pop3_login_close(s, "TLS initialization failed");
		return;
	}
	s->bev = tbev;
	session_setup_bev(s);
	/* RFC 2595 §4: nothing learned before TLS carries over. */
	pop3_login_auth_reset(s);
	s->utf8 = false;
	lineread_init(&s->lr, POP3_CMD_LINE_MAX);
}

/* authorization_verb - whether verb is known before login */
static bool authorization_verb(enum pop3_cmd_verb verb)
{
	switch (verb) {
	case POP3_CMD_CAPA:
	case POP3_CMD_STLS:
	case POP3_CMD_UTF8:
	case POP3_CMD_NOOP:
	case POP3_CMD_QUIT:
	case POP3_CMD_USER:
	case POP3_CMD_PASS:
	case POP3_CMD_AUTH:
		return true;
	default:
		return false;
	}
}

/* session_dispatch - one command of the AUTHORIZATION state */
static void session_dispatch(struct pop3_login_session *s, const char *line,
			     size_t len)
{
	struct pop3_cmd cmd;

	if (pop3_cmd_parse(line, len, s->utf8 ? POP3_CMD_FLAG_UTF8 : 0, &cmd) <
	    0) {
		/* A TRANSACTION-state keyword is unknown here, whatever
		 * its arguments are. */
		pop3_login_bad(
			s, pop3_cmd_error_text(authorization_verb(cmd.verb)
						       ? cmd.error
						       : POP3_CMD_ERR_UNKNOWN));
		return;
	}
	switch (cmd.verb) {
	case POP3_CMD_CAPA:
		cmd_capa(s);
		break;
	case POP3_CMD_STLS:
		cmd_stls(s);
		break;
	case POP3_CMD_UTF8:
		/* RFC 6856 §2: UTF-8 user names and passwords from now
		 * on; messages are sent as stored either way. */
		s->utf8 = true;
		pop3_login_reply(s, "+OK UTF8 enabled.");
		break;
	case POP3_CMD_NOOP:
		pop3_login_reply(s, "+OK");
		break;
	case POP3_CMD_QUIT:
		pop3_login_reply(s, "+OK Logging out.");
		pop3_login_close(s, s->auth_failures ? "auth failed"
						     : "no auth attempts");
		break;
	case POP3_CMD_USER:
		pop3_login_auth_user(s, &cmd);
		break;
	case POP3_CMD_PASS:
		pop3_login_auth_pass(s, &cmd);
		break;
	case POP3_CMD_AUTH:
		pop3_login_auth_cmd(s, &cmd);
		break;
	default:
		/* TRANSACTION-state commands before login. */
		pop3_login_bad(s, pop3_cmd_error_text(POP3_CMD_ERR_UNKNOWN));
		break;
	}
}

/* session_process - handle what the input buffer holds, in order */
static void session_process(struct pop3_login_session *s)
{
	while (!s->closing && !s->suspended && !s->handing_off) {
		struct bufferevent *bev = s->bev;
		enum lineread_result r;

		r = lineread_next(&s->lr, bufferevent_get_input(bev), &s->line);
		if (r == LINEREAD_MORE)
			break;
		if (r == LINEREAD_TOO_LONG) {
			if (s->sasl_wait) {
				pop3_login_auth_reset(s);
				lineread_init(&s->lr, POP3_CMD_LINE_MAX);
			}
			pop3_login_bad(
				s, pop3_cmd_error_text(POP3_CMD_ERR_TOO_LONG));
			continue;
		}
		if (s->sasl_wait)
			pop3_login_auth_input(s, s->line.data, s->line.len);
		else
			session_dispatch(s, s->line.data, s->line.len);
		/* PASS, AUTH's initial response: secrets. */
		memzero_explicit(s->line.data, s->line.len);
		if (s->bev != bev)
			break; /* STLS: the input is gone */
	}
}

/* session_read - input arrived */
static void session_read(struct bufferevent *bev, void *arg)
{
	struct pop3_login_session *s = arg;

	if (s->closing) {
		struct evbuffer *in = bufferevent_get_input(bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	session_process(s);
}

/* session_write - output drained (nothing to do: close polls) */
static void session_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)arg;
}

/* session_event - handshake done, end of file, error, timeout */
static void session_event(struct bufferevent *bev, short what, void *arg)
{
	struct pop3_login_session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		char info[160];

		s->tls_active = true;
		tls_describe(bev, info, sizeof(info));
		log_info("TLS connection established from %s: %s", s->addr,
			 info);
		return;
	}
	if (s->closing) {
		if (what &
		    (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
			session_free(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		pop3_login_reply(s, "-ERR Disconnected for inactivity.");
		pop3_login_close(s, "inactivity");
		return;
	}
	if ((what & BEV_EVENT_ERROR) &&
	    bufferevent_get_underlying(bev) != NULL && !s->tls_active) {
		log_info("TLS handshake failed from %s: %s", s->addr,
			 tls_error(bev));
		s->close_reason = "TLS handshaking failed";
	} else if (s->sasl_wait) {
		s->close_reason = "client didn't finish SASL auth";
	} else if (s->auth_failures > 0) {
		s->close_reason = "auth failed";
	}
	session_free(s);
}

/* pop3_login_session_accept - a new client: greet it */
void pop3_login_session_accept(struct pop3_login *pl, int fd, const char *addr,
			       const char *port, const char *local_port)
{
	struct pop3_login_session *s = xcalloc(1, sizeof(*s));
	struct event_base *base = server_event_base(pl->srv);

	s->pl = pl;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	snprintf(s->port, sizeof(s->port), "%s", port);
	snprintf(s->local_port, sizeof(s->local_port), "%s", local_port);
	lineread_init(&s->lr, POP3_CMD_LINE_MAX);
	strbuf_init(&s->line, POP3_LOGIN_SASL_LINE_MAX + 2);
	s->timer = evtimer_new(base, session_timer, s);
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL || s->timer == NULL)
		log_fatal("libevent: out of memory");
	if (pl->set.wrappermode) {
		const char *err;
		struct bufferevent *tbev =
			tls_server_wrap(pl->tls, base, s->bev, &err);

		if (tbev == NULL) {
			log_warn("TLS from %s: %s", s->addr, err);
			s->close_reason = "TLS initialization failed";
			session_free(s);
			return;
		}
		s->bev = tbev;
	}
	session_setup_bev(s);
	pop3_login_reply(s, "+OK %s ready.", config_str(pl->cfg, "mail_name"));
}
