/*
 * smtpd_queue - the queue file of a transaction, from MAIL to 250
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	int smtpd_queue_open(s, cmd);
 *	int smtpd_queue_rcpt(s, cmd);
 *	const char *smtpd_queue_log_id(s);
 *	int smtpd_queue_begin_content(s);
 *	void smtpd_queue_flush_out(s);
 *	void smtpd_queue_finish(s);
 *	void smtpd_queue_committed(s, ret, error);
 *
 * DESCRIPTION
 *	MAIL creates the file in queue_directory/incoming with
 *	qfile_writer_create(), so the queue id is known at once; it is
 *	logged as Postfix does ("ID: client=host[addr]") at the first
 *	accepted RCPT, and refusals before that say NOQUEUE
 *	(smtpd_queue_log_id), so that log readers such as pflogsumm count
 *	only transactions that may queue mail.  The sender and the
 *	attributes (client, HELO, protocol, RFC 3461 ENVID and RET, BODY,
 *	SMTPUTF8, SIZE) follow; each accepted RCPT adds its record with
 *	its NOTIFY flags and ORCPT.  DATA (or the first BDAT) writes our
 *	Received: header (RFC 5321 §4.4), then the filtered content streams
 *	in.  At the end of the data:
 *
 *	  - a refused message (size, header size, bare LF with
 *	    smtpd_forbid_bare_newline = yes, write error) is aborted: the
 *	    temporary file is removed and nothing is queued;
 *	  - else qfile_commit() (write, rename into incoming/, fsync the
 *	    file and the directory) on a worker thread (smtpd_commit.c),
 *	    the session suspended meanwhile.  Only when it returned 0 does
 *	    smtpd_queue_committed() answer "250 2.0.0 Ok: queued as ID"
 *	    (RFC 5321 §6.1: once we said 250 the message is our
 *	    responsibility); a failure is 451 4.3.0;
 *	  - then qmgr is woken through public/qmgr, over one connection the
 *	    process keeps (trigger_stream_wakeup).  A qmgr that is not
 *	    running is only logged at debug level: its start-up scan and
 *	    its wakeup timer find the file anyway.
 *
 *	Log lines: "ID: message-id=<...>" (Postfix writes it from cleanup;
 *	pflogsumm uses it).  The "ID: from=<...>, size=N, nrcpt=N (queue
 *	active)" line is qmgr's, as in Postfix.
 *
 * DIAGNOSTICS
 *	Queue file errors are logged with the file and reason and turn
 *	into 451 4.3.0 replies; they never end the process.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "alloc.h"
#include "log.h"
#include "smtp_cmd.h"
#include "smtpd.h"
#include "trigger.h"

/* queue_fail - log a queue file error once */
static void queue_fail(struct smtpd_session *s, const char *what,
		       const char *err)
{
	log_warn("%s: %s: %s", smtpd_queue_log_id(s), what, err);
}

/* smtpd_queue_log_id - the id for log lines: NOQUEUE until "client=" */
const char *smtpd_queue_log_id(const struct smtpd_session *s)
{
	return s->queue_id[0] && s->nrcpt > 0 ? s->queue_id : "NOQUEUE";
}

/* queue_mail_date - RFC 5322 §3.3 date-time of now, Postfix's form */
static void queue_mail_date(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	char rest[80];

	localtime_r(&now, &tm);
	/* "%e" pads with a space; RFC 5322 day is 1*2DIGIT. */
	strftime(rest, sizeof(rest), "%b %Y %H:%M:%S %z (%Z)", &tm);
	static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed",
					   "Thu", "Fri", "Sat"};
	snprintf(buf, size, "%s, %d %s", wday[tm.tm_wday % 7], tm.tm_mday,
		 rest);
}

