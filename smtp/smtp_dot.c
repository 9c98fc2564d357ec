/*
 * smtp_dot - the message content as it goes out after DATA
 *
 * DESCRIPTION
 *	The queue holds the content as received (CRLF from smtpd, maybe bare
 *	LF from sendmail), without the SMTP dot-stuffing.  On the wire every
 *	line ends in CRLF and a line that starts with '.' gets one more
 *	(RFC 5321 §4.5.2); the content ends with CRLF before the final
 *	".\r\n", which is added when the last line lacks it.  A bare CR is
 *	passed as is (it is not a line end).  Streaming: the state carries
 *	across calls, so any chunking gives the same bytes.
 */
#include "autoconf.h"

#include "smtp.h"

void smtp_dot_init(struct smtp_dot *dot)
{
	dot->bol = true;
	dot->prev_cr = false;
}

void smtp_dot_encode(struct smtp_dot *dot, const void *data, size_t len,
		     struct strbuf *out)
{
	const unsigned char *p = data;
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (dot->bol && c == '.') {
			strbuf_append(out, p + start, i - start);
			strbuf_append_char(out, '.');
			start = i;
		} else if (c == '\n' && !dot->prev_cr) {
			strbuf_append(out, p + start, i - start);
			strbuf_append_char(out, '\r');
			start = i;
		}
		dot->bol = c == '\n';
		dot->prev_cr = c == '\r';
	}
	strbuf_append(out, p + start, len - start);
}

void smtp_dot_finish(struct smtp_dot *dot, struct strbuf *out)
{
	if (!dot->bol)
		strbuf_append_str(out, dot->prev_cr ? "\n" : "\r\n");
	strbuf_append_str(out, ".\r\n");
	smtp_dot_init(dot);
}
