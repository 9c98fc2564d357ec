/*
 * pop3d_dot - a stored message as POP3 sends it: CRLF, dot-stuffed, TOP
 *
 * SYNOPSIS
 *	#include "pop3d.h"
 *
 *	void pop3d_dot_init(struct pop3d_dot *d, bool top, uint64_t lines);
 *	int pop3d_dot_feed(struct pop3d_dot *d, const char *in, size_t len,
 *			   struct strbuf *out);
 *	void pop3d_dot_finish(struct pop3d_dot *d, struct strbuf *out);
 *	uint64_t pop3d_dot_size(struct pop3d_dot_size *z, const char *in,
 *				size_t len);
 *
 * DESCRIPTION
 *	The Maildir holds messages with LF line ends (lib/store); RFC 1939
 *	§3 sends them as CRLF lines, a line that starts with "." gets one
 *	more "." in front, and ".CRLF" ends the multi-line response.
 *	pop3d_dot_feed() is a byte state machine over the stored bytes, so
 *	a message is streamed in chunks of any size and never held whole:
 *
 *	- LF becomes CRLF; a CRLF already in the file stays CRLF (messages
 *	  that another program stored with CRLF); a CR not followed by LF
 *	  is content and sent as is;
 *	- "." at the start of a line is doubled;
 *	- TOP msg n (top = true): the header, the empty line after it, then
 *	  n lines of the body (RFC 1939 §7); feed returns 1 once the
 *	  output is complete, and the rest of the file need not be read.
 *
 *	pop3d_dot_finish() ends an unterminated last line with CRLF and
 *	appends the terminating ".CRLF".
 *
 *	pop3d_dot_size() counts the octets of the CRLF form of a message
 *	(what LIST and STAT report, RFC 1939 §5: the size as sent, before
 *	dot-stuffing, as Dovecot's virtual size): the stored length plus
 *	one for each LF without a CR before it.
 *
 * DIAGNOSTICS
 *	None: the functions are total.  A strbuf at its limit drops output
 *	(pop3d's buffers have none).
 */
#include "autoconf.h"

#include <string.h>

#include "pop3d.h"

/* pop3d_dot_init - start a message (top: only the header and lines) */
void pop3d_dot_init(struct pop3d_dot *d, bool top, uint64_t lines)
{
	memset(d, 0, sizeof(*d));
	d->bol = true;
	d->in_header = true;
	d->top = top;
	d->lines_left = lines;
}

/* line_end - an LF was read: the line before it is complete */
static bool line_end(struct pop3d_dot *d)
{
	if (d->in_header) {
		/* An empty line (only a CR, or nothing) ends the header. */
		if (d->line_len == 0)
			d->in_header = false;
		else {
			d->line_len = 0;
			return false;
		}
		d->line_len = 0;
		return d->top && d->lines_left == 0;
	}
	d->line_len = 0;
	if (!d->top)
		return false;
	return --d->lines_left == 0;
}

/* pop3d_dot_feed - filter in[0..len) into out; 1 when TOP is complete */
int pop3d_dot_feed(struct pop3d_dot *d, const char *in, size_t len,
		   struct strbuf *out)
{
	size_t i = 0;

	if (d->done)
		return 1;
	if (d->top && !d->in_header && d->lines_left == 0) {
		d->done = true;
		return 1;
	}
	while (i < len) {
		/* Copy a run of ordinary bytes at once. */
		size_t start = i;

		if (d->bol && in[i] == '.')
			strbuf_append_char(out, '.');
		while (i < len && in[i] != '\n' && in[i] != '\r')
			i++;
		if (i > start) {
			strbuf_append(out, in + start, i - start);
			d->line_len += i - start;
			d->bol = false;
			d->cr = false;
		}
		if (i == len)
			break;
		if (in[i] == '\r') {
			/* Sent as is: it is either the CR of a CRLF or a
			 * bare CR, which is content. */
			strbuf_append_char(out, '\r');
			if (d->cr)
				d->line_len++; /* the CR before was content */
			d->cr = true;
			d->bol = false;
			i++;
			continue;
		}
		/* LF: complete the CRLF. */
		if (d->cr)
			strbuf_append_char(out, '\n');
		else
			strbuf_append(out, "\r\n", 2);
		d->cr = false;
		d->bol = true;
		i++;
		if (line_end(d)) {
			d->done = true;
			return 1;
		}
	}
	return 0;
}

/* pop3d_dot_finish - terminate the last line and the response */
void pop3d_dot_finish(struct pop3d_dot *d, struct strbuf *out)
{
	if (d->cr)
		strbuf_append_char(out, '\n');
	else if (!d->bol)
		strbuf_append(out, "\r\n", 2);
	strbuf_append(out, ".\r\n", 3);
	d->bol = true;
	d->cr = false;
	d->done = true;
}

/* pop3d_dot_size - the CRLF size of in[0..len), continued across calls */
uint64_t pop3d_dot_size(struct pop3d_dot_size *z, const char *in, size_t len)
{
	const char *p = in, *end = in + len;

	z->size += len;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));

		if (lf == NULL)
			break;
		if (!(lf > in ? lf[-1] == '\r' : z->cr))
			z->size++;
		p = lf + 1;
	}
	if (len > 0)
		z->cr = in[len - 1] == '\r';
	return z->size;
}
