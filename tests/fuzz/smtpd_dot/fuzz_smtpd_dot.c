/*
 * fuzz_smtpd_dot - libFuzzer target: smtpd's DATA/BDAT content filter
 *
 * SYNOPSIS
 *	tests/fuzz/smtpd_dot/fuzz_smtpd_dot [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	The first input byte picks the bare-newline mode (bits 0-1), raw
 *	BDAT content (bit 2) and a header limit (bits 3-7, times 16, or no
 *	limit at 0); the second picks a split point.  The rest is what a
 *	client sends after DATA.  It is filtered three times: whole, split
 *	in two at that point, and one byte at a time.  Then checks what the
 *	filter promises:
 *
 *	- the three give the same result: the end found or not, the bytes
 *	  used, the content, the bare LF and header-too-big flags;
 *	- the end is only ever found after a line end, and never in raw
 *	  content;
 *	- outside "allow" and raw mode, every LF stored follows a CR (the
 *	  queue holds CRLF lines only; no smuggled line ends);
 *	- the Message-ID kept for the log is printable ASCII.
 *
 *	A broken promise calls abort(), which libFuzzer reports as a crash.
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	int done;
	size_t used;
	struct strbuf out;
	bool bare_lf, header_too_big;
	char msgid[SMTPD_MSGID_MAX + 1];
};

/* filter - feed in, in pieces of at most step bytes (0: all) */
static void filter(const char *in, size_t len, enum smtpd_bare_newline mode,
		   bool raw, uint64_t hlimit, size_t first, size_t step,
		   struct outcome *o)
{
	struct smtpd_dot d;
	size_t pos = 0, used;

	memset(o, 0, sizeof(*o));
	strbuf_init(&o->out, STRBUF_NO_LIMIT);
	smtpd_dot_init(&d, mode, raw, hlimit);
	while (pos < len && !o->done) {
		size_t n = len - pos;

		if (pos == 0 && first > 0 && first < n)
			n = first;
		else if (step > 0 && step < n)
			n = step;
		o->done = smtpd_dot_feed(&d, in + pos, n, &o->out, &used);
		if (used > n)
			abort();
		if (!o->done && used != n)
			abort();
		pos += used;
	}
	smtpd_dot_finish(&d, &o->out);
	o->used = pos;
	o->bare_lf = d.bare_lf;
	o->header_too_big = d.header_too_big;
	memcpy(o->msgid, d.msgid, sizeof(o->msgid));
	smtpd_dot_release(&d);
}

static void same(const struct outcome *a, const struct outcome *b)
{
	if (a->done != b->done || a->used != b->used ||
	    a->out.len != b->out.len ||
	    memcmp(a->out.data, b->out.data, a->out.len) != 0 ||
	    a->bare_lf != b->bare_lf ||
	    a->header_too_big != b->header_too_big ||
	    strcmp(a->msgid, b->msgid) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum smtpd_bare_newline modes[] = {
		SMTPD_BARE_NORMALIZE, SMTPD_BARE_REJECT, SMTPD_BARE_ALLOW,
		SMTPD_BARE_NORMALIZE};
	struct outcome whole, split, bytewise;
	enum smtpd_bare_newline mode;
	const char *in;
	size_t len;
	uint64_t hlimit;
	bool raw;

	if (size < 2)
		return 0;
	mode = modes[data[0] & 3];
	raw = (data[0] & 4) != 0;
	hlimit = (uint64_t)(data[0] >> 3) * 16;
	if (hlimit == 0)
		hlimit = STRBUF_NO_LIMIT;
	in = (const char *)data + 2;
	len = size - 2;

	filter(in, len, mode, raw, hlimit, 0, 0, &whole);
	filter(in, len, mode, raw, hlimit, data[1], 0, &split);
	filter(in, len, mode, raw, hlimit, 0, 1, &bytewise);
	same(&whole, &split);
	same(&whole, &bytewise);

	if (whole.done && (raw || in[whole.used - 1] != '\n'))
		abort();
	if (!raw && mode != SMTPD_BARE_ALLOW) {
		for (size_t i = 0; i < whole.out.len; i++)
			if (whole.out.data[i] == '\n' &&
			    (i == 0 || whole.out.data[i - 1] != '\r'))
				abort();
	}
	for (const char *p = whole.msgid; *p; p++)
		if (*p <= 32 || *p >= 127)
			abort();

	strbuf_release(&whole.out);
	strbuf_release(&split.out);
	strbuf_release(&bytewise.out);
	return 0;
}
