/*
 * smtpd_session - one SMTP connection: I/O, input loop, limits, close
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	void smtpd_session_accept(struct smtpd *sd, int fd, const char *addr);
 *	void smtpd_session_starttls(struct smtpd_session *s);
 *	void smtpd_session_reset_txn(struct smtpd_session *s);
 *	void smtpd_session_close(struct smtpd_session *s);
 *
 * DESCRIPTION
 *	Each session is a libevent bufferevent (a TLS filter over it after
 *	STARTTLS, or from the start in wrapper mode); one smtpd process
 *	serves up to smtpd_process_session_limit sessions at once and never
 *	blocks except for the fsyncs of a commit (qfile_commit(), a few
 *	milliseconds that stall the other sessions of the process).
 *
 *	The input loop takes commands off the input buffer in order, as
 *	long as complete ones are there (RFC 2920 pipelining), switches to
 *	content after DATA/BDAT, and flushes the replies when it runs out
 *	of input.  Commands are read with lineread: a line over
 *	smtpd_command_line_limit is answered "500 5.5.2 Error: line too
 *	long" once and skipped up to its LF, without buffering it.
 *
 *	Limits: smtpd_timeout without input (or without the client reading
 *	our output) gives "421 4.4.2 Error: timeout exceeded" and a close;
 *	after smtpd_soft_error_limit errors every further error reply is
 *	delayed by smtpd_error_sleep_time (a timer: the process goes on
 *	serving the other sessions); at smtpd_hard_error_limit "421 4.7.0
 *	Error: too many errors" and a close.
 *
 *	Closing: the session stops reading, sends what is pending and is
 *	freed once the output (TLS included) is out, or after
 *	SMTPD_CLOSE_TIMEOUT seconds.  A transaction in progress is aborted:
 *	qfile_writer_free() removes its temporary file, so a client that
 *	goes away during DATA leaves nothing in the queue.
 *
 * SECURITY
 *	All input is untrusted; it is bounded by the line limit, the
 *	content filter's limits and the error limits.  After STARTTLS,
 *	plaintext that was pipelined behind the command is discarded before
 *	the handshake (CVE-2011-0411), and the session is reset to its
 *	state before EHLO (RFC 3207 §4.2).
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "anvil_client.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "smtpd.h"
#include "tls.h"

static void session_read(struct bufferevent *bev, void *arg);
static void session_write(struct bufferevent *bev, void *arg);
static void session_event(struct bufferevent *bev, short what, void *arg);
static void session_process(struct smtpd_session *s);

static const char *const count_names[SMTPD_COUNT_MAX] = {
	"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data",    "bdat",
	"rset", "noop", "vrfy",	    "expn", "help", "quit", "unknown",
};

/* smtpd_session_client - "unknown[addr]" */
const char *smtpd_session_client(const struct smtpd_session *s)
{
	static char buf[SMTPD_ADDR_MAX + 32];

	snprintf(buf, sizeof(buf), "%s[%s]", s->name, s->addr);
	return buf;
}

