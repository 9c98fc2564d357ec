/*
 * fuzz_dovecot_keywords - libFuzzer target for the dovecot-keywords reader
 *
 * SYNOPSIS
 *	fuzz_dovecot_keywords [libFuzzer options] tests/fuzz/dovecot_keywords/corpus
 *
 * DESCRIPTION
 *	Each input is a whole dovecot-keywords file (in the user's Maildir:
 *	untrusted).  The promises: names[0..count) are set and valid IMAP
 *	keywords, count is at most 26, and reading a second file replaces
 *	the first without leaking.  Any broken promise aborts.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbx_keywords kw;

	memset(&kw, 0, sizeof(kw));
	mbx_keywords_parse(&kw, (const char *)data, size);
	if (kw.count > MAILBOX_KEYWORDS_MAX)
		abort();
	for (size_t i = 0; i < kw.count; i++)
		if (kw.names[i] == NULL || !mbx_keyword_valid(kw.names[i]))
			abort();
	mbx_keywords_parse(&kw, "0 $Junk\n", 8);
	if (kw.count != 1 || strcmp(kw.names[0], "$Junk") != 0)
		abort();
	mbx_keywords_clear(&kw);
	return 0;
}
