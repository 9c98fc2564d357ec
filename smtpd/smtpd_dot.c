/*
 * smtpd_dot - the content filter: dot-unstuffing, end of DATA, line ends,
 *	       header section
 *
 * SYNOPSIS
 *	#include "smtpd.h"
 *
 *	void smtpd_dot_init(d, mode, raw, header_limit);
 *	int smtpd_dot_feed(d, in, len, out, used_r);
 *	void smtpd_dot_finish(d, out);
 *	void smtpd_dot_release(d);
 *
 * DESCRIPTION
 *	A byte-at-a-time state machine with no I/O (tests/unit/smtpd/
 *	test_smtpd_dot.c feeds it in every chunking), so content can arrive
 *	in any pieces and the filter resumes at any byte.  It never buffers
 *	more than one header line (bounded by header_size_limit); body bytes
 *	stream through.
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
 *	In raw mode (BDAT, RFC 3030) there is no dot handling and no end
 *	marker; the line-end rules are the same.
 *
 * DIAGNOSTICS
 *	None: every input is valid content; limits are reported in flags.
 *
 * SECURITY
 *	Content is untrusted: every buffer is bounded, the end-of-data
 *	rule is strict (see above).
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

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

/* dot_emit_run - content bytes with no CR or LF among them */
static void dot_emit_run(struct smtpd_dot *d, const char *p, size_t n,
			 struct strbuf *out)
{
	if (!d->in_header) {
		(void)strbuf_append(out, p, n);
		return;
	}
	if (d->header_size + d->line.len + n <= d->header_limit &&
	    strbuf_append(&d->line, p, n) == 0)
		return;
	/* Crosses the header limit: byte by byte, to cut where it is. */
	for (size_t k = 0; k < n; k++)
		dot_emit(d, p[k], out);
}

/* text_run - how many bytes at p (len at most) come before a CR or LF */
static size_t text_run(const char *p, size_t len)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) : len;
	const char *cr = memchr(p, '\r', n);

	return cr != NULL ? (size_t)(cr - p) : n;
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
				/* The rest of the line at once. */
				size_t n = text_run(in + i, len - i);

				dot_emit_run(d, in + i, n, out);
				i += n;
				continue;
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