/* session_set_timeouts - smtpd_timeout for reading and writing */
static void session_set_timeouts(struct smtpd_session *s)
{
	struct timeval tv = {.tv_sec = (time_t)s->sd->set.timeout};

	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

/* session_setup_bev - callbacks on the (new) top bufferevent */
static void session_setup_bev(struct smtpd_session *s)
{
	bufferevent_setcb(s->bev, session_read, session_write, session_event,
			  s);
	session_set_timeouts(s);
	/* Bound what a client can make us buffer ahead of processing
	 * (pipelined commands while an AUTH request is out, say). */
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTPD_INPUT_MAX);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* smtpd_session_reset_txn - forget the transaction; abort its file */
void smtpd_session_reset_txn(struct smtpd_session *s)
{
	qfile_writer_free(&s->qw);
	s->queue_id[0] = '\0';
	s->sender[0] = '\0';
	s->first_rcpt[0] = '\0';
	s->nrcpt = 0;
	s->smtputf8 = false;
	s->content_started = false;
	s->bdat_used = false;
	s->bdat_discard = false;
	s->bdat_left = 0;
	s->too_big = false;
	s->write_failed = false;
	smtpd_dot_release(&s->dot);
	memset(&s->dot, 0, sizeof(s->dot));
	strbuf_reset(&s->out);
	free(s->add_msgid);
	free(s->add_date);
	s->add_msgid = s->add_date = NULL;
	if (s->state != SMTPD_STATE_QUIT)
		s->state = s->helo[0] ? SMTPD_STATE_HELO : SMTPD_STATE_CONNECT;
}

/* session_log_disconnect - Postfix's "disconnect from" with counters */
static void session_log_disconnect(struct smtpd_session *s)
{
	char buf[512];
	size_t off = 0;
	unsigned ok = 0, total = 0;

	buf[0] = '\0';
	for (int i = 0; i < SMTPD_COUNT_MAX; i++) {
		if (s->counts[i].total == 0)
			continue;
		ok += s->counts[i].ok;
		total += s->counts[i].total;
		if (s->counts[i].ok == s->counts[i].total)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						" %s=%u", count_names[i],
						s->counts[i].ok);
		else
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						" %s=%u/%u", count_names[i],
						s->counts[i].ok,
						s->counts[i].total);
		if (off >= sizeof(buf))
			break;
	}
	if (ok == total)
		log_info("disconnect from %s%s commands=%u",
			 smtpd_session_client(s), buf, total);
	else
		log_info("disconnect from %s%s commands=%u/%u",
			 smtpd_session_client(s), buf, ok, total);
}

/* session_free - the end of a session */
static void session_free(struct smtpd_session *s)
{
	struct server *srv = s->sd->srv;

	if (s->commit != NULL) {
		/* The worker still has our file: finish when it is back
		 * (smtpd_session_commit_done), with no more events. */
		s->free_pending = true;
		s->closing = true;
		if (s->bev)
			bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		if (s->timer)
			evtimer_del(s->timer);
		return;
	}
	session_log_disconnect(s);
	s->state = SMTPD_STATE_QUIT;
	smtpd_session_reset_txn(s);   /* aborts an unfinished queue file */
	smtpd_sasl_reset(s);	      /* cancels a pending auth request */
	anvil_client_free(&s->anvil); /* ends the count in anvil */
	free(s->mail_line);
	free(s->sasl_user);
	if (s->timer)
		event_free(s->timer);
	if (s->bev)
		bufferevent_free(s->bev);
	evbuffer_free(s->replies);
	strbuf_release(&s->line);
	strbuf_release(&s->out);
	free(s);
	server_conn_done(srv);
}

/* session_output_empty - nothing left to send, TLS layer included */
static bool session_output_empty(struct smtpd_session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return false;
	return under == NULL ||
	       evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

/* session_timer - error sleep is over, or poll a closing session */
static void session_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_session *s = arg;
	struct timeval tv = {0, 50000};

	(void)fd;
	(void)what;
	if (s->closing) {
		if (session_output_empty(s) ||
		    ++s->close_ticks > SMTPD_CLOSE_TIMEOUT * 20) {
			session_free(s);
			return;
		}
		evtimer_add(s->timer, &tv);
		return;
	}
	if (s->paused) {
		s->paused = false;
		smtpd_chat_flush(s);
		bufferevent_enable(s->bev, EV_READ);
		session_process(s);
	}
}

/* smtpd_session_close - send what is pending, then free */
void smtpd_session_close(struct smtpd_session *s)
{
	struct timeval tv = {0, 0};

	if (s->closing)
		return;
	s->closing = true;
	s->state = SMTPD_STATE_QUIT;
	smtpd_chat_flush(s);
	bufferevent_disable(s->bev, EV_READ);
	/* Poll from the loop: the write callback does not see the TLS
	 * layer's own buffer, and freeing here would pull the session
	 * from under a caller still on the stack. */
	evtimer_add(s->timer, &tv);
}

/* session_check_errors - hard limit: disconnect; soft: slow down */
static bool session_check_errors(struct smtpd_session *s, unsigned before)
{
	const struct smtpd_settings *set = &s->sd->set;

	if (s->errors == before)
		return false;
	if (s->errors >= set->hard_error_limit) {
		log_info("too many errors after %s from %s",
			 s->last_cmd ? s->last_cmd : "CONNECT",
			 smtpd_session_client(s));
		smtpd_chat_reply(s, "421 4.7.0 %s Error: too many errors",
				 set->hostname);
		smtpd_session_close(s);
		return true;
	}
	if (s->errors > set->soft_error_limit && set->error_sleep > 0) {
		struct timeval tv = {.tv_sec = (time_t)set->error_sleep};

		s->paused = true;
		bufferevent_disable(s->bev, EV_READ);
		evtimer_add(s->timer, &tv);
		return true;
	}
	return false;
}