/* smtpd_queue_open - create the file at MAIL and write the envelope */
int smtpd_queue_open(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	const char *err;
	char num[32];
	const char *body = NULL;

	s->qw = qfile_writer_create(s->sd->incoming_dir, NULL, &err);
	if (s->qw == NULL) {
		queue_fail(s, "queue file", err);
		return -1;
	}
	snprintf(s->queue_id, sizeof(s->queue_id), "%s",
		 qfile_writer_id(s->qw));
	if (qfile_write_sender(s->qw, cmd->addr.addr, &err) < 0 ||
	    qfile_write_attr(s->qw, QFILE_ATTR_CLIENT_ADDR, s->addr, &err) <
		    0 ||
	    qfile_write_attr(s->qw, QFILE_ATTR_CLIENT_NAME, s->name, &err) <
		    0 ||
	    qfile_write_attr(s->qw, QFILE_ATTR_HELO, s->helo, &err) < 0 ||
	    qfile_write_attr(s->qw, QFILE_ATTR_PROTOCOL, smtpd_cmd_protocol(s),
			     &err) < 0)
		goto fail;
	if (s->sasl_user && qfile_write_attr(s->qw, QFILE_ATTR_SASL_USER,
					     s->sasl_user, &err) < 0)
		goto fail;
	if (cmd->mail.has_envid && qfile_write_attr(s->qw, QFILE_ATTR_ENVID,
						    cmd->mail.envid, &err) < 0)
		goto fail;
	if (cmd->mail.ret != SMTP_CMD_RET_NONE &&
	    qfile_write_attr(s->qw, QFILE_ATTR_RET,
			     cmd->mail.ret == SMTP_CMD_RET_FULL ? "FULL"
								: "HDRS",
			     &err) < 0)
		goto fail;
	if (cmd->smtputf8 &&
	    qfile_write_attr(s->qw, QFILE_ATTR_SMTPUTF8, "1", &err) < 0)
		goto fail;
	switch (cmd->mail.body) {
	case SMTP_CMD_BODY_7BIT:
		body = "7BIT";
		break;
	case SMTP_CMD_BODY_8BITMIME:
		body = "8BITMIME";
		break;
	case SMTP_CMD_BODY_BINARYMIME:
		body = "BINARYMIME";
		break;
	case SMTP_CMD_BODY_NONE:
		break;
	}
	if (body && qfile_write_attr(s->qw, QFILE_ATTR_BODY, body, &err) < 0)
		goto fail;
	if (cmd->mail.has_size) {
		snprintf(num, sizeof(num), "%llu",
			 (unsigned long long)cmd->mail.size);
		if (qfile_write_attr(s->qw, QFILE_ATTR_SIZE, num, &err) < 0)
			goto fail;
	}
	return 0;
fail:
	queue_fail(s, "write envelope", err);
	return -1;
}

/* smtpd_queue_rcpt - one accepted recipient */
int smtpd_queue_rcpt(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	char orcpt[SMTP_CMD_ADDR_TYPE_MAX + SMTP_CMD_ORCPT_MAX + 2];
	unsigned notify = 0, n = cmd->rcpt.notify;
	const char *err;

	if (n & SMTP_CMD_NOTIFY_NEVER)
		notify |= QFILE_NOTIFY_NEVER;
	if (n & SMTP_CMD_NOTIFY_SUCCESS)
		notify |= QFILE_NOTIFY_SUCCESS;
	if (n & SMTP_CMD_NOTIFY_FAILURE)
		notify |= QFILE_NOTIFY_FAILURE;
	if (n & SMTP_CMD_NOTIFY_DELAY)
		notify |= QFILE_NOTIFY_DELAY;
	/* ORCPT as "addr-type;address", decoded (RFC 3461 §4.2). */
	if (cmd->rcpt.has_orcpt)
		snprintf(orcpt, sizeof(orcpt), "%s;%s", cmd->rcpt.orcpt_type,
			 cmd->rcpt.orcpt);
	if (qfile_write_recipient(s->qw, cmd->addr.addr,
				  cmd->rcpt.has_orcpt ? orcpt : NULL, notify,
				  &err) < 0) {
		queue_fail(s, "write recipient", err);
		return -1;
	}
	/* Postfix logs the id (its cleanup opens) at the first accepted
	 * recipient: a transaction whose recipients were all refused is
	 * "NOQUEUE" and pflogsumm does not count it as received. */
	if (s->nrcpt == 0) {
		if (s->sasl_user)
			log_info("%s: client=%s, sasl_method=%s, "
				 "sasl_username=%s",
				 s->queue_id, smtpd_session_client(s),
				 s->sasl_mech, s->sasl_user);
		else
			log_info("%s: client=%s", s->queue_id,
				 smtpd_session_client(s));
	}
	return 0;
}

