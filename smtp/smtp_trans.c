/*
 * smtp_trans - one mail transaction over an open session
 *
 * DESCRIPTION
 *	Checks before anything is sent: a message larger than the server's
 *	SIZE bounces (5.3.4), one that needs SMTPUTF8 bounces when the
 *	server lacks it (5.6.7).  Then MAIL FROM with SIZE, BODY=8BITMIME,
 *	SMTPUTF8 and the DSN parameters RET/ENVID (only what the server
 *	offered), one RCPT TO per recipient with NOTIFY/ORCPT (when it
 *	offers DSN), DATA.  With PIPELINING the whole envelope and DATA go
 *	in one write (RFC 2920) and the replies are read in order; without
 *	it each command waits for its reply and DATA is sent only when a
 *	recipient was accepted.
 *
 *	Replies: MAIL refused: every recipient gets the reply; each RCPT
 *	reply is its recipient's; DATA refused or the reply to the final
 *	dot: every accepted recipient (LMTP, RFC 2033: one reply per
 *	accepted recipient, in order).  2xx sent, 4xx deferred, 5xx
 *	bounced, with Postfix's text "host X said: REPLY (in reply to Y
 *	command)".  A lost connection or a timeout defers what is left.
 *
 *	sess->in_trans tells the connection cache whether the session
 *	left a transaction open (MAIL accepted, then no recipient, or
 *	DATA refused): only then does its next use need RSET.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "log.h"
#include "qfile.h"
#include "smtp.h"

/* remote_outcome - the last reply as the outcome of r */
static void remote_outcome(struct smtp_ctx *ctx, struct smtp_sess *sess,
			   struct smtp_rcpt *r, const char *command)
{
	char diag[SMTP_TEXT_MAX + 16];
	enum smtp_status st;
	char dsn[SMTP_REPLY_STATUS_MAX];

	snprintf(diag, sizeof(diag), "%s; %s", ctx->proto,
		 strbuf_cstr(&sess->text));
	snprintf(dsn, sizeof(dsn), "%s", sess->status);
	if (sess->code / 100 == 2) {
		st = SMTP_SENT;
		smtp_rcpt_set(r, st, dsn, diag, "%s", strbuf_cstr(&sess->text));
	} else {
		st = sess->code / 100 == 5 ? SMTP_BOUNCED : SMTP_DEFERRED;
		smtp_rcpt_set(r, st, dsn, diag,
			      "host %s said: %s (in reply to %s command)",
			      sess->hostaddr, strbuf_cstr(&sess->text),
			      command);
	}
	r->remote = true;
}

/* is_ascii - no 8-bit byte in s */
static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* mail_command - "MAIL FROM:<s> params\r\n" */
static void mail_command(struct smtp_sess *sess, const struct smtp_req *req,
			 struct strbuf *out)
{
	const char *body = qfile_attr(req->q, QFILE_ATTR_BODY);
	const char *ret = qfile_attr(req->q, QFILE_ATTR_RET);
	const char *envid = qfile_attr(req->q, QFILE_ATTR_ENVID);

	strbuf_appendf(out, "MAIL FROM:<%s>", req->sender);
	if (!sess->esmtp)
		goto end;
	if (sess->ehlo.ext & SMTP_EXT_SIZE)
		strbuf_appendf(out, " SIZE=%" PRIu64, req->q->content_size);
	if ((sess->ehlo.ext & SMTP_EXT_8BITMIME) && body != NULL &&
	    strcasecmp(body, "8BITMIME") == 0)
		strbuf_append_str(out, " BODY=8BITMIME");
	if (req->smtputf8 && (sess->ehlo.ext & SMTP_EXT_SMTPUTF8))
		strbuf_append_str(out, " SMTPUTF8");
	if (sess->ehlo.ext & SMTP_EXT_DSN) {
		if (ret != NULL && *ret != '\0')
			strbuf_appendf(out, " RET=%s", ret);
		if (envid != NULL && *envid != '\0')
			strbuf_appendf(out, " ENVID=%s", envid);
	}
end:
	strbuf_append_str(out, "\r\n");
}

