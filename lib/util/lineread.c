/*
 * lineread - take lines of bounded length out of a libevent input buffer
 *
 * SYNOPSIS
 *	#include "lineread.h"
 *
 * DESCRIPTION
 *	See lineread.h.  evbuffer_search_eol() looks at most max + 2 bytes
 *	ahead, so a peer that never sends LF costs a bounded amount of work
 *	per call, and what cannot be a valid line is drained at once.
 *
 * DIAGNOSTICS
 *	LINEREAD_TOO_LONG once per overlong line.
 */
#include "autoconf.h"

#include <event2/buffer.h>

#include "lineread.h"
#include "log.h"

void lineread_init(struct lineread *lr, size_t max)
{
	lr->max = max;
	lr->skipping = false;
	lr->had_cr = false;
}

/* lineread_next - one line, or more input needed, or too long */
enum lineread_result lineread_next(struct lineread *lr, struct evbuffer *in,
				   struct strbuf *line_r)
{
	struct evbuffer_ptr eol;
	size_t eol_len, len;

	strbuf_reset(line_r);
	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			/* No LF yet.  One CR may still belong to a CRLF. */
			size_t have = evbuffer_get_length(in);

			if (lr->skipping) {
				evbuffer_drain(in, have > 0 ? have - 1 : 0);
				return LINEREAD_MORE;
			}
			if (have <= lr->max + 1)
				return LINEREAD_MORE;
			evbuffer_drain(in, have - 1);
			lr->skipping = true;
			return LINEREAD_TOO_LONG;
		}
		len = (size_t)eol.pos;
		if (lr->skipping) {
			evbuffer_drain(in, len + eol_len);
			lr->skipping = false;
			continue;
		}
		lr->had_cr = false;
		if (len > 0) {
			unsigned char last;
			struct evbuffer_ptr at;

			evbuffer_ptr_set(in, &at, len - 1, EVBUFFER_PTR_SET);
			if (evbuffer_copyout_from(in, &at, &last, 1) == 1 &&
			    last == '\r')
				lr->had_cr = true;
		}
		if (len - lr->had_cr > lr->max) {
			evbuffer_drain(in, len + eol_len);
			return LINEREAD_TOO_LONG;
		}
		if (line_r->limit < len)
			log_panic("lineread_next: buffer limit %zu < %zu",
				  line_r->limit, len);
		strbuf_truncate(line_r, 0);
		if (strbuf_append(line_r, evbuffer_pullup(in, (ssize_t)len),
				  len - lr->had_cr) < 0)
			log_panic("lineread_next: append failed");
		evbuffer_drain(in, len + eol_len);
		return LINEREAD_LINE;
	}
}
