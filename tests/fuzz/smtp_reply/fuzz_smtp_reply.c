/*
 * fuzz_smtp_reply - libFuzzer target for the SMTP reply parser
 *
 * SYNOPSIS
 *	tests/fuzz/smtp_reply/fuzz_smtp_reply [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	The first input byte picks a chunk size (1 to 256); the rest is fed
 *	to smtp_reply_parse() in chunks of that size, exactly as long as
 *	they are (no NUL added), until an error.  For every reply: checks
 *	the code is 200..599, there is at least one line, each line lies
 *	within the parser's text and has no NUL or LF, a status (when set)
 *	has the code's class, then runs smtp_reply_format() (output within
 *	its cap, printable ASCII only) and smtp_reply_ehlo().  The parser
 *	must also use every byte of a chunk unless it returns a reply or an
 *	error.  A broken promise calls abort().
 *
 * DIAGNOSTICS
 *	Crashes, sanitizer reports and leaks, through libFuzzer.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - abort when a promise is broken */
static void check(int ok)
{
	if (!ok)
		abort();
}

/* check_reply - the promises about one reply */
static void check_reply(struct smtp_reply_parser *p, const struct smtp_reply *r)
{
	struct strbuf out;
	struct smtp_ehlo ehlo;
	const char *text;
	size_t i, len;

	check(r->code >= 200 && r->code <= 599);
	check(r->nlines >= 1 && r->nlines <= SMTP_REPLY_LINES_MAX);
	if (r->status[0] != 0)
		check((unsigned)(r->status[0] - '0') == r->code / 100);
	for (i = 0; i < r->nlines; i++) {
		text = smtp_reply_line(p, i, &len);
		check(len <= SMTP_REPLY_LINE_MAX);
		check(memchr(text, 0, len) == NULL);
		check(memchr(text, '\n', len) == NULL);
	}
	strbuf_init(&out, STRBUF_NO_LIMIT);
	smtp_reply_format(p, &out, 990);
	check(out.len <= 990);
	for (i = 0; i < out.len; i++)
		check(out.data[i] >= 0x20 && out.data[i] < 0x7f);
	strbuf_release(&out);
	if (smtp_reply_ehlo(p, &ehlo) == 0) {
		check(strlen(ehlo.auth) < sizeof(ehlo.auth));
		/* The first mechanism listed is found again. */
		len = strcspn(ehlo.auth, " ");
		if (len > 0) {
			char mech[SMTP_EHLO_AUTH_MAX];

			memcpy(mech, ehlo.auth, len);
			mech[len] = 0;
			check(smtp_ehlo_has_auth(&ehlo, mech));
		}
	} else {
		check(r->code / 100 != 2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply_parser *p;
	const struct smtp_reply *r;
	const char *err;
	size_t step, off = 1, n, used;
	char *chunk;
	int ret;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	p = smtp_reply_parser_create();
	while (off < size) {
		n = size - off < step ? size - off : step;
		/* A copy of exactly n bytes, so ASan sees overreads. */
		chunk = malloc(n);
		check(chunk != NULL);
		memcpy(chunk, data + off, n);
		ret = smtp_reply_parse(p, chunk, n, &used, &r, &err);
		free(chunk);
		check(used <= n);
		off += used;
		if (ret < 0) {
			check(err != NULL && *err != 0);
			break;
		}
		if (ret == 1)
			check_reply(p, r);
		else
			check(used == n);
	}
	smtp_reply_parser_free(&p);
	check(p == NULL);
	return 0;
}