/* rcpt_command - "RCPT TO:<a> params\r\n" */
static void rcpt_command(struct smtp_sess *sess, const struct smtp_rcpt *r,
			 struct strbuf *out)
{
	strbuf_appendf(out, "RCPT TO:<%s>", r->address);
	if (sess->esmtp && (sess->ehlo.ext & SMTP_EXT_DSN)) {
		if (r->notify & QFILE_NOTIFY_NEVER) {
			strbuf_append_str(out, " NOTIFY=NEVER");
		} else if (r->notify != 0) {
			const char *sep = " NOTIFY=";

			if (r->notify & QFILE_NOTIFY_SUCCESS) {
				strbuf_appendf(out, "%sSUCCESS", sep);
				sep = ",";
			}
			if (r->notify & QFILE_NOTIFY_FAILURE) {
				strbuf_appendf(out, "%sFAILURE", sep);
				sep = ",";
			}
			if (r->notify & QFILE_NOTIFY_DELAY)
				strbuf_appendf(out, "%sDELAY", sep);
		}
		if (r->orcpt[0] != '\0')
			strbuf_appendf(out, " ORCPT=%s", r->orcpt);
	}
	strbuf_append_str(out, "\r\n");
}

/* io_failed - the session broke: defer what is left with its error */
static void io_failed(struct smtp_req *req, struct smtp_sess *sess)
{
	smtp_fail_all(req, SMTP_DEFERRED, "4.4.2", NULL, "%s", sess->error);
}

/*
 * send_content - the message, encoded, then the final dot.  The encoded
 * bytes go out in writes of at least SMTP_CONTENT_CHUNK, and the final
 * dot travels with the last of them: a dot in a write of its own would
 * wait for the peer's delayed ACK of the content (Nagle, RFC 896 +
 * RFC 1122 4.2.3.2: 40 ms per message on Linux).
 */
static int send_content(struct smtp_ctx *ctx, struct smtp_sess *sess,
			struct smtp_req *req)
{
	static char buf[SMTP_CONTENT_CHUNK];
	struct smtp_dot dot;
	struct strbuf out;
	uint64_t pos = 0;
	int r = 0;

	strbuf_init(&out, STRBUF_NO_LIMIT);
	smtp_dot_init(&dot);
	for (;;) {
		ssize_t n = qfile_content_pread(req->q, req->q->fd, buf,
						sizeof(buf), pos);

		if (n < 0) {
			smtp_fail_all(req, SMTP_DEFERRED, "4.3.0", NULL,
				      "cannot read queue file: %m");
			sess->broken = true; /* a half message is out */
			r = -1;
			break;
		}
		if (n == 0)
			break;
		pos += (uint64_t)n;
		smtp_dot_encode(&dot, buf, (size_t)n, &out);
		if (out.len < SMTP_CONTENT_CHUNK)
			continue;
		if (smtp_sess_write(sess, out.data, out.len, ctx->t_data_xfer,
				    "sending message body") < 0) {
			io_failed(req, sess);
			r = -1;
			break;
		}
		strbuf_reset(&out);
	}
	if (r == 0) {
		smtp_dot_finish(&dot, &out);
		if (smtp_sess_write(sess, out.data, out.len, ctx->t_data_xfer,
				    "sending message body") < 0) {
			io_failed(req, sess);
			r = -1;
		}
	}
	strbuf_release(&out);
	return r;
}

/* prechecks - SIZE and SMTPUTF8; -1 when the message cannot go here */
static int prechecks(struct smtp_sess *sess, struct smtp_req *req)
{
	if (sess->esmtp && (sess->ehlo.ext & SMTP_EXT_SIZE) &&
	    sess->ehlo.size_max > 0 &&
	    req->q->content_size > sess->ehlo.size_max) {
		smtp_fail_all(req, SMTP_BOUNCED, "5.3.4", NULL,
			      "message size %" PRIu64 " exceeds size limit "
			      "%" PRIu64 " of server %s",
			      req->q->content_size, sess->ehlo.size_max,
			      sess->hostaddr);
		return -1;
	}
	if (req->smtputf8 && !(sess->ehlo.ext & SMTP_EXT_SMTPUTF8)) {
		smtp_fail_all(req, SMTP_BOUNCED, "5.6.7", NULL,
			      "SMTPUTF8 is required, but was not offered by "
			      "host %s",
			      sess->hostaddr);
		return -1;
	}
	return 0;
}

int smtp_transaction(struct smtp_ctx *ctx, struct smtp_sess *sess,
		     struct smtp_req *req, bool *retry_r)
{
	bool pipelining = sess->esmtp && (sess->ehlo.ext & SMTP_EXT_PIPELINING);
	struct strbuf cmd;
	size_t accepted = 0;
	bool data_sent = false;
	int ret = -1;

