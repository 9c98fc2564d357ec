/*
 * smtpd_data - message content: DATA with dot-unstuffing, BDAT chunks
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	void smtpd_dot_init(d, mode, raw, header_limit);
 *	int smtpd_dot_feed(d, in, len, out, used_r);
 *	void smtpd_dot_finish(d, out);
 *
 *	void smtpd_data_start(s);
 *	bool smtpd_data_input(s, in);
 *	void smtpd_bdat_start(s, size, last, discard);
 *	bool smtpd_bdat_input(s, in);
 *
 * DESCRIPTION
 *	The filter (smtpd_dot_*) is a byte-at-a-time state machine with no
 *	I/O, so content can arrive in any chunking and the filter resumes
 *	at any byte.  It never buffers more than one header line (bounded
 *	by header_size_limit); body bytes stream through.
 *
 *	End of DATA (RFC 5321 §4.1.1.4): only "CRLF . CRLF", where the CRLF
 *	before the dot is a real CRLF.  Line ends: CRLF ends a line; a bare
 *	LF ends a line too and is stored as CRLF (normalize, the default,
 *	as Postfix 3.9's smtpd_forbid_bare_newline = normalize), but a line
 *	after a bare LF can never end the message, so LF.CRLF, CRLF.LF and
 *	LF.LF are content: this is what stops SMTP smuggling (a second
 *	message hidden in the first one, which a receiver with another
 *	idea of the end of DATA would split off).  A bare CR is content and
 *	stored as is; it never ends a line, so CR.CR and CR.LF cannot end
 *	the message either.  With mode "yes" a bare LF makes the message
 *	rejected (the caller checks d->bare_lf); with "no" a bare LF is a
 *	full line end, as in old Postfix (unsafe, for broken clients only).
 *
 *	Dot-unstuffing (§4.5.2): a leading "." of a line is removed.
 *
 *	Long lines: text lines over 1000 octets (§4.5.3.1.6) are accepted
 *	and stored intact; message_size_limit bounds the whole.  Splitting
 *	them (as Postfix does at line_length_limit) would change signed
 *	content; refusing them would bounce legitimate mail of broken MUAs.
 *
 *	The header section is the lines up to the first empty line or the
 *	first line that is neither a header field nor a continuation.  It
 *	is measured against header_size_limit (the caller refuses the
 *	message with 552 5.3.4 when d->header_too_big) and inspected for
 *	Message-ID (logged) and Date; when add_msgid/add_date are set and
 *	the header lacks them they are inserted at its end (submission,
 *	RFC 6409 §8.2, §8.3).
 *
 *	BDAT (RFC 3030) uses the same filter in raw mode: exact byte counts,
 *	no dot-unstuffing, no end marker, same line-end rules.
 *
 * SECURITY
 *	Content is untrusted: every buffer is bounded, the end-of-data
 *	rule is strict (see above), oversize messages are read to the end
 *	and dropped without being stored.
 */
#include "autoconf.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "smtpd.h"

/* Longest header field kept for inspection (Message-ID, Date). */
#define SMTPD_FIELD_MAX 2048

/* smtpd_dot_init - a filter at the start of content */
void smtpd_dot_init(struct smtpd_dot *d, enum smtpd_bare_newline mode, bool raw,
		    uint64_t header_limit)
{
	memset(d, 0, sizeof(*d));
	d->state = SMTPD_DOT_BOL;
	d->mode = mode;
	d->raw = raw;
	d->strict_bol = true;
	d->in_header = true;
	d->header_limit = header_limit;
	strbuf_init(&d->line, header_limit);
	strbuf_init(&d->field, SMTPD_FIELD_MAX);
}

/* smtpd_dot_release - free the buffers */
void smtpd_dot_release(struct smtpd_dot *d)
{
	strbuf_release(&d->line);
	strbuf_release(&d->field);
}

/* dot_field_done - inspect one complete header field */
static void dot_field_done(struct smtpd_dot *d)
{
	const char *f = d->field.data;
	size_t len = d->field.len;

	if (len == 0)
		return;
	if (len >= 11 && strncasecmp(f, "Message-ID:", 11) == 0) {
		const char *lt = memchr(f, '<', len);
		const char *gt =
			lt ? memchr(lt, '>', len - (size_t)(lt - f)) : NULL;
		size_t n, o = 0;

		d->have_msgid = true;
		if (lt && gt && !d->msgid[0]) {
			/* Keep it printable for the log (STYLE.md §7). */
			for (n = 0; lt + n <= gt && o < SMTPD_MSGID_MAX; n++) {
				unsigned char c = (unsigned char)lt[n];
				d->msgid[o++] =
					(c > 32 && c < 127) ? (char)c : '?';
			}
			d->msgid[o] = '\0';
		}
	} else if (len >= 5 && strncasecmp(f, "Date:", 5) == 0) {
		d->have_date = true;
	}
	strbuf_reset(&d->field);
}

