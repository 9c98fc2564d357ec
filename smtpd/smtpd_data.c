/*
 * smtpd_data - message content: DATA with dot-unstuffing, BDAT chunks
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	void smtpd_data_start(s);
 *	bool smtpd_data_input(s, in);
 *	void smtpd_bdat_start(s, size, last, discard);
 *	bool smtpd_bdat_input(s, in);
 *
 * DESCRIPTION
 *	DATA content goes through the filter of smtpd_dot.c (dot-unstuffing,
 *	strict CRLF.CRLF end, bare LF rules, header limits) and streams into
 *	the queue file (smtpd_queue_flush_out()) as it arrives; at the end
 *	smtpd_queue_finish() refuses or commits and replies.  BDAT chunks
 *	(RFC 3030) are exact byte counts through the same filter in raw
 *	mode; a refused BDAT's bytes are still read and dropped, so that
 *	they are never taken for commands.
 *
 * SECURITY
 *	Content is untrusted; oversize messages are read to the end and
 *	dropped without being stored.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <string.h>

#include "log.h"
#include "smtpd.h"

/* data_filter_init - set up the filter for this transaction */
static void data_filter_init(struct smtpd_session *s, bool raw)
{
	smtpd_dot_init(&s->dot, s->sd->set.bare_newline, raw,
		       s->sd->set.header_size_limit);
	s->dot.add_msgid = s->add_msgid;
	s->dot.add_date = s->add_date;
	strbuf_reset(&s->out);
}

/* smtpd_data_start - after "354": content until CRLF.CRLF */
void smtpd_data_start(struct smtpd_session *s)
{
	data_filter_init(s, false);
	s->state = SMTPD_STATE_DATA;
}

/* smtpd_data_input - filter what has arrived; true at the end of data */
bool smtpd_data_input(struct smtpd_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec vec[8];
	int n, i;
	size_t used;

	while (evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, vec, 8);
		if (n > 8)
			n = 8;
		for (i = 0; i < n; i++) {
			int done =
				smtpd_dot_feed(&s->dot, vec[i].iov_base,
					       vec[i].iov_len, &s->out, &used);
			evbuffer_drain(in, used);
			smtpd_queue_flush_out(s);
			if (done) {
				smtpd_dot_finish(&s->dot, &s->out);
				smtpd_queue_flush_out(s);
				smtpd_queue_finish(s);
				return true;
			}
			/* Peeked vectors are invalid after a drain. */
			break;
		}
	}
	return false;
}

/* smtpd_bdat_start - read size bytes of content (RFC 3030 §2) */
void smtpd_bdat_start(struct smtpd_session *s, uint64_t size, bool last,
		      bool discard)
{
	if (!s->bdat_used && !discard)
		data_filter_init(s, true);
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_discard = discard;
	s->state = SMTPD_STATE_BDAT;
}

/* bdat_chunk_done - the chunk is read: reply */
static void bdat_chunk_done(struct smtpd_session *s)
{
	if (s->bdat_discard) {
		/* The BDAT was refused already; its bytes are gone. */
		s->state = s->nrcpt ? SMTPD_STATE_RCPT
			   : s->qw  ? SMTPD_STATE_MAIL
				    : SMTPD_STATE_HELO;
		s->bdat_discard = false;
		return;
	}
	if (s->bdat_last) {
		smtpd_dot_finish(&s->dot, &s->out);
		smtpd_queue_flush_out(s);
		smtpd_queue_finish(s);
		return;
	}
	s->state = SMTPD_STATE_RCPT;
	smtpd_chat_reply(s, "250 2.0.0 Ok: %llu bytes",
			 (unsigned long long)qfile_writer_content_size(s->qw));
}

/* smtpd_bdat_input - consume chunk bytes; true when the chunk is done */
bool smtpd_bdat_input(struct smtpd_session *s, struct evbuffer *in)
{
	size_t used;

	while (s->bdat_left > 0 && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec vec;
		size_t take;

		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
			break;
		take = vec.iov_len;
		if (take > s->bdat_left)
			take = (size_t)s->bdat_left;
		if (!s->bdat_discard) {
			(void)smtpd_dot_feed(&s->dot, vec.iov_base, take,
					     &s->out, &used);
			smtpd_queue_flush_out(s);
		}
		evbuffer_drain(in, take);
		s->bdat_left -= take;
	}
	if (s->bdat_left > 0)
		return false;
	bdat_chunk_done(s);
	return true;
}