	*retry_r = false;
	if (!req->smtputf8)
		req->smtputf8 = !is_ascii(req->sender);
	for (size_t i = 0; i < req->count && !req->smtputf8; i++)
		req->smtputf8 = !is_ascii(req->rcpts[i].address);
	if (prechecks(sess, req) < 0)
		return 0;
	strbuf_init(&cmd, STRBUF_NO_LIMIT);
	mail_command(sess, req, &cmd);
	if (pipelining) {
		for (size_t i = 0; i < req->count; i++)
			rcpt_command(sess, &req->rcpts[i], &cmd);
		strbuf_append_str(&cmd, "DATA\r\n");
		data_sent = true;
	}
	if (smtp_sess_write(sess, cmd.data, cmd.len, ctx->t_mail,
			    "sending MAIL FROM") < 0 ||
	    smtp_sess_reply(sess, ctx->t_mail, "sending MAIL FROM") < 0) {
		*retry_r = sess->uses > 0;
		io_failed(req, sess);
		goto done;
	}
	sess->in_trans = sess->code / 100 == 2;
	if (sess->code / 100 != 2) {
		for (size_t i = 0; i < req->count; i++)
			remote_outcome(ctx, sess, &req->rcpts[i], "MAIL FROM");
		/* Pipelined RCPT and DATA replies are not worth reading. */
		if (pipelining)
			sess->broken = true;
		ret = pipelining ? -1 : 0;
		goto done;
	}
	for (size_t i = 0; i < req->count; i++) {
		struct smtp_rcpt *r = &req->rcpts[i];

		if (!pipelining) {
			strbuf_reset(&cmd);
			rcpt_command(sess, r, &cmd);
			if (smtp_sess_write(sess, cmd.data, cmd.len,
					    ctx->t_rcpt,
					    "sending RCPT TO") < 0) {
				io_failed(req, sess);
				goto done;
			}
		}
		if (smtp_sess_reply(sess, ctx->t_rcpt, "sending RCPT TO") < 0) {
			io_failed(req, sess);
			goto done;
		}
		if (sess->code / 100 == 2) {
			r->accepted = true;
			accepted++;
		} else {
			remote_outcome(ctx, sess, r, "RCPT TO");
		}
	}
	if (!data_sent) {
		if (accepted == 0) {
			ret = 0;
			goto done;
		}
		if (smtp_sess_write(sess, "DATA\r\n", 6, ctx->t_data_init,
				    "sending DATA command") < 0) {
			io_failed(req, sess);
			goto done;
		}
	}
	if (smtp_sess_reply(sess, ctx->t_data_init, "sending DATA command") <
	    0) {
		io_failed(req, sess);
		goto done;
	}
	if (sess->code != 354) {
		for (size_t i = 0; i < req->count; i++)
			if (req->rcpts[i].accepted)
				remote_outcome(ctx, sess, &req->rcpts[i],
					       "DATA");
		ret = 0;
		goto done;
	}
	if (accepted == 0) {
		/* 354 though no recipient was accepted (RFC 2920 §3.1
		 * wants 554): send an empty message and ignore the reply. */
		if (smtp_sess_write(sess, ".\r\n", 3, ctx->t_data_xfer,
				    "sending end of data") == 0 &&
		    smtp_sess_reply(sess, ctx->t_data_done,
				    "sending end of data") == 0) {
			sess->in_trans = false;
			ret = 0;
		}
		goto done;
	}
	if (send_content(ctx, sess, req) < 0)
		goto done;
	for (size_t i = 0; i < req->count; i++) {
		struct smtp_rcpt *r = &req->rcpts[i];

		if (!r->accepted)
			continue;
		if (smtp_sess_reply(sess, ctx->t_data_done,
				    "sending end of data -- message may be "
				    "sent more than once") < 0) {
			io_failed(req, sess);
			goto done;
		}
		if (ctx->lmtp) {
			remote_outcome(ctx, sess, r, "end of DATA");
			continue;
		}
		for (size_t j = i; j < req->count; j++)
			if (req->rcpts[j].accepted)
				remote_outcome(ctx, sess, &req->rcpts[j],
					       "end of DATA");
		break;
	}
	/* The reply to the end of data ends the transaction (RFC 5321
	 * 4.1.1.4), whatever it said: the next MAIL needs no RSET. */
	sess->in_trans = false;
	ret = 0;
done:
	sess->uses++;
	strbuf_release(&cmd);
	return sess->broken ? -1 : ret;
}