/* dot_is_field - whether a line starts a header field ("name:") */
static bool dot_is_field(const char *p, size_t len)
{
	size_t i;

	/* RFC 5322 §2.2: field-name is printable ASCII except ':'. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == ':')
			return i > 0;
		if (c <= 32 || c >= 127)
			return false;
	}
	return false;
}

/* dot_header_end - the header section is over: add what is missing */
static void dot_header_end(struct smtpd_dot *d, struct strbuf *out)
{
	dot_field_done(d);
	d->in_header = false;
	if (d->header_too_big)
		return;
	if (d->add_msgid && !d->have_msgid)
		(void)strbuf_append_str(out, d->add_msgid);
	if (d->add_date && !d->have_date)
		(void)strbuf_append_str(out, d->add_date);
}

/* dot_emit - one content byte */
static void dot_emit(struct smtpd_dot *d, char c, struct strbuf *out)
{
	if (!d->in_header) {
		(void)strbuf_append_char(out, c);
		return;
	}
	if (d->header_size + d->line.len + 1 > d->header_limit ||
	    strbuf_append_char(&d->line, c) < 0) {
		/* Over the limit: the message is refused at its end; stop
		 * looking at headers and let the bytes pass (and be
		 * discarded by the caller). */
		d->header_too_big = true;
		(void)strbuf_append(out, d->line.data, d->line.len);
		(void)strbuf_append_char(out, c);
		strbuf_reset(&d->line);
		dot_header_end(d, out);
	}
}

/* dot_line_end - a line is complete; CRLF is what we store */
static void dot_line_end(struct smtpd_dot *d, struct strbuf *out)
{
	if (d->in_header) {
		const char *p = d->line.data;
		size_t len = d->line.len;

		if (len == 0) {
			dot_header_end(d, out);
		} else if (p[0] == ' ' || p[0] == '\t') {
			/* Folded continuation of the current field. */
			(void)strbuf_append(&d->field, p, len);
		} else if (dot_is_field(p, len)) {
			dot_field_done(d);
			(void)strbuf_append(&d->field, p, len);
		} else {
			dot_header_end(d, out);
		}
		d->header_size += len + 2;
		if (d->in_header && d->header_size > d->header_limit) {
			d->header_too_big = true;
			dot_header_end(d, out);
		}
		(void)strbuf_append(out, p, len);
		strbuf_reset(&d->line);
	}
	(void)strbuf_append(out, "\r\n", 2);
}

/* smtpd_dot_feed - run the state machine over in */
int smtpd_dot_feed(struct smtpd_dot *d, const char *in, size_t len,
		   struct strbuf *out, size_t *used_r)
{
	size_t i = 0;

	while (i < len) {
		char c = in[i];

		switch (d->state) {
		case SMTPD_DOT_BOL:
			if (c == '.' && !d->raw) {
				/* Dropped: unstuffing, or the end marker. */
				d->state = SMTPD_DOT_DOT;
				i++;
				continue;
			}
			d->state = SMTPD_DOT_TEXT;
			continue; /* same byte, as text */
		case SMTPD_DOT_DOT:
			if (c == '\r') {
				d->state = SMTPD_DOT_DOT_CR;
				i++;
				continue;
			}
			if (c == '\n' && d->mode == SMTPD_BARE_ALLOW &&
			    d->strict_bol) {
				/* "no": LF.LF ends the message (legacy). */
				d->bare_lf = true;
				d->state = SMTPD_DOT_BOL;
				*used_r = i + 1;
				return 1;
			}
			d->state = SMTPD_DOT_TEXT;
			continue;
		case SMTPD_DOT_DOT_CR:
			if (c == '\n') {
				if (d->strict_bol) {
					d->state = SMTPD_DOT_BOL;
					*used_r = i + 1;
					return 1;
				}
				/* "." after a bare LF: content, never the
				 * end (SMTP smuggling). */
				dot_line_end(d, out);
				d->strict_bol = true;
				d->state = SMTPD_DOT_BOL;
				i++;
				continue;
			}
			/* ".\r" then something else: the CR was bare. */
			dot_emit(d, '\r', out);
			d->state = SMTPD_DOT_TEXT;
			continue;
		case SMTPD_DOT_TEXT:
			if (c == '\r') {
				d->state = SMTPD_DOT_CR;
			} else if (c == '\n') {
				d->bare_lf = true;
				dot_line_end(d, out);
				d->strict_bol = d->mode == SMTPD_BARE_ALLOW;
				d->state = SMTPD_DOT_BOL;
			} else {
				dot_emit(d, c, out);
			}
			i++;
			continue;
		case SMTPD_DOT_CR:
			if (c == '\n') {
				dot_line_end(d, out);
				d->strict_bol = true;
				d->state = SMTPD_DOT_BOL;
				i++;
				continue;
			}
			/* A bare CR is content. */
			dot_emit(d, '\r', out);
			d->state = SMTPD_DOT_TEXT;
			continue;
		}
	}
	*used_r = len;
	return 0;
}

/* smtpd_dot_finish - flush a partial line and the header end */
void smtpd_dot_finish(struct smtpd_dot *d, struct strbuf *out)
{
	if (d->state == SMTPD_DOT_CR || d->state == SMTPD_DOT_DOT_CR)
		dot_emit(d, '\r', out);
	if (d->in_header) {
		(void)strbuf_append(out, d->line.data, d->line.len);
		strbuf_reset(&d->line);
		dot_header_end(d, out);
	}
	d->state = SMTPD_DOT_BOL;
}

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