/* smtpd_queue_begin_content - Received: header, headers to add */
int smtpd_queue_begin_content(struct smtpd_session *s)
{
	const struct smtpd_settings *set = &s->sd->set;
	struct strbuf rcv;
	char date[128];
	const char *err;
	int r;

	queue_mail_date(date, sizeof(date));
	strbuf_init(&rcv, STRBUF_NO_LIMIT);
	/* RFC 5321 §4.4, in Postfix's layout. */
	strbuf_appendf(&rcv, "Received: from %s (%s [%s])\r\n",
		       s->helo[0] ? s->helo : s->name, s->name, s->addr);
	if (s->tls_active && set->tls_received_header)
		strbuf_appendf(&rcv, "\t(using %s)\r\n", s->tls_info);
	strbuf_appendf(&rcv, "\tby %s (%s) with %s id %s", set->hostname,
		       set->mail_name, smtpd_cmd_protocol(s), s->queue_id);
	if (s->nrcpt == 1)
		strbuf_appendf(&rcv, "\r\n\tfor <%s>", s->first_rcpt);
	strbuf_appendf(&rcv, "; %s\r\n", date);
	r = qfile_write_content(s->qw, rcv.data, rcv.len, &err);
	strbuf_release(&rcv);
	if (r < 0) {
		queue_fail(s, "write content", err);
		return -1;
	}
	if (set->add_missing_headers) {
		/* RFC 6409 §8.2, §8.3: the submission server may add them. */
		s->add_msgid = xasprintf("Message-ID: <%s@%s>\r\n", s->queue_id,
					 set->hostname);
		s->add_date = xasprintf("Date: %s\r\n", date);
	}
	s->content_started = true;
	return 0;
}

/* smtpd_queue_flush_out - filtered content to the file, or away */
void smtpd_queue_flush_out(struct smtpd_session *s)
{
	const struct smtpd_settings *set = &s->sd->set;
	const char *err;

	if (s->out.len == 0)
		return;
	if (s->qw && !s->too_big && !s->write_failed &&
	    set->message_size_limit > 0 &&
	    qfile_writer_content_size(s->qw) + s->out.len >
		    set->message_size_limit)
		s->too_big = true;
	if (s->qw && !s->too_big && !s->write_failed &&
	    qfile_write_content(s->qw, s->out.data, s->out.len, &err) < 0) {
		queue_fail(s, "write content", err);
		s->write_failed = true;
	}
	strbuf_reset(&s->out);
}

/* smtpd_queue_finish - end of data: refuse, or start the commit */
void smtpd_queue_finish(struct smtpd_session *s)
{
	const struct smtpd_settings *set = &s->sd->set;

	if (s->dot.bare_lf && set->bare_newline == SMTPD_BARE_REJECT) {
		log_info("%s: reject: bare <LF> received from %s", s->queue_id,
			 smtpd_session_client(s));
		smtpd_chat_reply(s, "550 5.5.2 Error: bare <LF> received");
	} else if (s->too_big) {
		log_info("%s: reject: message too big from %s", s->queue_id,
			 smtpd_session_client(s));
		smtpd_chat_reply(s, "552 5.3.4 Error: message file too big");
	} else if (s->dot.header_too_big) {
		log_info("%s: reject: header too big from %s", s->queue_id,
			 smtpd_session_client(s));
		smtpd_chat_reply(s, "552 5.3.4 Error: message header size "
				    "exceeds limit");
	} else if (s->write_failed) {
		smtpd_chat_reply(s, "451 4.3.0 Error: queue file write error");
	} else {
		/* The fsyncs run on a worker (smtpd_commit.c); the session
		 * waits, suspended, for smtpd_queue_committed(). */
		smtpd_commit_start(s);
		return;
	}
	/* Refused: free aborts the file (removes the temporary file). */
	s->state = SMTPD_STATE_HELO;
	smtpd_session_reset_txn(s);
}

/* smtpd_queue_committed - the commit is back: 250 only if it is durable */
void smtpd_queue_committed(struct smtpd_session *s, int ret, const char *error)
{
	const struct smtpd_settings *set = &s->sd->set;
	const char *err;

	if (ret < 0) {
		queue_fail(s, "commit", error);
		smtpd_chat_reply(s, "451 4.3.0 Error: queue file write error");
	} else {
		if (s->dot.msgid[0])
			log_info("%s: message-id=%s", s->queue_id,
				 s->dot.msgid);
		else if (s->add_msgid)
			log_info("%s: message-id=<%s@%s>", s->queue_id,
				 s->queue_id, set->hostname);
		if (trigger_stream_wakeup(&s->sd->qmgr_fd, set->queue_dir,
					  "public/qmgr", &err) < 0)
			log_debug("%s: wake qmgr: %s", s->queue_id, err);
		smtpd_chat_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
	}
	/* Committed or not, the writer is done. */
	s->state = SMTPD_STATE_HELO;
	smtpd_session_reset_txn(s);
	smtpd_session_commit_done(s);
}
