/*
 * lineread - take lines of bounded length out of a libevent input buffer
 *
 * For network input: a line is the bytes up to LF, and the LF (with a CR
 * right before it) is not part of it.  A line longer than max bytes is
 * never buffered whole: the reader reports it once as too long, then
 * discards everything up to the next LF (Postfix's SMTP_GET_FLAG_SKIP,
 * OpenSMTPD's SMTP_LINE_MAX), so the caller can answer "500 line too
 * long" and go on with the next command.
 */
#ifndef FACTEUR_LINEREAD_H
#define FACTEUR_LINEREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

struct evbuffer;

enum lineread_result {
	LINEREAD_TOO_LONG = -1,
	LINEREAD_MORE = 0, /* no complete line yet */
	LINEREAD_LINE = 1,
};

struct lineread {
	size_t max;    /* longest line accepted, terminator excluded */
	bool skipping; /* discarding the rest of an overlong line */
	bool had_cr;   /* the last line ended in CRLF, not bare LF */
};

void lineread_init(struct lineread *lr, size_t max);
/*
 * lineread_next - the next line from in into line_r (which is reset
 * first; its limit must be at least lr->max).
 */
enum lineread_result lineread_next(struct lineread *lr, struct evbuffer *in,
				   struct strbuf *line_r);

#endif
