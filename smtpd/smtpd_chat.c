/*
 * smtpd_chat - SMTP replies: buffering for pipelining, error accounting
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	void smtpd_chat_reply(struct smtpd_session *s, const char *fmt, ...);
 *	void smtpd_chat_flush(struct smtpd_session *s);
 *
 * DESCRIPTION
 *	smtpd_chat_reply() formats one reply line (or several, when the
 *	text holds "\r\n" between "250-" lines), adds CRLF and appends it to
 *	the session's pending replies.  Every reply carries an enhanced
 *	status code (RFC 2034, RFC 3463); callers write it.
 *
 *	Replies are held back while more pipelined commands are waiting in
 *	the input buffer and sent together by smtpd_chat_flush(), which the
 *	session calls once the input holds no complete command, before it
 *	waits for DATA content, at STARTTLS and at close (RFC 2920 §3.2:
 *	the server may group replies, and must send them before it waits
 *	for input).  So a client's MAIL/RCPT/RCPT/DATA in one packet gets
 *	its four replies in one packet.  Without TLS, and with nothing
 *	queued before them, they are written to the socket at once rather
 *	than through the bufferevent's write event.
 *
 *	A 4xx or 5xx reply counts as an error of the client (Postfix's
 *	smtpd_soft_error_limit and smtpd_hard_error_limit), except 421
 *	(we are closing anyway) and 452/552 about limits, which are the
 *	server's policy rather than a confused client.
 *
 * DIAGNOSTICS
 *	None: a reply that does not fit the 512-octet line limit of RFC
 *	5321 §4.5.3.1.5 is a bug in the caller's text and is cut.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>

#include "smtpd.h"

#define SMTPD_REPLY_MAX 4096 /* EHLO is several lines */

/* smtpd_chat_reply - queue one reply */
void smtpd_chat_reply(struct smtpd_session *s, const char *fmt, ...)
{
	char buf[SMTPD_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	evbuffer_add(s->replies, buf, (size_t)n);
	evbuffer_add(s->replies, "\r\n", 2);
	if ((buf[0] == '4' || buf[0] == '5') &&
	    !(buf[0] == '4' && buf[1] == '2' && buf[2] == '1') &&
	    !(buf[1] == '5' && buf[2] == '2'))
		s->errors++;
}

/* smtpd_chat_flush - send the pending replies */
void smtpd_chat_flush(struct smtpd_session *s)
{
	if (evbuffer_get_length(s->replies) == 0)
		return;
	/* In plain text with nothing queued before them, straight to the
	 * socket: no EV_WRITE registration, wakeup and removal per reply.
	 * Under TLS they go through the filter.  A write error is left for
	 * the bufferevent to find and report. */
	if (!s->tls_active && bufferevent_get_underlying(s->bev) == NULL &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		(void)evbuffer_write(s->replies, bufferevent_getfd(s->bev));
	if (evbuffer_get_length(s->replies) > 0)
		bufferevent_write_buffer(s->bev, s->replies);
}
