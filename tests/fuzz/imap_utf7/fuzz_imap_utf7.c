/*
 * fuzz_imap_utf7 - libFuzzer target for the modified UTF-7 codec
 *
 * SYNOPSIS
 *	tests/fuzz/imap_utf7/fuzz_imap_utf7 [libFuzzer options] [corpus...]
 *
 * DESCRIPTION
 *	Runs the input through both directions.  When it is accepted as
 *	UTF-8, decode(encode(x)) must give x back; when it is accepted as
 *	modified UTF-7, encode(decode(y)) must give y back (the decoder
 *	accepts only canonical forms).  Failures must leave the output as
 *	it was.  A broken promise calls abort().
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
#include "imap_utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - abort when a promise is broken */
static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct strbuf a, b;

	strbuf_init(&a, STRBUF_NO_LIMIT);
	strbuf_init(&b, STRBUF_NO_LIMIT);
	if (imap_utf8_to_utf7(in, size, &a) == 0) {
		check(imap_utf7_to_utf8(a.data, a.len, &b) == 0);
		check(b.len == size && memcmp(b.data, in, size) == 0);
	} else {
		check(a.len == 0);
	}
	strbuf_reset(&a);
	strbuf_reset(&b);
	if (imap_utf7_to_utf8(in, size, &a) == 0) {
		check(imap_utf7_is_valid(in, size));
		check(imap_utf8_to_utf7(a.data, a.len, &b) == 0);
		check(b.len == size && memcmp(b.data, in, size) == 0);
	} else {
		check(a.len == 0);
		check(!imap_utf7_is_valid(in, size));
	}
	strbuf_release(&a);
	strbuf_release(&b);
	return 0;
}