/* session_process - handle what the input buffer holds, in order */
static void session_process(struct smtpd_session *s)
{
	struct evbuffer *in;

	while (!s->closing && !s->paused && !s->suspended) {
		unsigned before = s->errors;
		struct bufferevent *bev = s->bev;

		in = bufferevent_get_input(bev);
		if (s->state == SMTPD_STATE_DATA) {
			if (!smtpd_data_input(s, in))
				break;
		} else if (s->state == SMTPD_STATE_BDAT) {
			if (!smtpd_bdat_input(s, in))
				break;
		} else {
			enum lineread_result r;

			r = lineread_next(&s->lr, in, &s->line);
			if (r == LINEREAD_MORE)
				break;
			if (r == LINEREAD_TOO_LONG) {
				s->last_cmd = "CONNECT";
				smtpd_chat_reply(s, "500 5.5.2 Error: line "
						    "too long");
			} else if (!s->lr.had_cr && s->sd->set.bare_newline ==
							    SMTPD_BARE_REJECT) {
				/* Postfix 3.9 smtpd_forbid_bare_newline. */
				smtpd_chat_reply(s,
						 "521 5.5.2 %s Error: bare "
						 "<LF> received",
						 s->sd->set.hostname);
				log_info("disconnect: bare <LF> received "
					 "from %s",
					 smtpd_session_client(s));
				smtpd_session_close(s);
				break;
			} else if (s->sasl_step != SMTPD_SASL_NONE) {
				smtpd_sasl_input(s, s->line.data, s->line.len);
				memzero_explicit(s->line.data, s->line.len);
			} else {
				smtpd_cmd_dispatch(s, s->line.data,
						   s->line.len);
				/* AUTH's initial response is a secret. */
				if (s->line.len >= 4 &&
				    strncasecmp(s->line.data, "AUTH", 4) == 0)
					memzero_explicit(s->line.data,
							 s->line.len);
			}
		}
		if (s->bev != bev)
			break; /* STARTTLS: the input is gone */
		if (session_check_errors(s, before))
			break;
	}
	if (!s->closing && !s->paused)
		smtpd_chat_flush(s);
}

/*
 * smtpd_session_suspend - no commands while the auth service or a commit
 * decides.  Reading stays on: what the client pipelines waits in the
 * input buffer, bounded by its high watermark (SMTPD_INPUT_MAX), and
 * turning EV_READ off and on again would cost two epoll_ctl(2) calls
 * per message.
 */
void smtpd_session_suspend(struct smtpd_session *s)
{
	s->suspended = true;
}

/* smtpd_session_resume - the answer is in: reply, read on */
void smtpd_session_resume(struct smtpd_session *s)
{
	s->suspended = false;
	if (s->closing)
		return;
	session_process(s);
}

/* smtpd_session_commit_done - the 250 (or 451) is queued: go on */
void smtpd_session_commit_done(struct smtpd_session *s)
{
	if (s->free_pending) {
		session_free(s);
		return;
	}
	if (s->closing) {
		smtpd_chat_flush(s);
		return;
	}
	smtpd_session_resume(s);
}

