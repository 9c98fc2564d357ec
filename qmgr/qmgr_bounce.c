/*
 * qmgr_bounce - non-delivery and delay notices (RFC 3464 delivery status
 *		 reports)
 *
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	int qmgr_bounce_send(struct qmgr_msg *msg, size_t *dests,
 *			     size_t count, bool delay);
 *
 * DESCRIPTION
 *	Writes one notice to the sender of msg for the listed addresses
 *	and commits it into incoming/ with the qfile writer (then schedules
 *	a scan, which delivers it like any message).  The notice comes
 *	from MAILER-DAEMON with the null sender <> (RFC 5321 §4.5.5), so a
 *	notice that cannot be delivered is never answered by another one
 *	(the caller sends none for a message from <>).  It is a
 *	multipart/report; report-type=delivery-status (RFC 3462) with
 *	three parts: a human-readable explanation, the message/delivery-
 *	status fields (Reporting-MTA, Arrival-Date, then per recipient
 *	Final-Recipient, Original-Recipient, Action: failed, Status,
 *	Remote-MTA and Diagnostic-Code), and the original message: in full
 *	(message/rfc822) unless the sender asked for RET=HDRS, then only
 *	its header (text/rfc822-headers).  Lines end in CRLF, as SMTP
 *	carried content in the queue.  Remote-MTA and Diagnostic-Code are
 *	the remote server's, as the agent reported them in result/1
 *	("dns; mx.example.com", "smtp; 550 5.1.1 ..."); without them the
 *	diagnostic is "X-Facteur; REASON".
 *
 *	A delay notice (delay) is the same report with the subject
 *	"Delayed Mail (still being retried)", Action: delayed and
 *	Will-Retry-Until, and only the original header, as Postfix sends
 *	it.
 *
 *	The caller honours NOTIFY (no notice for NEVER, or for a NOTIFY
 *	list without FAILURE) and marks the recipients only after this
 *	returned 0: a crash in between sends the notice again, never loses
 *	it.
 *
 * DIAGNOSTICS
 *	-1 (logged) when the notice cannot be written or committed.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "qfile.h"
#include "qmgr.h"
#include "strbuf.h"

/* rfc822_date - "Sat, 22 Nov 2025 04:12:00 +0000" */
static void rfc822_date(char *buf, size_t size, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* duration - "4 hour(s)", "90 second(s)": the largest exact unit */
static const char *duration(char *buf, size_t size, long long secs)
{
	if (secs > 0 && secs % 86400 == 0)
		snprintf(buf, size, "%lld day(s)", secs / 86400);
	else if (secs > 0 && secs % 3600 == 0)
		snprintf(buf, size, "%lld hour(s)", secs / 3600);
	else if (secs > 0 && secs % 60 == 0)
		snprintf(buf, size, "%lld minute(s)", secs / 60);
	else
		snprintf(buf, size, "%lld second(s)", secs);
	return buf;
}

/* copy_original - the original content (header only when hdrs) */
static int copy_original(struct qmgr_msg *msg, struct qfile_writer *w,
			 bool hdrs, const char **error_r)
{
	char buf[8192];
	uint64_t pos = 0;
	int state = 0; /* for RET=HDRS: finds the empty line */

	for (;;) {
		ssize_t n = qfile_content_pread(msg->q, msg->q->fd, buf,
						sizeof(buf), pos);
		size_t len;

		if (n < 0) {
			*error_r = "read queue file";
			return -1;
		}
		if (n == 0)
			return 0;
		len = (size_t)n;
		if (hdrs) {
			/* Stop after "\n\n" or "\n\r\n". */
			for (size_t i = 0; i < len; i++) {
				char c = buf[i];

				if (c == '\n' && state >= 1) {
					len = i + 1;
					state = 3;
					break;
				}
				state = c == '\n'		  ? 1
					: c == '\r' && state == 1 ? 2
								  : 0;
			}
		}
		if (qfile_write_content(w, buf, len, error_r) < 0)
			return -1;
		if (state == 3)
			return 0;
		pos += (uint64_t)n;
	}
}

/* qmgr_bounce_send - queue the notice */
int qmgr_bounce_send(struct qmgr_msg *msg, size_t *dests, size_t count,
		     bool delay)
{
	struct qmgr *qm = msg->qm;
	const char *host = qm->myhostname;
	const char *ret_attr = qfile_attr(msg->q, QFILE_ATTR_RET);
	const char *envid = qfile_attr(msg->q, QFILE_ATTR_ENVID);
	bool hdrs = delay ||
		    (ret_attr != NULL && strcasecmp(ret_attr, "HDRS") == 0);
	long long lifetime = msg->q->sender[0] == '\0' ? qm->bounce_lifetime
						       : qm->max_lifetime;
	char until[64], warn_text[64], life_text[64];
	char *incoming = xasprintf("%s/incoming", qm->queue_dir);
	struct qfile_writer *w = NULL;
	struct strbuf sb;
	char date[64], arrival[64], boundary[128];
	const char *error;
	int ret = -1;

	if (msg->q->sender[0] == '\0') {
		free(incoming);
		return 0;
	}
	strbuf_init(&sb, STRBUF_NO_LIMIT);
	rfc822_date(date, sizeof(date), time(NULL));
	rfc822_date(arrival, sizeof(arrival), (time_t)msg->q->arrival_sec);
	rfc822_date(until, sizeof(until),
		    (time_t)msg->q->arrival_sec + (time_t)lifetime);
	w = qfile_writer_create(incoming, NULL, &error);
	if (w == NULL)
		goto out;
	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", qfile_writer_id(w),
		 (long long)time(NULL), host);
	if (qfile_write_sender(w, "", &error) < 0 ||
	    qfile_write_recipient(w, msg->q->sender, NULL, 0, &error) < 0)
		goto out;
	strbuf_appendf(
		&sb,
		"From: MAILER-DAEMON@%s (Mail Delivery System)\r\n"
		"To: %s\r\n"
		"Subject: %s\r\n"
		"Date: %s\r\n"
		"Message-Id: <%s@%s>\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/report; report-type=delivery-status;\r\n"
		"\tboundary=\"%s\"\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"\r\n"
		"This is a MIME-encapsulated message.\r\n"
		"\r\n"
		"--%s\r\n"
		"Content-Description: Notification\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"\r\n"
		"This is the mail system at host %s.\r\n"
		"\r\n",
		host, msg->q->sender,
		delay ? "Delayed Mail (still being retried)"
		      : "Undelivered Mail Returned to Sender",
		date, qfile_writer_id(w), host, boundary, boundary, host);
	if (delay)
		strbuf_appendf(
			&sb,
			"####################################################"
			"################\r\n"
			"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND "
			"YOUR MESSAGE. #\r\n"
			"####################################################"
			"################\r\n"
			"\r\n"
			"Your message could not be delivered for more than "
			"%s.\r\n"
			"It will be retried until it is %s old.\r\n"
			"\r\n",
			duration(warn_text, sizeof(warn_text),
				 qm->delay_warning),
			duration(life_text, sizeof(life_text), lifetime));
	else
		strbuf_appendf(&sb, "I'm sorry to have to inform you that "
				    "your message could not\r\n"
				    "be delivered to one or more recipients. "
				    "It's attached below.\r\n"
				    "\r\n");
	for (size_t i = 0; i < count; i++) {
		const struct qmgr_dest *d = &msg->dests[dests[i]];

		strbuf_appendf(&sb, "<%s>: %s\r\n", d->address,
			       d->reason ? d->reason : "");
	}
	strbuf_appendf(&sb,
		       "\r\n--%s\r\n"
		       "Content-Description: Delivery report\r\n"
		       "Content-Type: message/delivery-status\r\n"
		       "\r\n"
		       "Reporting-MTA: dns; %s\r\n"
		       "X-Facteur-Queue-ID: %s\r\n"
		       "X-Facteur-Sender: rfc822; %s\r\n",
		       boundary, host, msg->id, msg->q->sender);
	if (envid != NULL)
		strbuf_appendf(&sb, "Original-Envelope-Id: %s\r\n", envid);
	strbuf_appendf(&sb, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < count; i++) {
		const struct qmgr_dest *d = &msg->dests[dests[i]];
		const struct qfile_rcpt *r = &msg->q->rcpts[d->rcpt];

		strbuf_appendf(&sb, "\r\nFinal-Recipient: rfc822; %s\r\n",
			       d->address);
		if (r->orcpt[0] != '\0')
			strbuf_appendf(&sb, "Original-Recipient: %s\r\n",
				       r->orcpt);
		else if (strcasecmp(r->address, d->address) != 0)
			strbuf_appendf(&sb,
				       "Original-Recipient: rfc822; %s\r\n",
				       r->address);
		strbuf_appendf(&sb, "Action: %s\r\nStatus: %s\r\n",
			       delay ? "delayed" : "failed", d->dsn);
		if (d->remote_mta != NULL)
			strbuf_appendf(&sb, "Remote-MTA: %s\r\n",
				       d->remote_mta);
		if (d->diagnostic != NULL)
			strbuf_appendf(&sb, "Diagnostic-Code: %s\r\n",
				       d->diagnostic);
		else
			strbuf_appendf(&sb,
				       "Diagnostic-Code: X-Facteur; %s\r\n",
				       d->reason ? d->reason : "");
		if (delay)
			strbuf_appendf(&sb, "Will-Retry-Until: %s\r\n", until);
	}
	strbuf_appendf(&sb,
		       "\r\n--%s\r\n"
		       "Content-Description: %s\r\n"
		       "Content-Type: %s\r\n"
		       "\r\n",
		       boundary,
		       delay  ? "Delayed Message Headers"
		       : hdrs ? "Undelivered Message Headers"
			      : "Undelivered Message",
		       hdrs ? "text/rfc822-headers" : "message/rfc822");
	if (qfile_write_content(w, sb.data, sb.len, &error) < 0 ||
	    copy_original(msg, w, hdrs, &error) < 0)
		goto out;
	strbuf_reset(&sb);
	strbuf_appendf(&sb, "\r\n--%s--\r\n", boundary);
	if (qfile_write_content(w, sb.data, sb.len, &error) < 0 ||
	    qfile_commit(w, incoming, QMGR_INCOMING_DEPTH, &error) < 0)
		goto out;
	log_info("%s: sender %s notification: %s", msg->id,
		 delay ? "delay" : "non-delivery", qfile_writer_id(w));
	qmgr_schedule_scan(qm, false);
	ret = 0;
out:
	if (ret < 0)
		log_warn("%s: cannot queue the %s notice: %s", msg->id,
			 delay ? "delay" : "non-delivery", error);
	qfile_writer_free(&w);
	strbuf_release(&sb);
	free(incoming);
	return ret;
}