/* session_read - input arrived */
static void session_read(struct bufferevent *bev, void *arg)
{
	struct smtpd_session *s = arg;

	(void)bev;
	if (s->closing) {
		evbuffer_drain(bufferevent_get_input(bev),
			       evbuffer_get_length(bufferevent_get_input(bev)));
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
	struct smtpd_session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* The TLS handshake is complete. */
		s->tls_active = true;
		tls_describe(bev, s->tls_info, sizeof(s->tls_info));
		log_info("Anonymous TLS connection established from %s: %s",
			 smtpd_session_client(s), s->tls_info);
		return;
	}
	if (s->closing) {
		if (what &
		    (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
			session_free(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("timeout after %s from %s",
			 s->last_cmd ? s->last_cmd : "CONNECT",
			 smtpd_session_client(s));
		smtpd_chat_reply(s, "421 4.4.2 %s Error: timeout exceeded",
				 s->sd->set.hostname);
		smtpd_session_close(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (bufferevent_get_underlying(bev) != NULL && !s->tls_active)
			log_info("SSL_accept error from %s: %s",
				 smtpd_session_client(s), tls_error(bev));
		else if (s->state == SMTPD_STATE_DATA ||
			 s->state == SMTPD_STATE_BDAT)
			log_info("lost connection after %s from %s",
				 s->state == SMTPD_STATE_DATA ? "DATA" : "BDAT",
				 smtpd_session_client(s));
	} else if (what & BEV_EVENT_EOF) {
		if (s->state == SMTPD_STATE_DATA ||
		    s->state == SMTPD_STATE_BDAT)
			log_info("lost connection after %s from %s",
				 s->state == SMTPD_STATE_DATA ? "DATA" : "BDAT",
				 smtpd_session_client(s));
	}
	session_free(s);
}

/* smtpd_session_starttls - put a TLS filter over the connection */
void smtpd_session_starttls(struct smtpd_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct bufferevent *tbev;
	const char *err;
	size_t junk = evbuffer_get_length(in);

	/* The 220 goes out in plaintext, before the filter takes over. */
	smtpd_chat_flush(s);
	if (junk > 0) {
		/* CVE-2011-0411: plaintext pipelined after STARTTLS must
		 * not be taken as if it came over TLS. */
		log_info("discarding %zu bytes of plaintext pipelined after "
			 "STARTTLS from %s",
			 junk, smtpd_session_client(s));
		evbuffer_drain(in, junk);
	}
	tbev = tls_server_wrap(s->sd->tls, server_event_base(s->sd->srv),
			       s->bev, &err);
	if (tbev == NULL) {
		log_warn("STARTTLS from %s: %s", smtpd_session_client(s), err);
		smtpd_session_close(s);
		return;
	}
	s->bev = tbev;
	session_setup_bev(s);
	/* RFC 3207 §4.2: forget everything learned before TLS. */
	s->helo[0] = '\0';
	s->esmtp = false;
	smtpd_sasl_reset(s);
	free(s->sasl_user);
	s->sasl_user = NULL;
	s->state = SMTPD_STATE_CONNECT;
	smtpd_session_reset_txn(s);
	lineread_init(&s->lr, s->sd->set.command_line_limit);
}

/* smtpd_session_accept - a new client: greet it */
void smtpd_session_accept(struct smtpd *sd, int fd, const char *addr)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));
	struct event_base *base = server_event_base(sd->srv);

	s->sd = sd;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->name = "unknown";
	s->state = SMTPD_STATE_CONNECT;
	lineread_init(&s->lr, sd->set.command_line_limit);
	strbuf_init(&s->line, sd->set.command_line_limit + 2);
	strbuf_init(&s->out, STRBUF_NO_LIMIT);
	s->replies = evbuffer_new();
	s->timer = evtimer_new(base, session_timer, s);
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL || s->replies == NULL || s->timer == NULL)
		log_fatal("libevent: out of memory");
	log_info("connect from %s", smtpd_session_client(s));
	if (!smtpd_anvil_check(s))
		smtpd_session_greet(s, NULL);
}

/*
 * smtpd_session_greet - start the protocol: TLS first in wrapper mode,
 * then the 220 greeting, or refusal (a whole "421 ..." reply) and a close
 */
void smtpd_session_greet(struct smtpd_session *s, const char *refusal)
{
	struct smtpd *sd = s->sd;

	if (sd->set.wrappermode) {
		const char *err;
		struct bufferevent *tbev = tls_server_wrap(
			sd->tls, server_event_base(sd->srv), s->bev, &err);

		if (tbev == NULL) {
			log_warn("TLS from %s: %s", smtpd_session_client(s),
				 err);
			session_free(s);
			return;
		}
		s->bev = tbev;
	}
	session_setup_bev(s);
	if (refusal != NULL) {
		smtpd_chat_reply(s, "%s", refusal);
		smtpd_session_close(s);
		return;
	}
	smtpd_chat_reply(s, "220 %s", sd->set.banner);
	smtpd_chat_flush(s);
}
